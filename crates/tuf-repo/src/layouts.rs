//! `tuf-repo export`: a repository of ours written in go-tuf's layout or
//! tuf-on-ci's (`import`, the other direction, is `crate::import`), and
//! the pieces both directions share: the layouts, the scratch directory
//! renamed into place at the end (a refusal leaves nothing behind), and
//! reads and copies that refuse symbolic links.
//!
//! - go-tuf: `repository/` (what is published, consistent-snapshot names,
//!   `targets/`) and `staged/` (metadata being prepared; target files
//!   under `staged/targets/<target path>`). Ours is the same `repository/`,
//!   so it is copied byte for byte both ways.
//! - tuf-on-ci: `metadata/root.json` (the latest root),
//!   `metadata/root_history/<N>.root.json` (every root),
//!   `metadata/targets.json` and `metadata/<role>.json` (the latest
//!   published, unversioned names) and the target files under
//!   `targets/<target path>`. `export` writes no snapshot or timestamp:
//!   tuf-on-ci makes those when it publishes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bundle_format::layout::MANIFEST_FILE;
use clap::{Args as ClapArgs, ValueEnum};
use metadata_io::{read_capped, write_atomically};
use tuf_metadata::{Limits, Metadata, Root};

use crate::clock::{AtArgs, now_or};
use crate::graph::{file_stem, published_versions};
use crate::layout::{Repo, load_any};
use crate::target_files::{MAX_TARGET_BYTES, published_blob_name, staged_blob};
use crate::verify;

/// The layouts other TUF tools keep a repository in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// go-tuf: `repository/` and `staged/`.
    #[value(name = "go-tuf")]
    GoTuf,
    /// tuf-on-ci: `metadata/`, `metadata/root_history/`, `targets/`.
    #[value(name = "tuf-on-ci")]
    TufOnCi,
}

/// Arguments of `export`.
#[derive(ClapArgs)]
pub struct ExportArgs {
    /// The repository directory.
    repo: PathBuf,
    /// The layout to write.
    #[arg(long, value_enum)]
    layout: Layout,
    /// The directory to write (absent or empty).
    #[arg(long, value_name = "dir")]
    out: PathBuf,
    #[command(flatten)]
    at: AtArgs,
}

/// Runs `export`.
pub fn run_export(args: &ExportArgs) -> Result<()> {
    let now = now_or(args.at);
    let repo = Repo::new(&args.repo);
    crate::init::refuse_non_empty(&args.out)?;
    // What is exported is what a client would accept, but an expired
    // timestamp or snapshot does not stop an export (cron may be late).
    let report = verify::check(&repo, None, now, verify::Expiry::OnlineMayHaveExpired)?;
    let scratch = Scratch::beside(&args.out)?;
    let count = match args.layout {
        Layout::GoTuf => export_go_tuf(&repo, scratch.path())?,
        Layout::TufOnCi => export_tuf_on_ci(&repo, &report, scratch.path())?,
    };
    scratch.finish(&args.out)?;
    say!(
        "exported {} files to {} ({} layout)",
        count,
        args.out.display(),
        layout_name(args.layout)
    );
    Ok(())
}

/// The layout's name on the command line.
pub(crate) fn layout_name(layout: Layout) -> &'static str {
    match layout {
        Layout::GoTuf => "go-tuf",
        Layout::TufOnCi => "tuf-on-ci",
    }
}

/// go-tuf: `repository/` as it is; `staged/` holds the staged metadata
/// whose version is not published yet, and the target files those list
/// that wait in our `staged/targets/<sha256>`, under their target paths.
fn export_go_tuf(repo: &Repo, out: &Path) -> Result<usize> {
    let mut count = copy_tree(&repo.published(), &out.join("repository"))?;
    let published = published_versions(repo)?;
    for (name, bytes, md) in staged_metadata(&repo.staged())? {
        let role = name.strip_suffix(".json").unwrap_or(&name);
        let version = md.signed().common().version;
        if published.get(role).is_some_and(|&p| p >= version) {
            continue;
        }
        write(&out.join("staged").join(&name), &bytes)?;
        count += 1;
        if let Ok(targets) = md.into_targets() {
            for (path, file) in &targets.signed().targets {
                let Some(sha256) = file.hashes.get("sha256") else {
                    continue;
                };
                let blob = staged_blob(repo, sha256);
                if blob.is_file() {
                    let bytes = read(&blob, MAX_TARGET_BYTES)?;
                    write(&out.join("staged/targets").join(path), &bytes)?;
                    count += 1;
                }
            }
        }
    }
    Ok(count)
}

