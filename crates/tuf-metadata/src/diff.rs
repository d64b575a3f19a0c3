//! What changes between two versions of root metadata, for the review
//! screen: a keyholder signs a change, so the change must be spelled out.

use std::collections::{BTreeMap, BTreeSet};

use crate::json::{Object, Value};
use crate::keys::{Key, KeyId};
use crate::root::Root;

/// A value before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change<T> {
    /// In the old version.
    pub old: T,
    /// In the new version.
    pub new: T,
}

impl<T: PartialEq> Change<T> {
    fn between(old: T, new: T) -> Option<Self> {
        (old != new).then_some(Change { old, new })
    }
}

/// A field added, removed or changed anywhere in an object tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    /// Dotted path of the field.
    pub path: String,
    /// Value before (None: added).
    pub old: Option<Value>,
    /// Value after (None: removed).
    pub new: Option<Value>,
}

/// How one top-level role's keys and threshold change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleDiff {
    /// Role name.
    pub role: String,
    /// Threshold change, if any.
    pub threshold: Option<Change<u64>>,
    /// Key ids newly allowed to sign.
    pub added: Vec<KeyId>,
    /// Key ids no longer allowed to sign.
    pub removed: Vec<KeyId>,
    /// Same public key under a new key id (re-encoded): `(old id, new id)`.
    pub reencoded: Vec<(KeyId, KeyId)>,
    /// Key ids in both versions.
    pub kept: Vec<KeyId>,
}

impl RoleDiff {
    /// True if nothing about this role changes.
    pub fn is_empty(&self) -> bool {
        self.threshold.is_none()
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.reencoded.is_empty()
    }
}

/// Everything that differs between two roots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootDiff {
    /// Version before and after (always shown).
    pub version: Change<u64>,
    /// Expiry text before and after, if changed.
    pub expires: Option<Change<String>>,
    /// spec_version, if changed.
    pub spec_version: Option<Change<String>>,
    /// consistent_snapshot, if changed.
    pub consistent_snapshot: Option<Change<Option<bool>>>,
    /// One entry per top-level role, in name order.
    pub roles: Vec<RoleDiff>,
    /// Key objects published under the same key id whose content differs
    /// (possible only when a key id does not match its key).
    pub keys_changed: Vec<KeyId>,
    /// Changes in fields this tool does not interpret (extensions, unknown
    /// role or key fields).
    pub unknown_fields: Vec<FieldChange>,
}

/// Compares two roots.
pub fn diff_roots(old: &Root, new: &Root) -> RootDiff {
    let names: BTreeSet<&String> = old.roles.keys().chain(new.roles.keys()).collect();
    let roles = names
        .into_iter()
        .map(|name| role_diff(name, old, new))
        .collect();
    let keys_changed = old
        .keys
        .iter()
        .filter(|(id, key)| new.keys.get(*id).is_some_and(|n| n != *key))
        .map(|(id, _)| id.clone())
        .collect();
    let mut unknown_fields = Vec::new();
    diff_objects(
        "signed",
        &old.unrecognized,
        &new.unrecognized,
        &mut unknown_fields,
    );
    for (name, role) in &new.roles {
        let empty = Object::new();
        let before = old.roles.get(name).map_or(&empty, |r| &r.unrecognized);
        diff_objects(
            &format!("signed.roles.{name}"),
            before,
            &role.unrecognized,
            &mut unknown_fields,
        );
    }
    for (id, key) in &new.keys {
        if let Some(before) = old.keys.get(id) {
            let path = format!("signed.keys.{id}");
            diff_objects(
                &path,
                &before.unrecognized,
                &key.unrecognized,
                &mut unknown_fields,
            );
            diff_objects(
                &format!("{path}.keyval"),
                &before.keyval_rest,
                &key.keyval_rest,
                &mut unknown_fields,
            );
        }
    }
    RootDiff {
        version: Change {
            old: old.common.version,
            new: new.common.version,
        },
        expires: Change::between(
            old.common.expires.as_str().to_owned(),
            new.common.expires.as_str().to_owned(),
        ),
        spec_version: Change::between(
            old.common.spec_version.clone(),
            new.common.spec_version.clone(),
        ),
        consistent_snapshot: Change::between(old.consistent_snapshot, new.consistent_snapshot),
        roles,
        keys_changed,
        unknown_fields,
    }
}

fn role_diff(name: &str, old: &Root, new: &Root) -> RoleDiff {
    let empty = Vec::new();
    let old_ids = old.roles.get(name).map_or(&empty, |r| &r.keyids);
    let new_ids = new.roles.get(name).map_or(&empty, |r| &r.keyids);
    let mut added: Vec<KeyId> = new_ids
        .iter()
        .filter(|id| !old_ids.contains(id))
        .cloned()
        .collect();
    let mut removed: Vec<KeyId> = old_ids
        .iter()
        .filter(|id| !new_ids.contains(id))
        .cloned()
        .collect();
    let kept = new_ids
        .iter()
        .filter(|id| old_ids.contains(id))
        .cloned()
        .collect();
    // A removed and an added key id holding the same public key: re-encoded.
    let mut reencoded = Vec::new();
    removed.retain(|old_id| {
        let old_key = public_of(&old.keys, old_id);
        let pair = added
            .iter()
            .position(|new_id| old_key.is_some() && public_of(&new.keys, new_id) == old_key);
        match pair {
            Some(i) => {
                reencoded.push((old_id.clone(), added.remove(i)));
                false
            }
            None => true,
        }
    });
    RoleDiff {
        role: name.to_owned(),
        threshold: Change::between(
            old.roles.get(name).map_or(0, |r| r.threshold),
            new.roles.get(name).map_or(0, |r| r.threshold),
        ),
        added,
        removed,
        reencoded,
        kept,
    }
}

fn public_of(keys: &BTreeMap<KeyId, Key>, id: &str) -> Option<crate::keys::PublicKey> {
    keys.get(id).and_then(|k| k.public_key().ok())
}

/// Appends every difference between two objects to `out`, recursing into
/// nested objects; arrays and scalars are compared whole.
pub fn diff_objects(path: &str, old: &Object, new: &Object, out: &mut Vec<FieldChange>) {
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for name in names {
        let here = format!("{path}.{name}");
        match (old.get(name), new.get(name)) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => diff_objects(&here, a, b, out),
            (a, b) if a != b => out.push(FieldChange {
                path: here,
                old: a.cloned(),
                new: b.cloned(),
            }),
            _ => {}
        }
    }
}
