//! Opening a database: for reading (read-only, a killed recorder's file repaired in memory), for
//! writing (guarded: a dry run with redb's page checks first), creating one whole or not at all,
//! and the store's errors.

use redb::{ConcurrencyMode, Database, ReadOnlyDatabase, ReadableDatabase};

use super::schema::{META, SCHEMA_VERSION, SNAPSHOTS};
use redb::ReadableTable as _;
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
    #[error("database {path} is damaged ({cause}); it was left as it was")]
    Damaged { path: PathBuf, cause: String },
    #[error("database {path} was closed after a failed write")]
    Closed { path: PathBuf },
    #[error("{path} is not a regular file (a pipe, a device or a folder), so not a recording")]
    NotFile { path: PathBuf },
    #[error("database {path} is a sealed bundle made by `blackbox cut`; it is never written to")]
    Sealed { path: PathBuf },
    #[error("signing the bundle failed")]
    Sign(#[source] super::sign::SignError),
    #[error(
        "cannot create database file {path}: the folder {dir} does not exist (make it with `mkdir -p {dir}`, or give another --db)"
    )]
    NoFolder { path: PathBuf, dir: PathBuf },
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

/// redb's page cache for a reader. Its default (1 GiB) keeps every page read: a command that
/// reads a recording whole would hold all of it. Commands read a recording once, mostly in
/// key order, so a small cache costs them little time and bounds their memory.
const READ_CACHE: usize = 8 << 20;

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

/// Runs `f`, turning a panic inside redb (it may panic on a file damaged outside it) into an
/// error message. The panic's own text (an assertion of redb's, an index) means nothing to the
/// person reading the file: it goes to the debug log, the message says what happened.
pub(crate) fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        let text = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        tracing::debug!(panic = %text, "redb panicked on damaged data");
        "it stopped on data it could not read (a damaged page)".to_string()
    })
}

/// Every table exists from the start, so readers never meet a missing one.
fn create_tables(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(super::schema::SESSIONS).db()?;
    txn.open_table(super::schema::SNAPSHOTS).db()?;
    txn.open_table(super::schema::STRINGS).db()?;
    txn.open_table(super::schema::BODIES).db()?;
    txn.open_table(super::schema::BODY_INDEX).db()?;
    txn.open_table(super::schema::JOBS).db()?;
    txn.open_table(super::schema::JOB_VERSIONS).db()?;
    txn.open_table(super::schema::EXEC_VERSIONS).db()?;
    txn.open_table(super::schema::ROUTER_VERSIONS).db()?;
    txn.open_table(super::schema::EXEC_CHANGES).db()?;
    txn.open_table(super::schema::EXEC_CHECKPOINTS).db()?;
    txn.open_table(super::schema::EXEC_EXTRAS).db()?;
    txn.open_table(super::schema::NOTES).db()?;
    txn.open_table(super::schema::PRUNED).db()?;
    txn.open_table(super::schema::FINDINGS).db()?;
    Ok(())
}

/// A new recording id: 16 random bytes as hex (from the OS's randomness through the standard
/// library's hasher keys, the time and the process).
pub fn new_recording_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::with_capacity(32);
    for i in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// Creates a new database file whole or not at all: it is made under a temporary name beside
/// the target, with its tables and schema version committed, then linked into place. A failure
/// (a full disk, say) leaves no file behind.
/// A file that does not exist yet can be made there: its folder exists (else the error names
/// the folder and `mkdir -p`). Checked before anything is started that would have to stop.
pub fn check_folder(path: &Path) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if path.exists() || dir.is_dir() {
        return Ok(());
    }
    Err(StoreError::NoFolder {
        path: path.to_path_buf(),
        dir: dir.to_path_buf(),
    })
}

