//! The redb store: opening a file (and checking its schema), the snapshot writer, and the
//! reader the analysis works through.
//!
//! Every handle is opened in redb's `ConcurrencyMode::SingleWriter`: one process (`record`)
//! writes, and `show`/`diff`/`report` in other processes open the same file read-only and see
//! each committed snapshot as it lands.

pub mod blobs;
pub mod checkpoint;
pub mod codec;
mod reader;
pub mod schema;
mod verify;
pub mod writer;

pub use reader::{Reader, SnapshotInfo};
pub use verify::VerifyReport;
pub use writer::{IngestStats, Poll, Preparsed, Writer};
// Sharing is defined below.

use redb::{
    ConcurrencyMode, Database, ReadOnlyDatabase, ReadableDatabase, ReadableTable, TableHandle,
};

use schema::{META, SCHEMA_VERSION};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no database at {path}")]
    Missing { path: PathBuf },
    #[error("database {path} is held by another process")]
    Locked { path: PathBuf },
    #[error("cannot open database {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: redb::DatabaseError,
    },
    #[error("{path} is not a beacon-blackbox database")]
    NotBlackbox { path: PathBuf },
    #[error(
        "database {path} has schema version {found}; this blackbox reads up to {supported} (upgrade blackbox)"
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("database error")]
    Db(#[source] redb::Error),
    #[error("corrupt {what}")]
    Corrupt {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot create database file {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    pub(crate) fn corrupt(
        what: impl Into<String>,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError::Corrupt {
            what: what.into(),
            source: Box::new(e),
        }
    }
}

/// `?` for any redb error type.
pub(crate) trait DbResult<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> DbResult<T> for Result<T, E> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Db(e.into()))
    }
}

fn builder() -> redb::Builder {
    let mut b = Database::builder();
    b.set_concurrency_mode(ConcurrencyMode::SingleWriter);
    b
}

/// Whether other processes may read the database while it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// `record`: readers in other processes follow the commits; every commit is durable.
    Shared,
    /// Synthetic data and benchmarks: one process only, which allows non-durable commits
    /// (redb refuses those on a database shared with other processes).
    Exclusive,
}

fn open_error(path: &Path, e: redb::DatabaseError) -> StoreError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked {
            path: path.to_path_buf(),
        },
        other => StoreError::Open {
            path: path.to_path_buf(),
            source: other,
        },
    }
}

fn check_schema(path: &Path, stored: Option<&[u8]>) -> Result<(), StoreError> {
    let Some(bytes) = stored else {
        return Err(StoreError::NotBlackbox {
            path: path.to_path_buf(),
        });
    };
    let found = u32::from_le_bytes(bytes.try_into().map_err(|_| StoreError::NotBlackbox {
        path: path.to_path_buf(),
    })?);
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Opens (creating if needed) the database for writing. A new file is created with mode 0600:
/// it holds everything the runner answered.
pub fn open_writer(path: &Path, sharing: Sharing) -> Result<Database, StoreError> {
    let existed = path.exists();
    // Check what the file is before opening it writable: redb may write to a file it opens
    // for writing, and a file that is not ours (or is newer) must stay byte-for-byte as it was.
    // A file that only needs redb's crash repair fails this read-only check; it goes on to
    // the writable open below, which repairs it.
    if existed
        && std::fs::metadata(path)
            .map(|m| m.len() > 0)
            .unwrap_or(false)
        && let Err(
            e @ (StoreError::NotBlackbox { .. }
            | StoreError::NewerSchema { .. }
            | StoreError::Locked { .. }),
        ) = open_reader(path)
    {
        return Err(e);
    }
    if !existed {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        o.open(path).map_err(|source| StoreError::Create {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let mut b = builder();
    if sharing == Sharing::Exclusive {
        b.set_concurrency_mode(ConcurrencyMode::ExclusiveWriter);
    }
    let db = b.create(path).map_err(|e| open_error(path, e))?;
    let txn = db.begin_write().db()?;
    {
        let mut meta = txn.open_table(META).db()?;
        let stored = meta.get("schema_version").db()?.map(|v| v.value().to_vec());
        match stored {
            Some(v) => check_schema(path, Some(&v))?,
            None => {
                // A file with tables but no schema entry is someone else's redb database.
                let has_tables = txn.list_tables().db()?.any(|t| t.name() != "meta");
                if existed && has_tables {
                    return Err(StoreError::NotBlackbox {
                        path: path.to_path_buf(),
                    });
                }
                meta.insert("schema_version", SCHEMA_VERSION.to_le_bytes().as_slice())
                    .db()?;
            }
        }
    }
    // Every table exists from the start, so readers never meet a missing one.
    txn.open_table(schema::SESSIONS).db()?;
    txn.open_table(schema::SNAPSHOTS).db()?;
    txn.open_table(schema::STRINGS).db()?;
    txn.open_table(schema::BODIES).db()?;
    txn.open_table(schema::BODY_INDEX).db()?;
    txn.open_table(schema::JOBS).db()?;
    txn.open_table(schema::JOB_VERSIONS).db()?;
    txn.open_table(schema::EXEC_VERSIONS).db()?;
    txn.open_table(schema::ROUTER_VERSIONS).db()?;
    txn.open_table(schema::EXEC_CHANGES).db()?;
    txn.open_table(schema::EXEC_CHECKPOINTS).db()?;
    txn.commit().db()?;
    Ok(db)
}

/// A database opened for reading: the file itself, or, when the file needs redb's crash
/// repair (its writer was killed), a repaired copy in memory, so that reading never writes.
pub enum ReadDb {
    File(ReadOnlyDatabase),
    Recovered(Database),
}

impl ReadDb {
    pub fn begin_read(&self) -> Result<redb::ReadTransaction, StoreError> {
        match self {
            ReadDb::File(d) => d.begin_read().db(),
            ReadDb::Recovered(d) => d.begin_read().db(),
        }
    }

    /// Whether the file was not closed cleanly and is read through a repaired copy.
    pub fn recovered(&self) -> bool {
        matches!(self, ReadDb::Recovered(_))
    }
}

/// Repairs a copy of the file in memory; the file is not touched.
fn recover_in_memory(path: &Path) -> Result<Database, StoreError> {
    use redb::StorageBackend;
    let bytes = std::fs::read(path).map_err(|source| StoreError::Create {
        path: path.to_path_buf(),
        source,
    })?;
    let backend = redb::backends::InMemoryBackend::new();
    backend
        .set_len(bytes.len() as u64)
        .and_then(|()| backend.write(0, &bytes))
        .map_err(|e| StoreError::corrupt("in-memory copy", std::io::Error::other(e.to_string())))?;
    Database::builder()
        .create_with_backend(backend)
        .map_err(|e| open_error(path, e))
}

/// Opens an existing database read-only; it may be written by a running recorder meanwhile.
pub fn open_reader(path: &Path) -> Result<ReadDb, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing {
            path: path.to_path_buf(),
        });
    }
    let db = match builder().open_read_only(path) {
        Ok(d) => ReadDb::File(d),
        Err(redb::DatabaseError::RepairAborted) => ReadDb::Recovered(recover_in_memory(path)?),
        Err(e) => return Err(open_error(path, e)),
    };
    {
        let txn = db.begin_read()?;
        let meta = match txn.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => {
                return Err(StoreError::NotBlackbox {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(StoreError::Db(e.into())),
        };
        let v = meta.get("schema_version").db()?.map(|v| v.value().to_vec());
        check_schema(path, v.as_deref())?;
    }
    Ok(db)
}
