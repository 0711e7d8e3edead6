//! The report as every output gives it: built from the recording, each finding with the
//! snapshot at which the recorder first knew it (from the findings judged while recording).

use super::recording::Recording;
use super::report::{self, Report};
use super::summary::ShowError;

/// The report of a recording (of one job, or all), each finding with the snapshot at which
/// it was first seen while recording.
pub fn report(rec: &Recording, job: Option<&str>) -> Result<Report, ShowError> {
    let mut r = report::build(rec, job)?;
    r.first_seen = super::judge::first_seen(&r, rec);
    Ok(r)
}
