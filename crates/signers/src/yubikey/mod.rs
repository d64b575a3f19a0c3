//! The YubiKey backend: TUF keys in a YubiKey's PIV applet, spoken to
//! directly over PC/SC with the [`yubikey`](::yubikey) crate (0.9 line: it
//! does the AES-192 management key of firmware 5.7 and later).
//!
//! A ceremony walks these steps, each a separate call so the user interface
//! can show the keyholder what happens before it happens:
//!
//! ```no_run
//! use signers::yubikey::{SlotId, YubiKeySigner, YubiKeyToken};
//! use signers::{Pin, Signer};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut token = YubiKeyToken::open(Some(12345678))?;  // by serial; None = the only one
//! println!("{}: {}", token.describe(), token.pin_state()?); // shown before the PIN is asked
//! token.login(&Pin::from_file("pin".as_ref())?)?;            // once; never retried here
//! let mut signer = YubiKeySigner::new(token, SlotId::Signature)?
//!     .with_touch_notifier(Box::new(|| eprintln!("touch your YubiKey now")));
//! let signature = signer.sign(b"canonical bytes")?;          // already verified
//! # let _ = signature; Ok(()) }
//! ```
//!
//! [`token`] opens a card by serial, reads the PIN counter and logs in,
//! [`sign`] signs (SHA-256 on the host, ECDSA P-256 on the card, DER back),
//! [`onboard`] generates a key with its PIN and touch policies and returns
//! the card's attestation with the intermediate (f9) certificate, checked.
//! [`attestation`] checks that evidence offline against pinned roots and
//! binds it to a TUF key; it is the only part built without PC/SC (the
//! `attestation` feature, which `tuf-repo` uses).

pub mod attestation;
#[cfg(feature = "yubikey")]
pub mod onboard;
#[cfg(feature = "yubikey")]
pub mod sign;
#[cfg(feature = "yubikey")]
pub mod token;

#[cfg(feature = "yubikey")]
pub use ::yubikey::piv::SlotId;
#[cfg(feature = "yubikey")]
pub use ::yubikey::{PinPolicy, TouchPolicy};
pub use attestation::{
    AttestationError, AttestationEvidence, PinPolicyFact, TouchPolicyFact, TrustedRoots,
    firmware_advisory, firmware_advisory_text, verify_evidence,
};
#[cfg(feature = "yubikey")]
pub use onboard::{
    ManagementKey, OnboardError, OnboardOptions, Onboarded, onboard, verify_attestation,
};
#[cfg(feature = "yubikey")]
pub use sign::{TouchNotifier, YubiKeySigner};
#[cfg(feature = "yubikey")]
pub use token::{CardSummary, OpenError, YubiKeyToken, list_cards, parse_slot, slot_name};
