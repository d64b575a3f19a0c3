//! Writing a file so that a pulled stick or a full disk leaves either the
//! old file or the new one, never a torn one: temp file in the same
//! directory, fsync, rename over the target, fsync the directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why [`write_atomically`] failed, saying which file is now in place: a
/// message after the rename must not claim the old file is still there.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Nothing was replaced: the old file (or none) is as it was.
    #[error("cannot write: {0}; the file is unchanged")]
    NotWritten(io::Error),
    /// The new file is in place, but the rename may not survive a power
    /// loss: the directory could not be synced (even on a second try).
    #[error("the new file is in place, but its folder could not be synced to disk: {0}")]
    NotSynced(io::Error),
}

impl WriteError {
    /// The I/O error underneath.
    pub fn io(&self) -> &io::Error {
        match self {
            WriteError::NotWritten(e) | WriteError::NotSynced(e) => e,
        }
    }

    /// True when the new file replaced the old one.
    pub fn replaced(&self) -> bool {
        matches!(self, WriteError::NotSynced(_))
    }
}

impl From<WriteError> for io::Error {
    fn from(error: WriteError) -> Self {
        io::Error::new(error.io().kind(), error.to_string())
    }
}

/// Replaces `path` with `bytes` atomically. Before the rename, any error
/// removes the temp file and leaves `path` as it was
/// ([`WriteError::NotWritten`]); after it, the new file is in place and
/// only the directory sync can fail ([`WriteError::NotSynced`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let dir = parent_dir(path);
    let temp = temp_path(path);
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        // Keep the permissions the file had; a link is replaced, never
        // followed (`rename` replaces the entry itself), so its target's
        // permissions are not copied either.
        if let Ok(meta) = fs::symlink_metadata(path)
            && meta.is_file()
        {
            file.set_permissions(meta.permissions())?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(WriteError::NotWritten(e));
    }
    let sync = || File::open(&dir).and_then(|d| d.sync_all());
    sync().or_else(|_| sync()).map_err(WriteError::NotSynced)
}

pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `.<name>.tmp-<pid>` beside the target: same file system, so the rename is
/// atomic; hidden, so a half-written temp is not mistaken for metadata.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "metadata".into());
    parent_dir(path).join(format!(".{name}.tmp-{}", std::process::id()))
}

/// Removes from `dir` the temp files of this crate's writers
/// (`.<name>.tmp-<pid>`, see [`temp_path`]) whose process is gone and whose
/// `<name>` `wanted` accepts; returns how many. A killed writer leaves one
/// for good otherwise (nothing else ever renames it); a live writer's is
/// kept. Best effort: what cannot be listed or removed stays as it was.
pub fn remove_stale_temp_files(dir: &Path, wanted: impl Fn(&str) -> bool) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some((name, pid)) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix('.'))
            .and_then(|n| n.rsplit_once(".tmp-"))
        else {
            continue;
        };
        let gone = !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !Path::new("/proc").join(pid).exists();
        if gone
            && wanted(name)
            && entry.file_type().is_ok_and(|t| t.is_file())
            && fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temp_files_of_gone_writers_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join(".root.json.tmp-999999999");
        let live = dir
            .path()
            .join(format!(".root.json.tmp-{}", std::process::id()));
        let other = dir.path().join(".targets.json.tmp-999999999");
        let plain = dir.path().join("root.json");
        for file in [&gone, &live, &other, &plain] {
            fs::write(file, b"x").unwrap();
        }
        assert_eq!(remove_stale_temp_files(dir.path(), |n| n == "root.json"), 1);
        assert!(!gone.exists() && live.exists() && other.exists() && plain.exists());
        assert_eq!(remove_stale_temp_files(dir.path(), |_| true), 1);
        assert!(!other.exists() && live.exists() && plain.exists());
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temp_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.json");
        fs::write(&path, b"old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_link_is_replaced_and_its_target_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        fs::write(&target, b"untouched").unwrap();
        let path = dir.path().join("root.json");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"untouched");
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.json");
        fs::write(&path, b"old").unwrap();
        // A directory where the temp file should go makes the write fail.
        fs::create_dir(temp_path(&path)).unwrap();
        let err = write_atomically(&path, b"new").unwrap_err();
        assert!(!err.replaced());
        assert!(
            err.to_string().ends_with("; the file is unchanged"),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), b"old");
    }
}
