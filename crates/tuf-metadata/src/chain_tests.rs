//! The root-chain walker, as a keyholder would meet it: rotations with keys
//! replaced, gaps, the wrong file, a key listed twice, expiry, the cap.

use time::OffsetDateTime;
use time::macros::datetime;

use super::{ChainLimits, Failed, RootChain, walk};
use crate::json::Value;
use crate::metadata::{Limits, Metadata, Signature, Signed};
use crate::root::Root;
use crate::testing::{TestKey, file_bytes, root, signed};

const NOW: OffsetDateTime = datetime!(2026-11-21 00:00 UTC);
const LATER: &str = "2040-01-01T00:00:00Z";
const PAST: &str = "2020-01-01T00:00:00Z";

fn keys() -> [TestKey; 6] {
    [1, 2, 3, 4, 5, 6].map(TestKey::from_seed)
}

fn bytes(root: Root, signers: &[&TestKey]) -> Vec<u8> {
    file_bytes(&signed(root, signers))
}

fn parsed(bytes: &[u8]) -> Metadata<Signed> {
    Metadata::parse(bytes, &Limits::ROOT).unwrap()
}

/// v1 {a,b,c} → v2 {a,b,d} → v3 {e,b,d} → v4 {e,f,d}, threshold 2, each
/// signed by the keys of both sides that remain.
fn four_roots(k: &[TestKey; 6], expires: [&str; 4]) -> (Metadata<Root>, Vec<(String, Vec<u8>)>) {
    let [a, b, c, d, e, f] = k.each_ref();
    let v1 = signed(root(1, &[a, b, c], 2, expires[0]), &[a, b]);
    let next = vec![
        (
            "2.root.json".into(),
            bytes(root(2, &[a, b, d], 2, expires[1]), &[a, b, d]),
        ),
        (
            "3.root.json".into(),
            bytes(root(3, &[e, b, d], 2, expires[2]), &[b, d, e]),
        ),
        (
            "4.root.json".into(),
            bytes(root(4, &[e, f, d], 2, expires[3]), &[d, e, f]),
        ),
    ];
    (v1, next)
}

#[test]
fn four_roots_with_a_key_replaced_each_time_walk_to_v4() {
    let k = keys();
    let (v1, next) = four_roots(&k, [PAST, PAST, PAST, LATER]);
    let walked = walk(v1, next, ChainLimits::LOCAL, Some(NOW)).unwrap();
    assert_eq!(walked.start.counted(), 2);
    let versions: Vec<(&str, u64, u64)> = walked
        .steps
        .iter()
        .map(|(name, s)| (name.as_str(), s.from, s.version))
        .collect();
    assert_eq!(
        versions,
        [
            ("2.root.json", 1, 2),
            ("3.root.json", 2, 3),
            ("4.root.json", 3, 4)
        ]
    );
    // v3 is signed by b, d, e: two of v2's keys (b, d), three of its own.
    let step = &walked.steps[1].1;
    assert_eq!(
        (step.by_trusted.counted(), step.by_itself.counted()),
        (2, 3)
    );
    assert!(step.keyid_mismatches.is_empty());
    assert_eq!(walked.chain.version(), 4);
    assert_eq!(walked.chain.start_version(), 1);
    assert_eq!(walked.chain.rotations(), 3);
    assert_eq!(walked.chain.trusted().signed().common.version, 4);
}

#[test]
fn a_new_root_signed_only_by_its_new_keys_is_refused() {
    let k = keys();
    let [a, b, c, d, e, _] = k.each_ref();
    let v1 = signed(root(1, &[a, b, c], 2, LATER), &[a, b]);
    // v2 replaces a and b: signed by d and e only, v1's threshold is 0/2.
    let v2 = bytes(root(2, &[c, d, e], 2, LATER), &[d, e]);
    let err = walk(v1, [("2.root.json", v2)], ChainLimits::LOCAL, Some(NOW)).unwrap_err();
    assert_eq!(err.error.code(), "threshold-not-met");
    assert!(
        err.to_string()
            .starts_with("2.root.json: root v1's root threshold not met: 0/2"),
        "{err}"
    );
}

