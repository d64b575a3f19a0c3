//! Signing canonical bytes with a key on the token.
//!
//! ECDSA P-256: SHA-256 on the host and `CKM_ECDSA` (or `CKM_ECDSA_SHA256`
//! where the profile says the token hashes), then the token's raw r‖s is
//! re-encoded as the ASN.1 DER TUF wants. Ed25519: `CKM_EDDSA` in one
//! `C_Sign` over the whole message (SoftHSM2 refuses multi-part EdDSA).
//! Every signature is checked against the published key before it is
//! returned ([`crate::checked_signature_with`]), and only a
//! [`CheckedSignature`] is ever returned.
//!
//! Keys with `CKA_ALWAYS_AUTHENTICATE` (YubiKey PIV slot 9c through
//! ykcs11) want the PIN again for every signature: `C_SignInit`, then
//! `C_Login(CKU_CONTEXT_SPECIFIC)`, then the data (`C_SignUpdate` +
//! `C_SignFinal`, since cryptoki's one-shot `sign` cannot have the login in
//! between). The PIN for that is handed to the signer
//! ([`Pkcs11Signer::with_context_pin`]) and kept in a zeroizing buffer for
//! as long as the signer lives; a PIN the token refuses is never sent again.
//!
//! Batches ([`Signer::sign_many`]) keep that rule but overlap the check with
//! the token's work: this thread issues `C_Sign` (the session is not shared
//! between threads) while a worker checks the signatures already made, and
//! this thread checks one itself whenever the worker falls behind, so
//! neither core idles when checking is the slower half.

use std::cell::Cell;
use std::sync::mpsc::{self, TrySendError};
use std::thread;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::ObjectHandle;
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use sha2::{Digest, Sha256};
use tuf_metadata::Key;

use super::errors::sign_error;
use super::keys::TokenKey;
use super::token::Token;
use crate::KeyKind;
use crate::{
    CheckedSignature, CheckingKey, Pin, SignError, Signer, SignerIdentity, checked_signature_with,
    checking_key,
};

/// Signatures waiting for the checking worker in [`Signer::sign_many`]
/// before this thread checks one itself: enough to ride out scheduling
/// jitter, small enough that the two halves stay in step.
const CHECK_QUEUE: usize = 32;

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
    /// The published key decoded once, with its key id: what every
    /// signature is checked against.
    checking: CheckingKey,
    /// For a `CKA_ALWAYS_AUTHENTICATE` key: the PIN for the context-specific
    /// login before each signature (a [`Pin`] zeroizes itself on drop).
    context_pin: Option<Pin>,
    /// Set when the token refused `context_pin`: it is never sent again.
    pin_refused: Cell<bool>,
}

