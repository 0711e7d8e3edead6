//! Everything the report says about one job: its state at the end (`summary`), the answer
//! paragraph's numbers (`answer`), and its history over the recording (`history`).

use super::answer::{JobAnswer, answer};
use super::history::{JobHistory, job_history};
use super::recording::{JobState, Recording, State};
use super::summary::{JobSummary, job_summary};
use crate::store::StoreError;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobReport {
    #[serde(flatten)]
    pub summary: JobSummary,
    pub answer: JobAnswer,
    #[serde(flatten)]
    pub history: JobHistory,
}

pub fn job_report(rec: &Recording, last: &State, js: &JobState) -> Result<JobReport, StoreError> {
    let summary = job_summary(rec, last, js);
    let history = job_history(rec, js)?;
    Ok(JobReport {
        answer: answer(rec, &summary, &history, js)?,
        summary,
        history,
    })
}
