//! Files the read commands write (`report --out`, `export`): whole or not at all, never over
//! the recording they read, never through a link planted where they write.
//!
//! Each file is written into a new temporary file beside it, then renamed over the name: a
//! full disk leaves the earlier file as it was, and a symbolic link at the name is replaced,
//! not followed. A pipe or device at the name (`/dev/stdout`, `>(wc -c)`, a FIFO), or a link
//! to one, is written to as it is; so is a file in a folder no file can be made in. The file gets the recording's permissions (0600 for every file `record`
//! makes), whatever the umask says: it holds what the recording holds.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// True when `a` and `b` name one file (after links), as far as can be told.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}

/// Refuses a target that is the recording itself (or a link to it) or a folder.
pub fn check_target(path: &Path, db: &Path) -> io::Result<()> {
    if same_file(path, db) {
        return Err(io::Error::other("it is the recording itself"));
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(io::Error::other("it is a folder"));
    }
    Ok(())
}

fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let tmp = format!(".{name}.{}.tmp", std::process::id());
    dir.map_or_else(|| PathBuf::from(&tmp), |d| d.join(&tmp))
}

/// Writes into what is at `path` as it is: a pipe, a terminal, `/dev/stdout`, or a file in a
/// folder we may not create files in.
fn write_in_place(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
) -> io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)?;
    fill(&mut f)?;
    f.flush()
}

/// Writes `path` through `fill`, whole or not at all (see the module doc). What is not a
/// regular file there (a pipe, a device, a link to one) is written to as it is, and so is a
/// regular file in a folder where no file can be made beside it.
pub fn write_file(
    path: &Path,
    db: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
) -> io::Result<()> {
    check_target(path, db)?;
    let target = std::fs::metadata(path);
    if target.as_ref().is_ok_and(|m| !m.is_file()) {
        return write_in_place(path, fill);
    }
    let tmp = temp_beside(path);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let mode = std::fs::metadata(db).map_or(0o600, |m| m.permissions().mode() & 0o777);
        opts.mode(mode);
        let _ = std::fs::remove_file(&tmp);
        let mut f = match opts.open(&tmp) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied && target.is_ok() => {
                return write_in_place(path, fill);
            }
            Err(e) => return Err(e),
        };
        let done = f
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .and_then(|()| fill(&mut f))
            .and_then(|()| f.flush())
            .and_then(|()| f.sync_all())
            .and_then(|()| std::fs::rename(&tmp, path));
        if done.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        done
    }
    #[cfg(not(unix))]
    {
        let _ = std::fs::remove_file(&tmp);
        let mut f = opts.open(&tmp)?;
        let done = fill(&mut f)
            .and_then(|()| f.flush())
            .and_then(|()| std::fs::rename(&tmp, path));
        if done.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        done
    }
}

/// [`write_file`] of bytes.
pub fn write_bytes(path: &Path, db: &Path, bytes: &[u8]) -> io::Result<()> {
    write_file(path, db, |f| f.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn never_over_the_recording_never_through_a_link() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("r.redb");
        std::fs::write(&db, b"recording").unwrap();
        let e = write_bytes(&db, &db, b"x").unwrap_err();
        assert!(e.to_string().contains("recording itself"), "{e}");
        let link = d.path().join("alias.json");
        std::os::unix::fs::symlink(&db, &link).unwrap();
        assert!(write_bytes(&link, &db, b"x").is_err());
        assert_eq!(std::fs::read(&db).unwrap(), b"recording");
        // A link to another file is replaced, the file it points at left alone.
        let victim = d.path().join("victim.txt");
        std::fs::write(&victim, b"victim").unwrap();
        let planted = d.path().join("snapshots.jsonl");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_bytes(&planted, &db, b"rows").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"victim");
        assert_eq!(std::fs::read(&planted).unwrap(), b"rows");
        assert!(!std::fs::symlink_metadata(&planted).unwrap().is_symlink());
        // A failure leaves the earlier file whole and no temporary file behind.
        let e = write_file(&planted, &db, |_| Err(io::Error::other("disk full"))).unwrap_err();
        assert_eq!(e.to_string(), "disk full");
        assert_eq!(std::fs::read(&planted).unwrap(), b"rows");
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(names.len(), 4, "{names:?}");
        assert!(write_bytes(d.path(), &db, b"x").is_err(), "a folder");
        // The output gets the recording's permissions, whatever was there before.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
        let out = d.path().join("report.md");
        std::fs::write(&out, b"old").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o666)).unwrap();
        write_bytes(&out, &db, b"new").unwrap();
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o640);
    }

    #[cfg(unix)]
    #[test]
    fn a_pipe_is_written_to_not_replaced() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("r.redb");
        std::fs::write(&db, b"recording").unwrap();
        let fifo = d.path().join("out.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).unwrap())
        };
        write_bytes(&fifo, &db, b"page").unwrap();
        assert_eq!(reader.join().unwrap(), b"page");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        // A link to the pipe: the same.
        let link = d.path().join("link.md");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        let reader = std::thread::spawn(move || std::fs::read(&fifo).unwrap());
        write_bytes(&link, &db, b"again").unwrap();
        assert_eq!(reader.join().unwrap(), b"again");
    }
}