impl Pkcs11Signer {
    /// Builds a signer for `key` on a logged-in `token`.
    ///
    /// Checks up front, before anything is signed, that the profile and the
    /// token both have the mechanism the key needs. A key that wants the
    /// PIN before every signature (`CKA_ALWAYS_AUTHENTICATE`) also needs
    /// [`Pkcs11Signer::with_context_pin`]; it cannot use pure EdDSA, which
    /// some tokens refuse to sign in parts.
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
        if key.always_authenticate && how == How::Eddsa {
            return Err(SignError::MechanismUnsupported(format!(
                "CKM_EDDSA for key {}, which asks for the PIN before every signature (CKA_ALWAYS_AUTHENTICATE): that needs multi-part signing, which EdDSA tokens refuse",
                key.name()
            )));
        }
        // Decoded and hashed once here rather than for every signature
        // (the PEM parse and the key-id hash add a few per cent to each
        // ECDSA check).
        let checking = checking_key(&key.key)?;
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
            checking,
            context_pin: None,
            pin_refused: Cell::new(false),
        })
    }

    /// Gives the signer the PIN for keys that ask for it before every
    /// signature (`CKA_ALWAYS_AUTHENTICATE`): a copy is kept, zeroized when
    /// the signer is dropped. For other keys the PIN is not kept at all.
    pub fn with_context_pin(mut self, pin: &Pin) -> Self {
        if self.key.always_authenticate {
            self.context_pin = Some(Pin::new(zeroize::Zeroizing::new(pin.expose().to_owned())));
        }
        self
    }

    /// Whether this key wants the PIN before every signature.
    pub fn always_authenticate(&self) -> bool {
        self.key.always_authenticate
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
        if self.key.always_authenticate {
            return self.context_signature(message);
        }
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

    /// [`Self::token_signature`] for a `CKA_ALWAYS_AUTHENTICATE` key:
    /// `C_SignInit`, `C_Login(CKU_CONTEXT_SPECIFIC)` with the kept PIN,
    /// then the data in one `C_SignUpdate` and `C_SignFinal`. A refused PIN
    /// ends this signer's use of it: no later signature sends it again.
    fn context_signature(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let name = self.key.name();
        if self.pin_refused.get() {
            return Err(SignError::Backend(format!(
                "the token refused the PIN for key {name} earlier: it is not sent again (start over with the right PIN)"
            )));
        }
        let pin = self.context_pin.as_ref().ok_or_else(|| {
            SignError::Backend(format!(
                "key {name} asks for the PIN before every signature (CKA_ALWAYS_AUTHENTICATE) and the signer was given none"
            ))
        })?;
        let session = self.token.session();
        let doing = || format!("{} signing", self.how.name());
        let digest;
        let (mechanism, data) = match self.how {
            How::EcdsaHostHash => {
                digest = Sha256::digest(message);
                (Mechanism::Ecdsa, &digest[..])
            }
            How::EcdsaSha256 => (Mechanism::EcdsaSha256, message),
            How::Eddsa => unreachable!("refused in Pkcs11Signer::new"),
        };
        session
            .sign_init(&mechanism, self.private)
            .map_err(|e| self.explain(e, &doing()))?;
        let secret = AuthPin::new(pin.expose().into());
        match session.login(UserType::ContextSpecific, Some(&secret)) {
            Ok(()) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
                self.pin_refused.set(true);
                let flags = self.token.pin_flags().unwrap_or_default();
                return Err(SignError::Pin(flags.wrong_pin()));
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                self.pin_refused.set(true);
                return Err(SignError::Pin(crate::PinError::Locked));
            }
            Err(e) => {
                return Err(sign_error(
                    e,
                    "the PIN before this signature (context-specific login)",
                ));
            }
        }
        session
            .sign_update(data)
            .map_err(|e| self.explain(e, &doing()))?;
        let raw = session
            .sign_final()
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

    fn sign(&mut self, canonical_bytes: &[u8]) -> Result<CheckedSignature, SignError> {
        let signature = self.token_signature(canonical_bytes)?;
        checked_signature_with(&self.checking, canonical_bytes, &signature)
    }

    /// A pipeline: this thread asks the token for signature *n + 1* while a
    /// worker checks signature *n*. When the worker falls
    /// [`CHECK_QUEUE`] signatures behind, this thread checks the next one
    /// itself, so on two cores the work is shared whichever half is slower.
    /// Each message's result lands at its own index.
    fn sign_many(&mut self, messages: &[&[u8]]) -> Vec<Result<CheckedSignature, SignError>> {
        if messages.len() < 2 {
            return messages.iter().map(|message| self.sign(message)).collect();
        }
        let mut results: Vec<Option<Result<CheckedSignature, SignError>>> =
            messages.iter().map(|_| None).collect();
        // The worker gets the decoded key only: the session stays here.
        let checking = &self.checking;
        let check =
            |message: &[u8], signature: &[u8]| checked_signature_with(checking, message, signature);
        let checked = thread::scope(|scope| {
            let (queue, unchecked) = mpsc::sync_channel::<(usize, Vec<u8>)>(CHECK_QUEUE);
            let worker = scope.spawn(move || {
                unchecked
                    .into_iter()
                    .map(|(index, signature)| (index, check(messages[index], &signature)))
                    .collect::<Vec<_>>()
            });
            for (index, message) in messages.iter().enumerate() {
                let signature = match self.token_signature(message) {
                    Ok(signature) => signature,
                    Err(e) => {
                        results[index] = Some(Err(e));
                        continue;
                    }
                };
                match queue.try_send((index, signature)) {
                    Ok(()) => {}
                    // The worker is behind (or gone, and joining it below
                    // says why): check this one here.
                    Err(TrySendError::Full((_, signature)))
                    | Err(TrySendError::Disconnected((_, signature))) => {
                        results[index] = Some(check(message, &signature));
                    }
                }
            }
            drop(queue);
            worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        for (index, result) in checked {
            results[index] = Some(result);
        }
        results
            .into_iter()
            .map(|result| result.expect("every message was signed or failed"))
            .collect()
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
