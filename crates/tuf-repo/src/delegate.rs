//! `tuf-repo delegate`: a named delegation (paths or hash prefixes) or a
//! TAP 15 succinct hash-bin delegation from the top-level targets or from
//! any role the graph in force reaches (`--from`), so a delegated role can
//! delegate further (PEP 480: `targets → claimed → <project>`). The same
//! command re-keys an existing delegation (`--add-key`, `--remove-key`,
//! `--threshold`) or removes it (`--remove`).
//!
//! The delegating role is edited like `add-target` edits targets (its
//! staged V, or published V as V+1: one bump per staging round; expiry
//! reset; unsigned) and every new delegated role is staged as
//! `staged/<role>.json`: no targets, version 1 (or one above a version
//! published under the same name before), the configured targets expiry,
//! unsigned. `stage` puts them all in one bundle, each keyed by the role
//! that delegates it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use cli_common::AttestationRootArgs;
use metadata_io::BatchWriter;
use time::OffsetDateTime;
use tuf_metadata::threshold::short_id;
use tuf_metadata::{
    Common, DelegatedRole, DelegatedRoles, Delegations, Key, KeyId, Limits, Metadata, Object,
    PublicKey, RoleKeys, RoleScope, SuccinctRoles, Targets, json,
};

use crate::clock::{AtArgs, expires_in_days, now_or};
use crate::config::Config;
use crate::graph::{Graph, MAX_DEPTH, file_stem, published_versions, role_names};
use crate::init::SPEC_VERSION;
use crate::keys::{check_key_set, read_public_key_file};
use crate::layout::Repo;
use crate::target_files::{role_to_edit, targets_bytes, write_targets};

/// The most bins a succinct delegation may have (2^14, PEP 458's 16,384).
pub const MAX_BINS: u64 = 1 << 14;

