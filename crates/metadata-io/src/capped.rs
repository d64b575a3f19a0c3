//! Reading a file with a size cap: at most `limit + 1` bytes are ever read,
//! and only from a regular file. A FIFO, device or socket is refused before
//! any read (and opened, if at all, without blocking), so a hostile path
//! such as `/dev/zero` or a named pipe cannot hang or exhaust the reader.
//!
//! [`read_regular_nofollow`] is the appliance's reader for files on a
//! stick: it also refuses a symbolic link as the last component (the
//! directories on the way are the caller's to check, with [`real_directory`]).

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use rustix::fs::OFlags;
use rustix::io::Errno;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened (missing, not permitted, …). The I/O
    /// error is shown in the message, not chained, so an error chain prints
    /// it once.
    #[error("cannot open: {0}")]
    Open(io::Error),
    /// Reading failed part-way.
    #[error("cannot read: {0}")]
    Read(io::Error),
    /// The file is longer than the cap for this kind of file.
    #[error("file is over the {limit}-byte limit for this metadata")]
    TooLarge {
        /// The cap.
        limit: usize,
    },
    /// The path is a symbolic link where a plain file or folder must be:
    /// on a stick, a link could lead anywhere on the appliance.
    #[error("is a symbolic link; refused (only plain files and folders are read)")]
    Symlink,
    /// The path is a FIFO, device, socket or folder, not a regular file:
    /// reading it could block forever or never end.
    #[error("is not a regular file ({0}); refused")]
    NotRegular(&'static str),
    /// A folder on the way is not a folder.
    #[error("is not a folder ({0}); refused")]
    NotDirectory(&'static str),
    /// The file or folder is on another file system than the stick (a
    /// mount point inside it).
    #[error("is on another file system than the stick; refused")]
    OtherFileSystem,
}

/// What kind of file `meta` describes, for messages: "a FIFO", …
pub fn kind(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_file() {
        "a regular file"
    } else {
        "an unknown kind of file"
    }
}

fn regular(meta: &Metadata) -> Result<(), ReadError> {
    if meta.file_type().is_symlink() {
        return Err(ReadError::Symlink);
    }
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind(meta)));
    }
    Ok(())
}

/// Opens `path` read-only without blocking (a FIFO would otherwise wait for
/// a writer), with `extra` open flags, and checks with `fstat` that what was
/// opened is a regular file — the same one `before` (from a `stat` before the
/// open) described, so a device is never opened at all and a swap between
/// the two calls is noticed.
fn open_checked(path: &Path, before: &Metadata, extra: OFlags) -> Result<File, ReadError> {
    regular(before)?;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlags::NONBLOCK | OFlags::NOCTTY | extra).bits() as i32)
        .open(path)
        .map_err(open_error)?;
    let meta = file.metadata().map_err(ReadError::Open)?;
    regular(&meta)?;
    if (meta.dev(), meta.ino()) != (before.dev(), before.ino()) {
        return Err(ReadError::Open(io::Error::other(
            "the file was replaced while it was opened",
        )));
    }
    Ok(file)
}

/// `ELOOP` from an `O_NOFOLLOW` open means the last component is a link.
fn open_error(error: io::Error) -> ReadError {
    if error.raw_os_error() == Some(Errno::LOOP.raw_os_error()) {
        ReadError::Symlink
    } else {
        ReadError::Open(error)
    }
}

