//! The trusted set on its own: bytes in, trusted state out, no files.

use std::collections::BTreeMap;

use time::macros::datetime;
use tuf_metadata::testing::{TestKey, file_bytes, root, signed};
use tuf_metadata::{
    Common, DelegatedRole, DelegatedRoles, Delegations, Expires, MetaFile, Object, RoleKeys,
    RoleScope, Snapshot, Targets, Timestamp,
};

use super::*;

const NOW: OffsetDateTime = datetime!(2030-01-01 0:00 UTC);
const FAR: &str = "2100-01-01T00:00:00Z";
const PAST: &str = "2020-01-01T00:00:00Z";

fn common(version: u64, expires: &str) -> Common {
    Common {
        spec_version: "1.0.31".into(),
        version,
        expires: Expires::parse(expires).unwrap(),
    }
}

fn entry(version: u64, bytes: Option<&[u8]>) -> MetaFile {
    MetaFile {
        version,
        length: bytes.map(|b| b.len() as u64),
        hashes: bytes.map(|b| {
            BTreeMap::from([(
                "sha512".to_owned(),
                tuf_metadata::files::digest_hex("sha512", b).unwrap(),
            )])
        }),
        unrecognized: Object::new(),
    }
}

fn timestamp(version: u64, snapshot: MetaFile, expires: &str, key: &TestKey) -> Vec<u8> {
    let part = Timestamp {
        common: common(version, expires),
        snapshot,
        unrecognized: Object::new(),
    };
    file_bytes(&signed(part, &[key]))
}

fn snapshot(version: u64, meta: &[(&str, u64)], expires: &str, key: &TestKey) -> Vec<u8> {
    let part = Snapshot {
        common: common(version, expires),
        meta: meta
            .iter()
            .map(|(name, v)| (format!("{name}.json"), entry(*v, None)))
            .collect(),
        unrecognized: Object::new(),
    };
    file_bytes(&signed(part, &[key]))
}

fn targets(version: u64, delegations: Option<Delegations>, key: &TestKey) -> Vec<u8> {
    let part = Targets {
        common: common(version, FAR),
        targets: BTreeMap::new(),
        delegations,
        unrecognized: Object::new(),
    };
    file_bytes(&signed(part, &[key]))
}

/// A set trusting root v1, whose every role is held by `key`.
fn set(key: &TestKey, freshness: Freshness) -> TrustedSet {
    let root = signed(root(1, &[key], 1, FAR), &[key]);
    TrustedSet::new(Path::new("root.json"), root, freshness, ChainLimits::CLIENT)
        .unwrap()
        .0
}

/// A set that trusts timestamp v1 and snapshot v1 (listing `roles` at v1).
fn through_snapshot(key: &TestKey, roles: &[&str]) -> TrustedSet {
    let mut set = set(key, Freshness::Strict);
    let meta: Vec<(&str, u64)> = roles.iter().map(|r| (*r, 1)).collect();
    let sn = snapshot(1, &meta, FAR, key);
    let ts = timestamp(1, entry(1, Some(&sn)), FAR, key);
    set.update_timestamp("timestamp.json", &ts, NOW).unwrap();
    set.update_snapshot("1.snapshot.json", &sn, NOW).unwrap();
    set
}

#[test]
fn a_root_not_signed_by_its_own_keys_is_not_a_start() {
    let key = TestKey::from_seed(1);
    let other = TestKey::from_seed(2);
    let root = signed(root(1, &[&key], 1, FAR), &[&other]);
    let err = TrustedSet::new(
        Path::new("pinned.json"),
        root,
        Freshness::Strict,
        ChainLimits::CLIENT,
    )
    .err()
    .unwrap();
    assert!(matches!(err, ClientError::UntrustedRoot { .. }), "{err}");
}

#[test]
fn root_n_plus_one_is_trusted_and_only_the_final_root_must_be_current() {
    let key = TestKey::from_seed(1);
    let mut set = set(&key, Freshness::Strict);
    let two = file_bytes(&signed(root(2, &[&key], 1, PAST), &[&key]));
    let update = set.update_root("2.root.json", &two).unwrap();
    assert!(update.by_trusted.is_met() && update.by_itself.is_met());
    assert_eq!(set.root().signed().common.version, 2);
    let err = set.check_root_expiry("2.root.json", NOW).unwrap_err();
    assert!(matches!(err, ClientError::Expired { .. }), "{err}");
    // Not N+1: refused, the trusted root stays.
    let four = file_bytes(&signed(root(4, &[&key], 1, FAR), &[&key]));
    let err = set.update_root("4.root.json", &four).unwrap_err();
    assert!(matches!(err, ClientError::RootUpdate { .. }), "{err}");
    assert_eq!(set.root().signed().common.version, 2);
}

