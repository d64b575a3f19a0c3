//! What may be signed, by which keys, and the threshold board after each
//! signature: the rules of a signing session, with no UI and no hardware in
//! them (signers are passed in). Both the appliance (`ceremony`) and the
//! online tool (`tuf-repo`, for its ceremony manifests and `merge`) apply
//! them, so the two can never disagree on who may sign.
//!
//! A root N+1 is signed for two key sets at once — root N's root role (the
//! rotation) and its own root role — so a key listed in either may sign, and
//! where the two list one key under different key ids, the signature is
//! recorded under each id.
//!
//! What is recorded is always a [`CheckedSignature`]: verified over the
//! file's exact canonical bytes, and refused by any other file.

mod checked;

use time::OffsetDateTime;

use crate::json;
use crate::key_audit::{DuplicateKey, KeyAudit, audit_delegations, audit_root};
use crate::keys::{Key, KeyId, PublicKey, keyid_mismatches};
use crate::metadata::{Limits, Metadata, ParseError, Signed};
use crate::root::{RoleKeys, Root};
use crate::rotation::{VerifyError, verify_trusted_root};
use crate::targets::Targets;
use crate::threshold::{KeyRing, ThresholdReport};

pub use checked::{CheckError, CheckFailure, CheckedSignature, CheckingKey, RecordError};

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
    /// One public key listed under two key ids ([`crate::key_audit`]):
    /// clients counting key ids would count one keyholder twice.
    #[error("{0}; the key set must be fixed before it is signed")]
    DuplicateKey(DuplicateKey),
    /// Metadata already expired at the confirmed time.
    #[error("{0}")]
    Expired(VerifyError),
    /// Non-root metadata names its signers only in the root (or delegator).
    #[error("signing {0} metadata needs the trusted root (--trusted) to know the role's keys")]
    NeedsTrustedRoot(String),
    /// A delegated role: its keys live in the delegating targets metadata.
    #[error("{0:?} is not a top-level role; signing delegated roles needs the delegating metadata")]
    NotTopLevel(String),
    /// The delegating targets metadata does not delegate this role.
    #[error("{role:?} is not delegated by {delegator}")]
    NotDelegated {
        /// The role asked for.
        role: String,
        /// Who was asked, e.g. "targets v3".
        delegator: String,
    },
    /// Only targets metadata can be a delegated role.
    #[error("a delegated role's metadata must be of type targets, found {0}")]
    DelegatedNotTargets(String),
    /// A root is signed for its own keys (and root N's), never for a staged root's.
    #[error("root metadata is not signed against a staged root; use --trusted with root N")]
    RootAgainstStaged,
}

