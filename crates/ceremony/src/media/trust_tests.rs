//! Tests of `trust.rs`: sticks built in temporary directories.

use std::collections::BTreeMap;

use tuf_metadata::testing::{TestKey, file_bytes, root, signed};
use tuf_metadata::{
    Common, DelegatedRole, DelegatedRoles, Delegations, Expires, Object, RoleKeys, RoleScope,
};

use super::*;
use crate::media::layout::tests::{item, manifest_bytes, write};
use crate::media::recognise;

const LATER: &str = "2030-01-01T00:00:00Z";

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap() // 2026-11
}

fn keys() -> Vec<TestKey> {
    (0..=9).map(TestKey::from_seed).collect()
}

/// Root v: key k[v], threshold 1, signed by k[v-1] (the rotation) and k[v].
fn history_root(k: &[TestKey], v: u64, expires: &str) -> Metadata<Root> {
    let own = &k[v as usize];
    let prev = &k[(v - 1).max(1) as usize];
    signed(root(v, &[own], 1, expires), &[prev, own])
}

fn unsigned_root(k: &[TestKey], v: u64) -> Metadata<Root> {
    signed(root(v, &[&k[v as usize]], 1, LATER), &[])
}

fn targets(version: u64, delegate_to: Option<(&str, &TestKey)>) -> Targets {
    Targets {
        common: Common {
            spec_version: "1.0.31".into(),
            version,
            expires: Expires::parse(LATER).unwrap(),
        },
        targets: BTreeMap::new(),
        delegations: delegate_to.map(|(name, key)| Delegations {
            keys: [(key.id(), key.key().clone())].into_iter().collect(),
            roles: DelegatedRoles::Listed(vec![DelegatedRole {
                name: name.into(),
                keys: RoleKeys {
                    keyids: vec![key.id()],
                    threshold: 1,
                    unrecognized: Object::new(),
                },
                terminating: false,
                scope: RoleScope::Paths(vec!["*".into()]),
            }]),
            unrecognized: Object::new(),
        }),
        unrecognized: Object::new(),
    }
}

/// A bundle stick: history 1..=n (each `history_root`), staged root n+1.
fn bundle_stick(dir: &Path, k: &[TestKey], n: u64, staged: &Metadata<Root>) {
    let b = dir.join("tuf-ceremony");
    for v in 1..=n {
        write(
            &b.join(format!("repository/{v}.root.json")),
            &file_bytes(&history_root(k, v, LATER)),
        );
    }
    write(&b.join("staged/root.json"), &file_bytes(staged));
    write(
        &b.join("manifest.json"),
        &manifest_bytes(vec![item(
            "staged/root.json",
            "root",
            &staged.signed_digest(),
        )]),
    );
}

fn load_dir(dir: &Path, pinned: Option<&[u8]>) -> Result<Loaded, MediaError> {
    load(&recognise(dir).unwrap(), pinned, now())
}

#[test]
fn a_bundle_with_history_1_to_3_establishes_root_v3_and_stages_v4() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    bundle_stick(tmp.path(), &k, 3, &unsigned_root(&k, 4));
    let loaded = load_dir(tmp.path(), None).unwrap();
    let trusted = loaded.trusted.as_ref().unwrap();
    assert_eq!(trusted.version, 3);
    assert_eq!(trusted.chain, [1, 2, 3]);
    assert_eq!(trusted.display, "tuf-ceremony/repository/3.root.json");
    assert!(!trusted.pinned && !trusted.expired);
    assert_eq!(
        trusted.canonical_sha256,
        history_root(&k, 3, LATER).signed_digest()
    );
    let file = &loaded.files[0];
    assert_eq!(
        (file.version, file.anchor.clone()),
        (4, AnchorKind::Trusted)
    );
    assert_eq!(file.expires, LATER);
    let digests = loaded.file_digests();
    assert_eq!(digests.len(), 4, "three history roots and the staged root");
    assert_eq!(digests[3].0, "tuf-ceremony/staged/root.json");
    assert_eq!(digests[3].1, file.bytes_sha256);
    assert_eq!(digests[3].2, file.size);
}

