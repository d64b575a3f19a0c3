//! Signing TUF metadata with keys that never leave their home: a PKCS#11
//! token, or (for online roles and drills only) an age-encrypted file.
//!
//! Every backend implements [`Signer`]: it publishes the TUF key object it
//! holds, signs the canonical bytes it is given, and checks its own signature
//! with `tuf-metadata`'s verifier before returning it. What it returns is a
//! [`CheckedSignature`], which only that check can make and which metadata
//! records only for the bytes it was checked over, so a broken token or a
//! wrong mechanism can never put a bad signature into a file.

pub mod key_kind;
pub mod pin;
pub mod pkcs11;
pub mod profile;
pub mod software;
#[cfg(feature = "attestation")]
pub mod yubikey;

use std::fmt;

use tuf_metadata::signing::CheckError;
use tuf_metadata::{Key, KeyId};

pub use tuf_metadata::signing::{CheckedSignature, CheckingKey};

pub use key_kind::KeyKind;
pub use pin::{Pin, PinError, PinState};

/// Which kind of backend holds the key, as shown to keyholders and witnesses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A PKCS#11 token (HSM, smart card, SoftHSM2 in drills).
    Pkcs11,
    /// A YubiKey over PIV.
    YubiKey,
    /// An age-encrypted key file: online roles and drills only.
    Software,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Backend::Pkcs11 => "PKCS#11 token",
            Backend::YubiKey => "YubiKey (PIV)",
            Backend::Software => "software key file (online roles and drills only)",
        })
    }
}

/// What a transcript records about the signer: enough to identify the token
/// and key, never anything secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerIdentity {
    /// Kind of backend.
    pub backend: Backend,
    /// Token manufacturer and model, e.g. "SoftHSM project / SoftHSM v2".
    pub model: String,
    /// Token serial number (empty if the backend has none).
    pub serial: String,
    /// Token label (PKCS#11) or file name (software).
    pub token_label: String,
    /// Key label on the token (`CKA_LABEL`), or empty.
    pub key_label: String,
    /// PKCS#11 slot id, where there is one.
    pub slot: Option<u64>,
}

impl fmt::Display for SignerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.backend, self.model)?;
        if !self.serial.is_empty() {
            write!(f, ", serial {}", self.serial)?;
        }
        if !self.token_label.is_empty() {
            write!(f, ", token {:?}", self.token_label)?;
        }
        if let Some(slot) = self.slot {
            write!(f, ", slot {slot}")?;
        }
        if !self.key_label.is_empty() {
            write!(f, ", key {:?}", self.key_label)?;
        }
        Ok(())
    }
}

/// Why signing failed, in words a keyholder can act on.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The token went away mid-operation.
    #[error("the token was removed: plug it back in and start this signature again")]
    TokenRemoved,
    /// The key the metadata names is not on this token.
    #[error("key not found on the token: {0}")]
    KeyNotFound(String),
    /// The token refused because nobody is logged in, or a touch was not given.
    #[error("the token says the user is not logged in (or touch was not given in time)")]
    NotLoggedIn,
    /// The token lacks the mechanism this key type needs.
    #[error("the token does not support {0}")]
    MechanismUnsupported(String),
    /// The PIN was refused or cannot be tried.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// The signature the backend produced does not verify: never written.
    #[error("the signature the token produced does not verify against {key_id}: {reason}")]
    SelfCheckFailed {
        /// Key id the signature claims.
        key_id: KeyId,
        /// What the verifier said.
        reason: String,
    },
    /// Any other backend failure, with the backend's own words.
    #[error("{0}")]
    Backend(String),
}

/// A key that can sign TUF metadata.
pub trait Signer {
    /// The TUF key object this signer holds, exactly as it is published in
    /// metadata (its key id is the hash of this object).
    fn public_key(&self) -> &Key;

    /// Who is signing: token, serial, labels. Never secret.
    fn identity(&self) -> &SignerIdentity;

    /// Signs `canonical_bytes` (the canonical JSON of `signed`) and returns
    /// the signature checked against [`Signer::public_key`] over exactly
    /// those bytes (the only kind of signature metadata records).
    fn sign(&mut self, canonical_bytes: &[u8]) -> Result<CheckedSignature, SignError>;

    /// The key id of [`Signer::public_key`].
    fn key_id(&self) -> KeyId {
        self.public_key().key_id()
    }

    /// Signs each of `messages` (canonical bytes), as [`Signer::sign`]
    /// would one after another: one result per message, in the order
    /// given, every signature already checked against
    /// [`Signer::public_key`]. A failure is reported for the message it
    /// concerns and the rest are still attempted (after a session-wide
    /// failure, such as a logout or a pulled token, they fail too, each
    /// with its own error).
    ///
    /// This default signs one message at a time. Backends whose token works
    /// while the host is idle override it to check signature *n* while the
    /// token makes signature *n + 1*; the rule stays the same.
    fn sign_many(&mut self, messages: &[&[u8]]) -> Vec<Result<CheckedSignature, SignError>> {
        messages.iter().map(|message| self.sign(message)).collect()
    }
}

/// Checks a signature a backend produced before anyone sees it: the
/// self-check every backend ends with, the only way it gets a
/// [`CheckedSignature`] to return.
pub fn checked_signature(
    key: &Key,
    canonical_bytes: &[u8],
    signature: &[u8],
) -> Result<CheckedSignature, SignError> {
    let key = CheckingKey::new(key).map_err(self_check_failed)?;
    checked_signature_with(&key, canonical_bytes, signature)
}

