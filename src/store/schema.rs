//! The on-disk format: every table, its key and value layout, and `SCHEMA_VERSION`.
//!
//! A database is one redb file. Values are `codec`-encoded records, each starting with a
//! format byte (below) so that a reader can tell what it holds and refuse what it does not
//! know. Raw HTTP bodies are kept as received (compressed); entity versions are derived from
//! them and written only when an entity changed since the previous snapshot.
//!
//! | table            | key                               | value                               |
//! |------------------|-----------------------------------|-------------------------------------|
//! | `meta`           | `&str` name                       | bytes: `schema_version` = u32 LE    |
//! | `sessions`       | u64 session id (= its first seq)  | `SessionRec`                        |
//! | `snapshots`      | u64 seq, from 1, contiguous       | `SnapshotRec` (the poll's header)   |
//! | `strings`        | u32 id                            | `&str`: URLs (no credentials), content types |
//! | `bodies`         | u64 body id                       | `BodyRec`: zstd, full or delta      |
//! | `body_index`     | `[u8; 32]` blake3 of raw body     | u64 body id                         |
//! | `jobs`           | `&str` job id                     | u32 job index                       |
//! | `job_versions`   | (u32 job, u64 seq)                | `JobRec`                            |
//! | `exec_versions`  | (u32 job, i64 exec id, u64 seq)   | `Execution`, or a tombstone         |
//! | `exec_changes`   | (u32 job, u64 seq, i64 exec id)   | `()`: the same versions, by seq     |
//! | `exec_checkpoints`| (u32 job, u64 seq)               | every live execution after seq      |
//! | `router_versions`| u64 seq                           | `RouterRec`                         |
//! | `exec_extras`    | (u32 job, u64 seq)                | zstd of `Vec<ExtraRow>`: every row  |
//! |                  |                                   | kept beside the by-id list, when it changed |
//! | `notes`          | (i64 at µs, u64 n)                | `NoteRec`: an annotation, maybe a marked window |
//! | `pruned`         | u64 first seq                     | u64 last seq of a range removed by retention |
//!
//! `meta` also holds `recording_id` (16 random bytes, hex, made when the file is created) and,
//! in a sealed bundle made by `cut`, `manifest` (JSON, `bundle::Manifest`).
//!
//! The state of an entity at snapshot S is its version with the greatest seq <= S. For the
//! executions of a job that is the last checkpoint at or before S plus the changes after it
//! (found through `exec_changes`). A checkpoint is written once the versions since the last
//! one reach an eighth of the job's live rows (at least 64): replaying is then bounded by an
//! eighth of the job's size. Checkpoints are zstd-compressed, and executions compress well
//! against each other, so they cost far less than the versions they summarise.
//! Checkpoint value: format byte, then zstd of repeated `[i64 LE id][u32 LE len][EXEC_V1 value]`.
//!
//! Rows that have no place in the by-id tables (a second row with the same id in one body, a
//! row without a usable id) are kept whole in `exec_extras`: the job's extras at snapshot S are
//! its version with the greatest seq <= S (an empty list once they are gone).
//!
//! Versions: 1 had no `exec_extras` and `SNAPSHOT_V1` headers; 2 adds them and `SNAPSHOT_V2`
//! (each request's outcome, row accounting and row problems, a redirect's location, the
//! server's clock); 3 adds `notes`, `pruned`, the recording id and `SESSION_V2` (followed
//! jobs, extra endpoints, retention); 4 adds `SNAPSHOT_V3` (when each request was sent, and
//! the first attempt of a request sent again on a new connection) and `findings` (the
//! findings judged while recording); 5 writes `SNAPSHOT_V4` (the same header, written field by
//! field: an unchanged poll costs a third less) and `ENC_PATCH` bodies. A reader reads every older version (an absent table is
//! empty; old records are converted); a recorder that appends to an older file marks it with
//! the current version.
//!
//! Retention (`record --retain`, `--max-size`) removes snapshots older than the window: for
//! every entity the last version inside a removed range is moved to the first kept snapshot
//! after it (so the state there is whole), older versions, checkpoints and bodies no longer
//! used go, and the range is noted in `pruned`. Snapshots in a marked window are never
//! removed.

pub use crate::beacon::{ExtraRow, JobRec, RouterRec, RowProblem};
use crate::fetch::{FetchErrorKind, Outcome, SourceKind};
use redb::TableDefinition;
use serde::{Deserialize, Serialize};

/// Bumped whenever a table or record layout changes. A file with a larger number is refused.
pub const SCHEMA_VERSION: u32 = 5;

pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub const SESSIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("sessions");
pub const SNAPSHOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("snapshots");
pub const STRINGS: TableDefinition<u32, &str> = TableDefinition::new("strings");
pub const BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("bodies");
pub const BODY_INDEX: TableDefinition<&[u8; 32], u64> = TableDefinition::new("body_index");
pub const JOBS: TableDefinition<&str, u32> = TableDefinition::new("jobs");
pub const JOB_VERSIONS: TableDefinition<(u32, u64), &[u8]> = TableDefinition::new("job_versions");
pub const EXEC_VERSIONS: TableDefinition<(u32, i64, u64), &[u8]> =
    TableDefinition::new("exec_versions");
pub const ROUTER_VERSIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("router_versions");
pub const EXEC_CHANGES: TableDefinition<(u32, u64, i64), ()> = TableDefinition::new("exec_changes");
pub const EXEC_CHECKPOINTS: TableDefinition<(u32, u64), &[u8]> =
    TableDefinition::new("exec_checkpoints");
pub const EXEC_EXTRAS: TableDefinition<(u32, u64), &[u8]> = TableDefinition::new("exec_extras");
pub const NOTES: TableDefinition<(i64, u64), &[u8]> = TableDefinition::new("notes");
pub const PRUNED: TableDefinition<u64, u64> = TableDefinition::new("pruned");
/// Findings as judged while recording (`record::live`): one row per finding per time it held.
pub const FINDINGS: TableDefinition<u64, &[u8]> = TableDefinition::new("findings");

/// Format bytes: the first byte of every encoded value.
pub mod format {
    pub const SESSION_V1: u8 = 0x10;
    pub const SESSION_V2: u8 = 0x11;
    pub const SNAPSHOT_V1: u8 = 0x20;
    pub const SNAPSHOT_V2: u8 = 0x21;
    pub const SNAPSHOT_V3: u8 = 0x22;
    /// `SnapshotRec` written field by field (`compact`): what version 5 writes.
    pub const SNAPSHOT_V4: u8 = 0x23;
    pub const BODY_V1: u8 = 0x30;
    pub const JOB_V1: u8 = 0x40;
    pub const EXEC_V1: u8 = 0x50;
    /// An execution that vanished from the complete list; no payload.
    pub const EXEC_TOMBSTONE: u8 = 0x5F;
    pub const ROUTER_V1: u8 = 0x60;
    pub const CHECKPOINT_V1: u8 = 0x70;
    /// Format byte, then zstd of the bincode of `Vec<ExtraRow>`.
    pub const EXTRAS_V1: u8 = 0x80;
    pub const NOTE_V1: u8 = 0x90;
    pub const FINDING_V1: u8 = 0xA0;
}

/// One run of `record` against one set of sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRec {
    pub started_at: i64,
    pub first_seq: u64,
    pub runner: Option<String>,
    pub router: Option<String>,
    pub jobs: Vec<String>,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub max_runner_rpm: u32,
    pub label: Option<String>,
    pub tool_version: String,
    /// `--all-jobs`: jobs were discovered, not only `jobs`.
    pub all_jobs: bool,
    /// `--endpoint`s: (name, URL without secrets).
    pub endpoints: Vec<(String, String)>,
    /// `--retain`, µs.
    pub retain_us: Option<i64>,
    /// `--max-size`, bytes.
    pub max_size: Option<u64>,
    /// `import`: where each capture came from and how its time was decided ("view.json: time
    /// from its Date header").
    pub origin: Vec<String>,
}

impl SessionRec {
    /// The `--endpoint` name of a recorded URL.
    pub fn endpoint_name(&self, url: &str) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|(_, u)| u == url)
            .map(|(n, _)| n.as_str())
    }
}

/// A finding of the report while it held, as judged after each snapshot while recording: what
/// it is about, the snapshots it began and ended at, and its sentence and fields then and now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRec {
    pub kind: String,
    pub job: Option<String>,
    pub source: Option<String>,
    pub provider: Option<String>,
    pub detail: Option<String>,
    /// A problem (said, counted in `/metrics`), or only a confirmation.
    pub problem: bool,
    pub began_seq: u64,
    /// µs since the epoch: the start of the snapshot it began at.
    pub began_at: i64,
    /// The first judged snapshot at which it no longer held (`None`: open at the last one).
    pub ended_seq: Option<u64>,
    pub ended_at: Option<i64>,
    pub began_message: String,
    /// As the last snapshot at which it held.
    pub message: String,
    /// Its fields (the report's JSON of it), when it began and when it last held.
    pub began_values: String,
    pub values: String,
}

/// An annotation (`blackbox note`). With a mark, snapshots between `mark_from` and `mark_to`
/// (µs) are kept by retention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteRec {
    pub text: String,
    pub mark_from: Option<i64>,
    pub mark_to: Option<i64>,
    /// When it was written, µs.
    pub created_at: i64,
}

