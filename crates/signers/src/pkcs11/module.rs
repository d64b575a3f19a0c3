//! Loading a PKCS#11 module and choosing one of its tokens.
//!
//! The module comes from `--module` or the profile's list; the token from
//! `--token-label` / `--serial`, else the profile's default, else "the only
//! one present". A choice that matches nothing, or more than one token,
//! is an error that lists the tokens present, so the keyholder can fix the
//! command line without another tool.

use std::fmt;
use std::path::{Path, PathBuf};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::slot::Slot;

use super::errors::{OpenError, open_error};
use super::token::Token;
use crate::profile::{Overrides, Profile};

/// A loaded and initialised PKCS#11 module, with the profile it was
/// opened for.
///
/// The module stays initialised for the life of the process: finalising
/// it while a [`Token`] or a signer still used it would close their
/// sessions under them.
pub struct Module {
    ctx: Pkcs11,
    path: PathBuf,
    profile: Profile,
}

/// One token as the module describes it: what the keyholder sees when
/// choosing, and what error messages list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSummary {
    /// PKCS#11 slot id.
    pub slot: u64,
    /// `CK_TOKEN_INFO.label`, padding removed.
    pub label: String,
    /// `CK_TOKEN_INFO.serialNumber`, padding removed.
    pub serial: String,
    /// `CK_TOKEN_INFO.manufacturerID`.
    pub manufacturer: String,
    /// `CK_TOKEN_INFO.model`.
    pub model: String,
}

impl fmt::Display for TokenSummary {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "token {:?}, serial {}, {} {}, slot {}",
            self.label, self.serial, self.manufacturer, self.model, self.slot
        )
    }
}

/// How a token is chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSelector {
    /// The token with this label.
    Label(String),
    /// The token with this serial number.
    Serial(String),
    /// The only initialised token present.
    Only,
}

impl TokenSelector {
    /// The command line's choice if it made one, else the profile's.
    pub fn resolve(profile: &Profile, overrides: &Overrides) -> Result<Self, OpenError> {
        let pick = |label: &Option<String>, serial: &Option<String>| match (label, serial) {
            (Some(_), Some(_)) => Err(OpenError::LabelAndSerial),
            (Some(l), None) => Ok(Some(TokenSelector::Label(l.clone()))),
            (None, Some(s)) => Ok(Some(TokenSelector::Serial(s.clone()))),
            (None, None) => Ok(None),
        };
        let from_cli = pick(&overrides.token_label, &overrides.serial)?;
        let from_profile = pick(&profile.token.label, &profile.token.serial)?;
        Ok(from_cli.or(from_profile).unwrap_or(TokenSelector::Only))
    }

    /// Whether `token` is one this selector accepts.
    pub fn matches(&self, token: &TokenSummary) -> bool {
        match self {
            TokenSelector::Label(l) => token.label == *l,
            TokenSelector::Serial(s) => token.serial == *s,
            TokenSelector::Only => true,
        }
    }

    /// Picks exactly one of `present`, or says why not.
    pub fn choose(&self, present: Vec<TokenSummary>) -> Result<TokenSummary, OpenError> {
        let matching: Vec<TokenSummary> = present
            .iter()
            .filter(|t| self.matches(t))
            .cloned()
            .collect();
        match matching.len() {
            1 => Ok(matching.into_iter().next().expect("one element")),
            0 => Err(OpenError::NoTokenMatches {
                wanted: self.to_string(),
                present,
            }),
            _ => Err(OpenError::SeveralTokensMatch {
                wanted: self.to_string(),
                matching,
            }),
        }
    }
}

impl fmt::Display for TokenSelector {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            TokenSelector::Label(l) => write!(f, "label {l:?}"),
            TokenSelector::Serial(s) => write!(f, "serial {s:?}"),
            TokenSelector::Only => f.write_str("any label (no token was named)"),
        }
    }
}

/// Whether the session may change the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Signing: the session cannot create or change objects.
    ReadOnly,
    /// Onboarding: key generation needs a read-write session.
    ReadWrite,
}

/// The module to load: `--module` if given (it must exist), else the first
/// of the profile's paths that exists.
pub fn module_path(profile: &Profile, overrides: &Overrides) -> Result<PathBuf, OpenError> {
    if let Some(path) = &overrides.module {
        return if path.exists() {
            Ok(path.clone())
        } else {
            Err(OpenError::ModuleMissing(path.clone()))
        };
    }
    profile
        .module
        .paths
        .iter()
        .find(|p| p.exists())
        .cloned()
        .ok_or_else(|| OpenError::ModuleNotFound {
            profile: profile.name.clone(),
            tried: profile.module.paths.clone(),
        })
}

impl Module {
    /// Loads the module a profile (or `--module`) names and initialises it.
    pub fn open(profile: &Profile, overrides: &Overrides) -> Result<Module, OpenError> {
        let path = module_path(profile, overrides)?;
        Module::load(&path, profile)
    }

