//! `tuf-repo merge <repo> <stick>...`: gathers the signatures the keyholders
//! made on their sticks into the repository's staged files. Sticks are
//! untrusted input: each copy must be exactly what was staged (same
//! canonical digest as the repository's own manifest), and every signature
//! on it must be by a key some key set lists and must verify. One bad stick
//! refuses the whole merge, naming the stick, and nothing is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use metadata_io::{BatchWriter, read_capped};
use time::OffsetDateTime;
use tuf_metadata::signing::{Anchor, CheckedSignature, SigningPlan};
use tuf_metadata::threshold::{ThresholdReport, short_id};
use tuf_metadata::{Key, KeyId, Limits, Metadata, Root};

use crate::clock::{AtArgs, now_or};
use crate::layout::Repo;
use crate::manifest::{Item, Manifest};
use crate::stage::{BUNDLE_DIR, pending_root};

/// Arguments of `merge`.
#[derive(ClapArgs)]
pub struct Args {
    /// The repository directory.
    pub(crate) repo: PathBuf,
    /// A stick (a directory holding `tuf-ceremony/`) to merge; repeatable.
    #[arg(long = "stick", value_name = "dir", required_unless_present = "sticks")]
    stick: Vec<PathBuf>,
    /// The sticks as positional arguments (the older spelling).
    #[arg(value_name = "dir", hide = true)]
    sticks: Vec<PathBuf>,
    #[command(flatten)]
    at: AtArgs,
}

/// One merged file: where it goes, its bytes, and its threshold board.
struct Merged {
    path: PathBuf,
    bytes: Vec<u8>,
    boards: Vec<(String, ThresholdReport)>,
    /// (key id, stick, added by this merge) of each signature a stick
    /// brought.
    from_sticks: Vec<(String, PathBuf, bool)>,
}

/// One signature gathered, and where it came from.
struct Gathered {
    sig: String,
    from: String,
    /// Checked over the staged canonical bytes (a stick's); `None` for the
    /// repository's own staged copy, whose signatures are in the file as
    /// it is.
    checked: Option<CheckedSignature>,
    /// The stick it came from (`None`: the repository's staged copy).
    stick: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<()> {
    let now = now_or(args.at);
    let repo = Repo::new(&args.repo);
    let manifest = Manifest::read(&repo.staged_file(bundle_format::layout::MANIFEST_FILE))?;
    let trusted = repo.latest_root()?;
    // Non-root items are keyed as `stage` keyed them: by a pending root
    // N+1 (or v1) if there is one, otherwise by the published root N.
    let pending = pending_root(&repo, trusted.as_ref())?;
    let staged_root = pending.as_ref().map(|(_, root)| root);
    let graph = crate::graph::Graph::load(&repo)?;
    let delegators: BTreeMap<&str, &crate::graph::Delegator> = graph
        .iter()
        .flat_map(|g| g.roles.iter())
        .map(|r| (r.bundle_path.as_str(), r))
        .collect();
    let mut outputs = Vec::new();
    for item in &manifest.items {
        let merged = merge_item(
            &repo,
            item,
            Keys {
                trusted: trusted.as_ref(),
                staged_root,
                delegators: &delegators,
            },
            &[&args.sticks[..], &args.stick[..]].concat(),
            now,
        )?;
        outputs.push((item, merged));
    }
    // One batch: every staged file replaced, made durable together (one
    // syncfs, one fsync per folder); killed anywhere, each is old or new.
    let mut batch = BatchWriter::new();
    for (_, merged) in &outputs {
        batch.add(&merged.path, &merged.bytes)?;
    }
    let found: Vec<crate::sources::Found<'_>> = outputs
        .iter()
        .flat_map(|(item, merged)| {
            merged.from_sticks.iter().map(|(id, stick, added)| {
                let digest = item.canonical_sha256.clone();
                (digest, id.clone(), stick.as_path(), *added)
            })
        })
        .collect();
    let current: Vec<&str> = manifest
        .items
        .iter()
        .map(|i| i.canonical_sha256.as_str())
        .collect();
    // Which stick brought which signature, in the same batch as the files.
    let (sources_path, sources_bytes) = crate::sources::updated(&repo, &found, &current)?;
    batch.add(&sources_path, &sources_bytes)?;
    batch
        .commit()
        .with_context(|| format!("{}: merging the signatures", repo.staged().display()))?;

    for (item, merged) in &outputs {
        let (file, role, version) = (merged.path.display(), &item.role, item.version);
        // Names and key ids come from the sticks: escaped (DESIGN.md).
        say!("merged {file} ({role} v{version})");
        for (label, report) in &merged.boards {
            let state = if report.is_met() { "met" } else { "not met" };
            say!("  {label}: {report} {state}");
        }
    }
    Ok(())
}

/// Where the keys of the items come from.
#[derive(Clone, Copy)]
struct Keys<'a> {
    trusted: Option<&'a Metadata<Root>>,
    staged_root: Option<&'a Metadata<Root>>,
    /// Every role of the delegation graph in force, by bundle path.
    delegators: &'a BTreeMap<&'a str, &'a crate::graph::Delegator>,
}

