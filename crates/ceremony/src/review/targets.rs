//! The review of a staged targets role (top-level or delegated) as the
//! change from the published version: version, expiry, every target and
//! every delegation added, removed or changed. What a witness must look at
//! twice — content swapped under a kept path, a delegation handed to other
//! keys or widened — is a WARNING line; a version that does not move
//! forward is red.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use tuf_metadata::diff::Change;
use tuf_metadata::targets_diff::{
    DelegationsDiff, RoleChange, RoleDiff, SuccinctDiff, TargetChange, TargetsDiff, diff_targets,
    is_wildcard, scope_items, scope_kind,
};
use tuf_metadata::threshold::short_id;
use tuf_metadata::{DelegatedRole, Key, KeyId, RoleScope, SuccinctRoles, TargetFile, Targets};

use super::{ReviewLine, Tone, expiry, field_words, grouped_digest, line};

/// Lines for a staged targets role against `published` (`None`: never
/// published, so everything is added).
pub(super) fn targets_change(
    out: &mut Vec<ReviewLine>,
    published: Option<&Targets>,
    staged: &Targets,
    now: OffsetDateTime,
) {
    let diff = diff_targets(published, staged);
    version_lines(out, &diff);
    out.push(expiry(
        staged.common.expires.time(),
        staged.common.expires.as_str(),
        now,
    ));
    if let Some(change) = &diff.expires {
        out.push(line(Tone::Plain, format!("  (was {})", change.old)));
    }
    if let Some(change) = &diff.spec_version {
        out.push(line(
            Tone::Plain,
            format!("spec_version {} → {}", change.old, change.new),
        ));
    }
    target_lines(out, &diff, staged.targets.len());
    if let Some(delegations) = &diff.delegations {
        let lookup = KeyLookup {
            old: delegation_keys(published),
            new: delegation_keys(Some(staged)),
        };
        delegation_lines(out, delegations, &lookup);
    } else if let Some(d) = &staged.delegations {
        out.push(line(
            Tone::Plain,
            format!(
                "delegations: unchanged ({} key(s), {})",
                d.keys.len(),
                match &d.roles {
                    tuf_metadata::DelegatedRoles::Listed(r) => format!("{} role(s)", r.len()),
                    tuf_metadata::DelegatedRoles::Succinct(s) =>
                        format!("{} hash bins", s.bin_count()),
                }
            ),
        ));
    }
    for change in &diff.unknown_fields {
        out.push(line(
            Tone::Warning,
            format!("field {}", field_words(change)),
        ));
    }
}

fn version_lines(out: &mut Vec<ReviewLine>, diff: &TargetsDiff) {
    match diff.previous {
        None => {
            out.push(line(
                Tone::Plain,
                format!("version {} (none published before)", diff.version),
            ));
            out.push(line(
                Tone::Warning,
                "a first version: nothing published to compare with; everything below is new",
            ));
            if diff.version > 1 {
                // Versions before this one exist, but the stick does not
                // carry the one in force: the change cannot be shown.
                out.push(line(
                    Tone::Warning,
                    format!(
                        "WARNING: version {} follows a version the stick does not carry: what changes cannot be shown; ask for a bundle made by `tuf-repo stage`, which carries it",
                        diff.version
                    ),
                ));
            }
        }
        Some(old) if diff.is_rollback() => out.push(line(
            Tone::Removed,
            format!(
                "version {old} → {}: NOT NEWER than the published version {old} (a rollback or replay; clients will refuse it)",
                diff.version
            ),
        )),
        Some(old) => out.push(line(
            Tone::Plain,
            format!("version {old} → {}", diff.version),
        )),
    }
}

