//! What changes between the published version of a targets role (top-level
//! or delegated) and the staged one, for the review: a keyholder signs the
//! change, so every target and every delegation that differs is spelled
//! out, field by field, as [`crate::diff`] does for root.

use std::collections::{BTreeMap, BTreeSet};

use crate::diff::{Change, FieldChange, diff_objects};
use crate::json::Object;
use crate::keys::{Key, KeyId};
use crate::root::RoleKeys;
use crate::targets::{
    DelegatedRole, DelegatedRoles, Delegations, RoleScope, SuccinctRoles, TargetFile, Targets,
};

/// Everything that differs between a published targets role and its staged
/// successor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetsDiff {
    /// The published version (`None`: never published, everything is new).
    pub previous: Option<u64>,
    /// The staged version.
    pub version: u64,
    /// Expiry text before and after, if changed (never for a first version).
    pub expires: Option<Change<String>>,
    /// spec_version before and after, if changed.
    pub spec_version: Option<Change<String>>,
    /// Targets added, removed or changed, in path order.
    pub targets: Vec<TargetChange>,
    /// How the delegations change (`None`: neither version delegates, or
    /// they delegate identically).
    pub delegations: Option<DelegationsDiff>,
    /// Changes in fields of `signed` this tool does not interpret.
    pub unknown_fields: Vec<FieldChange>,
}

impl TargetsDiff {
    /// True if the staged version does not move forward: a rollback or a
    /// replay of the published version.
    pub fn is_rollback(&self) -> bool {
        self.previous.is_some_and(|old| self.version <= old)
    }

    /// Counts of targets (added, removed, changed).
    pub fn target_counts(&self) -> (usize, usize, usize) {
        self.targets
            .iter()
            .fold((0, 0, 0), |(a, r, c), change| match change {
                TargetChange::Added { .. } => (a + 1, r, c),
                TargetChange::Removed { .. } => (a, r + 1, c),
                TargetChange::Changed { .. } => (a, r, c + 1),
            })
    }

    /// True if nothing but the version and expiry changes.
    pub fn only_renewed(&self) -> bool {
        self.targets.is_empty()
            && self.delegations.is_none()
            && self.unknown_fields.is_empty()
            && self.spec_version.is_none()
    }
}

/// One target file that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetChange {
    /// Listed only in the staged version.
    Added {
        /// Target path.
        path: String,
        /// The staged entry.
        file: TargetFile,
    },
    /// Listed only in the published version.
    Removed {
        /// Target path.
        path: String,
        /// The published entry.
        file: TargetFile,
    },
    /// Listed in both, with different content.
    Changed {
        /// Target path.
        path: String,
        /// The staged entry.
        new: TargetFile,
        /// Length before and after, if changed.
        length: Option<Change<u64>>,
        /// Each hash algorithm whose digest differs (added, removed or changed).
        hashes: Vec<HashChange>,
        /// `custom` and other fields, by dotted path from the target entry.
        fields: Vec<FieldChange>,
    },
}

impl TargetChange {
    /// The target path.
    pub fn path(&self) -> &str {
        match self {
            TargetChange::Added { path, .. }
            | TargetChange::Removed { path, .. }
            | TargetChange::Changed { path, .. } => path,
        }
    }
}

/// One hash algorithm's digest before and after (`None`: absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashChange {
    /// e.g. `sha256`.
    pub algorithm: String,
    /// Published digest.
    pub old: Option<String>,
    /// Staged digest.
    pub new: Option<String>,
}

/// How the `delegations` object changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelegationsDiff {
    /// Key objects only the staged version lists.
    pub keys_added: Vec<(KeyId, Key)>,
    /// Key objects only the published version lists.
    pub keys_removed: Vec<(KeyId, Key)>,
    /// Key ids listed in both whose key object differs.
    pub keys_changed: Vec<KeyId>,
    /// Listed roles added, removed or changed (a switch between listed
    /// roles and succinct bins shows here as every listed role removed or
    /// added, and in `succinct`).
    pub roles: Vec<RoleChange>,
    /// The succinct hash-bin delegation, if either version has one and it
    /// differs.
    pub succinct: Option<SuccinctDiff>,
    /// Unknown fields of the delegations object and of its keys.
    pub unknown_fields: Vec<FieldChange>,
}

