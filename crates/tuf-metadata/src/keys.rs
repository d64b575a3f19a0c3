//! Public keys as TUF publishes them, their key ids, and signature checks.
//!
//! A key object is kept exactly as read (unknown fields included) because its
//! key id is the SHA-256 of its canonical form. What counts toward a threshold
//! is the decoded key ([`PublicKey`]), so one key published twice — under two
//! key ids, or once as `ecdsa` PEM and once as `ecdsa-sha2-nistp256` hex —
//! is still one key.

use ring::signature::{self as sig, UnparsedPublicKey};
use spki::der::DecodePem;
use spki::{ObjectIdentifier, SubjectPublicKeyInfoOwned};

use crate::canonical;
use crate::fields::{Fields, FormatError, Problem, Within, err, object_with};
use crate::json::{Object, Value};

/// A key id: lowercase hex of SHA-256 over the canonical key object.
pub type KeyId = String;

/// A public key object from `keys` in root or delegations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// `keytype`, e.g. `ed25519`, `ecdsa`, `ecdsa-sha2-nistp256`, `rsa`.
    pub keytype: String,
    /// `scheme`, e.g. `ed25519`, `ecdsa-sha2-nistp256`, `rsassa-pss-sha256`.
    pub scheme: String,
    /// `keyval.public`.
    pub public: String,
    /// Other fields of `keyval` (kept verbatim).
    pub keyval_rest: Object,
    /// Other fields of the key object, such as `keyid_hash_algorithms` or `x-…`.
    pub unrecognized: Object,
}

/// A decoded public key: equal values are the same key, whatever its encoding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PublicKey {
    /// 32-byte Ed25519 public key.
    Ed25519([u8; 32]),
    /// NIST P-256 public key as a 65-byte uncompressed SEC1 point.
    EcdsaP256(Vec<u8>),
    /// RSA public key (PKCS#1 `RSAPublicKey` DER) with its padding scheme.
    Rsa {
        /// The PKCS#1 DER.
        der: Vec<u8>,
        /// True for RSASSA-PSS, false for PKCS#1 v1.5.
        pss: bool,
    },
}

/// Why a key object cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A keytype/scheme pair we do not verify.
    #[error("unsupported key type {keytype:?} with scheme {scheme:?}")]
    Unsupported {
        /// keytype
        keytype: String,
        /// scheme
        scheme: String,
    },
    /// The public key text does not decode to a key of the stated type.
    #[error("public key is not a valid {0}")]
    BadPublicKey(&'static str),
}

/// Why a signature does not count.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `sig` is not hex.
    #[error("signature is not hex")]
    NotHex,
    /// Longer than any supported scheme's signature (RSA-8192: 1024 bytes).
    #[error("signature is {0} bytes, longer than any supported key type makes")]
    TooLong(usize),
    /// An Ed25519 signature of the wrong length.
    #[error("Ed25519 signature is {0} bytes, not 64")]
    Ed25519Length(usize),
    /// A raw r||s ECDSA signature: TUF encodes ECDSA as ASN.1 DER.
    #[error("ECDSA signature is raw r||s (64 bytes); TUF requires ASN.1 DER")]
    RawEcdsa,
    /// The mathematics says no.
    #[error("signature does not verify")]
    Invalid,
}

/// The longest signature a supported key makes (RSA 8192 bits).
const MAX_SIGNATURE_BYTES: usize = 1024;

const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

impl Key {
    /// Reads a key object. Refuses one carrying `keyval.private`.
    pub fn from_value(value: Value) -> Result<Self, FormatError> {
        let mut fields = Fields::new(value)?;
        let keytype = fields.string("keytype")?;
        let scheme = fields.string("scheme")?;
        let mut keyval = Fields::new(fields.take("keyval")?).within("keyval")?;
        let public = keyval.string("public").within("keyval")?;
        if keyval.take_opt("private").is_some() {
            return Err(err("keyval", Problem::PrivateKeyMaterial));
        }
        Ok(Key {
            keytype,
            scheme,
            public,
            keyval_rest: keyval.rest(),
            unrecognized: fields.rest(),
        })
    }