    /// Loads and initialises the module at `path`. Another `Module` over
    /// the same library in this process shares its initialisation.
    pub fn load(path: &Path, profile: &Profile) -> Result<Module, OpenError> {
        let failed = |e: CkError| OpenError::ModuleLoad {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let ctx = Pkcs11::new(path).map_err(failed)?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(failed(e)),
        }
        Ok(Module {
            ctx,
            path: path.to_owned(),
            profile: profile.clone(),
        })
    }

    /// The module file loaded, for the transcript.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The profile this module was opened with.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Every initialised token the module shows (uninitialised slots, like
    /// SoftHSM2's spare one, are left out: nothing can sign on them).
    pub fn tokens(&self) -> Result<Vec<TokenSummary>, OpenError> {
        let slots = self
            .ctx
            .get_slots_with_token()
            .map_err(open_error("listing the module's tokens"))?;
        let mut tokens = Vec::new();
        for slot in slots {
            let info = self
                .ctx
                .get_token_info(slot)
                .map_err(open_error("reading token information"))?;
            if info.token_initialized() {
                tokens.push(TokenSummary {
                    slot: slot.id(),
                    label: info.label().to_owned(),
                    serial: info.serial_number().to_owned(),
                    manufacturer: info.manufacturer_id().to_owned(),
                    model: info.model().to_owned(),
                });
            }
        }
        Ok(tokens)
    }

    /// Chooses a token and opens a session on it. Nobody is logged in yet:
    /// show [`Token::pin_state`], then call [`Token::login`].
    pub fn open_token(&self, selector: &TokenSelector, access: Access) -> Result<Token, OpenError> {
        let summary = selector.choose(self.tokens()?)?;
        let slot = Slot::try_from(summary.slot).map_err(open_error("choosing the slot"))?;
        let session = match access {
            Access::ReadOnly => self.ctx.open_ro_session(slot),
            Access::ReadWrite => self.ctx.open_rw_session(slot),
        }
        .map_err(open_error("opening a session on the token"))?;
        Ok(Token::new(
            self.ctx.clone(),
            slot,
            session,
            summary,
            self.profile.clone(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(token: &str) -> Profile {
        let text = format!(
            "description = \"d\"\ntested = true\n[module]\npaths = [\"/nonexistent/a.so\", \"/nonexistent/b.so\"]\n\
             [token]\n{token}\n[mechanisms]\n[pin]\nmin_length = 4\nmax_length = 8\n"
        );
        Profile::from_toml("p", &text).unwrap()
    }

    fn token(label: &str, serial: &str) -> TokenSummary {
        TokenSummary {
            slot: 1,
            label: label.into(),
            serial: serial.into(),
            manufacturer: "m".into(),
            model: "x".into(),
        }
    }

    #[test]
    fn the_command_line_replaces_the_profiles_token_choice() {
        let p = profile("label = \"from-profile\"");
        let none = Overrides::default();
        assert_eq!(
            TokenSelector::resolve(&p, &none).unwrap(),
            TokenSelector::Label("from-profile".into())
        );
        let serial = Overrides {
            serial: Some("99".into()),
            ..Overrides::default()
        };
        assert_eq!(
            TokenSelector::resolve(&p, &serial).unwrap(),
            TokenSelector::Serial("99".into())
        );
        let both = Overrides {
            serial: Some("99".into()),
            token_label: Some("l".into()),
            ..Overrides::default()
        };
        assert!(matches!(
            TokenSelector::resolve(&p, &both),
            Err(OpenError::LabelAndSerial)
        ));
        assert_eq!(
            TokenSelector::resolve(&profile(""), &none).unwrap(),
            TokenSelector::Only
        );
    }

    #[test]
    fn choosing_needs_exactly_one_match() {
        let present = vec![token("a", "1"), token("b", "2"), token("b", "3")];
        let chosen = TokenSelector::Serial("2".into()).choose(present.clone());
        assert_eq!(chosen.unwrap().serial, "2");
        let err = TokenSelector::Label("b".into())
            .choose(present.clone())
            .unwrap_err();
        assert!(
            matches!(&err, OpenError::SeveralTokensMatch { matching, .. } if matching.len() == 2)
        );
        let err = TokenSelector::Label("c".into())
            .choose(present.clone())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no token with label \"c\""), "{err}");
        assert!(err.contains("token \"a\", serial 1"), "{err}");
        assert!(TokenSelector::Only.choose(present).is_err());
        assert_eq!(
            TokenSelector::Only
                .choose(vec![token("a", "1")])
                .unwrap()
                .label,
            "a"
        );
    }

    #[test]
    fn the_module_is_the_first_path_that_exists_unless_overridden() {
        let p = profile("");
        let err = module_path(&p, &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/a.so, /nonexistent/b.so"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let mut p2 = p.clone();
        let there = dir.path().join("b.so");
        std::fs::write(&there, b"").unwrap();
        p2.module.paths[1] = there.clone();
        assert_eq!(module_path(&p2, &Overrides::default()).unwrap(), there);
        let missing = Overrides {
            module: Some("/nonexistent/c.so".into()),
            ..Overrides::default()
        };
        assert!(matches!(
            module_path(&p2, &missing),
            Err(OpenError::ModuleMissing(_))
        ));
    }
}