fn target_lines(out: &mut Vec<ReviewLine>, diff: &TargetsDiff, listed: usize) {
    let (added, removed, changed) = diff.target_counts();
    out.push(line(
        Tone::Heading,
        format!("targets: {added} added, {removed} removed, {changed} changed ({listed} listed)"),
    ));
    for change in &diff.targets {
        match change {
            TargetChange::Added { path, file } => {
                out.push(line(Tone::Added, format!("  + added   {path}")));
                file_lines(out, Tone::Added, file);
            }
            TargetChange::Removed { path, file } => {
                out.push(line(Tone::Removed, format!("  - removed {path}")));
                file_lines(out, Tone::Removed, file);
            }
            TargetChange::Changed {
                path,
                new,
                length,
                hashes,
                fields,
            } => {
                if hashes.is_empty() {
                    out.push(line(Tone::Plain, format!("  ~ changed {path}")));
                } else {
                    out.push(line(
                        Tone::Warning,
                        format!("  ~ changed {path}: WARNING: same path, new content"),
                    ));
                }
                match length {
                    Some(Change { old, new }) => {
                        out.push(line(Tone::Warning, format!("      length {old} → {new}")))
                    }
                    None => out.push(line(Tone::Plain, format!("      length {}", new.length))),
                }
                for hash in hashes {
                    let was = hash.old.as_deref().unwrap_or("(absent)");
                    out.push(line(Tone::Removed, format!("      {} was", hash.algorithm)));
                    digest_rows(out, Tone::Removed, was);
                    out.push(line(Tone::Warning, format!("      {} now", hash.algorithm)));
                    digest_rows(
                        out,
                        Tone::Warning,
                        hash.new.as_deref().unwrap_or("(absent)"),
                    );
                }
                for change in fields {
                    out.push(line(
                        Tone::Warning,
                        format!("      {}", field_words(change)),
                    ));
                }
            }
        }
    }
}

/// Length, then each hash in groups of four (SHA-256 first, as read aloud).
fn file_lines(out: &mut Vec<ReviewLine>, tone: Tone, file: &TargetFile) {
    out.push(line(tone, format!("      length {}", file.length)));
    let mut algorithms: Vec<&String> = file.hashes.keys().collect();
    algorithms.sort_by_key(|a| (a.as_str() != "sha256", a.as_str()));
    for alg in algorithms {
        out.push(line(tone, format!("      {alg}")));
        digest_rows(out, tone, &file.hashes[alg]);
    }
    for (name, value) in &file.unrecognized {
        out.push(line(
            tone,
            format!("      {name} {}", super::show_value(value)),
        ));
    }
}

fn digest_rows(out: &mut Vec<ReviewLine>, tone: Tone, hex: &str) {
    for row in grouped_digest(hex) {
        out.push(line(tone, format!("        {row}")));
    }
}

fn delegation_keys(targets: Option<&Targets>) -> Option<&BTreeMap<KeyId, Key>> {
    targets
        .and_then(|t| t.delegations.as_ref())
        .map(|d| &d.keys)
}

/// The key objects of both versions' delegations, to name a key id's type.
struct KeyLookup<'a> {
    old: Option<&'a BTreeMap<KeyId, Key>>,
    new: Option<&'a BTreeMap<KeyId, Key>>,
}

impl KeyLookup<'_> {
    /// `abcd1234 ed25519` from whichever version lists the key.
    fn words(&self, id: &str) -> String {
        let key = self
            .new
            .and_then(|k| k.get(id))
            .or_else(|| self.old.and_then(|k| k.get(id)));
        match key {
            Some(key) => key_type(id, key),
            None => format!("{} (no key object!)", short_id(id)),
        }
    }
}

/// `abcd1234 ecdsa-sha2-nistp256`, with the scheme when it differs.
fn key_type(id: &str, key: &Key) -> String {
    if key.keytype == key.scheme {
        format!("{} {}", short_id(id), key.keytype)
    } else {
        format!("{} {} ({})", short_id(id), key.keytype, key.scheme)
    }
}

