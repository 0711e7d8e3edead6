//! The sentences: findings, the answer paragraph, timeline events and router changes, rendered
//! from the analysis's typed values. Every value from the recording goes through the output's
//! escaper (`term` for text, `md` for Markdown, HTML escaping for pages).

mod answer;
mod events;
mod finding;
mod style;

pub use answer::{answer, cause};
pub use events::{change, checks_line, endpoint_change, event, queue_line};
pub use finding::{finding, first_seen};
pub use style::{
    NAMED, Style, clock_brief, clock_clause, fetch_kind, measured_clause, offset, state,
};
