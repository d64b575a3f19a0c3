//! `tuf-repo stage-rotation`: root N+1 from the latest trusted root N (or,
//! for a new repository, the staged root v1 itself), with key changes, a
//! version bump and a fresh expiry; written to `staged/root.json` and, with
//! the trusted history and the manifest, as a ceremony bundle on a stick.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use metadata_io::write_atomically;
use time::OffsetDateTime;
use tuf_metadata::signing::{Anchor, SigningPlan};
use tuf_metadata::threshold::short_id;
use tuf_metadata::{Metadata, Root, json};

use crate::clock::{expires_in_days, now_or, parse_time, rfc3339};
use crate::config::Config;
use crate::keys::{add_key, check_signable, read_public_key_file, remove_key};
use crate::layout::{Repo, load_any, load_root};
use crate::manifest::{Item, Manifest};

/// The bundle directory's name on a stick.
pub const BUNDLE_DIR: &str = "tuf-ceremony";

/// Arguments of `stage-rotation`.
#[derive(ClapArgs)]
pub struct Args {
    /// The repository directory.
    repo: PathBuf,
    /// The stick (or any directory) to write `tuf-ceremony/` into.
    #[arg(long, value_name = "stick dir")]
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
    #[arg(long, value_name = "d")]
    expires_days: Option<u32>,
    /// The time expiries count from (RFC 3339); default now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    at: Option<OffsetDateTime>,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<()> {
    let now = now_or(args.at);
    let repo = Repo::new(&args.repo);
    let config = Config::load(&args.repo)?;
    let bundle = args.out.join(BUNDLE_DIR);
    if std::fs::symlink_metadata(&bundle).is_ok() {
        bail!(
            "{}: already exists; a bundle is never overwritten (it may hold signatures)",
            bundle.display()
        );
    }
    let trusted = repo.latest_root()?;
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
    apply_changes(&mut root, args)?;
    root.common.expires = expires_in_days(now, args.expires_days.unwrap_or(config.expiry.root));
    check_signable(&root)
        .with_context(|| format!("{}", repo.staged_file("root.json").display()))?;
    let version = root.common.version;
    let root_md = Metadata::new(root);
    let root_bytes = json::to_pretty(&root_md.to_value());
    let plan = SigningPlan::new(&root_bytes, trusted.as_ref(), now).with_context(|| {
        let file = repo.staged_file("root.json");
        format!(
            "{}: root v{version}: the appliance would refuse it",
            file.display()
        )
    })?;
    let mut items = vec![Item::from_plan("staged/root.json", &plan)];
    let mut copies = vec![("staged/root.json".to_owned(), root_bytes.clone())];

    if let Some((bytes, item)) = unsigned_targets(&repo, &root_md, now)? {
        copies.push((item.file.clone(), bytes));
        items.push(item);
    }
    let history = trusted.as_ref().map_or(0, |t| t.signed().common.version);
    for n in 1..=history {
        let name = format!("{n}.root.json");
        let path = repo.published_file(&name);
        let bytes =
            std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        copies.push((format!("repository/{name}"), bytes));
    }
    let name = config.name.clone().unwrap_or_else(|| dir_name(&args.repo));
    let manifest = Manifest::new(&name, &rfc3339(now), items);

    write_bundle(&bundle, &copies, &manifest)?;
    write_atomically(&repo.staged_file("root.json"), &root_bytes)
        .with_context(|| format!("{}: cannot write", repo.staged_file("root.json").display()))?;
    write_atomically(&repo.staged_file("manifest.json"), &manifest.to_bytes()).with_context(
        || {
            format!(
                "{}: cannot write",
                repo.staged_file("manifest.json").display()
            )
        },
    )?;

    println!(
        "staged root v{version} in {}",
        repo.staged_file("root.json").display()
    );
    println!("bundle written to {}", bundle.display());
    for item in &manifest.items {
        println!(
            "  {} ({} v{}) canonical sha256 {}",
            item.file, item.role, item.version, item.canonical_sha256
        );
        for set in &item.key_sets {
            let ids: Vec<&str> = set.keyids.iter().map(|id| short_id(id)).collect();
            println!(
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
            let key = read_public_key_file(file)?;
            add_key(root, role, key).with_context(|| file.display().to_string())?;
        }
        if let Some(threshold) = threshold {
            root.roles.get_mut(role).expect("top-level role").threshold = threshold;
        }
    }
    Ok(())
}

/// `staged/targets.json` when it exists and its version is not published
/// yet: it goes into the bundle, to be signed for the staged root's targets
/// keys (a new repository's first ceremony signs both).
fn unsigned_targets(
    repo: &Repo,
    root: &Metadata<Root>,
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
    let plan = SigningPlan::with_anchor(&bytes, Anchor::Staged(root), now)
        .with_context(|| format!("{}: the appliance would refuse it", path.display()))?;
    Ok(Some((bytes, Item::from_plan("staged/targets.json", &plan))))
}

fn write_bundle(bundle: &Path, copies: &[(String, Vec<u8>)], manifest: &Manifest) -> Result<()> {
    for sub in ["staged", "repository"] {
        let dir = bundle.join(sub);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    for (name, bytes) in copies {
        let path = bundle.join(name);
        write_atomically(&path, bytes)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    // The manifest last: a bundle without one is visibly unfinished.
    let path = bundle.join("manifest.json");
    write_atomically(&path, &manifest.to_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))
}

fn dir_name(dir: &Path) -> String {
    std::path::absolute(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "repository".into())
}
