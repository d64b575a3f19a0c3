use super::*;
use crate::json::Value;
use crate::root::Common;
use crate::testing::TestKey;
use crate::{Expires, Object};

fn file(length: u64, sha256: &str) -> TargetFile {
    TargetFile {
        length,
        hashes: [("sha256".to_owned(), sha256.repeat(64 / sha256.len()))].into(),
        unrecognized: Object::new(),
    }
}

fn targets(version: u64, expires: &str, files: &[(&str, TargetFile)]) -> Targets {
    Targets {
        common: Common {
            spec_version: "1.0.31".into(),
            version,
            expires: Expires::parse(expires).unwrap(),
        },
        targets: files
            .iter()
            .map(|(p, f)| ((*p).to_owned(), f.clone()))
            .collect(),
        delegations: None,
        unrecognized: Object::new(),
    }
}

fn role(name: &str, keys: &[&TestKey], paths: &[&str]) -> DelegatedRole {
    DelegatedRole {
        name: name.into(),
        keys: RoleKeys {
            keyids: keys.iter().map(|k| k.id()).collect(),
            threshold: 1,
            unrecognized: Object::new(),
        },
        terminating: false,
        scope: RoleScope::Paths(paths.iter().map(|p| (*p).to_owned()).collect()),
    }
}

fn delegating(mut t: Targets, keys: &[&TestKey], roles: DelegatedRoles) -> Targets {
    t.delegations = Some(Delegations {
        keys: keys.iter().map(|k| (k.id(), k.key().clone())).collect(),
        roles,
        unrecognized: Object::new(),
    });
    t
}

const EXP: &str = "2030-01-01T00:00:00Z";

#[test]
fn a_first_targets_lists_everything_as_added() {
    let new = targets(
        1,
        EXP,
        &[("a.tgz", file(3, "ab")), ("b.tgz", file(4, "cd"))],
    );
    let diff = diff_targets(None, &new);
    assert_eq!(diff.previous, None);
    assert_eq!(diff.version, 1);
    assert_eq!(diff.expires, None);
    assert_eq!(diff.target_counts(), (2, 0, 0));
    assert!(!diff.is_rollback());
}

#[test]
fn added_removed_and_changed_targets_are_told_apart() {
    let old = targets(
        1,
        EXP,
        &[
            ("keep", file(1, "11")),
            ("gone", file(2, "22")),
            ("swap", file(3, "33")),
        ],
    );
    let mut swapped = file(4, "44");
    swapped.hashes.insert("sha512".into(), "55".repeat(64));
    swapped.unrecognized.insert(
        "custom".into(),
        Value::Object([("owner".to_owned(), Value::from("mallory"))].into()),
    );
    let new = targets(
        2,
        "2031-01-01T00:00:00Z",
        &[
            ("keep", file(1, "11")),
            ("swap", swapped),
            ("new", file(9, "99")),
        ],
    );
    let diff = diff_targets(Some(&old), &new);
    assert_eq!(diff.previous, Some(1));
    assert_eq!(
        diff.expires,
        Some(Change {
            old: EXP.into(),
            new: "2031-01-01T00:00:00Z".into()
        })
    );
    assert_eq!(diff.target_counts(), (1, 1, 1));
    let paths: Vec<&str> = diff.targets.iter().map(TargetChange::path).collect();
    assert_eq!(paths, ["gone", "new", "swap"]);
    let TargetChange::Changed {
        length,
        hashes,
        fields,
        ..
    } = &diff.targets[2]
    else {
        panic!("{:?}", diff.targets[2]);
    };
    assert_eq!(length, &Some(Change { old: 3, new: 4 }));
    assert_eq!(hashes.len(), 2);
    assert_eq!(hashes[0].algorithm, "sha256");
    assert_eq!(hashes[0].old.as_deref(), Some("33".repeat(32).as_str()));
    assert_eq!(hashes[1].algorithm, "sha512");
    assert_eq!(hashes[1].old, None);
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].path, "custom");
    assert_eq!(fields[0].old, None);
}

#[test]
fn a_custom_field_change_alone_is_field_level() {
    let mut a = file(1, "11");
    a.unrecognized.insert(
        "custom".into(),
        Value::Object([("tier".to_owned(), Value::from("beta"))].into()),
    );
    let mut b = a.clone();
    b.unrecognized.insert(
        "custom".into(),
        Value::Object([("tier".to_owned(), Value::from("stable"))].into()),
    );
    let diff = diff_targets(
        Some(&targets(1, EXP, &[("t", a)])),
        &targets(2, EXP, &[("t", b)]),
    );
    let TargetChange::Changed {
        hashes,
        fields,
        length,
        ..
    } = &diff.targets[0]
    else {
        panic!("{diff:?}");
    };
    assert!(hashes.is_empty() && length.is_none());
    assert_eq!(fields[0].path, "custom.tier");
    assert_eq!(fields[0].new, Some(Value::from("stable")));
}

#[test]
fn a_version_that_does_not_move_forward_is_a_rollback() {
    let old = targets(5, EXP, &[]);
    assert!(diff_targets(Some(&old), &targets(5, EXP, &[])).is_rollback());
    assert!(diff_targets(Some(&old), &targets(4, EXP, &[])).is_rollback());
    let forward = diff_targets(Some(&old), &targets(6, EXP, &[]));
    assert!(!forward.is_rollback());
    assert!(forward.only_renewed());
}

