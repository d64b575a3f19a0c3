//! PKCS#11 failures turned into sentences a keyholder can act on.
//!
//! Two kinds: [`OpenError`] for finding the module and the token (before any
//! PIN or key is involved), and the crate's [`SignError`] for everything
//! after, through [`sign_error`], the one place a `CKR_*` code is mapped.

use std::fmt;
use std::path::PathBuf;

use cryptoki::error::{Error as CkError, RvError};

use super::module::TokenSummary;
use crate::{PinError, SignError};

/// Why the module or the token could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// None of the profile's module paths exists on this machine.
    #[error(
        "the PKCS#11 module for profile {profile:?} is not installed; looked for: {}",
        paths(tried)
    )]
    ModuleNotFound {
        /// Profile name.
        profile: String,
        /// Paths tried, in order.
        tried: Vec<PathBuf>,
    },
    /// The module named with `--module` does not exist.
    #[error("the PKCS#11 module {0} given on the command line does not exist")]
    ModuleMissing(PathBuf),
    /// The file exists but is not a loadable PKCS#11 module, or its
    /// `C_Initialize` failed.
    #[error("cannot load the PKCS#11 module {path}: {reason}")]
    ModuleLoad {
        /// The module.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// `--token-label` and `--serial` together: which wins would be a guess.
    #[error("both a token label and a serial were given: choose the token by one of them")]
    LabelAndSerial,
    /// No token matches the selection; lists the tokens that are there.
    #[error("no token with {wanted} is present. {}", tokens(present))]
    NoTokenMatches {
        /// The selection, in words.
        wanted: String,
        /// Every token the module shows.
        present: Vec<TokenSummary>,
    },
    /// More than one token matches; lists them.
    #[error("{} tokens match {wanted}: choose one with --token-label or --serial. {}", matching.len(), tokens(matching))]
    SeveralTokensMatch {
        /// The selection, in words.
        wanted: String,
        /// The matching tokens.
        matching: Vec<TokenSummary>,
    },
    /// Any other failure while listing or opening.
    #[error("{doing}: {reason}")]
    Module {
        /// What we were doing.
        doing: &'static str,
        /// What the module said.
        reason: String,
    },
}

impl From<OpenError> for SignError {
    fn from(e: OpenError) -> SignError {
        SignError::Backend(e.to_string())
    }
}

fn paths(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

fn tokens(tokens: &[TokenSummary]) -> String {
    if tokens.is_empty() {
        return "The module shows no initialised token: is it plugged in?".into();
    }
    let shown: Vec<String> = tokens.iter().map(|t| format!("[{t}]")).collect();
    format!("Tokens present: {}", shown.join("; "))
}

/// Maps a cryptoki failure to the [`SignError`] a keyholder can act on.
/// `doing` completes "the token does not support …" and prefixes other
/// failures, e.g. `"CKM_ECDSA signing"`.
pub(crate) fn sign_error(err: CkError, doing: &str) -> SignError {
    match err {
        CkError::Pkcs11(rv, _) => rv_error(rv, doing),
        other => SignError::Backend(format!("{doing}: {other}")),
    }
}

fn rv_error(rv: RvError, doing: &str) -> SignError {
    use RvError::*;
    match rv {
        DeviceRemoved | TokenNotPresent | SessionHandleInvalid | SessionClosed => {
            SignError::TokenRemoved
        }
        UserNotLoggedIn => SignError::NotLoggedIn,
        MechanismInvalid | MechanismParamInvalid => {
            SignError::MechanismUnsupported(doing.to_owned())
        }
        PinIncorrect => SignError::Pin(PinError::Wrong { tries_left: None }),
        PinLocked => SignError::Pin(PinError::Locked),
        SessionReadOnly => SignError::Backend(format!(
            "{doing}: the session is read-only; onboarding opens the token with Access::ReadWrite"
        )),
        other => SignError::Backend(format!("{doing}: the token answered {}", Rv(other))),
    }
}

/// An `RvError` as its name and the spec's explanation.
struct Rv(RvError);

impl fmt::Display for Rv {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:?} ({})", self.0, self.0)
    }
}

/// An `OpenError::Module` from a cryptoki failure.
pub(crate) fn open_error(doing: &'static str) -> impl FnOnce(CkError) -> OpenError {
    move |e| OpenError::Module {
        doing,
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki::context::Function;

    #[test]
    fn pkcs11_codes_become_the_sentences_keyholders_see() {
        let cases: [(RvError, &str); 8] = [
            (RvError::DeviceRemoved, "the token was removed"),
            (RvError::TokenNotPresent, "the token was removed"),
            (RvError::SessionHandleInvalid, "the token was removed"),
            (RvError::UserNotLoggedIn, "touch was not given"),
            (
                RvError::MechanismInvalid,
                "the token does not support CKM_EDDSA signing",
            ),
            (RvError::PinIncorrect, "wrong PIN"),
            (RvError::PinLocked, "the PIN is locked"),
            (
                RvError::GeneralError,
                "CKM_EDDSA signing: the token answered GeneralError",
            ),
        ];
        for (rv, want) in cases {
            let got = sign_error(CkError::Pkcs11(rv, Function::Sign), "CKM_EDDSA signing");
            assert!(got.to_string().contains(want), "{rv:?}: {got}");
        }
        assert!(matches!(
            sign_error(CkError::Pkcs11(RvError::DeviceRemoved, Function::Sign), "x"),
            SignError::TokenRemoved
        ));
    }

    #[test]
    fn token_errors_list_what_is_present() {
        let t = TokenSummary {
            slot: 7,
            label: "alpha".into(),
            serial: "1234".into(),
            manufacturer: "SoftHSM project".into(),
            model: "SoftHSM v2".into(),
        };
        let e = OpenError::NoTokenMatches {
            wanted: "label \"beta\"".into(),
            present: vec![t.clone()],
        };
        assert_eq!(
            e.to_string(),
            "no token with label \"beta\" is present. Tokens present: \
             [token \"alpha\", serial 1234, SoftHSM project SoftHSM v2, slot 7]"
        );
        let e = OpenError::SeveralTokensMatch {
            wanted: "any label".into(),
            matching: vec![t.clone(), t],
        };
        assert!(e.to_string().starts_with("2 tokens match any label"));
        let e = OpenError::NoTokenMatches {
            wanted: "label \"x\"".into(),
            present: vec![],
        };
        assert!(e.to_string().contains("is it plugged in?"));
    }
}
