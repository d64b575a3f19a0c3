//! `tuf-repo delegate`: a named delegation (paths or hash prefixes) or a
//! TAP 15 succinct hash-bin delegation from the top-level targets. The
//! delegation goes into `staged/targets.json` (one version bump per staging
//! round, like `add-target`) and every new delegated role is staged as
//! `staged/<role>.json`: no targets, version 1, the configured targets
//! expiry, unsigned. `stage` puts them all in one bundle; the keys that sign
//! them are the ones this delegation lists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use metadata_io::write_atomically;
use time::OffsetDateTime;
use tuf_metadata::{
    Common, DelegatedRole, DelegatedRoles, Delegations, Key, KeyId, Limits, Metadata, Object,
    RoleKeys, RoleScope, SuccinctRoles, Targets, json,
};

use crate::clock::{expires_in_days, now_or, parse_time};
use crate::config::Config;
use crate::init::SPEC_VERSION;
use crate::keys::read_public_key_file;
use crate::layout::Repo;
use crate::target_files::{targets_to_edit, write_targets};

/// The most bins a succinct delegation may have (2^14, PEP 458's 16,384).
pub const MAX_BINS: u64 = 1 << 14;

/// Arguments of `delegate`.
#[derive(ClapArgs)]
pub struct Args {
    /// The repository directory.
    repo: PathBuf,
    /// The delegated role's name (named delegation).
    #[arg(long, value_name = "role", required_unless_present = "succinct")]
    name: Option<String>,
    /// A key of the delegated role(s), as `ceremony onboard` wrote it.
    #[arg(long, value_name = "pub.json", required = true)]
    key: Vec<PathBuf>,
    /// How many distinct keys must sign each delegated role.
    #[arg(long, value_name = "n")]
    threshold: u64,
    /// A path pattern the role is trusted for (named delegation).
    #[arg(long, value_name = "glob", conflicts_with_all = ["hash_prefixes", "succinct"])]
    paths: Vec<String>,
    /// A hex prefix of SHA-256(target path) the role is trusted for.
    #[arg(long, value_name = "hex", conflicts_with = "succinct")]
    hash_prefixes: Vec<String>,
    /// Stop the search at this role when it matches.
    #[arg(long, conflicts_with = "succinct")]
    terminating: bool,
    /// A succinct hash-bin delegation (TAP 15) instead of a named one.
    #[arg(long, requires_all = ["bins", "name_prefix"], conflicts_with = "name")]
    succinct: bool,
    /// How many bins: a power of two from 2 to 16384.
    #[arg(long, value_name = "N")]
    bins: Option<u64>,
    /// Bins are named `<prefix>-<hex>`.
    #[arg(long, value_name = "prefix")]
    name_prefix: Option<String>,
    /// The time expiries count from (RFC 3339); default now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    at: Option<OffsetDateTime>,
}

/// Every role name a delegation delegates, in order (all bins for a
/// succinct one).
pub fn role_names(delegations: &Delegations) -> Vec<String> {
    match &delegations.roles {
        DelegatedRoles::Listed(list) => list.iter().map(|r| r.name.clone()).collect(),
        DelegatedRoles::Succinct(s) => (0..s.bin_count()).map(|n| s.bin_name(n)).collect(),
    }
}

