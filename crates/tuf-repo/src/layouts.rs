//! `tuf-repo export` and `tuf-repo import`: a repository in go-tuf's layout
//! or tuf-on-ci's, out of ours and into a new one of ours.
//!
//! - go-tuf: `repository/` (what is published, consistent-snapshot names,
//!   `targets/`) and `staged/` (metadata being prepared; target files
//!   under `staged/targets/<target path>`). Ours is the same `repository/`,
//!   so it is copied byte for byte both ways.
//! - tuf-on-ci: `metadata/root.json` (the latest root),
//!   `metadata/root_history/<N>.root.json` (every root),
//!   `metadata/targets.json` and `metadata/<role>.json` (the latest
//!   published, unversioned names) and the target files under
//!   `targets/<target path>`. No snapshot or timestamp: tuf-on-ci makes
//!   those when it publishes, and `import` makes the first ones with the
//!   configured online keys.
//!
//! Both directions write into a scratch directory beside the destination
//! and rename it into place at the end, so a refusal leaves nothing behind.
//! `import` checks everything before the first write: the root chain from
//! v1 (`RootChain`), the targets against root, each delegated role
//! against its delegator, the target files, and that the online keys are
//! the ones root lists for snapshot and timestamp.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bundle_format::layout::MANIFEST_FILE;
use clap::{Args as ClapArgs, ValueEnum};
use metadata_io::{read_capped, write_atomically};
use time::OffsetDateTime;
use tuf_metadata::files::sha256_hex;
use tuf_metadata::{ChainLimits, Limits, Metadata, Root, RootChain, Targets};

use crate::clock::{AtArgs, now_or};
use crate::commit::check_target_file;
use crate::config::{self, Config};
use crate::graph::{MAX_DEPTH, file_stem, published_versions, role_names};
use crate::init::ExpiryArgs;
use crate::layout::{Repo, latest_version, load_any};
use crate::online::OnlineSigner;
use crate::online_roles::{next_snapshot, next_timestamp, require};
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

