//! Offline checking of a YubiKey's PIV attestation, bound to a TUF key.
//!
//! A YubiKey proves a key was generated on the card (and cannot leave it)
//! with an attestation certificate for the slot, signed by the card's own
//! attestation key (slot f9), whose certificate is signed by Yubico. This
//! module walks that chain up to a pinned root with no network and no
//! system trust store, reads Yubico's extensions (serial, firmware, PIN and
//! touch policy, form factor), and checks that the attested key is the key
//! a TUF root lists — the same key id — so a releaser can tell that a root
//! key really lives on the keyholder's YubiKey.
//!
//! Pinned here (see `docs/yubikey-attestation.md` for where each copy came
//! from and the fingerprints checked): "Yubico PIV Root CA Serial 263751"
//! (firmware before 5.7.4) and "Yubico Attestation Root 1" (5.7.4 and
//! later) with the published intermediates "Yubico Attestation
//! Intermediate A 1 / B 1" and "Yubico PIV Attestation A 1 / B 1", which
//! the card does not carry. Intermediates are never trusted on their own:
//! each must be signed by a pinned root or by another link that is.
//!
//! Not checked, on purpose: validity periods (the appliance's clock is not
//! trusted, and Yubico's certificates run to 2052 and 9999), revocation
//! (Yubico publishes none for attestation), name constraints.

use std::fmt;

use tuf_metadata::{Key, PublicKey};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};

/// The pinned roots and intermediates, as PEM, with a SHA-256 fingerprint
/// each is checked against when loaded (a swapped file fails closed).
const PINNED_ROOTS: &[(&str, &str)] = &[
    (
        include_str!("roots/yubico-piv-root-ca-263751.pem"),
        "63ece914e54dd87915f34033c85af4c0696ba1512f8add66ced738331207b546",
    ),
    (
        include_str!("roots/yubico-attestation-root-1.pem"),
        "62760c6a6ef91679f454c8902b80fd009825b3f25da90f1fbace2ec6586cd5a8",
    ),
];

const PINNED_INTERMEDIATES: &[(&str, &str)] = &[
    (
        include_str!("roots/yubico-attestation-intermediate-a-1.pem"),
        "4698a1d3389c3ec60016c216250f1d0439922832d65142327436376dc2942b55",
    ),
    (
        include_str!("roots/yubico-attestation-intermediate-b-1.pem"),
        "d4cc3f456fdaf4e7812a21aab1dfe9d8e27d24e2fd2d6f21c9940109f0daa754",
    ),
    (
        include_str!("roots/yubico-piv-attestation-a-1.pem"),
        "6de693f05376f5d8ca29069261e1c8626c75d503bd2edbfd75354cad1f722870",
    ),
    (
        include_str!("roots/yubico-piv-attestation-b-1.pem"),
        "2d55b7998f4e42569d6d8fa382b6dc77d1dacf07358b19701163892922b17052",
    ),
];

/// The first firmware not affected by YSA-2024-03.
const FIXED_FIRMWARE: [u8; 3] = [5, 7, 0];

/// The advisory a YubiKey's firmware falls under, if any, in the words the
/// token screen and `check-key` show: firmware before 5.7.0 carries the
/// ECDSA side channel of YSA-2024-03 (EUCLEAK).
pub fn firmware_advisory(firmware: [u8; 3]) -> Option<String> {
    (firmware < FIXED_FIRMWARE).then(|| {
        let [a, b, c] = firmware;
        format!(
            "firmware {a}.{b}.{c} is older than 5.7.0: Yubico security advisory YSA-2024-03, \
             the ECDSA side channel in Infineon's library"
        )
    })
}

/// [`firmware_advisory`] for a version as the card reports it (`5.4.3`);
/// a version that does not read as three numbers is itself a warning.
pub fn firmware_advisory_text(version: &str) -> Option<String> {
    let parts: Vec<u8> = version
        .split('.')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    match <[u8; 3]>::try_from(parts) {
        Ok(firmware) => firmware_advisory(firmware),
        Err(_) => Some(format!(
            "firmware version {version:?} cannot be read: check it against YSA-2024-03 by hand"
        )),
    }
}

