//! Signing TUF metadata with keys that never leave their home: a PKCS#11
//! token, or (for online roles and drills only) an age-encrypted file.
//!
//! Every backend implements [`Signer`]: it publishes the TUF key object it
//! holds, signs the canonical bytes it is given, and checks its own signature
//! with `tuf-metadata`'s verifier before returning it, so a broken token or a
//! wrong mechanism can never put a bad signature into a file.

pub mod key_kind;
pub mod pin;
pub mod pkcs11;
pub mod profile;
pub mod software;

use std::fmt;

use tuf_metadata::{Key, KeyId, Signature};

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
    /// the TUF signature, already checked against [`Signer::public_key`].
    fn sign(&mut self, canonical_bytes: &[u8]) -> Result<Signature, SignError>;

    /// The key id of [`Signer::public_key`].
    fn key_id(&self) -> KeyId {
        self.public_key().key_id()
    }
}

/// Checks a signature a backend produced before anyone sees it, and wraps
/// it as a TUF signature. Backends call this as their last step.
pub fn checked_signature(
    key: &Key,
    canonical_bytes: &[u8],
    signature: &[u8],
) -> Result<Signature, SignError> {
    let key_id = key.key_id();
    let public = key.public_key().map_err(|e| SignError::SelfCheckFailed {
        key_id: key_id.clone(),
        reason: e.to_string(),
    })?;
    public
        .verify(canonical_bytes, signature)
        .map_err(|e| SignError::SelfCheckFailed {
            key_id: key_id.clone(),
            reason: e.to_string(),
        })?;
    Ok(Signature {
        keyid: key_id,
        sig: hex::encode(signature),
        unrecognized: Default::default(),
    })
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
        assert_eq!(good.keyid, key.key_id());
        assert_eq!(good.sig, hex::encode(der.as_bytes()));

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
}