/// Arguments of `delegate`.
#[derive(ClapArgs)]
pub struct Args {
    /// The repository directory.
    pub(crate) repo: PathBuf,
    /// The delegating role: `targets`, or a role the delegation graph in
    /// force reaches.
    #[arg(long, value_name = "role", default_value = "targets")]
    from: String,
    /// The delegated role's name (named delegation), or a succinct
    /// delegation's name prefix when re-keying or removing it.
    #[arg(long, value_name = "role", required_unless_present = "succinct")]
    name: Option<String>,
    /// A key of the new delegated role(s), as `ceremony onboard` wrote it.
    #[arg(
        long,
        value_name = "pub.json",
        required_unless_present_any = ["remove", "add_key", "remove_key", "threshold"],
        requires = "threshold"
    )]
    key: Vec<PathBuf>,
    /// How many distinct keys must sign each delegated role (new, or
    /// changed on an existing delegation).
    #[arg(
        long,
        value_name = "n",
        required_unless_present_any = ["remove", "add_key", "remove_key"]
    )]
    threshold: Option<u64>,
    /// A path pattern the role is trusted for (named delegation).
    #[arg(long, value_name = "glob", conflicts_with_all = ["hash_prefixes", "succinct"], requires = "key")]
    paths: Vec<String>,
    /// A hex prefix of SHA-256(target path) the role is trusted for.
    #[arg(
        long,
        value_name = "hex",
        conflicts_with = "succinct",
        requires = "key"
    )]
    hash_prefixes: Vec<String>,
    /// Stop the search at this role when it matches.
    #[arg(long, conflicts_with = "succinct", requires = "key")]
    terminating: bool,
    /// A succinct hash-bin delegation (TAP 15) instead of a named one.
    #[arg(long, requires_all = ["bins", "name_prefix", "key"], conflicts_with = "name")]
    succinct: bool,
    /// How many bins: a power of two from 2 to 16384.
    #[arg(long, value_name = "N")]
    bins: Option<u64>,
    /// Bins are named `<prefix>-<hex>`.
    #[arg(long, value_name = "prefix")]
    name_prefix: Option<String>,
    /// Remove the delegation to --name from --from: it is no longer
    /// published after the next commit (its published files stay).
    #[arg(
        long,
        requires = "name",
        conflicts_with_all = ["key", "threshold", "paths", "hash_prefixes", "terminating", "succinct", "add_key", "remove_key"]
    )]
    remove: bool,
    /// Add this key to the existing delegation --name.
    #[arg(long, value_name = "pub.json", conflicts_with = "key")]
    add_key: Vec<PathBuf>,
    /// Remove this key (key id or unique prefix) from the existing
    /// delegation --name.
    #[arg(long, value_name = "keyid", conflicts_with = "key")]
    remove_key: Vec<String>,
    #[command(flatten)]
    attestation: AttestationRootArgs,
    #[command(flatten)]
    at: AtArgs,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<()> {
    let now = now_or(args.at);
    let repo = Repo::new(&args.repo);
    let config = Config::load(&args.repo)?;
    let Some(graph) = Graph::load(&repo)? else {
        bail!(
            "{}: no targets metadata is staged or published; run `tuf-repo init` first",
            repo.staged_file("targets.json").display()
        );
    };
    let Some(from) = graph.find(&args.from) else {
        bail!(
            "--from {:?}: {} does not delegate to it (directly or further down)",
            args.from,
            graph.roles[0].label
        );
    };
    if args.remove {
        let name = args.name.clone().expect("clap requires --name");
        return remove(&repo, &config, &graph, &args.from, &name, now);
    }
    if args.key.is_empty() {
        let name = args.name.clone().expect("clap requires --name");
        return rekey(&repo, &config, &graph, args, &name, now);
    }
    if graph.depths[from] + 1 > MAX_DEPTH {
        bail!(
            "--from {:?}: is {} levels deep; a delegation from it would be deeper than {MAX_DEPTH}",
            args.from,
            graph.depths[from]
        );
    }
    let (mut targets, path) = role_to_edit(&repo, &config, now, &args.from)?;
    let before = delegated_keys(&targets);
    let keys = read_keys(&args.key, &args.attestation.roots)?;
    let threshold = args
        .threshold
        .expect("clap requires --threshold with --key");
    let n = distinct(&keys);
    if threshold == 0 || threshold > n {
        bail!("--threshold {threshold} with {n} distinct keys: it must be from 1 to {n}");
    }
    let role_keys = RoleKeys {
        keyids: keys.keys().cloned().collect(),
        threshold,
        unrecognized: Object::new(),
    };
    let version = targets.common.version;
    let from_name = &args.from;
    let file = path.display().to_string();
    let taken = |name: &str| -> Result<()> {
        if graph.find(name).is_some() || name == from_name {
            bail!(
                "role name {name:?} is already in the delegation graph; names are unique (they are file names)"
            );
        }
        Ok(())
    };
    let new_roles = if args.succinct {
        if targets.delegations.is_some() {
            bail!(
                "{file}: {from_name} v{version} already delegates; a succinct delegation must be the only one"
            );
        }
        let bins = args.bins.expect("clap requires --bins");
        if !bins.is_power_of_two() || !(2..=MAX_BINS).contains(&bins) {
            bail!("--bins {bins}: must be a power of two from 2 to {MAX_BINS}");
        }
        let prefix = args
            .name_prefix
            .clone()
            .expect("clap requires --name-prefix");
        check_role_name(&prefix)?;
        let succinct = SuccinctRoles {
            keys: role_keys,
            bit_length: bins.trailing_zeros(),
            name_prefix: prefix,
        };
        let delegations = Delegations {
            keys,
            roles: DelegatedRoles::Succinct(succinct),
            unrecognized: Object::new(),
        };
        let names = role_names(&delegations);
        for name in &names {
            taken(name)?;
        }
        targets.delegations = Some(delegations);
        names
    } else {
        let name = args.name.clone().expect("clap requires --name");
        check_role_name(&name)?;
        taken(&name)?;
        let scope = match (args.paths.is_empty(), args.hash_prefixes.is_empty()) {
            (false, true) => RoleScope::Paths(args.paths.clone()),
            (true, false) => {
                for p in &args.hash_prefixes {
                    if p.is_empty() || !p.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                        bail!("--hash-prefixes {p:?}: must be lower-case hex");
                    }
                }
                RoleScope::HashPrefixes(args.hash_prefixes.clone())
            }
            _ => bail!("a named delegation needs --paths or --hash-prefixes (one of the two)"),
        };
        let delegations = targets.delegations.get_or_insert_with(|| Delegations {
            keys: BTreeMap::new(),
            roles: DelegatedRoles::Listed(Vec::new()),
            unrecognized: Object::new(),
        });
        let DelegatedRoles::Listed(list) = &mut delegations.roles else {
            bail!(
                "{file}: {from_name} v{version} delegates to hash bins; named roles cannot be added"
            );
        };
        list.push(DelegatedRole {
            name: name.clone(),
            keys: role_keys,
            terminating: args.terminating,
            scope,
        });
        delegations.keys.extend(keys);
        vec![name]
    };
    check_delegations(&targets, &before, &file)?;
    // The delegated roles first: a delegator naming roles that are not
    // staged would be refused by `stage`. A name published before (a
    // delegation removed and made again) continues above its last version.
    // One batch (temp files, one syncfs, renames in this order, one fsync
    // per folder): 16,384 bins cost one sync, not one each.
    let published = published_versions(&repo)?;
    let expires = expires_in_days(now, config.expiry.targets);
    let mut batch = BatchWriter::new();
    for name in &new_roles {
        let empty = Metadata::new(Targets {
            common: Common {
                spec_version: SPEC_VERSION.into(),
                version: published.get(name).map_or(1, |v| v + 1),
                expires: expires.clone(),
            },
            targets: BTreeMap::new(),
            delegations: None,
            unrecognized: Object::new(),
        });
        let bytes = json::to_pretty(&empty.to_value());
        Metadata::parse(&bytes, &Limits::ANY).context("an empty delegated role")?;
        batch.add(
            &repo.staged_file(&format!("{}.json", file_stem(name))),
            &bytes,
        )?;
    }
    write_with_delegator(batch, &path, targets, "staging the delegation")?;
    let first = new_roles.first().map(String::as_str).unwrap_or_default();
    let last = new_roles.last().map(String::as_str).unwrap_or_default();
    let what = if new_roles.len() == 1 {
        first.to_owned()
    } else {
        format!("{} roles {first} .. {last}", new_roles.len())
    };
    say!(
        "delegated {what} ({threshold} of {n} keys) in {file} ({from_name} v{version}, unsigned); staged each in {}",
        repo.staged().display()
    );
    Ok(())
}

