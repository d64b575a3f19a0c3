//! `tuf-repo stage-rotation`: root N+1 from the latest trusted root N (or,
//! for a new repository, the staged root v1 itself), with key changes, a
//! version bump and a fresh expiry; written to `staged/root.json` and, with
//! the trusted history and the manifest, as a ceremony bundle on a stick.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use cli_common::{AttestationRootArgs, parse_days};
use metadata_io::{BatchWriter, read_capped, write_atomically};
use time::OffsetDateTime;
use tuf_metadata::signing::{Anchor, SigningPlan};
use tuf_metadata::threshold::short_id;
use tuf_metadata::{Limits, Metadata, Root, json};

use crate::clock::{AtArgs, expires_in_days, now_or, rfc3339};
use crate::config::Config;
use crate::keys::{add_key, check_key_set, check_signable, read_public_key_file, remove_key};
use crate::layout::{Repo, load_any, load_root};
use crate::manifest::{Item, Manifest};

/// The bundle directory's name on a stick.
pub use bundle_format::layout::BUNDLE_DIR;

/// Arguments of `stage-rotation`.
#[derive(ClapArgs)]
pub struct Args {
    /// The repository directory.
    pub(crate) repo: PathBuf,
    /// The stick (or any directory) to write `tuf-ceremony/` into.
    #[arg(long = "stick", alias = "out", value_name = "dir")]
    out: PathBuf,
    /// A root key to add, as `ceremony onboard` wrote it.
    #[arg(long, value_name = "pub.json")]
    add_root_key: Vec<PathBuf>,
    /// A root key to remove: its key id or a unique prefix.
    #[arg(long, value_name = "keyid")]
    remove_root_key: Vec<String>,
    /// The new root threshold (default: unchanged).
    #[arg(long, value_name = "n")]
    root_threshold: Option<u64>,
    /// Remove each --remove-root-key from the targets role too (root's
    /// `roles.targets`), refused if the targets threshold cannot be met;
    /// without it, a root key that still signs targets is a warning.
    #[arg(long, requires = "remove_root_key")]
    also_targets: bool,
    /// A targets key to add.
    #[arg(long, value_name = "pub.json")]
    add_targets_key: Vec<PathBuf>,
    /// A targets key to remove: its key id or a unique prefix.
    #[arg(long, value_name = "keyid")]
    remove_targets_key: Vec<String>,
    /// The new targets threshold (default: unchanged).
    #[arg(long, value_name = "n")]
    targets_threshold: Option<u64>,
    /// Days the new root is valid (default: the configuration's).
    #[arg(
        long = "root-expires-days",
        alias = "expires-days",
        value_name = "days",
        value_parser = parse_days
    )]
    expires_days: Option<u32>,
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
    let bundle = args.out.join(BUNDLE_DIR);
    refuse_existing_bundle(&bundle)?;
    let trusted = repo.latest_root()?;
    if let Some(staged) = already_staged(&repo, trusted.as_ref())? {
        return restage(args, &repo, trusted.as_ref(), &staged);
    }
    let mut root = match &trusted {
        Some(trusted) => {
            let mut root = trusted.signed().clone();
            root.common.version += 1;
            root
        }
        None => {
            let path = repo.staged_file("root.json");
            let staged = load_root(&path)?;
            let version = staged.signed().common.version;
            if version != 1 {
                bail!(
                    "{}: no root is published yet, so the staged root must be version 1, found {version}",
                    path.display()
                );
            }
            staged.signed().clone()
        }
    };
    // Keys in force before this rotation: only new ones must be portable.
    let mut before = root.keys.clone();
    apply_changes(&mut root, args)?;
    for (listed, actual) in corrected_key_ids(&mut root, &mut before) {
        say!(
            "note: root v{} lists a key under {listed}, which is not its id; root v{} lists it as {actual} (signing records both ids)",
            root.common.version - 1,
            root.common.version
        );
    }
    let days = args.expires_days.unwrap_or(config.expiry.root);
    let (root_md, root_bytes, plan) =
        checked_root(&repo, trusted.as_ref(), root, &before, days, now)?;
    let version = root_md.signed().common.version;
    let mut items = vec![Item::from_plan("staged/root.json", &plan)];
    let mut copies = vec![("staged/root.json".to_owned(), root_bytes.clone())];
    if let Some((bytes, item)) = unsigned_targets(&repo, Anchor::Staged(&root_md), now)? {
        copies.push((item.file.clone(), bytes));
        items.push(item);
    }
    push_delegated(&repo, &mut items, &mut copies, now)?;
    attach_published(&repo, &mut items, &mut copies)?;
    let root_file = (repo.staged_file("root.json"), root_bytes);
    write_ceremony(
        &repo,
        &config,
        &args.repo,
        &bundle,
        trusted.as_ref(),
        Some(root_file),
        items,
        copies,
        now,
    )?;
    say!(
        "staged root v{version} in {}",
        repo.staged_file("root.json").display()
    );
    Ok(())
}

