//! The PKCS#11 backend: TUF root keys on HSMs, smart cards, YubiKeys through
//! ykcs11, and SoftHSM2 in drills, all through [cryptoki].
//!
//! A ceremony walks these steps, each a separate call so the user interface
//! can show the keyholder what happens before it happens:
//!
//! ```no_run
//! use signers::pkcs11::{Access, KeySelector, Module, Pkcs11Signer, TokenSelector};
//! use signers::profile::{Overrides, Profile};
//! use signers::{Pin, Signer};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let profile = Profile::load("softhsm2")?;
//! let overrides = Overrides { token_label: Some("keyholder-1".into()), ..Overrides::default() };
//! let module = Module::open(&profile, &overrides)?;          // module paths from the profile
//! let token = module.open_token(&TokenSelector::resolve(&profile, &overrides)?, Access::ReadOnly)?;
//! println!("{}: {}", token.identity(), token.pin_state()?);    // shown before the PIN is asked
//! token.login(&Pin::from_file("pin".as_ref())?)?;             // once; never retried here
//! let key = token.find_key(&KeySelector::Label("tuf-root".into()))?;
//! let mut signer = Pkcs11Signer::new(token, key)?;
//! let signature = signer.sign(b"canonical bytes")?;           // already verified
//! # let _ = signature; Ok(()) }
//! ```
//!
//! Module by module: [`module`] loads the library and chooses the token,
//! [`token`] holds the session, PIN state and login, [`keys`] lists keys and
//! builds the TUF key objects, [`ec_params`] reads `CKA_EC_PARAMS` in every
//! form tokens report, [`sign`] signs, [`generate`] makes new keys
//! for onboarding, and [`errors`] turns `CKR_*` codes into sentences.

pub mod ec_params;
pub mod errors;
pub mod generate;
pub mod keys;
pub mod module;
pub mod sign;
pub mod token;

pub use crate::KeyKind;
pub use errors::OpenError;
pub use generate::Generated;
pub use keys::{KeyListing, KeySelector, TokenKey, UnusableKey};
pub use module::{Access, Module, TokenSelector, TokenSummary, module_path};
pub use sign::{Pkcs11Signer, ecdsa_der};
pub use token::{PinFlags, Token};