/// Yubico's extension OIDs under 1.3.6.1.4.1.41482.3.
mod oid {
    use x509_cert::der::asn1::ObjectIdentifier;
    pub const FIRMWARE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.3");
    pub const SERIAL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.7");
    pub const POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.8");
    pub const FORM_FACTOR: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.9");
}

/// The certificates an attestation may chain to: roots are trusted,
/// intermediates only help to build a path to one.
#[derive(Clone, Debug)]
pub struct TrustedRoots {
    roots: Vec<Certificate>,
    intermediates: Vec<Certificate>,
}

impl TrustedRoots {
    /// Yubico's pinned PIV roots and intermediates: what every real
    /// YubiKey chains to. Panics only if a pinned file was altered (its
    /// fingerprint no longer matches), which a unit test catches.
    pub fn yubico() -> TrustedRoots {
        let load = |set: &[(&str, &str)]| -> Vec<Certificate> {
            set.iter()
                .map(|(pem, fingerprint)| {
                    let der = pem_to_der(pem.as_bytes()).expect("a pinned PEM certificate");
                    assert_eq!(
                        hex::encode(sha256(&der)),
                        *fingerprint,
                        "a pinned Yubico certificate was altered"
                    );
                    Certificate::from_der(&der).expect("a pinned certificate parses")
                })
                .collect()
        };
        TrustedRoots {
            roots: load(PINNED_ROOTS),
            intermediates: load(PINNED_INTERMEDIATES),
        }
    }

    /// No roots at all: only those added with [`TrustedRoots::add_root`]
    /// count (tests that must not trust Yubico, or a private PKI).
    pub fn empty() -> TrustedRoots {
        TrustedRoots {
            roots: Vec::new(),
            intermediates: Vec::new(),
        }
    }

    /// Adds a root (PEM or DER), e.g. `--attestation-root`: an
    /// organisation's own attestation CA, or the emulator's test CA in
    /// tests. Refuses anything that is not one X.509 certificate.
    pub fn add_root(&mut self, pem_or_der: &[u8]) -> Result<(), String> {
        let der = pem_to_der(pem_or_der)?;
        let cert = Certificate::from_der(&der).map_err(|e| format!("not a certificate: {e}"))?;
        self.roots.push(cert);
        Ok(())
    }

    /// The subject of each trusted root, for messages.
    pub fn root_names(&self) -> Vec<String> {
        self.roots.iter().map(common_name).collect()
    }
}

/// PEM (one `CERTIFICATE` block) or DER, as DER.
pub fn pem_to_der(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    if start.is_some_and(|i| bytes[i..].starts_with(b"-----BEGIN")) {
        let text = std::str::from_utf8(bytes).map_err(|_| "PEM that is not UTF-8".to_owned())?;
        let (label, der) = x509_cert::der::pem::decode_vec(text.trim().as_bytes())
            .map_err(|e| format!("not a PEM certificate: {e}"))?;
        if label != "CERTIFICATE" {
            return Err(format!("a PEM {label}, not a CERTIFICATE"));
        }
        Ok(der)
    } else {
        Ok(bytes.to_vec())
    }
}

/// What a verified attestation says about the key and its card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationEvidence {
    /// The card's serial number (extension .3.7).
    pub serial: u32,
    /// The card's firmware version (extension .3.3).
    pub firmware: [u8; 3],
    /// When the card asks for the PIN (extension .3.8, first byte).
    pub pin_policy: PinPolicyFact,
    /// When the card asks for a touch (extension .3.8, second byte).
    pub touch_policy: TouchPolicyFact,
    /// The form factor byte (extension .3.9), if present.
    pub form_factor: Option<u8>,
    /// The attested public key, an uncompressed P-256 point.
    pub attested_point: Vec<u8>,
    /// Common names from the attestation certificate up to the trusted
    /// root, in order: what a witness reads to see where trust comes from.
    pub chain: Vec<String>,
}