#[test]
fn a_delegation_re_pointed_to_another_key_and_widened_is_spelled_out() {
    let alice = TestKey::from_seed(1);
    let mallory = TestKey::from_seed(9);
    let old = delegating(
        targets(1, EXP, &[]),
        &[&alice],
        DelegatedRoles::Listed(vec![role("project-x", &[&alice], &["project-x/*"])]),
    );
    let mut evil = role("project-x", &[&mallory], &["*"]);
    evil.terminating = true;
    let new = delegating(
        targets(2, EXP, &[]),
        &[&mallory],
        DelegatedRoles::Listed(vec![evil]),
    );
    let diff = diff_targets(Some(&old), &new);
    let d = diff.delegations.expect("delegations differ");
    assert_eq!(d.keys_added.len(), 1);
    assert_eq!(d.keys_added[0].0, mallory.id());
    assert_eq!(d.keys_removed[0].0, alice.id());
    let [RoleChange::Changed(r)] = d.roles.as_slice() else {
        panic!("{:?}", d.roles);
    };
    assert_eq!(r.keyids_added, vec![mallory.id()]);
    assert_eq!(r.keyids_removed, vec![alice.id()]);
    assert!(r.keys_change());
    assert!(r.widens());
    let scope = r.scope.as_ref().unwrap();
    assert_eq!(scope.added, ["*"]);
    assert_eq!(scope.removed, ["project-x/*"]);
    assert_eq!(
        r.terminating,
        Some(Change {
            old: false,
            new: true
        })
    );
    assert_eq!(r.position, None);
    assert!(is_wildcard("*") && is_wildcard("*/*") && !is_wildcard("a/*"));
}

#[test]
fn roles_added_removed_narrowed_and_reordered() {
    let k = TestKey::from_seed(2);
    let old = delegating(
        targets(1, EXP, &[]),
        &[&k],
        DelegatedRoles::Listed(vec![
            role("a", &[&k], &["a/*", "b/*"]),
            role("b", &[&k], &["b/*"]),
            role("gone", &[&k], &["g/*"]),
        ]),
    );
    let mut hashed = role("new", &[&k], &[]);
    hashed.scope = RoleScope::HashPrefixes(vec!["8".into()]);
    let new = delegating(
        targets(2, EXP, &[]),
        &[&k],
        DelegatedRoles::Listed(vec![
            role("b", &[&k], &["b/*"]),
            role("a", &[&k], &["a/*"]),
            hashed,
        ]),
    );
    let d = diff_targets(Some(&old), &new).delegations.unwrap();
    assert!(d.keys_added.is_empty() && d.keys_removed.is_empty());
    assert_eq!(d.roles.len(), 4, "{:?}", d.roles);
    let RoleChange::Changed(b) = &d.roles[0] else {
        panic!()
    };
    assert_eq!(
        (b.name.as_str(), b.position.clone()),
        ("b", Some(Change { old: 1, new: 0 }))
    );
    assert!(b.scope.is_none() && !b.widens());
    let RoleChange::Changed(a) = &d.roles[1] else {
        panic!()
    };
    assert!(!a.widens(), "narrowed, not widened");
    assert_eq!(a.scope.as_ref().unwrap().removed, ["b/*"]);
    assert!(matches!(&d.roles[2], RoleChange::Added(r) if r.name == "new"));
    assert!(matches!(&d.roles[3], RoleChange::Removed(r) if r.name == "gone"));
}

#[test]
fn succinct_bin_parameters_are_compared() {
    let k = TestKey::from_seed(3);
    let other = TestKey::from_seed(4);
    let bins = |bits: u32, prefix: &str, key: &TestKey, threshold: u64| {
        DelegatedRoles::Succinct(SuccinctRoles {
            keys: RoleKeys {
                keyids: vec![key.id()],
                threshold,
                unrecognized: Object::new(),
            },
            bit_length: bits,
            name_prefix: prefix.into(),
        })
    };
    let old = delegating(targets(1, EXP, &[]), &[&k], bins(8, "bin", &k, 1));
    let same = delegating(targets(2, EXP, &[]), &[&k], bins(8, "bin", &k, 1));
    assert_eq!(diff_targets(Some(&old), &same).delegations, None);
    let new = delegating(targets(2, EXP, &[]), &[&other], bins(14, "b", &other, 2));
    let d = diff_targets(Some(&old), &new).delegations.unwrap();
    let s = d.succinct.unwrap();
    assert_eq!(s.bit_length, Some(Change { old: 8, new: 14 }));
    assert_eq!(
        s.name_prefix,
        Some(Change {
            old: "bin".into(),
            new: "b".into()
        })
    );
    assert_eq!(s.keyids_added, vec![other.id()]);
    assert_eq!(s.keyids_removed, vec![k.id()]);
    assert_eq!(s.threshold, Some(Change { old: 1, new: 2 }));
    assert!(d.roles.is_empty());
}

#[test]
fn unknown_fields_of_signed_and_delegations_are_reported() {
    let k = TestKey::from_seed(5);
    let old = delegating(targets(1, EXP, &[]), &[&k], DelegatedRoles::Listed(vec![]));
    let mut new = old.clone();
    new.common.version = 2;
    new.unrecognized.insert("x-note".into(), Value::from("hi"));
    new.delegations
        .as_mut()
        .unwrap()
        .unrecognized
        .insert("x-extra".into(), Value::Bool(true));
    let diff = diff_targets(Some(&old), &new);
    assert_eq!(diff.unknown_fields[0].path, "signed.x-note");
    let d = diff.delegations.unwrap();
    assert_eq!(d.unknown_fields[0].path, "signed.delegations.x-extra");
}