impl DelegationsDiff {
    /// True if nothing differs.
    pub fn is_empty(&self) -> bool {
        self.keys_added.is_empty()
            && self.keys_removed.is_empty()
            && self.keys_changed.is_empty()
            && self.roles.is_empty()
            && self.succinct.is_none()
            && self.unknown_fields.is_empty()
    }
}

/// One listed delegated role that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleChange {
    /// Delegated only in the staged version.
    Added(DelegatedRole),
    /// Delegated only in the published version.
    Removed(DelegatedRole),
    /// Delegated in both, differently.
    Changed(Box<RoleDiff>),
}

/// How one listed delegated role changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleDiff {
    /// Role name.
    pub name: String,
    /// The staged role.
    pub new: DelegatedRole,
    /// Key ids newly trusted for the role.
    pub keyids_added: Vec<KeyId>,
    /// Key ids no longer trusted for it.
    pub keyids_removed: Vec<KeyId>,
    /// Threshold before and after, if changed.
    pub threshold: Option<Change<u64>>,
    /// Paths or hash prefixes, if changed.
    pub scope: Option<ScopeChange>,
    /// `terminating` before and after, if changed.
    pub terminating: Option<Change<bool>>,
    /// Position in the search order before and after, if changed (roles
    /// are searched in order, so the first match wins).
    pub position: Option<Change<usize>>,
    /// Unknown fields of the role object.
    pub unknown_fields: Vec<FieldChange>,
}

impl RoleDiff {
    /// True if the role is trusted for more than before: a pattern or
    /// prefix added, or the kind of scope switched.
    pub fn widens(&self) -> bool {
        self.scope.as_ref().is_some_and(ScopeChange::widens)
    }

    /// True if other keys may now sign for the role.
    pub fn keys_change(&self) -> bool {
        !self.keyids_added.is_empty()
    }
}

/// How a role's paths or hash prefixes change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeChange {
    /// The published scope.
    pub old: RoleScope,
    /// The staged scope.
    pub new: RoleScope,
    /// Patterns or prefixes only the staged scope lists.
    pub added: Vec<String>,
    /// Patterns or prefixes only the published scope lists.
    pub removed: Vec<String>,
}

impl ScopeChange {
    /// True if anything is added or the kind (paths / hash prefixes) switches.
    pub fn widens(&self) -> bool {
        !self.added.is_empty() || scope_kind(&self.old) != scope_kind(&self.new)
    }
}

/// How a succinct hash-bin delegation changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuccinctDiff {
    /// The published description (`None`: not succinct before).
    pub old: Option<SuccinctRoles>,
    /// The staged description (`None`: not succinct any more).
    pub new: Option<SuccinctRoles>,
    /// `bit_length`, if changed (both versions succinct).
    pub bit_length: Option<Change<u32>>,
    /// `name_prefix`, if changed (both versions succinct).
    pub name_prefix: Option<Change<String>>,
    /// Key ids newly trusted for every bin.
    pub keyids_added: Vec<KeyId>,
    /// Key ids no longer trusted for the bins.
    pub keyids_removed: Vec<KeyId>,
    /// Threshold, if changed.
    pub threshold: Option<Change<u64>>,
    /// Unknown fields of the succinct object.
    pub unknown_fields: Vec<FieldChange>,
}

/// `paths` or `path_hash_prefixes`, as the file spells it.
pub fn scope_kind(scope: &RoleScope) -> &'static str {
    match scope {
        RoleScope::Paths(_) => "paths",
        RoleScope::HashPrefixes(_) => "path_hash_prefixes",
    }
}

/// The patterns or prefixes of a scope.
pub fn scope_items(scope: &RoleScope) -> &[String] {
    match scope {
        RoleScope::Paths(p) | RoleScope::HashPrefixes(p) => p,
    }
}

/// True if a `paths` pattern matches every target path of its depth (`*`,
/// `*/*`, …): a delegation with it is trusted for everything there.
pub fn is_wildcard(pattern: &str) -> bool {
    pattern
        .split('/')
        .all(|segment| !segment.is_empty() && segment.bytes().all(|b| b == b'*'))
}

fn changed<T: PartialEq>(old: T, new: T) -> Option<Change<T>> {
    (old != new).then_some(Change { old, new })
}

