//! Signing with a P-256 key in a PIV slot: SHA-256 on the host, ECDSA on
//! the card, the card's DER checked before it is returned.

use std::fmt;

use ::yubikey::piv::{AlgorithmId, SlotAlgorithmId, SlotId};
use ::yubikey::{PinPolicy, TouchPolicy};
use sha2::{Digest, Sha256};
use tuf_metadata::{Key, KeyId};

use super::token::{YubiKeyToken, card_error, pin_error, slot_name};
use crate::{
    CheckedSignature, CheckingKey, KeyKind, SignError, Signer, SignerIdentity,
    checked_signature_with,
};

/// Called just before a signature that needs a touch, so the user
/// interface can say "touch your YubiKey now".
pub type TouchNotifier = Box<dyn FnMut() + Send>;

/// What the keyholder reads when the card gave up waiting for a touch.
pub const TOUCH_TIMEOUT: &str = "the YubiKey was not touched in time (it blinks while it waits): sign again and touch it when it blinks";

/// A key in a YubiKey's PIV slot, ready to sign.
pub struct YubiKeySigner {
    token: YubiKeyToken,
    slot: SlotId,
    key: Key,
    /// The published key decoded once, with its key id.
    checking: CheckingKey,
    identity: SignerIdentity,
    pin_policy: PinPolicy,
    touch_policy: TouchPolicy,
    notifier: Option<TouchNotifier>,
}

impl fmt::Debug for YubiKeySigner {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("YubiKeySigner")
            .field("identity", &self.identity)
            .field("key_id", self.checking.key_id())
            .field("pin_policy", &self.pin_policy)
            .field("touch_policy", &self.touch_policy)
            .finish_non_exhaustive()
    }
}

/// The slot's key as GET METADATA tells it: P-256 or refused.
pub(crate) fn slot_key(
    token: &mut YubiKeyToken,
    slot: SlotId,
) -> Result<(Key, PinPolicy, TouchPolicy), SignError> {
    let name = slot_name(slot);
    let meta = match ::yubikey::piv::metadata(&mut token.yk, slot) {
        Ok(meta) => meta,
        Err(::yubikey::Error::NotFound) => {
            return Err(SignError::KeyNotFound(format!(
                "slot {name} of {} holds no key",
                token.describe()
            )));
        }
        Err(::yubikey::Error::NotSupported) => {
            return Err(SignError::MechanismUnsupported(format!(
                "GET METADATA (firmware {} is older than 5.3)",
                token.version()
            )));
        }
        Err(e) => return Err(card_error(e)),
    };
    if meta.algorithm != SlotAlgorithmId::Asymmetric(AlgorithmId::EccP256) {
        return Err(SignError::MechanismUnsupported(format!(
            "TUF signing with the {:?} key in slot {name}: only ECDSA P-256 is used",
            meta.algorithm
        )));
    }
    let (pin_policy, touch_policy) = meta
        .policy
        .unwrap_or((PinPolicy::Default, TouchPolicy::Default));
    let spki = meta.public.ok_or_else(|| {
        SignError::Backend(format!("slot {name}: the card did not give the public key"))
    })?;
    let point = spki.subject_public_key.as_bytes().ok_or_else(|| {
        SignError::Backend(format!("slot {name}: the public key is not whole bytes"))
    })?;
    let key = KeyKind::EcdsaP256
        .tuf_key(point)
        .map_err(|e| SignError::Backend(format!("slot {name}: {e}")))?;
    Ok((key, pin_policy, touch_policy))
}

impl YubiKeySigner {
    /// The key in `slot` of `token`. The slot must hold a P-256 key (read
    /// with GET METADATA, firmware 5.3+, which needs no PIN); log in before
    /// or after, with [`YubiKeyToken::login`] or [`YubiKeySigner::login`].
    pub fn new(mut token: YubiKeyToken, slot: SlotId) -> Result<YubiKeySigner, SignError> {
        let (key, pin_policy, touch_policy) = slot_key(&mut token, slot)?;
        let checking = CheckingKey::new(&key).map_err(|e| SignError::Backend(e.to_string()))?;
        let identity = token.identity(slot);
        Ok(YubiKeySigner {
            token,
            slot,
            key,
            checking,
            identity,
            pin_policy,
            touch_policy,
            notifier: None,
        })
    }

    /// Verifies the PIN once (see [`YubiKeyToken::login`]): a signer can be
    /// made before the login, so that its key can be checked against the
    /// metadata before the PIN is used. Never retried here.
    pub fn login(&mut self, pin: &crate::Pin) -> Result<(), SignError> {
        self.token.login(pin)
    }

    /// Calls `notifier` before every signature whose slot needs a touch.
    pub fn with_touch_notifier(mut self, notifier: TouchNotifier) -> YubiKeySigner {
        self.notifier = Some(notifier);
        self
    }

    /// Whether the card waits for a touch before signing (touch policy
    /// always, or cached and not touched in the last 15 seconds).
    pub fn needs_touch(&self) -> bool {
        matches!(self.touch_policy, TouchPolicy::Always | TouchPolicy::Cached)
    }

    /// The slot's PIN policy.
    pub fn pin_policy(&self) -> PinPolicy {
        self.pin_policy
    }

    /// The slot's touch policy.
    pub fn touch_policy(&self) -> TouchPolicy {
        self.touch_policy
    }

    /// The slot signing.
    pub fn slot(&self) -> SlotId {
        self.slot
    }

    /// The token, back (e.g. to sign with another slot).
    pub fn into_token(self) -> YubiKeyToken {
        self.token
    }
}

impl Signer for YubiKeySigner {
    fn public_key(&self) -> &Key {
        &self.key
    }

    fn identity(&self) -> &SignerIdentity {
        &self.identity
    }

    fn key_id(&self) -> KeyId {
        self.checking.key_id().clone()
    }

    fn sign(&mut self, canonical_bytes: &[u8]) -> Result<CheckedSignature, SignError> {
        let digest = Sha256::digest(canonical_bytes);
        if self.pin_policy == PinPolicy::Always {
            // The card forgets the PIN after each signature of such a key.
            let pin = self.token.pin.as_ref().ok_or(SignError::NotLoggedIn)?;
            self.token
                .yk
                .verify_pin(pin.as_bytes())
                .map_err(pin_error)?;
        }
        if self.needs_touch()
            && let Some(notify) = self.notifier.as_mut()
        {
            notify();
        }
        let der = match ::yubikey::piv::sign_data(
            &mut self.token.yk,
            &digest,
            AlgorithmId::EccP256,
            self.slot,
        ) {
            Ok(der) => der,
            // 6982: security status not satisfied — no touch in time, or
            // no PIN verified.
            Err(::yubikey::Error::AuthenticationError)
                if self.needs_touch() && self.token.pin.is_some() =>
            {
                return Err(SignError::Backend(TOUCH_TIMEOUT.into()));
            }
            Err(::yubikey::Error::AuthenticationError) => return Err(SignError::NotLoggedIn),
            Err(e) => return Err(card_error(e)),
        };
        checked_signature_with(&self.checking, canonical_bytes, &der)
    }
}