/// Reads key files, refusing one given twice.
fn read_keys(files: &[PathBuf], extra_roots: &[PathBuf]) -> Result<BTreeMap<KeyId, Key>> {
    let mut keys: BTreeMap<KeyId, Key> = BTreeMap::new();
    for file in files {
        let key = read_public_key_file(file, extra_roots)?;
        let id = key.key_id();
        if keys.insert(id.clone(), key).is_some() {
            bail!("{}: key {id} is given twice", file.display());
        }
    }
    Ok(keys)
}

/// The delegator's delegated keys as they are before an edit.
fn delegated_keys(targets: &Targets) -> BTreeMap<KeyId, Key> {
    targets
        .delegations
        .as_ref()
        .map(|d| d.keys.clone())
        .unwrap_or_default()
}

/// The key-set rules (`tuf_metadata::key_audit`) on the edited delegator,
/// before anything is written: one public key, one key id; new keys only in
/// encodings every major client reads.
fn check_delegations(targets: &Targets, before: &BTreeMap<KeyId, Key>, file: &str) -> Result<()> {
    let Some(delegations) = &targets.delegations else {
        return Ok(());
    };
    check_key_set(tuf_metadata::audit_delegations(delegations), before)
        .with_context(|| format!("{file}: delegations"))
}

/// Distinct public keys among `keys` (a threshold counts keys, not ids).
fn distinct(keys: &BTreeMap<KeyId, Key>) -> u64 {
    let set: BTreeSet<PublicKey> = keys.values().filter_map(|k| k.public_key().ok()).collect();
    set.len() as u64
}