/// Field changes between two objects, paths relative to them (`custom.x`).
fn field_changes(prefix: &str, old: &Object, new: &Object) -> Vec<FieldChange> {
    let mut out = Vec::new();
    diff_objects(prefix, old, new, &mut out);
    if prefix.is_empty() {
        for change in &mut out {
            change.path.remove(0);
        }
    }
    out
}

/// Compares the published targets role (`None`: never published) with the
/// staged one.
pub fn diff_targets(old: Option<&Targets>, new: &Targets) -> TargetsDiff {
    let no_targets = BTreeMap::new();
    let empty = Object::new();
    let old_targets = old.map_or(&no_targets, |t| &t.targets);
    let targets = diff_target_files(old_targets, &new.targets);
    let delegations = diff_delegations(
        old.and_then(|t| t.delegations.as_ref()),
        new.delegations.as_ref(),
    )
    .filter(|d| !d.is_empty());
    TargetsDiff {
        previous: old.map(|t| t.common.version),
        version: new.common.version,
        expires: old.and_then(|t| {
            changed(
                t.common.expires.as_str().to_owned(),
                new.common.expires.as_str().to_owned(),
            )
        }),
        spec_version: old.and_then(|t| {
            changed(
                t.common.spec_version.clone(),
                new.common.spec_version.clone(),
            )
        }),
        targets,
        delegations,
        unknown_fields: field_changes(
            "signed",
            old.map_or(&empty, |t| &t.unrecognized),
            &new.unrecognized,
        ),
    }
}

fn diff_target_files(
    old: &BTreeMap<String, TargetFile>,
    new: &BTreeMap<String, TargetFile>,
) -> Vec<TargetChange> {
    let paths: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut out = Vec::new();
    for path in paths {
        match (old.get(path), new.get(path)) {
            (None, Some(file)) => out.push(TargetChange::Added {
                path: path.clone(),
                file: file.clone(),
            }),
            (Some(file), None) => out.push(TargetChange::Removed {
                path: path.clone(),
                file: file.clone(),
            }),
            (Some(a), Some(b)) if a != b => {
                let algorithms: BTreeSet<&String> =
                    a.hashes.keys().chain(b.hashes.keys()).collect();
                let hashes = algorithms
                    .into_iter()
                    .filter(|alg| a.hashes.get(*alg) != b.hashes.get(*alg))
                    .map(|alg| HashChange {
                        algorithm: alg.clone(),
                        old: a.hashes.get(alg).cloned(),
                        new: b.hashes.get(alg).cloned(),
                    })
                    .collect();
                out.push(TargetChange::Changed {
                    path: path.clone(),
                    new: b.clone(),
                    length: changed(a.length, b.length),
                    hashes,
                    fields: field_changes("", &a.unrecognized, &b.unrecognized),
                });
            }
            _ => {}
        }
    }
    out
}

fn diff_delegations(
    old: Option<&Delegations>,
    new: Option<&Delegations>,
) -> Option<DelegationsDiff> {
    if old.is_none() && new.is_none() {
        return None;
    }
    let no_keys = BTreeMap::new();
    let empty = Object::new();
    let old_keys = old.map_or(&no_keys, |d| &d.keys);
    let new_keys = new.map_or(&no_keys, |d| &d.keys);
    let keys_added = new_keys
        .iter()
        .filter(|(id, _)| !old_keys.contains_key(*id))
        .map(|(id, k)| (id.clone(), k.clone()))
        .collect();
    let keys_removed = old_keys
        .iter()
        .filter(|(id, _)| !new_keys.contains_key(*id))
        .map(|(id, k)| (id.clone(), k.clone()))
        .collect();
    let keys_changed = old_keys
        .iter()
        .filter(|(id, key)| new_keys.get(*id).is_some_and(|n| n != *key))
        .map(|(id, _)| id.clone())
        .collect();
    let listed = |d: Option<&Delegations>| -> Vec<DelegatedRole> {
        match d.map(|d| &d.roles) {
            Some(DelegatedRoles::Listed(roles)) => roles.clone(),
            _ => Vec::new(),
        }
    };
    let succinct = |d: Option<&Delegations>| match d.map(|d| &d.roles) {
        Some(DelegatedRoles::Succinct(s)) => Some(s.clone()),
        _ => None,
    };
    let mut unknown_fields = field_changes(
        "signed.delegations",
        old.map_or(&empty, |d| &d.unrecognized),
        new.map_or(&empty, |d| &d.unrecognized),
    );
    for (id, key) in new_keys {
        if let Some(before) = old_keys.get(id) {
            let path = format!("signed.delegations.keys.{id}");
            unknown_fields.extend(field_changes(
                &path,
                &before.unrecognized,
                &key.unrecognized,
            ));
            unknown_fields.extend(field_changes(
                &format!("{path}.keyval"),
                &before.keyval_rest,
                &key.keyval_rest,
            ));
        }
    }
    Some(DelegationsDiff {
        keys_added,
        keys_removed,
        keys_changed,
        roles: diff_listed(&listed(old), &listed(new)),
        succinct: diff_succinct(succinct(old), succinct(new)),
        unknown_fields,
    })
}

