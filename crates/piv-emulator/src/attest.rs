//! ATTEST (`F9`): an X.509 certificate for a key generated on the card,
//! signed by the card's attestation key (slot F9), whose certificate is
//! signed by a test root CA, the way YubiKeys chain to Yubico's PIV root.
//!
//! The test root CA has a fixed, published private key ([`TEST_ROOT_KEY`])
//! so every emulated card chains to the same root, which tests pin; a real
//! deployment pins Yubico's root and must never trust this one. Its
//! certificate is deterministic (RFC 6979 signatures, fixed validity).
//!
//! The attestation certificate carries Yubico's extensions under
//! `1.3.6.1.4.1.41482.3`: `.3` firmware version (3 bytes), `.7` serial
//! (DER INTEGER), `.8` PIN and touch policy (2 bytes), `.9` form factor
//! (1 byte).

use std::str::FromStr;

use p256::ecdsa::{DerSignature, SigningKey};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::der::asn1::OctetString;
use x509_cert::der::{Encode, asn1::ObjectIdentifier};
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfo, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate};

/// The private key of the test root CA: public on purpose, test-only.
pub const TEST_ROOT_KEY: [u8; 32] = [
    0x5e, 0x1f, 0x0a, 0x8c, 0x33, 0x71, 0x42, 0x9d, 0x6b, 0x18, 0xc2, 0x7e, 0x90, 0x04, 0xaa, 0x3d,
    0x12, 0x65, 0xe8, 0x4f, 0x77, 0x2c, 0xb1, 0x09, 0xd4, 0x58, 0x3a, 0x6e, 0xf0, 0x21, 0x8b, 0x47,
];

/// Subject of the test root CA.
pub const TEST_ROOT_SUBJECT: &str = "CN=piv-emulator test PIV root CA";

/// Yubico's attestation extension OIDs.
pub mod oid {
    use super::ObjectIdentifier;
    /// Firmware version, 3 raw bytes.
    pub const FIRMWARE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.3");
    /// Serial number, a DER INTEGER.
    pub const SERIAL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.7");
    /// PIN policy and touch policy, 2 raw bytes.
    pub const POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.8");
    /// Form factor, 1 raw byte.
    pub const FORM_FACTOR: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.9");
}

/// Why a certificate could not be made.
#[derive(Debug)]
pub struct AttestError(String);

impl std::fmt::Display for AttestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AttestError {}

fn err(e: impl std::fmt::Display) -> AttestError {
    AttestError(e.to_string())
}

/// A profile with a given issuer, subject and extensions.
struct Profile {
    issuer: Name,
    subject: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

fn validity() -> Result<Validity, AttestError> {
    Ok(Validity::new(
        Time::from_str("2024-01-01T00:00:00Z").map_err(err)?,
        Time::from_str("2099-12-31T23:59:59Z").map_err(err)?,
    ))
}

fn ca_extension(subject: &Name) -> Result<Extension, AttestError> {
    BasicConstraints {
        ca: true,
        path_len_constraint: None,
    }
    .to_extension(subject, &[])
    .map_err(err)
}

fn issue(
    issuer_key: &SigningKey,
    issuer: Name,
    subject: Name,
    serial: &[u8],
    spki: SubjectPublicKeyInfoOwned,
    extensions: Vec<Extension>,
) -> Result<Vec<u8>, AttestError> {
    let profile = Profile {
        issuer,
        subject,
        extensions,
    };
    let builder = CertificateBuilder::new(
        profile,
        SerialNumber::new(serial).map_err(err)?,
        validity()?,
        spki,
    )
    .map_err(err)?;
    let cert: Certificate = builder.build::<_, DerSignature>(issuer_key).map_err(err)?;
    cert.to_der().map_err(err)
}

/// The test root CA's key.
pub fn root_key() -> SigningKey {
    SigningKey::from_slice(&TEST_ROOT_KEY).expect("a valid P-256 scalar")
}

/// The test root CA certificate (DER), the same on every run.
pub fn root_certificate() -> Result<Vec<u8>, AttestError> {
    let key = root_key();
    let name = Name::from_str(TEST_ROOT_SUBJECT).map_err(err)?;
    let spki = SubjectPublicKeyInfo::from_key(key.verifying_key()).map_err(err)?;
    let ext = ca_extension(&name)?;
    issue(&key, name.clone(), name, &[1], spki, vec![ext])
}

/// A new attestation key for a card with `serial`, and its certificate
/// (DER) signed by the test root, as stored in object `5FFF01`.
pub fn new_attestation_key(serial: u32) -> Result<(SigningKey, Vec<u8>), AttestError> {
    let key = crate::crypto::generate_p256();
    let subject =
        Name::from_str(&format!("CN=piv-emulator PIV Attestation {serial}")).map_err(err)?;
    let spki = SubjectPublicKeyInfo::from_key(key.verifying_key()).map_err(err)?;
    let ext = ca_extension(&subject)?;
    let issuer = Name::from_str(TEST_ROOT_SUBJECT).map_err(err)?;
    let cert = issue(
        &root_key(),
        issuer,
        subject,
        &serial_bytes(),
        spki,
        vec![ext],
    )?;
    Ok((key, cert))
}

/// What an attestation certificate states about the attested key.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    /// Slot of the key.
    pub slot: u8,
    /// Firmware version.
    pub firmware: [u8; 3],
    /// Card serial.
    pub serial: u32,
    /// PIN policy byte.
    pub pin_policy: u8,
    /// Touch policy byte.
    pub touch_policy: u8,
}

