//! `import --layout tuf-on-ci`: `metadata/root.json` (the latest root),
//! `metadata/root_history/<N>.root.json` (any consecutive run of roots),
//! `metadata/targets.json` and `metadata/<role>.json` (the latest, under
//! plain names), `metadata/snapshot.json` and `metadata/timestamp.json`
//! when tuf-on-ci's online signing made them, and the target files under
//! `targets/<target path>`. Every check comes first; then `repository/`
//! is written in the scratch directory and verified as a client would.
//! The repository's snapshot and timestamp keep their versions: with the
//! online keys held elsewhere they are imported as they are (nothing is
//! signed); with ours, the next ones are signed above them (v1 when the
//! directory has none, as `export --layout tuf-on-ci` writes it).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use time::OffsetDateTime;
use tuf_metadata::{Limits, Metadata, Root, Signed, Targets};

use crate::commit::check_target_file;
use crate::config::Config;
use crate::graph::{MAX_DEPTH, file_stem, role_names};
use crate::layout::{Repo, load_any_existing, versions};
use crate::layouts::{consistent, read, write};
use crate::online_roles::{next_snapshot, next_timestamp, require};
use crate::target_files::{MAX_TARGET_BYTES, published_blob_name};
use crate::verify;

use super::history::{self, History};
use super::{Imported, OnlineKeys, online_keys};

/// One targets-type role read from `metadata/`.
struct Role {
    role: String,
    bytes: Vec<u8>,
    targets: Targets,
}

/// Imports `dir` into `out` (the scratch repository, configuration not
/// yet written).
pub fn import(
    dir: &Path,
    trusted: Option<&Path>,
    config: &Config,
    out: &Path,
    now: OffsetDateTime,
) -> Result<Imported> {
    let metadata = dir.join("metadata");
    let history = root_history(&metadata, trusted, now)?;
    let root = history.latest.signed().clone();
    consistent(&metadata.join("root.json"), &root)?;
    let (roles, blobs) = roles(dir, &metadata, &root, now)?;
    let online = online_roles(&metadata)?;
    let keys = online_keys(out, config, &root)?;
    if online.is_none()
        && let OnlineKeys::Elsewhere(_) = &keys
    {
        bail!(
            "{}: missing; the repository's snapshot and timestamp keys are held elsewhere, so its own signed snapshot.json and timestamp.json must be imported",
            metadata.join("timestamp.json").display()
        );
    }

    // Everything is checked: now the writes, into the scratch directory.
    let repo = Repo::new(out);
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
    for (version, bytes) in &history.files {
        write(&published.join(format!("{version}.root.json")), bytes)?;
    }
    let (_, latest) = history.files.last().expect("at least one root");
    write(&published.join("root.json"), latest)?;
    if let Some(online) = &online {
        write(
            &published.join(format!("{}.snapshot.json", online.snapshot_version)),
            &online.snapshot,
        )?;
        write(&published.join("timestamp.json"), &online.timestamp)?;
    }
    if let OnlineKeys::Ours = keys {
        // Above the imported versions (next_* continue from what is
        // published here), naming the roles' current versions.
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
        write(
            &published.join(format!("{}.snapshot.json", snapshot.version)),
            &snapshot.bytes,
        )?;
        write(&published.join("timestamp.json"), &timestamp.bytes)?;
    }
    // What was written is checked as a client would, before it is moved
    // into place; the imported online roles may have expired (their keys'
    // holder renews them, or our first commit does).
    verify::check(&repo, None, now, verify::Expiry::OnlineMayHaveExpired)?;
    Ok(Imported {
        root_version: root.common.version,
        keys,
    })
}