fn create_whole(path: &Path) -> Result<(), StoreError> {
    let create_err = |source: std::io::Error| StoreError::Create {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(StoreError::NoFolder {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
        });
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "blackbox.redb".into());
    let tmp = dir.join(format!(
        ".{name}.creating-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    ));
    let made = (|| -> Result<(), StoreError> {
        let mut o = std::fs::OpenOptions::new();
        o.read(true).write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        o.open(&tmp).map_err(create_err)?;
        let db = Database::builder()
            .create(&tmp)
            .map_err(|e| open_error(path, e))?;
        let txn = db.begin_write().db()?;
        {
            let mut meta = txn.open_table(META).db()?;
            meta.insert("schema_version", SCHEMA_VERSION.to_le_bytes().as_slice())
                .db()?;
            meta.insert("recording_id", new_recording_id().as_bytes())
                .db()?;
        }
        create_tables(&txn)?;
        txn.commit().db()?;
        drop(db);
        // Linking fails if a file appeared under the name meanwhile: never replace one.
        match std::fs::hard_link(&tmp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(_) if !path.exists() => std::fs::rename(&tmp, path).map_err(create_err),
            Err(e) => Err(create_err(e)),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    // Whatever failed, it failed making a new file (not reading a damaged one): say so, with
    // the cause (a full disk names itself).
    made.map_err(|e| match e {
        e @ StoreError::Create { .. } => e,
        e => StoreError::Create {
            path: path.to_path_buf(),
            source: std::io::Error::other(crate::errors::error_chain(&e)),
        },
    })
}

/// Opens (creating if needed) the database for writing, without ever harming the file: an
/// existing file is opened, repaired if its recorder was killed, and checked page by page by
/// redb with every write held in memory (`guard`); only a file that passes is written to. A
/// damaged one is refused with its bytes unchanged.
pub fn open_writer(path: &Path, sharing: Sharing) -> Result<Database, StoreError> {
    open_writer_limited(path, sharing, None)
}

/// How long a writer waits for readers to let go of the file. A reader (`show`, the live page)
/// holds it for the moment of one look; another recorder holds it for good.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// `open_writer`, with a length the file may not grow past (a full disk, simulated). A file
/// held by a reader is tried again for up to `LOCK_WAIT`.
pub fn open_writer_limited(
    path: &Path,
    sharing: Sharing,
    limit: Option<u64>,
) -> Result<Database, StoreError> {
    let start = std::time::Instant::now();
    loop {
        match open_writer_once(path, sharing, limit) {
            Err(StoreError::Locked { .. }) if start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            r => return r,
        }
    }
}

/// A new recording file for a bundle (`cut`): refused if anything exists at `path`.
pub fn create_bundle_file(path: &Path) -> Result<Database, StoreError> {
    // A link counts, even one pointing nowhere: creating the bundle would follow it.
    if let Ok(m) = std::fs::symlink_metadata(path) {
        let what = if m.is_symlink() {
            "a symbolic link"
        } else if m.is_dir() {
            "a folder"
        } else {
            "a file"
        };
        return Err(StoreError::Create {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{what} is already there (a bundle is never written over anything)"),
            ),
        });
    }
    create_whole(path)?;
    Database::builder()
        .open(path)
        .map_err(|e| open_error(path, e))
}

/// `open_writer` on an existing file, without waiting for a holder to let go.
pub fn open_writer_now(path: &Path) -> Result<Database, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing {
            path: path.to_path_buf(),
        });
    }
    // An existing recording only: an empty file holds none (a recorder makes it one).
    if path.is_file() && !looks_like_redb(path) {
        return Err(StoreError::NotBlackbox {
            path: path.to_path_buf(),
        });
    }
    open_writer_once(path, Sharing::Shared, None)
}

fn open_writer_once(
    path: &Path,
    sharing: Sharing,
    limit: Option<u64>,
) -> Result<Database, StoreError> {
    let meta = std::fs::metadata(path);
    if meta.as_ref().is_ok_and(|m| !m.is_file()) {
        return Err(StoreError::NotFile {
            path: path.to_path_buf(),
        });
    }
    let empty = meta.map(|m| m.len() == 0);
    match empty {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_whole(path)?,
        // An empty file (made by hand, say) is someone's; but nothing in it can be harmed.
        Ok(true) => {
            std::fs::remove_file(path).map_err(|source| StoreError::Create {
                path: path.to_path_buf(),
                source,
            })?;
            create_whole(path)?
        }
        _ => {}
    }
    // Dropping a handle on a damaged file can panic too.
    let (db, arm, replay) =
        no_panic(|| dry_open(path, sharing, limit, None)).map_err(|p| StoreError::Damaged {
            path: path.to_path_buf(),
            cause: format!("redb failed reading it: {p}"),
        })??;
    // Refused before anything is written (the backend is not armed yet).
    if is_sealed(&db)? {
        return Err(StoreError::Sealed {
            path: path.to_path_buf(),
        });
    }
    arm.arm(&replay).map_err(|source| StoreError::Create {
        path: path.to_path_buf(),
        source,
    })?;
    let txn = db.begin_write().db()?;
    {
        let mut meta = txn.open_table(META).db()?;
        meta.insert("schema_version", SCHEMA_VERSION.to_le_bytes().as_slice())
            .db()?;
        // Files of older versions get their id when first written to.
        if meta.get("recording_id").db()?.is_none() {
            meta.insert("recording_id", new_recording_id().as_bytes())
                .db()?;
        }
    }
    create_tables(&txn)?;
    txn.commit().db()?;
    Ok(db)
}

/// Opens an existing file writable with every write held in memory, runs redb's integrity
/// check and checks that it is a recording this version can write. The file is unchanged
/// until the caller arms the backend (or forever, if it does not).
/// `cache`: redb's page cache (`None`: redb's default, as the recorder has it).
fn dry_open(
    path: &Path,
    sharing: Sharing,
    limit: Option<u64>,
    cache: Option<usize>,
) -> Result<(Database, super::guard::Arm, std::fs::File), StoreError> {
    // A pipe would be read forever.
    if !path.is_file() {
        return Err(StoreError::NotFile {
            path: path.to_path_buf(),
        });
    }
    if !looks_like_redb(path) {
        return Err(StoreError::NotBlackbox {
            path: path.to_path_buf(),
        });
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|source| StoreError::Create {
            path: path.to_path_buf(),
            source,
        })?;
    let replay = file.try_clone().map_err(|source| StoreError::Create {
        path: path.to_path_buf(),
        source,
    })?;
    let (backend, arm) =
        super::guard::GuardedBackend::dry(file, true, limit).map_err(|source| {
            StoreError::Create {
                path: path.to_path_buf(),
                source,
            }
        })?;
    let damaged = |cause: String| StoreError::Damaged {
        path: path.to_path_buf(),
        cause,
    };
    let mut b = builder();
    if let Some(c) = cache {
        b.set_cache_size(c);
    }
    if sharing == Sharing::Exclusive {
        b.set_concurrency_mode(ConcurrencyMode::ExclusiveWriter);
    }
    let mut db = match no_panic(|| b.create_with_backend(backend)) {
        Ok(Ok(db)) => db,
        Ok(Err(redb::DatabaseError::DatabaseAlreadyOpen)) => {
            return Err(StoreError::Locked {
                path: path.to_path_buf(),
            });
        }
        Ok(Err(e)) => return Err(damaged(format!("redb cannot open it: {e}"))),
        Err(p) => return Err(damaged(format!("redb failed reading it: {p}"))),
    };
    match no_panic(|| db.check_integrity()) {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => {
            return Err(damaged(
                "redb's integrity check had to repair it (a page did not match its checksum)"
                    .into(),
            ));
        }
        Ok(Err(e)) => return Err(damaged(format!("redb's integrity check failed: {e}"))),
        Err(p) => return Err(damaged(format!("redb's integrity check failed: {p}"))),
    }
    no_panic(|| check_contents(path, &db))
        .map_err(|p| damaged(format!("redb failed reading its tables: {p}")))??;
    Ok((db, arm, replay))
}

/// Checks a file page by page, as `record` does before writing to it, without changing it.
/// `Ok(None)` when it is sound; `Ok(Some(why))` when it is damaged; `Err(Locked)` when a
/// recorder holds it (its pages are then not checked).
pub fn check_pages(path: &Path) -> Result<Option<String>, StoreError> {
    // Dropping a handle on a damaged file can panic too.
    match no_panic(|| dry_open(path, Sharing::Shared, None, Some(READ_CACHE)).map(drop)) {
        Ok(Ok(())) => Ok(None),
        Ok(Err(StoreError::Damaged { cause, .. })) => Ok(Some(cause)),
        Ok(Err(e)) => Err(e),
        Err(p) => Ok(Some(format!("redb failed closing it: {p}"))),
    }
}

/// That the file is a blackbox recording this version can write: its schema entry, and no
/// foreign tables.
fn check_contents(path: &Path, db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_read().db()?;
    let stored = match txn.open_table(META) {
        Ok(meta) => meta.get("schema_version").db()?.map(|v| v.value().to_vec()),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(StoreError::Db(e.into())),
    };
    check_schema(path, stored.as_deref())
}

/// Whether the file is a sealed bundle (`cut`): one that is never written to.
fn is_sealed(db: &Database) -> Result<bool, StoreError> {
    let txn = db.begin_read().db()?;
    match txn.open_table(META) {
        Ok(meta) => Ok(meta.get("manifest").db()?.is_some()),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(false),
        Err(e) => Err(StoreError::Db(e.into())),
    }
}

/// Whether the recording at `path` is a sealed bundle (`cut`). Reads only.
pub fn is_bundle(path: &Path) -> Result<bool, StoreError> {
    no_panic(|| -> Result<bool, StoreError> {
        let db = open_reader(path)?;
        let txn = db.begin_read()?;
        match txn.open_table(META) {
            Ok(meta) => Ok(meta.get("manifest").db()?.is_some()),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(false),
            Err(e) => Err(StoreError::Db(e.into())),
        }
    })
    .map_err(|p| StoreError::Damaged {
        path: path.to_path_buf(),
        cause: format!("redb failed reading it: {p}"),
    })?
}

/// When the newest snapshot of the recording at `path` started: `None` when there is no file
/// or no snapshot yet. Reads only.
pub fn last_started_at(path: &Path) -> Result<Option<i64>, StoreError> {
    // redb can panic on a damaged page.
    no_panic(|| last_started_at_unguarded(path)).map_err(|p| StoreError::Damaged {
        path: path.to_path_buf(),
        cause: format!("redb failed reading it: {p}"),
    })?
}

fn last_started_at_unguarded(path: &Path) -> Result<Option<i64>, StoreError> {
    // No file, or an empty one (which a writer makes a recording): no snapshot.
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Ok(m) if m.is_file() && m.len() == 0 => return Ok(None),
        _ => {}
    }
    let db = open_reader(path)?;
    let txn = db.begin_read()?;
    let snaps = match txn.open_table(SNAPSHOTS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(StoreError::Db(e.into())),
    };
    let Some((k, v)) = snaps.last().db()? else {
        return Ok(None);
    };
    let rec = super::codec::decode_snapshot(v.value())
        .map_err(|e| StoreError::corrupt(format!("snapshot {}", k.value()), e))?;
    Ok(Some(rec.started_at))
}