/// Runs the command.
pub fn run(args: &Args) -> Result<()> {
    let now = now_or(args.at);
    let repo = Repo::new(&args.repo);
    let config = Config::load(&args.repo)?;
    let (mut targets, path) = targets_to_edit(&repo, &config, now)?;
    let mut keys: BTreeMap<KeyId, Key> = BTreeMap::new();
    for file in &args.key {
        let key = read_public_key_file(file)?;
        let id = key.key_id();
        if keys.insert(id.clone(), key).is_some() {
            bail!("{}: key {id} is given twice", file.display());
        }
    }
    let n = keys.len() as u64;
    if args.threshold == 0 || args.threshold > n {
        bail!(
            "--threshold {} with {n} distinct keys: it must be from 1 to {n}",
            args.threshold
        );
    }
    let role_keys = RoleKeys {
        keyids: keys.keys().cloned().collect(),
        threshold: args.threshold,
        unrecognized: Object::new(),
    };
    let version = targets.common.version;
    let file = path.display().to_string();
    let new_roles = if args.succinct {
        if targets.delegations.is_some() {
            bail!(
                "{file}: targets v{version} already delegates; a succinct delegation must be the only one"
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
        targets.delegations = Some(delegations);
        names
    } else {
        let name = args.name.clone().expect("clap requires --name");
        check_role_name(&name)?;
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
            bail!("{file}: targets v{version} delegates to hash bins; named roles cannot be added");
        };
        if list.iter().any(|r| r.name == name) {
            bail!("{file}: targets v{version} already delegates to {name:?}");
        }
        list.push(DelegatedRole {
            name: name.clone(),
            keys: role_keys,
            terminating: args.terminating,
            scope,
        });
        delegations.keys.extend(keys);
        vec![name]
    };
    // The delegated roles first: a targets file naming roles that are not
    // staged would be refused by `stage`.
    let expires = expires_in_days(now, config.expiry.targets);
    let empty = Metadata::new(Targets {
        common: Common {
            spec_version: SPEC_VERSION.into(),
            version: 1,
            expires,
        },
        targets: BTreeMap::new(),
        delegations: None,
        unrecognized: Object::new(),
    });
    let bytes = json::to_pretty(&empty.to_value());
    Metadata::parse(&bytes, &Limits::ANY).context("an empty delegated role")?;
    for name in &new_roles {
        write_role(&repo.staged_file(&format!("{name}.json")), &bytes)?;
    }
    write_targets(&path, targets)?;
    let first = new_roles.first().map(String::as_str).unwrap_or_default();
    let last = new_roles.last().map(String::as_str).unwrap_or_default();
    let what = if new_roles.len() == 1 {
        first.to_owned()
    } else {
        format!("{} roles {first} .. {last}", new_roles.len())
    };
    println!(
        "delegated {what} ({} of {n} keys) in {file} (targets v{version}, unsigned); staged v1 of each in {}",
        args.threshold,
        repo.staged().display()
    );
    Ok(())
}

fn write_role(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
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

/// The latest published version of every role, from one listing of
/// `repository/` (`<n>.<role>.json`): a 16,384-bin tree is too many roles
/// to list the directory once per role.
pub fn published_versions(repo: &Repo) -> Result<BTreeMap<String, u64>> {
    let dir = repo.published();
    let mut versions = BTreeMap::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(versions),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot list", dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("{}: cannot list", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_suffix(".json") else {
            continue;
        };
        let Some((n, role)) = rest.split_once('.') else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        let v = versions.entry(role.to_owned()).or_insert(n);
        *v = (*v).max(n);
    }
    Ok(versions)
}

/// The top-level targets whose delegations are in force for the next
/// commit: the staged ones when their version is not published yet,
/// otherwise the latest published ones. With their bytes, the path a
/// bundle carries them under, and a label for people.
pub struct Delegator {
    /// The parsed targets.
    pub targets: Targets,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// `staged/targets.json` or `repository/<v>.targets.json`.
    pub bundle_path: String,
    /// e.g. "targets v3 (staged)".
    pub label: String,
}

impl Delegator {
    /// The delegating targets, if there are any targets at all.
    pub fn load(repo: &Repo) -> Result<Option<Delegator>> {
        let published = repo.latest_version("targets")?;
        let staged = repo.staged_file("targets.json");
        if staged.exists() {
            let (bytes, md) = crate::layout::load_any(&staged)?;
            let targets = md
                .into_targets()
                .with_context(|| staged.display().to_string())?
                .signed()
                .clone();
            let v = targets.common.version;
            if published.is_none_or(|p| v > p) {
                return Ok(Some(Delegator {
                    targets,
                    bytes,
                    bundle_path: "staged/targets.json".into(),
                    label: format!("targets v{v} (staged)"),
                }));
            }
        }
        let Some(v) = published else { return Ok(None) };
        let name = format!("{v}.targets.json");
        let (bytes, md) = crate::layout::load_any(&repo.published_file(&name))?;
        let targets = md.into_targets().context(name.clone())?.signed().clone();
        Ok(Some(Delegator {
            targets,
            bytes,
            bundle_path: format!("repository/{name}"),
            label: format!("targets v{v}"),
        }))
    }

    /// The anchor that names `role`'s keys.
    pub fn anchor<'a>(&'a self, role: &'a str) -> tuf_metadata::signing::Anchor<'a> {
        tuf_metadata::signing::Anchor::Delegator {
            targets: &self.targets,
            label: &self.label,
            role,
        }
    }
}

