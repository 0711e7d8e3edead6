//! `blackbox serve-report`: the live page of a recording, finished or being recorded by
//! another process.

use super::error::{CliError, CmdResult};
use super::open::open_recording;
use crate::present::say;
use crate::serve::live::{DEFAULT_ADDR, LivePage, announce, start};

/// Serve the postmortem page of a recording over HTTP, updating as snapshots commit.
///
/// Read-only. Works on a finished file and on one another process is recording (the page
/// follows its commits). Stop with Ctrl-C.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; another address lets anyone who can reach it
    /// read the recording).
    #[arg(long, default_value = DEFAULT_ADDR, value_name = "ADDR")]
    pub listen: String,
    /// Only this job.
    #[arg(long, value_name = "ID")]
    pub job: Option<String>,
    /// Print where the page is served as one JSON line on stdout, `{"url": ...}` (the
    /// sentence still goes to stderr).
    #[arg(long)]
    pub json: bool,
}

pub fn serve_report(
    args: ServeArgs,
    db: &std::path::Path,
    out: &mut dyn std::io::Write,
) -> CmdResult {
    // The file must be a recording now: a wrong path is an error, not an empty page.
    {
        let (_d, rec) = open_recording(db)?;
        if let Some(j) = &args.job {
            rec.select_jobs(Some(j)).map_err(CliError::usage)?;
        }
        // Closed again: a reader holding the file would keep a recorder from opening it.
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let page = LivePage::new(db.to_path_buf(), args.job.clone(), false);
        let bound = start(page, &args.listen).await.map_err(CliError::failure)?;
        if args.json {
            writeln!(
                out,
                "{}",
                serde_json::json!({ "url": format!("http://{bound}/") })
            )?;
            out.flush()?;
        }
        say(&format!("{} (Ctrl-C to stop)", announce(bound)));
        crate::record::shutdown_signal().await;
        Ok(())
    })
}