impl AttestationEvidence {
    /// Firmware as `5.7.1`.
    pub fn firmware_string(&self) -> String {
        let [a, b, c] = self.firmware;
        format!("{a}.{b}.{c}")
    }

    /// Warnings a keyholder and witness must see: firmware affected by
    /// Yubico security advisory YSA-2024-03.
    pub fn warnings(&self) -> Vec<String> {
        firmware_advisory(self.firmware).into_iter().collect()
    }

    /// Form factor in words (Yubico's numbering), for display.
    pub fn form_factor_name(&self) -> String {
        match self.form_factor {
            None => "not stated".into(),
            Some(b) => {
                let base = match b & 0x7F {
                    0x01 => "USB-A keychain",
                    0x02 => "USB-A nano",
                    0x03 => "USB-C keychain",
                    0x04 => "USB-C nano",
                    0x05 => "USB-C Lightning",
                    0x06 => "USB-A Bio",
                    0x07 => "USB-C Bio",
                    _ => "unknown",
                };
                let fips = if b & 0x80 != 0 { " (FIPS)" } else { "" };
                format!("{base}{fips} ({b:#04x})")
            }
        }
    }

    /// One paragraph for a terminal: serial, firmware, policies, chain.
    pub fn describe(&self) -> String {
        format!(
            "YubiKey serial {}, firmware {}, PIN policy {}, touch policy {}, form factor {}; chain: {}",
            self.serial,
            self.firmware_string(),
            self.pin_policy,
            self.touch_policy,
            self.form_factor_name(),
            self.chain.join(" → ")
        )
    }

    /// Checks that the attested key is `key` (the same public key, hence
    /// the same key id in root). `file` names where `key` came from.
    pub fn check_binding(&self, key: &Key, file: &str) -> Result<(), AttestationError> {
        let listed = key
            .public_key()
            .map_err(|e| AttestationError(format!("the key in {file}: {e}")))?;
        if listed != PublicKey::EcdsaP256(self.attested_point.clone()) {
            return Err(AttestationError(format!(
                "the attested key is not the key in {file} (key id {})",
                key.key_id()
            )));
        }
        Ok(())
    }
}

/// The PIN policy an attestation states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinPolicyFact {
    /// No PIN needed.
    Never,
    /// Once per session.
    Once,
    /// Before every use.
    Always,
    /// A value this code does not know.
    Other(u8),
}

/// The touch policy an attestation states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TouchPolicyFact {
    /// No touch needed.
    Never,
    /// A touch for every use.
    Always,
    /// A touch, remembered for 15 seconds.
    Cached,
    /// A value this code does not know.
    Other(u8),
}

impl fmt::Display for PinPolicyFact {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            PinPolicyFact::Never => f.write_str("never"),
            PinPolicyFact::Once => f.write_str("once"),
            PinPolicyFact::Always => f.write_str("always"),
            PinPolicyFact::Other(b) => write!(f, "unknown ({b})"),
        }
    }
}

impl fmt::Display for TouchPolicyFact {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            TouchPolicyFact::Never => f.write_str("never"),
            TouchPolicyFact::Always => f.write_str("always"),
            TouchPolicyFact::Cached => f.write_str("cached"),
            TouchPolicyFact::Other(b) => write!(f, "unknown ({b})"),
        }
    }
}

/// Why an attestation was refused: one sentence for an `error:` line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AttestationError(pub String);

/// The deepest chain walked above the f9 certificate.
const MAX_DEPTH: usize = 6;

