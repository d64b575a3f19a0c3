//! TUF metadata for the ceremony tools: a strict parser, the OLPC canonical
//! JSON encoder, key ids, signature and threshold checks, root rotation and
//! the diff a reviewer reads.
//!
//! Pure by design: bytes in, values out. No files, no hardware, no clock —
//! the time to check expiry against is always a parameter.

pub mod canonical;
pub mod chain;
pub mod common;
pub mod delegation;
pub mod diff;
pub mod digest;
pub mod display;
pub mod fields;
pub mod files;
pub mod json;
pub mod key_audit;
pub mod keys;
pub mod metadata;
pub mod mode;
pub mod root;
pub mod rotation;
pub mod signing;
pub mod snapshot;
pub mod targets;
pub mod targets_diff;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod threshold;

#[cfg(test)]
mod mode_tests;
#[cfg(test)]
mod tests;

pub use chain::{ChainError, ChainLimits, RootChain, RootStep, Walk, WalkError, walk};
pub use common::Expires;
pub use delegation::{SearchError, TargetSearch, Visit, path_matches};
pub use digest::sha256_hex;
pub use display::{digest_rows, escape};
pub use fields::{FormatError, Problem};
pub use files::{FileError, HASH_ALGORITHMS};
pub use json::{JsonError, Object, Value};
pub use key_audit::{
    Client, DuplicateKey, KeyAudit, NonPortableKey, audit_delegations, audit_root,
};
pub use keys::{Key, KeyError, KeyId, PublicKey, SignatureError};
pub use metadata::{Limits, Metadata, ParseError, Signature, Signed};
pub use mode::ReadMode;
pub use root::{Common, RoleKeys, Root};
pub use rotation::{RootUpdate, VerifyError, verify_root_update, verify_trusted_root};
pub use snapshot::{MetaFile, Snapshot, Timestamp};
pub use targets::{
    DelegatedRole, DelegatedRoles, Delegations, RoleScope, SuccinctRoles, TargetFile, Targets,
};
pub use threshold::{KeyRing, KeyStatus, ThresholdReport};
