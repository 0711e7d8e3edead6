//! Our HTTP servers: the time-travel server of `replay --serve` (`replay`), the live page
//! (`live`), and their one accept loop (here). Their clients are
//! untrusted: a request head must arrive within `Limits::header_timeout`, at most
//! `Limits::max_connections` are served at once (more are closed at once, so a flood cannot
//! starve the clients being served), and none lives longer than `CONNECTION_LIFETIME`.

pub mod live;
pub mod metrics;
pub mod replay;

mod accept;
pub use accept::*;