    /// The key object as published.
    pub fn to_value(&self) -> Value {
        let keyval = object_with(
            [("public", Value::from(self.public.as_str()))],
            &self.keyval_rest,
        );
        object_with(
            [
                ("keytype", Value::from(self.keytype.as_str())),
                ("scheme", Value::from(self.scheme.as_str())),
                ("keyval", keyval),
            ],
            &self.unrecognized,
        )
    }

    /// The key id peers compute: SHA-256 of the canonical key object.
    pub fn key_id(&self) -> KeyId {
        let digest =
            ring::digest::digest(&ring::digest::SHA256, &canonical::encode(&self.to_value()));
        hex::encode(digest.as_ref())
    }

    /// Decodes the public key for verification and for counting distinct keys.
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        let unsupported = || KeyError::Unsupported {
            keytype: self.keytype.clone(),
            scheme: self.scheme.clone(),
        };
        match (self.keytype.as_str(), self.scheme.as_str()) {
            ("ed25519", "ed25519") => {
                let bytes =
                    hex::decode(&self.public).map_err(|_| KeyError::BadPublicKey("Ed25519 key"))?;
                let raw: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| KeyError::BadPublicKey("Ed25519 key"))?;
                Ok(PublicKey::Ed25519(raw))
            }
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
                decode_p256(&self.public).map(PublicKey::EcdsaP256)
            }
            ("rsa", "rsassa-pss-sha256" | "rsa-pkcs1v15-sha256") => Ok(PublicKey::Rsa {
                der: decode_rsa(&self.public)?,
                pss: self.scheme == "rsassa-pss-sha256",
            }),
            _ => Err(unsupported()),
        }
    }
}

fn decode_p256(public: &str) -> Result<Vec<u8>, KeyError> {
    let bad = KeyError::BadPublicKey("P-256 key (PEM SPKI or hex uncompressed point)");
    let point = if public.trim_start().starts_with("-----BEGIN") {
        let spki = SubjectPublicKeyInfoOwned::from_pem(public.trim()).map_err(|_| bad.clone())?;
        let curve: Option<ObjectIdentifier> = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as().ok());
        if spki.algorithm.oid != ID_EC_PUBLIC_KEY || curve != Some(PRIME256V1) {
            return Err(bad);
        }
        spki.subject_public_key.raw_bytes().to_vec()
    } else {
        hex::decode(public).map_err(|_| bad.clone())?
    };
    // ring reads uncompressed points only; peers publish nothing else.
    if point.len() == 65 && point[0] == 0x04 {
        Ok(point)
    } else {
        Err(bad)
    }
}

fn decode_rsa(public: &str) -> Result<Vec<u8>, KeyError> {
    let bad = KeyError::BadPublicKey("RSA key (PEM SPKI)");
    let spki = SubjectPublicKeyInfoOwned::from_pem(public.trim()).map_err(|_| bad.clone())?;
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(bad);
    }
    Ok(spki.subject_public_key.raw_bytes().to_vec())
}

impl PublicKey {
    /// Checks `signature` (raw bytes, already hex-decoded) over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        let ok = match self {
            PublicKey::Ed25519(key) => {
                if signature.len() != 64 {
                    return Err(SignatureError::Ed25519Length(signature.len()));
                }
                UnparsedPublicKey::new(&sig::ED25519, key).verify(message, signature)
            }
            PublicKey::EcdsaP256(point) => {
                if signature.len() == 64 && !looks_like_der_sequence(signature) {
                    return Err(SignatureError::RawEcdsa);
                }
                UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_ASN1, point)
                    .verify(message, signature)
            }
            PublicKey::Rsa { der, pss } => {
                let alg: &dyn sig::VerificationAlgorithm = if *pss {
                    &sig::RSA_PSS_2048_8192_SHA256
                } else {
                    &sig::RSA_PKCS1_2048_8192_SHA256
                };
                UnparsedPublicKey::new(alg, der).verify(message, signature)
            }
        };
        ok.map_err(|_| SignatureError::Invalid)
    }

    /// Checks a TUF `sig` field (hex) over `message`.
    pub fn verify_hex(&self, message: &[u8], signature_hex: &str) -> Result<(), SignatureError> {
        let mut raw = [0u8; MAX_SIGNATURE_BYTES];
        let len = signature_hex.len() / 2;
        if len > MAX_SIGNATURE_BYTES {
            return Err(SignatureError::TooLong(len));
        }
        hex::decode_to_slice(signature_hex, &mut raw[..len]).map_err(|_| SignatureError::NotHex)?;
        self.verify(message, &raw[..len])
    }
}