#[test]
fn a_skipped_version_is_refused_and_the_chain_stays_at_n() {
    let k = keys();
    let [a, b, ..] = k.each_ref();
    let v1 = signed(root(1, &[a, b], 1, LATER), &[a]);
    let v3 = bytes(root(3, &[a, b], 1, LATER), &[a, b]);
    let (mut chain, _) = RootChain::from_trusted(v1.clone(), ChainLimits::LOCAL).unwrap();
    let err = chain.advance(parsed(&v3)).unwrap_err();
    assert_eq!(err.code(), "version-not-successor");
    assert_eq!(chain.version(), 1);
    // The right successor is still accepted after the refusal.
    let v2 = bytes(root(2, &[a, b], 1, LATER), &[a]);
    assert_eq!(chain.advance_bytes(&v2).unwrap().version, 2);

    let err = walk(v1, [("3.root.json", v3)], ChainLimits::LOCAL, None).unwrap_err();
    assert_eq!(
        err.failed,
        Failed::Next {
            index: 0,
            name: "3.root.json".into()
        }
    );
    assert!(err.steps.is_empty());
}

#[test]
fn a_targets_file_in_place_of_a_root_is_refused() {
    let k = keys();
    let a = &k[0];
    let v1 = signed(root(1, &[a], 1, LATER), &[a]);
    let targets =
        br#"{"signatures":[],"signed":{"_type":"targets","spec_version":"1.0","version":2,
        "expires":"2040-01-01T00:00:00Z","targets":{}}}"#;
    let (mut chain, _) = RootChain::from_trusted(v1, ChainLimits::LOCAL).unwrap();
    let err = chain.advance_bytes(targets).unwrap_err();
    assert_eq!(err.code(), "unexpected-type");
    assert_eq!(err.to_string(), "expected root metadata, found targets");
    // As the trusted start, it does not even parse as a root.
    let err = RootChain::from_trusted_bytes(targets, ChainLimits::LOCAL).unwrap_err();
    assert_eq!(err.code(), "unexpected-type");
}

#[test]
fn one_key_under_two_key_ids_counts_once() {
    let k = keys();
    let [a, b, ..] = k.each_ref();
    let v1 = signed(root(1, &[a, b], 2, LATER), &[a, b]);
    // v2 lists a's public key a second time, under another key id.
    let mut twin = a.key().clone();
    twin.unrecognized.insert("x-twin".into(), Value::Int(1));
    let twin_id = twin.key_id();
    assert_ne!(twin_id, a.id());
    let mut v2 = root(2, &[a, b], 2, LATER);
    v2.keys.insert(twin_id.clone(), twin);
    v2.roles.get_mut("root").unwrap().keyids = vec![a.id(), twin_id.clone()];
    let mut v2 = signed(v2, &[a, b]);
    let again = Signature {
        keyid: twin_id,
        sig: hex::encode(a.sign_bytes(v2.signed_bytes())),
        unrecognized: crate::json::Object::new(),
    };
    v2.set_signature(again);
    let err = walk(
        v1,
        [("2.root.json", file_bytes(&v2))],
        ChainLimits::LOCAL,
        None,
    )
    .unwrap_err();
    assert_eq!(err.error.code(), "threshold-not-met");
    let text = err.to_string();
    assert!(
        text.contains("root v2's own root threshold not met: 1/2"),
        "{text}"
    );
    assert!(text.contains("counted once"), "{text}");
}

