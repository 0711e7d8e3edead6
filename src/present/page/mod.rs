//! The postmortem page: one self-contained HTML file (inline CSS and SVG, no script unless
//! live, nothing fetched). The answer and the findings on top, each finding linking to where its
//! evidence is drawn; the lanes on one time axis; the matrix as a grid; the failure signatures,
//! the router's changes, the request windows and how it was recorded. Every value from the
//! recording is escaped: field values are hostile input.

mod axis;
mod bars;
mod density;
mod esc;
mod figures;
mod flags;
mod grid;
mod lane;
mod lanes;
mod router_lane;
mod sources;
mod strip;

mod html;
pub use esc::{code_spans, esc};
pub use html::*;