/// The role keys of delegation `name` in `delegations` (a listed role, or
/// the succinct delegation whose name prefix is `name`).
fn role_keys_mut<'a>(delegations: &'a mut Delegations, name: &str) -> Option<&'a mut RoleKeys> {
    match &mut delegations.roles {
        DelegatedRoles::Listed(list) => list
            .iter_mut()
            .find(|r| r.name == name)
            .map(|r| &mut r.keys),
        DelegatedRoles::Succinct(s) => (s.name_prefix == name).then_some(&mut s.keys),
    }
}

/// Drops keys no delegated role lists any more.
fn prune_keys(delegations: &mut Delegations) {
    let used: BTreeSet<KeyId> = match &delegations.roles {
        DelegatedRoles::Listed(list) => list.iter().flat_map(|r| r.keys.keyids.clone()).collect(),
        DelegatedRoles::Succinct(s) => s.keys.keyids.iter().cloned().collect(),
    };
    delegations.keys.retain(|id, _| used.contains(id));
}

/// `--add-key` / `--remove-key` / `--threshold` on an existing delegation.
/// The delegator is edited (one bump per round); each affected role whose
/// version in force is published is staged as V+1 (unsigned, expiry
/// reset), since the files published under the old keys are immutable and
/// the new key set must sign a new version.
fn rekey(
    repo: &Repo,
    config: &Config,
    graph: &Graph,
    args: &Args,
    name: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let from = &args.from;
    let (mut targets, path) = role_to_edit(repo, config, now, from)?;
    let file = path.display().to_string();
    let version = targets.common.version;
    let Some(delegations) = targets.delegations.as_mut() else {
        bail!("{file}: {from} v{version} delegates to no role");
    };
    let affected = match &delegations.roles {
        DelegatedRoles::Succinct(s) if s.name_prefix == name => role_names(delegations),
        _ => vec![name.to_owned()],
    };
    let before = delegations.keys.clone();
    let mut keys = delegations.keys.clone();
    let Some(role) = role_keys_mut(delegations, name) else {
        bail!("{file}: {from} v{version} does not delegate to {name:?}");
    };
    for prefix in &args.remove_key {
        let matches: Vec<KeyId> = role
            .keyids
            .iter()
            .filter(|id| !prefix.is_empty() && id.starts_with(prefix.as_str()))
            .cloned()
            .collect();
        match matches.as_slice() {
            [one] => role.keyids.retain(|id| id != one),
            [] => bail!("--remove-key {prefix:?}: no key of {name} matches"),
            _ => bail!("--remove-key {prefix:?}: several keys of {name} match"),
        }
    }
    for added in read_keys(&args.add_key, &args.attestation.roots)? {
        let (id, key) = added;
        if role.keyids.contains(&id) {
            bail!(
                "--add-key: key {} is already one of {name}'s",
                short_id(&id)
            );
        }
        role.keyids.push(id.clone());
        keys.insert(id, key);
    }
    if let Some(threshold) = args.threshold {
        role.threshold = threshold;
    }
    let listed: BTreeMap<KeyId, Key> = role
        .keyids
        .iter()
        .filter_map(|id| keys.get(id).map(|k| (id.clone(), k.clone())))
        .collect();
    let n = distinct(&listed);
    let threshold = role.threshold;
    if threshold == 0 || threshold > n {
        bail!("{name}: threshold {threshold} with {n} distinct keys could never be met");
    }
    delegations.keys = keys;
    prune_keys(delegations);
    check_delegations(&targets, &before, &file)?;
    // The roles to re-sign, staged before the delegator that names the new keys.
    let mut restaged = 0;
    let mut batch = BatchWriter::new();
    for role in &affected {
        let in_force = graph.find(role).map(|i| &graph.roles[i]);
        if in_force.is_some_and(|r| !r.staged) {
            let (next, role_path) = role_to_edit(repo, config, now, role)?;
            let bytes = targets_bytes(next).with_context(|| role_path.display().to_string())?;
            batch.add(&role_path, &bytes)?;
            restaged += 1;
        }
    }
    write_with_delegator(batch, &path, targets, "staging the re-keyed roles")?;
    say!(
        "re-keyed {name} ({threshold} of {n} keys) in {file} ({from} v{version}, unsigned); {restaged} role file(s) staged anew for the new keys to sign"
    );
    Ok(())
}

