//! The direct YubiKey (PIV) backend on the command line: the profile name
//! `yubikey-piv` (built in, no TOML: there is no PKCS#11 module to load)
//! routes `ceremony sign` and `ceremony onboard` here. `--serial` picks the
//! key when several are plugged in; `--key-label` names the PIV slot (`9c`
//! by default). `--profile yubikey-ykcs11` still reaches the same card
//! through ykcs11 and PKCS#11.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ceremony::atomic::write_atomically;
use clap::{Args as ClapArgs, ValueEnum};
use signers::yubikey::attestation::stored;
use signers::yubikey::{
    ManagementKey, OnboardOptions, Onboarded, PinPolicy, SlotId, TouchPolicy, YubiKeySigner,
    YubiKeyToken, onboard, parse_slot,
};
use signers::{Pin, PinState};
use tuf_metadata::json::{Object, Value};

use crate::cli_token::TokenArgs;

/// The built-in profile name of the direct PIV backend.
pub const PIV_PROFILE: &str = "yubikey-piv";

/// Whether `profile` names the direct PIV backend.
pub fn is_piv(profile: &str) -> bool {
    profile == PIV_PROFILE
}

/// The slot `--key-label` names (default 9c).
fn slot(key_label: Option<&str>) -> Result<SlotId> {
    key_label
        .map_or(Ok(SlotId::Signature), parse_slot)
        .map_err(anyhow::Error::msg)
        .context("--key-label names the PIV slot with --profile yubikey-piv")
}

/// Opens the YubiKey `token` chooses and shows its PIN counter (refusing a
/// locked PIN).
fn open(token: &TokenArgs) -> Result<YubiKeyToken> {
    crate::cli_token::harden();
    let serial = token.piv_serial()?;
    let mut yk = YubiKeyToken::open(serial)?;
    let pin_state = yk.pin_state()?;
    say_err!("token: {}; {pin_state}", yk.describe());
    if pin_state == PinState::Locked {
        bail!(
            "{}: the PIN is locked; the security officer must reset it with the PUK",
            yk.describe()
        );
    }
    Ok(yk)
}

/// [`open`], then the PIN from `pin_file`, once.
fn open_and_login(token: &TokenArgs, pin_file: &Path) -> Result<YubiKeyToken> {
    let mut yk = open(token)?;
    let pin = Pin::from_file(pin_file)?;
    yk.login(&pin).with_context(|| yk.describe())?;
    drop(pin);
    Ok(yk)
}

/// The signer for `ceremony sign --profile yubikey-piv`: `accept` checks
/// its key before the PIN is read and used. It prints "touch your YubiKey
/// now" to stderr before each signature that needs a touch.
pub fn signer(
    token: &TokenArgs,
    key_label: Option<&str>,
    pin_file: &Path,
    accept: impl FnOnce(&YubiKeySigner) -> Result<()>,
) -> Result<YubiKeySigner> {
    let slot = slot(key_label)?;
    let yk = open(token)?;
    let card = yk.describe();
    let mut signer = YubiKeySigner::new(yk, slot).with_context(|| card.clone())?;
    accept(&signer)?;
    let pin = Pin::from_file(pin_file)?;
    signer.login(&pin).with_context(|| card.clone())?;
    drop(pin);
    Ok(signer.with_touch_notifier(Box::new(move || {
        say_err!("touch your YubiKey now ({card}: it blinks while it waits)");
    })))
}

/// PIN policies offered at onboarding.
#[derive(Clone, Copy, ValueEnum)]
pub enum PinPolicyArg {
    /// One PIN entry per session.
    Once,
    /// A PIN entry before every signature.
    Always,
}

/// Touch policies offered at onboarding.
#[derive(Clone, Copy, ValueEnum)]
pub enum TouchPolicyArg {
    /// A touch for every signature.
    Always,
    /// A touch, remembered for 15 seconds.
    Cached,
}

/// The options of `ceremony onboard --profile yubikey-piv`.
#[derive(ClapArgs)]
pub struct OnboardArgs {
    /// YubiKey PIV: PIN policy of the new key.
    #[arg(long, value_enum, default_value = "once")]
    pin_policy: PinPolicyArg,
    /// YubiKey PIV: touch policy of the new key.
    #[arg(long, value_enum, default_value = "always")]
    touch_policy: TouchPolicyArg,
    /// YubiKey PIV: file holding the management key as hex (default: the
    /// factory key, used only if the card still has it).
    #[arg(long, value_name = "path")]
    management_key_file: Option<PathBuf>,
    /// YubiKey PIV: CA certificates (PEM or DER) trusted besides Yubico's
    /// pinned PIV roots, e.g. an organisation's own attestation CA (or the
    /// emulator's test CA in drills); repeatable, as in `tuf-repo`.
    #[command(flatten)]
    attestation_roots: cli_common::AttestationRootArgs,
}