/// Root N+1 as `stage-rotation` finishes it: the key set audited (only
/// keys not in `before` must be portable), a fresh expiry of `days`, every
/// threshold signable, and the appliance's own signing plan made for it.
fn checked_root(
    repo: &Repo,
    trusted: Option<&Metadata<Root>>,
    mut root: Root,
    before: &std::collections::BTreeMap<tuf_metadata::KeyId, tuf_metadata::Key>,
    days: u32,
    now: OffsetDateTime,
) -> Result<(Metadata<Root>, Vec<u8>, SigningPlan)> {
    let file = repo.staged_file("root.json");
    check_key_set(tuf_metadata::audit_root(&root), before)
        .with_context(|| format!("{}: root v{}", file.display(), root.common.version))?;
    root.common.expires = expires_in_days(now, days);
    check_signable(&root).with_context(|| format!("{}", file.display()))?;
    let version = root.common.version;
    let root_md = Metadata::new(root);
    let root_bytes = json::to_pretty(&root_md.to_value());
    let plan = SigningPlan::new(&root_bytes, trusted, now).with_context(|| {
        format!(
            "{}: root v{version}: the appliance would refuse it",
            file.display()
        )
    })?;
    Ok((root_md, root_bytes, plan))
}

/// Stages root N+1 in `<dir>/staged/root.json` that hands the snapshot and
/// timestamp roles to `online` (each role: that key alone, threshold 1),
/// everything else as in root N: what `import` stages when the imported
/// repository's online keys are held elsewhere, so the first ceremony
/// under this tool moves them here. The bundle is written later by
/// `tuf-repo stage`. A key id of root N that is not its key's id is
/// corrected in N+1 (see [`crate::keys::correct_key_ids`]).
pub fn stage_online_handover(
    dir: &Path,
    online: [(&str, tuf_metadata::Key); 2],
    now: OffsetDateTime,
) -> Result<Handover> {
    let repo = Repo::new(dir);
    let config = Config::load(dir)?;
    let Some(trusted) = repo.latest_root()? else {
        bail!(
            "{}: no root is published to hand the online roles over from",
            repo.published().display()
        );
    };
    if pending_root(&repo, Some(&trusted))?.is_some() {
        bail!(
            "{}: a root is already staged",
            repo.staged_file("root.json").display()
        );
    }
    let mut root = trusted.signed().clone();
    root.common.version += 1;
    let mut before = root.keys.clone();
    for (role, key) in online {
        let listed = root
            .role(role)
            .map(|r| r.keyids.clone())
            .unwrap_or_default();
        for id in listed {
            remove_key(&mut root, role, &id)?;
        }
        add_key(&mut root, role, key)?;
        root.roles
            .get_mut(role)
            .expect("a top-level role")
            .threshold = 1;
    }
    let corrected = corrected_key_ids(&mut root, &mut before);
    let (root_md, root_bytes, _) = checked_root(
        &repo,
        Some(&trusted),
        root,
        &before,
        config.expiry.root,
        now,
    )?;
    let path = repo.staged_file("root.json");
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("{}: cannot create", parent.display()))?;
    }
    write_atomically(&path, &root_bytes).with_context(|| path.display().to_string())?;
    Ok(Handover {
        version: root_md.signed().common.version,
        corrected,
    })
}

/// What [`stage_online_handover`] staged.
pub struct Handover {
    /// The staged root's version.
    pub version: u64,
    /// Key ids of the root before that were not their key's id:
    /// `(listed, corrected)`.
    pub corrected: Vec<(tuf_metadata::KeyId, tuf_metadata::KeyId)>,
}

/// [`crate::keys::correct_key_ids`] on the root being staged; the
/// corrected ids join `before` (the keys in force), since they name keys
/// already trusted, not new ones.
fn corrected_key_ids(
    root: &mut Root,
    before: &mut std::collections::BTreeMap<tuf_metadata::KeyId, tuf_metadata::Key>,
) -> Vec<(tuf_metadata::KeyId, tuf_metadata::KeyId)> {
    let corrected = crate::keys::correct_key_ids(root);
    for (listed, actual) in &corrected {
        if let Some(key) = before.get(listed).cloned() {
            before.insert(actual.clone(), key);
        }
    }
    corrected
}

