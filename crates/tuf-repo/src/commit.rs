//! `tuf-repo commit`: installs what the ceremony signed — root N+1 (or a
//! new repository's v1) and targets — once every threshold is met, then a
//! new snapshot and timestamp signed with the online keys. Everything is
//! checked before anything is written; versioned files go first and
//! `timestamp.json` last, so a crash leaves a set clients accept.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use metadata_io::{read_capped, write_atomically};
use time::OffsetDateTime;
use tuf_metadata::keys::keyid_mismatches;
use tuf_metadata::rotation::{check_expiry, check_role};
use tuf_metadata::{
    Common, Limits, MetaFile, Metadata, Object, Root, Signed, Snapshot, Targets, Timestamp, json,
    verify_root_update, verify_trusted_root,
};

use crate::clock::{expires_in_days, now_or, parse_time};
use crate::config::Config;
use crate::init::SPEC_VERSION;
use crate::layout::Repo;
use crate::online::OnlineSigner;

/// Arguments of `commit`.
#[derive(ClapArgs)]
pub struct Args {
    /// The repository directory.
    repo: PathBuf,
    /// The time expiry is checked against and new expiries count from
    /// (RFC 3339); default now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    at: Option<OffsetDateTime>,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<()> {
    let now = now_or(args.at);
    let repo = Repo::new(&args.repo);
    let config = Config::load(&args.repo)?;
    let trusted = repo.latest_root()?;
    let new_root = staged_root(&repo, trusted.as_ref(), now)?;
    let root: Metadata<Root> = match (&new_root, &trusted) {
        (Some((root, _)), _) => root.clone(),
        (None, Some(trusted)) => trusted.clone(),
        (None, None) => unreachable!("a new repository always stages root v1"),
    };
    let root_v = root.signed().common.version;
    let (targets, new_targets) = current_targets(&repo, root.signed(), trusted.is_none())?;
    let targets_common = &targets.signed().common;
    if targets_common.expires.is_expired_at(now) {
        bail!(
            "targets v{} expired at {}: stage and sign new targets first",
            targets_common.version,
            targets_common.expires.as_str()
        );
    }

    // Snapshot: every targets role's version, the new targets' included.
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
    meta.insert(
        "targets.json".into(),
        meta_file(targets.signed().common.version),
    );
    let snapshot_v = previous.as_ref().map_or(0, |s| s.common.version) + 1;
    let mut snapshot = Metadata::new(Snapshot {
        common: common(snapshot_v, expires_in_days(now, config.expiry.snapshot)),
        meta,
        unrecognized: Object::new(),
    });
    let mut snapshot_key = OnlineSigner::open(&args.repo, "snapshot", &config.online.snapshot)?;
    snapshot_key.sign(root.signed(), &mut snapshot)?;
    require(root.signed(), "snapshot", &snapshot, "the new snapshot")?;
    let snapshot_bytes = json::to_pretty(&snapshot.to_value());

    let timestamp_path = repo.published_file("timestamp.json");
    let timestamp_v = if timestamp_path.exists() {
        let (_, md) = crate::layout::load_any(&timestamp_path)?;
        md.signed().common().version + 1
    } else {
        1
    };
    let mut snapshot_entry = meta_file(snapshot_v);
    snapshot_entry.length = Some(snapshot_bytes.len() as u64);
    snapshot_entry.hashes = Some(BTreeMap::from([(
        "sha256".to_owned(),
        hex::encode(ring::digest::digest(&ring::digest::SHA256, &snapshot_bytes)),
    )]));
    let mut timestamp = Metadata::new(Timestamp {
        common: common(timestamp_v, expires_in_days(now, config.expiry.timestamp)),
        snapshot: snapshot_entry,
        unrecognized: Object::new(),
    });
    let mut timestamp_key = OnlineSigner::open(&args.repo, "timestamp", &config.online.timestamp)?;
    timestamp_key.sign(root.signed(), &mut timestamp)?;
    require(root.signed(), "timestamp", &timestamp, "the new timestamp")?;

