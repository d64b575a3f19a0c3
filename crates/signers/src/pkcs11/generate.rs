//! Keyholder onboarding: a new key pair generated on the token, never
//! exportable, under a label nobody has taken.
//!
//! Initialising the token and its SO PIN is not this module's business: the
//! token arrives initialised (vendor tool, or `softhsm2-util` in drills).

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};

use super::errors::sign_error;
use super::keys::{ED25519_NAME_PARAMS, ED25519_OID_PARAMS, P256_PARAMS, TokenKey};
use super::token::Token;
use crate::KeyKind;
use crate::{SignError, SignerIdentity};

/// The longest key label we write (labels are shown on screens and in
/// transcripts; PKCS#11 itself sets no limit).
const MAX_KEY_LABEL: usize = 64;

/// What onboarding hands to the transcript and to `tuf-repo`: the new key
/// (TUF key object, key id, label, `CKA_ID`) and who holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    /// The key as it is now listed on the token.
    pub key: TokenKey,
    /// The token and key, for the transcript.
    pub identity: SignerIdentity,
}

impl Token {
    /// Generates a `kind` key pair labelled `label` on the token: the
    /// private half `CKA_TOKEN`, `CKA_PRIVATE`, `CKA_SENSITIVE`, not
    /// `CKA_EXTRACTABLE`, `CKA_SIGN`. Needs a read-write session and a
    /// logged-in user. Refuses a label already on the token.
    pub fn generate(&self, label: &str, kind: KeyKind) -> Result<Generated, SignError> {
        if label.is_empty() || label.len() > MAX_KEY_LABEL {
            return Err(SignError::Backend(format!(
                "a key label must be 1 to {MAX_KEY_LABEL} bytes, not {}",
                label.len()
            )));
        }
        self.refuse_taken_label(label)?;
        let id = self
            .session()
            .generate_random_vec(16)
            .map_err(|e| sign_error(e, "drawing a CKA_ID from the token's generator"))?;
        let (private, _public) = match kind {
            KeyKind::EcdsaP256 => self.generate_pair(kind, P256_PARAMS, label, &id),
            // PKCS#11 3.0 names the curve by OID; older modules only by the
            // curve name. Try the OID, then the name.
            KeyKind::Ed25519 => match self.generate_pair(kind, ED25519_OID_PARAMS, label, &id) {
                Err(CkError::Pkcs11(
                    RvError::AttributeValueInvalid | RvError::CurveNotSupported,
                    _,
                )) => self.generate_pair(kind, ED25519_NAME_PARAMS, label, &id),
                other => other,
            },
        }
        .map_err(|e| sign_error(e, &format!("generating an {kind} key pair")))?;
        let key = self.read_key(private)?.map_err(|unusable| {
            SignError::Backend(format!(
                "the token generated key {label:?} but it cannot be read back: {}",
                unusable.reason
            ))
        })?;
        let identity = SignerIdentity {
            key_label: key.label.clone(),
            ..self.identity()
        };
        Ok(Generated { key, identity })
    }

    fn refuse_taken_label(&self, label: &str) -> Result<(), SignError> {
        let taken = self
            .session()
            .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
            .map_err(|e| sign_error(e, "searching the token for the label"))?;
        if taken.is_empty() {
            return Ok(());
        }
        Err(SignError::Backend(format!(
            "the label {label:?} is already taken on token {:?} ({} object(s)): choose another label; nothing was generated",
            self.summary().label,
            taken.len()
        )))
    }

    fn generate_pair(
        &self,
        kind: KeyKind,
        params: &[u8],
        label: &str,
        id: &[u8],
    ) -> Result<(ObjectHandle, ObjectHandle), CkError> {
        let (mechanism, key_type) = match kind {
            KeyKind::EcdsaP256 => (Mechanism::EccKeyPairGen, KeyType::EC),
            KeyKind::Ed25519 => (Mechanism::EccEdwardsKeyPairGen, KeyType::EC_EDWARDS),
        };
        let label = Attribute::Label(label.as_bytes().to_vec());
        let id = Attribute::Id(id.to_vec());
        let public = [
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(key_type),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(params.to_vec()),
            label.clone(),
            id.clone(),
        ];
        let private = [
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(key_type),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            label,
            id,
        ];
        let (public, private) = self
            .session()
            .generate_key_pair(&mechanism, &public, &private)?;
        Ok((private, public))
    }
}