/// Arguments of `stage`.
#[derive(ClapArgs)]
pub struct PendingArgs {
    /// The repository directory.
    pub(crate) repo: PathBuf,
    /// The stick (or any directory) to write `tuf-ceremony/` into.
    #[arg(long = "stick", alias = "out", value_name = "dir")]
    out: PathBuf,
    #[command(flatten)]
    at: AtArgs,
}

/// `stage`: a bundle of whatever is staged and not yet published — root
/// N+1 if one is pending, and the targets — without changing either.
/// Targets are keyed by the pending root if there is one, otherwise by the
/// published root N (signed with `ceremony sign --trusted repository/N.root.json`).
pub fn run_pending(args: &PendingArgs) -> Result<()> {
    stage_pending(&args.repo, &args.out, args.at)
}

fn stage_pending(dir: &Path, out: &Path, at: AtArgs) -> Result<()> {
    let now = now_or(at);
    let repo = Repo::new(dir);
    let config = Config::load(dir)?;
    let bundle = out.join(BUNDLE_DIR);
    refuse_existing_bundle(&bundle)?;
    let trusted = repo.latest_root()?;
    let pending = pending_root(&repo, trusted.as_ref())?;
    let mut items = Vec::new();
    let mut copies = Vec::new();
    if let Some((bytes, _)) = &pending {
        let path = repo.staged_file("root.json");
        let plan = SigningPlan::new(bytes, trusted.as_ref(), now)
            .with_context(|| format!("{}: the appliance would refuse it", path.display()))?;
        items.push(Item::from_plan("staged/root.json", &plan));
        copies.push(("staged/root.json".to_owned(), bytes.clone()));
    }
    let anchor = match (&pending, &trusted) {
        (Some((_, root)), _) => Anchor::Staged(root),
        (None, Some(trusted)) => Anchor::Trusted(trusted),
        (None, None) => bail!(
            "{}: nothing is published and no root v1 is staged; run `tuf-repo init` first",
            repo.staged_file("root.json").display()
        ),
    };
    if let Some((bytes, item)) = unsigned_targets(&repo, anchor, now)? {
        copies.push((item.file.clone(), bytes));
        items.push(item);
    }
    push_delegated(&repo, &mut items, &mut copies, now)?;
    attach_published(&repo, &mut items, &mut copies)?;
    if items.is_empty() {
        bail!(
            "{}: nothing is staged that is not published already; use add-target, remove-target or stage-rotation first",
            repo.staged().display()
        );
    }
    write_ceremony(
        &repo,
        &config,
        dir,
        &bundle,
        trusted.as_ref(),
        None,
        items,
        copies,
        now,
    )
}