/// Where the keys allowed to sign a file come from.
#[derive(Clone, Copy, Debug)]
pub enum Anchor<'a> {
    /// Nothing: only a root can be signed (for its own root keys).
    None,
    /// Root N, which must verify by itself: for root N+1, or for another
    /// top-level role whose keys root N lists.
    Trusted(&'a Metadata<Root>),
    /// A root being signed in the same ceremony (a new repository's v1, or
    /// root N+1 that changes the targets keys): it is not trusted yet, so it
    /// only says which keys may sign. A signature made this way counts for
    /// clients only once that root is committed, which `tuf-repo commit`
    /// checks.
    Staged(&'a Metadata<Root>),
    /// The targets metadata that delegates `role` (staged or published):
    /// its `delegations` hold the role's keys and threshold, as a client
    /// would read them. Like [`Anchor::Staged`], a staged delegator only
    /// says which keys may sign; `tuf-repo commit` installs the delegated
    /// role only with (or after) its delegator.
    Delegator {
        /// The delegating targets (top-level or a delegated role itself).
        targets: &'a Targets,
        /// For people: e.g. "targets v3".
        label: &'a str,
        /// The delegated role's name (its file is `<role>.json`).
        role: &'a str,
    },
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

impl KeySet {
    /// Top-level `role` as `root` lists it (labelled as a plan labels a
    /// trusted root's role), or `None` if root has no such role: what the
    /// online keys sign snapshot and timestamp for.
    pub fn of_root_role(root: &Root, role: &str) -> Option<KeySet> {
        role_key_set(
            role,
            root,
            format!("{role} (root v{})", root.common.version),
        )
        .ok()
    }
}

/// The one rule for where a key's signature goes: every key id, in any of
/// `key_sets` (in their order, each id once), under which `key`'s public
/// key is listed. Empty: this key may not sign.
pub fn keyids_listing(key_sets: &[KeySet], key: &PublicKey) -> Vec<KeyId> {
    let mut ids: Vec<KeyId> = Vec::new();
    for set in key_sets {
        for id in &set.role.keyids {
            let listed: Option<PublicKey> = set.keys.get(id).and_then(|k| k.public_key().ok());
            if listed.as_ref() == Some(key) && !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    ids
}

/// Records `signature` in `metadata` under every key id listing its key in
/// `key_sets` ([`keyids_listing`]), and returns those ids. Refuses a
/// signature checked over other bytes, or by a key no set lists; then
/// nothing is recorded. The one way a signature gets into metadata.
pub fn record<T>(
    metadata: &mut Metadata<T>,
    key_sets: &[KeySet],
    signature: &CheckedSignature,
) -> Result<Vec<KeyId>, RecordError> {
    let ids = keyids_listing(key_sets, signature.public_key());
    if ids.is_empty() {
        return Err(RecordError::NotListed(signature.key_id().clone()));
    }
    for id in &ids {
        metadata.record_signature(id, signature)?;
    }
    Ok(ids)
}

/// A file being signed: its parsed metadata and the key sets that may sign.
#[derive(Debug)]
pub struct SigningPlan {
    metadata: Metadata<Signed>,
    role: String,
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
        Self::with_anchor(bytes, trusted.map_or(Anchor::None, Anchor::Trusted), now)
    }

    /// Like [`SigningPlan::new`], with the keys' source spelled out: a staged
    /// root may name the keys of the other top-level roles (never of root).
    pub fn with_anchor(
        bytes: &[u8],
        anchor: Anchor<'_>,
        now: OffsetDateTime,
    ) -> Result<Self, PlanError> {
        let metadata = Metadata::parse(bytes, &Limits::ANY)?;
        let trusted = match anchor {
            Anchor::Trusted(trusted) => {
                verify_trusted_root(trusted).map_err(PlanError::TrustedRoot)?;
                Some(trusted)
            }
            Anchor::None | Anchor::Staged(_) | Anchor::Delegator { .. } => None,
        };
        let mut role_name = metadata.signed().type_name().to_owned();
        let key_sets = match (metadata.signed(), anchor) {
            (
                other,
                Anchor::Delegator {
                    targets,
                    label,
                    role,
                },
            ) => {
                if !matches!(other, Signed::Targets(_)) {
                    return Err(PlanError::DelegatedNotTargets(other.type_name().into()));
                }
                role_name = role.to_owned();
                vec![delegated_key_set(targets, label, role)?]
            }
            (Signed::Root(_), Anchor::Staged(_)) => return Err(PlanError::RootAgainstStaged),
            (Signed::Root(root), _) => {
                // Root caps apply to roots, whichever way they arrive.
                Metadata::parse(bytes, &Limits::ROOT)?;
                root_key_sets(root, trusted)?
            }
            (other, Anchor::Staged(staged)) => {
                let root = staged.signed();
                if let Some((listed, computed)) = keyid_mismatches(&root.keys).into_iter().next() {
                    return Err(PlanError::KeyIdMismatch { listed, computed });
                }
                refuse_duplicates(audit_root(root))?;
                let role = other.type_name();
                vec![role_key_set(
                    role,
                    root,
                    format!(
                        "{role} (staged root v{}, not yet trusted)",
                        root.common.version
                    ),
                )?]
            }
            (other, _) => {
                let role = other.type_name();
                let Some(trusted) = trusted else {
                    return Err(PlanError::NeedsTrustedRoot(role.into()));
                };
                let root = trusted.signed();
                vec![role_key_set(
                    role,
                    root,
                    format!("{role} (root v{})", root.common.version),
                )?]
            }
        };
        if let Signed::Targets(Targets {
            delegations: Some(delegations),
            ..
        }) = metadata.signed()
        {
            refuse_duplicates(audit_delegations(delegations))?;
        }
        if metadata.signed().common().expires.is_expired_at(now) {
            let expires = metadata.signed().common().expires.as_str();
            return Err(PlanError::Expired(VerifyError::Expired {
                expires: expires.to_owned(),
                // RFC 3339 to the second, as every time we print.
                at: crate::Expires::from_time(now).as_str().to_owned(),
            }));
        }
        Ok(SigningPlan {
            metadata,
            role: role_name,
            key_sets,
        })
    }

    /// The role being signed: the `_type` of a top-level role, or the
    /// delegated role's name.
    pub fn role(&self) -> &str {
        &self.role
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
    /// listed ([`keyids_listing`]). Empty: this key may not sign this file.
    pub fn keyids_for(&self, key: &Key) -> Vec<KeyId> {
        match key.public_key() {
            Ok(wanted) => keyids_listing(&self.key_sets, &wanted),
            Err(_) => Vec::new(),
        }
    }

    /// Records `signature` under every key id listing its key ([`record`]),
    /// returning those ids; refuses one checked over other bytes than this
    /// file's, or by a key no key set lists.
    pub fn apply(&mut self, signature: &CheckedSignature) -> Result<Vec<KeyId>, RecordError> {
        record(&mut self.metadata, &self.key_sets, signature)
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

/// The key set of delegated `role` from its delegator's `delegations`:
/// the one place delegated keys are looked up for signing.
fn delegated_key_set(targets: &Targets, label: &str, role: &str) -> Result<KeySet, PlanError> {
    let not_delegated = || PlanError::NotDelegated {
        role: role.into(),
        delegator: label.into(),
    };
    let delegations = targets.delegations.as_ref().ok_or_else(not_delegated)?;
    let keys = delegations.role_keys(role).ok_or_else(not_delegated)?;
    if let Some((listed, computed)) = keyid_mismatches(&delegations.keys).into_iter().next() {
        return Err(PlanError::KeyIdMismatch { listed, computed });
    }
    refuse_duplicates(audit_delegations(delegations))?;
    Ok(KeySet {
        label: format!("{role} ({label})"),
        role: keys.clone(),
        keys: delegations.keys.clone(),
    })
}

fn role_key_set(role: &str, root: &Root, label: String) -> Result<KeySet, PlanError> {
    let Some(keys) = root.role(role) else {
        return Err(PlanError::NotTopLevel(role.into()));
    };
    Ok(KeySet {
        label,
        role: keys.clone(),
        keys: root.keys.clone(),
    })
}

/// Refuses a key set listing one public key under two key ids: the rule
/// holds wherever we sign, whoever anchors the file.
fn refuse_duplicates(audit: KeyAudit) -> Result<(), PlanError> {
    match audit.duplicates.into_iter().next() {
        Some(duplicate) => Err(PlanError::DuplicateKey(duplicate)),
        None => Ok(()),
    }
}

fn root_key_sets(root: &Root, trusted: Option<&Metadata<Root>>) -> Result<Vec<KeySet>, PlanError> {
    if let Some((listed, computed)) = keyid_mismatches(&root.keys).into_iter().next() {
        return Err(PlanError::KeyIdMismatch { listed, computed });
    }
    refuse_duplicates(audit_root(root))?;
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::{Common, Expires, Object, Signature, Value};
    use ring::signature::{Ed25519KeyPair, KeyPair};
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2030-01-01 0:00 UTC);

    struct TestKey(Ed25519KeyPair);

    impl TestKey {
        fn new() -> Self {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
            TestKey(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
        }
        fn key(&self) -> Key {
            Key {
                keytype: "ed25519".into(),
                scheme: "ed25519".into(),
                public: hex::encode(self.0.public_key()),
                keyval_rest: Object::new(),
                unrecognized: Object::new(),
            }
        }
        fn sign(&self, md: &mut Metadata<Root>) {
            let sig = hex::encode(self.0.sign(md.signed_bytes()));
            md.set_signature(Signature {
                keyid: self.key().key_id(),
                sig,
                unrecognized: Object::new(),
            });
        }
    }

    fn root(version: u64, keys: &[&Key], threshold: u64) -> Root {
        let role = RoleKeys {
            keyids: keys.iter().map(|k| k.key_id()).collect(),
            threshold,
            unrecognized: Object::new(),
        };
        Root {
            common: Common {
                spec_version: "1.0.31".into(),
                version,
                expires: Expires::parse("2040-01-01T00:00:00Z").unwrap(),
            },
            consistent_snapshot: Some(true),
            keys: keys.iter().map(|k| (k.key_id(), (*k).clone())).collect(),
            roles: ["root", "targets", "snapshot", "timestamp"]
                .into_iter()
                .map(|n| (n.to_owned(), role.clone()))
                .collect::<BTreeMap<_, _>>(),
            unrecognized: Object::new(),
        }
    }

    fn bytes(root: Root) -> Vec<u8> {
        json::to_pretty(&Metadata::new(root).to_value())
    }

    fn trusted(signers: &[&TestKey], threshold: u64) -> Metadata<Root> {
        let keys: Vec<Key> = signers.iter().map(|s| s.key()).collect();
        let mut md = Metadata::new(root(1, &keys.iter().collect::<Vec<_>>(), threshold));
        for s in signers {
            s.sign(&mut md);
        }
        md
    }

    #[test]
    fn a_rotation_is_signed_for_the_old_and_the_new_root_role() {
        let [a, b, c] = [(); 3].map(|()| TestKey::new());
        let v1 = trusted(&[&a, &b], 2);
        let staged = bytes(root(2, &[&b.key(), &c.key()], 2));
        let plan = SigningPlan::new(&staged, Some(&v1), NOW).unwrap();
        let labels: Vec<&str> = plan.key_sets().iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["root v1 (trusted)", "root v2 (new)"]);
        assert_eq!(
            plan.keyids_for(&a.key()),
            vec![a.key().key_id()],
            "old key only"
        );
        assert_eq!(
            plan.keyids_for(&c.key()),
            vec![c.key().key_id()],
            "new key only"
        );
        assert_eq!(
            plan.keyids_for(&b.key()),
            vec![b.key().key_id()],
            "in both, once"
        );
        assert!(plan.keyids_for(&TestKey::new().key()).is_empty());
    }

    #[test]
    fn one_key_under_two_ids_in_old_and_new_root_is_signed_under_both() {
        let [a, b] = [(); 2].map(|()| TestKey::new());
        let v1 = trusted(&[&a, &b], 1);
        let mut renamed = a.key();
        renamed
            .unrecognized
            .insert("x-owner".into(), Value::from("@a"));
        let staged = bytes(root(2, &[&renamed, &b.key()], 1));
        let mut plan = SigningPlan::new(&staged, Some(&v1), NOW).unwrap();
        let ids = plan.keyids_for(&a.key());
        assert_eq!(ids, vec![a.key().key_id(), renamed.key_id()]);
        let checked = CheckedSignature::check(
            &CheckingKey::new(&a.key()).unwrap(),
            plan.metadata().signed_bytes(),
            a.0.sign(plan.metadata().signed_bytes()).as_ref(),
        )
        .unwrap();
        assert_eq!(plan.apply(&checked).unwrap(), ids);
        let recorded: Vec<&str> = plan
            .metadata()
            .signatures()
            .iter()
            .map(|s| s.keyid.as_str())
            .collect();
        assert_eq!(recorded, ids);
        let board = plan.board();
        assert!(board.iter().all(|(_, r)| r.is_met()), "{board:?}");
    }

    #[test]
    fn what_may_not_be_signed_is_refused_before_any_token_is_touched() {
        let [a, b] = [(); 2].map(|()| TestKey::new());
        let v1 = trusted(&[&a], 1);
        let skip = bytes(root(3, &[&a.key()], 1));
        assert!(matches!(
            SigningPlan::new(&skip, Some(&v1), NOW),
            Err(PlanError::NotSuccessor {
                trusted: 1,
                found: 3
            })
        ));
        let mut liar = root(2, &[&a.key()], 1);
        let lie = liar.keys.remove(&a.key().key_id()).unwrap();
        liar.keys.insert("00".repeat(32), lie);
        liar.roles
            .values_mut()
            .for_each(|r| r.keyids = vec!["00".repeat(32)]);
        assert!(matches!(
            SigningPlan::new(&bytes(liar), Some(&v1), NOW),
            Err(PlanError::KeyIdMismatch { .. })
        ));
        let mut stale = root(2, &[&a.key()], 1);
        stale.common.expires = Expires::parse("2029-12-31T23:59:59Z").unwrap();
        assert!(matches!(
            SigningPlan::new(&bytes(stale), Some(&v1), NOW),
            Err(PlanError::Expired(_))
        ));
        // A trusted root that does not verify by itself is no anchor.
        let mut forged = trusted(&[&a], 1);
        b.sign(&mut forged);
        let forged = Metadata::parse_root(&json::to_pretty(&{
            let mut v = forged.to_value();
            if let Value::Object(o) = &mut v {
                o.insert("signatures".into(), Value::Array(vec![]));
            }
            v
        }))
        .unwrap();
        assert!(matches!(
            SigningPlan::new(&bytes(root(2, &[&a.key()], 1)), Some(&forged), NOW),
            Err(PlanError::TrustedRoot(_))
        ));
    }

    #[test]
    fn top_level_roles_other_than_root_are_signed_for_the_trusted_roots_role() {
        let a = TestKey::new();
        let v1 = trusted(&[&a], 1);
        let targets = br#"{"signatures":[],"signed":{"_type":"targets","spec_version":"1.0.31",
            "version":4,"expires":"2040-01-01T00:00:00Z","targets":{}}}"#;
        assert!(matches!(
            SigningPlan::new(targets, None, NOW),
            Err(PlanError::NeedsTrustedRoot(role)) if role == "targets"
        ));
        let plan = SigningPlan::new(targets, Some(&v1), NOW).unwrap();
        assert_eq!(plan.key_sets()[0].label, "targets (root v1)");
        assert_eq!(plan.keyids_for(&a.key()), vec![a.key().key_id()]);
    }

    #[test]
    fn a_delegated_role_is_signed_for_the_keys_its_delegator_lists() {
        use crate::targets::{DelegatedRoles, Delegations, SuccinctRoles};
        let [a, b] = [(); 2].map(|()| TestKey::new());
        let delegator = crate::Targets {
            common: Common {
                spec_version: "1.0.31".into(),
                version: 3,
                expires: Expires::parse("2040-01-01T00:00:00Z").unwrap(),
            },
            targets: BTreeMap::new(),
            delegations: Some(Delegations {
                keys: BTreeMap::from([(a.key().key_id(), a.key())]),
                roles: DelegatedRoles::Succinct(SuccinctRoles {
                    keys: RoleKeys {
                        keyids: vec![a.key().key_id()],
                        threshold: 1,
                        unrecognized: Object::new(),
                    },
                    bit_length: 4,
                    name_prefix: "bins".into(),
                }),
                unrecognized: Object::new(),
            }),
            unrecognized: Object::new(),
        };
        let bin = br#"{"signatures":[],"signed":{"_type":"targets","spec_version":"1.0.31",
            "version":1,"expires":"2040-01-01T00:00:00Z","targets":{}}}"#;
        let anchor = |role| Anchor::Delegator {
            targets: &delegator,
            label: "targets v3",
            role,
        };
        let plan = SigningPlan::with_anchor(bin, anchor("bins-a"), NOW).unwrap();
        assert_eq!(plan.role(), "bins-a");
        assert_eq!(plan.key_sets()[0].label, "bins-a (targets v3)");
        assert_eq!(plan.keyids_for(&a.key()), vec![a.key().key_id()]);
        assert!(plan.keyids_for(&b.key()).is_empty());
        assert!(matches!(
            SigningPlan::with_anchor(bin, anchor("bins-10"), NOW),
            Err(PlanError::NotDelegated { .. })
        ));
        let v1 = bytes(root(1, &[&a.key()], 1));
        assert!(matches!(
            SigningPlan::with_anchor(&v1, anchor("bins-a"), NOW),
            Err(PlanError::DelegatedNotTargets(_))
        ));
    }

    #[test]
    fn a_new_repositorys_targets_are_signed_for_the_staged_roots_targets_keys() {
        let [a, b] = [(); 2].map(|()| TestKey::new());
        // Root v1, unsigned: it names the keys but is trusted by nobody yet.
        let staged = Metadata::new(root(1, &[&a.key()], 1));
        let targets = br#"{"signatures":[],"signed":{"_type":"targets","spec_version":"1.0.31",
            "version":1,"expires":"2040-01-01T00:00:00Z","targets":{}}}"#;
        assert!(matches!(
            SigningPlan::new(targets, Some(&staged), NOW),
            Err(PlanError::TrustedRoot(_))
        ));
        let plan = SigningPlan::with_anchor(targets, Anchor::Staged(&staged), NOW).unwrap();
        assert_eq!(
            plan.key_sets()[0].label,
            "targets (staged root v1, not yet trusted)"
        );
        assert_eq!(plan.keyids_for(&a.key()), vec![a.key().key_id()]);
        assert!(plan.keyids_for(&b.key()).is_empty());
        // A root is never signed for a staged root's keys.
        let next = bytes(root(2, &[&a.key()], 1));
        assert!(matches!(
            SigningPlan::with_anchor(&next, Anchor::Staged(&staged), NOW),
            Err(PlanError::RootAgainstStaged)
        ));
    }

    fn checked(key: &TestKey, bytes: &[u8]) -> CheckedSignature {
        let checking = CheckingKey::new(&key.key()).unwrap();
        CheckedSignature::check(&checking, bytes, key.0.sign(bytes).as_ref()).unwrap()
    }

    #[test]
    fn a_signature_checked_over_another_file_is_refused_and_nothing_is_recorded() {
        let [a, b] = [(); 2].map(|()| TestKey::new());
        let v1 = trusted(&[&a, &b], 2);
        let mut plan =
            SigningPlan::new(&bytes(root(2, &[&a.key(), &b.key()], 2)), Some(&v1), NOW).unwrap();
        let other = Metadata::new(root(2, &[&a.key()], 1));
        let elsewhere = checked(&a, other.signed_bytes());
        let err = plan.apply(&elsewhere).unwrap_err();
        assert_eq!(
            err,
            RecordError::OtherBytes {
                key_id: a.key().key_id(),
                covers: other.signed_digest(),
                file: plan.metadata().signed_digest(),
            }
        );
        assert!(plan.metadata().signatures().is_empty());
        // The same key's signature over this file's bytes is recorded.
        let here = checked(&a, plan.metadata().signed_bytes());
        assert_eq!(plan.apply(&here).unwrap(), vec![a.key().key_id()]);
        assert_eq!(plan.metadata().signatures(), [here.to_signature()]);
    }

    #[test]
    fn a_key_no_key_set_lists_is_not_recorded() {
        let [a, stranger] = [(); 2].map(|()| TestKey::new());
        let v1 = trusted(&[&a], 1);
        let mut plan = SigningPlan::new(&bytes(root(2, &[&a.key()], 1)), Some(&v1), NOW).unwrap();
        let theirs = checked(&stranger, plan.metadata().signed_bytes());
        assert_eq!(
            plan.apply(&theirs).unwrap_err(),
            RecordError::NotListed(stranger.key().key_id())
        );
        assert!(plan.metadata().signatures().is_empty());
    }

    #[test]
    fn record_goes_under_every_id_of_the_key_in_a_roots_role() {
        let [a, b] = [(); 2].map(|()| TestKey::new());
        let mut renamed = a.key();
        renamed
            .unrecognized
            .insert("x-owner".into(), Value::from("@a"));
        let mut v1 = root(1, &[&a.key(), &b.key()], 1);
        v1.keys.insert(renamed.key_id(), renamed.clone());
        let snapshot = v1.roles.get_mut("snapshot").unwrap();
        snapshot.keyids = vec![renamed.key_id(), b.key().key_id(), a.key().key_id()];
        let set = KeySet::of_root_role(&v1, "snapshot").unwrap();
        assert_eq!(set.label, "snapshot (root v1)");
        assert!(KeySet::of_root_role(&v1, "bins-0").is_none());
        let ids = vec![renamed.key_id(), a.key().key_id()];
        let public = a.key().public_key().unwrap();
        assert_eq!(keyids_listing(std::slice::from_ref(&set), &public), ids);
        let mut md = Metadata::new(root(7, &[&b.key()], 1));
        let signature = checked(&a, md.signed_bytes());
        assert_eq!(
            record(&mut md, std::slice::from_ref(&set), &signature).unwrap(),
            ids
        );
        let recorded: Vec<&KeyId> = md.signatures().iter().map(|s| &s.keyid).collect();
        assert_eq!(recorded, [&ids[0], &ids[1]]);
        assert!(md.signatures().iter().all(|s| s.sig == signature.sig()));
    }
}