/// A database opened for reading: the file itself, or, when the file needs redb's crash
/// repair (its writer was killed), a repaired copy in memory, so that reading never writes.
pub enum ReadDb {
    File(ReadOnlyDatabase),
    Recovered(Database),
}

impl ReadDb {
    pub fn begin_read(&self) -> Result<redb::ReadTransaction, StoreError> {
        let txn = match self {
            ReadDb::File(d) => d.begin_read().db()?,
            ReadDb::Recovered(d) => d.begin_read().db()?,
        };
        check_catalog(&txn)?;
        Ok(txn)
    }

    /// Whether the file was not closed cleanly and is read through a repaired copy.
    pub fn recovered(&self) -> bool {
        matches!(self, ReadDb::Recovered(_))
    }
}

/// Repairs the file as redb would, with every write held in memory: the file is not touched.
fn recover_in_memory(path: &Path) -> Result<Database, StoreError> {
    let file = std::fs::File::open(path).map_err(|source| StoreError::Create {
        path: path.to_path_buf(),
        source,
    })?;
    let (backend, _never_armed) =
        super::guard::GuardedBackend::dry(file, false, None).map_err(|source| {
            StoreError::Create {
                path: path.to_path_buf(),
                source,
            }
        })?;
    match no_panic(|| {
        Database::builder()
            .set_cache_size(READ_CACHE)
            .create_with_backend(backend)
    }) {
        Ok(r) => r.map_err(|e| open_error(path, e)),
        Err(p) => Err(StoreError::Damaged {
            path: path.to_path_buf(),
            cause: format!("redb failed repairing a copy of it: {p}"),
        }),
    }
}

