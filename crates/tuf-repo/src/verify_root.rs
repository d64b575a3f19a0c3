//! `tuf-repo verify-root --trusted <root.json> [--at <RFC3339>] <next.root.json>...`:
//! walks a root chain as a client would, printing one line per root.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use cli_common::AtArgs;
use tuf_metadata::keys::keyid_mismatches;
use tuf_metadata::threshold::short_id;
use tuf_metadata::{Limits, Metadata, Root, verify_root_update, verify_trusted_root};

use metadata_io::read_capped;

/// Arguments of `verify-root`.
#[derive(ClapArgs)]
pub struct Args {
    /// The root already trusted (e.g. pinned, or the last one published).
    #[arg(long, value_name = "root.json")]
    trusted: PathBuf,
    #[command(flatten)]
    at: AtArgs,
    /// Root N+1, N+2, … in order. Only the last must be unexpired at
    /// `--at` (TUF spec 5.3.10).
    #[arg(value_name = "next.root.json", required = true)]
    next: Vec<PathBuf>,
}

/// Runs the command; errors name the file.
pub fn run(args: &Args) -> Result<()> {
    let at = args.at.now();
    let trusted_name = args.trusted.display().to_string();
    let mut trusted = load_root(&args.trusted).with_context(|| trusted_name.clone())?;
    verify_trusted_root(&trusted)
        .map_err(anyhow::Error::new)
        .with_context(|| format!("{trusted_name}: trusted root is not signed by its own keys"))?;
    warn_keyid_mismatches(&trusted_name, &keyid_mismatches(&trusted.signed().keys));
    let last = args.next.len() - 1;
    for (i, path) in args.next.iter().enumerate() {
        let name = path.display().to_string();
        let bytes = read_capped(path, Limits::ROOT.max_bytes).with_context(|| name.clone())?;
        let next = Metadata::parse(&bytes, &Limits::ROOT).with_context(|| name.clone())?;
        let now = (i == last).then_some(at);
        let update = verify_root_update(&trusted, next, now).with_context(|| name.clone())?;
        warn_keyid_mismatches(&name, &update.keyid_mismatches);
        let old_version = trusted.signed().common.version;
        let version = update.root.signed().common.version;
        println!(
            "root v{version}: ok — root keys {} of v{old_version}, {} of v{version}",
            update.by_trusted, update.by_itself
        );
        trusted = update.root;
    }
    Ok(())
}

/// Existing roots with dishonest key ids are real (one of sigstore's), so
/// verification warns; staging and signing refuse them.
fn warn_keyid_mismatches(file: &str, mismatches: &[(String, String)]) {
    for (listed, computed) in mismatches {
        eprintln!(
            "warning: {file}: key id {listed} does not match its key (computed {})",
            short_id(computed)
        );
    }
}

fn load_root(path: &std::path::Path) -> Result<Metadata<Root>> {
    let bytes = read_capped(path, Limits::ROOT.max_bytes)?;
    Ok(Metadata::parse_root(&bytes)?)
}
