//! Onboarding a keyholder's YubiKey: a new P-256 key generated in a PIV
//! slot with the PIN and touch policies the runbook asks for, and the
//! card's attestation of it with the intermediate (f9) certificate that
//! signed it, the chain checked before anything is returned.
//!
//! [`onboard`] checks attestation → f9 (and f9 → a root the caller passes,
//! when given), then the whole chain up to Yubico's pinned roots or that
//! root ([`super::attestation`]): the outcome is in [`Onboarded::evidence`],
//! so a card whose chain does not reach a trusted root still yields its
//! key, with the reason, for the keyholder and witness to decide.

use std::path::PathBuf;

use ::yubikey::piv::{AlgorithmId, SlotId};
use ::yubikey::{MgmAlgorithmId, MgmKey, PinPolicy, TouchPolicy, YubiKey};
use spki::der::pem::LineEnding;
use tuf_metadata::Key;
use x509_cert::der::{Decode, Encode};
use zeroize::Zeroizing;

use super::attestation::{AttestationEvidence, TrustedRoots, signed_by, verify_evidence};
use super::token::{YubiKeyToken, slot_name};
use crate::KeyKind;

/// Where the PIV management key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManagementKey {
    /// The factory default: used only if the card still has it.
    Default,
    /// A file holding the key as hex (never argv): 48 hex digits for 3DES
    /// or AES-192 (chosen by firmware: AES-192 from 5.7), 32 for AES-128,
    /// 64 for AES-256.
    File(PathBuf),
}

/// How to generate the key.
#[derive(Clone, Debug)]
pub struct OnboardOptions {
    /// The slot (default 9c, "digital signature").
    pub slot: SlotId,
    /// PIN policy (default once: one VERIFY per ceremony session, which
    /// ykcs11 and the direct backend both handle; `always` works too).
    pub pin_policy: PinPolicy,
    /// Touch policy (default always: every signature needs a touch).
    pub touch_policy: TouchPolicy,
    /// The management key that allows GENERATE.
    pub management_key: ManagementKey,
}

impl Default for OnboardOptions {
    fn default() -> Self {
        OnboardOptions {
            slot: SlotId::Signature,
            pin_policy: PinPolicy::Once,
            touch_policy: TouchPolicy::Always,
            management_key: ManagementKey::Default,
        }
    }
}

/// A key generated on the card, with its attestation.
#[derive(Clone, Debug)]
pub struct Onboarded {
    /// The TUF key object to publish in root.
    pub key: Key,
    /// The uncompressed P-256 point.
    pub point: Vec<u8>,
    /// The slot it lives in.
    pub slot: SlotId,
    /// Card serial number.
    pub serial: u32,
    /// Card firmware version.
    pub version: String,
    /// The attestation certificate (DER), signed by the f9 key.
    pub attestation_der: Vec<u8>,
    /// The intermediate f9 certificate (DER) from object 5FFF01.
    pub intermediate_der: Vec<u8>,
    /// The chain checked up to Yubico's pinned roots (and the root the
    /// caller passed): the card's serial, firmware and policies as it
    /// attests them, or why the chain does not reach a trusted root.
    pub evidence: Result<AttestationEvidence, String>,
}

impl Onboarded {
    /// The attestation certificate as PEM (`<out>.attestation.pem`).
    pub fn attestation_pem(&self) -> String {
        pem(&self.attestation_der)
    }

    /// The intermediate certificate as PEM (`<out>.intermediate.pem`).
    pub fn intermediate_pem(&self) -> String {
        pem(&self.intermediate_der)
    }
}

fn pem(der: &[u8]) -> String {
    spki::der::pem::encode_string("CERTIFICATE", LineEnding::LF, der)
        .expect("a certificate of sane size encodes as PEM")
}

/// Why onboarding failed.
#[derive(Debug, thiserror::Error)]
pub enum OnboardError {
    /// The management key file could not be read or parsed.
    #[error("management key file {0}")]
    KeyFile(String),
    /// The card refused the management key.
    #[error(
        "{0} refused the management key{1}: put the card's management key (hex) in a file and pass it"
    )]
    ManagementKey(String, &'static str),
    /// The card refused or failed an operation.
    #[error("{what} on {card}: {error}")]
    Card {
        /// The operation.
        what: &'static str,
        /// The card.
        card: String,
        /// The crate's words.
        error: String,
    },
    /// The attestation does not check out: nothing is returned.
    #[error("the attestation of slot {slot} does not verify: {reason}")]
    Attestation {
        /// The slot.
        slot: String,
        /// Why.
        reason: String,
    },
}

