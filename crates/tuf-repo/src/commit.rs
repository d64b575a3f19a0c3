//! `tuf-repo commit`: installs what the ceremony signed — root N+1 (or a
//! new repository's v1) and targets — once every threshold is met, then a
//! new snapshot and timestamp signed with the online keys. Everything is
//! checked before anything is written; versioned files go first and
//! `timestamp.json` last, so a crash leaves a set clients accept.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use metadata_io::read_capped;
use time::OffsetDateTime;
use tuf_metadata::keys::keyid_mismatches;
use tuf_metadata::rotation::check_expiry;
use tuf_metadata::{
    FileError, Limits, Metadata, Root, TargetFile, Targets, verify_root_update, verify_trusted_root,
};

use crate::clock::{AtArgs, now_or};
use crate::config::Config;
use crate::layout::{PUBLISHED_DIR, Repo};
use crate::online_roles::{next_snapshot, next_timestamp, require};
use crate::target_files::{published_blob_name, staged_blob};

/// Arguments of `commit`.
#[derive(ClapArgs)]
pub struct Args {
    /// The repository directory.
    pub(crate) repo: PathBuf,
    #[command(flatten)]
    at: AtArgs,
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

    // Delegated roles staged and signed for the delegations in force, at
    // any depth, each against the delegator published with it or before it.
    let Some(graph) = crate::graph::Graph::load(&repo)? else {
        unreachable!("the targets in force were just loaded");
    };
    let new_roles = crate::graph::roles_to_commit(&repo, &graph, now)?;

    // Target files new targets list that are not published yet: checked now.
    let mut blobs = match &new_targets {
        Some(_) => target_blobs(&repo, targets.signed())?,
        None => Vec::new(),
    };
    for role in &new_roles {
        blobs.extend(
            target_blobs(&repo, &role.targets).with_context(|| format!("{} role", role.name))?,
        );
    }

    // Snapshot: every targets role's version, the new ones included.
    let targets_v = targets.signed().common.version;
    let mut updates = vec![("targets.json".to_owned(), targets_v)];
    updates.extend(
        new_roles
            .iter()
            .map(|r| (format!("{}.json", r.name), r.version)),
    );
    let snapshot = next_snapshot(&repo, &args.repo, &config, root.signed(), &updates, now)?;
    let timestamp = next_timestamp(
        &repo,
        &args.repo,
        &config,
        root.signed(),
        snapshot.version,
        &snapshot.bytes,
        now,
    )?;
    let snapshot_v = snapshot.version;
    let snapshot_bytes = snapshot.bytes;