/// One poll: when it ran and what every request returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRec {
    pub session: u64,
    /// Microseconds since the epoch, UTC.
    pub started_at: i64,
    /// How long the poll took, in µs (an end time would cost 9 bytes, this about 3).
    pub duration_us: u64,
    pub fetches: Vec<FetchRec>,
}

/// One request of a poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchRec {
    /// A `fetch::SourceKind` as u8.
    pub source: u8,
    /// Job index (`jobs` table) for runner job requests.
    pub job: Option<u32>,
    /// `strings` id of the URL, secrets removed.
    pub url: u32,
    pub status: Option<u16>,
    pub latency_us: u64,
    /// `bodies` id of the body as received (also for error statuses).
    pub body: Option<u64>,
    pub body_len: u64,
    /// `strings` id of the Content-Type header.
    pub content_type: Option<u32>,
    pub error: Option<FetchErrorRec>,
    /// The body arrived but did not parse as what this endpoint returns.
    pub parse_error: Option<String>,
    /// A `fetch::Outcome` as u8: how the request went, decided once when it was recorded.
    pub outcome: u8,
    /// `strings` id of a redirect's `Location` (secrets removed).
    pub location: Option<u32>,
    /// For bodies with execution rows: `[in body, kept, repeated across pages, unusable]`.
    pub rows: Option<[u32; 4]>,
    /// The first row problems of the body (`normalise::PROBLEMS_KEPT`).
    pub problems: Vec<RowProblem>,
    pub problems_total: u32,
    /// The server's clock when it answered, µs since the epoch: the router's `/health`
    /// `timestamp`, else the `Date` header. Staleness is measured on it.
    pub server_time: Option<i64>,
    /// When the request was sent, µs after the poll's start (`None`: not sent). With
    /// `latency_us` it brackets the moment the server answered on the recorder's clock.
    pub sent_us: Option<u64>,
    /// The first attempt, when the request failed before any response byte on a connection
    /// kept from an earlier request and was sent once more on a new one (the race of a
    /// keep-alive connection the server closed as it was reused). Everything else in this
    /// record is the second attempt's.
    pub retried: Option<FetchErrorRec>,
    /// Secrets the body echoed (the runner's token, a password or secret parameter of the
    /// URL), replaced by `REDACTED` before the body was stored: how many. The body is kept as
    /// received but for them.
    pub secrets_removed: u32,
}

impl FetchRec {
    pub fn outcome(&self) -> Outcome {
        Outcome::from_u8(self.outcome).unwrap_or(Outcome::HttpError)
    }

    pub fn error_kind(&self) -> Option<FetchErrorKind> {
        self.error.as_ref().map(|e| FetchErrorKind::from_u8(e.kind))
    }

    /// `ok`, `http 503`, `timeout`, `skipped_by_budget`, ...
    pub fn outcome_word(&self) -> String {
        crate::fetch::outcome_word(self.outcome(), self.status, self.error_kind())
    }
}

/// Snapshot and request headers as schema versions 2 and 3 wrote them.
pub mod v2 {
    use super::{FetchErrorRec, FetchRec, RowProblem};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct SnapshotRec {
        pub session: u64,
        pub started_at: i64,
        pub duration_us: u64,
        pub fetches: Vec<FetchRec2>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct FetchRec2 {
        pub source: u8,
        pub job: Option<u32>,
        pub url: u32,
        pub status: Option<u16>,
        pub latency_us: u64,
        pub body: Option<u64>,
        pub body_len: u64,
        pub content_type: Option<u32>,
        pub error: Option<FetchErrorRec>,
        pub parse_error: Option<String>,
        pub outcome: u8,
        pub location: Option<u32>,
        pub rows: Option<[u32; 4]>,
        pub problems: Vec<RowProblem>,
        pub problems_total: u32,
        pub server_time: Option<i64>,
    }

    impl From<FetchRec2> for FetchRec {
        fn from(f: FetchRec2) -> Self {
            FetchRec {
                source: f.source,
                job: f.job,
                url: f.url,
                status: f.status,
                latency_us: f.latency_us,
                body: f.body,
                body_len: f.body_len,
                content_type: f.content_type,
                error: f.error,
                parse_error: f.parse_error,
                outcome: f.outcome,
                location: f.location,
                rows: f.rows,
                problems: f.problems,
                problems_total: f.problems_total,
                server_time: f.server_time,
                sent_us: None,
                retried: None,
                secrets_removed: 0,
            }
        }
    }

    impl From<SnapshotRec> for crate::store::schema::SnapshotRec {
        fn from(s: SnapshotRec) -> Self {
            crate::store::schema::SnapshotRec {
                session: s.session,
                started_at: s.started_at,
                duration_us: s.duration_us,
                fetches: s.fetches.into_iter().map(Into::into).collect(),
            }
        }
    }
}

/// Sessions as schema versions 1 and 2 wrote them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRec1 {
    pub started_at: i64,
    pub first_seq: u64,
    pub runner: Option<String>,
    pub router: Option<String>,
    pub jobs: Vec<String>,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub max_runner_rpm: u32,
    pub label: Option<String>,
    pub tool_version: String,
}

