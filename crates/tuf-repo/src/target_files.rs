//! `tuf-repo add-target` and `remove-target`: edit the staged top-level
//! targets metadata. The first edit after a publication starts from the
//! published targets V and stages V+1; further edits change that same V+1
//! (one version bump per staging round). Every edit resets the expiry from
//! the configuration and drops the signatures merged so far, since the
//! signed content changed. A target file waits in `staged/targets/<sha256>`
//! (named by content) until `commit` copies it to the consistent-snapshot
//! name `repository/targets/<dir>/<sha256>.<basename>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use metadata_io::{read_capped, write_atomically};
use time::OffsetDateTime;
use tuf_metadata::common::target_path_problem;
use tuf_metadata::files::sha256_hex;
use tuf_metadata::{
    DelegatedRoles, Delegations, Limits, Metadata, Object, RoleScope, TargetFile, Targets, Value,
    json,
};

use crate::clock::{AtArgs, expires_in_days, now_or};
use crate::config::Config;
use crate::graph::Graph;
use crate::layout::{Repo, load_any};

/// The largest target file `add-target` copies and `import` reads (1 GiB).
pub const MAX_TARGET_BYTES: usize = 1 << 30;
/// The largest `--custom` JSON file.
const MAX_CUSTOM_BYTES: usize = 1 << 20;

/// Arguments of `add-target`.
#[derive(ClapArgs)]
pub struct AddArgs {
    /// The repository directory.
    pub(crate) repo: PathBuf,
    /// The file to publish as a target.
    file: PathBuf,
    /// The target path clients ask for (default: the file's name).
    #[arg(long, value_name = "target-path")]
    name: Option<String>,
    /// The target's `custom` field: a JSON file, or the JSON itself
    /// (`--custom '{"tag": "v1"}'`, as go-tuf takes it) when no such file
    /// exists.
    #[arg(long, value_name = "custom.json|json")]
    custom: Option<PathBuf>,
    /// Put the target in this delegated role instead of the top-level
    /// targets; a succinct delegation's name prefix picks the target's bin.
    #[arg(long, value_name = "role")]
    role: Option<String>,
    #[command(flatten)]
    at: AtArgs,
}

/// Arguments of `remove-target`.
#[derive(ClapArgs)]
pub struct RemoveArgs {
    /// The repository directory.
    pub(crate) repo: PathBuf,
    /// The target path to remove.
    #[arg(value_name = "target-path")]
    target: String,
    /// Remove it from this delegated role instead of the top-level
    /// targets; a succinct delegation's name prefix picks the target's bin.
    #[arg(long, value_name = "role")]
    role: Option<String>,
    #[command(flatten)]
    at: AtArgs,
}

/// Where a target file's bytes wait until `commit`: `staged/targets/<sha256>`.
pub fn staged_blob(repo: &Repo, sha256: &str) -> PathBuf {
    repo.staged().join("targets").join(sha256)
}

/// The consistent-snapshot name of a target under `repository/targets/`:
/// `<dir>/<sha256>.<basename>` (TUF spec 5.7.4; python-tuf's client asks for it).
pub fn published_blob_name(target_path: &str, sha256: &str) -> String {
    match target_path.rsplit_once('/') {
        Some((dir, base)) => format!("targets/{dir}/{sha256}.{base}"),
        None => format!("targets/{sha256}.{target_path}"),
    }
}

/// Runs `add-target`.
pub fn run_add(args: &AddArgs) -> Result<()> {
    let now = now_or(args.at);
    let repo = Repo::new(&args.repo);
    let config = Config::load(&args.repo)?;
    let file = args.file.display().to_string();
    let name = match &args.name {
        Some(name) => name.clone(),
        None => args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .with_context(|| format!("{file}: has no file name; give --name"))?,
    };
    if let Some(why) = target_path_problem(&name) {
        bail!("target path {name:?} is refused: {why}");
    }
    // Capped: a device or a growing file is not read forever.
    let bytes = metadata_io::read_capped(&args.file, MAX_TARGET_BYTES).map_err(|e| match e {
        metadata_io::ReadError::TooLarge { .. } => {
            anyhow::anyhow!("{file}: larger than {MAX_TARGET_BYTES} bytes")
        }
        other => anyhow::anyhow!("{file}: {other}"),
    })?;
    let sha256 = sha256_hex(&bytes);
    let mut unrecognized = Object::new();
    if let Some(custom) = &args.custom {
        unrecognized.insert("custom".into(), read_custom(custom)?);
    }
    let role = match &args.role {
        Some(role) => delegated_role_for(&repo, role, &name)?,
        None => "targets".to_owned(),
    };
    let (mut targets, path) = role_to_edit(&repo, &config, now, &role)?;
    let replaced = targets
        .targets
        .insert(
            name.clone(),
            TargetFile {
                length: bytes.len() as u64,
                hashes: BTreeMap::from([("sha256".to_owned(), sha256.clone())]),
                unrecognized,
            },
        )
        .is_some();
    let version = targets.common.version;
    // The new metadata is made and checked before anything is written, so
    // a refusal (a --custom value too deep once inside the file) leaves
    // neither a blob nor a file behind.
    let metadata = targets_bytes(targets).with_context(|| {
        format!(
            "target {name}: {role} v{version} would not be valid metadata; nothing was written to {}",
            path.display()
        )
    })?;
    let blob = staged_blob(&repo, &sha256);
    if let Some(dir) = blob.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    write_atomically(&blob, &bytes).with_context(|| blob.display().to_string())?;
    write_atomically(&path, &metadata).with_context(|| path.display().to_string())?;
    let verb = if replaced { "replaced" } else { "added" };
    say!(
        "{verb} target {name} ({} bytes, sha256 {sha256}) in {} ({role} v{version}, unsigned)",
        bytes.len(),
        path.display()
    );
    Ok(())
}