/// The first bytes of every redb file.
const REDB_MAGIC: &[u8] = b"redb\x1a\n";

/// Whether the file starts as a redb file does (anything else is not a recording at all).
fn looks_like_redb(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 6];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == REDB_MAGIC)
}

/// Opens an existing database read-only; it may be written by a running recorder meanwhile.
pub fn open_reader(path: &Path) -> Result<ReadDb, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing {
            path: path.to_path_buf(),
        });
    }
    // A pipe or a device would be read forever.
    if !path.is_file() {
        return Err(StoreError::NotFile {
            path: path.to_path_buf(),
        });
    }
    // Text, an empty file, another program's data: one message, as `verify` and `record` say.
    if !looks_like_redb(path) {
        return Err(StoreError::NotBlackbox {
            path: path.to_path_buf(),
        });
    }
    let db = match builder().set_cache_size(READ_CACHE).open_read_only(path) {
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

/// Whether another open of the file holds it (redb takes the whole-file lock of its earlier
/// versions beside its range locks): a recorder, or a reader elsewhere. Call it with no
/// reader of the file open in this process.
pub fn held_elsewhere(db: &Path) -> bool {
    match std::fs::File::open(db) {
        Ok(f) => matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
        Err(_) => false,
    }
}

/// Reads every table's definition once: redb panics on a damaged one (a type name that is not
/// UTF-8) when a table is opened, which must end as a corrupt-file error instead. The
/// transaction's later opens read the same definitions.
pub(crate) fn check_catalog(txn: &redb::ReadTransaction) -> Result<(), StoreError> {
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let Ok(tables) = txn.list_tables() else {
            return;
        };
        for t in tables {
            let _ = txn.open_untyped_table(t);
        }
    }));
    opened.map_err(|_| {
        StoreError::corrupt(
            "table catalog",
            std::io::Error::other("a table's definition cannot be read"),
        )
    })
}

/// A `&str` read from a table: redb's `&str` panics on bytes that are not UTF-8 (a damaged
/// page), which must end as a corrupt-table error like any other damage.
pub(crate) fn stored_text(what: &str, read: impl FnOnce() -> String) -> Result<String, StoreError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).map_err(|_| {
        StoreError::corrupt(
            what.to_string(),
            std::io::Error::other("stored text is not UTF-8"),
        )
    })
}
