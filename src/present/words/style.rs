//! How values are written into sentences (`Style`), and the small words several sentences share.

use super::super::text::Ctx;
use crate::analysis::FetchKind;
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

pub(super) fn opt_count(v: Option<i64>) -> String {
    v.map_or("?".into(), |v| v.to_string())
}
