//! What may be signed, by which keys, and the threshold board after each
//! signature: the rules of a signing session, with no UI and no hardware in
//! them (signers are passed in).
//!
//! A root N+1 is signed for two key sets at once — root N's root role (the
//! rotation) and its own root role — so a key listed in either may sign, and
//! where the two list one key under different key ids, the signature is
//! recorded under each id.

use time::OffsetDateTime;
use tuf_metadata::keys::keyid_mismatches;
use tuf_metadata::threshold::{KeyRing, ThresholdReport};
use tuf_metadata::{
    Key, KeyId, Limits, Metadata, ParseError, PublicKey, RoleKeys, Root, Signature, Signed,
    VerifyError, json, verify_trusted_root,
};

/// Why a file may not be signed at all.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file is not strictly valid metadata.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The trusted root given does not verify by itself.
    #[error("trusted root: {0}")]
    TrustedRoot(VerifyError),
    /// A root that is not trusted N+1.
    #[error("staged root is version {found}, but the trusted root is version {trusted}: only version {} may be signed", trusted + 1)]
    NotSuccessor {
        /// Trusted root version.
        trusted: u64,
        /// Staged version.
        found: u64,
    },
    /// A key published under an id that is not its hash: refused when signing.
    #[error(
        "key id {listed} does not match its key (computed {computed}); the root must be fixed before it is signed"
    )]
    KeyIdMismatch {
        /// The id in the file.
        listed: KeyId,
        /// The id the key hashes to.
        computed: KeyId,
    },
    /// Metadata already expired at the confirmed time.
    #[error("{0}")]
    Expired(VerifyError),
    /// Non-root metadata names its signers only in the root (or delegator).
    #[error("signing {0} metadata needs the trusted root (--trusted) to know the role's keys")]
    NeedsTrustedRoot(String),
    /// A delegated role: its keys live in the delegating targets metadata.
    #[error("{0:?} is not a top-level role; signing delegated roles needs the delegating metadata")]
    NotTopLevel(String),
}

/// One set of keys whose threshold this file must meet.
#[derive(Clone, Debug)]
pub struct KeySet {
    /// For people: e.g. "root v3 (trusted)" or "root v4 (new)".
    pub label: String,
    /// The role's key ids and threshold.
    pub role: RoleKeys,
    /// The keys the key ids refer to.
    pub keys: std::collections::BTreeMap<KeyId, Key>,
}

/// A file being signed: its parsed metadata and the key sets that may sign.
#[derive(Debug)]
pub struct SigningPlan {
    metadata: Metadata<Signed>,
    key_sets: Vec<KeySet>,
}

impl SigningPlan {
    /// Checks that `bytes` may be signed, against `trusted` (root N) if given,
    /// at the confirmed time `now`.
    pub fn new(
        bytes: &[u8],
        trusted: Option<&Metadata<Root>>,
        now: OffsetDateTime,
    ) -> Result<Self, PlanError> {
        let metadata = Metadata::parse(bytes, &Limits::ANY)?;
        if let Some(trusted) = trusted {
            verify_trusted_root(trusted).map_err(PlanError::TrustedRoot)?;
        }
        let key_sets = match metadata.signed() {
            Signed::Root(root) => {
                // Root caps apply to roots, whichever way they arrive.
                Metadata::parse(bytes, &Limits::ROOT)?;
                root_key_sets(root, trusted)?
            }
            other => {
                let role = other.type_name();
                let Some(trusted) = trusted else {
                    return Err(PlanError::NeedsTrustedRoot(role.into()));
                };
                let root = trusted.signed();
                let Some(keys) = root.role(role) else {
                    return Err(PlanError::NotTopLevel(role.into()));
                };
                vec![KeySet {
                    label: format!("{role} (root v{})", root.common.version),
                    role: keys.clone(),
                    keys: root.keys.clone(),
                }]
            }
        };
        if metadata.signed().common().expires.is_expired_at(now) {
            let expires = metadata.signed().common().expires.as_str();
            return Err(PlanError::Expired(VerifyError::Expired {
                expires: expires.to_owned(),
                at: now.to_string(),
            }));
        }
        Ok(SigningPlan { metadata, key_sets })
    }

    /// The parsed metadata.
    pub fn metadata(&self) -> &Metadata<Signed> {
        &self.metadata
    }

    /// The key sets whose thresholds this file must meet.
    pub fn key_sets(&self) -> &[KeySet] {
        &self.key_sets
    }

    /// Every key id, in any key set, under which `key`'s public key is
    /// listed. Empty: this key may not sign this file.
    pub fn keyids_for(&self, key: &Key) -> Vec<KeyId> {
        let Ok(wanted) = key.public_key() else {
            return Vec::new();
        };
        let mut ids: Vec<KeyId> = Vec::new();
        for set in &self.key_sets {
            for id in &set.role.keyids {
                let listed: Option<PublicKey> = set.keys.get(id).and_then(|k| k.public_key().ok());
                if listed.as_ref() == Some(&wanted) && !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
        }
        ids
    }

    /// Records `signature` (made by the key behind `keyids`) under each id.
    pub fn apply(&mut self, keyids: &[KeyId], signature: &Signature) {
        for id in keyids {
            self.metadata.set_signature(Signature {
                keyid: id.clone(),
                sig: signature.sig.clone(),
                unrecognized: Default::default(),
            });
        }
    }

    /// The threshold board: each key set's count after the signatures so far.
    pub fn board(&self) -> Vec<(String, ThresholdReport)> {
        board(&self.key_sets, &self.metadata)
    }

    /// The file to write: pretty JSON, every other signature and unknown
    /// field as it was.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        json::to_pretty(&self.metadata.to_value())
    }
}

/// Threshold reports of `metadata` against each key set.
pub fn board(key_sets: &[KeySet], metadata: &Metadata<Signed>) -> Vec<(String, ThresholdReport)> {
    key_sets
        .iter()
        .map(|set| {
            let report = KeyRing::new(&set.keys).check(
                &set.role,
                metadata.signed_bytes(),
                metadata.signatures(),
            );
            (set.label.clone(), report)
        })
        .collect()
}

fn root_key_sets(root: &Root, trusted: Option<&Metadata<Root>>) -> Result<Vec<KeySet>, PlanError> {
    if let Some((listed, computed)) = keyid_mismatches(&root.keys).into_iter().next() {
        return Err(PlanError::KeyIdMismatch { listed, computed });
    }
    let own = |label: String| KeySet {
        label,
        role: root.roles["root"].clone(),
        keys: root.keys.clone(),
    };
    let version = root.common.version;
    let Some(trusted) = trusted else {
        return Ok(vec![own(format!("root v{version}"))]);
    };
    let trusted_root = trusted.signed();
    let trusted_version = trusted_root.common.version;
    if trusted_version.checked_add(1) != Some(version) {
        return Err(PlanError::NotSuccessor {
            trusted: trusted_version,
            found: version,
        });
    }
    Ok(vec![
        KeySet {
            label: format!("root v{trusted_version} (trusted)"),
            role: trusted_root.roles["root"].clone(),
            keys: trusted_root.keys.clone(),
        },
        own(format!("root v{version} (new)")),
    ])
}
