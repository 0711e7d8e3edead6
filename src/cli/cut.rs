//! `blackbox cut`: a sealed incident bundle of one window of a recording.

use super::error::{CliError, CmdResult};
use super::open::open_recording;
use crate::analysis::Selector;
use crate::present::safe::term;
use crate::present::text::plural;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Cut a window of the recording into a sealed, self-contained bundle.
///
/// The bundle holds the window's snapshots and their bodies, every entity's state at its start
/// and its versions after, and the notes, with a manifest (source recording, range, counts,
/// version) and a blake3 digest over everything. Without a key the digest is a checksum against
/// damage (anyone can compute it anew: keep the printed digest elsewhere and check it with
/// `verify --expect`); with `--sign KEY` it is signed with that OpenSSH key, and anyone with the
/// public key can check the bundle is what you cut (`verify --allowed-signers`, or OpenSSH's own
/// `ssh-keygen -Y verify`). Every read command (`replay --serve` too) works on a bundle as on a
/// recording. Works while a recorder writes the source.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// First snapshot: a seq, first, last, -3, an RFC 3339 time, +90s from the first, or -30m (the last 30 minutes).
    #[arg(long, allow_hyphen_values = true, value_name = "SEL")]
    pub from: Selector,
    /// Last snapshot (same forms).
    #[arg(long, allow_hyphen_values = true, value_name = "SEL")]
    pub to: Selector,
    /// Only this job's requests and rows (repeatable); the router's are always kept.
    #[arg(long = "job", value_name = "ID")]
    pub jobs: Vec<String>,
    /// The bundle to write (it must not exist; `-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Sign the bundle with this OpenSSH private key (Ed25519 or ECDSA; an encrypted one's
    /// passphrase from BLACKBOX_SIGN_PASSPHRASE). The signature is kept in the bundle and
    /// written beside it as FILE.sig, in OpenSSH's format (namespace beacon-blackbox).
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// Say what was cut as JSON: `{out, manifest, digest, signed_by, signature_file}`.
    #[arg(long)]
    pub json: bool,
}

/// Print the line a bundle's signature signs: its format and the digest of its content.
///
/// Computed from the content, so that `blackbox --db B.redb digest | ssh-keygen -Y verify -f
/// allowed_signers -I ID -n beacon-blackbox -s B.redb.sig` checks the bundle with OpenSSH
/// alone.
#[derive(clap::Args, Debug)]
pub struct DigestArgs {}

pub fn digest(_: DigestArgs, db: &Path, out: &mut dyn Write) -> CmdResult {
    let (d, _) = open_recording(db)?;
    let r = crate::store::Reader::new(&d)?;
    if r.manifest_json()?.is_none() {
        return Err(CliError::failure(format!(
            "{} is not a sealed bundle (`blackbox cut` makes one)",
            term(&db.display().to_string())
        )));
    }
    let d = crate::store::bundle::digest(r.txn())?;
    out.write_all(crate::store::bundle::digest_line(&d).as_bytes())?;
    Ok(())
}

pub fn run(args: Args, db: &Path, out: &mut dyn Write) -> CmdResult {
    // `-`: the bundle to standard output (made in a private temporary folder, then copied),
    // what was written said on stderr.
    if args.out.as_os_str() == "-" {
        if args.json {
            return Err(CliError::usage(
                "--json and --out - both write to standard output: give --out a file",
            ));
        }
        let dir = private_dir()?;
        let file = dir.join("bundle.redb");
        let mut said = Vec::new();
        let made = cut(&args, db, &file, &mut said);
        let copied = made.and_then(|()| {
            let mut f = std::fs::File::open(&file)?;
            std::io::copy(&mut f, out)?;
            out.flush()?;
            Ok(())
        });
        let _ = std::fs::remove_dir_all(&dir);
        copied?;
        for line in String::from_utf8_lossy(&said).lines() {
            crate::present::say(line);
        }
        return Ok(());
    }
    let target = args.out.clone();
    cut(&args, db, &target, out)
}

/// A folder only this user can read, for a bundle on its way to standard output.
fn private_dir() -> Result<PathBuf, CliError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("blackbox-cut-{}-{nanos}", std::process::id()));
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(&dir).map_err(|e| {
        CliError::failure(format!(
            "cannot make a temporary folder for the bundle in {}: {e}",
            term(&std::env::temp_dir().display().to_string())
        ))
    })?;
    Ok(dir)
}

