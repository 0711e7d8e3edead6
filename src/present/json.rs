//! JSON output: the serde form of the analysis, with each sentence a person would read added as
//! `message` beside the typed fields it was made from (scripts use the fields; the message may
//! change wording any time).

use super::render::text_style;
use super::text::Ctx;
use super::words;
use crate::analysis::report::Report;
use crate::analysis::timeline::Event;
use serde::Serialize;
use serde_json::Value;

/// The report with `message` on every finding, transition and job answer.
pub fn report(r: &Report, ctx: Ctx) -> Result<Value, serde_json::Error> {
    let st = text_style(ctx);
    let mut v = serde_json::to_value(r)?;
    if let Some(fs) = v["findings"].as_array_mut() {
        for (i, (j, f)) in fs.iter_mut().zip(&r.findings).enumerate() {
            j["message"] = Value::String(words::finding(f, &st));
            j["first_seen"] = serde_json::to_value(r.first_seen.get(i).copied().flatten())?;
        }
    }
    if let Some(ts) = v["router"]["transitions"].as_array_mut() {
        for (j, t) in ts.iter_mut().zip(&r.router.transitions) {
            j["message"] = Value::String(words::change(&t.change, &st));
        }
    }
    if let Some(js) = v["jobs"].as_array_mut() {
        for (j, jr) in js.iter_mut().zip(&r.jobs) {
            j["answer"]["message"] = Value::String(words::answer(&jr.answer, &st));
            j["answer"]["cause"] = Value::String(words::cause(&jr.answer, &st));
        }
    }
    Ok(v)
}

/// A value's own fields followed by its `message`.
#[derive(Serialize)]
pub struct WithMessage<'a, T> {
    #[serde(flatten)]
    pub fields: &'a T,
    pub message: String,
}

/// One timeline event with its `message`, serialised as it is written (no `Value` between).
pub fn event(e: &Event, ctx: Ctx) -> WithMessage<'_, Event> {
    let st = text_style(ctx);
    WithMessage {
        fields: e,
        message: words::event(&e.kind, e.job.as_deref(), &st),
    }
}
