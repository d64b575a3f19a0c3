//! `ceremony onboard`: a keyholder's new key, generated on their token
//! (never exportable), and the public half written for the releaser to put
//! into root, with the token it lives on.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use ceremony::atomic::write_atomically;
use clap::{Args as ClapArgs, ValueEnum};
use signers::pkcs11::{Access, KeyKind, Module, TokenSelector};
use signers::profile::{Overrides, Profile};
use signers::{Pin, SignerIdentity};
use tuf_metadata::json::{self, Object, Value};

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
pub struct Args {
    /// The token family's profile (hsm-profiles/<name>.toml) or a path.
    #[arg(long, value_name = "name")]
    profile: String,
    /// Load this PKCS#11 module instead of the profile's paths.
    #[arg(long, value_name = "path")]
    module: Option<PathBuf>,
    /// Use the token with this label.
    #[arg(long, value_name = "l", conflicts_with = "serial")]
    token_label: Option<String>,
    /// Use the token with this serial number.
    #[arg(long, value_name = "n")]
    serial: Option<String>,
    /// Label of the new key (refused if the token already has it).
    #[arg(long, value_name = "k")]
    key_label: String,
    /// Algorithm of the new key.
    #[arg(long, value_enum, default_value = "ecdsa-p256")]
    key_type: KeyType,
    /// File holding the user PIN (first line).
    #[arg(long, value_name = "path")]
    pin_file: PathBuf,
    /// Where to write the public key object (refused if it exists).
    #[arg(long, value_name = "pub.json")]
    out: PathBuf,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<()> {
    let out = args.out.display().to_string();
    if args.out.exists() {
        bail!("{out}: already exists; onboarding never overwrites a public key file");
    }
    let profile = Profile::load(&args.profile).context("profile")?;
    let overrides = Overrides {
        module: args.module.clone(),
        token_label: args.token_label.clone(),
        serial: args.serial.clone(),
        key_label: None,
    };
    let module = Module::open(&profile, &overrides)?;
    let token = module.open_token(
        &TokenSelector::resolve(&profile, &overrides)?,
        Access::ReadWrite,
    )?;
    let identity = token.identity();
    eprintln!("token: {identity}; {}", token.pin_state()?);
    let pin = Pin::from_file(&args.pin_file)?;
    token.login(&pin).with_context(|| identity.to_string())?;
    drop(pin);
    let kind = match args.key_type {
        KeyType::EcdsaP256 => KeyKind::EcdsaP256,
        KeyType::Ed25519 => KeyKind::Ed25519,
    };
    let generated = token
        .generate(&args.key_label, kind)
        .with_context(|| identity.to_string())?;
    let record = public_key_record(
        &generated.key.key,
        &generated.identity,
        generated.key.born_on_token,
    );
    write_atomically(&args.out, &json::to_pretty(&record)).with_context(|| out.clone())?;
    println!(
        "generated {kind} key {:?} on {}: key id {}",
        args.key_label, generated.identity, generated.key.key_id
    );
    println!("public key object written to {out}");
    Ok(())
}

/// `{"keyid", "key", "token": {...}}`: what the releaser puts into root, and
/// where the key lives, for the transcript and the review screen.
fn public_key_record(
    key: &tuf_metadata::Key,
    who: &SignerIdentity,
    born_on_token: Option<bool>,
) -> Value {
    let text = |s: &str| Value::String(s.to_owned());
    let mut token = Object::new();
    token.insert("backend".into(), text(&who.backend.to_string()));
    token.insert("model".into(), text(&who.model));
    token.insert("serial".into(), text(&who.serial));
    token.insert("token_label".into(), text(&who.token_label));
    token.insert("key_label".into(), text(&who.key_label));
    if let Some(slot) = who.slot {
        token.insert("slot".into(), Value::Int(slot as i64));
    }
    if let Some(born) = born_on_token {
        token.insert("generated_on_token".into(), Value::Bool(born));
    }
    let mut record = Object::new();
    record.insert("keyid".into(), text(&key.key_id()));
    record.insert("key".into(), key.to_value());
    record.insert("token".into(), Value::Object(token));
    Value::Object(record)
}
