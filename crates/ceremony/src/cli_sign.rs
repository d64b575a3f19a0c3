//! `ceremony sign --metadata <file> [--trusted <root.json>] --profile <name>
//! [--staged-root <root.json>] [--module <path>] [--token-label <l> | --serial <n>] [--key-label <k>]
//! --pin-file <path>`: headless signing for scripts and tests.
//!
//! Everything that can be refused without the token is refused before the
//! PIN is used; the PIN comes from a file, never from argv.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use ceremony::sign_file::sign_file;
use ceremony::signing::{Anchor, SigningPlan};
use clap::Args as ClapArgs;
use metadata_io::read_capped;
use signers::pkcs11::{Access, Pkcs11Signer, TokenKey};
use signers::{Pin, PinState};

use crate::cli_token::TokenArgs;
use cli_common::AtArgs;
use tuf_metadata::threshold::short_id;
use tuf_metadata::{Limits, Metadata, Root};

/// Arguments of `ceremony sign`.
#[derive(ClapArgs)]
pub struct Args {
    /// The metadata file to sign in place (e.g. staged/root.json).
    #[arg(long, value_name = "file")]
    metadata: PathBuf,
    /// Root N, when signing root N+1 (or the root listing the role's keys).
    #[arg(long, value_name = "root.json")]
    trusted: Option<PathBuf>,
    /// A root staged in this same ceremony (not yet trusted), naming the
    /// keys of the file's role: for a new repository's first targets.
    #[arg(long, value_name = "root.json", conflicts_with = "trusted")]
    staged_root: Option<PathBuf>,
    /// The token family's profile (hsm-profiles/<name>.toml) or a path.
    #[arg(long, value_name = "name")]
    profile: String,
    #[command(flatten)]
    token: TokenArgs,
    /// Use the key with this label (default: the token key the role lists).
    #[arg(long, value_name = "k")]
    key_label: Option<String>,
    /// File holding the user PIN (first line). Never given on the command line.
    #[arg(long, value_name = "path")]
    pin_file: PathBuf,
    #[command(flatten)]
    at: AtArgs,
}

/// Runs the command; every error names the file, token or key involved.
pub fn run(args: &Args) -> Result<()> {
    // Before anything is read: the PIN and the key's use live in this
    // process.
    crate::cli_token::harden();
    let now = args.at.now();
    let file = args.metadata.display().to_string();
    let trusted = match &args.trusted {
        Some(path) => Some(load_root(path)?),
        None => None,
    };
    let staged_root = match &args.staged_root {
        Some(path) => Some(load_root(path)?),
        None => None,
    };
    let anchor = match (&trusted, &staged_root) {
        (Some(root), _) => Anchor::Trusted(root),
        (None, Some(root)) => Anchor::Staged(root),
        (None, None) => Anchor::None,
    };
    // Refuse what can be refused before touching the token or the PIN.
    // A file on the stick: never through a link, never a FIFO (as sign_file reads it).
    let bytes = metadata_io::read_regular_nofollow(&args.metadata, Limits::ANY.max_bytes)
        .with_context(|| file.clone())?;
    let plan = SigningPlan::with_anchor(&bytes, anchor, now).with_context(|| file.clone())?;

    if crate::cli_yubikey::is_piv(&args.profile) {
        // The key is checked against the role before the PIN is used.
        let accept = |signer: &signers::yubikey::YubiKeySigner| {
            let identity = signers::Signer::identity(signer);
            if plan
                .keyids_for(signers::Signer::public_key(signer))
                .is_empty()
            {
                bail!(
                    "{file}: {identity}: the key in slot {} is not one this file's role lists",
                    identity.key_label
                );
            }
            Ok(())
        };
        let mut signer = crate::cli_yubikey::signer(
            &args.token,
            args.key_label.as_deref(),
            &args.pin_file,
            accept,
        )?;
        let outcome = sign_file(&args.metadata, anchor, now, &mut [&mut signer])
            .with_context(|| file.clone())?;
        print_outcome(&file, &outcome);
        return Ok(());
    }
    let token = args
        .token
        .open(&args.profile, args.key_label.clone(), Access::ReadOnly)?;
    let identity = token.identity();
    let pin_state = token.pin_state()?;
    say_err!("token: {identity}; {pin_state}");
    if pin_state == PinState::Locked {
        bail!("{identity}: the PIN is locked; the security officer must reset it");
    }
    let pin = Pin::from_file(&args.pin_file)?;
    token.login(&pin).with_context(|| identity.to_string())?;

    let key = choose_key(&token, &plan, args.key_label.as_deref())
        .with_context(|| format!("{file}: {identity}"))?;
    // A key that wants the PIN before every signature (YubiKey slot 9c
    // through ykcs11) keeps a zeroizing copy; any other drops it here.
    let mut signer = Pkcs11Signer::new(token, key)?.with_context_pin(&pin);
    drop(pin);
    let outcome =
        sign_file(&args.metadata, anchor, now, &mut [&mut signer]).with_context(|| file.clone())?;
    print_outcome(&file, &outcome);
    Ok(())
}

/// What was signed, the digest, and the threshold board.
fn print_outcome(file: &str, outcome: &ceremony::sign_file::SignOutcome) {
    for (who, keyids) in &outcome.signed_with {
        let ids: Vec<&str> = keyids.iter().map(|id| short_id(id)).collect();
        say!("signed {file} with {who} as key {}", ids.join(", "));
    }
    say!("canonical sha256 {}", outcome.digest);
    for (label, report) in &outcome.board {
        let state = if report.is_met() {
            "met"
        } else {
            "not yet met"
        };
        say!("{label}: {report} {state}");
    }
}

/// The token key this file's role lists: the one named by `--key-label`, or
/// the only listed one.
fn choose_key(
    token: &signers::pkcs11::Token,
    plan: &SigningPlan,
    key_label: Option<&str>,
) -> Result<TokenKey> {
    let listing = token.keys()?;
    let unusable: Vec<String> = listing.unusable.iter().map(|u| u.describe()).collect();
    let candidates: Vec<TokenKey> = listing
        .usable
        .into_iter()
        .filter(|k| key_label.is_none_or(|label| k.label == label))
        .filter(|k| !plan.keyids_for(&k.key).is_empty())
        .collect();
    match candidates.len() {
        1 => Ok(candidates.into_iter().next().expect("one")),
        0 => {
            let wanted: Vec<String> = plan
                .key_sets()
                .iter()
                .map(|s| {
                    let ids: Vec<&str> = s.role.keyids.iter().map(|id| short_id(id)).collect();
                    format!("{} lists {}", s.label, ids.join(" "))
                })
                .collect();
            bail!(
                "no key on this token{} may sign this file ({}){}",
                key_label
                    .map(|l| format!(" labelled {l:?}"))
                    .unwrap_or_default(),
                wanted.join("; "),
                if unusable.is_empty() {
                    String::new()
                } else {
                    format!("; keys it cannot use: {}", unusable.join("; "))
                }
            )
        }
        _ => {
            let labels: Vec<String> = candidates
                .iter()
                .map(|k| format!("{:?}", k.label))
                .collect();
            bail!(
                "several keys on this token may sign this file ({}): choose one with --key-label",
                labels.join(", ")
            )
        }
    }
}

fn load_root(path: &std::path::Path) -> Result<Metadata<Root>> {
    let name = path.display().to_string();
    let bytes = read_capped(path, Limits::ROOT.max_bytes).with_context(|| name.clone())?;
    Metadata::parse_root(&bytes).with_context(|| name)
}
