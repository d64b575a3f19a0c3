//! `tuf-repo snapshot` and `tuf-repo timestamp`: new online-signed metadata
//! over what is already published, for cron. They sign under the latest
//! published root and never look at `staged/`, so they work while a root
//! N+1 is still collecting signatures (which `commit` refuses).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use metadata_io::write_atomically;

use crate::clock::{AtArgs, now_or};
use crate::config::Config;
use crate::layout::{PUBLISHED_DIR, Repo};
use crate::online_roles::{current_timestamp, next_snapshot, next_timestamp};
use crate::status::margin_for;

/// Arguments of `snapshot`.
#[derive(ClapArgs)]
pub struct SnapshotArgs {
    /// The repository directory.
    pub(crate) repo: PathBuf,
    #[command(flatten)]
    at: AtArgs,
}

/// Arguments of `timestamp`.
#[derive(ClapArgs)]
pub struct TimestampArgs {
    /// The repository directory.
    pub(crate) repo: PathBuf,
    /// Refresh even when the timestamp is not yet inside its margin.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    at: AtArgs,
}

/// `snapshot`: snapshot V+1 naming the latest published targets, then a
/// timestamp naming it.
pub fn run_snapshot(args: &SnapshotArgs) -> Result<()> {
    let now = now_or(args.at);
    let repo = Repo::new(&args.repo);
    let config = Config::load(&args.repo)?;
    let root = published_root(&repo, &config, &args.repo)?;
    let Some(targets_v) = repo.latest_version("targets")? else {
        bail!(
            "{}: no targets metadata is published yet; commit the first ceremony",
            repo.published().display()
        );
    };
    let updates = [("targets.json".to_owned(), targets_v)];
    let snapshot = next_snapshot(&repo, &args.repo, &config, &root, &updates, now)?;
    let timestamp = next_timestamp(
        &repo,
        &args.repo,
        &config,
        &root,
        snapshot.version,
        &snapshot.bytes,
        now,
    )?;
    let name = format!("{}.snapshot.json", snapshot.version);
    let path = repo.published_file(&name);
    if std::fs::symlink_metadata(&path).is_ok() {
        bail!(
            "{}: already exists; versioned files are never rewritten",
            path.display()
        );
    }
    // One transaction: a kill between the two leaves no orphan snapshot.
    let writes = [
        (format!("{PUBLISHED_DIR}/{name}"), snapshot.bytes),
        (format!("{PUBLISHED_DIR}/timestamp.json"), timestamp.bytes),
    ];
    crate::journal::apply(&args.repo, "snapshot", &writes)?;
    for (name, _) in &writes {
        say!("wrote {}", args.repo.join(name).display());
    }
    Ok(())
}

/// `timestamp`: timestamp W+1 naming the latest published snapshot, when
/// the current one is inside its margin (or expired, or missing), or with
/// `--force`.
pub fn run_timestamp(args: &TimestampArgs) -> Result<()> {
    let now = now_or(args.at);
    let repo = Repo::new(&args.repo);
    let config = Config::load(&args.repo)?;
    let root = published_root(&repo, &config, &args.repo)?;
    if let Some(current) = current_timestamp(&repo)?
        && !args.force
    {
        let margin = margin_for(&config.margin, "timestamp");
        if current.common.expires.time() - now > margin {
            say!(
                "timestamp v{} expires {}, outside its margin of {} h: nothing to do (--force refreshes anyway)",
                current.common.version,
                current.common.expires.as_str(),
                margin.whole_hours()
            );
            return Ok(());
        }
    }
    let Some(snapshot_v) = repo.latest_version("snapshot")? else {
        bail!(
            "{}: no snapshot is published yet; commit the first ceremony",
            repo.published().display()
        );
    };
    let path = repo.published_file(&format!("{snapshot_v}.snapshot.json"));
    let bytes = std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
    crate::layout::load_any(&path)?;
    let timestamp = next_timestamp(&repo, &args.repo, &config, &root, snapshot_v, &bytes, now)?;
    write(&repo, "timestamp.json", &timestamp.bytes)
}

/// The latest published root; refused while its online keys are held
/// elsewhere (an imported repository before its handover root), saying
/// what to do, rather than failing later on a key root does not list.
fn published_root(repo: &Repo, config: &Config, dir: &Path) -> Result<tuf_metadata::Root> {
    match repo.latest_root()? {
        Some(root) => {
            if let Some(why) = config
                .online
                .held_elsewhere(dir, root.signed().common.version)
            {
                bail!("{why}");
            }
            Ok(root.signed().clone())
        }
        None => bail!(
            "{}: nothing is published yet (no N.root.json); commit the first ceremony",
            repo.published().display()
        ),
    }
}

fn write(repo: &Repo, name: &str, bytes: &[u8]) -> Result<()> {
    let path = repo.published_file(name);
    write_atomically(&path, bytes).with_context(|| path.display().to_string())?;
    say!("wrote {}", path.display());
    Ok(())
}
