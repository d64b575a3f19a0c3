//! What the online tool (`tuf-repo`) and the offline appliance (`ceremony`)
//! exchange on a USB stick, defined once so the two cannot drift apart:
//!
//! - [`layout`]: the fixed names of the bundle (`tuf-ceremony/`,
//!   `manifest.json`, `staged/`, `repository/`, the transcript) and the rule
//!   for which paths inside it an item may name;
//! - [`manifest`]: the bundle's `manifest.json`, what is to be signed;
//! - [`public_key`]: the public key file (`pub.json`) `ceremony onboard`
//!   writes and `tuf-repo` (and the drill) read.
//!
//! Fields this version does not know are kept, not refused: a newer tool
//! adding a field must not break a stick, and a re-written file keeps it.

pub mod layout;
pub mod manifest;
pub mod public_key;

pub use manifest::{Item, KeySetEntry, Manifest, ManifestError, ManifestFileError};
pub use public_key::{Attestation, PublicKeyError, PublicKeyFile, TokenRecord};
