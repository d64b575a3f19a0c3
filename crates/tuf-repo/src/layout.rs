//! The repository directory (docs/repository-layout.md): where each file
//! lives, which versions are published, and strict loading of metadata with
//! the file named in every error.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tuf_metadata::{Limits, Metadata, Root};

use metadata_io::read_capped;

/// A repository directory on the releaser's workstation.
#[derive(Clone, Debug)]
pub struct Repo {
    dir: PathBuf,
}

/// The published metadata and targets, inside a repository directory.
pub const PUBLISHED_DIR: &str = "repository";

impl Repo {
    /// The repository at `dir` (nothing is checked yet).
    pub fn new(dir: &Path) -> Self {
        Repo {
            dir: dir.to_owned(),
        }
    }

    /// `<repo>/<name>`: the repository's own files (configuration, lock,
    /// records), beside `repository/` and `staged/`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `repository/`: what is published.
    pub fn published(&self) -> PathBuf {
        self.dir.join(PUBLISHED_DIR)
    }

    /// `staged/`: work in progress.
    pub fn staged(&self) -> PathBuf {
        self.dir.join("staged")
    }

    /// `staged/<name>`.
    pub fn staged_file(&self, name: &str) -> PathBuf {
        self.staged().join(name)
    }

    /// `repository/<name>`.
    pub fn published_file(&self, name: &str) -> PathBuf {
        self.published().join(name)
    }

    /// The highest `V` of the published `V.<role>.json` files, if any.
    pub fn latest_version(&self, role: &str) -> Result<Option<u64>> {
        latest_version(&self.published(), role)
    }

    /// Where a client's trust starts when none is pinned:
    /// `repository/1.root.json`, or the oldest `N.root.json` published when
    /// the history starts later (an imported checkout that holds roots
    /// 5..N only).
    pub fn first_root_file(&self) -> Result<PathBuf> {
        let first = self.published_file("1.root.json");
        if first.exists() {
            return Ok(first);
        }
        Ok(match oldest_version(&self.published(), "root")? {
            Some(n) => self.published_file(&format!("{n}.root.json")),
            None => first,
        })
    }

    /// The latest trusted root (`repository/N.root.json`), if any.
    pub fn latest_root(&self) -> Result<Option<Metadata<Root>>> {
        match self.latest_version("root")? {
            None => Ok(None),
            Some(n) => load_root(&self.published_file(&format!("{n}.root.json"))).map(Some),
        }
    }
}

/// The highest `V` among `dir/V.<role>.json`.
pub fn latest_version(dir: &Path, role: &str) -> Result<Option<u64>> {
    Ok(versions(dir, role)?.last().copied())
}

/// The lowest `V` among `dir/V.<role>.json`.
pub fn oldest_version(dir: &Path, role: &str) -> Result<Option<u64>> {
    Ok(versions(dir, role)?.first().copied())
}

/// Every `V` among `dir/V.<role>.json` (no leading zeros), ascending.
pub fn versions(dir: &Path, role: &str) -> Result<Vec<u64>> {
    let suffix = format!(".{role}.json");
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot list", dir.display())),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("{}: cannot list", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let version = name
            .strip_suffix(&suffix)
            .filter(|v| !v.starts_with('0'))
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(v) = version {
            found.push(v);
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Strictly reads root metadata; errors name the file.
pub fn load_root(path: &Path) -> Result<Metadata<Root>> {
    let name = path.display().to_string();
    let bytes = read_capped(path, Limits::ROOT.max_bytes).with_context(|| name.clone())?;
    Metadata::parse_root(&bytes).with_context(|| name)
}

/// Strictly reads metadata of any type, returning the bytes as well.
pub fn load_any(path: &Path) -> Result<(Vec<u8>, Metadata)> {
    let name = path.display().to_string();
    let bytes = read_capped(path, Limits::ANY.max_bytes).with_context(|| name.clone())?;
    let metadata = Metadata::parse(&bytes, &Limits::ANY).with_context(|| name)?;
    Ok((bytes, metadata))
}

/// Reads an existing root as clients do ([`tuf_metadata::ReadMode::Existing`]):
/// for importing metadata someone else wrote.
pub fn load_root_existing(path: &Path) -> Result<Metadata<Root>> {
    let name = path.display().to_string();
    let bytes = read_capped(path, Limits::EXISTING_ROOT.max_bytes).with_context(|| name.clone())?;
    Metadata::parse_root_existing(&bytes).with_context(|| name)
}

/// Reads existing metadata of any type as clients do, returning the bytes.
pub fn load_any_existing(path: &Path) -> Result<(Vec<u8>, Metadata)> {
    let name = path.display().to_string();
    let bytes = read_capped(path, Limits::EXISTING_ANY.max_bytes).with_context(|| name.clone())?;
    let metadata = Metadata::parse(&bytes, &Limits::EXISTING_ANY).with_context(|| name)?;
    Ok((bytes, metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_version_ignores_other_files_and_leading_zeros() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "1.root.json",
            "10.root.json",
            "2.root.json",
            "root.json",
            "011.root.json",
            "3.targets.json",
        ] {
            std::fs::write(dir.path().join(name), b"{}").unwrap();
        }
        assert_eq!(latest_version(dir.path(), "root").unwrap(), Some(10));
        assert_eq!(oldest_version(dir.path(), "root").unwrap(), Some(1));
        assert_eq!(versions(dir.path(), "root").unwrap(), [1, 2, 10]);
        assert_eq!(latest_version(dir.path(), "targets").unwrap(), Some(3));
        assert_eq!(latest_version(dir.path(), "snapshot").unwrap(), None);
        assert_eq!(
            latest_version(&dir.path().join("missing"), "root").unwrap(),
            None
        );
    }
}
