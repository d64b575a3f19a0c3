//! Choosing a PKCS#11 token on the command line, the same way for every
//! subcommand: a profile, then optional overrides of its module and token.
//! Every subcommand that opens a token (or otherwise touches a key) runs
//! hardened first ([`harden`]).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use signers::pkcs11::{Access, Module, Token, TokenSelector};
use signers::profile::{Overrides, Profile};

/// Hardens this process once, before a headless subcommand touches a key
/// or a PIN: core dumps off and memory locked where possible, as the TUI
/// and the preflight do (`ceremony::safety::harden_process`). What it did
/// goes to stderr in one line, a `warning:` when not everything could be
/// done; it never refuses.
pub fn harden() {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| say_err!("{}", ceremony::safety::harden_process().one_line()));
}

/// `--module`, `--token-label`, `--serial`.
#[derive(ClapArgs)]
pub struct TokenArgs {
    /// Load this PKCS#11 module instead of the profile's paths.
    #[arg(long, value_name = "path")]
    module: Option<PathBuf>,
    /// Use the token with this label.
    #[arg(long, value_name = "l", conflicts_with = "serial")]
    token_label: Option<String>,
    /// Use the token with this serial number.
    #[arg(long, value_name = "n")]
    serial: Option<String>,
}

impl TokenArgs {
    /// Loads `profile` and opens the token these arguments choose.
    pub fn open(&self, profile: &str, key_label: Option<String>, access: Access) -> Result<Token> {
        harden();
        let profile = Profile::load(profile).context("profile")?;
        let overrides = Overrides {
            module: self.module.clone(),
            token_label: self.token_label.clone(),
            serial: self.serial.clone(),
            key_label,
        };
        let module = Module::open(&profile, &overrides)?;
        let selector = TokenSelector::resolve(&profile, &overrides)?;
        Ok(module.open_token(&selector, access)?)
    }

    /// `--serial` for the direct YubiKey backend (`--profile yubikey-piv`),
    /// which loads no module and has no token labels.
    pub fn piv_serial(&self) -> Result<Option<u32>> {
        if self.module.is_some() || self.token_label.is_some() {
            anyhow::bail!(
                "--profile yubikey-piv takes --serial only (no --module, no --token-label)"
            );
        }
        self.serial
            .as_deref()
            .map(|s| {
                s.trim()
                    .parse()
                    .with_context(|| format!("--serial {s:?}: a YubiKey serial is a number"))
            })
            .transpose()
    }
}