#[test]
fn the_plan_for_staged_root_v4_asks_for_root_v3s_and_v4s_root_keys() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    bundle_stick(tmp.path(), &k, 3, &unsigned_root(&k, 4));
    let loaded = load_dir(tmp.path(), None).unwrap();
    let plan = loaded.plan(0, now()).unwrap();
    let ids: Vec<_> = plan
        .key_sets()
        .iter()
        .map(|s| s.role.keyids.clone())
        .collect();
    assert_eq!(ids, [vec![k[3].id()], vec![k[4].id()]]);
    let (bytes, _) = loaded.read_and_plan(0, now()).unwrap();
    assert_eq!(bytes, file_bytes(&unsigned_root(&k, 4)));
    assert!(matches!(
        loaded.plan(7, now()),
        Err(MediaError::NoSuchFile(7))
    ));
}

#[test]
fn a_signature_written_since_loading_is_fine_but_a_changed_file_is_refused() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    bundle_stick(tmp.path(), &k, 3, &unsigned_root(&k, 4));
    let loaded = load_dir(tmp.path(), None).unwrap();
    let path = tmp.path().join("tuf-ceremony/staged/root.json");
    let mut partly = unsigned_root(&k, 4);
    k[4].sign(&mut partly);
    write(&path, &file_bytes(&partly));
    assert!(loaded.plan(0, now()).is_ok());
    let other = signed(root(4, &[&k[4]], 1, "2031-01-01T00:00:00Z"), &[]);
    write(&path, &file_bytes(&other));
    let err = loaded.plan(0, now()).unwrap_err();
    assert!(matches!(err, MediaError::Changed { .. }), "{err}");
    assert!(err.stops_the_ceremony());
}