fn merge_item(
    repo: &Repo,
    item: &Item,
    keys: Keys<'_>,
    sticks: &[PathBuf],
    now: OffsetDateTime,
) -> Result<Merged> {
    let Keys {
        trusted,
        staged_root,
        delegators,
    } = keys;
    let name = item.file.strip_prefix("staged/").unwrap_or(&item.file);
    let path = repo.staged_file(name);
    let file = path.display().to_string();
    let bytes = read_capped(&path, Limits::ANY.max_bytes).with_context(|| file.clone())?;
    let anchor = match (item.role.as_str(), trusted, staged_root) {
        _ if item.delegator.is_some() => {
            let wanted = item.delegator.as_deref().unwrap_or_default();
            match delegators.get(wanted) {
                Some(d) => d.anchor(&item.role),
                _ => bail!(
                    "{file}: {} role: the manifest's delegator {wanted} is no longer the repository's; stage again",
                    item.role
                ),
            }
        }
        ("root", Some(trusted), _) => Anchor::Trusted(trusted),
        ("root", None, _) => Anchor::None,
        (_, _, Some(staged_root)) => Anchor::Staged(staged_root),
        (_, Some(trusted), None) => Anchor::Trusted(trusted),
        (role, None, None) => {
            bail!("{file}: {role} role: no root is published or staged to say who signs it")
        }
    };
    let mut plan = SigningPlan::with_anchor(&bytes, anchor, now).with_context(|| file.clone())?;
    if plan.metadata().signed_digest() != item.canonical_sha256 {
        bail!(
            "{file}: {} role: its canonical sha256 is no longer the manifest's {}; stage again",
            item.role,
            item.canonical_sha256
        );
    }
    let listed: BTreeMap<KeyId, Key> = plan
        .key_sets()
        .iter()
        .flat_map(|set| {
            set.role
                .keyids
                .iter()
                .filter_map(|id| set.keys.get(id).map(|k| (id.clone(), k.clone())))
        })
        .collect();
    let mut gathered: BTreeMap<KeyId, Gathered> = BTreeMap::new();
    for signature in plan.metadata().signatures() {
        if !signature.sig.is_empty() {
            let from = "the repository's staged copy".to_owned();
            gathered.insert(
                signature.keyid.clone(),
                Gathered {
                    sig: signature.sig.clone(),
                    from,
                    checked: None,
                    stick: None,
                },
            );
        }
    }
    for stick in sticks {
        let stick_name = stick.display().to_string();
        let copy = stick.join(BUNDLE_DIR).join(&item.file);
        gather_from_stick(&copy, stick, item, &plan, &listed, &mut gathered)
            .with_context(|| format!("stick {stick_name} refused"))?;
    }
    for g in gathered.values() {
        if let Some(checked) = &g.checked {
            plan.apply(checked)
                .with_context(|| format!("{file}: {} role: from {}", item.role, g.from))?;
        }
    }
    let boards = plan.board();
    let from_sticks = gathered
        .iter()
        .filter_map(|(id, g)| {
            g.stick
                .clone()
                .map(|s| (id.clone(), s, g.checked.is_some()))
        })
        .collect();
    Ok(Merged {
        path,
        bytes: plan.to_file_bytes(),
        boards,
        from_sticks,
    })
}

fn gather_from_stick(
    copy: &Path,
    stick: &Path,
    item: &Item,
    plan: &SigningPlan,
    listed: &BTreeMap<KeyId, Key>,
    gathered: &mut BTreeMap<KeyId, Gathered>,
) -> Result<()> {
    let file = copy.display().to_string();
    let limits = if item.role == "root" {
        Limits::ROOT
    } else {
        Limits::ANY
    };
    let bytes = read_capped(copy, limits.max_bytes).with_context(|| file.clone())?;
    let metadata = Metadata::parse(&bytes, &limits).with_context(|| file.clone())?;
    let digest = metadata.signed_digest();
    if digest != item.canonical_sha256 {
        bail!(
            "{file}: {} role: canonical sha256 {digest} differs from the manifest's {}: this copy is not what was staged",
            item.role,
            item.canonical_sha256
        );
    }
    for signature in metadata.signatures() {
        if signature.sig.is_empty() {
            continue;
        }
        let id = short_id(&signature.keyid);
        let Some(key) = listed.get(&signature.keyid) else {
            bail!(
                "{file}: {} role: signature by key {id}, which no key set lists",
                item.role
            );
        };
        let checked = match CheckedSignature::verify(signature, key, plan.metadata().signed_bytes())
        {
            Ok(checked) => checked,
            Err(e) => bail!(
                "{file}: {} role: signature by key {id}: {}",
                item.role,
                e.reason
            ),
        };
        match gathered.get(&signature.keyid) {
            Some(earlier) if earlier.sig != signature.sig => bail!(
                "{file}: {} role: a different signature by key {id} than the one from {}",
                item.role,
                earlier.from
            ),
            // Already in the staged file (an earlier merge, or one killed
            // before it recorded where it came from): only attributed.
            Some(earlier) if earlier.stick.is_none() => {
                if let Some(earlier) = gathered.get_mut(&signature.keyid) {
                    earlier.stick = Some(stick.to_owned());
                }
            }
            Some(_) => {}
            None => {
                gathered.insert(
                    signature.keyid.clone(),
                    Gathered {
                        sig: signature.sig.clone(),
                        from: file.clone(),
                        checked: Some(checked),
                        stick: Some(stick.to_owned()),
                    },
                );
            }
        }
    }
    Ok(())
}
