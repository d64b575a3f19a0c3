//! `ceremony onboard`: a keyholder's new key, generated on their token
//! (never exportable) — or, for online roles and drills only, in an
//! age-encrypted file — and the public half written for the releaser to put
//! into root, with where the key lives.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use ceremony::atomic::write_atomically;
use clap::{Args as ClapArgs, ValueEnum};
use signers::pkcs11::Access;

use crate::cli_token::TokenArgs;
use bundle_format::{Attestation, PublicKeyFile, TokenRecord};
use signers::software::{self, SoftwareKey};
use signers::{KeyKind, Pin, SignerIdentity};

/// Key algorithms a keyholder can onboard.
#[derive(Clone, Copy, ValueEnum)]
enum KeyType {
    /// ECDSA on NIST P-256 (what most tokens and YubiKeys do).
    EcdsaP256,
    /// Ed25519.
    Ed25519,
}

/// Arguments of `ceremony onboard`.
#[derive(ClapArgs)]
#[command(group = clap::ArgGroup::new("home").required(true).args(["profile", "age"]))]
pub struct Args {
    /// The token family's profile (hsm-profiles/<name>.toml) or a path.
    #[arg(long, value_name = "name", requires_all = ["key_label", "pin_file"])]
    profile: Option<String>,
    /// Make the key in this age-encrypted file instead (online roles and
    /// drills only; refused if the file exists).
    #[arg(long, value_name = "file.age", requires = "passphrase_file")]
    age: Option<PathBuf>,
    /// File holding the passphrase for --age (first line).
    #[arg(long, value_name = "path")]
    passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    token: TokenArgs,
    /// Label of the new key (refused if the token already has it).
    #[arg(long, value_name = "k")]
    key_label: Option<String>,
    /// Algorithm of the new key.
    #[arg(long, value_enum, default_value = "ecdsa-p256")]
    key_type: KeyType,
    /// File holding the user PIN (first line).
    #[arg(long, value_name = "path")]
    pin_file: Option<PathBuf>,
    #[command(flatten)]
    piv: crate::cli_yubikey::OnboardArgs,
    /// Where to write the public key object (refused if it exists).
    #[arg(long, value_name = "pub.json")]
    out: PathBuf,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<()> {
    // Before anything else: a new key and its PIN or passphrase live in
    // this process.
    crate::cli_token::harden();
    let out = args.out.display().to_string();
    if args.out.exists() {
        bail!("{out}: already exists; onboarding never overwrites a public key file");
    }
    let kind = match args.key_type {
        KeyType::EcdsaP256 => KeyKind::EcdsaP256,
        KeyType::Ed25519 => KeyKind::Ed25519,
    };
    let mut attestation = None;
    let (key, identity, born_on_token) = match (&args.profile, &args.age) {
        (Some(profile), _) if crate::cli_yubikey::is_piv(profile) => {
            if !matches!(kind, KeyKind::EcdsaP256) {
                bail!("a YubiKey PIV key for TUF is ECDSA P-256");
            }
            let Some(pin_file) = &args.pin_file else {
                bail!("--profile yubikey-piv needs --pin-file");
            };
            let (key, identity, evidence) = crate::cli_yubikey::onboard_key(
                &args.token,
                args.key_label.as_deref(),
                pin_file,
                &args.piv,
                &args.out,
            )?;
            attestation = Some(evidence);
            (key, identity, Some(true))
        }
        (Some(profile), _) => on_token(args, profile, kind)?,
        (None, Some(path)) => in_age_file(args, path, kind)?,
        (None, None) => unreachable!("clap requires --profile or --age"),
    };
    let attestation = attestation
        .map(Attestation::from_value)
        .transpose()
        .with_context(|| format!("{out}: the attestation evidence"))?;
    let record = public_key_file(key.clone(), &identity, born_on_token, attestation);
    write_atomically(&args.out, &record.to_bytes()).with_context(|| out.clone())?;
    say!(
        "generated {kind} key in {identity}: key id {}",
        key.key_id()
    );
    say!("public key object written to {out}");
    Ok(())
}

fn on_token(
    args: &Args,
    profile: &str,
    kind: KeyKind,
) -> Result<(tuf_metadata::Key, SignerIdentity, Option<bool>)> {
    let (Some(key_label), Some(pin_file)) = (&args.key_label, &args.pin_file) else {
        bail!("--profile needs --key-label and --pin-file");
    };
    let token = args.token.open(profile, None, Access::ReadWrite)?;
    let identity = token.identity();
    say_err!("token: {identity}; {}", token.pin_state()?);
    let pin = Pin::from_file(pin_file)?;
    token.login(&pin).with_context(|| identity.to_string())?;
    drop(pin);
    let generated = token
        .generate(key_label, kind)
        .with_context(|| identity.to_string())?;
    Ok((
        generated.key.key,
        generated.identity,
        generated.key.born_on_token,
    ))
}

fn in_age_file(
    args: &Args,
    path: &std::path::Path,
    kind: KeyKind,
) -> Result<(tuf_metadata::Key, SignerIdentity, Option<bool>)> {
    let Some(passphrase_file) = &args.passphrase_file else {
        bail!("--age needs --passphrase-file");
    };
    let passphrase = Pin::from_file(passphrase_file)?;
    let key = SoftwareKey::generate(kind, path, &passphrase)?;
    drop(passphrase);
    let identity = SignerIdentity {
        key_label: args.key_label.clone().unwrap_or_default(),
        ..software::identity_for(path)
    };
    Ok((key, identity, None))
}

/// `{"keyid", "key", "token": {...}}`: what the releaser puts into root, and
/// where the key lives, for the transcript and the review screen; for a
/// YubiKey also `"attestation": {"certificate", "intermediate"}` (base64
/// DER), which `tuf-repo check-key`, `init` and `stage-rotation` re-check.
/// The format is `bundle_format::public_key`'s, which `tuf-repo` reads.
fn public_key_file(
    key: tuf_metadata::Key,
    who: &SignerIdentity,
    born_on_token: Option<bool>,
    attestation: Option<Attestation>,
) -> PublicKeyFile {
    let token = TokenRecord {
        backend: who.backend.to_string(),
        model: who.model.clone(),
        serial: who.serial.clone(),
        token_label: who.token_label.clone(),
        key_label: who.key_label.clone(),
        slot: who.slot,
        generated_on_token: born_on_token,
    };
    PublicKeyFile::new(key, &token, attestation)
}