/// The root history: `root_history/<N>.root.json` (any consecutive run),
/// or without one `root.json` alone; `root.json` must be the same file as
/// the latest.
fn root_history(metadata: &Path, trusted: Option<&Path>, now: OffsetDateTime) -> Result<History> {
    let dir = metadata.join("root_history");
    let plain = metadata.join("root.json");
    let found: Vec<(u64, PathBuf)> = versions(&dir, "root")?
        .into_iter()
        .map(|v| (v, dir.join(format!("{v}.root.json"))))
        .collect();
    let found = if found.is_empty() {
        let (_, md) = load_any_existing(&plain)?;
        vec![(md.signed().common().version, plain.clone())]
    } else {
        found
    };
    let history = history::establish(&found, trusted, now)?;
    let (version, latest) = history.files.last().expect("at least one root");
    if read(&plain, Limits::EXISTING_ROOT.max_bytes)? != *latest {
        bail!(
            "{}: is not the same as root_history/{version}.root.json",
            plain.display()
        );
    }
    Ok(history)
}

/// tuf-on-ci's own snapshot and timestamp, as its online signing left them.
struct OnlineFiles {
    snapshot_version: u64,
    snapshot: Vec<u8>,
    timestamp: Vec<u8>,
}

/// `metadata/snapshot.json` and `metadata/timestamp.json`, both or
/// neither, each of its type (signatures, versions, lengths and hashes are
/// checked with everything else once written).
fn online_roles(metadata: &Path) -> Result<Option<OnlineFiles>> {
    let snapshot = metadata.join("snapshot.json");
    let timestamp = metadata.join("timestamp.json");
    match (snapshot.exists(), timestamp.exists()) {
        (false, false) => return Ok(None),
        (true, false) => bail!("{}: missing beside snapshot.json", timestamp.display()),
        (false, true) => bail!("{}: missing beside timestamp.json", snapshot.display()),
        (true, true) => {}
    }
    let (sn_bytes, sn) = load_any_existing(&snapshot)?;
    let Signed::Snapshot(sn) = sn.signed() else {
        bail!("{}: not snapshot metadata", snapshot.display());
    };
    let (ts_bytes, ts) = load_any_existing(&timestamp)?;
    let Signed::Timestamp(ts) = ts.signed() else {
        bail!("{}: not timestamp metadata", timestamp.display());
    };
    if ts.snapshot.version != sn.common.version {
        bail!(
            "{}: timestamp v{} names snapshot v{}, but snapshot.json is v{}",
            timestamp.display(),
            ts.common.version,
            ts.snapshot.version,
            sn.common.version
        );
    }
    Ok(Some(OnlineFiles {
        snapshot_version: sn.common.version,
        snapshot: sn_bytes,
        timestamp: ts_bytes,
    }))
}

/// `targets.json` against root, each delegated role against its
/// delegator, and the target files against every listing: the roles and
/// the files to publish (`published name`, bytes).
#[allow(clippy::type_complexity)]
fn roles(
    dir: &Path,
    metadata: &Path,
    root: &Root,
    now: OffsetDateTime,
) -> Result<(Vec<Role>, Vec<(String, Vec<u8>)>)> {
    // targets.json against root, then each delegated role against its delegator.
    let path = metadata.join("targets.json");
    let file = path.display().to_string();
    let bytes = read(&path, Limits::EXISTING_ANY.max_bytes)?;
    let top = Metadata::parse(&bytes, &Limits::EXISTING_ANY)
        .and_then(|m| Ok(m.into_targets()?))
        .with_context(|| file.clone())?;
    let version = top.signed().common.version;
    require(
        root,
        "targets",
        &top,
        &format!("{file}: targets v{version}"),
    )?;
    unexpired(&file, top.signed(), now)?;
    let mut roles = vec![Role {
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
                    let bytes = read(&path, Limits::EXISTING_ANY.max_bytes)?;
                    let md = Metadata::parse(&bytes, &Limits::EXISTING_ANY)
                        .and_then(|m| Ok(m.into_targets()?))
                        .with_context(|| file.clone())?;
                    unexpired(&file, md.signed(), now)?;
                    roles.push(Role {
                        role: name.clone(),
                        bytes,
                        targets: md.signed().clone(),
                    });
                    loaded.insert(name.clone(), roles.len() - 1);
                    queue.push_back((roles.len() - 1, depth + 1));
                    roles.len() - 1
                }
            };
            let md = Metadata::parse(&roles[j].bytes, &Limits::EXISTING_ANY)
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

    Ok((roles, blobs))
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
