//! A storage backend that lets a file be opened, repaired and checked without a single byte of
//! it changing, and only then written.
//!
//! redb writes to a file it opens for writing (it marks the file in use, repairs it after a
//! crash, rebuilds its allocator state), and on a damaged file it may panic half-way. So a
//! writable open goes through `GuardedBackend` in *dry* mode: reads come from the file, writes
//! and length changes land in memory (and are logged in order, syncs included), locks are the
//! file's real locks. Once the open and redb's integrity check have succeeded, `arm` replays the
//! logged writes onto the file in their order, with a sync wherever redb synced, and from then
//! on every write goes straight to the file. A check that fails leaves the file as it was.
//!
//! The same backend, never armed and without locks, is how a reader repairs a copy of a file
//! whose recorder was killed without touching it.

use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};
use std::collections::HashMap;
use std::fmt;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

/// Overlay granularity: redb's page size.
const PAGE: u64 = 4096;

/// The ENOSPC of Linux; a simulated full disk answers with the error the real one gives.
const ENOSPC: i32 = 28;

#[derive(Debug)]
enum Op {
    Write(u64, Vec<u8>),
    SetLen(u64),
    Sync,
}

#[derive(Debug, Default)]
struct Overlay {
    len: u64,
    /// Pages written since the open, by page number.
    pages: HashMap<u64, Vec<u8>>,
    log: Vec<Op>,
}

#[derive(Debug)]
enum Mode {
    Dry(Overlay),
    Live,
}

#[derive(Debug)]
struct Shared {
    mode: Mutex<Mode>,
    /// A length the file may not grow past (a full disk, simulated for tests).
    limit: Option<u64>,
}

/// Arms the backend once the database that owns it has been checked.
#[derive(Clone, Debug)]
pub struct Arm(Arc<Shared>);

pub struct GuardedBackend {
    file: FileBackend,
    shared: Arc<Shared>,
    /// Whether to take the file's real locks (a writer does; a repairing reader does not).
    lock: bool,
}

impl fmt::Debug for GuardedBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedBackend")
            .field("lock", &self.lock)
            .finish()
    }
}

impl GuardedBackend {
    /// A dry backend over `file`; `lock` takes the file's real locks.
    pub fn dry(
        file: std::fs::File,
        lock: bool,
        limit: Option<u64>,
    ) -> Result<(Self, Arm), std::io::Error> {
        let len = file.metadata()?.len();
        let file = FileBackend::new(file).map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Dry(Overlay {
                len,
                ..Default::default()
            })),
            limit,
        });
        Ok((
            GuardedBackend {
                file,
                shared: shared.clone(),
                lock,
            },
            Arm(shared),
        ))
    }

    fn over_limit(&self, end: u64) -> Result<(), std::io::Error> {
        match self.shared.limit {
            Some(l) if end > l => Err(std::io::Error::from_raw_os_error(ENOSPC)),
            _ => Ok(()),
        }
    }
}

impl Arm {
    /// Replays the writes made so far onto the file, in order, and goes live. An error leaves
    /// the file as a crash of redb at that point would: its last commit is intact.
    pub fn arm(&self, backend_file: &std::fs::File) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let mut mode = self.0.mode.lock().unwrap_or_else(|p| p.into_inner());
        let Mode::Dry(overlay) = &mut *mode else {
            return Ok(());
        };
        for op in &overlay.log {
            match op {
                Op::Write(off, data) => {
                    if let Some(l) = self.0.limit
                        && off + data.len() as u64 > l
                    {
                        return Err(std::io::Error::from_raw_os_error(ENOSPC));
                    }
                    backend_file.write_all_at(data, *off)?
                }
                Op::SetLen(len) => {
                    if let Some(l) = self.0.limit
                        && *len > l
                    {
                        return Err(std::io::Error::from_raw_os_error(ENOSPC));
                    }
                    backend_file.set_len(*len)?
                }
                Op::Sync => backend_file.sync_data()?,
            }
        }
        backend_file.sync_data()?;
        *mode = Mode::Live;
        Ok(())
    }
}

