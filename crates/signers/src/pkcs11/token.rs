//! An open session on one token: who it is, its PIN counter, and the one
//! PIN attempt a keyholder makes.
//!
//! The login is tried once. There is no retry loop here or anywhere below
//! the user interface: each attempt is the keyholder's decision, made after
//! seeing [`Token::pin_state`].

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::MechanismType;
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::{Slot, TokenInfo};
use cryptoki::types::AuthPin;

use super::errors::sign_error;
use super::module::TokenSummary;
use crate::profile::Profile;
use crate::{Backend, Pin, PinError, PinState, SignError, SignerIdentity};

/// A session on one token, opened by [`super::Module::open_token`].
///
/// One session serves any number of signatures: opening and logging in
/// once per ceremony, not once per document.
pub struct Token {
    ctx: Pkcs11,
    slot: Slot,
    session: Session,
    summary: TokenSummary,
    profile: Profile,
}

/// The three PIN-counter flags of `CK_TOKEN_INFO.flags`.
///
/// PKCS#11 gives no count of tries left, only these hints, and tokens differ
/// in which they set: SoftHSM2 sets `count_low` after a wrong PIN (until the
/// next right one) and never the other two, because it never locks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PinFlags {
    /// `CKF_USER_PIN_COUNT_LOW`: an attempt has failed since the last success.
    pub count_low: bool,
    /// `CKF_USER_PIN_FINAL_TRY`: one more failure locks the PIN.
    pub final_try: bool,
    /// `CKF_USER_PIN_LOCKED`: the PIN is locked.
    pub locked: bool,
}

impl PinFlags {
    /// Reads the flags from token information.
    pub fn from_token_info(info: &TokenInfo) -> PinFlags {
        PinFlags {
            count_low: info.user_pin_count_low(),
            final_try: info.user_pin_final_try(),
            locked: info.user_pin_locked(),
        }
    }

    /// What to show before an attempt. The worst flag wins: a token may set
    /// `count_low` together with `final_try`.
    pub fn state(self) -> PinState {
        if self.locked {
            PinState::Locked
        } else if self.final_try {
            PinState::FinalTry
        } else if self.count_low {
            PinState::CountLow { tries_left: None }
        } else {
            PinState::Ok
        }
    }

    /// The error for a refused PIN, given the flags read just after: a
    /// token on its final try has exactly one left.
    pub fn wrong_pin(self) -> PinError {
        match self.state() {
            PinState::Locked => PinError::Locked,
            PinState::FinalTry => PinError::Wrong {
                tries_left: Some(1),
            },
            PinState::Ok | PinState::CountLow { .. } => PinError::Wrong { tries_left: None },
        }
    }
}

impl Token {
    pub(super) fn new(
        ctx: Pkcs11,
        slot: Slot,
        session: Session,
        summary: TokenSummary,
        profile: Profile,
    ) -> Token {
        Token {
            ctx,
            slot,
            session,
            summary,
            profile,
        }
    }

    /// The token as listed when it was chosen.
    pub fn summary(&self) -> &TokenSummary {
        &self.summary
    }

    /// The profile the module was opened with.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Who this token is, for the transcript (no key yet: `key_label` empty).
    pub fn identity(&self) -> SignerIdentity {
        let s = &self.summary;
        SignerIdentity {
            backend: Backend::Pkcs11,
            model: format!("{} / {}", s.manufacturer, s.model),
            serial: s.serial.clone(),
            token_label: s.label.clone(),
            key_label: String::new(),
            slot: Some(s.slot),
        }
    }

    /// The PIN counter as the token reports it now: show it before asking
    /// for a PIN.
    pub fn pin_state(&self) -> Result<PinState, SignError> {
        Ok(self.pin_flags()?.state())
    }

    /// The raw PIN-counter flags, read fresh from the token.
    pub fn pin_flags(&self) -> Result<PinFlags, SignError> {
        let info = self
            .ctx
            .get_token_info(self.slot)
            .map_err(|e| sign_error(e, "reading the token's PIN state"))?;
        Ok(PinFlags::from_token_info(&info))
    }

