//! The one error type of the commands: what failed and why, its exit code, and a hint when one
//! helps. Every command returns it; errors of the library become one through `From`, which
//! picks the hint. Exit codes: 0 success (also when stdout is closed early, as with `| head`);
//! 1 a failure at run time; 2 bad usage.

use crate::present::safe;

pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILURE: i32 = 1;
pub const EXIT_USAGE: i32 = 2;

/// An error as the user sees it: what failed, and why.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub error: Box<dyn std::error::Error + Send + Sync>,
    pub hint: Option<String>,
}

impl CliError {
    pub fn usage(msg: impl Into<String>) -> Self {
        CliError {
            code: EXIT_USAGE,
            error: msg.into().into(),
            hint: None,
        }
    }

    pub fn failure(msg: impl Into<String>) -> Self {
        CliError {
            code: EXIT_FAILURE,
            error: msg.into().into(),
            hint: None,
        }
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for CliError {
    fn from(e: E) -> Self {
        let hint = hint_for(&e);
        CliError {
            code: code_for(&e),
            error: Box::new(e),
            hint,
        }
    }
}

/// Bad usage (2) for an argument naming what the recording does not hold (a snapshot past its
/// end, a job it did not record, a status or cell nobody knows); else a failure (1).
fn code_for(e: &(dyn std::error::Error + 'static)) -> i32 {
    use crate::analysis::summary::ShowError;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<crate::analysis::SelectError>() {
            return EXIT_USAGE;
        }
        if let Some(s) = err.downcast_ref::<ShowError>() {
            match s {
                ShowError::Job(_) | ShowError::Filter(_) | ShowError::Select(_) => {
                    return EXIT_USAGE;
                }
                ShowError::Store(_) => {}
            }
        }
        cur = err.source();
    }
    EXIT_FAILURE
}

fn hint_for(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    use crate::store::StoreError;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(mut err) = cur {
        // A transparent wrapper hands on its inner error's causes, not the inner error.
        if let Some(crate::record::RecordError::Store(s)) =
            err.downcast_ref::<crate::record::RecordError>()
        {
            err = s;
        }
        if let Some(crate::analysis::summary::ShowError::Store(s)) =
            err.downcast_ref::<crate::analysis::summary::ShowError>()
        {
            err = s;
        }
        if let Some(s) = err.downcast_ref::<StoreError>() {
            return match s {
                StoreError::Locked { .. } => Some(
                    "is a `blackbox record` writing it? read commands (show, diff, report) can open it meanwhile".into(),
                ),
                StoreError::Missing { .. } => {
                    Some("give --db PATH, or record first with `blackbox record`".into())
                }
                StoreError::Db(_) | StoreError::Corrupt { .. } | StoreError::Open { .. } => Some(
                    "the file looks truncated or damaged; `blackbox verify` lists what it can read"
                        .into(),
                ),
                StoreError::NotBlackbox { .. } => Some(
                    "give a recording with --db PATH (or BLACKBOX_DB); `blackbox record` makes one"
                        .into(),
                ),
                StoreError::Sealed { .. } => Some(
                    "a bundle stays as it was cut (`verify` checks its seal); write to the recording it came from"
                        .into(),
                ),
                StoreError::Damaged { .. } => Some(
                    "`blackbox verify` lists what is readable; to record now, give a new file with --db"
                        .into(),
                ),
                _ => None,
            };
        }
        cur = err.source();
    }
    None
}

pub fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return true;
        }
        // serde_json keeps the io::Error inside, not in its source chain.
        if let Some(j) = err.downcast_ref::<serde_json::Error>()
            && j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Renders an error as one line: the message, then each cause.
pub fn render_error(e: &CliError) -> String {
    let mut line = format!("error: {}", e.error);
    let mut cur = e.error.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !line.ends_with(&s) {
            line.push_str(": ");
            line.push_str(&s);
        }
        cur = c.source();
    }
    if let Some(h) = &e.hint {
        line.push_str(&format!(" (hint: {h})"));
    }
    // One line whatever the messages held: causes can quote what a server sent. And no
    // secret, whatever a library put in its message (an HTTP client quotes the URL).
    safe::term(&crate::redact::in_text(&line)).into_owned()
}

pub type CmdResult = Result<(), CliError>;

impl CliError {
    /// An error of moving a recording in or out, with its kind kept: bad usage exits 2.
    pub fn from_exchange(e: crate::exchange::Error) -> CliError {
        use crate::exchange::Error as E;
        match e {
            E::Usage(m) => CliError::usage(m),
            E::Failure(m) => CliError::failure(m),
            E::Store(s) => CliError::from(s),
            E::Io(io) => CliError::from(io),
        }
    }
}
