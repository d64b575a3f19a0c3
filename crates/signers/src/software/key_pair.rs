//! The private key inside a software key file: PKCS#8 DER in, a ring key
//! pair and the TUF key object out.
//!
//! ring's key pairs do not wipe their memory when dropped, and neither does
//! the `pkcs8::Document` that key generation returns. So a [`KeyPair`] is
//! built from the zeroizing PKCS#8 bytes for one operation and dropped at
//! once: between signatures the secret lives only in `Zeroizing` memory.

use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use spki::der::{Decode, Reader, SliceReader};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use tuf_metadata::Key;
use zeroize::Zeroizing;

use crate::KeyKind;

const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");

/// A decoded private key, alive for one operation only (see the module doc).
pub(super) enum KeyPair {
    Ed25519(Ed25519KeyPair),
    EcdsaP256(EcdsaKeyPair),
}

impl KeyPair {
    /// Reads PKCS#8 DER: Ed25519 (v1 as OpenSSL and Python's `cryptography`
    /// write it, or v2 as ring does, whose public key is then checked) or
    /// P-256 (with its public key, which ring checks against the scalar).
    /// The error says, in words, what the bytes are instead.
    pub(super) fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, String> {
        let algorithm = algorithm_of(pkcs8)
            .ok_or_else(|| "the decrypted content is not a PKCS#8 private key (DER)".to_owned())?;
        let curve: Option<ObjectIdentifier> = algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as().ok());
        let rejected = |name: &str, e: ring::error::KeyRejected| {
            format!("the {name} private key is malformed or inconsistent ({e})")
        };
        match (algorithm.oid, curve) {
            (ID_ED25519, _) => Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
                .map(KeyPair::Ed25519)
                .map_err(|e| rejected("Ed25519", e)),
            (ID_EC_PUBLIC_KEY, Some(PRIME256V1)) => EcdsaKeyPair::from_pkcs8(
                &ECDSA_P256_SHA256_ASN1_SIGNING,
                pkcs8,
                &SystemRandom::new(),
            )
            .map(KeyPair::EcdsaP256)
            .map_err(|e| rejected("P-256", e)),
            (ID_EC_PUBLIC_KEY, Some(SECP384R1)) => Err(unsupported("a P-384")),
            (ID_EC_PUBLIC_KEY, Some(SECP521R1)) => Err(unsupported("a P-521")),
            (ID_EC_PUBLIC_KEY, _) => Err(unsupported("an elliptic-curve key on another curve")),
            (RSA_ENCRYPTION, _) => Err(unsupported("an RSA")),
            (ID_ED448, _) => Err(unsupported("an Ed448")),
            (oid, _) => Err(format!(
                "it is a PKCS#8 key with algorithm {oid}, not Ed25519 or P-256"
            )),
        }
    }

    pub(super) fn kind(&self) -> KeyKind {
        match self {
            KeyPair::Ed25519(_) => KeyKind::Ed25519,
            KeyPair::EcdsaP256(_) => KeyKind::EcdsaP256,
        }
    }

    /// The key object as python-tuf (securesystemslib's `SSlibKey.from_crypto`)
    /// publishes it: Ed25519 as hex, P-256 as `ecdsa` with a PEM SPKI.
    pub(super) fn public_key_object(&self) -> Key {
        let point = match self {
            KeyPair::Ed25519(pair) => pair.public_key().as_ref(),
            KeyPair::EcdsaP256(pair) => pair.public_key().as_ref(),
        };
        self.kind()
            .tuf_key(point)
            .expect("ring checked this public key when it parsed the private key")
    }

    /// Signs `message`: 64 raw bytes for Ed25519, ASN.1 DER for P-256.
    pub(super) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ring::error::Unspecified> {
        match self {
            KeyPair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            KeyPair::EcdsaP256(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec()),
        }
    }
}

fn unsupported(what: &str) -> String {
    format!("it is {what} private key; software key files hold Ed25519 or P-256 keys only")
}

/// A new private key as PKCS#8 DER (v2 for Ed25519, with the public key).
/// ring's `Document` is not wiped on drop (module doc); the copy we keep is.
pub(super) fn generate(kind: KeyKind) -> Result<Zeroizing<Vec<u8>>, ring::error::Unspecified> {
    let rng = SystemRandom::new();
    let document = match kind {
        KeyKind::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng)?,
        KeyKind::EcdsaP256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)?,
    };
    Ok(Zeroizing::new(document.as_ref().to_vec()))
}

/// The `privateKeyAlgorithm` of a PKCS#8 `PrivateKeyInfo`, if it is one.
fn algorithm_of(pkcs8: &[u8]) -> Option<AlgorithmIdentifierOwned> {
    let mut reader = SliceReader::new(pkcs8).ok()?;
    let algorithm = reader
        .sequence(|inner: &mut SliceReader<'_>| {
            let _version: u8 = inner.decode()?;
            let algorithm = AlgorithmIdentifierOwned::decode(inner)?;
            inner.drain(inner.remaining_len())?;
            Ok::<_, spki::der::Error>(algorithm)
        })
        .ok()?;
    reader.finish().ok()?;
    Some(algorithm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_read_back_as_their_kind() {
        for kind in [KeyKind::Ed25519, KeyKind::EcdsaP256] {
            let pkcs8 = generate(kind).unwrap();
            let pair = KeyPair::from_pkcs8(&pkcs8).unwrap();
            assert_eq!(pair.kind(), kind);
            let key = pair.public_key_object();
            let signature = pair.sign(b"canonical bytes").unwrap();
            key.public_key()
                .unwrap()
                .verify(b"canonical bytes", &signature)
                .unwrap();
        }
    }

    #[test]
    fn an_ed25519_pkcs8_v1_key_as_openssl_writes_it_is_read() {
        // RFC 8410, section 10.3: the example private key.
        let v1 = hex::decode(
            "302e020100300506032b657004220420\
             d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842",
        )
        .unwrap();
        let pair = KeyPair::from_pkcs8(&v1).unwrap();
        assert_eq!(
            pair.public_key_object().public,
            "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1"
        );
    }

    #[test]
    fn other_content_is_named_in_the_error() {
        assert!(
            KeyPair::from_pkcs8(b"not DER at all")
                .err()
                .unwrap()
                .contains("not a PKCS#8 private key")
        );
        // A PKCS#8 header for an Ed448 key (RFC 8410 OID 1.3.101.113).
        let ed448 = hex::decode(format!(
            "3047020100300506032b6571043b0439{}",
            "00".repeat(57)
        ))
        .unwrap();
        assert!(
            KeyPair::from_pkcs8(&ed448)
                .err()
                .unwrap()
                .contains("an Ed448 private key")
        );
    }
}