fn keyid_changes(old: &RoleKeys, new: &RoleKeys) -> (Vec<KeyId>, Vec<KeyId>) {
    let added = new
        .keyids
        .iter()
        .filter(|id| !old.keyids.contains(id))
        .cloned()
        .collect();
    let removed = old
        .keyids
        .iter()
        .filter(|id| !new.keyids.contains(id))
        .cloned()
        .collect();
    (added, removed)
}

fn diff_listed(old: &[DelegatedRole], new: &[DelegatedRole]) -> Vec<RoleChange> {
    let mut out = Vec::new();
    for (at, role) in new.iter().enumerate() {
        let Some((was_at, before)) = old.iter().enumerate().find(|(_, r)| r.name == role.name)
        else {
            out.push(RoleChange::Added(role.clone()));
            continue;
        };
        if before == role && was_at == at {
            continue;
        }
        let (keyids_added, keyids_removed) = keyid_changes(&before.keys, &role.keys);
        let scope = (before.scope != role.scope).then(|| {
            let (old_items, new_items) = (scope_items(&before.scope), scope_items(&role.scope));
            let kinds_differ = scope_kind(&before.scope) != scope_kind(&role.scope);
            ScopeChange {
                old: before.scope.clone(),
                new: role.scope.clone(),
                added: new_items
                    .iter()
                    .filter(|p| kinds_differ || !old_items.contains(p))
                    .cloned()
                    .collect(),
                removed: old_items
                    .iter()
                    .filter(|p| kinds_differ || !new_items.contains(p))
                    .cloned()
                    .collect(),
            }
        });
        out.push(RoleChange::Changed(Box::new(RoleDiff {
            name: role.name.clone(),
            new: role.clone(),
            keyids_added,
            keyids_removed,
            threshold: changed(before.keys.threshold, role.keys.threshold),
            scope,
            terminating: changed(before.terminating, role.terminating),
            position: changed(was_at, at),
            unknown_fields: field_changes("", &before.keys.unrecognized, &role.keys.unrecognized),
        })));
    }
    for role in old {
        if !new.iter().any(|r| r.name == role.name) {
            out.push(RoleChange::Removed(role.clone()));
        }
    }
    out
}

fn diff_succinct(old: Option<SuccinctRoles>, new: Option<SuccinctRoles>) -> Option<SuccinctDiff> {
    if old == new {
        return None;
    }
    let none = RoleKeys {
        keyids: Vec::new(),
        threshold: 0,
        unrecognized: Object::new(),
    };
    let old_keys = old.as_ref().map_or(&none, |s| &s.keys);
    let new_keys = new.as_ref().map_or(&none, |s| &s.keys);
    let (keyids_added, keyids_removed) = keyid_changes(old_keys, new_keys);
    let both = old.as_ref().zip(new.as_ref());
    Some(SuccinctDiff {
        bit_length: both.and_then(|(a, b)| changed(a.bit_length, b.bit_length)),
        name_prefix: both.and_then(|(a, b)| changed(a.name_prefix.clone(), b.name_prefix.clone())),
        keyids_added,
        keyids_removed,
        threshold: changed(old_keys.threshold, new_keys.threshold),
        unknown_fields: field_changes("", &old_keys.unrecognized, &new_keys.unrecognized),
        old,
        new,
    })
}

#[cfg(test)]
#[path = "targets_diff_tests.rs"]
mod tests;