    // Versioned files first (never overwritten), then root.json, then timestamp.json.
    let mut writes: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some((_, bytes)) = &new_root {
        writes.push((format!("{root_v}.root.json"), bytes.clone()));
    }
    if let Some(bytes) = &new_targets {
        writes.push((
            format!("{}.targets.json", targets.signed().common.version),
            bytes.clone(),
        ));
    }
    writes.push((format!("{snapshot_v}.snapshot.json"), snapshot_bytes));
    for (name, _) in &writes {
        let path = repo.published_file(name);
        if std::fs::symlink_metadata(&path).is_ok() {
            bail!(
                "{}: already exists; versioned files are never rewritten",
                path.display()
            );
        }
    }
    if let Some((_, bytes)) = &new_root {
        writes.push(("root.json".into(), bytes.clone()));
    }
    writes.push((
        "timestamp.json".into(),
        json::to_pretty(&timestamp.to_value()),
    ));
    std::fs::create_dir_all(repo.published())
        .with_context(|| format!("{}: cannot create", repo.published().display()))?;
    for (name, bytes) in &writes {
        let path = repo.published_file(name);
        write_atomically(&path, bytes)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The staged root to install, with its file bytes: `None` when the staged
/// root is the published one (nothing to rotate).
fn staged_root(
    repo: &Repo,
    trusted: Option<&Metadata<Root>>,
    now: OffsetDateTime,
) -> Result<Option<(Metadata<Root>, Vec<u8>)>> {
    let path = repo.staged_file("root.json");
    let file = path.display().to_string();
    if trusted.is_some() && !path.exists() {
        return Ok(None);
    }
    let bytes = read_capped(&path, Limits::ROOT.max_bytes).with_context(|| file.clone())?;
    let staged = Metadata::parse(&bytes, &Limits::ROOT).with_context(|| file.clone())?;
    let version = staged.signed().common().version;
    let root = match trusted {
        Some(trusted) => {
            let n = trusted.signed().common.version;
            if version <= n {
                return Ok(None);
            }
            let update = verify_root_update(trusted, staged, Some(now))
                .with_context(|| format!("{file}: root v{version} may not follow root v{n}"))?;
            update.root
        }
        None => {
            let root = staged.into_root().with_context(|| file.clone())?;
            if version != 1 {
                bail!(
                    "{file}: no root is published yet, so only root v1 may be committed, found v{version}"
                );
            }
            verify_trusted_root(&root)
                .with_context(|| format!("{file}: root v1 of a new repository"))?;
            check_expiry(root.signed(), now).with_context(|| format!("{file}: root v1"))?;
            root
        }
    };
    if let Some((listed, _)) = keyid_mismatches(&root.signed().keys).first() {
        bail!("{file}: root v{version}: key id {listed} does not match its key");
    }
    Ok(Some((root, bytes)))
}

/// The targets in force after this commit, and its file bytes when it is
/// new (staged and signed). A new repository must bring signed targets.
fn current_targets(
    repo: &Repo,
    root: &Root,
    new_repository: bool,
) -> Result<(Metadata<Targets>, Option<Vec<u8>>)> {
    let published = repo.latest_version("targets")?;
    let path = repo.staged_file("targets.json");
    let file = path.display().to_string();
    if path.exists() {
        let bytes = read_capped(&path, Limits::ANY.max_bytes).with_context(|| file.clone())?;
        let targets = Metadata::parse(&bytes, &Limits::ANY)
            .and_then(|m| Ok(m.into_targets()?))
            .with_context(|| file.clone())?;
        let version = targets.signed().common.version;
        if published.is_none_or(|p| version > p) {
            require(
                root,
                "targets",
                &targets,
                &format!("{file}: targets v{version}"),
            )?;
            return Ok((targets, Some(bytes)));
        }
    }
    let Some(v) = published.filter(|_| !new_repository) else {
        bail!("{file}: a new repository needs targets v1 signed in its first ceremony");
    };
    let path = repo.published_file(&format!("{v}.targets.json"));
    let file = path.display().to_string();
    let bytes = read_capped(&path, Limits::ANY.max_bytes).with_context(|| file.clone())?;
    let targets = Metadata::parse(&bytes, &Limits::ANY)
        .and_then(|m| Ok(m.into_targets()?))
        .with_context(|| file.clone())?;
    // A rotation that changes the targets keys needs targets re-signed.
    require(root, "targets", &targets, &format!("{file}: targets v{v}"))?;
    Ok((targets, None))
}

fn require<T>(root: &Root, role: &str, metadata: &Metadata<T>, what: &str) -> Result<()> {
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

fn load_snapshot(path: &std::path::Path) -> Result<Snapshot> {
    let (_, md) = crate::layout::load_any(path)?;
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

fn common(version: u64, expires: tuf_metadata::Expires) -> Common {
    Common {
        spec_version: SPEC_VERSION.into(),
        version,
        expires,
    }
}
