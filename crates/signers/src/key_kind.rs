//! The key algorithms our signers make and use, and the TUF key object each
//! publishes: one definition for every backend, so a key generated on a
//! token and one in a software file are published the same way.

use std::fmt;

use p256::pkcs8::{EncodePublicKey, LineEnding};
use tuf_metadata::Key;

/// The algorithms a TUF key held by our signers can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// ECDSA on NIST P-256 with SHA-256, published as keytype `ecdsa`,
    /// scheme `ecdsa-sha2-nistp256`, with a PEM SPKI key: the one P-256 form
    /// python-tuf, go-tuf, tuf-js and tough all read (docs/decisions.md).
    EcdsaP256,
    /// Pure Ed25519, published as keytype and scheme `ed25519` with a hex key.
    Ed25519,
}

impl KeyKind {
    /// The TUF key object for a public point (65-byte uncompressed P-256
    /// point or 32-byte Ed25519 key), as python-tuf publishes it. The PEM is
    /// byte for byte what Python's `cryptography` writes: the key id hashes it.
    pub fn tuf_key(self, point: &[u8]) -> Result<Key, String> {
        let (keytype, scheme, public) = match self {
            KeyKind::EcdsaP256 => {
                let key = p256::PublicKey::from_sec1_bytes(point)
                    .map_err(|_| "the P-256 point is not on the curve".to_owned())?;
                let pem = key
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(|e| format!("cannot write the P-256 key as PEM: {e}"))?;
                ("ecdsa", "ecdsa-sha2-nistp256", pem)
            }
            KeyKind::Ed25519 if point.len() == 32 => ("ed25519", "ed25519", hex::encode(point)),
            KeyKind::Ed25519 => {
                return Err(format!("an Ed25519 key is 32 bytes, not {}", point.len()));
            }
        };
        Ok(Key {
            keytype: keytype.into(),
            scheme: scheme.into(),
            public,
            keyval_rest: Default::default(),
            unrecognized: Default::default(),
        })
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            KeyKind::EcdsaP256 => "ECDSA P-256",
            KeyKind::Ed25519 => "Ed25519",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_p256_public_key_is_published_as_pem_in_64_character_lines() {
        // Python's cryptography: `ec.derive_private_key(0x1234567890abcdef,
        // SECP256R1()).public_key().public_bytes(PEM, SubjectPublicKeyInfo)`.
        let point = hex::decode(
            "049fad84aeae08bbef7f010014d82cef6a09de2b0cf871b5ce0c4f1d13a59a5934\
             07cb45769f1070e2c2470fe5b1bfe63133c0b0cdc64ea4bf3791a8ec2a07fd4f",
        )
        .unwrap();
        let key = KeyKind::EcdsaP256.tuf_key(&point).unwrap();
        assert_eq!(
            key.public,
            "-----BEGIN PUBLIC KEY-----\n\
             MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEn62Erq4Iu+9/AQAU2CzvagneKwz4\n\
             cbXODE8dE6WaWTQHy0V2nxBw4sJHD+Wxv+YxM8CwzcZOpL83kajsKgf9Tw==\n\
             -----END PUBLIC KEY-----\n"
        );
        assert_eq!(
            (key.keytype.as_str(), key.scheme.as_str()),
            ("ecdsa", "ecdsa-sha2-nistp256")
        );
    }

    #[test]
    fn points_off_the_curve_or_of_the_wrong_size_are_refused() {
        let mut point = vec![4u8];
        point.extend([1u8; 64]);
        assert!(KeyKind::EcdsaP256.tuf_key(&point).is_err());
        assert!(KeyKind::Ed25519.tuf_key(&[0; 31]).is_err());
    }
}