/// tuf-on-ci: every root in `metadata/root_history/`, the latest as
/// `metadata/root.json`, each targets role the snapshot lists at its
/// published version under its plain name, and the target files.
fn export_tuf_on_ci(repo: &Repo, report: &verify::Report, out: &Path) -> Result<usize> {
    let metadata = out.join("metadata");
    let mut count = 0;
    // An imported repository's history may start above 1.
    let first = crate::layout::oldest_version(&repo.published(), "root")?.unwrap_or(1);
    for n in first..=report.root_version {
        let bytes = read(
            &repo.published_file(&format!("{n}.root.json")),
            Limits::ROOT.max_bytes,
        )?;
        write(
            &metadata.join(format!("root_history/{n}.root.json")),
            &bytes,
        )?;
        if n == report.root_version {
            write(&metadata.join("root.json"), &bytes)?;
        }
        count += 1;
    }
    for (name, entry) in &report.snapshot.meta {
        let role = name.strip_suffix(".json").unwrap_or(name);
        let stem = file_stem(role);
        let path = repo.published_file(&format!("{}.{stem}.json", entry.version));
        let (bytes, md) = load_any(&path)?;
        write(&metadata.join(format!("{stem}.json")), &bytes)?;
        count += 1;
        let targets = md
            .into_targets()
            .with_context(|| path.display().to_string())?;
        for (target, file) in &targets.signed().targets {
            let sha256 = file.hashes.get("sha256").with_context(|| {
                format!("{}: target {target} has no sha256 hash", path.display())
            })?;
            let blob = repo.published_file(&published_blob_name(target, sha256));
            write(
                &out.join("targets").join(target),
                &read(&blob, MAX_TARGET_BYTES)?,
            )?;
            count += 1;
        }
    }
    Ok(count)
}

/// This tool publishes consistent snapshots only.
pub(crate) fn consistent(file: &Path, root: &Root) -> Result<()> {
    if root.consistent_snapshot != Some(true) {
        bail!(
            "{}: root v{} does not use consistent snapshots, which tuf-repo publishes only",
            file.display(),
            root.common.version
        );
    }
    Ok(())
}

/// The metadata files directly in `staged/` (not the bundle manifest),
/// each parsed strictly: `(file name, bytes, metadata)`.
pub(crate) fn staged_metadata(staged: &Path) -> Result<Vec<(String, Vec<u8>, Metadata)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(staged) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot list", staged.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("{}: cannot list", staged.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // The manifest is not metadata.
        if !name.ends_with(".json") || name == MANIFEST_FILE || !entry.path().is_file() {
            continue;
        }
        let (bytes, md) = load_any(&entry.path())?;
        out.push((name, bytes, md));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Every regular file under `dir`; a symbolic link is refused by name
/// (an imported directory is untrusted input).
pub(crate) fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in
            std::fs::read_dir(&d).with_context(|| format!("{}: cannot list", d.display()))?
        {
            let entry = entry.with_context(|| format!("{}: cannot list", d.display()))?;
            let kind = entry
                .file_type()
                .with_context(|| format!("{}: cannot stat", entry.path().display()))?;
            if kind.is_symlink() {
                bail!("{}: a symbolic link; not copied", entry.path().display());
            } else if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Copies the tree `from` into `to` byte for byte; returns the file count.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<usize> {
    let files = files_under(from)?;
    for file in &files {
        let rel = file.strip_prefix(from).expect("under from");
        write(&to.join(rel), &read(file, MAX_TARGET_BYTES)?)?;
    }
    Ok(files.len())
}

/// Reads `path` (at most `max` bytes), naming it in errors.
pub(crate) fn read(path: &Path, max: usize) -> Result<Vec<u8>> {
    read_capped(path, max).with_context(|| path.display().to_string())
}

/// Writes `path` atomically, making its folder; errors name it.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    write_atomically(path, bytes).with_context(|| path.display().to_string())
}

/// A scratch directory beside a destination, removed unless
/// [`Scratch::finish`] renames it into place.
pub(crate) struct Scratch {
    path: PathBuf,
    done: bool,
}

impl Scratch {
    /// A new, empty scratch directory beside `dest`.
    pub(crate) fn beside(dest: &Path) -> Result<Scratch> {
        let dest = std::path::absolute(dest)
            .with_context(|| format!("{}: cannot resolve", dest.display()))?;
        let (Some(parent), Some(name)) = (dest.parent(), dest.file_name()) else {
            bail!("{}: not a directory name", dest.display());
        };
        std::fs::create_dir_all(parent)
            .with_context(|| format!("{}: cannot create", parent.display()))?;
        let path = parent.join(format!(
            ".{}.tuf-repo-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("{}: cannot remove", path.display()))?;
        }
        std::fs::create_dir(&path).with_context(|| format!("{}: cannot create", path.display()))?;
        Ok(Scratch { path, done: false })
    }

    /// The scratch directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the scratch directory to `dest` (absent, or empty: it is
    /// removed first).
    pub(crate) fn finish(mut self, dest: &Path) -> Result<()> {
        if dest.is_dir() {
            std::fs::remove_dir(dest)
                .with_context(|| format!("{}: cannot replace", dest.display()))?;
        }
        std::fs::rename(&self.path, dest)
            .with_context(|| format!("{}: cannot move into place", dest.display()))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_directory_vanishes_unless_finished() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let scratch = Scratch::beside(&dest).unwrap();
        let path = scratch.path().to_owned();
        write(&path.join("a/b.json"), b"{}").unwrap();
        drop(scratch);
        assert!(!path.exists() && !dest.exists());

        std::fs::create_dir(&dest).unwrap();
        let scratch = Scratch::beside(&dest).unwrap();
        write(&scratch.path().join("a/b.json"), b"{}").unwrap();
        scratch.finish(&dest).unwrap();
        assert_eq!(std::fs::read(dest.join("a/b.json")).unwrap(), b"{}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn symbolic_links_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        let err = format!("{:#}", files_under(dir.path()).unwrap_err());
        assert!(
            err.contains("link") && err.contains("symbolic link"),
            "{err}"
        );
    }
}