/// Generates a P-256 key in `options.slot` of `token`, attests it, and
/// checks the chain attestation → f9 (→ one of `roots`, when any are given:
/// DER of CAs, one of which signed the f9 certificate). Overwrites whatever
/// key the slot held.
pub fn onboard(
    token: &mut YubiKeyToken,
    options: &OnboardOptions,
    roots: &[&[u8]],
) -> Result<Onboarded, OnboardError> {
    let card = token.describe();
    let slot = options.slot;
    let card_err = |what: &'static str| {
        let card = card.clone();
        move |e: ::yubikey::Error| OnboardError::Card {
            what,
            card,
            error: e.to_string(),
        }
    };
    let mgm = management_key(&token.yk, &options.management_key)?;
    token.yk.authenticate(&mgm).map_err(|_| {
        OnboardError::ManagementKey(
            card.clone(),
            match options.management_key {
                ManagementKey::Default => " (it is no longer the factory default)",
                ManagementKey::File(_) => "",
            },
        )
    })?;
    let spki = ::yubikey::piv::generate(
        &mut token.yk,
        slot,
        AlgorithmId::EccP256,
        options.pin_policy,
        options.touch_policy,
    )
    .map_err(card_err("generating a P-256 key"))?;
    let point = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| attestation_error(slot, "the generated public key is not whole bytes"))?
        .to_vec();
    let key = KeyKind::EcdsaP256
        .tuf_key(&point)
        .map_err(|e| attestation_error(slot, &e))?;
    let attestation_der =
        ::yubikey::piv::attest(&mut token.yk, slot).map_err(card_err("attesting the key"))?;
    let attestation_der = attestation_der.to_vec();
    let intermediate =
        ::yubikey::certificate::Certificate::read(&mut token.yk, SlotId::Attestation)
            .map_err(card_err("reading the f9 certificate"))?;
    let intermediate_der = intermediate
        .cert
        .to_der()
        .map_err(|e| attestation_error(slot, &format!("the f9 certificate: {e}")))?;
    verify_attestation(&attestation_der, &intermediate_der, roots, &point)
        .map_err(|reason| attestation_error(slot, &reason))?;
    let mut trusted = TrustedRoots::yubico();
    for root in roots {
        trusted
            .add_root(root)
            .map_err(|e| attestation_error(slot, &format!("the root CA: {e}")))?;
    }
    let evidence = verify_evidence(&attestation_der, &intermediate_der, &trusted)
        .and_then(|evidence| {
            evidence.check_binding(&key, "the generated key")?;
            Ok(evidence)
        })
        .map_err(|e| e.to_string());
    Ok(Onboarded {
        key,
        point,
        slot,
        serial: token.serial(),
        version: token.version(),
        attestation_der,
        intermediate_der,
        evidence,
    })
}

fn attestation_error(slot: SlotId, reason: &str) -> OnboardError {
    OnboardError::Attestation {
        slot: slot_name(slot),
        reason: reason.to_owned(),
    }
}

/// The management key to authenticate with.
fn management_key(yk: &YubiKey, source: &ManagementKey) -> Result<MgmKey, OnboardError> {
    let path = match source {
        ManagementKey::Default => {
            return MgmKey::get_default(yk).map_err(|e| OnboardError::Card {
                what: "choosing the default management key",
                card: format!("YubiKey {}", yk.version()),
                error: e.to_string(),
            });
        }
        ManagementKey::File(path) => path,
    };
    let shown = path.display();
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| OnboardError::KeyFile(format!("{shown}: {e}")))?,
    );
    let hex_text = text.lines().next().unwrap_or("").trim();
    let bytes = Zeroizing::new(
        hex::decode(hex_text)
            .map_err(|_| OnboardError::KeyFile(format!("{shown}: not hex on its first line")))?,
    );
    let v = yk.version();
    let alg = match bytes.len() {
        16 => MgmAlgorithmId::Aes128,
        24 if (v.major, v.minor) >= (5, 7) => MgmAlgorithmId::Aes192,
        24 => MgmAlgorithmId::ThreeDes,
        32 => MgmAlgorithmId::Aes256,
        n => {
            return Err(OnboardError::KeyFile(format!(
                "{shown}: {n} bytes; a management key is 16, 24 or 32"
            )));
        }
    };
    MgmKey::from_bytes(&bytes[..], Some(alg))
        .map_err(|e| OnboardError::KeyFile(format!("{shown}: {e}")))
}

/// Checks that `attestation` certifies `point` and is signed by the key of
/// `intermediate`, and (when `roots` is not empty) that `intermediate` is
/// signed by the key of one of `roots`. Only ECDSA P-256 issuers are
/// understood so far.
pub fn verify_attestation(
    attestation: &[u8],
    intermediate: &[u8],
    roots: &[&[u8]],
    point: &[u8],
) -> Result<(), String> {
    let parse = |what: &str, der: &[u8]| {
        x509_cert::Certificate::from_der(der).map_err(|e| format!("the {what} certificate: {e}"))
    };
    let attestation = parse("attestation", attestation)?;
    let intermediate = parse("f9 intermediate", intermediate)?;
    let attested = attestation
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes();
    if attested != point {
        return Err("it certifies a different public key than the one generated".into());
    }
    signed_by(&attestation, &intermediate)
        .map_err(|e| format!("attestation → f9 certificate: {e}"))?;
    let mut refusals = Vec::new();
    for root in roots {
        let root = parse("root CA", root)?;
        match signed_by(&intermediate, &root) {
            Ok(()) => return Ok(()),
            Err(e) => refusals.push(e.to_string()),
        }
    }
    if refusals.is_empty() {
        return Ok(());
    }
    Err(format!("f9 certificate → root CA: {}", refusals.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed RSA-2048 certificate from openssl, as Yubico's CAs and
    /// real f9 keys sign: its own key verifies it; a flipped bit does not.
    #[test]
    fn rsa_sha256_certificates_verify() {
        let dir = std::env::temp_dir().join(format!("yk-rsa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let der = dir.join("ca.der");
        let status = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256"])
            .args(["-subj", "/CN=test RSA CA", "-days", "1", "-outform", "DER"])
            .arg("-keyout")
            .arg(dir.join("ca.key"))
            .arg("-out")
            .arg(&der)
            .stderr(std::process::Stdio::null())
            .status();
        let Ok(status) = status else {
            eprintln!("openssl not installed: skipped");
            return;
        };
        assert!(status.success());
        let bytes = std::fs::read(&der).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let cert = x509_cert::Certificate::from_der(&bytes).unwrap();
        signed_by(&cert, &cert).expect("self-signed RSA verifies");
        let mut broken = bytes.clone();
        let at = broken.len() - 5;
        broken[at] ^= 1;
        let broken = x509_cert::Certificate::from_der(&broken).unwrap();
        assert_eq!(
            signed_by(&broken, &cert).unwrap_err(),
            "the signature does not verify"
        );
    }
}