/// Verifies `attestation` (DER, the slot's attestation certificate) and
/// `intermediate` (DER, the card's f9 certificate) up to one of `roots`,
/// and reads Yubico's extensions. Does not look at any TUF key: call
/// [`AttestationEvidence::check_binding`] for that.
pub fn verify_evidence(
    attestation: &[u8],
    intermediate: &[u8],
    roots: &TrustedRoots,
) -> Result<AttestationEvidence, AttestationError> {
    let fail = |s: String| AttestationError(s);
    let leaf = Certificate::from_der(attestation)
        .map_err(|e| fail(format!("the attestation certificate does not parse: {e}")))?;
    let f9 = Certificate::from_der(intermediate)
        .map_err(|e| fail(format!("the f9 certificate does not parse: {e}")))?;
    signed_by(&leaf, &f9).map_err(|e| {
        fail(format!(
            "the attestation certificate is not signed by the f9 certificate given ({e}): \
             the intermediate belongs to another card or was altered"
        ))
    })?;
    let mut chain = vec![common_name(&leaf), common_name(&f9)];
    let mut current = f9;
    for _ in 0..MAX_DEPTH {
        if let Some(root) = roots
            .roots
            .iter()
            .find(|r| same_name(r, &current) && signed_by(&current, r).is_ok())
        {
            if root.to_der().ok() != current.to_der().ok() {
                chain.push(common_name(root));
            }
            return read_extensions(&leaf, chain);
        }
        // Also accept the f9 certificate being itself a pinned root (a
        // private PKI whose CA signs attestations directly).
        if roots
            .roots
            .iter()
            .any(|r| r.to_der().ok() == current.to_der().ok())
        {
            return read_extensions(&leaf, chain);
        }
        match roots
            .intermediates
            .iter()
            .find(|i| same_name(i, &current) && signed_by(&current, i).is_ok())
        {
            Some(next) => {
                chain.push(common_name(next));
                current = next.clone();
            }
            None => break,
        }
    }
    Err(fail(format!(
        "the chain {} does not end at a trusted root (trusted: {}; issuer of the last: {})",
        chain.join(" → "),
        roots.root_names().join(", "),
        current.tbs_certificate().issuer()
    )))
}

/// Whether `issuer`'s subject is `cert`'s issuer.
fn same_name(issuer: &Certificate, cert: &Certificate) -> bool {
    issuer.tbs_certificate().subject().to_der().ok()
        == cert.tbs_certificate().issuer().to_der().ok()
}

/// The subject's CN, or the whole subject when there is none.
fn common_name(cert: &Certificate) -> String {
    let subject = cert.tbs_certificate().subject();
    let text = subject.to_string();
    text.split(',')
        .find_map(|part| part.trim().strip_prefix("CN=").map(str::to_owned))
        .unwrap_or(text)
}

fn read_extensions(
    leaf: &Certificate,
    chain: Vec<String>,
) -> Result<AttestationEvidence, AttestationError> {
    let fail = |s: &str| AttestationError(format!("the attestation certificate: {s}"));
    let extensions: &[x509_cert::ext::Extension] = leaf
        .tbs_certificate()
        .extensions()
        .map_or(&[], |v| v.as_slice());
    let get = |id| {
        extensions
            .iter()
            .find(|e| e.extn_id == id)
            .map(|e| unwrap_octets(e.extn_value.as_bytes()))
    };
    let firmware: [u8; 3] = get(oid::FIRMWARE)
        .ok_or_else(|| fail("no firmware version extension (1.3.6.1.4.1.41482.3.3)"))?
        .try_into()
        .map_err(|_| fail("the firmware version is not 3 bytes"))?;
    let serial = get(oid::SERIAL)
        .ok_or_else(|| fail("no serial number extension (1.3.6.1.4.1.41482.3.7)"))
        .and_then(|v| der_u32(v).ok_or_else(|| fail("the serial number is not a DER INTEGER")))?;
    let policy = get(oid::POLICY)
        .ok_or_else(|| fail("no PIN/touch policy extension (1.3.6.1.4.1.41482.3.8)"))?;
    let [pin, touch] =
        <[u8; 2]>::try_from(policy).map_err(|_| fail("the PIN/touch policy is not 2 bytes"))?;
    let form_factor = get(oid::FORM_FACTOR).and_then(|v| v.first().copied());
    let attested_point = leaf
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec();
    if p256::PublicKey::from_sec1_bytes(&attested_point).is_err() {
        return Err(fail("the attested key is not a P-256 key"));
    }
    Ok(AttestationEvidence {
        serial,
        firmware,
        pin_policy: match pin {
            1 => PinPolicyFact::Never,
            2 => PinPolicyFact::Once,
            3 => PinPolicyFact::Always,
            b => PinPolicyFact::Other(b),
        },
        touch_policy: match touch {
            1 => TouchPolicyFact::Never,
            2 => TouchPolicyFact::Always,
            3 => TouchPolicyFact::Cached,
            b => TouchPolicyFact::Other(b),
        },
        form_factor,
        attested_point,
        chain,
    })
}

