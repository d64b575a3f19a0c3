//! The real tokens the appliance offers: PKCS#11 tokens through the
//! modules of the configured profiles (SoftHSM2 in drills, OpenSC for
//! smart-card HSMs, ...) and YubiKeys over PIV by serial.

use signers::pkcs11::{Access, Module, Pkcs11Signer, TokenSelector, TokenSummary};
use signers::profile::{Overrides, Profile};
use signers::yubikey::{YubiKeySigner, YubiKeyToken, list_cards, parse_slot};
use signers::{Backend, Pin, PinState, SignError, Signer};

use crate::session::{TokenChoice, Tokens};

/// One token of the last scan.
enum Found {
    Pkcs11 {
        module: usize,
        summary: TokenSummary,
    },
    YubiKey {
        serial: u32,
    },
}

/// PKCS#11 profiles and (optionally) YubiKeys over PIV.
pub struct HardwareTokens {
    profiles: Vec<String>,
    modules: Vec<Option<Module>>,
    yubikeys: bool,
    piv_slot: String,
    found: Vec<Found>,
}

impl HardwareTokens {
    /// Tokens from `profiles` (names in hsm-profiles/ or paths), plus
    /// YubiKeys over PIV (key in `piv_slot`, usually `9c`) when `yubikeys`.
    pub fn new(profiles: Vec<String>, yubikeys: bool, piv_slot: &str) -> Self {
        HardwareTokens {
            modules: profiles.iter().map(|_| None).collect(),
            profiles,
            yubikeys,
            piv_slot: piv_slot.to_owned(),
            found: Vec::new(),
        }
    }

    fn module(&mut self, index: usize) -> Result<&Module, String> {
        if self.modules[index].is_none() {
            let name = &self.profiles[index];
            let profile = Profile::load(name).map_err(|e| format!("profile {name}: {e}"))?;
            let module = Module::open(&profile, &Overrides::default())
                .map_err(|e| format!("profile {name}: {e}"))?;
            self.modules[index] = Some(module);
        }
        Ok(self.modules[index].as_ref().expect("loaded above"))
    }

    fn open_pkcs11(
        &mut self,
        module: usize,
        summary: &TokenSummary,
    ) -> Result<signers::pkcs11::Token, SignError> {
        let module = self.module(module).map_err(SignError::Backend)?;
        let selector = if summary.serial.is_empty() {
            TokenSelector::Label(summary.label.clone())
        } else {
            TokenSelector::Serial(summary.serial.clone())
        };
        module
            .open_token(&selector, Access::ReadOnly)
            .map_err(|e| SignError::Backend(e.to_string()))
    }
}

impl HardwareTokens {
    /// The key in the PIV slot of YubiKey `serial` (GET METADATA needs no
    /// PIN), if there is one.
    fn piv_key(&self, serial: u32) -> Option<tuf_metadata::Key> {
        let slot = parse_slot(&self.piv_slot).ok()?;
        let token = YubiKeyToken::open(Some(serial)).ok()?;
        let signer = YubiKeySigner::new(token, slot).ok()?;
        Some(signer.public_key().clone())
    }
}

impl Tokens for HardwareTokens {
    fn scan(&mut self) -> (Vec<TokenChoice>, Vec<String>) {
        let mut choices = Vec::new();
        let mut problems = Vec::new();
        self.found.clear();
        for index in 0..self.profiles.len() {
            let tokens = match self
                .module(index)
                .and_then(|m| m.tokens().map_err(|e| e.to_string()))
            {
                Ok(tokens) => tokens,
                Err(problem) => {
                    problems.push(problem);
                    continue;
                }
            };
            for summary in tokens {
                // Public keys are readable without a login on most tokens;
                // one that hides them is simply listed without.
                let keys = self
                    .open_pkcs11(index, &summary)
                    .and_then(|token| token.public_keys())
                    .map(|keys| keys.into_iter().map(|(_, key)| key).collect())
                    .unwrap_or_default();
                choices.push(TokenChoice {
                    description: summary.to_string(),
                    backend: Backend::Pkcs11,
                    pin_state: None,
                    keys,
                    warnings: Vec::new(),
                });
                self.found.push(Found::Pkcs11 {
                    module: index,
                    summary,
                });
            }
        }
        if self.yubikeys {
            match list_cards() {
                Ok(cards) => {
                    for card in cards {
                        let keys = self.piv_key(card.serial).into_iter().collect();
                        choices.push(TokenChoice {
                            description: format!(
                                "YubiKey {}, serial {}",
                                card.version, card.serial
                            ),
                            backend: Backend::YubiKey,
                            pin_state: None,
                            keys,
                            warnings: signers::yubikey::firmware_advisory_text(&card.version)
                                .into_iter()
                                .collect(),
                        });
                        self.found.push(Found::YubiKey {
                            serial: card.serial,
                        });
                    }
                }
                Err(e) => problems.push(format!("YubiKeys: {e}")),
            }
        }
        (choices, problems)
    }

    fn pin_state(&mut self, index: usize) -> Result<PinState, SignError> {
        match self.found.get(index) {
            Some(Found::Pkcs11 { module, summary }) => {
                let (module, summary) = (*module, summary.clone());
                self.open_pkcs11(module, &summary)?.pin_state()
            }
            Some(Found::YubiKey { serial }) => YubiKeyToken::open(Some(*serial))
                .map_err(|e| SignError::Backend(e.to_string()))?
                .pin_state(),
            None => Err(SignError::TokenRemoved),
        }
    }

    fn unlock(&mut self, index: usize, pin: &Pin) -> Result<Vec<Box<dyn Signer>>, SignError> {
        match self.found.get(index) {
            Some(Found::Pkcs11 { module, summary }) => {
                let (module, summary) = (*module, summary.clone());
                let token = self.open_pkcs11(module, &summary)?;
                token.login(pin)?;
                let keys = token.keys()?;
                let mut signers: Vec<Box<dyn Signer>> = Vec::new();
                for key in keys.usable {
                    // One session per key; the login is the token's, shared
                    // by every session this process has open on it. Keys
                    // that want the PIN before every signature
                    // (CKA_ALWAYS_AUTHENTICATE) keep a copy of it.
                    let session = self.open_pkcs11(module, &summary)?;
                    let signer = Pkcs11Signer::new(session, key)?.with_context_pin(pin);
                    signers.push(Box::new(signer));
                }
                drop(token);
                Ok(signers)
            }
            Some(Found::YubiKey { serial }) => {
                let slot = parse_slot(&self.piv_slot).map_err(SignError::Backend)?;
                let token = YubiKeyToken::open(Some(*serial))
                    .map_err(|e| SignError::Backend(e.to_string()))?;
                let mut signer = YubiKeySigner::new(token, slot)?;
                signer.login(pin)?;
                Ok(vec![Box::new(signer)])
            }
            None => Err(SignError::TokenRemoved),
        }
    }
}
