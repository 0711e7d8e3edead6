//! How values are written into sentences (`Style`), and the small words several sentences share.

use super::super::text::Ctx;
use crate::analysis::FetchKind;
use crate::analysis::clocks::{ClockSummary, Measured};
use crate::analysis::failures::SigKey;
use crate::analysis::matrix::Cell;
use crate::analysis::router::ProviderState;

/// How values are written into sentences.
pub struct Style<'a> {
    pub ctx: Ctx,
    pub esc: &'a dyn Fn(&str) -> String,
}

impl Style<'_> {
    pub fn e(&self, s: &str) -> String {
        (self.esc)(s)
    }

    pub(super) fn opt(&self, s: Option<&str>, none: &str) -> String {
        self.e(s.unwrap_or(none))
    }

    pub(super) fn at(&self, us: i64) -> String {
        self.ctx.time(us)
    }

    pub(super) fn cell(&self, c: &Cell) -> String {
        format!(
            "{}/{}/{}",
            self.e(&c.question_id),
            self.e(&c.model_id),
            self.e(&c.region)
        )
    }
}

/// How many items a sentence names before "and N more".
pub const NAMED: usize = 6;

pub fn fetch_kind(k: &FetchKind) -> String {
    k.word()
}

pub fn state(s: ProviderState) -> &'static str {
    match s {
        ProviderState::CheckedHealthy => "checked healthy",
        ProviderState::AssumedHealthy => "assumed healthy, never checked",
        ProviderState::HealthyStale => "healthy, but not checked for a long time",
        ProviderState::CheckedUnhealthy => "checked unhealthy",
        ProviderState::UnhealthyStale => "checked unhealthy, and not checked again for a long time",
        ProviderState::ChecksFailing => "unhealthy, checks failing",
        ProviderState::CheckRaised => "unhealthy, checks failing",
        ProviderState::Unknown => "of unknown health",
        ProviderState::Absent => "not listed",
        ProviderState::NotSeen => "not seen (the router did not answer)",
    }
}

pub(super) fn signature(k: &SigKey, st: &Style) -> String {
    let mut sig = vec![st.e(&k.status)];
    if let Some(c) = &k.error_code {
        sig.push(st.e(c));
    }
    if let Some(s) = &k.failure_stage {
        sig.push(format!("at {}", st.e(s)));
    }
    sig.push(if k.provider_empty {
        "provider_id empty".into()
    } else {
        "provider_id set".into()
    });
    match k.output_null {
        Some(true) => sig.push("output null".into()),
        Some(false) => sig.push("output with the error".into()),
        None => {}
    }
    sig.join(", ")
}

/// A clock's offset against another's: `7m00s behind the recorder's`, `12s ahead of it`.
pub fn offset(seconds: f64, whose: &str) -> String {
    let us = (seconds * 1e6).round() as i64;
    if us.abs() < 500_000 {
        format!("level with {whose}")
    } else if us < 0 {
        format!("{} behind {whose}", crate::duration::human(-us))
    } else {
        format!("{} ahead of {whose}", crate::duration::human(us))
    }
}

/// What a server's clock did against the recorder's, in one clause: `the runner's clock was
/// 7m00s behind the recorder's`, or, when it changed, `the runner's clock went from 0s ahead
/// of the recorder's to 9m20s ahead of it during the recording (...)`.
pub fn clock_clause(k: &ClockSummary) -> String {
    let whose = format!("the {}'s clock", k.server.name());
    if k.changed && !k.at_least {
        format!(
            "{whose} went from {} to {} during the recording, furthest {} at seq {}",
            offset(k.first_offset_seconds, "the recorder's"),
            offset(k.last_offset_seconds, "it"),
            offset(k.offset_seconds, "it"),
            k.seq
        )
    } else {
        let prefix = if k.at_least { "at least " } else { "" };
        format!(
            "{whose} was {prefix}{}",
            offset(k.offset_seconds, "the recorder's")
        )
    }
}

/// The same in a few words, for a sentence about something else: `the runner's clock 7m00s
/// behind the recorder's`, `the runner's clock going from ... to ...`.
pub fn clock_brief(k: &ClockSummary) -> String {
    let whose = format!("the {}'s clock", k.server.name());
    if k.changed && !k.at_least {
        format!(
            "{whose} going from {} to {}",
            offset(k.first_offset_seconds, "the recorder's"),
            offset(k.last_offset_seconds, "it")
        )
    } else {
        let prefix = if k.at_least { "at least " } else { "" };
        format!(
            "{whose} {prefix}{}",
            offset(k.offset_seconds, "the recorder's")
        )
    }
}

/// How a clock was measured: `from its answers' Date headers at 30 polls`.
pub fn measured_clause(k: &ClockSummary) -> String {
    let how = match k.measured {
        Measured::DateHeader => "from its answers' Date headers",
        Measured::HealthTimestamp => "from its /health timestamps",
        Measured::RowTimes => "from the rows' own times (no answer carried its clock)",
    };
    format!(
        "{how} at {}",
        crate::present::text::plural(k.polls as u64, "poll", "polls")
    )
}

pub(super) fn opt_count(v: Option<i64>) -> String {
    v.map_or("?".into(), |v| v.to_string())
}