/// The attestation certificate (DER) for the public key `point` (SEC1
/// uncompressed), signed by the card's attestation key whose certificate is
/// `attestation_cert` (DER).
pub fn attest(
    attestation_key: &SigningKey,
    attestation_cert: &[u8],
    point: &[u8],
    facts: Facts,
) -> Result<Vec<u8>, AttestError> {
    use x509_cert::der::Decode;
    let issuer = Certificate::from_der(attestation_cert)
        .map_err(err)?
        .tbs_certificate()
        .subject()
        .clone();
    let subject =
        Name::from_str(&format!("CN=YubiKey PIV Attestation {:02x}", facts.slot)).map_err(err)?;
    let public = p256::PublicKey::from_sec1_bytes(point).map_err(err)?;
    let spki = SubjectPublicKeyInfo::from_key(&public).map_err(err)?;
    let raw = |id: ObjectIdentifier, bytes: &[u8]| -> Result<Extension, AttestError> {
        Ok(Extension {
            extn_id: id,
            critical: false,
            extn_value: OctetString::new(bytes.to_vec()).map_err(err)?,
        })
    };
    let serial_der = facts.serial.to_der().map_err(err)?;
    let extensions = vec![
        raw(oid::FIRMWARE, &facts.firmware)?,
        raw(oid::SERIAL, &serial_der)?,
        raw(oid::POLICY, &[facts.pin_policy, facts.touch_policy])?,
        // USB-A keychain.
        raw(oid::FORM_FACTOR, &[0x01])?,
    ];
    let mut serial = serial_bytes();
    serial[0] &= 0x7F;
    issue(attestation_key, issuer, subject, &serial, spki, extensions)
}

/// A random positive certificate serial.
fn serial_bytes() -> Vec<u8> {
    let mut s = crate::crypto::random(16).to_vec();
    s[0] = (s[0] & 0x7F) | 0x01;
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    use x509_cert::der::Decode;

    fn verify_signed_by(cert_der: &[u8], issuer: &VerifyingKey) {
        let cert = Certificate::from_der(cert_der).unwrap();
        let tbs = cert.tbs_certificate().to_der().unwrap();
        let sig = Signature::from_der(cert.signature().raw_bytes()).unwrap();
        issuer.verify(&tbs, &sig).expect("signed by the issuer");
    }

    fn spki_point(cert_der: &[u8]) -> Vec<u8> {
        let cert = Certificate::from_der(cert_der).unwrap();
        cert.tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes()
            .to_vec()
    }

    #[test]
    fn root_is_deterministic_and_self_signed() {
        let a = root_certificate().unwrap();
        assert_eq!(a, root_certificate().unwrap());
        verify_signed_by(&a, root_key().verifying_key());
    }

    #[test]
    fn chain_attestation_to_intermediate_to_root() {
        let (f9, f9_cert) = new_attestation_key(1234).unwrap();
        verify_signed_by(&f9_cert, root_key().verifying_key());
        let key = crate::crypto::generate_p256();
        let point = crate::crypto::public_point(&key);
        let facts = Facts {
            slot: 0x9C,
            firmware: [5, 7, 1],
            serial: 1234,
            pin_policy: 3,
            touch_policy: 2,
        };
        let cert_der = attest(&f9, &f9_cert, &point, facts).unwrap();
        verify_signed_by(&cert_der, f9.verifying_key());
        assert_eq!(spki_point(&cert_der), point);
        let cert = Certificate::from_der(&cert_der).unwrap();
        let exts = cert.tbs_certificate().extensions().unwrap();
        let get = |id| {
            exts.iter()
                .find(|e| e.extn_id == id)
                .map(|e| e.extn_value.as_bytes().to_vec())
                .unwrap()
        };
        assert_eq!(get(oid::FIRMWARE), [5, 7, 1]);
        assert_eq!(get(oid::SERIAL), [0x02, 0x02, 0x04, 0xD2]);
        assert_eq!(get(oid::POLICY), [3, 2]);
        assert_eq!(
            cert.tbs_certificate().subject().to_string(),
            "CN=YubiKey PIV Attestation 9c"
        );
    }
}