#[test]
fn a_trusted_root_below_its_own_threshold_is_refused() {
    let k = keys();
    let [a, b, ..] = k.each_ref();
    let v1 = signed(root(1, &[a, b], 2, LATER), &[a]);
    let err = walk(
        v1,
        Vec::<(String, Vec<u8>)>::new(),
        ChainLimits::LOCAL,
        None,
    )
    .unwrap_err();
    assert_eq!(err.failed, Failed::Trusted);
    assert_eq!(err.error.code(), "threshold-not-met");
    assert!(
        err.to_string()
            .starts_with("trusted root: root v1's own threshold not met: 1/2"),
        "{err}"
    );
}

#[test]
fn only_the_last_root_must_be_unexpired() {
    let k = keys();
    // v1..v3 expired long ago, v4 current: accepted at NOW.
    let (v1, next) = four_roots(&k, [PAST, PAST, PAST, LATER]);
    assert!(walk(v1, next, ChainLimits::LOCAL, Some(NOW)).is_ok());

    // The last one expired: refused, naming it, with the steps before kept.
    let (v1, next) = four_roots(&k, [LATER, LATER, LATER, PAST]);
    let err = walk(v1.clone(), next.clone(), ChainLimits::LOCAL, Some(NOW)).unwrap_err();
    assert_eq!(err.error.code(), "expired");
    assert_eq!(
        err.failed,
        Failed::Next {
            index: 2,
            name: "4.root.json".into()
        }
    );
    assert_eq!(err.steps.len(), 3);
    // Without a time, expiry is not checked at all.
    assert!(walk(v1, next, ChainLimits::LOCAL, None).is_ok());

    // A trusted root alone is the last root.
    let a = &k[0];
    let old = signed(root(1, &[a], 1, PAST), &[a]);
    let err = walk(
        old,
        Vec::<(String, Vec<u8>)>::new(),
        ChainLimits::LOCAL,
        Some(NOW),
    )
    .unwrap_err();
    assert_eq!((err.failed, err.error.code()), (Failed::Trusted, "expired"));
}

#[test]
fn the_cap_on_rotations_stops_a_walk() {
    let k = keys();
    let (v1, next) = four_roots(&k, [LATER; 4]);
    let two = ChainLimits {
        max_rotations: 2,
        ..ChainLimits::LOCAL
    };
    let err = walk(v1.clone(), next.clone(), two, None).unwrap_err();
    assert_eq!(err.error.code(), "too-many-rotations");
    assert_eq!(
        err.failed,
        Failed::Next {
            index: 2,
            name: "4.root.json".into()
        }
    );
    assert_eq!(err.steps.len(), 2);

    let (mut chain, _) = RootChain::from_trusted(v1, two).unwrap();
    assert_eq!(chain.remaining(), 2);
    chain.advance_bytes(&next[0].1).unwrap();
    assert_eq!(chain.remaining(), 1);
    chain.advance_bytes(&next[1].1).unwrap();
    assert_eq!(chain.remaining(), 0);
    let err = chain.advance(parsed(&next[2].1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "more than 2 root rotations in one walk; refused"
    );
    assert_eq!(chain.version(), 3);
    assert_eq!(ChainLimits::CLIENT.max_rotations, 256);
}

#[test]
fn key_id_mismatches_of_the_newest_root_are_reported() {
    let k = keys();
    let a = &k[0];
    let mut r = root(1, &[a], 1, LATER);
    let key = r.keys.remove(&a.id()).unwrap();
    let dishonest = "ab".repeat(32);
    r.keys.insert(dishonest.clone(), key);
    r.roles
        .values_mut()
        .for_each(|role| role.keyids = vec![dishonest.clone()]);
    let mut md = Metadata::new(r);
    md.set_signature(Signature {
        keyid: dishonest.clone(),
        sig: hex::encode(a.sign_bytes(md.signed_bytes())),
        unrecognized: crate::json::Object::new(),
    });
    let (chain, report) = RootChain::from_trusted(md, ChainLimits::LOCAL).unwrap();
    assert_eq!(report.counted(), 1);
    assert_eq!(chain.keyid_mismatches(), [(dishonest, a.id())]);
}