/// Every delegated role staged and not yet published, each with its bytes
/// and manifest item: checked against the delegator's keys with the same
/// [`tuf_metadata::signing::SigningPlan`] the appliance uses. A role the
/// delegator names that is neither staged nor published is refused.
pub fn unsigned_delegated(
    repo: &Repo,
    delegator: &Delegator,
    now: OffsetDateTime,
) -> Result<Vec<(Vec<u8>, crate::manifest::Item)>> {
    let Some(delegations) = &delegator.targets.delegations else {
        return Ok(Vec::new());
    };
    let published = published_versions(repo)?;
    let mut out = Vec::new();
    for name in role_names(delegations) {
        let path = repo.staged_file(&format!("{name}.json"));
        let file = path.display().to_string();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if published.contains_key(&name) {
                    continue;
                }
                bail!(
                    "{file}: {} delegates to {name:?}, which is neither staged nor published",
                    delegator.label
                );
            }
            Err(e) => return Err(e).with_context(|| format!("{file}: cannot read")),
        };
        if bytes.len() > Limits::ANY.max_bytes {
            bail!("{file}: larger than {} bytes", Limits::ANY.max_bytes);
        }
        let plan =
            tuf_metadata::signing::SigningPlan::with_anchor(&bytes, delegator.anchor(&name), now)
                .with_context(|| format!("{file}: the appliance would refuse it"))?;
        let version = plan.metadata().signed().common().version;
        if published.get(&name).is_some_and(|&p| p >= version) {
            continue;
        }
        let mut item = crate::manifest::Item::from_plan(&format!("staged/{name}.json"), &plan);
        item.delegator = Some(delegator.bundle_path.clone());
        out.push((bytes, item));
    }
    Ok(out)
}

/// A delegated role `commit` installs: its name, version, file bytes and
/// parsed targets.
pub struct NewRole {
    /// The role's name.
    pub name: String,
    /// Its version.
    pub version: u64,
    /// The signed file's bytes.
    pub bytes: Vec<u8>,
    /// What it lists.
    pub targets: Targets,
}

/// The delegated roles of `targets` to install at commit: each staged one
/// whose version is not published, checked against the threshold that
/// `targets` delegates to it. A delegated role that is neither staged nor
/// published is refused: a client looking for a target there would fail.
pub fn roles_to_commit(
    repo: &Repo,
    targets: &Targets,
    now: OffsetDateTime,
) -> Result<Vec<NewRole>> {
    let Some(delegations) = &targets.delegations else {
        return Ok(Vec::new());
    };
    let published = published_versions(repo)?;
    let ring = tuf_metadata::KeyRing::new(&delegations.keys);
    let by = format!("targets v{}", targets.common.version);
    let mut out = Vec::new();
    for name in role_names(delegations) {
        let path = repo.staged_file(&format!("{name}.json"));
        let file = path.display().to_string();
        if !path.exists() {
            if published.contains_key(&name) {
                continue;
            }
            bail!("{file}: {by} delegates to {name:?}, which is neither staged nor published");
        }
        let bytes =
            metadata_io::read_capped(&path, Limits::ANY.max_bytes).with_context(|| file.clone())?;
        let role = Metadata::parse(&bytes, &Limits::ANY)
            .and_then(|m| Ok(m.into_targets()?))
            .with_context(|| file.clone())?;
        let version = role.signed().common.version;
        if published.get(&name).is_some_and(|&p| p >= version) {
            continue;
        }
        let keys = delegations
            .role_keys(&name)
            .expect("listed by this delegation");
        let report = ring.check(keys, role.signed_bytes(), role.signatures());
        if !report.is_met() {
            bail!(
                "{file}: {name} v{version}: threshold of {by}'s delegation not met: {report} distinct keys"
            );
        }
        let common = &role.signed().common;
        if common.expires.is_expired_at(now) {
            bail!(
                "{file}: {name} v{version} expired at {}",
                common.expires.as_str()
            );
        }
        out.push(NewRole {
            name,
            version,
            bytes,
            targets: role.signed().clone(),
        });
    }
    Ok(out)
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

    #[test]
    fn published_versions_come_from_one_listing() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(dir.path());
        assert!(published_versions(&repo).unwrap().is_empty());
        std::fs::create_dir_all(repo.published()).unwrap();
        for name in [
            "1.root.json",
            "2.root.json",
            "1.bins-0a.json",
            "3.targets.json",
            "timestamp.json",
            "x.y.json",
        ] {
            std::fs::write(repo.published_file(name), b"{}").unwrap();
        }
        let versions = published_versions(&repo).unwrap();
        let expected: BTreeMap<String, u64> = [("root", 2), ("bins-0a", 1), ("targets", 3)]
            .into_iter()
            .map(|(r, v)| (r.to_owned(), v))
            .collect();
        assert_eq!(versions, expected);
    }
}