/// Cuts the bundle into `dest`, saying what it wrote on `out` (a signature's file beside it,
/// unless the bundle goes to standard output: then the signature is only inside).
fn cut(args: &Args, db: &Path, dest: &Path, out: &mut dyn Write) -> CmdResult {
    let to_stdout = args.out.as_os_str() == "-";
    let (d, rec) = open_recording(db)?;
    let from = rec.resolve(&args.from)?;
    let to = rec.resolve(&args.to)?;
    if from > to {
        return Err(CliError::usage(format!("--from {from} is after --to {to}")));
    }
    for j in &args.jobs {
        rec.select_jobs(Some(j)).map_err(CliError::usage)?;
    }
    drop(rec);
    let sig_path = args.out.with_file_name(format!(
        "{}.sig",
        args.out
            .file_name()
            .map_or("bundle".into(), |n| n.to_string_lossy())
    ));
    let shown = if to_stdout {
        "standard output".to_string()
    } else {
        term(&args.out.display().to_string()).into_owned()
    };
    // The key is read (and its passphrase tried) before anything is written; the signature's
    // file must not exist either, as the bundle must not.
    let signer = match &args.sign {
        Some(k) => {
            if !to_stdout && sig_path.exists() {
                return Err(CliError::usage(format!(
                    "{} is already there: a signature is never written over",
                    term(&sig_path.display().to_string())
                )));
            }
            Some(
                crate::store::sign::Signer::load(k)
                    .map_err(|e| CliError::usage(crate::errors::error_chain(&e)))?,
            )
        }
        None => None,
    };
    let jobs = (!args.jobs.is_empty()).then_some(args.jobs.as_slice());
    let c = crate::store::bundle::cut(&d, from, to, jobs, dest, signer.as_ref())?;
    let m = &c.manifest;
    if args.json {
        if let Some((sig, _)) = &c.signature {
            crate::outfile::write_bytes(&sig_path, db, sig.as_bytes()).map_err(|e| {
                CliError::failure(format!(
                    "the bundle is signed inside, but {}",
                    crate::errors::error_chain(&e)
                ))
            })?;
        }
        let v = serde_json::json!({
            "out": args.out.display().to_string(),
            "manifest": m,
            "digest": crate::store::bundle::digest_line(&c.digest).trim_end(),
            "signed_by": c.signature.as_ref().map(|(_, fp)| fp.to_string()),
            "signature_file": c.signature.as_ref().map(|_| sig_path.display().to_string()),
        });
        return Ok(super::result::said(out, true, "", v)?);
    }
    writeln!(
        out,
        "wrote {shown}: seq {}-{} ({} to {}), {}, {}, {}, {}",
        m.from_seq,
        m.to_seq,
        m.from,
        m.to,
        plural(m.counts.snapshots, "snapshot", "snapshots"),
        plural(m.counts.bodies, "body", "bodies"),
        plural(m.counts.versions, "version", "versions"),
        plural(m.counts.notes, "note", "notes"),
    )?;
    write!(
        out,
        "digest: {}",
        crate::store::bundle::digest_line(&c.digest)
    )?;
    match &c.signature {
        Some((_, fp)) if to_stdout => writeln!(
            out,
            "signed by {fp}; the signature is in the bundle (`verify --allowed-signers` checks it; cut to a file to have it beside it for ssh-keygen)"
        )?,
        Some((sig, fp)) => {
            crate::outfile::write_bytes(&sig_path, db, sig.as_bytes()).map_err(|e| {
                CliError::failure(format!(
                    "the bundle is signed inside, but {}",
                    crate::errors::error_chain(&e)
                ))
            })?;
            writeln!(
                out,
                "signed by {fp}; the signature is in the bundle and in {} (check: blackbox --db {} digest | ssh-keygen -Y verify -f allowed_signers -I ID -n beacon-blackbox -s {})",
                term(&sig_path.display().to_string()),
                term(&args.out.display().to_string()),
                term(&sig_path.display().to_string())
            )?;
        }
        None => writeln!(
            out,
            "not signed: the digest is a checksum against damage, not proof (anyone can compute it anew); keep this line somewhere else and check with `verify --expect`, or cut with --sign KEY"
        )?,
    }
    Ok(())
}
