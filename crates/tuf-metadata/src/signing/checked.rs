//! The self-check as a type: a [`CheckedSignature`] exists only once a
//! signature has been verified over exact canonical bytes with the public
//! key it claims, and it remembers which bytes those were. Signers return
//! nothing else, and metadata records nothing else, so "every signature is
//! checked before it is written" is a property of the types, not of each
//! caller's discipline, and a signature checked over one file can never be
//! attached to another.

use std::fmt;

use crate::keys::{Key, KeyError, KeyId, PublicKey, SignatureError};
use crate::metadata::Signature;

/// A published key decoded once, for checking many signatures (a signer
/// making thousands of signatures decodes its PEM and hashes its key object
/// once, not per signature). Its key id and public key always come from one
/// and the same [`Key`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckingKey {
    key_id: KeyId,
    public: PublicKey,
}

impl CheckingKey {
    /// Decodes `key` as published.
    pub fn new(key: &Key) -> Result<Self, CheckError> {
        let key_id = key.key_id();
        match key.public_key() {
            Ok(public) => Ok(CheckingKey { key_id, public }),
            Err(source) => Err(CheckError {
                key_id,
                reason: CheckFailure::Key(source),
            }),
        }
    }

    /// The key id of the key (SHA-256 of its canonical key object).
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The decoded public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }
}

/// Why a signature could not become a [`CheckedSignature`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("signature by key {key_id}: {reason}")]
pub struct CheckError {
    /// The key id of the key the signature was checked against.
    pub key_id: KeyId,
    /// What the verifier said.
    pub reason: CheckFailure,
}

/// What was wrong, in the verifier's words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckFailure {
    /// The key itself cannot be used to verify.
    #[error(transparent)]
    Key(KeyError),
    /// The signature does not verify over the bytes given.
    #[error(transparent)]
    Signature(SignatureError),
}

/// A signature verified over exact canonical bytes with the published key
/// it claims. Constructible only by [`CheckedSignature::check`] (a signer's
/// self-check) or [`CheckedSignature::verify`] (an existing signature, e.g.
/// from a stick), both of which verify; it carries the SHA-256 of the bytes
/// it covers so a writer refuses it for any other file.
#[derive(Clone, PartialEq, Eq)]
pub struct CheckedSignature {
    key_id: KeyId,
    public: PublicKey,
    sig: String,
    covers: [u8; 32],
}

impl CheckedSignature {
    /// The self-check: verifies raw `signature` over `canonical_bytes` with
    /// `key`, and only then returns it.
    pub fn check(
        key: &CheckingKey,
        canonical_bytes: &[u8],
        signature: &[u8],
    ) -> Result<Self, CheckError> {
        key.public
            .verify(canonical_bytes, signature)
            .map_err(|e| key.failure(e))?;
        Ok(CheckedSignature {
            key_id: key.key_id.clone(),
            public: key.public.clone(),
            sig: hex::encode(signature),
            covers: sha256(canonical_bytes),
        })
    }

    /// Checks a signature that already exists (a `sig` entry read from a
    /// file) over `canonical_bytes` with `key`: what `merge` does with the
    /// signatures it gathers from sticks before it records any of them.
    pub fn verify(
        existing: &Signature,
        key: &Key,
        canonical_bytes: &[u8],
    ) -> Result<Self, CheckError> {
        let key = CheckingKey::new(key)?;
        key.public
            .verify_hex(canonical_bytes, &existing.sig)
            .map_err(|e| key.failure(e))?;
        Ok(CheckedSignature {
            sig: existing.sig.clone(),
            covers: sha256(canonical_bytes),
            key_id: key.key_id,
            public: key.public,
        })
    }

    /// The key id of the key that made it (as that key is published by the
    /// signer; metadata may list the same key under other ids too).
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The public key that verified it: what writers match against the
    /// keys a role lists.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Hex of the signature bytes, as TUF publishes them.
    pub fn sig(&self) -> &str {
        &self.sig
    }

    /// Hex SHA-256 of the canonical bytes it was checked over.
    pub fn covers_digest(&self) -> String {
        hex::encode(self.covers)
    }

    /// True when it was checked over exactly `canonical_bytes`.
    pub fn covers(&self, canonical_bytes: &[u8]) -> bool {
        self.covers == sha256(canonical_bytes)
    }

    /// The TUF signature object under the signer's own key id (for the
    /// transcript and for showing; writers take the checked value itself).
    pub fn to_signature(&self) -> Signature {
        self.signature_as(&self.key_id)
    }