/// `--remove`: the delegation leaves the delegator (keys no other role
/// uses go too; a delegator left with no roles has no `delegations`), and
/// the role's staged file is deleted. From the next commit on no client
/// reaches it and no new version of it is published; its published
/// versioned files stay (immutable), and the snapshot keeps its entry at
/// the last version, as clients refuse a snapshot that drops one.
fn remove(
    repo: &Repo,
    config: &Config,
    graph: &Graph,
    from: &str,
    name: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let (mut targets, path) = role_to_edit(repo, config, now, from)?;
    let file = path.display().to_string();
    let version = targets.common.version;
    let Some(delegations) = targets.delegations.as_mut() else {
        bail!("{file}: {from} v{version} delegates to no role");
    };
    let succinct =
        matches!(&delegations.roles, DelegatedRoles::Succinct(s) if s.name_prefix == name);
    let removed = match &mut delegations.roles {
        _ if succinct => role_names(delegations),
        DelegatedRoles::Listed(list) if list.iter().any(|r| r.name == name) => {
            list.retain(|r| r.name != name);
            vec![name.to_owned()]
        }
        _ => bail!("{file}: {from} v{version} does not delegate to {name:?}"),
    };
    let empty = succinct || matches!(&delegations.roles, DelegatedRoles::Listed(l) if l.is_empty());
    if empty {
        targets.delegations = None;
    } else {
        prune_keys(delegations);
    }
    write_targets(&path, targets)?;
    for role in &removed {
        if graph.find(role).is_none() {
            continue;
        }
        let staged = repo.staged_file(&format!("{}.json", file_stem(role)));
        match std::fs::remove_file(&staged) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("{}: cannot remove", staged.display()));
            }
        }
    }
    say!(
        "removed the delegation to {name} from {file} ({from} v{version}, unsigned); after commit no client reaches it (its published files stay)"
    );
    Ok(())
}

/// Adds the delegator (`targets` at `path`) last to `batch`, after the
/// roles it names, and writes them all durably together.
fn write_with_delegator(
    mut batch: BatchWriter,
    path: &std::path::Path,
    targets: Targets,
    what: &str,
) -> Result<()> {
    let file = path.display();
    batch.add(
        path,
        &targets_bytes(targets).with_context(|| file.to_string())?,
    )?;
    batch.commit().with_context(|| format!("{file}: {what}"))?;
    Ok(())
}

/// A delegated role's name is also its file name: plain characters only,
/// and never a top-level role's.
fn check_role_name(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !plain {
        bail!("role name {name:?}: use 1 to 64 of A-Z a-z 0-9 - _ . (not starting with .)");
    }
    if ["root", "targets", "snapshot", "timestamp", "manifest"].contains(&name) {
        bail!("role name {name:?} is reserved");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_plain_file_names_and_never_top_level() {
        for good in ["team", "bins", "a.b_c-9"] {
            assert!(check_role_name(good).is_ok(), "{good}");
        }
        for bad in ["", "../x", "a/b", ".hidden", "targets", "root", "é"] {
            assert!(check_role_name(bad).is_err(), "{bad}");
        }
    }
}