impl From<SessionRec1> for SessionRec {
    fn from(s: SessionRec1) -> Self {
        SessionRec {
            started_at: s.started_at,
            first_seq: s.first_seq,
            runner: s.runner,
            router: s.router,
            jobs: s.jobs,
            interval_ms: s.interval_ms,
            timeout_ms: s.timeout_ms,
            max_runner_rpm: s.max_runner_rpm,
            label: s.label,
            tool_version: s.tool_version,
            all_jobs: false,
            endpoints: Vec::new(),
            retain_us: None,
            max_size: None,
            origin: Vec::new(),
        }
    }
}

/// Snapshot and request headers as schema version 1 wrote them.
pub mod v1 {
    use super::{FetchErrorRec, FetchRec, Outcome, SourceKind};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct SnapshotRec {
        pub session: u64,
        pub started_at: i64,
        pub duration_us: u64,
        pub fetches: Vec<FetchRec1>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct FetchRec1 {
        pub source: u8,
        pub job: Option<u32>,
        pub url: u32,
        pub status: Option<u16>,
        pub latency_us: u64,
        pub body: Option<u64>,
        pub body_len: u64,
        pub content_type: Option<u32>,
        pub error: Option<FetchErrorRec>,
        pub parse_error: Option<String>,
    }

    /// Version 1 did not store outcomes; this is the rule it reported by. Its one kind of
    /// unsent request (7, "rate_budget") covered both the budget and a 429's wait.
    fn outcome(f: &FetchRec1) -> Outcome {
        if let Some(e) = &f.error {
            return if e.kind == 7 {
                Outcome::SkippedByBudget
            } else {
                Outcome::Transport
            };
        }
        match f.status {
            Some(200..=299) if f.parse_error.is_some() => Outcome::Unparsable,
            Some(200..=299) => Outcome::Ok,
            Some(404) if f.source == SourceKind::RunnerExecAll as u8 => Outcome::OlderRunner,
            Some(404)
                if (f.source == SourceKind::RunnerJobDefault as u8
                    || f.source == SourceKind::RunnerJobPage as u8)
                    && f.body_len > 0 =>
            {
                Outcome::JobNotFound
            }
            _ => Outcome::HttpError,
        }
    }

    impl From<FetchRec1> for FetchRec {
        fn from(f: FetchRec1) -> Self {
            FetchRec {
                outcome: outcome(&f) as u8,
                source: f.source,
                job: f.job,
                url: f.url,
                status: f.status,
                latency_us: f.latency_us,
                body: f.body,
                body_len: f.body_len,
                content_type: f.content_type,
                error: f.error,
                parse_error: f.parse_error,
                location: None,
                rows: None,
                problems: Vec::new(),
                problems_total: 0,
                server_time: None,
                sent_us: None,
                retried: None,
                secrets_removed: 0,
            }
        }
    }

    impl From<SnapshotRec> for crate::store::schema::SnapshotRec {
        fn from(s: SnapshotRec) -> Self {
            crate::store::schema::SnapshotRec {
                session: s.session,
                started_at: s.started_at,
                duration_us: s.duration_us,
                fetches: s.fetches.into_iter().map(Into::into).collect(),
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchErrorRec {
    /// A `source::FetchErrorKind` as u8.
    pub kind: u8,
    pub message: String,
}

/// A stored body. `encoding`: 0 = raw bytes, 1 = zstd, 2 = zstd with the body `base` (decoded)
/// as dictionary, 3 = the body `base` with one stretch replaced (`blobs::ENC_PATCH`); a
/// near-copy of the previous body of the same URL costs a few bytes (the router's `/health`
/// changes only its `timestamp` between polls).
///
/// Full bodies are in `body_index` under their blake3 hash (so a body seen again is stored
/// once); delta bodies are not (they are de-duplicated against the previous body of their
/// URL, and an index entry would cost more than they do). `check` (the first 8 bytes of the
/// blake3 hash) lets every body be verified on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BodyRec {
    pub check: [u8; 8],
    pub len: u64,
    pub encoding: u8,
    pub base: Option<u64>,
    /// Delta-chain depth: 0 for a full body.
    pub depth: u32,
    pub data: Vec<u8>,
}
