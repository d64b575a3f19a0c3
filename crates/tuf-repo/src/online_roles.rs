//! New snapshot and timestamp metadata, signed with the online keys: shared
//! by `commit` (after installing what a ceremony signed) and by the
//! `snapshot` and `timestamp` refresh commands (cron). Nothing here writes;
//! callers decide the order of writes (versioned files first,
//! `timestamp.json` last).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Result, bail};
use time::OffsetDateTime;
use tuf_metadata::rotation::check_role;
use tuf_metadata::{
    Common, Expires, MetaFile, Metadata, Object, Root, Signed, Snapshot, Timestamp, json,
};

use crate::clock::expires_in_days;
use crate::config::Config;
use crate::init::SPEC_VERSION;
use crate::layout::{Repo, load_any};
use crate::online::OnlineSigner;

/// A new metadata file: its version and the bytes to publish.
pub struct NewFile {
    /// The metadata's version.
    pub version: u64,
    /// Pretty JSON, signed.
    pub bytes: Vec<u8>,
}

/// Snapshot V+1: the latest published snapshot's entries, with each of
/// `updates` (`<role>.json` → version) put in, signed by the snapshot key
/// under `root`. Entries are never dropped, not even a role no longer
/// delegated (`delegate --remove`): clients refuse a snapshot missing a
/// file the previous one listed (TUF spec 5.5.5, rollback), so such a
/// role's entry stays frozen at its last version, unreachable.
pub fn next_snapshot(
    repo: &Repo,
    dir: &Path,
    config: &Config,
    root: &Root,
    updates: &[(String, u64)],
    now: OffsetDateTime,
) -> Result<NewFile> {
    let previous = match repo.latest_version("snapshot")? {
        Some(v) => Some(load_snapshot(
            &repo.published_file(&format!("{v}.snapshot.json")),
        )?),
        None => None,
    };
    let mut meta = previous
        .as_ref()
        .map(|s| s.meta.clone())
        .unwrap_or_default();
    for (name, version) in updates {
        meta.insert(name.clone(), meta_file(*version));
    }
    let version = previous.as_ref().map_or(0, |s| s.common.version) + 1;
    let mut snapshot = Metadata::new(Snapshot {
        common: common(version, expires_in_days(now, config.expiry.snapshot)),
        meta,
        unrecognized: Object::new(),
    });
    let mut key = OnlineSigner::open(dir, "snapshot", &config.online.snapshot)?;
    key.sign(root, &mut snapshot)?;
    require(root, "snapshot", &snapshot, "the new snapshot")?;
    Ok(NewFile {
        version,
        bytes: json::to_pretty(&snapshot.to_value()),
    })
}

/// Timestamp W+1 naming snapshot `snapshot_version` with the length and
/// sha256 of `snapshot_bytes`, signed by the timestamp key under `root`.
pub fn next_timestamp(
    repo: &Repo,
    dir: &Path,
    config: &Config,
    root: &Root,
    snapshot_version: u64,
    snapshot_bytes: &[u8],
    now: OffsetDateTime,
) -> Result<NewFile> {
    let version = current_timestamp(repo)?.map_or(0, |t| t.common.version) + 1;
    let mut entry = meta_file(snapshot_version);
    entry.length = Some(snapshot_bytes.len() as u64);
    entry.hashes = Some(BTreeMap::from([(
        "sha256".to_owned(),
        sha256_hex(snapshot_bytes),
    )]));
    let mut timestamp = Metadata::new(Timestamp {
        common: common(version, expires_in_days(now, config.expiry.timestamp)),
        snapshot: entry,
        unrecognized: Object::new(),
    });
    let mut key = OnlineSigner::open(dir, "timestamp", &config.online.timestamp)?;
    key.sign(root, &mut timestamp)?;
    require(root, "timestamp", &timestamp, "the new timestamp")?;
    Ok(NewFile {
        version,
        bytes: json::to_pretty(&timestamp.to_value()),
    })
}

/// The published `timestamp.json`, if any.
pub fn current_timestamp(repo: &Repo) -> Result<Option<Timestamp>> {
    let path = repo.published_file("timestamp.json");
    if !path.exists() {
        return Ok(None);
    }
    let (_, md) = load_any(&path)?;
    match md.signed() {
        Signed::Timestamp(t) => Ok(Some(t.clone())),
        other => bail!(
            "{}: expected timestamp metadata, found {}",
            path.display(),
            other.type_name()
        ),
    }
}

/// Refuses `metadata` unless a threshold of `root`'s `role` keys signed it.
pub fn require<T>(root: &Root, role: &str, metadata: &Metadata<T>, what: &str) -> Result<()> {
    let report = check_role(root, role, metadata)?;
    if !report.is_met() {
        let mut details = report.rejections().join("; ");
        if !details.is_empty() {
            details.insert_str(0, "; ");
        }
        bail!(
            "{what}: threshold of root v{}'s {role} role not met: {report} distinct keys{details}",
            root.common.version
        );
    }
    Ok(())
}

pub use tuf_metadata::sha256_hex;

fn load_snapshot(path: &Path) -> Result<Snapshot> {
    let (_, md) = load_any(path)?;
    match md.signed() {
        Signed::Snapshot(s) => Ok(s.clone()),
        other => bail!(
            "{}: expected snapshot metadata, found {}",
            path.display(),
            other.type_name()
        ),
    }
}

fn meta_file(version: u64) -> MetaFile {
    MetaFile {
        version,
        length: None,
        hashes: None,
        unrecognized: Object::new(),
    }
}

fn common(version: u64, expires: Expires) -> Common {
    Common {
        spec_version: SPEC_VERSION.into(),
        version,
        expires,
    }
}