    /// Logs the user in with `pin`, once.
    ///
    /// A PIN outside the profile's lengths is refused here, without reaching
    /// the token, so it costs no try. A refused PIN re-reads the flags: a
    /// token now on its final try reports one try left, a locked one
    /// [`PinError::Locked`]. Already being logged in (another session of
    /// this process) counts as success.
    pub fn login(&self, pin: &Pin) -> Result<(), SignError> {
        let length = pin.expose().chars().count();
        let policy = self.profile.pin;
        if !policy.allows(length) {
            return Err(SignError::Backend(format!(
                "the PIN has {length} characters but {} PINs have {} to {}: it was not sent to the token, so no try was used",
                self.profile.name, policy.min_length, policy.max_length
            )));
        }
        let secret = AuthPin::new(pin.expose().into());
        match self.session.login(UserType::User, Some(&secret)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
                // The flags after the failure say what the next attempt risks.
                let flags = self.pin_flags().unwrap_or_default();
                Err(SignError::Pin(flags.wrong_pin()))
            }
            Err(CkError::Pkcs11(RvError::PinLenRange, _)) => Err(SignError::Backend(
                "the token refused the PIN's length: check the PIN (the token may count this as a failed try)".into(),
            )),
            Err(e) => Err(sign_error(e, "logging in")),
        }
    }

    /// Logs the user out: the end of a keyholder's turn. PKCS#11 login is
    /// per process, so this logs out every session of this module.
    pub fn logout(&self) -> Result<(), SignError> {
        match self.session.logout() {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserNotLoggedIn, _)) => Ok(()),
            Err(e) => Err(sign_error(e, "logging out")),
        }
    }

    /// Whether the user is logged in, as the session sees it now.
    pub fn is_logged_in(&self) -> Result<bool, SignError> {
        let info = self
            .session
            .get_session_info()
            .map_err(|e| sign_error(e, "reading the session state"))?;
        Ok(matches!(
            info.session_state(),
            SessionState::RoUser | SessionState::RwUser
        ))
    }

    /// Whether the token lists `mechanism` (checked before a signer is
    /// built, so a missing mechanism is found before any PIN is typed).
    pub fn has_mechanism(&self, mechanism: MechanismType) -> Result<bool, SignError> {
        let list = self
            .ctx
            .get_mechanism_list(self.slot)
            .map_err(|e| sign_error(e, "listing the token's mechanisms"))?;
        Ok(list.contains(&mechanism))
    }

    /// The open session, for this module's key, signing and generation code.
    pub(super) fn session(&self) -> &Session {
        &self.session
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki_sys::{
        CK_TOKEN_INFO, CKF_TOKEN_INITIALIZED, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY,
        CKF_USER_PIN_LOCKED,
    };

    /// The flags as a token reports them, through cryptoki's own decoding.
    fn flags(bits: cryptoki_sys::CK_FLAGS) -> PinFlags {
        let raw = CK_TOKEN_INFO {
            flags: bits | CKF_TOKEN_INITIALIZED,
            ..CK_TOKEN_INFO::default()
        };
        PinFlags::from_token_info(&TokenInfo::try_from(raw).unwrap())
    }

    #[test]
    fn pin_flag_bits_map_to_what_the_keyholder_is_shown() {
        let cases = [
            (0, PinState::Ok, PinError::Wrong { tries_left: None }),
            (
                CKF_USER_PIN_COUNT_LOW,
                PinState::CountLow { tries_left: None },
                PinError::Wrong { tries_left: None },
            ),
            (
                CKF_USER_PIN_FINAL_TRY,
                PinState::FinalTry,
                PinError::Wrong {
                    tries_left: Some(1),
                },
            ),
            (
                CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY,
                PinState::FinalTry,
                PinError::Wrong {
                    tries_left: Some(1),
                },
            ),
            (CKF_USER_PIN_LOCKED, PinState::Locked, PinError::Locked),
            (
                CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED,
                PinState::Locked,
                PinError::Locked,
            ),
        ];
        for (bits, state, error) in cases {
            let f = flags(bits);
            assert_eq!(f.state(), state, "bits {bits:#x}");
            assert_eq!(
                f.wrong_pin().to_string(),
                error.to_string(),
                "bits {bits:#x}"
            );
        }
    }
}