/// Yubico writes the raw bytes as the extension value; some tools wrap
/// them once more in an OCTET STRING. Either is read.
fn unwrap_octets(v: &[u8]) -> &[u8] {
    match v {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() && rest.len() < 0x80 => rest,
        _ => v,
    }
}

/// A DER INTEGER that fits a u32 (non-negative).
fn der_u32(v: &[u8]) -> Option<u32> {
    let [0x02, len, body @ ..] = v else {
        return None;
    };
    if usize::from(*len) != body.len() || body.is_empty() || body[0] & 0x80 != 0 {
        return None;
    }
    let body = match body {
        [0, rest @ ..] if !rest.is_empty() => rest,
        b => b,
    };
    if body.len() > 4 {
        return None;
    }
    Some(body.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// `cert`'s signature checks against `issuer`'s key: ECDSA P-256 with
/// SHA-256 (the emulator's test CA), or RSA PKCS#1 v1.5 with SHA-256,
/// SHA-384 or SHA-512 (real YubiKeys' f9 keys and Yubico's CAs; Yubico
/// Attestation Root 1 signs itself with SHA-512). Anything else is refused.
pub(crate) fn signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), String> {
    use p256::ecdsa::signature::Verifier;
    const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
    const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
    const SHA384_WITH_RSA: &str = "1.2.840.113549.1.1.12";
    const SHA512_WITH_RSA: &str = "1.2.840.113549.1.1.13";
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|e| format!("cannot re-encode the certificate: {e}"))?;
    let issuer_key = issuer
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes();
    let signature = cert.signature().raw_bytes();
    fn rsa_verify<D>(issuer_key: &[u8], tbs: &[u8], signature: &[u8]) -> Result<(), String>
    where
        D: sha2::Digest + rsa::pkcs8::AssociatedOid,
    {
        use p256::ecdsa::signature::Verifier;
        use rsa::pkcs1::DecodeRsaPublicKey;
        let key = rsa::RsaPublicKey::from_pkcs1_der(issuer_key)
            .map_err(|_| "the issuer's key is not an RSA key".to_owned())?;
        let key = rsa::pkcs1v15::VerifyingKey::<D>::new(key);
        let signature = rsa::pkcs1v15::Signature::try_from(signature)
            .map_err(|_| "the signature is not an RSA signature".to_owned())?;
        key.verify(tbs, &signature)
            .map_err(|_| "the signature does not verify".to_owned())
    }
    match cert.signature_algorithm().oid.to_string().as_str() {
        ECDSA_WITH_SHA256 => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(issuer_key)
                .map_err(|_| "the issuer's key is not a P-256 key".to_owned())?;
            let signature = p256::ecdsa::Signature::from_der(signature)
                .map_err(|_| "the signature is not a DER ECDSA signature".to_owned())?;
            key.verify(&tbs, &signature)
                .map_err(|_| "the signature does not verify".to_owned())
        }
        SHA256_WITH_RSA => rsa_verify::<sha2::Sha256>(issuer_key, &tbs, signature),
        SHA384_WITH_RSA => rsa_verify::<sha2::Sha384>(issuer_key, &tbs, signature),
        SHA512_WITH_RSA => rsa_verify::<sha2::Sha512>(issuer_key, &tbs, signature),
        other => Err(format!(
            "signature algorithm {other} is not ecdsa-with-SHA256 or sha256/384/512WithRSAEncryption"
        )),
    }
}