/// The rotation already staged, if any: `staged/root.json` of a version
/// not published yet that a bundle was written for (with a trusted root,
/// any such file; for a new repository, the root v1 the last manifest
/// lists, not the one `init` left).
fn already_staged(repo: &Repo, trusted: Option<&Metadata<Root>>) -> Result<Option<Metadata<Root>>> {
    let Some((_, root)) = pending_root(repo, trusted)? else {
        return Ok(None);
    };
    if trusted.is_some() {
        return Ok(Some(root));
    }
    let path = repo.staged_file(bundle_format::layout::MANIFEST_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let manifest = Manifest::read(&path)?;
    let digest = root.signed_digest();
    let staged = manifest
        .items
        .iter()
        .any(|i| i.file == "staged/root.json" && i.canonical_sha256 == digest);
    Ok(staged.then_some(root))
}

/// `stage-rotation` while a rotation is staged: the same requested change
/// (the keys and thresholds the staged root already has, its expiry kept)
/// writes the identical bundle to this stick, as `tuf-repo stage` does, so
/// every stick carries one root and one digest; another change is refused,
/// saying what is staged.
fn restage(
    args: &Args,
    repo: &Repo,
    trusted: Option<&Metadata<Root>>,
    staged: &Metadata<Root>,
) -> Result<()> {
    let version = staged.signed().common.version;
    let mut wanted = match trusted {
        Some(t) => {
            let mut root = t.signed().clone();
            root.common.version += 1;
            root
        }
        None => staged.signed().clone(),
    };
    let same = apply_changes(&mut wanted, args).is_ok() && {
        wanted.common.expires = staged.signed().common.expires.clone();
        wanted == *staged.signed()
    };
    let file = repo.staged_file("root.json");
    if !same {
        bail!(
            "{}: root v{version} is already staged (canonical sha256 {}) with other changes; write it to this stick with `tuf-repo stage {} --stick {}`, or discard it (delete {}) and run stage-rotation again",
            file.display(),
            staged.signed_digest(),
            args.repo.display(),
            args.out.display(),
            file.display()
        );
    }
    say!(
        "root v{version} is already staged with these changes ({}); writing the same bundle",
        file.display()
    );
    stage_pending(&args.repo, &args.out, args.at)
}

/// `staged/root.json` with its bytes, when its version is not published yet
/// (root N+1 collecting signatures, or a new repository's v1).
pub fn pending_root(
    repo: &Repo,
    trusted: Option<&Metadata<Root>>,
) -> Result<Option<(Vec<u8>, Metadata<Root>)>> {
    let path = repo.staged_file("root.json");
    if trusted.is_some() && !path.exists() {
        return Ok(None);
    }
    let file = path.display().to_string();
    let bytes = read_capped(&path, Limits::ROOT.max_bytes).with_context(|| file.clone())?;
    let root = Metadata::parse_root(&bytes).with_context(|| file.clone())?;
    let version = root.signed().common.version;
    let published = trusted.map_or(0, |t| t.signed().common.version);
    Ok((version > published).then_some((bytes, root)))
}

/// Adds the delegated roles staged and not yet published, at any depth,
/// each keyed by the role that delegates it; a published delegator travels
/// in the bundle (`repository/V.<role>.json`) so the appliance can read the
/// keys offline, and a staged one is an item of the bundle itself, listed
/// before the roles it delegates.
fn push_delegated(
    repo: &Repo,
    items: &mut Vec<Item>,
    copies: &mut Vec<(String, Vec<u8>)>,
    now: OffsetDateTime,
) -> Result<()> {
    let Some(graph) = crate::graph::Graph::load(repo)? else {
        return Ok(());
    };
    let delegated = crate::graph::unsigned_delegated(&graph, now)?;
    let by_path: std::collections::HashMap<&str, &crate::graph::Delegator> = graph
        .roles
        .iter()
        .map(|r| (r.bundle_path.as_str(), r))
        .collect();
    let mut carried: std::collections::HashSet<String> =
        copies.iter().map(|(f, _)| f.clone()).collect();
    for (bytes, item) in delegated {
        if let Some(d) = &item.delegator
            && !carried.contains(d)
            && let Some(node) = by_path.get(d.as_str())
        {
            copies.push((d.clone(), node.bytes.clone()));
            carried.insert(d.clone());
        }
        carried.insert(item.file.clone());
        copies.push((item.file.clone(), bytes));
        items.push(item);
    }
    Ok(())
}

/// For every staged targets-type item whose role clients see published:
/// names that version in the item (`published`) and carries it, with the
/// published delegators above it up to the top-level targets, in the
/// bundle's `repository/`, each file once. The appliance verifies that
/// chain against the trusted root and reviews the staged file as a diff
/// against the published one.
fn attach_published(
    repo: &Repo,
    items: &mut [Item],
    copies: &mut Vec<(String, Vec<u8>)>,
) -> Result<()> {
    if items.iter().all(|i| i.role == "root") {
        return Ok(());
    }
    let graph = crate::graph::PublishedGraph::load(repo)?;
    let mut carried: std::collections::HashSet<String> =
        copies.iter().map(|(f, _)| f.clone()).collect();
    for item in items.iter_mut().filter(|i| i.role != "root") {
        let Some(chain) = graph.chain(&item.role) else {
            continue;
        };
        item.published = chain.first().map(|(path, _)| path.clone());
        for (path, bytes) in chain {
            if carried.insert(path.clone()) {
                copies.push((path, bytes.to_vec()));
            }
        }
    }
    Ok(())
}

fn refuse_existing_bundle(bundle: &Path) -> Result<()> {
    if std::fs::symlink_metadata(bundle).is_ok() {
        bail!(
            "{}: already exists; a bundle is never overwritten (it may hold signatures)",
            bundle.display()
        );
    }
    Ok(())
}

/// Writes the bundle (items, the trusted history 1..N, the manifest last),
/// then `staged_root` if given, then the repository's copy of the manifest,
/// and prints what the keyholders will be asked to sign.
#[allow(clippy::too_many_arguments)]
fn write_ceremony(
    repo: &Repo,
    config: &Config,
    dir: &Path,
    bundle: &Path,
    trusted: Option<&Metadata<Root>>,
    staged_root: Option<(PathBuf, Vec<u8>)>,
    items: Vec<Item>,
    mut copies: Vec<(String, Vec<u8>)>,
    now: OffsetDateTime,
) -> Result<()> {
    let history = trusted.map_or(0, |t| t.signed().common.version);
    // An imported checkout's history may start above 1.
    let oldest = crate::layout::oldest_version(&repo.published(), "root")?.unwrap_or(1);
    for n in oldest..=history {
        let name = format!("{n}.root.json");
        let path = repo.published_file(&name);
        let bytes =
            std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        copies.push((bundle_format::layout::history_path(&name), bytes));
    }
    let name = config.name.clone().unwrap_or_else(|| dir_name(dir));
    let manifest = Manifest::new(&name, &rfc3339(now), items);

    write_bundle(bundle, &copies, &manifest)?;
    if let Some((path, bytes)) = staged_root {
        write_atomically(&path, &bytes).with_context(|| path.display().to_string())?;
    }
    let path = repo.staged_file(bundle_format::layout::MANIFEST_FILE);
    write_atomically(&path, &manifest.to_bytes()).with_context(|| path.display().to_string())?;

    say!("bundle written to {}", bundle.display());
    if manifest.items.len() > 20 {
        say!("  {} files to sign; the first 20:", manifest.items.len());
    }
    for item in manifest.items.iter().take(20) {
        say!(
            "  {} ({} v{}) canonical sha256 {}",
            item.file,
            item.role,
            item.version,
            item.canonical_sha256
        );
        for set in &item.key_sets {
            let ids: Vec<&str> = set.keyids.iter().map(|id| short_id(id)).collect();
            say!(
                "    {}: threshold {} of {}",
                set.label,
                set.threshold,
                ids.join(" ")
            );
        }
    }
    Ok(())
}

fn apply_changes(root: &mut Root, args: &Args) -> Result<()> {
    let before = root.clone();
    for (role, removes, adds, threshold) in [
        (
            "root",
            &args.remove_root_key,
            &args.add_root_key,
            args.root_threshold,
        ),
        (
            "targets",
            &args.remove_targets_key,
            &args.add_targets_key,
            args.targets_threshold,
        ),
    ] {
        for id in removes {
            remove_key(root, role, id)?;
        }
        for file in adds {
            let key = read_public_key_file(file, &args.attestation.roots)?;
            add_key(root, role, key).with_context(|| file.display().to_string())?;
        }
        if let Some(threshold) = threshold {
            root.roles.get_mut(role).expect("top-level role").threshold = threshold;
        }
    }
    crate::keyholder::after_root_removal(&before, root, &args.repo, args.also_targets)
}

/// `staged/targets.json` when it exists and its version is not published
/// yet: it goes into the bundle, to be signed for the targets keys of the
/// staged root (a new repository's first ceremony signs both, and a
/// rotation may change them) or, with no root pending, of the trusted root.
pub fn unsigned_targets(
    repo: &Repo,
    anchor: Anchor<'_>,
    now: OffsetDateTime,
) -> Result<Option<(Vec<u8>, Item)>> {
    let path = repo.staged_file("targets.json");
    if !path.exists() {
        return Ok(None);
    }
    let (bytes, metadata) = load_any(&path)?;
    let version = metadata.signed().common().version;
    if repo
        .latest_version("targets")?
        .is_some_and(|v| v >= version)
    {
        return Ok(None);
    }
    let plan = SigningPlan::with_anchor(&bytes, anchor, now)
        .with_context(|| format!("{}: the appliance would refuse it", path.display()))?;
    Ok(Some((bytes, Item::from_plan("staged/targets.json", &plan))))
}

fn write_bundle(bundle: &Path, copies: &[(String, Vec<u8>)], manifest: &Manifest) -> Result<()> {
    // One batch: every file made durable together (one syncfs, one fsync
    // per folder, new folders into their parents) instead of one fsync each.
    let mut batch = BatchWriter::new();
    for sub in [
        bundle_format::layout::STAGED_DIR,
        bundle_format::layout::HISTORY_DIR,
    ] {
        batch.create_dir_all(&bundle.join(sub))?;
    }
    for (name, bytes) in copies {
        let path = bundle.join(name);
        if let Some(dir) = path.parent() {
            batch.create_dir_all(dir)?;
        }
        batch.add(&path, bytes)?;
    }
    batch
        .commit()
        .with_context(|| format!("{}: writing the bundle", bundle.display()))?;
    // The manifest last: a bundle without one is visibly unfinished.
    let path = bundle.join(bundle_format::layout::MANIFEST_FILE);
    write_atomically(&path, &manifest.to_bytes()).with_context(|| path.display().to_string())
}

fn dir_name(dir: &Path) -> String {
    std::path::absolute(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "repository".into())
}