#[test]
fn staged_root_v6_over_trusted_v3_is_refused_as_not_the_successor() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    bundle_stick(tmp.path(), &k, 3, &unsigned_root(&k, 6));
    let err = load_dir(tmp.path(), None).unwrap_err();
    assert!(matches!(
        err,
        MediaError::NotSuccessor {
            found: 6,
            trusted: 3,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "tuf-ceremony/staged/root.json: staged root is version 6 but the stick's trusted root is version 3: only 4 may be signed"
    );
}

#[test]
fn a_staged_file_that_differs_from_the_manifest_digest_is_refused() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    bundle_stick(tmp.path(), &k, 3, &unsigned_root(&k, 4));
    let manifest = tmp.path().join("tuf-ceremony/manifest.json");
    write(
        &manifest,
        &manifest_bytes(vec![item("staged/root.json", "root", &"00".repeat(32))]),
    );
    let err = load_dir(tmp.path(), None).unwrap_err();
    assert!(matches!(err, MediaError::DigestMismatch { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("tuf-ceremony/staged/root.json: canonical sha256 ")
    );
}

#[test]
fn a_history_root_not_signed_by_its_predecessor_breaks_the_chain() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    bundle_stick(tmp.path(), &k, 3, &unsigned_root(&k, 4));
    let rogue = signed(root(2, &[&k[2]], 1, LATER), &[&k[2]]);
    write(
        &tmp.path().join("tuf-ceremony/repository/2.root.json"),
        &file_bytes(&rogue),
    );
    let err = load_dir(tmp.path(), None).unwrap_err();
    assert!(matches!(err, MediaError::History { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("tuf-ceremony/repository/2.root.json: "),
        "{text}"
    );
    assert!(text.contains("root v1's root threshold not met"), "{text}");
}

#[test]
fn a_missing_history_version_is_named() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    bundle_stick(tmp.path(), &k, 3, &unsigned_root(&k, 4));
    std::fs::remove_file(tmp.path().join("tuf-ceremony/repository/2.root.json")).unwrap();
    let err = load_dir(tmp.path(), None).unwrap_err();
    assert!(
        matches!(
            err,
            MediaError::HistoryGap {
                missing: 2,
                next: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("root v2 is missing"), "{err}");
}

#[test]
fn a_history_file_named_for_another_version_is_refused() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    bundle_stick(tmp.path(), &k, 3, &unsigned_root(&k, 4));
    let three = file_bytes(&history_root(&k, 3, LATER));
    write(
        &tmp.path().join("tuf-ceremony/repository/2.root.json"),
        &three,
    );
    let err = load_dir(tmp.path(), None).unwrap_err();
    assert!(
        matches!(
            err,
            MediaError::HistoryName {
                named: 2,
                found: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_pinned_root_found_on_the_stick_starts_the_chain() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    bundle_stick(tmp.path(), &k, 3, &unsigned_root(&k, 4));
    // Root v1 on the stick no longer verifies: trust starts at the pin.
    let broken = signed(root(1, &[&k[1]], 1, LATER), &[&k[9]]);
    write(
        &tmp.path().join("tuf-ceremony/repository/1.root.json"),
        &file_bytes(&broken),
    );
    let pinned = file_bytes(&history_root(&k, 2, LATER));
    let loaded = load_dir(tmp.path(), Some(&pinned)).unwrap();
    let trusted = loaded.trusted.unwrap();
    assert!(trusted.pinned);
    assert_eq!(trusted.chain, [2, 3]);
    assert_eq!(trusted.version, 3);
}

#[test]
fn a_pinned_root_not_signed_by_its_own_keys_stops_the_ceremony() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    bundle_stick(tmp.path(), &k, 3, &unsigned_root(&k, 4));
    // Same signed part as the stick's v2 (so the digests agree), but the
    // pinned copy carries only a signature by a key v2 does not list.
    let pinned = file_bytes(&signed(root(2, &[&k[2]], 1, LATER), &[&k[9]]));
    let err = load_dir(tmp.path(), Some(&pinned)).unwrap_err();
    assert!(err.stops_the_ceremony());
    let text = err.to_string();
    assert!(matches!(err, MediaError::History { .. }), "{text}");
    assert!(
        text.starts_with("root pinned on this image: trusted history broken: root v2's own"),
        "{text}"
    );
}

#[test]
fn a_stick_root_that_differs_from_the_pinned_one_stops_the_ceremony() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    bundle_stick(tmp.path(), &k, 3, &unsigned_root(&k, 4));
    let other = file_bytes(&history_root(&k, 2, "2031-01-01T00:00:00Z"));
    let err = load_dir(tmp.path(), Some(&other)).unwrap_err();
    assert!(err.stops_the_ceremony());
    let text = err.to_string();
    assert!(
        matches!(err, MediaError::PinnedMismatch { version: 2, .. }),
        "{text}"
    );
    assert!(text.contains("the stick's root v2 (sha256 "), "{text}");
    assert!(
        text.contains("is not the root pinned on this image"),
        "{text}"
    );

    let newer = file_bytes(&history_root(&k, 5, LATER));
    let err = load_dir(tmp.path(), Some(&newer)).unwrap_err();
    assert!(
        matches!(err, MediaError::PinnedNotOnStick { version: 5, .. }),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("tuf-ceremony/repository/: "),
        "{err}"
    );
    assert!(matches!(
        load_dir(tmp.path(), Some(b"not json")),
        Err(MediaError::PinnedInvalid(_))
    ));
}

#[test]
fn an_expired_root_n_still_loads_and_may_sign_its_successor() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    bundle_stick(tmp.path(), &k, 3, &unsigned_root(&k, 4));
    let expired = history_root(&k, 3, "2020-01-01T00:00:00Z");
    write(
        &tmp.path().join("tuf-ceremony/repository/3.root.json"),
        &file_bytes(&expired),
    );
    let loaded = load_dir(tmp.path(), None).unwrap();
    assert!(loaded.trusted.as_ref().unwrap().expired);
    assert!(loaded.media.notes.iter().any(|n| n.contains("expired")));
    assert_eq!(loaded.plan(0, now()).unwrap().key_sets().len(), 2);
}

#[test]
fn a_go_tuf_tree_signs_targets_against_the_staged_root_and_delegations_against_targets() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        &d.join("repository/1.root.json"),
        &file_bytes(&history_root(&k, 1, LATER)),
    );
    write(
        &d.join("staged/root.json"),
        &file_bytes(&unsigned_root(&k, 2)),
    );
    let top = signed(targets(1, Some(("bins-0", &k[7]))), &[]);
    write(&d.join("staged/targets.json"), &file_bytes(&top));
    write(
        &d.join("staged/bins-0.json"),
        &file_bytes(&signed(targets(1, None), &[])),
    );
    let loaded = load_dir(d, None).unwrap();
    assert_eq!(loaded.media.layout, crate::media::Layout::GoTuf);
    let anchors: Vec<_> = loaded.files.iter().map(|f| f.anchor.clone()).collect();
    assert_eq!(
        anchors,
        [
            AnchorKind::Trusted,
            AnchorKind::Staged,
            AnchorKind::Delegator {
                display: "staged/targets.json".into(),
                label: "targets v1 (staged)".into()
            }
        ]
    );
    let targets_plan = loaded.plan(1, now()).unwrap();
    assert_eq!(targets_plan.key_sets()[0].role.keyids, [k[2].id()]);
    let bins = loaded.plan(2, now()).unwrap();
    assert_eq!(bins.role(), "bins-0");
    assert_eq!(bins.key_sets()[0].role.keyids, [k[7].id()]);
}

#[test]
fn a_go_tuf_tree_with_only_repository_root_json_trusts_that_root() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        &d.join("repository/root.json"),
        &file_bytes(&history_root(&k, 1, LATER)),
    );
    write(
        &d.join("staged/root.json"),
        &file_bytes(&unsigned_root(&k, 2)),
    );
    let loaded = load_dir(d, None).unwrap();
    assert_eq!(loaded.trusted.unwrap().display, "repository/root.json");
    assert_eq!(loaded.files[0].version, 2);
}

