//! Opening a recording for the read commands.

use super::error::CliError;
use crate::present::{safe, say};

/// Opens a recording read-only (a running recorder may keep writing it).
pub fn open_recording(
    db: &std::path::Path,
) -> Result<(crate::store::ReadDb, crate::analysis::Recording), CliError> {
    let d = crate::store::open_reader(db)?;
    if d.recovered() {
        say(&format!(
            "note: {} was not closed cleanly (a recorder was killed?); reading a repaired copy, the file is untouched",
            safe::term(&db.display().to_string())
        ));
    }
    let rec = crate::analysis::Recording::open(&d)?;
    Ok((d, rec))
}