#[test]
fn the_root_chain_stops_at_its_rotation_cap() {
    let key = TestKey::from_seed(1);
    let one = signed(root(1, &[&key], 1, FAR), &[&key]);
    let limits = ChainLimits {
        parse: Limits::ROOT,
        max_rotations: 1,
    };
    let (mut set, _) =
        TrustedSet::new(Path::new("root.json"), one, Freshness::Strict, limits).unwrap();
    assert_eq!(set.root_rotations_left(), 1);
    let two = file_bytes(&signed(root(2, &[&key], 1, FAR), &[&key]));
    set.update_root("2.root.json", &two).unwrap();
    assert_eq!(set.root_rotations_left(), 0);
    // A valid root v3, refused: the cap is reached; v2 stays trusted.
    let three = file_bytes(&signed(root(3, &[&key], 1, FAR), &[&key]));
    let err = set.update_root("3.root.json", &three).unwrap_err();
    assert!(matches!(err, ClientError::RootUpdate { .. }), "{err}");
    assert!(err.to_string().contains("3.root.json"), "{err}");
    assert_eq!(set.root().signed().common.version, 2);
}

#[test]
fn timestamp_rollback_is_refused_and_an_equal_version_keeps_the_trusted_one() {
    let key = TestKey::from_seed(1);
    let mut set = set(&key, Freshness::Strict);
    set.load_cached_timestamp("cached", &timestamp(5, entry(3, None), PAST, &key))
        .unwrap();
    let err = set
        .update_timestamp(
            "timestamp.json",
            &timestamp(4, entry(3, None), FAR, &key),
            NOW,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Rollback {
                trusted: 5,
                found: 4,
                ..
            }
        ),
        "{err}"
    );
    // Same version: the (expired) trusted one is kept, and refused (freeze).
    let err = set
        .update_timestamp(
            "timestamp.json",
            &timestamp(5, entry(3, None), FAR, &key),
            NOW,
        )
        .unwrap_err();
    assert!(matches!(err, ClientError::Expired { .. }), "{err}");
    let err = set
        .update_timestamp(
            "timestamp.json",
            &timestamp(6, entry(2, None), FAR, &key),
            NOW,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Rollback {
                trusted: 3,
                found: 2,
                ..
            }
        ),
        "{err}"
    );
    let accepted = set
        .update_timestamp(
            "timestamp.json",
            &timestamp(6, entry(3, None), FAR, &key),
            NOW,
        )
        .unwrap()
        .unwrap();
    assert!(!accepted.expired && accepted.report.is_met());
    assert_eq!(set.timestamp().unwrap().common.version, 6);
}

#[test]
fn expired_online_roles_are_kept_only_when_allowed() {
    let key = TestKey::from_seed(1);
    let sn = snapshot(1, &[("targets", 1)], PAST, &key);
    let ts = timestamp(1, entry(1, Some(&sn)), PAST, &key);
    let mut strict = set(&key, Freshness::Strict);
    let err = strict
        .update_timestamp("timestamp.json", &ts, NOW)
        .unwrap_err();
    assert!(matches!(err, ClientError::Expired { .. }), "{err}");
    assert!(strict.timestamp().is_none());

    let mut lenient = set(&key, Freshness::OnlineMayHaveExpired);
    let accepted = lenient
        .update_timestamp("timestamp.json", &ts, NOW)
        .unwrap();
    assert!(accepted.unwrap().expired);
    let accepted = lenient
        .update_snapshot("1.snapshot.json", &sn, NOW)
        .unwrap();
    assert!(accepted.expired);
    // Targets must still be current.
    let part = Targets {
        common: common(1, PAST),
        targets: BTreeMap::new(),
        delegations: None,
        unrecognized: Object::new(),
    };
    let tg = file_bytes(&signed(part, &[&key]));
    let err = lenient
        .update_targets("1.targets.json", &tg, "targets", None, NOW)
        .unwrap_err();
    assert!(matches!(err, ClientError::Expired { .. }), "{err}");
}

