//! What `stage-rotation --remove-root-key` means for the other roles a
//! keyholder signs. `init` makes the root keys the targets keys by default,
//! and in root the targets role's keys are root's own `roles.targets`: a
//! keyholder removed from root only is still a targets signer. With
//! `--also-targets` the key leaves `roles.targets` in the same root N+1
//! (refused if the targets threshold can no longer be met); without it,
//! and for every delegation that still lists the key, a warning names the
//! role and the command that removes the key there.

use std::path::Path;

use anyhow::{Result, bail};
use tuf_metadata::threshold::short_id;
use tuf_metadata::{Key, PublicKey, Root};

use crate::graph::Graph;
use crate::layout::Repo;

/// After the root key changes were applied to `after` (from `before`):
/// with `also_targets`, removes each removed root key from the targets
/// role too and checks its threshold; then warns, on stderr, of every role
/// the removed keys still sign.
pub fn after_root_removal(
    before: &Root,
    after: &mut Root,
    repo: &Path,
    also_targets: bool,
) -> Result<()> {
    let removed: Vec<(String, PublicKey)> = before.roles["root"]
        .keyids
        .iter()
        .filter(|id| !after.roles["root"].keyids.contains(id))
        .filter_map(|id| {
            let key = before.keys.get(id)?.public_key().ok()?;
            Some((id.clone(), key))
        })
        .collect();
    if removed.is_empty() {
        return Ok(());
    }
    if also_targets {
        remove_from_targets(after, &removed)?;
    }
    for (id, key) in &removed {
        let short = short_id(id);
        if signs_targets(after, key) {
            say_err!(
                "warning: root key {short} is removed from root but still signs targets; add --also-targets to remove it there too (or --remove-targets-key {short})"
            );
        }
        for (role, delegator) in delegated_roles_signed_by(repo, key)? {
            say_err!(
                "warning: root key {short} still signs the delegated role {role} ({delegator} delegates it); remove it there with `tuf-repo delegate {} --from {} --name {role} --remove-key {short}`",
                repo.display(),
                delegator.split(' ').next().unwrap_or("targets")
            );
        }
    }
    Ok(())
}

/// Removes every key of `removed` from `roles.targets` (each key id under
/// which its public key is listed), then refuses a threshold its distinct
/// keys cannot meet, saying how to fix it.
fn remove_from_targets(root: &mut Root, removed: &[(String, PublicKey)]) -> Result<()> {
    let keys = root.keys.clone();
    let targets = root.roles.get_mut("targets").expect("a top-level role");
    let same = |id: &String, wanted: &PublicKey| {
        keys.get(id)
            .and_then(|k| k.public_key().ok())
            .is_some_and(|k| &k == wanted)
    };
    let mut gone = Vec::new();
    targets.keyids.retain(|id| {
        let drop = removed.iter().any(|(_, key)| same(id, key));
        if drop {
            gone.push(id.clone());
        }
        !drop
    });
    let threshold = targets.threshold;
    let left = distinct(root, "targets");
    for id in gone {
        if !root.roles.values().any(|r| r.keyids.contains(&id)) {
            root.keys.remove(&id);
        }
    }
    if (left as u64) < threshold {
        let ids: Vec<&str> = removed.iter().map(|(id, _)| short_id(id)).collect();
        bail!(
            "targets: removing {} leaves {left} key(s) for a threshold of {threshold}; lower it with --targets-threshold or add a key with --add-targets-key",
            ids.join(" ")
        );
    }
    Ok(())
}

/// Distinct public keys of a top-level role.
fn distinct(root: &Root, role: &str) -> usize {
    let keys: std::collections::BTreeSet<PublicKey> = root.roles[role]
        .keyids
        .iter()
        .filter_map(|id| root.keys.get(id).and_then(|k| k.public_key().ok()))
        .collect();
    keys.len()
}

fn signs_targets(root: &Root, key: &PublicKey) -> bool {
    root.roles["targets"].keyids.iter().any(|id| {
        root.keys
            .get(id)
            .and_then(|k| k.public_key().ok())
            .is_some_and(|k| &k == key)
    })
}

/// Every delegated role in force whose delegation lists `key`, with the
/// label of the role that delegates it ("targets v3 (staged)").
fn delegated_roles_signed_by(repo: &Path, key: &PublicKey) -> Result<Vec<(String, String)>> {
    let Some(graph) = Graph::load(&Repo::new(repo))? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for delegator in &graph.roles {
        let Some(delegations) = &delegator.targets.delegations else {
            continue;
        };
        let listed = |id: &String| {
            delegations
                .keys
                .get(id)
                .and_then(|k: &Key| k.public_key().ok())
                .is_some_and(|k| &k == key)
        };
        for (role, keyids) in delegated_key_ids(delegations) {
            if keyids.iter().any(listed) {
                out.push((role, delegator.label.clone()));
            }
        }
    }
    Ok(out)
}

/// Each delegated role (a succinct delegation as its name prefix and
/// `*`) with its key ids.
fn delegated_key_ids(delegations: &tuf_metadata::Delegations) -> Vec<(String, Vec<String>)> {
    match &delegations.roles {
        tuf_metadata::DelegatedRoles::Listed(list) => list
            .iter()
            .map(|r| (r.name.clone(), r.keys.keyids.clone()))
            .collect(),
        tuf_metadata::DelegatedRoles::Succinct(s) => {
            vec![(s.name_prefix.clone(), s.keys.keyids.clone())]
        }
    }
}