fn delegation_lines(out: &mut Vec<ReviewLine>, d: &DelegationsDiff, keys: &KeyLookup) {
    let (mut added, mut removed, mut changed) = (0, 0, 0);
    for role in &d.roles {
        match role {
            RoleChange::Added(_) => added += 1,
            RoleChange::Removed(_) => removed += 1,
            RoleChange::Changed(_) => changed += 1,
        }
    }
    out.push(line(
        Tone::Heading,
        format!(
            "delegations: keys {} added, {} removed; roles {added} added, {removed} removed, {changed} changed",
            d.keys_added.len(),
            d.keys_removed.len()
        ),
    ));
    for (id, key) in &d.keys_added {
        out.push(line(Tone::Added, format!("  + key {}", key_type(id, key))));
    }
    for (id, key) in &d.keys_removed {
        out.push(line(
            Tone::Removed,
            format!("  - key {}", key_type(id, key)),
        ));
    }
    for id in &d.keys_changed {
        out.push(line(
            Tone::Warning,
            format!(
                "  WARNING: key {} keeps its id but its content changes",
                short_id(id)
            ),
        ));
    }
    for role in &d.roles {
        match role {
            RoleChange::Added(role) => added_role(out, Tone::Added, "+ role", role, keys),
            RoleChange::Removed(role) => added_role(out, Tone::Removed, "- role", role, keys),
            RoleChange::Changed(role) => changed_role(out, role, keys),
        }
    }
    if let Some(s) = &d.succinct {
        succinct_lines(out, s, keys);
    }
    for change in &d.unknown_fields {
        out.push(line(
            Tone::Warning,
            format!("  field {}", field_words(change)),
        ));
    }
}

fn scope_words(scope: &RoleScope) -> String {
    format!("{} {}", scope_kind(scope), scope_items(scope).join(", "))
}

fn wildcards(scope: &RoleScope, items: &[String]) -> Vec<String> {
    match scope {
        RoleScope::Paths(_) => items.iter().filter(|p| is_wildcard(p)).cloned().collect(),
        RoleScope::HashPrefixes(_) => items.iter().filter(|p| p.is_empty()).cloned().collect(),
    }
}

fn added_role(
    out: &mut Vec<ReviewLine>,
    tone: Tone,
    sign: &str,
    role: &DelegatedRole,
    keys: &KeyLookup,
) {
    out.push(line(
        tone,
        format!(
            "  {sign} {}: threshold {} of {} key(s), terminating {}",
            role.name,
            role.keys.threshold,
            role.keys.keyids.len(),
            role.terminating
        ),
    ));
    for id in &role.keys.keyids {
        out.push(line(tone, format!("      key {}", keys.words(id))));
    }
    out.push(line(tone, format!("      {}", scope_words(&role.scope))));
    if tone == Tone::Added {
        for pattern in wildcards(&role.scope, scope_items(&role.scope)) {
            out.push(line(
                Tone::Warning,
                format!(
                    "      WARNING: {pattern:?} makes it trusted for every target at its depth"
                ),
            ));
        }
    }
}