/// Runs `remove-target`.
pub fn run_remove(args: &RemoveArgs) -> Result<()> {
    let now = now_or(args.at);
    let repo = Repo::new(&args.repo);
    let config = Config::load(&args.repo)?;
    let role = match &args.role {
        Some(role) => removal_role(&repo, role, &args.target)?,
        None => "targets".to_owned(),
    };
    let (mut targets, path) = role_to_edit(&repo, &config, now, &role)?;
    let version = targets.common.version;
    if targets.targets.remove(&args.target).is_none() {
        bail!(
            "{}: {role} v{version} has no target {:?}",
            path.display(),
            args.target
        );
    }
    write_targets(&path, targets)?;
    say!(
        "removed target {} in {} ({role} v{version}, unsigned)",
        args.target,
        path.display()
    );
    Ok(())
}

/// The targets-type role to edit, top-level or delegated: the staged file
/// when its version is not yet published, otherwise the latest published
/// one as version V+1. The expiry is reset either way.
pub fn role_to_edit(
    repo: &Repo,
    config: &Config,
    now: OffsetDateTime,
    role: &str,
) -> Result<(Targets, PathBuf)> {
    let staged = repo.staged_file(&format!("{role}.json"));
    let published = repo.latest_version(role)?;
    let mut targets = if staged.exists() {
        let (_, md) = load_any(&staged)?;
        let targets = md
            .into_targets()
            .with_context(|| staged.display().to_string())?;
        let version = targets.signed().common.version;
        if published.is_none_or(|p| version > p) {
            Some(targets.signed().clone())
        } else {
            None
        }
    } else {
        None
    };
    if targets.is_none() {
        let Some(p) = published else {
            bail!(
                "{}: no targets metadata is staged or published; run `tuf-repo init` first",
                staged.display()
            );
        };
        let path = repo.published_file(&format!("{p}.{role}.json"));
        let (_, md) = load_any(&path)?;
        let mut next = md
            .into_targets()
            .with_context(|| path.display().to_string())?
            .signed()
            .clone();
        next.common.version = p + 1;
        targets = Some(next);
    }
    let mut targets = targets.expect("set above");
    targets.common.expires = expires_in_days(now, config.expiry.targets);
    Ok((targets, staged))
}

/// The delegated role `add-target --role` edits: `role` itself if the
/// delegation graph in force reaches it and its delegator trusts it for
/// `target` (the one delegation rule, [`Delegations::delegates`]: a `paths`
/// pattern matches, a hash prefix is a prefix of SHA-256(target path), or
/// it is the bin the target hashes to), or, when `role` is a succinct
/// delegation's name prefix, the bin `target` hashes to. Anything else is
/// refused naming the patterns or the bin.
fn delegated_role_for(repo: &Repo, role: &str, target: &str) -> Result<String> {
    let graph = load_graph(repo)?;
    if let Some(bin) = bin_of_prefix(&graph, role, target) {
        return Ok(bin);
    }
    let i = reached(&graph, role)?;
    let delegator = graph.delegator_of(i).expect("a delegated role");
    let delegations = delegator
        .targets
        .delegations
        .as_ref()
        .expect("the delegator delegates");
    if !delegations.delegates(role, target) {
        bail!(
            "{}",
            not_trusted_for(delegations, role, target, &delegator.label)
        );
    }
    Ok(role.to_owned())
}

/// Why `delegations` (of the role labelled `label`) does not trust `role`
/// for `target`, naming the patterns, hash prefixes or the right bin.
fn not_trusted_for(delegations: &Delegations, role: &str, target: &str, label: &str) -> String {
    match &delegations.roles {
        DelegatedRoles::Succinct(bins) => {
            let bin = bins.bin_for_target(target);
            format!("target {target:?} belongs in bin {bin}, not {role}")
        }
        DelegatedRoles::Listed(list) => {
            let entry = list.iter().find(|r| r.name == role).expect("listed");
            match &entry.scope {
                RoleScope::Paths(patterns) => format!(
                    "target {target:?} matches none of {role}'s paths in {label}: {}",
                    patterns.join(", ")
                ),
                RoleScope::HashPrefixes(prefixes) => format!(
                    "target {target:?} (path sha256 {}) has none of {role}'s hash prefixes in {label}: {}",
                    sha256_hex(target.as_bytes()),
                    prefixes.join(", ")
                ),
            }
        }
    }
}