/// Reads what `file` holds, refusing more than `limit` bytes: by its size
/// first, then by never reading past `limit + 1`.
fn read_all(file: File, limit: usize) -> Result<Vec<u8>, ReadError> {
    let size = file.metadata().map_err(ReadError::Read)?.len();
    if size > limit as u64 {
        return Err(ReadError::TooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Read)?;
    if bytes.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Reads at most `limit` bytes of the regular file at `path` (symbolic
/// links followed: the online tool's own files); a longer file, a FIFO, a
/// device or a socket is refused before any read.
pub fn read_capped(path: &Path, limit: usize) -> Result<Vec<u8>, ReadError> {
    let before = std::fs::metadata(path).map_err(ReadError::Open)?;
    read_all(open_checked(path, &before, OFlags::empty())?, limit)
}

/// Opens the regular file at `path` for reading without following a
/// symbolic link in its last component (`O_NOFOLLOW`) and without blocking
/// (`O_NONBLOCK`), close-on-exec: how the appliance opens a file on a stick.
pub fn open_regular_nofollow(path: &Path) -> Result<File, ReadError> {
    let before = std::fs::symlink_metadata(path).map_err(ReadError::Open)?;
    open_checked(path, &before, OFlags::NOFOLLOW)
}

/// Reads at most `limit` bytes of `path`, opened as
/// [`open_regular_nofollow`] does: a link, FIFO, device, socket or a file
/// over the cap is refused before any byte is read.
pub fn read_regular_nofollow(path: &Path, limit: usize) -> Result<Vec<u8>, ReadError> {
    read_all(open_regular_nofollow(path)?, limit)
}

/// Checks that `path` is a real folder (not a link to one) and, given the
/// device of the stick's folder, on that same file system; returns its
/// device. A stick's own folders are checked so before anything in them is
/// read, since [`read_regular_nofollow`] only looks at the last component.
pub fn real_directory(path: &Path, device: Option<u64>) -> Result<u64, ReadError> {
    let meta = std::fs::symlink_metadata(path).map_err(ReadError::Open)?;
    if meta.file_type().is_symlink() {
        return Err(ReadError::Symlink);
    }
    if !meta.is_dir() {
        return Err(ReadError::NotDirectory(kind(&meta)));
    }
    if device.is_some_and(|d| d != meta.dev()) {
        return Err(ReadError::OtherFileSystem);
    }
    Ok(meta.dev())
}

/// Opens `path` to append to it, never following a symbolic link in its
/// last component, never blocking on a FIFO, close-on-exec; `create_new`
/// creates it (and refuses one that appeared), else it must exist. What was
/// opened must be a regular file. For the ceremony transcript on the stick.
pub fn open_append_nofollow(path: &Path, create_new: bool) -> Result<File, ReadError> {
    let mut options = OpenOptions::new();
    options
        .append(true)
        .custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY).bits() as i32);
    if create_new {
        options.create_new(true);
    } else {
        // Never open a device or FIFO for writing, even without blocking.
        regular(&std::fs::symlink_metadata(path).map_err(ReadError::Open)?)?;
    }
    let file = options.open(path).map_err(open_error)?;
    regular(&file.metadata().map_err(ReadError::Open)?)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::time::{Duration, Instant};

    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    }

    #[test]
    fn a_file_over_the_cap_is_refused_and_one_at_the_cap_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_capped(&path, 5).unwrap(), b"12345");
        assert_eq!(read_regular_nofollow(&path, 5).unwrap(), b"12345");
        for err in [
            read_capped(&path, 4).unwrap_err(),
            read_regular_nofollow(&path, 4).unwrap_err(),
        ] {
            assert_eq!(
                err.to_string(),
                "file is over the 4-byte limit for this metadata"
            );
        }
        let err = read_capped(&dir.path().join("missing"), 4).unwrap_err();
        assert!(err.to_string().starts_with("cannot open: "), "{err}");
        assert!(std::error::Error::source(&err).is_none(), "said once");
    }

    #[test]
    fn a_symlink_is_refused_by_the_stick_reader_and_followed_by_the_other() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"secret").unwrap();
        let link = dir.path().join("link");
        symlink(&target, &link).unwrap();
        let err = read_regular_nofollow(&link, 100).unwrap_err();
        assert!(matches!(err, ReadError::Symlink), "{err}");
        assert_eq!(
            err.to_string(),
            "is a symbolic link; refused (only plain files and folders are read)"
        );
        assert!(matches!(
            open_append_nofollow(&link, false).unwrap_err(),
            ReadError::Symlink
        ));
        assert!(open_append_nofollow(&link, true).is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"secret");
        // The online tool's reader follows links to regular files.
        assert_eq!(read_capped(&link, 100).unwrap(), b"secret");
    }

    #[test]
    fn a_fifo_is_refused_at_once_by_every_reader() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("root.json");
        mkfifo(&fifo);
        let started = Instant::now();
        for err in [
            read_regular_nofollow(&fifo, 100).unwrap_err(),
            read_capped(&fifo, 100).unwrap_err(),
            open_append_nofollow(&fifo, false).unwrap_err(),
        ] {
            assert_eq!(err.to_string(), "is not a regular file (a FIFO); refused");
        }
        // No writer ever comes: a blocking open would never return.
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_device_is_refused_without_being_read() {
        for err in [
            read_capped(Path::new("/dev/zero"), 100).unwrap_err(),
            read_regular_nofollow(Path::new("/dev/zero"), 100).unwrap_err(),
            open_append_nofollow(Path::new("/dev/null"), false).unwrap_err(),
        ] {
            assert_eq!(
                err.to_string(),
                "is not a regular file (a character device); refused"
            );
        }
        let err = read_capped(Path::new("/tmp"), 100).unwrap_err();
        assert_eq!(err.to_string(), "is not a regular file (a folder); refused");
    }

    #[test]
    fn folders_must_be_real_and_on_the_same_file_system() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("staged");
        std::fs::create_dir(&real).unwrap();
        let dev = real_directory(dir.path(), None).unwrap();
        assert_eq!(real_directory(&real, Some(dev)).unwrap(), dev);
        let link = dir.path().join("linked");
        symlink(&real, &link).unwrap();
        assert!(matches!(
            real_directory(&link, Some(dev)).unwrap_err(),
            ReadError::Symlink
        ));
        std::fs::write(dir.path().join("file"), b"").unwrap();
        assert_eq!(
            real_directory(&dir.path().join("file"), Some(dev))
                .unwrap_err()
                .to_string(),
            "is not a folder (a regular file); refused"
        );
        assert!(matches!(
            real_directory(&real, Some(dev.wrapping_add(1))).unwrap_err(),
            ReadError::OtherFileSystem
        ));
    }

    #[test]
    fn appending_creates_a_new_file_or_opens_an_existing_regular_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("transcript.jsonl");
        assert!(open_append_nofollow(&path, false).is_err(), "must exist");
        open_append_nofollow(&path, true).unwrap();
        assert!(open_append_nofollow(&path, true).is_err(), "appeared");
        use std::io::Write;
        open_append_nofollow(&path, false)
            .unwrap()
            .write_all(b"x\n")
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"x\n");
    }
}