fn changed_role(out: &mut Vec<ReviewLine>, role: &RoleDiff, keys: &KeyLookup) {
    let mut why = Vec::new();
    if role.keys_change() {
        why.push("signed by other keys now");
    }
    if role.widens() {
        why.push("trusted for more paths");
    }
    let head = format!(
        "  ~ role {}: threshold {} of {} key(s), terminating {}",
        role.name,
        role.new.keys.threshold,
        role.new.keys.keyids.len(),
        role.new.terminating
    );
    if why.is_empty() {
        out.push(line(Tone::Plain, head));
    } else {
        out.push(line(
            Tone::Warning,
            format!("{head}: WARNING: {}", why.join(", ")),
        ));
    }
    for id in &role.keyids_added {
        out.push(line(
            Tone::Warning,
            format!("      + key {}", keys.words(id)),
        ));
    }
    for id in &role.keyids_removed {
        out.push(line(
            Tone::Removed,
            format!("      - key {}", keys.words(id)),
        ));
    }
    if let Some(c) = &role.threshold {
        out.push(line(
            Tone::Warning,
            format!("      threshold {} → {}", c.old, c.new),
        ));
    }
    if let Some(scope) = &role.scope {
        if scope_kind(&scope.old) != scope_kind(&scope.new) {
            out.push(line(
                Tone::Warning,
                format!(
                    "      {} → {}",
                    scope_words(&scope.old),
                    scope_words(&scope.new)
                ),
            ));
        } else {
            let kind = scope_kind(&scope.new);
            for item in &scope.added {
                out.push(line(Tone::Warning, format!("      + {kind} {item}")));
            }
            for item in &scope.removed {
                out.push(line(Tone::Removed, format!("      - {kind} {item}")));
            }
        }
        for pattern in wildcards(&scope.new, &scope.added) {
            out.push(line(
                Tone::Warning,
                format!(
                    "      WARNING: {pattern:?} makes it trusted for every target at its depth"
                ),
            ));
        }
    }
    if let Some(c) = &role.terminating {
        out.push(line(
            Tone::Warning,
            format!("      terminating {} → {}", c.old, c.new),
        ));
    }
    if let Some(c) = &role.position {
        out.push(line(
            Tone::Warning,
            format!(
                "      searched {} → {} in order (the first match wins)",
                c.old + 1,
                c.new + 1
            ),
        ));
    }
    for change in &role.unknown_fields {
        out.push(line(
            Tone::Warning,
            format!("      field {}", field_words(change)),
        ));
    }
}

fn bins_words(s: &SuccinctRoles) -> String {
    format!(
        "{}-* ({} bins, bit_length {}), threshold {} of {} key(s)",
        s.name_prefix,
        s.bin_count(),
        s.bit_length,
        s.keys.threshold,
        s.keys.keyids.len()
    )
}

fn succinct_lines(out: &mut Vec<ReviewLine>, s: &SuccinctDiff, keys: &KeyLookup) {
    match (&s.old, &s.new) {
        (None, Some(new)) => {
            out.push(line(
                Tone::Added,
                format!("  + hash bins {}", bins_words(new)),
            ));
            for id in &new.keys.keyids {
                out.push(line(Tone::Added, format!("      key {}", keys.words(id))));
            }
            return;
        }
        (Some(old), None) => {
            out.push(line(
                Tone::Removed,
                format!("  - hash bins {}", bins_words(old)),
            ));
            return;
        }
        (Some(_), Some(new)) => {
            let head = format!("  ~ hash bins {}", bins_words(new));
            if s.keyids_added.is_empty() {
                out.push(line(Tone::Plain, head));
            } else {
                out.push(line(
                    Tone::Warning,
                    format!("{head}: WARNING: signed by other keys now"),
                ));
            }
        }
        (None, None) => return,
    }
    if let Some(c) = &s.bit_length {
        out.push(line(
            Tone::Warning,
            format!(
                "      bit_length {} → {} ({} → {} bins)",
                c.old,
                c.new,
                1u64 << c.old,
                1u64 << c.new
            ),
        ));
    }
    if let Some(c) = &s.name_prefix {
        out.push(line(
            Tone::Warning,
            format!("      name_prefix {} → {}", c.old, c.new),
        ));
    }
    for id in &s.keyids_added {
        out.push(line(
            Tone::Warning,
            format!("      + key {}", keys.words(id)),
        ));
    }
    for id in &s.keyids_removed {
        out.push(line(
            Tone::Removed,
            format!("      - key {}", keys.words(id)),
        ));
    }
    if let Some(c) = &s.threshold {
        out.push(line(
            Tone::Warning,
            format!("      threshold {} → {}", c.old, c.new),
        ));
    }
    for change in &s.unknown_fields {
        out.push(line(
            Tone::Warning,
            format!("      field {}", field_words(change)),
        ));
    }
}

#[cfg(test)]
#[path = "targets_tests.rs"]
mod tests;