/// The evidence as stored in a public key file: `{"certificate":
/// <base64 DER>, "intermediate": <base64 DER>}`, and back.
pub mod stored {
    use base64ct::{Base64, Encoding};

    /// Base64 (standard, padded) of `der`.
    pub fn encode(der: &[u8]) -> String {
        Base64::encode_string(der)
    }

    /// The DER a stored base64 string holds.
    pub fn decode(text: &str) -> Result<Vec<u8>, String> {
        Base64::decode_vec(text.trim()).map_err(|_| "not standard base64".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_yubico_certificates_load_and_chain() {
        let roots = TrustedRoots::yubico();
        assert_eq!(
            roots.root_names(),
            [
                "Yubico PIV Root CA Serial 263751",
                "Yubico Attestation Root 1"
            ]
        );
        for root in &roots.roots {
            signed_by(root, root).expect("self-signed");
        }
        // Each PIV intermediate reaches Attestation Root 1 through its
        // Attestation Intermediate: the path the walk takes for 5.7.4+.
        let by_name = |n: &str| {
            roots
                .intermediates
                .iter()
                .find(|c| common_name(c) == n)
                .unwrap()
        };
        for (piv, mid) in [("A", "A"), ("B", "B")] {
            let piv = by_name(&format!("Yubico PIV Attestation {piv} 1"));
            let mid = by_name(&format!("Yubico Attestation Intermediate {mid} 1"));
            signed_by(piv, mid).unwrap();
            signed_by(mid, &roots.roots[1]).unwrap();
            assert!(signed_by(mid, &roots.roots[0]).is_err());
        }
    }

    #[test]
    fn yubico_extensions_are_read_raw_or_wrapped() {
        assert_eq!(unwrap_octets(&[5, 7, 1]), [5, 7, 1]);
        assert_eq!(unwrap_octets(&[4, 3, 5, 7, 1]), [5, 7, 1]);
        assert_eq!(der_u32(&[2, 2, 0x04, 0xD2]), Some(1234));
        assert_eq!(der_u32(&[2, 5, 0, 0xFF, 0, 0, 1]), Some(0xFF00_0001));
        assert_eq!(der_u32(&[2, 1, 0x80]), None);
        assert_eq!(der_u32(&[4, 1, 1]), None);
    }

    #[test]
    fn the_advisory_by_version_text() {
        assert!(
            firmware_advisory_text("5.4.3")
                .unwrap()
                .contains("YSA-2024-03")
        );
        assert!(
            firmware_advisory_text("4.3.7")
                .unwrap()
                .contains("older than 5.7.0")
        );
        assert_eq!(firmware_advisory_text("5.7.0"), None);
        assert_eq!(firmware_advisory_text("5.7.4"), None);
        assert!(
            firmware_advisory_text("five")
                .unwrap()
                .contains("cannot be read")
        );
    }

    #[test]
    fn old_firmware_carries_the_advisory_warning() {
        let mut e = AttestationEvidence {
            serial: 1,
            firmware: [5, 4, 3],
            pin_policy: PinPolicyFact::Once,
            touch_policy: TouchPolicyFact::Always,
            form_factor: Some(1),
            attested_point: vec![],
            chain: vec![],
        };
        let w = e.warnings();
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("Yubico security advisory YSA-2024-03"),
            "{w:?}"
        );
        assert!(
            w[0].contains("the ECDSA side channel in Infineon's library"),
            "{w:?}"
        );
        e.firmware = [5, 7, 0];
        assert!(e.warnings().is_empty());
    }

    #[test]
    fn stored_der_round_trips_and_pem_is_read() {
        let der = pem_to_der(PINNED_ROOTS[0].0.as_bytes()).unwrap();
        assert_eq!(stored::decode(&stored::encode(&der)).unwrap(), der);
        assert_eq!(pem_to_der(&der).unwrap(), der);
        assert!(stored::decode("***").is_err());
    }
}
