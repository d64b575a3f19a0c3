//! `tuf-repo verify-root --trusted <root.json> [--at <RFC3339>] <next.root.json>...`:
//! walks a root chain as a client would, printing one line per root.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use cli_common::AtArgs;
use tuf_metadata::threshold::short_id;
use tuf_metadata::{ChainLimits, Limits, Metadata, Root, RootChain};

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
    let trusted = load_root(&args.trusted).with_context(|| trusted_name.clone())?;
    let (mut chain, _) = RootChain::from_trusted(trusted, ChainLimits::EXISTING)
        .map_err(anyhow::Error::new)
        .with_context(|| format!("{trusted_name}: trusted root is not signed by its own keys"))?;
    warn_keyid_mismatches(&trusted_name, &chain.keyid_mismatches());
    let last = args.next.len() - 1;
    for (i, path) in args.next.iter().enumerate() {
        let name = path.display().to_string();
        let bytes = read_capped(path, Limits::ROOT.max_bytes).with_context(|| name.clone())?;
        let step = chain.advance_bytes(&bytes).with_context(|| name.clone())?;
        // Only the last root of the chain must be unexpired (spec 5.3.10).
        if i == last {
            chain.check_expiry(at).with_context(|| name.clone())?;
        }
        warn_keyid_mismatches(&name, &step.keyid_mismatches);
        say!(
            "root v{}: ok — root keys {} of v{}, {} of v{}",
            step.version,
            step.by_trusted,
            step.from,
            step.by_itself,
            step.version
        );
    }
    Ok(())
}

/// Existing roots with dishonest key ids are real (one of sigstore's), so
/// verification warns; staging and signing refuse them.
fn warn_keyid_mismatches(file: &str, mismatches: &[(String, String)]) {
    for (listed, computed) in mismatches {
        say_err!(
            "warning: {file}: key id {listed} does not match its key (computed {})",
            short_id(computed)
        );
    }
}

fn load_root(path: &std::path::Path) -> Result<Metadata<Root>> {
    let bytes = read_capped(path, Limits::ROOT.max_bytes)?;
    Ok(Metadata::parse_root_existing(&bytes)?)
}