/// [`checked_signature`] for a key decoded once and checked many times (a
/// signer making thousands of signatures decodes its PEM and hashes its
/// key object once, not per signature).
pub fn checked_signature_with(
    key: &CheckingKey,
    canonical_bytes: &[u8],
    signature: &[u8],
) -> Result<CheckedSignature, SignError> {
    CheckedSignature::check(key, canonical_bytes, signature).map_err(self_check_failed)
}

/// Decodes a backend's published key once, for [`checked_signature_with`]:
/// a key that cannot check its own signatures fails the self-check before
/// anything is signed.
pub fn checking_key(key: &Key) -> Result<CheckingKey, SignError> {
    CheckingKey::new(key).map_err(self_check_failed)
}

fn self_check_failed(e: CheckError) -> SignError {
    SignError::SelfCheckFailed {
        key_id: e.key_id,
        reason: e.reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer as _;

    #[test]
    fn a_signature_that_does_not_verify_is_never_returned() {
        let signing = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let point = signing.verifying_key().to_sec1_bytes();
        let key = crate::pkcs11::KeyKind::EcdsaP256.tuf_key(&point).unwrap();
        let signature: p256::ecdsa::Signature = signing.sign(b"signed bytes");
        let der = signature.to_der();

        let good = checked_signature(&key, b"signed bytes", der.as_bytes()).unwrap();
        assert_eq!(good.key_id(), &key.key_id());
        assert_eq!(good.sig(), hex::encode(der.as_bytes()));
        assert!(good.covers(b"signed bytes"));

        for (what, message, sig) in [
            ("other bytes", &b"other bytes"[..], der.as_bytes().to_vec()),
            (
                "raw r||s",
                &b"signed bytes"[..],
                signature.to_bytes().to_vec(),
            ),
            (
                "truncated",
                &b"signed bytes"[..],
                der.as_bytes()[..10].to_vec(),
            ),
        ] {
            let err = checked_signature(&key, message, &sig).unwrap_err();
            assert!(
                matches!(&err, SignError::SelfCheckFailed { key_id, .. } if *key_id == key.key_id()),
                "{what}: {err}"
            );
        }
    }

    #[test]
    fn the_pre_decoded_check_is_the_same_rule() {
        let signing = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let point = signing.verifying_key().to_sec1_bytes();
        let key = KeyKind::EcdsaP256.tuf_key(&point).unwrap();
        let checking = checking_key(&key).unwrap();
        let signature: p256::ecdsa::Signature = signing.sign(b"signed bytes");
        let der = signature.to_der();
        let der = der.as_bytes();
        assert_eq!(
            checked_signature_with(&checking, b"signed bytes", der).unwrap(),
            checked_signature(&key, b"signed bytes", der).unwrap()
        );
        for message in [&b"other bytes"[..], b""] {
            let one = checked_signature(&key, message, der).unwrap_err();
            let other = checked_signature_with(&checking, message, der).unwrap_err();
            assert_eq!(one.to_string(), other.to_string());
        }
    }

    /// A P-256 key in memory: enough to drive the provided `sign_many`.
    struct InMemory {
        signing: SigningKey,
        key: Key,
        identity: SignerIdentity,
    }

    impl Signer for InMemory {
        fn public_key(&self) -> &Key {
            &self.key
        }
        fn identity(&self) -> &SignerIdentity {
            &self.identity
        }
        fn sign(&mut self, canonical_bytes: &[u8]) -> Result<CheckedSignature, SignError> {
            let signature: p256::ecdsa::Signature = self.signing.sign(canonical_bytes);
            checked_signature(&self.key, canonical_bytes, signature.to_der().as_bytes())
        }
    }

    #[test]
    fn the_provided_sign_many_signs_in_order() {
        let signing = SigningKey::from_slice(&[5u8; 32]).unwrap();
        let point = signing.verifying_key().to_sec1_bytes();
        let key = KeyKind::EcdsaP256.tuf_key(&point).unwrap();
        let mut signer = InMemory {
            signing,
            key: key.clone(),
            identity: SignerIdentity {
                backend: Backend::Software,
                model: "test".into(),
                serial: String::new(),
                token_label: String::new(),
                key_label: String::new(),
                slot: None,
            },
        };
        let messages: Vec<Vec<u8>> = (0..5).map(|n| format!("message {n}").into()).collect();
        let borrowed: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let results = signer.sign_many(&borrowed);
        assert_eq!(results.len(), 5);
        let public = key.public_key().unwrap();
        for (message, result) in messages.iter().zip(results) {
            let signature = result.unwrap();
            assert!(signature.covers(message));
            public.verify_hex(message, signature.sig()).unwrap();
        }
        assert!(signer.sign_many(&[]).is_empty());
    }

    #[test]
    fn a_key_that_cannot_check_its_signatures_fails_the_self_check() {
        let signing = SigningKey::from_slice(&[3u8; 32]).unwrap();
        let point = signing.verifying_key().to_sec1_bytes();
        let mut key = KeyKind::EcdsaP256.tuf_key(&point).unwrap();
        key.public = "not a key".into();
        let err = checking_key(&key).unwrap_err();
        assert!(
            matches!(&err, SignError::SelfCheckFailed { key_id, .. } if *key_id == key.key_id()),
            "{err}"
        );
        let signature: p256::ecdsa::Signature = signing.sign(b"signed bytes");
        assert!(matches!(
            checked_signature(&key, b"signed bytes", signature.to_der().as_bytes()),
            Err(SignError::SelfCheckFailed { .. })
        ));
    }
}
