//! Writing many files with the guarantee of [`write_atomically`] (after a
//! crash each file is the old one or the new one, never torn) at the
//! disk's speed: one fsync per file costs one journal commit each, so a
//! batch writes every temp file first, makes them durable in one go (one
//! `syncfs` per file system), renames them all, then fsyncs each distinct
//! directory once, new directories into their parents too.
//!
//! [`write_atomically`]: crate::write_atomically

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::atomic::{parent_dir, temp_path};

/// Why a [`BatchWriter`] (or a sync helper) failed, saying which files are
/// now in place: none, the first `renamed`, or all of them.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Nothing was replaced: every file is as it was; the temp files are gone.
    #[error("{path}: cannot write: {source}; no file of the batch was changed")]
    NotWritten {
        /// The file (or directory) whose write failed.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The rename of `path` failed: the files before it in the batch are
    /// new, it and the rest are unchanged.
    #[error(
        "{path}: cannot rename into place: {source}; the {renamed} file(s) before it are new, it and the rest are unchanged"
    )]
    PartlyRenamed {
        /// The file whose rename failed.
        path: PathBuf,
        /// How many files were renamed before it.
        renamed: usize,
        /// What failed.
        source: io::Error,
    },
    /// Every new file is in place, but a folder could not be synced (even
    /// on a second try), so the renames may not survive a power loss.
    #[error(
        "{dir}: the new files are in place, but this folder could not be synced to disk: {source}"
    )]
    NotSynced {
        /// The folder.
        dir: PathBuf,
        /// What failed.
        source: io::Error,
    },
}

impl BatchError {
    /// True when at least one file of the batch was replaced.
    pub fn replaced(&self) -> bool {
        match self {
            BatchError::NotWritten { .. } => false,
            BatchError::PartlyRenamed { renamed, .. } => *renamed > 0,
            BatchError::NotSynced { .. } => true,
        }
    }
}

/// One file waiting for its rename.
struct Pending {
    temp: PathBuf,
    target: PathBuf,
}

/// Many atomic replacements made durable together. [`BatchWriter::add`]
/// writes a temp file beside each target (not synced, not visible);
/// [`BatchWriter::commit`] syncs, renames and syncs the folders. Dropped
/// before `commit`, it removes its temp files and nothing is replaced.
#[derive(Default)]
pub struct BatchWriter {
    pending: Vec<Pending>,
    targets: BTreeSet<PathBuf>,
    /// Directories this batch created: each is synced into its parent.
    created: Vec<PathBuf>,
    /// Directories already checked or created, so a folder of many files
    /// is looked at once.
    known_dirs: BTreeSet<PathBuf>,
}

impl BatchWriter {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many files are waiting for [`BatchWriter::commit`].
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Creates `dir` and its missing parents now; each new one is synced
    /// into its parent by [`BatchWriter::commit`].
    pub fn create_dir_all(&mut self, dir: &Path) -> Result<(), BatchError> {
        if !self.known_dirs.insert(dir.to_path_buf()) {
            return Ok(());
        }
        let mut missing = Vec::new();
        let mut at = dir;
        while fs::symlink_metadata(at).is_err() {
            missing.push(at.to_path_buf());
            match at.parent() {
                Some(p) if !p.as_os_str().is_empty() => at = p,
                _ => break,
            }
        }
        for new in missing.into_iter().rev() {
            match fs::create_dir(&new) {
                Ok(()) => self.created.push(new),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(BatchError::NotWritten { path: new, source }),
            }
        }
        Ok(())
    }

    /// Writes `bytes` into a temp file beside `path` (the folder must
    /// exist). Nothing is visible until [`BatchWriter::commit`]; a failure
    /// here leaves every file unchanged (the batch's temp files are removed
    /// when it is dropped). Adding one path twice is refused.
    pub fn add(&mut self, path: &Path, bytes: &[u8]) -> Result<(), BatchError> {
        let not_written = |source| BatchError::NotWritten {
            path: path.to_owned(),
            source,
        };
        if !self.targets.insert(path.to_owned()) {
            return Err(not_written(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the batch already writes this file",
            )));
        }
        let temp = temp_path(path);
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)?;
            self.pending.push(Pending {
                temp: temp.clone(),
                target: path.to_owned(),
            });
            // As write_atomically: the old file's permissions, a link
            // replaced and never followed.
            if let Ok(meta) = fs::symlink_metadata(path)
                && meta.is_file()
            {
                file.set_permissions(meta.permissions())?;
            }
            file.write_all(bytes)
        })();
        written.map_err(not_written)
    }

    /// Makes every temp file durable (one `syncfs` per file system), then
    /// renames each over its target in the order added, then syncs each
    /// distinct folder once (the targets' folders and the parents of new
    /// folders). See [`BatchError`] for what a failure leaves.
    pub fn commit(mut self) -> Result<(), BatchError> {
        let pending = std::mem::take(&mut self.pending);
        let dirs: BTreeSet<PathBuf> = pending
            .iter()
            .map(|p| parent_dir(&p.target))
            .chain(self.created.iter().map(|d| parent_dir(d)))
            .chain(self.created.iter().cloned())
            .collect();
        // Put back so that a failure before the renames removes the temps.
        self.pending = pending;
        let temps: Vec<&Path> = self.pending.iter().map(|p| p.temp.as_path()).collect();
        sync_file_systems(temps)?;
        let pending = std::mem::take(&mut self.pending);
        let mut iter = pending.into_iter().enumerate();
        while let Some((renamed, p)) = iter.next() {
            if let Err(source) = fs::rename(&p.temp, &p.target) {
                let _ = fs::remove_file(&p.temp);
                for (_, rest) in iter {
                    let _ = fs::remove_file(&rest.temp);
                }
                return Err(BatchError::PartlyRenamed {
                    path: p.target,
                    renamed,
                    source,
                });
            }
        }
        sync_dirs(dirs.iter().map(PathBuf::as_path))
    }
}