    /// The TUF signature object under `keyid`.
    pub(crate) fn signature_as(&self, keyid: &KeyId) -> Signature {
        Signature {
            keyid: keyid.clone(),
            sig: self.sig.clone(),
            unrecognized: Default::default(),
        }
    }
}

impl fmt::Debug for CheckedSignature {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("CheckedSignature")
            .field("key_id", &self.key_id)
            .field("sig", &self.sig)
            .field("covers", &self.covers_digest())
            .finish()
    }
}

impl CheckingKey {
    fn failure(&self, e: SignatureError) -> CheckError {
        CheckError {
            key_id: self.key_id.clone(),
            reason: CheckFailure::Signature(e),
        }
    }
}

/// Why a metadata file refused a [`CheckedSignature`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// It was checked over other bytes than this file's canonical `signed`.
    #[error(
        "the signature by key {key_id} was checked over other bytes (sha256 {covers}) than this file's (sha256 {file}); not recorded"
    )]
    OtherBytes {
        /// The signer's key id.
        key_id: KeyId,
        /// Digest of the bytes the signature covers.
        covers: String,
        /// Digest of this file's canonical bytes.
        file: String,
    },
    /// No key set lists the key that made it.
    #[error("key {0} is not one the role lists; not recorded")]
    NotListed(KeyId),
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestKey;

    #[test]
    fn a_signature_that_verifies_is_checked_and_remembers_its_bytes() {
        let k = TestKey::from_seed(1);
        let key = CheckingKey::new(k.key()).unwrap();
        assert_eq!(key.key_id(), &k.id());
        let checked = CheckedSignature::check(&key, b"signed", &k.sign_bytes(b"signed")).unwrap();
        assert_eq!(checked.key_id(), &k.id());
        assert_eq!(checked.sig(), hex::encode(k.sign_bytes(b"signed")));
        assert_eq!(checked.to_signature(), k.signature(b"signed"));
        assert!(checked.covers(b"signed"));
        assert!(!checked.covers(b"signed "));
        assert_eq!(checked.covers_digest(), hex::encode(sha256(b"signed")));
    }

    #[test]
    fn a_signature_that_does_not_verify_cannot_become_checked() {
        let (k, other) = (TestKey::from_seed(1), TestKey::from_seed(2));
        let key = CheckingKey::new(k.key()).unwrap();
        let good = k.sign_bytes(b"signed");
        for (what, message, sig) in [
            ("other bytes", &b"other"[..], good.clone()),
            ("other key", b"signed", other.sign_bytes(b"signed")),
            ("truncated", b"signed", good[..63].to_vec()),
            ("empty", b"signed", Vec::new()),
        ] {
            let err = CheckedSignature::check(&key, message, &sig).unwrap_err();
            assert_eq!(err.key_id, k.id(), "{what}");
            assert!(
                matches!(err.reason, CheckFailure::Signature(_)),
                "{what}: {err}"
            );
        }
    }

    #[test]
    fn an_existing_signature_is_checked_the_same_way() {
        let (k, other) = (TestKey::from_seed(1), TestKey::from_seed(2));
        let existing = k.signature(b"signed");
        let checked = CheckedSignature::verify(&existing, k.key(), b"signed").unwrap();
        assert_eq!(checked.to_signature(), existing);
        assert!(checked.covers(b"signed"));
        for (what, sig, key, message) in [
            ("other bytes", &existing, k.key(), &b"other"[..]),
            ("other key", &existing, other.key(), b"signed"),
        ] {
            let err = CheckedSignature::verify(sig, key, message).unwrap_err();
            assert!(matches!(err.reason, CheckFailure::Signature(_)), "{what}");
        }
        let mut not_hex = existing;
        not_hex.sig = "zz".repeat(64);
        let err = CheckedSignature::verify(&not_hex, k.key(), b"signed").unwrap_err();
        assert_eq!(err.reason, CheckFailure::Signature(SignatureError::NotHex));
    }

    #[test]
    fn a_key_that_cannot_verify_checks_nothing() {
        let mut key = TestKey::from_seed(1).key().clone();
        key.scheme = "rsassa-pss-sha512".into();
        let err = CheckingKey::new(&key).unwrap_err();
        assert_eq!(err.key_id, key.key_id());
        assert!(matches!(err.reason, CheckFailure::Key(_)), "{err}");
    }
}