impl StorageBackend for GuardedBackend {
    fn len(&self) -> Result<u64, std::io::Error> {
        match &*self.shared.mode.lock().unwrap_or_else(|p| p.into_inner()) {
            Mode::Dry(o) => Ok(o.len),
            Mode::Live => self.file.len(),
        }
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        let mode = self.shared.mode.lock().unwrap_or_else(|p| p.into_inner());
        let Mode::Dry(o) = &*mode else {
            drop(mode);
            return self.file.read(offset, out);
        };
        let end = offset + out.len() as u64;
        if end > o.len {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "read past the end",
            ));
        }
        let file_len = self.file.len()?;
        let mut pos = offset;
        while pos < end {
            let page = pos / PAGE;
            let page_end = ((page + 1) * PAGE).min(end);
            let dst = &mut out[(pos - offset) as usize..(page_end - offset) as usize];
            match o.pages.get(&page) {
                Some(p) => {
                    let at = (pos - page * PAGE) as usize;
                    dst.copy_from_slice(&p[at..at + dst.len()]);
                }
                None => {
                    // From the file, zeros past its end (the overlay grew it).
                    let from_file = file_len.saturating_sub(pos).min(dst.len() as u64) as usize;
                    if from_file > 0 {
                        self.file.read(pos, &mut dst[..from_file])?;
                    }
                    dst[from_file..].fill(0);
                }
            }
            pos = page_end;
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.over_limit(len)?;
        let mut mode = self.shared.mode.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *mode {
            Mode::Dry(o) => {
                if len < o.len {
                    // Pages past the new end are gone; a page cut in two keeps its head.
                    o.pages.retain(|p, _| p * PAGE < len);
                    if let Some(p) = o.pages.get_mut(&(len / PAGE)) {
                        p[(len % PAGE) as usize..].fill(0);
                    }
                }
                o.len = len;
                o.log.push(Op::SetLen(len));
                Ok(())
            }
            Mode::Live => {
                drop(mode);
                self.file.set_len(len)
            }
        }
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        let mut mode = self.shared.mode.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *mode {
            Mode::Dry(o) => {
                o.log.push(Op::Sync);
                Ok(())
            }
            Mode::Live => {
                drop(mode);
                self.file.sync_data()
            }
        }
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.over_limit(offset + data.len() as u64)?;
        let mut mode = self.shared.mode.lock().unwrap_or_else(|p| p.into_inner());
        let Mode::Dry(o) = &mut *mode else {
            drop(mode);
            return self.file.write(offset, data);
        };
        let end = offset + data.len() as u64;
        let file_len = self.file.len()?;
        let mut pos = offset;
        while pos < end {
            let page = pos / PAGE;
            let page_end = ((page + 1) * PAGE).min(end);
            if !o.pages.contains_key(&page) {
                let mut p = vec![0u8; PAGE as usize];
                let start = page * PAGE;
                let from_file = file_len.saturating_sub(start).min(PAGE) as usize;
                if from_file > 0 && start < o.len {
                    self.file.read(start, &mut p[..from_file])?;
                }
                o.pages.insert(page, p);
            }
            let p = o.pages.get_mut(&page).expect("inserted above");
            let at = (pos - page * PAGE) as usize;
            let src = &data[(pos - offset) as usize..(page_end - offset) as usize];
            p[at..at + src.len()].copy_from_slice(src);
            pos = page_end;
        }
        o.len = o.len.max(end);
        o.log.push(Op::Write(offset, data.to_vec()));
        Ok(())
    }

    fn close(&self) -> Result<(), std::io::Error> {
        self.file.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        if !self.lock {
            return Err(BackendError::Unsupported);
        }
        self.file.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        if !self.lock {
            return Err(BackendError::Unsupported);
        }
        self.file.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        if !self.lock {
            return Err(BackendError::Unsupported);
        }
        self.file.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        if !self.lock {
            return Err(BackendError::Unsupported);
        }
        self.file.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        if !self.lock {
            return Err(BackendError::Unsupported);
        }
        self.file.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        if !self.lock {
            return Err(BackendError::Unsupported);
        }
        self.file.query_lock_range(start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_writes_are_seen_but_not_written_until_armed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 5000]).unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let (b, arm) = GuardedBackend::dry(f.try_clone().unwrap(), false, None).unwrap();
        b.write(4090, &[1u8; 20]).unwrap();
        b.set_len(9000).unwrap();
        b.sync_data().unwrap();
        let mut out = vec![0u8; 30];
        b.read(4080, &mut out).unwrap();
        assert_eq!(&out[..10], &[7u8; 10]);
        assert_eq!(&out[10..30], &[1u8; 20]);
        let mut tail = vec![9u8; 10];
        b.read(8000, &mut tail).unwrap();
        assert_eq!(tail, vec![0u8; 10], "grown by the overlay: zeros");
        assert_eq!(b.len().unwrap(), 9000);
        assert_eq!(std::fs::read(&path).unwrap(), vec![7u8; 5000], "untouched");
        arm.arm(&f).unwrap();
        let after = std::fs::read(&path).unwrap();
        assert_eq!(after.len(), 9000);
        assert_eq!(&after[4090..4110], &[1u8; 20]);
        b.write(0, &[2u8; 3]).unwrap();
        assert_eq!(
            &std::fs::read(&path).unwrap()[..3],
            &[2u8; 3],
            "live after arming"
        );
    }

    #[test]
    fn a_limit_answers_like_a_full_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"").unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let (b, arm) = GuardedBackend::dry(f.try_clone().unwrap(), false, Some(100)).unwrap();
        arm.arm(&f).unwrap();
        let e = b.write(90, &[0u8; 20]).unwrap_err();
        assert!(e.to_string().contains("No space left"), "{e}");
    }
}