impl Drop for BatchWriter {
    fn drop(&mut self) {
        for p in &self.pending {
            let _ = fs::remove_file(&p.temp);
        }
    }
}

/// Makes everything written to the file systems holding `paths` durable:
/// one `syncfs` per distinct file system (device), however many paths.
/// Used before a commit point that must not overtake the data it names.
pub fn sync_file_systems<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Result<(), BatchError> {
    let mut devices: BTreeMap<u64, &Path> = BTreeMap::new();
    for path in paths {
        let meta = fs::metadata(path).map_err(|source| BatchError::NotWritten {
            path: path.to_owned(),
            source,
        })?;
        devices.entry(meta.dev()).or_insert(path);
    }
    for path in devices.values() {
        let synced = File::open(path).and_then(|f| rustix::fs::syncfs(&f).map_err(io::Error::from));
        synced.map_err(|source| BatchError::NotWritten {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// Fsyncs each distinct folder of `dirs` once (with one retry), so that
/// the renames and new entries in them survive a power loss.
pub fn sync_dirs<'a>(dirs: impl IntoIterator<Item = &'a Path>) -> Result<(), BatchError> {
    let unique: BTreeSet<&Path> = dirs.into_iter().collect();
    for dir in unique {
        let sync = || File::open(dir).and_then(|d| d.sync_all());
        sync()
            .or_else(|_| sync())
            .map_err(|source| BatchError::NotSynced {
                dir: dir.to_owned(),
                source,
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> BTreeSet<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_batch_replaces_every_file_and_creates_its_folders() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("old.json"), b"old").unwrap();
        let mut batch = BatchWriter::new();
        batch.create_dir_all(&dir.path().join("a/b")).unwrap();
        batch.add(&dir.path().join("old.json"), b"new").unwrap();
        for n in 0..100 {
            batch
                .add(
                    &dir.path().join(format!("a/b/{n}.json")),
                    n.to_string().as_bytes(),
                )
                .unwrap();
        }
        assert_eq!(batch.len(), 101);
        assert_eq!(fs::read(dir.path().join("old.json")).unwrap(), b"old");
        batch.commit().unwrap();
        assert_eq!(fs::read(dir.path().join("old.json")).unwrap(), b"new");
        assert_eq!(fs::read(dir.path().join("a/b/42.json")).unwrap(), b"42");
        assert_eq!(names(&dir.path().join("a/b")).len(), 100, "no temp left");
        assert_eq!(
            names(dir.path()),
            BTreeSet::from(["a".into(), "old.json".into()])
        );
    }

    #[test]
    fn a_batch_dropped_before_commit_changes_nothing_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("root.json"), b"old").unwrap();
        let mut batch = BatchWriter::new();
        batch.add(&dir.path().join("root.json"), b"new").unwrap();
        batch.add(&dir.path().join("other.json"), b"new").unwrap();
        drop(batch);
        assert_eq!(names(dir.path()), BTreeSet::from(["root.json".into()]));
        assert_eq!(fs::read(dir.path().join("root.json")).unwrap(), b"old");
    }

    #[test]
    fn a_failed_add_is_not_written_and_a_path_is_added_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.json");
        let mut batch = BatchWriter::new();
        batch.add(&path, b"one").unwrap();
        let err = batch.add(&path, b"two").unwrap_err();
        assert!(!err.replaced(), "{err}");
        let err = batch
            .add(&dir.path().join("missing/x.json"), b"x")
            .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("no file of the batch was changed"),
            "{err}"
        );
        batch.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
    }

    #[test]
    fn a_link_is_replaced_and_its_target_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        fs::write(&target, b"untouched").unwrap();
        let path = dir.path().join("root.json");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let mut batch = BatchWriter::new();
        batch.add(&path, b"new").unwrap();
        batch.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"untouched");
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
    }

    #[test]
    fn a_failed_rename_says_how_many_files_are_new_and_removes_the_other_temps() {
        let dir = tempfile::tempdir().unwrap();
        let mut batch = BatchWriter::new();
        batch.add(&dir.path().join("a.json"), b"a").unwrap();
        // A non-empty directory where the second file goes: its rename fails.
        fs::create_dir_all(dir.path().join("b.json/inside")).unwrap();
        batch.add(&dir.path().join("b.json"), b"b").unwrap();
        batch.add(&dir.path().join("c.json"), b"c").unwrap();
        let err = batch.commit().unwrap_err();
        assert!(
            matches!(err, BatchError::PartlyRenamed { renamed: 1, .. }),
            "{err}"
        );
        assert!(err.replaced());
        assert_eq!(
            names(dir.path()),
            BTreeSet::from(["a.json".into(), "b.json".into()])
        );
    }
}