/// The role `remove-target --role` edits: a role the graph reaches, or
/// the bin of a succinct delegation's name prefix the target hashes to.
fn removal_role(repo: &Repo, role: &str, target: &str) -> Result<String> {
    let graph = load_graph(repo)?;
    if let Some(bin) = bin_of_prefix(&graph, role, target) {
        return Ok(bin);
    }
    reached(&graph, role)?;
    Ok(role.to_owned())
}

fn load_graph(repo: &Repo) -> Result<Graph> {
    Graph::load(repo)?.with_context(|| {
        "no targets metadata is staged or published; run `tuf-repo init` first".to_owned()
    })
}

/// The bin `target` hashes to, if `prefix` is the name prefix of a
/// succinct delegation in the graph.
fn bin_of_prefix(graph: &Graph, prefix: &str, target: &str) -> Option<String> {
    let p = graph.succinct_parent(prefix)?;
    match graph.roles[p]
        .targets
        .delegations
        .as_ref()
        .map(|d| &d.roles)
    {
        Some(DelegatedRoles::Succinct(bins)) => Some(bins.bin_for_target(target)),
        _ => None,
    }
}

/// The index of delegated role `role` in the graph, refused when the
/// graph does not reach it (or it is the top-level targets).
fn reached(graph: &Graph, role: &str) -> Result<usize> {
    match graph.find(role).filter(|&i| i > 0) {
        Some(i) => Ok(i),
        None => bail!(
            "{} does not delegate to {role:?} (directly or further down)",
            graph.roles[0].label
        ),
    }
}

/// Writes targets-type metadata (unsigned) after checking it reads back strictly.
pub fn write_targets(path: &Path, targets: Targets) -> Result<()> {
    let bytes = targets_bytes(targets).with_context(|| path.display().to_string())?;
    write_atomically(path, &bytes).with_context(|| path.display().to_string())
}

/// The file bytes of unsigned targets-type metadata, refused unless they
/// read back strictly, as commit and the appliance will read them.
pub(crate) fn targets_bytes(targets: Targets) -> Result<Vec<u8>> {
    let bytes = json::to_pretty(&Metadata::new(targets).to_value());
    Metadata::parse(&bytes, &Limits::ANY)?;
    Ok(bytes)
}

/// `--custom`: the file it names, or, when there is no such file, the
/// argument itself as JSON.
fn read_custom(arg: &Path) -> Result<Value> {
    use std::os::unix::ffi::OsStrExt as _;
    if std::fs::symlink_metadata(arg).is_err() {
        let text = arg.as_os_str().as_bytes();
        return json::parse(text, MAX_CUSTOM_BYTES)
            .context("--custom: no such file, and not JSON either");
    }
    let file = arg.display().to_string();
    let bytes = read_capped(arg, MAX_CUSTOM_BYTES).with_context(|| file.clone())?;
    json::parse(&bytes, MAX_CUSTOM_BYTES).with_context(|| format!("{file}: --custom"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_is_a_file_or_inline_json() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("custom.json");
        std::fs::write(&file, br#"{"tag": "v1"}"#).unwrap();
        let from_file = read_custom(&file).unwrap();
        let inline = read_custom(Path::new(r#"{"tag": "v1"}"#)).unwrap();
        assert_eq!(from_file, inline);
        let err = read_custom(&dir.path().join("missing.json")).unwrap_err();
        assert!(
            format!("{err:#}").starts_with("--custom: no such file, and not JSON either"),
            "{err:#}"
        );
    }

    #[test]
    fn custom_nested_too_deep_for_the_whole_file_is_refused_before_writing() {
        // Under the reader's nesting limit (128) on its own, over it once
        // inside signed.targets.<path>.custom.
        let depth = 125;
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let custom = json::parse(text.as_bytes(), MAX_CUSTOM_BYTES).unwrap();
        let mut targets = Targets {
            common: tuf_metadata::Common {
                spec_version: "1.0.31".into(),
                version: 1,
                expires: tuf_metadata::Expires::parse("2030-01-01T00:00:00Z").unwrap(),
            },
            targets: BTreeMap::new(),
            delegations: None,
            unrecognized: Object::new(),
        };
        targets.targets.insert(
            "a".into(),
            TargetFile {
                length: 1,
                hashes: BTreeMap::from([("sha256".to_owned(), "00".repeat(32))]),
                unrecognized: Object::from([("custom".to_owned(), custom)]),
            },
        );
        assert!(targets_bytes(targets).is_err());
    }

    #[test]
    fn published_names_put_the_hash_before_the_basename() {
        assert_eq!(published_blob_name("a.txt", "ab"), "targets/ab.a.txt");
        assert_eq!(
            published_blob_name("keys/log/pub.pem", "cd"),
            "targets/keys/log/cd.pub.pem"
        );
    }
}
