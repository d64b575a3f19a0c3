//! Signing canonical bytes with a key on the token.
//!
//! ECDSA P-256: SHA-256 on the host and `CKM_ECDSA` (or `CKM_ECDSA_SHA256`
//! where the profile says the token hashes), then the token's raw r‖s is
//! re-encoded as the ASN.1 DER TUF wants. Ed25519: `CKM_EDDSA` in one
//! `C_Sign` over the whole message (SoftHSM2 refuses multi-part EdDSA).
//! Every signature is checked against the published key before it is
//! returned ([`crate::checked_signature`]).

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::ObjectHandle;
use sha2::{Digest, Sha256};
use tuf_metadata::{Key, Signature};

use super::errors::sign_error;
use super::keys::TokenKey;
use super::token::Token;
use crate::KeyKind;
use crate::{SignError, Signer, SignerIdentity, checked_signature};

/// How the token is asked to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    /// SHA-256 here, `CKM_ECDSA` over the digest.
    EcdsaHostHash,
    /// `CKM_ECDSA_SHA256` over the message.
    EcdsaSha256,
    /// `CKM_EDDSA` (pure Ed25519) over the message.
    Eddsa,
}

impl How {
    fn mechanism_type(self) -> MechanismType {
        match self {
            How::EcdsaHostHash => MechanismType::ECDSA,
            How::EcdsaSha256 => MechanismType::ECDSA_SHA256,
            How::Eddsa => MechanismType::EDDSA,
        }
    }

    fn name(self) -> &'static str {
        match self {
            How::EcdsaHostHash => "CKM_ECDSA",
            How::EcdsaSha256 => "CKM_ECDSA_SHA256",
            How::Eddsa => "CKM_EDDSA",
        }
    }
}

/// A key on a PKCS#11 token, ready to sign through one logged-in session
/// (reused for every signature: thousands of documents need one login).
pub struct Pkcs11Signer {
    token: Token,
    key: TokenKey,
    private: ObjectHandle,
    identity: SignerIdentity,
    how: How,
}

impl Pkcs11Signer {
    /// Builds a signer for `key` on a logged-in `token`.
    ///
    /// Checks up front, before anything is signed, that the profile and the
    /// token both have the mechanism the key needs, and refuses keys that
    /// want the PIN before every signature (`CKA_ALWAYS_AUTHENTICATE`).
    pub fn new(token: Token, key: TokenKey) -> Result<Pkcs11Signer, SignError> {
        let mechanisms = &token.profile().mechanisms;
        let how = match key.kind {
            KeyKind::EcdsaP256 if !mechanisms.ecdsa_p256 => None,
            KeyKind::EcdsaP256 if mechanisms.ecdsa_sha256 => Some(How::EcdsaSha256),
            KeyKind::EcdsaP256 => Some(How::EcdsaHostHash),
            KeyKind::Ed25519 if mechanisms.eddsa => Some(How::Eddsa),
            KeyKind::Ed25519 => None,
        };
        let how = how.ok_or_else(|| {
            SignError::MechanismUnsupported(format!(
                "{} keys (profile {} says so)",
                key.kind,
                token.profile().name
            ))
        })?;
        if !token.has_mechanism(how.mechanism_type())? {
            return Err(SignError::MechanismUnsupported(format!(
                "{} (needed for the {} key {}): it is not in the token's mechanism list",
                how.name(),
                key.kind,
                key.name()
            )));
        }
        if key.always_authenticate {
            return Err(SignError::Backend(format!(
                "key {} asks for the PIN before every signature (CKA_ALWAYS_AUTHENTICATE), which this backend does not support: use a key without it (YubiKey PIV: slot 9a, not 9c)",
                key.name()
            )));
        }
        let private = token.private_handle(&key)?;
        let identity = SignerIdentity {
            key_label: key.label.clone(),
            ..token.identity()
        };
        Ok(Pkcs11Signer {
            token,
            key,
            private,
            identity,
            how,
        })
    }

    /// The key this signer uses, with its label, `CKA_ID` and key id.
    pub fn token_key(&self) -> &TokenKey {
        &self.key
    }

    /// The token and its session.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The mechanism asked of the token, for the transcript
    /// (`CKM_ECDSA`, `CKM_ECDSA_SHA256` or `CKM_EDDSA`).
    pub fn mechanism_name(&self) -> &'static str {
        self.how.name()
    }

    /// The signature bytes TUF publishes (DER for ECDSA, raw for Ed25519),
    /// not yet checked.
    fn token_signature(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let session = self.token.session();
        let doing = || format!("{} signing", self.how.name());
        let raw = match self.how {
            How::EcdsaHostHash => {
                let digest = Sha256::digest(message);
                session.sign(&Mechanism::Ecdsa, self.private, &digest)
            }
            How::EcdsaSha256 => session.sign(&Mechanism::EcdsaSha256, self.private, message),
            How::Eddsa => {
                let params = EddsaParams::new(EddsaSignatureScheme::Pure);
                session.sign(&Mechanism::Eddsa(params), self.private, message)
            }
        }
        .map_err(|e| self.explain(e, &doing()))?;
        match self.key.kind {
            KeyKind::EcdsaP256 => ecdsa_der(&raw),
            KeyKind::Ed25519 => Ok(raw),
        }
    }

    /// A failed `C_Sign`, in words. Tokens hide private objects once the
    /// user is logged out, so some (SoftHSM2) answer "invalid handle" rather
    /// than "not logged in": the session state says which it was.
    fn explain(&self, error: CkError, doing: &str) -> SignError {
        let handle_gone = matches!(
            error,
            CkError::Pkcs11(RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid, _)
        );
        if !handle_gone {
            return sign_error(error, doing);
        }
        match self.token.is_logged_in() {
            Ok(false) => SignError::NotLoggedIn,
            Ok(true) => SignError::KeyNotFound(format!(
                "the private key {} was removed from token {:?} during the ceremony",
                self.key.name(),
                self.token.summary().label
            )),
            Err(e) => e,
        }
    }
}

impl Signer for Pkcs11Signer {
    fn public_key(&self) -> &Key {
        &self.key.key
    }

    fn identity(&self) -> &SignerIdentity {
        &self.identity
    }

    fn sign(&mut self, canonical_bytes: &[u8]) -> Result<Signature, SignError> {
        let signature = self.token_signature(canonical_bytes)?;
        checked_signature(&self.key.key, canonical_bytes, &signature)
    }
}

/// PKCS#11's raw r‖s (64 bytes for P-256) as the ASN.1 DER TUF publishes.
pub fn ecdsa_der(raw: &[u8]) -> Result<Vec<u8>, SignError> {
    let signature = p256::ecdsa::Signature::from_slice(raw).map_err(|_| {
        SignError::Backend(format!(
            "the token returned a {}-byte ECDSA signature, not P-256's 64-byte r||s",
            raw.len()
        ))
    })?;
    Ok(signature.to_der().as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_ecdsa_becomes_der() {
        let mut raw = [0u8; 64];
        raw[31] = 1; // r = 1
        raw[63] = 0x80; // s = 128: high bit set, so DER adds a zero byte
        let der = ecdsa_der(&raw).unwrap();
        assert_eq!(hex::encode(der), "3007020101020200 80".replace(' ', ""));
        let err = ecdsa_der(&[1; 63]).unwrap_err().to_string();
        assert!(err.contains("63-byte"), "{err}");
    }
}