#[test]
fn a_tuf_on_ci_signing_event_loads_root_v3_over_its_root_history() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for v in 1..=2 {
        write(
            &d.join(format!("metadata/root_history/{v}.root.json")),
            &file_bytes(&history_root(&k, v, LATER)),
        );
    }
    write(
        &d.join("metadata/root.json"),
        &file_bytes(&unsigned_root(&k, 3)),
    );
    let loaded = load_dir(d, None).unwrap();
    assert_eq!(loaded.trusted.as_ref().unwrap().version, 2);
    assert_eq!(loaded.files[0].staged.display, "metadata/root.json");
    let plan = loaded.plan(0, now()).unwrap();
    assert_eq!(plan.key_sets()[0].role.keyids, [k[2].id()]);
}

#[test]
fn a_first_root_with_no_history_is_signed_by_its_own_keys() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    write(
        &tmp.path().join("staged/root.json"),
        &file_bytes(&unsigned_root(&k, 1)),
    );
    let loaded = load_dir(tmp.path(), None).unwrap();
    assert!(loaded.trusted.is_none());
    assert_eq!(loaded.files[0].anchor, AnchorKind::None);
    assert_eq!(loaded.plan(0, now()).unwrap().key_sets().len(), 1);
}

#[test]
fn a_file_staged_under_the_wrong_role_or_broken_json_is_named() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        &d.join("repository/1.root.json"),
        &file_bytes(&history_root(&k, 1, LATER)),
    );
    write(
        &d.join("staged/targets.json"),
        &file_bytes(&unsigned_root(&k, 2)),
    );
    let err = load_dir(d, None).unwrap_err();
    assert!(matches!(err, MediaError::WrongRole { .. }), "{err}");
    write(&d.join("staged/targets.json"), b"{\"signed\": ");
    let err = load_dir(d, None).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("staged/targets.json: not valid TUF metadata"),
        "{err}"
    );
    assert!(!err.stops_the_ceremony());
}

#[test]
fn a_delegator_is_labelled_by_the_role_its_file_holds() {
    for (path, role) in [
        ("b/tuf-ceremony/staged/targets.json", "targets"),
        ("b/tuf-ceremony/staged/claimed.json", "claimed"),
        ("b/tuf-ceremony/repository/2.targets.json", "targets"),
        ("b/tuf-ceremony/repository/12.claimed.json", "claimed"),
        ("b/tuf-ceremony/staged/a.b.json", "a.b"),
    ] {
        assert_eq!(role_of(Path::new(path)), role, "{path}");
    }
}
