//! `tuf-repo import`: adopts a repository kept in go-tuf's layout or
//! tuf-on-ci's as a new repository of ours, keeping every role's version
//! so clients that followed it follow on (`export` is in `layouts.rs`).
//!
//! - The root history may be any consecutive run of roots (a checkout of
//!   roots 5..N): trust starts at the oldest present, or at `--trusted`
//!   ([`history`]).
//! - When our online keys are the repository's snapshot and timestamp keys,
//!   it is imported as it is (tuf-on-ci: snapshot and timestamp signed
//!   anew above the imported versions).
//! - When they are held elsewhere (a cloud KMS), it is imported as it is,
//!   nothing signed; the configuration records it
//!   (`online.held_elsewhere_until_root`) and root N+1 handing snapshot and
//!   timestamp to our keys is staged by `stage-rotation`'s own code, ready
//!   for the first ceremony under this tool.
//!
//! Everything is checked before anything is written, and the new
//! repository is made in a scratch directory renamed into place at the
//! end, so a refusal leaves nothing behind.

mod go_tuf;
mod history;
mod tuf_on_ci;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use tuf_metadata::{Key, Root};

use crate::clock::{AtArgs, now_or};
use crate::config::{self, Config};
use crate::init::ExpiryArgs;
use crate::layouts::{Layout, Scratch, layout_name, write};
use crate::online::OnlineSigner;

/// Arguments of `import`.
#[derive(ClapArgs)]
pub struct ImportArgs {
    /// The directory in the other tool's layout.
    dir: PathBuf,
    /// Its layout.
    #[arg(long, value_enum)]
    layout: Layout,
    /// The new repository directory (absent or empty).
    repo: PathBuf,
    /// The online snapshot key's age file (when root does not list it for
    /// snapshot, the repository is imported as it is and root N+1 handing
    /// the role to it is staged).
    #[arg(long, value_name = "file.age")]
    online_snapshot_age: PathBuf,
    /// The online timestamp key's age file (likewise for timestamp).
    #[arg(long, value_name = "file.age")]
    online_timestamp_age: PathBuf,
    /// A root to start trusting from instead of the oldest root present:
    /// one of the history, or the root just before it.
    #[arg(long, value_name = "root.json")]
    trusted: Option<PathBuf>,
    #[command(flatten)]
    expiry: ExpiryArgs,
    /// The repository's name in ceremony manifests (default: directory name).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    at: AtArgs,
}

/// What a layout's import found, for the steps they share.
struct Imported {
    /// The latest root's version.
    root_version: u64,
    /// Who holds its online keys.
    keys: OnlineKeys,
}

/// Whether the configured online keys are the ones the latest root lists
/// for snapshot and timestamp.
enum OnlineKeys {
    /// Both are: later commands sign with them.
    Ours,
    /// At least one is not: our two public keys, for the handover root.
    Elsewhere(Box<[(&'static str, Key); 2]>),
}

/// Opens the configured online keys (passphrases from the environment, as
/// later commands will) and compares them with what `root` lists, before
/// anything is written.
fn online_keys(dir: &Path, config: &Config, root: &Root) -> Result<OnlineKeys> {
    let snapshot = OnlineSigner::open(dir, "snapshot", &config.online.snapshot)?;
    let timestamp = OnlineSigner::open(dir, "timestamp", &config.online.timestamp)?;
    if snapshot.listed_as(root).is_ok() && timestamp.listed_as(root).is_ok() {
        return Ok(OnlineKeys::Ours);
    }
    Ok(OnlineKeys::Elsewhere(Box::new([
        ("snapshot", snapshot.key()),
        ("timestamp", timestamp.key()),
    ])))
}

/// Runs `import`.
pub fn run_import(args: &ImportArgs) -> Result<()> {
    let now = now_or(args.at);
    crate::init::refuse_non_empty(&args.repo)?;
    let mut config = crate::init::new_config(
        &args.repo,
        args.name.clone(),
        args.expiry.to_expiry(),
        Some(&args.online_snapshot_age),
        Some(&args.online_timestamp_age),
    )?;
    let scratch = Scratch::beside(&args.repo)?;
    let trusted = args.trusted.as_deref();
    let imported = match args.layout {
        Layout::GoTuf => go_tuf::import(&args.dir, trusted, &config, scratch.path(), now)?,
        Layout::TufOnCi => tuf_on_ci::import(&args.dir, trusted, &config, scratch.path(), now)?,
    };
    let handover = match imported.keys {
        OnlineKeys::Ours => None,
        OnlineKeys::Elsewhere(keys) => {
            config.online.held_elsewhere_until_root = Some(imported.root_version + 1);
            Some(keys)
        }
    };
    write(
        &scratch.path().join(config::FILE_NAME),
        config
            .to_toml(&args.repo.join(config::FILE_NAME))?
            .as_bytes(),
    )?;
    std::fs::create_dir_all(scratch.path().join("staged"))
        .with_context(|| format!("{}: cannot create", scratch.path().display()))?;
    // A handover root our strict writer refuses does not stop the import:
    // the repository is adopted as it is, and the releaser is told what to
    // fix first. (A key id that does not match its key is corrected in the
    // handover root, not refused.)
    let (staged, not_staged) = match handover {
        Some(keys) => match crate::stage::stage_online_handover(scratch.path(), *keys, now) {
            Ok(handover) => (Some(handover), None),
            Err(e) => (None, Some(e)),
        },
        None => (None, None),
    };
    scratch.finish(&args.repo)?;
    say!(
        "imported {} ({} layout) into {}: root v{}",
        args.dir.display(),
        layout_name(args.layout),
        args.repo.display(),
        imported.root_version
    );
    if let Some(why) = not_staged {
        say_err!(
            "warning: root v{}'s snapshot and timestamp keys are held elsewhere, and the root v{} that hands them to our keys could not be staged: {why:#}; the repository is imported as it is; fix that, then stage the handover with `tuf-repo stage-rotation {}`",
            imported.root_version,
            imported.root_version + 1,
            args.repo.display()
        );
    }
    if let Some(handover) = staged {
        let version = handover.version;
        for (listed, actual) in &handover.corrected {
            say!(
                "note: root v{} lists a key under {listed}, which is not its id; root v{version} lists it as {actual}, and signing it records both ids, so root v{} and root v{version} each count the signature",
                imported.root_version,
                imported.root_version
            );
        }
        say!(
            "note: root v{}'s snapshot and timestamp keys are held elsewhere: imported as they are, nothing signed; root v{version} staged in {} hands them to the keys in {} and {}; next: `tuf-repo stage {} --stick <dir>`, the ceremony, merge and commit",
            imported.root_version,
            args.repo.join("staged/root.json").display(),
            args.online_snapshot_age.display(),
            args.online_timestamp_age.display(),
            args.repo.display()
        );
    }
    Ok(())
}
