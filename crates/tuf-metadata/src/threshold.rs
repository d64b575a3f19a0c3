//! The one threshold rule: a role is satisfied when at least `threshold`
//! distinct public keys among the role's keys have valid signatures over the
//! canonical signed bytes. Distinct means decoded key bytes, never key ids
//! and never signatures, so one key listed twice counts once.

use std::collections::BTreeMap;
use std::fmt;

use crate::keys::{Key, KeyError, KeyId, PublicKey};
use crate::metadata::Signature;
use crate::root::RoleKeys;

/// What became of one of the role's key ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// A valid signature by this key counts toward the threshold.
    Counted,
    /// A valid signature, but by a key already counted under another key id.
    SameKeyAs(KeyId),
    /// A signature is present but does not count, with the reason.
    Rejected(String),
    /// No signature from this key (or tuf-on-ci's empty placeholder).
    NotSigned,
}

/// The outcome for one role, key by key: the threshold board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThresholdReport {
    /// Required number of distinct keys.
    pub threshold: u64,
    /// Each of the role's key ids, in published order, with its status.
    pub keys: Vec<(KeyId, KeyStatus)>,
    /// Signatures whose key id is not one of the role's (ignored).
    pub ignored: Vec<KeyId>,
}

impl ThresholdReport {
    /// Distinct keys whose signatures verified.
    pub fn counted(&self) -> u64 {
        self.keys
            .iter()
            .filter(|(_, s)| *s == KeyStatus::Counted)
            .count() as u64
    }

    /// True when the threshold is met.
    pub fn is_met(&self) -> bool {
        self.counted() >= self.threshold
    }

    /// Why each non-counting signature was rejected, for error messages.
    pub fn rejections(&self) -> Vec<String> {
        self.keys
            .iter()
            .filter_map(|(id, s)| match s {
                KeyStatus::Rejected(why) => Some(format!("key {}: {why}", short_id(id))),
                KeyStatus::SameKeyAs(other) => Some(format!(
                    "key {}: same public key as {}, counted once",
                    short_id(id),
                    short_id(other)
                )),
                _ => None,
            })
            .collect()
    }
}

impl fmt::Display for ThresholdReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}/{}", self.counted(), self.threshold)
    }
}

/// The first 8 hex characters of a key id, as shown to people.
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The public keys of one `keys` object, each decoded once: a delegation
/// signs thousands of hash bins with the same few keys.
pub struct KeyRing<'k> {
    /// Sorted by key id (a `BTreeMap`'s order), so lookups can bisect.
    keys: Vec<(&'k KeyId, Result<PublicKey, KeyError>)>,
}

impl<'k> KeyRing<'k> {
    /// Decodes every key of `keys`.
    pub fn new(keys: &'k BTreeMap<KeyId, Key>) -> Self {
        KeyRing {
            keys: keys.iter().map(|(id, k)| (id, k.public_key())).collect(),
        }
    }

    fn get(&self, id: &str) -> Option<&Result<PublicKey, KeyError>> {
        self.keys
            .binary_search_by(|(k, _)| k.as_str().cmp(id))
            .ok()
            .map(|i| &self.keys[i].1)
    }

    /// Checks `signatures` over `signed_bytes` against `role`.
    pub fn check(
        &self,
        role: &RoleKeys,
        signed_bytes: &[u8],
        signatures: &[Signature],
    ) -> ThresholdReport {
        // Roles have a handful of keys and signatures: scans beat hashing.
        let mut counted: Vec<(&PublicKey, &KeyId)> = Vec::with_capacity(role.keyids.len());
        let mut statuses = Vec::with_capacity(role.keyids.len());
        for keyid in &role.keyids {
            // tuf-on-ci publishes `"sig": ""` for a signer who has not signed yet.
            let signature = signatures
                .iter()
                .find(|s| s.keyid == *keyid && !s.sig.is_empty());
            let status = match (signature, self.get(keyid)) {
                (None, _) => KeyStatus::NotSigned,
                (Some(_), None) => KeyStatus::Rejected("key id is not in keys".into()),
                (Some(_), Some(Err(e))) => KeyStatus::Rejected(e.to_string()),
                (Some(signature), Some(Ok(public))) => {
                    match counted.iter().find(|(k, _)| *k == public) {
                        Some((_, first)) => KeyStatus::SameKeyAs((*first).clone()),
                        None => match public.verify_hex(signed_bytes, &signature.sig) {
                            Ok(()) => {
                                counted.push((public, keyid));
                                KeyStatus::Counted
                            }
                            Err(e) => KeyStatus::Rejected(e.to_string()),
                        },
                    }
                }
            };
            statuses.push((keyid.clone(), status));
        }
        let ignored = signatures
            .iter()
            .filter(|s| !role.keyids.contains(&s.keyid))
            .map(|s| s.keyid.clone())
            .collect();
        ThresholdReport {
            threshold: role.threshold,
            keys: statuses,
            ignored,
        }
    }
}

/// Checks `signatures` over `signed_bytes` against `role`, whose key ids are
/// looked up in `keys`. To check many files against the same keys, build a
/// [`KeyRing`] once instead.
pub fn check(
    role: &RoleKeys,
    keys: &BTreeMap<KeyId, Key>,
    signed_bytes: &[u8],
    signatures: &[Signature],
) -> ThresholdReport {
    KeyRing::new(keys).check(role, signed_bytes, signatures)
}