#[test]
fn a_snapshot_is_checked_against_the_timestamp_and_the_trusted_snapshot() {
    let key = TestKey::from_seed(1);
    let mut set = through_snapshot(&key, &["targets", "a"]);
    // The timestamp lists sha512 and length of snapshot v1; v2 is not it.
    let v2 = snapshot(2, &[("targets", 1)], FAR, &key);
    let err = set
        .update_snapshot("2.snapshot.json", &v2, NOW)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::LengthMismatch { .. } | ClientError::HashMismatch { .. }
        ),
        "{err}"
    );
    // Listed by a newer timestamp, v2 drops a.json: refused.
    let ts = timestamp(2, entry(2, None), FAR, &key);
    set.update_timestamp("timestamp.json", &ts, NOW).unwrap();
    let err = set
        .update_snapshot("2.snapshot.json", &v2, NOW)
        .unwrap_err();
    assert!(matches!(err, ClientError::RoleDropped { .. }), "{err}");
    // A wrong version (v3 where v2 is listed) is mix-and-match.
    let v3 = snapshot(3, &[("targets", 1), ("a", 1)], FAR, &key);
    let err = set
        .update_snapshot("3.snapshot.json", &v3, NOW)
        .unwrap_err();
    assert!(matches!(err, ClientError::VersionMismatch { .. }), "{err}");
    let v2 = snapshot(2, &[("targets", 2), ("a", 1)], FAR, &key);
    set.update_snapshot("2.snapshot.json", &v2, NOW).unwrap();
    assert!(set.check_snapshot_is_final("2.snapshot.json", NOW).is_ok());
}

#[test]
fn a_delegated_role_must_meet_the_threshold_of_the_delegator_at_hand() {
    let key = TestKey::from_seed(1);
    let team_key = TestKey::from_seed(2);
    let delegation = |name: &str, signer: &TestKey| Delegations {
        keys: BTreeMap::from([(signer.id(), signer.key().clone())]),
        roles: DelegatedRoles::Listed(vec![DelegatedRole {
            name: name.into(),
            keys: RoleKeys {
                keyids: vec![signer.id()],
                threshold: 1,
                unrecognized: Object::new(),
            },
            terminating: false,
            scope: RoleScope::Paths(vec!["*".into()]),
        }]),
        unrecognized: Object::new(),
    };
    let mut set = through_snapshot(&key, &["targets", "a", "b", "team"]);
    // Not yet trusted: no delegator.
    let team = targets(1, None, &team_key);
    let err = set
        .update_targets("1.team.json", &team, "team", Some("a"), NOW)
        .unwrap_err();
    assert!(matches!(err, ClientError::NotListed { .. }), "{err}");

    let top = Delegations {
        roles: DelegatedRoles::Listed(
            ["a", "b"]
                .iter()
                .map(|n| match delegation(n, &key).roles {
                    DelegatedRoles::Listed(mut r) => r.remove(0),
                    DelegatedRoles::Succinct(_) => unreachable!(),
                })
                .collect(),
        ),
        ..delegation("a", &key)
    };
    let (_, report) = set
        .update_targets(
            "1.targets.json",
            &targets(1, Some(top), &key),
            "targets",
            None,
            NOW,
        )
        .unwrap();
    assert_eq!(report.counted(), 1);
    let a = targets(1, Some(delegation("team", &team_key)), &key);
    set.update_targets("1.a.json", &a, "a", Some("targets"), NOW)
        .unwrap();
    // b delegates team to another key.
    let b = targets(1, Some(delegation("team", &key)), &key);
    set.update_targets("1.b.json", &b, "b", Some("targets"), NOW)
        .unwrap();

    set.update_targets("1.team.json", &team, "team", Some("a"), NOW)
        .unwrap();
    assert!(matches!(
        set.recheck_targets("1.team.json", "team", Some("a")),
        Some(Ok(_))
    ));
    // Trusted through a, but b's keys did not sign it.
    let err = set
        .recheck_targets("1.team.json", "team", Some("b"))
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Threshold { by, counted: 0, .. } if by == "b's delegation to team"),
        "{err}"
    );
    assert!(
        set.recheck_targets("x.json", "unknown", Some("a"))
            .is_none()
    );
}