/// `ceremony onboard --profile yubikey-piv`: generates the key, writes
/// `<out>.attestation.pem` and `<out>.intermediate.pem` (refused if they
/// exist) for people and openssl, and returns the key with the
/// `"attestation"` member of the public key object (the same two
/// certificates, base64 DER), which `tuf-repo` re-checks.
pub fn onboard_key(
    token: &TokenArgs,
    key_label: Option<&str>,
    pin_file: &Path,
    args: &OnboardArgs,
    out: &Path,
) -> Result<(tuf_metadata::Key, signers::SignerIdentity, Value)> {
    let attestation_path = beside(out, "attestation.pem");
    let intermediate_path = beside(out, "intermediate.pem");
    for path in [&attestation_path, &intermediate_path] {
        if path.exists() {
            bail!(
                "{}: already exists; onboarding never overwrites",
                path.display()
            );
        }
    }
    let roots = args
        .attestation_roots
        .roots
        .iter()
        .map(|path| read_certificate(path))
        .collect::<Result<Vec<_>>>()?;
    let roots: Vec<&[u8]> = roots.iter().map(|der| der.as_slice()).collect();
    let options = OnboardOptions {
        slot: slot(key_label)?,
        pin_policy: match args.pin_policy {
            PinPolicyArg::Once => PinPolicy::Once,
            PinPolicyArg::Always => PinPolicy::Always,
        },
        touch_policy: match args.touch_policy {
            TouchPolicyArg::Always => TouchPolicy::Always,
            TouchPolicyArg::Cached => TouchPolicy::Cached,
        },
        management_key: match &args.management_key_file {
            Some(path) => ManagementKey::File(path.clone()),
            None => ManagementKey::Default,
        },
    };
    // The PIN is checked first, so a keyholder who forgot it learns it
    // before a key is made that they could not use.
    let mut yk = open_and_login(token, pin_file)?;
    let onboarded: Onboarded = onboard(&mut yk, &options, &roots)?;
    write_atomically(&attestation_path, onboarded.attestation_pem().as_bytes())
        .with_context(|| attestation_path.display().to_string())?;
    write_atomically(&intermediate_path, onboarded.intermediate_pem().as_bytes())
        .with_context(|| intermediate_path.display().to_string())?;
    match &onboarded.evidence {
        Ok(evidence) => {
            say!(
                "attestation written to {} and {} (checked: attestation → f9 → {})",
                attestation_path.display(),
                intermediate_path.display(),
                evidence.chain.last().map_or("", String::as_str)
            );
            say!("attested: {}", evidence.describe());
            for warning in evidence.warnings() {
                say!("WARNING: {warning}");
                say_err!("WARNING: {warning}");
            }
        }
        Err(reason) => {
            say!(
                "attestation written to {} and {} (checked: attestation → f9 only)",
                attestation_path.display(),
                intermediate_path.display(),
            );
            say!(
                "WARNING: {reason}; `tuf-repo` refuses this key unless given that root with --attestation-root"
            );
        }
    }
    let mut record = Object::new();
    record.insert(
        "certificate".into(),
        Value::String(stored::encode(&onboarded.attestation_der)),
    );
    record.insert(
        "intermediate".into(),
        Value::String(stored::encode(&onboarded.intermediate_der)),
    );
    Ok((
        onboarded.key,
        yk.identity(options.slot),
        Value::Object(record),
    ))
}

/// `<out>.<suffix>`.
fn beside(out: &Path, suffix: &str) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// A certificate file, PEM or DER, as DER.
fn read_certificate(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    if !bytes.starts_with(b"-----BEGIN") {
        return Ok(bytes);
    }
    let text = String::from_utf8_lossy(&bytes);
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    base64_decode(body.trim()).with_context(|| format!("{}: not a PEM certificate", path.display()))
}

/// Standard base64 (PEM bodies), without a dependency for it.
fn base64_decode(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => bail!("invalid base64"),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_bodies_decode() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVs\nbG8h").unwrap(), b"hello!");
        assert!(base64_decode("a*").is_err());
    }

    #[test]
    fn outputs_sit_beside_the_public_key_file() {
        assert_eq!(
            beside(Path::new("d/k.pub.json"), "attestation.pem"),
            PathBuf::from("d/k.pub.json.attestation.pem")
        );
    }

    #[test]
    fn the_slot_defaults_to_9c() {
        assert_eq!(slot(None).unwrap(), SlotId::Signature);
        assert_eq!(slot(Some("9d")).unwrap(), SlotId::KeyManagement);
        assert!(slot(Some("label")).is_err());
    }
}