/// A DER `SEQUENCE` whose length byte covers the rest exactly.
fn looks_like_der_sequence(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == 0x30 && usize::from(bytes[1]) == bytes.len() - 2
}

/// Reads the `keys` object of root or delegations, capped at `limit` keys.
pub(crate) fn keys_from_value(
    value: Value,
    limit: usize,
) -> Result<std::collections::BTreeMap<KeyId, Key>, FormatError> {
    let map = crate::fields::as_object(value)?;
    if map.len() > limit {
        return Err(err(
            "",
            Problem::TooManyKeys {
                count: map.len(),
                limit,
            },
        ));
    }
    map.into_iter()
        .map(|(id, key)| {
            let key = Key::from_value(key).within(&id)?;
            Ok((id, key))
        })
        .collect()
}

/// The `keys` object as published.
pub(crate) fn keys_to_value(keys: &std::collections::BTreeMap<KeyId, Key>) -> Value {
    Value::Object(
        keys.iter()
            .map(|(id, key)| (id.clone(), key.to_value()))
            .collect(),
    )
}

/// Key ids whose key object does not hash to them: `(listed, computed)`.
/// Real roots carry some (one of sigstore's did), so this is reported, and it
/// is the caller who decides whether it is a warning or an error.
pub fn keyid_mismatches(keys: &std::collections::BTreeMap<KeyId, Key>) -> Vec<(KeyId, KeyId)> {
    keys.iter()
        .filter_map(|(id, key)| {
            let actual = key.key_id();
            (actual != *id).then(|| (id.clone(), actual))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    fn key(text: &str) -> Key {
        Key::from_value(parse(text.as_bytes(), 1 << 16).unwrap()).unwrap()
    }

    #[test]
    fn key_id_hashes_the_canonical_object_including_unknown_fields() {
        let plain = key(r#"{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"00"}}"#);
        let extra =
            key(r#"{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"00"},"x-a":1}"#);
        assert_eq!(plain.key_id().len(), 64);
        assert_ne!(plain.key_id(), extra.key_id());
        assert_eq!(
            crate::canonical::encode(&extra.to_value()),
            br#"{"keytype":"ed25519","keyval":{"public":"00"},"scheme":"ed25519","x-a":1}"#
        );
    }

    #[test]
    fn private_key_material_is_refused() {
        let v = parse(
            br#"{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"00","private":"11"}}"#,
            1 << 16,
        )
        .unwrap();
        assert_eq!(
            Key::from_value(v).unwrap_err().code(),
            "private-key-material"
        );
    }

    #[test]
    fn unsupported_and_malformed_keys_are_reported() {
        let k = key(r#"{"keytype":"dsa","scheme":"dsa","keyval":{"public":"00"}}"#);
        assert!(matches!(k.public_key(), Err(KeyError::Unsupported { .. })));
        let k = key(r#"{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"zz"}}"#);
        assert!(matches!(k.public_key(), Err(KeyError::BadPublicKey(_))));
        let k = key(
            r#"{"keytype":"ecdsa","scheme":"ecdsa-sha2-nistp256","keyval":{"public":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}}"#,
        );
        assert!(matches!(k.public_key(), Err(KeyError::BadPublicKey(_))));
    }

    #[test]
    fn raw_ecdsa_signatures_are_named() {
        let mut point = vec![4u8];
        point.extend([1u8; 64]);
        let key = PublicKey::EcdsaP256(point);
        assert_eq!(key.verify(b"m", &[7u8; 64]), Err(SignatureError::RawEcdsa));
        assert_eq!(key.verify_hex(b"m", "xyz"), Err(SignatureError::NotHex));
        let ed = PublicKey::Ed25519([0; 32]);
        assert_eq!(
            ed.verify(b"m", &[0; 63]),
            Err(SignatureError::Ed25519Length(63))
        );
    }
}
