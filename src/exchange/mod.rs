//! Moving a recording in and out: captures made without the recorder (`capture`: saved `curl`
//! answers, HAR files; `import`: into a recording, through the same normalise step), files for
//! other tools (`export`: JSON lines, Parquet, a trace), and the fleet's server (`ship`:
//! ClickHouse). These are the operations; `cli` parses their arguments and prints what they did.

pub mod capture;
pub mod export;
pub mod import;
pub mod ship;

mod error;
pub use error::*;
