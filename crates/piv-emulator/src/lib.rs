//! A software YubiKey-5-like PIV card for tests.
//!
//! It plugs into the real pcscd through vsmartcard's `vpcd` driver: the
//! driver listens on TCP (35963 for its first reader, 35964 for the second),
//! the emulator connects as the card ([`vpcd`]) and answers APDUs as the PIV
//! applet of a YubiKey 5 would ([`piv`]), with the state of [`state`] which
//! can persist to a JSON file.
//!
//! With the `harness` feature, `harness` starts a private pcscd with such
//! readers and one or more emulated cards for a test, and tears them down.
//!
//! By hand (a drill), with the reader.conf this crate ships:
//!
//! ```text
//! pcscd -f -c crates/piv-emulator/reader.conf.d &
//! piv-emulator --state card.json --serial 12345678 --firmware 5.7.1 \
//!     --touch-file /tmp/touch --touch-timeout 15
//! touch /tmp/touch    # one touch
//! ```
//!
//! Its keys are ordinary files and memory: never use it for real keys.

pub mod apdu;
pub mod attest;
pub mod crypto;
#[cfg(feature = "harness")]
pub mod harness;
pub mod piv;
pub mod state;
pub mod tlv;
pub mod vpcd;