/// Arguments of `import`.
#[derive(ClapArgs)]
pub struct ImportArgs {
    /// The directory in the other tool's layout.
    dir: PathBuf,
    /// Its layout.
    #[arg(long, value_enum)]
    layout: Layout,
    /// The new repository directory (absent or empty).
    repo: PathBuf,
    /// The online snapshot key's age file (root must list its key for snapshot).
    #[arg(long, value_name = "file.age")]
    online_snapshot_age: PathBuf,
    /// The online timestamp key's age file (root must list its key for timestamp).
    #[arg(long, value_name = "file.age")]
    online_timestamp_age: PathBuf,
    #[command(flatten)]
    expiry: ExpiryArgs,
    /// The repository's name in ceremony manifests (default: directory name).
    #[arg(long)]
    name: Option<String>,
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

fn layout_name(layout: Layout) -> &'static str {
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
    for n in 1..=report.root_version {
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

/// Runs `import`.
pub fn run_import(args: &ImportArgs) -> Result<()> {
    let now = now_or(args.at);
    crate::init::refuse_non_empty(&args.repo)?;
    let config = crate::init::new_config(
        &args.repo,
        args.name.clone(),
        args.expiry.to_expiry(),
        Some(&args.online_snapshot_age),
        Some(&args.online_timestamp_age),
    )?;
    let scratch = Scratch::beside(&args.repo)?;
    match args.layout {
        Layout::GoTuf => import_go_tuf(&args.dir, &config, scratch.path(), now)?,
        Layout::TufOnCi => import_tuf_on_ci(&args.dir, &config, scratch.path(), now)?,
    }
    write(
        &scratch.path().join(config::FILE_NAME),
        config
            .to_toml(&args.repo.join(config::FILE_NAME))?
            .as_bytes(),
    )?;
    std::fs::create_dir_all(scratch.path().join("staged"))
        .with_context(|| format!("{}: cannot create", scratch.path().display()))?;
    scratch.finish(&args.repo)?;
    say!(
        "imported {} ({} layout) into {}",
        args.dir.display(),
        layout_name(args.layout),
        args.repo.display()
    );
    Ok(())
}

/// go-tuf: `repository/` is verified in place as a client would (expired
/// online roles reported, not refused: `tuf-repo snapshot` renews them),
/// then copied as it is; each staged metadata file must parse strictly and
/// is copied as it is; staged target files are stored by content.
fn import_go_tuf(dir: &Path, config: &Config, out: &Path, now: OffsetDateTime) -> Result<()> {
    let source = Repo::new(dir);
    if !source.published().is_dir() {
        bail!(
            "{}: missing; a go-tuf layout has repository/ (and staged/)",
            source.published().display()
        );
    }
    verify::check(&source, None, now, verify::Expiry::OnlineMayHaveExpired)?;
    let root = source.latest_root()?.expect("verify found the roots");
    consistent(&source.published_file("root.json"), root.signed())?;
    check_online(out, config, root.signed())?;
    let staged = staged_metadata(&source.staged())?;
    let mut blobs = Vec::new();
    let staged_targets = source.staged().join("targets");
    if staged_targets.is_dir() {
        for file in files_under(&staged_targets)? {
            let bytes = read(&file, MAX_TARGET_BYTES)?;
            blobs.push((sha256_hex(&bytes), bytes));
        }
    }
    // Everything is checked: now the copy.
    copy_tree(&source.published(), &out.join("repository"))?;
    for (name, bytes, _) in staged {
        write(&out.join("staged").join(name), &bytes)?;
    }
    let repo = Repo::new(out);
    for (sha256, bytes) in blobs {
        write(&staged_blob(&repo, &sha256), &bytes)?;
    }
    Ok(())
}

/// One targets-type role read from a tuf-on-ci `metadata/` directory.
struct Imported {
    role: String,
    bytes: Vec<u8>,
    targets: Targets,
}

/// tuf-on-ci: every check first, then `repository/` written: the roots
/// (`N.root.json`, `root.json`), target files, `V.targets.json` and
/// `V.<role>.json`, and snapshot v1 and timestamp v1 signed with the
/// online keys.
fn import_tuf_on_ci(dir: &Path, config: &Config, out: &Path, now: OffsetDateTime) -> Result<()> {
    let metadata = dir.join("metadata");
    let (roots, root) = root_history(&metadata, now)?;
    consistent(&metadata.join("root.json"), &root)?;

    // targets.json against root, then each delegated role against its delegator.
    let path = metadata.join("targets.json");
    let file = path.display().to_string();
    let bytes = read(&path, Limits::ANY.max_bytes)?;
    let top = Metadata::parse(&bytes, &Limits::ANY)
        .and_then(|m| Ok(m.into_targets()?))
        .with_context(|| file.clone())?;
    let version = top.signed().common.version;
    require(
        &root,
        "targets",
        &top,
        &format!("{file}: targets v{version}"),
    )?;
    unexpired(&file, top.signed(), now)?;
    let mut roles = vec![Imported {
        role: "targets".into(),
        bytes,
        targets: top.signed().clone(),
    }];
    let mut seen = BTreeSet::from(["targets".to_owned()]);
    let mut queue = VecDeque::from([(0usize, 0usize)]);
    let mut loaded: BTreeMap<String, usize> = BTreeMap::new();
    while let Some((i, depth)) = queue.pop_front() {
        let parent = roles[i].targets.clone();
        let by = format!("{} v{}", roles[i].role, parent.common.version);
        let Some(delegations) = &parent.delegations else {
            continue;
        };
        let ring = tuf_metadata::KeyRing::new(&delegations.keys);
        for name in role_names(delegations) {
            let path = metadata.join(format!("{}.json", file_stem(&name)));
            let file = path.display().to_string();
            let j = match loaded.get(&name) {
                Some(&j) => j,
                None => {
                    if !seen.insert(name.clone()) || depth + 1 > MAX_DEPTH {
                        bail!(
                            "{file}: {by} delegates to {name:?}, which is the top-level role or deeper than {MAX_DEPTH} levels"
                        );
                    }
                    if !path.is_file() {
                        bail!("{file}: missing; {by} delegates to {name:?}");
                    }
                    let bytes = read(&path, Limits::ANY.max_bytes)?;
                    let md = Metadata::parse(&bytes, &Limits::ANY)
                        .and_then(|m| Ok(m.into_targets()?))
                        .with_context(|| file.clone())?;
                    unexpired(&file, md.signed(), now)?;
                    roles.push(Imported {
                        role: name.clone(),
                        bytes,
                        targets: md.signed().clone(),
                    });
                    loaded.insert(name.clone(), roles.len() - 1);
                    queue.push_back((roles.len() - 1, depth + 1));
                    roles.len() - 1
                }
            };
            let md = Metadata::parse(&roles[j].bytes, &Limits::ANY)
                .and_then(|m| Ok(m.into_targets()?))
                .with_context(|| file.clone())?;
            let keys = delegations.role_keys(&name).expect("listed here");
            let report = ring.check(keys, md.signed_bytes(), md.signatures());
            if !report.is_met() {
                bail!(
                    "{file}: {name} v{}: threshold of {by}'s delegation not met: {report} distinct keys",
                    md.signed().common.version
                );
            }
        }
    }

    // The target files, by target path, checked against every listing.
    let mut blobs = Vec::new();
    for role in &roles {
        for (target, listed) in &role.targets.targets {
            let path = dir.join("targets").join(target);
            let shown = path.display().to_string();
            let Some(sha256) = listed.hashes.get("sha256") else {
                bail!(
                    "{}: {} lists target {target} without a sha256 hash, which this tool names files by",
                    metadata
                        .join(format!("{}.json", file_stem(&role.role)))
                        .display(),
                    role.role
                );
            };
            let bytes = read(&path, MAX_TARGET_BYTES)
                .with_context(|| format!("target {target} of {}", role.role))?;
            check_target_file(&shown, target, listed, &role.role, &bytes)?;
            blobs.push((published_blob_name(target, sha256), bytes));
        }
    }

    // The online keys, then snapshot v1 and timestamp v1, before any write.
    check_online(out, config, &root)?;
    let repo = Repo::new(out);
    let updates: Vec<(String, u64)> = roles
        .iter()
        .map(|r| (format!("{}.json", r.role), r.targets.common.version))
        .collect();
    let snapshot = next_snapshot(&repo, out, config, &root, &updates, now)?;
    let timestamp = next_timestamp(
        &repo,
        out,
        config,
        &root,
        snapshot.version,
        &snapshot.bytes,
        now,
    )?;

    let published = repo.published();
    for (name, bytes) in blobs {
        write(&published.join(name), &bytes)?;
    }
    for role in &roles {
        let name = format!(
            "{}.{}.json",
            role.targets.common.version,
            file_stem(&role.role)
        );
        write(&published.join(name), &role.bytes)?;
    }
    let latest = roots.len();
    for (n, bytes) in roots.iter().enumerate() {
        write(&published.join(format!("{}.root.json", n + 1)), bytes)?;
    }
    write(&published.join("root.json"), &roots[latest - 1])?;
    write(
        &published.join(format!("{}.snapshot.json", snapshot.version)),
        &snapshot.bytes,
    )?;
    write(&published.join("timestamp.json"), &timestamp.bytes)?;
    // What was written is checked as a client would, before it is moved into place.
    verify::check(&repo, None, now, verify::Expiry::Strict)?;
    Ok(())
}

/// The root chain of a tuf-on-ci `metadata/`: `root_history/1..N.root.json`
/// (without a history, `root.json` must be v1), walked with a
/// [`RootChain`] from v1 and only the last required unexpired;
/// `root.json` must be the same file as the latest. The files' bytes, and
/// the latest root.
fn root_history(metadata: &Path, now: OffsetDateTime) -> Result<(Vec<Vec<u8>>, Root)> {
    let history = metadata.join("root_history");
    let plain = metadata.join("root.json");
    let n = latest_version(&history, "root")?;
    let paths: Vec<PathBuf> = match n {
        Some(n) => (1..=n)
            .map(|v| history.join(format!("{v}.root.json")))
            .collect(),
        None => vec![plain.clone()],
    };
    let mut bytes_of = Vec::new();
    let mut chain: Option<RootChain> = None;
    for path in &paths {
        let file = path.display().to_string();
        let bytes = read(path, Limits::ROOT.max_bytes)?;
        match &mut chain {
            None => {
                let parsed =
                    Metadata::parse(&bytes, &Limits::ROOT).with_context(|| file.clone())?;
                let first = parsed.into_root().with_context(|| file.clone())?;
                let version = first.signed().common.version;
                if version != 1 {
                    bail!("{file}: the root history must start at version 1, found {version}");
                }
                let (start, _) = RootChain::from_trusted(first, ChainLimits::LOCAL)
                    .with_context(|| format!("{file}: root v1 is not signed by its own keys"))?;
                chain = Some(start);
            }
            Some(chain) => {
                chain.advance_bytes(&bytes).with_context(|| file.clone())?;
            }
        }
        bytes_of.push(bytes);
    }
    let chain = chain.expect("at least one root");
    // Only the last root must be unexpired (TUF spec 5.3.10).
    let last = paths.len();
    chain
        .check_expiry(now)
        .with_context(|| paths[last - 1].display().to_string())?;
    if n.is_some() {
        let latest = bytes_of.last().expect("at least one root");
        if read(&plain, Limits::ROOT.max_bytes)? != *latest {
            bail!(
                "{}: is not the same as root_history/{last}.root.json",
                plain.display()
            );
        }
    }
    Ok((bytes_of, chain.into_trusted().signed().clone()))
}

/// This tool publishes consistent snapshots only.
fn consistent(file: &Path, root: &Root) -> Result<()> {
    if root.consistent_snapshot != Some(true) {
        bail!(
            "{}: root v{} does not use consistent snapshots, which tuf-repo publishes only",
            file.display(),
            root.common.version
        );
    }
    Ok(())
}

/// The configured online keys must be the ones `root` lists for snapshot
/// and timestamp: opened (passphrases from the environment, as later
/// commands will) and compared, before anything is written.
fn check_online(dir: &Path, config: &Config, root: &Root) -> Result<()> {
    for (role, key) in [
        ("snapshot", &config.online.snapshot),
        ("timestamp", &config.online.timestamp),
    ] {
        OnlineSigner::open(dir, role, key)?.listed_as(root)?;
    }
    Ok(())
}

fn unexpired(file: &str, targets: &Targets, now: OffsetDateTime) -> Result<()> {
    let common = &targets.common;
    if common.expires.is_expired_at(now) {
        bail!(
            "{file}: v{} expired at {}",
            common.version,
            common.expires.as_str()
        );
    }
    Ok(())
}

/// The metadata files directly in `staged/` (not the bundle manifest),
/// each parsed strictly: `(file name, bytes, metadata)`.
fn staged_metadata(staged: &Path) -> Result<Vec<(String, Vec<u8>, Metadata)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(staged) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot list", staged.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("{}: cannot list", staged.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
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
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
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
fn copy_tree(from: &Path, to: &Path) -> Result<usize> {
    let files = files_under(from)?;
    for file in &files {
        let rel = file.strip_prefix(from).expect("under from");
        write(&to.join(rel), &read(file, MAX_TARGET_BYTES)?)?;
    }
    Ok(files.len())
}

fn read(path: &Path, max: usize) -> Result<Vec<u8>> {
    read_capped(path, max).with_context(|| path.display().to_string())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    write_atomically(path, bytes).with_context(|| path.display().to_string())
}

/// A scratch directory beside a destination, removed unless
/// [`Scratch::finish`] renames it into place.
struct Scratch {
    path: PathBuf,
    done: bool,
}

impl Scratch {
    fn beside(dest: &Path) -> Result<Scratch> {
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

    fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the scratch directory to `dest` (absent, or empty: it is
    /// removed first).
    fn finish(mut self, dest: &Path) -> Result<()> {
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