    // Versioned files first (never overwritten), then root.json, then timestamp.json.
    // Target files before the metadata that names them.
    let mut writes: Vec<(String, Vec<u8>)> = blobs;
    if let Some((_, bytes)) = &new_root {
        writes.push((format!("{root_v}.root.json"), bytes.clone()));
    }
    if let Some(bytes) = &new_targets {
        writes.push((
            format!("{}.targets.json", targets.signed().common.version),
            bytes.clone(),
        ));
    }
    for role in new_roles {
        writes.push((format!("{}.{}.json", role.version, role.name), role.bytes));
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
    writes.push(("timestamp.json".into(), timestamp.bytes));
    // One transaction: killed anywhere, the next command finds the old
    // repository or completes the new one (crate::journal).
    let writes: Vec<(String, Vec<u8>)> = writes
        .into_iter()
        .map(|(name, bytes)| (format!("{PUBLISHED_DIR}/{name}"), bytes))
        .collect();
    crate::journal::apply(&args.repo, "commit", &writes)?;
    for (name, _) in &writes {
        say!("wrote {}", args.repo.join(name).display());
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

/// The target files `targets` lists that `repository/targets/` does not
/// hold yet, read from `staged/targets/<sha256>` and checked against their
/// length and sha256: `(name under repository/, bytes)`.
fn target_blobs(repo: &Repo, targets: &Targets) -> Result<Vec<(String, Vec<u8>)>> {
    let mut blobs = Vec::new();
    for (path, file) in &targets.targets {
        let Some(sha256) = file.hashes.get("sha256") else {
            bail!(
                "targets v{}: target {path} has no sha256 hash",
                targets.common.version
            );
        };
        let name = published_blob_name(path, sha256);
        if repo.published_file(&name).exists() {
            continue;
        }
        let staged = staged_blob(repo, sha256);
        let shown = staged.display().to_string();
        let bytes = std::fs::read(&staged).with_context(|| {
            format!("{shown}: target {path}: cannot read (add it with `tuf-repo add-target`)")
        })?;
        let by = format!("targets v{}", targets.common.version);
        check_target_file(&shown, path, file, &by, &bytes)?;
        blobs.push((name, bytes));
    }
    Ok(blobs)
}

/// Refuses `bytes` (the file `shown`) unless they are target `target` as
/// `by` lists it: the client's length and hash rule ([`TargetFile::check`]:
/// every listed sha256, sha384 and sha512), so nothing is published that a
/// client would refuse. Shared with `import`.
pub(crate) fn check_target_file(
    shown: &str,
    target: &str,
    listed: &TargetFile,
    by: &str,
    bytes: &[u8],
) -> Result<()> {
    let Err(e) = listed.check(bytes) else {
        return Ok(());
    };
    match &e {
        FileError::Hash { alg, .. } if alg != "sha256" => {
            bail!("{shown}: target {target}: {alg} differs from what {by} lists ({e})")
        }
        FileError::Length { .. } | FileError::Hash { .. } => {
            bail!("{shown}: target {target}: length or sha256 differs from what {by} lists ({e})")
        }
        FileError::NoKnownHash => bail!("{shown}: target {target}, as {by} lists it: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tuf_metadata::files::sha256_hex;
    use tuf_metadata::{Common, Expires, Object};

    use super::*;

    fn listing(content: &[u8]) -> Targets {
        let file = TargetFile {
            length: content.len() as u64,
            hashes: BTreeMap::from([("sha256".to_owned(), sha256_hex(content))]),
            unrecognized: Object::new(),
        };
        Targets {
            common: Common {
                spec_version: "1.0.31".into(),
                version: 2,
                expires: Expires::parse("2040-01-01T00:00:00Z").unwrap(),
            },
            targets: BTreeMap::from([("keys/log.pub".to_owned(), file)]),
            delegations: None,
            unrecognized: Object::new(),
        }
    }

    #[test]
    fn a_target_file_is_copied_only_when_staged_with_the_signed_length_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(dir.path());
        let targets = listing(b"key");
        let sha256 = sha256_hex(b"key");
        let err = format!("{:#}", target_blobs(&repo, &targets).unwrap_err());
        assert!(
            err.contains(&sha256) && err.contains("keys/log.pub"),
            "{err}"
        );

        std::fs::create_dir_all(dir.path().join("staged/targets")).unwrap();
        std::fs::write(staged_blob(&repo, &sha256), b"kez").unwrap();
        let err = format!("{:#}", target_blobs(&repo, &targets).unwrap_err());
        assert!(err.contains("length or sha256 differs"), "{err}");

        std::fs::write(staged_blob(&repo, &sha256), b"key").unwrap();
        let blobs = target_blobs(&repo, &targets).unwrap();
        let name = format!("targets/keys/{sha256}.log.pub");
        assert_eq!(blobs, vec![(name.clone(), b"key".to_vec())]);

        // Already published: nothing to copy.
        std::fs::create_dir_all(dir.path().join("repository/targets/keys")).unwrap();
        std::fs::write(repo.published_file(&name), b"key").unwrap();
        assert!(target_blobs(&repo, &targets).unwrap().is_empty());
    }

    #[test]
    fn a_target_file_must_match_every_listed_hash_not_only_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(dir.path());
        let mut targets = listing(b"key");
        let sha256 = sha256_hex(b"key");
        let file = targets.targets.get_mut("keys/log.pub").unwrap();
        file.hashes.insert("sha512".to_owned(), "00".repeat(64));
        std::fs::create_dir_all(dir.path().join("staged/targets")).unwrap();
        std::fs::write(staged_blob(&repo, &sha256), b"key").unwrap();
        let err = format!("{:#}", target_blobs(&repo, &targets).unwrap_err());
        assert!(
            err.contains("keys/log.pub") && err.contains("sha512 differs from what targets v2"),
            "{err}"
        );
    }
}
