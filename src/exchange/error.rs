//! The error of moving a recording in or out, and opening a recording to do it.

use crate::store::StoreError;

/// What went wrong moving a recording in or out, as the user is told it: bad usage (the
/// arguments or captures given; exit 2), a failure at run time (exit 1), or an error of the
/// store or of writing (their own hints apply).
#[derive(Debug)]
pub enum Error {
    Usage(String),
    Failure(String),
    Store(StoreError),
    Io(std::io::Error),
}

impl Error {
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub fn failure(msg: impl Into<String>) -> Self {
        Error::Failure(msg.into())
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Io(e.into())
    }
}

impl From<crate::analysis::summary::ShowError> for Error {
    fn from(e: crate::analysis::summary::ShowError) -> Self {
        match e {
            crate::analysis::summary::ShowError::Store(s) => Error::Store(s),
            other => Error::Failure(other.to_string()),
        }
    }
}

/// Opens a recording for reading; also whether the file was not closed cleanly (a reader
/// repairs a copy in memory: the caller may say so).
pub fn open(
    path: &std::path::Path,
) -> Result<(crate::store::ReadDb, crate::analysis::Recording, bool), Error> {
    let d = crate::store::open_reader(path)?;
    let recovered = d.recovered();
    let rec = crate::analysis::Recording::open(&d)?;
    Ok((d, rec, recovered))
}
