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

/// A staged item: bundle path, role, metadata, delegator, published.
type StagedItem<'a> = (
    &'a str,
    &'a str,
    &'a Metadata<Targets>,
    Option<&'a str>,
    Option<&'a str>,
);

/// A bundle stick with history 1..=3 (targets key of root v3: k[3]) whose
/// items are `staged` (bundle path, role, metadata, delegator, published)
/// and whose `repository/` also holds `published` (bundle path, bytes).
fn published_stick(
    dir: &Path,
    k: &[TestKey],
    staged: &[StagedItem<'_>],
    published: &[(&str, Vec<u8>)],
) {
    let b = dir.join("tuf-ceremony");
    for v in 1..=3 {
        write(
            &b.join(format!("repository/{v}.root.json")),
            &file_bytes(&history_root(k, v, LATER)),
        );
    }
    let mut items = Vec::new();
    for (file, role, md, delegator, published) in staged {
        write(&b.join(file), &file_bytes(*md));
        let mut it = item(file, role, &md.signed_digest());
        it.delegator = delegator.map(str::to_owned);
        it.published = published.map(str::to_owned);
        items.push(it);
    }
    for (file, bytes) in published {
        write(&b.join(file), bytes);
    }
    write(&b.join("manifest.json"), &manifest_bytes(items));
}

/// Every file under the stick, with its bytes: nothing a refusal may change.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn refused(dir: &Path) -> MediaError {
    let before = snapshot(dir);
    let err = load_dir(dir, None).unwrap_err();
    assert!(err.stops_the_ceremony(), "{err}");
    assert_eq!(snapshot(dir), before, "a refusal changes nothing");
    err
}

#[test]
fn a_published_targets_signed_by_root_ns_targets_keys_is_the_reviews_before() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    let published = signed(targets(2, None), &[&k[3]]);
    let staged = signed(targets(3, None), &[]);
    published_stick(
        tmp.path(),
        &k,
        &[(
            "staged/targets.json",
            "targets",
            &staged,
            None,
            Some("repository/2.targets.json"),
        )],
        &[("repository/2.targets.json", file_bytes(&published))],
    );
    let loaded = load_dir(tmp.path(), None).unwrap();
    let before = loaded.files[0].published.as_ref().unwrap();
    assert_eq!(before.display, "tuf-ceremony/repository/2.targets.json");
    assert_eq!(before.metadata.signed_digest(), published.signed_digest());
    assert_eq!(loaded.files[0].anchor, AnchorKind::Trusted);
}

#[test]
fn a_forged_published_targets_is_refused_naming_file_and_role() {
    let k = keys();
    let staged = signed(targets(3, None), &[]);
    // Signed by a key root v3 does not list for targets, then by none.
    for signers in [vec![&k[5]], vec![]] {
        let tmp = tempfile::tempdir().unwrap();
        let forged = signed(targets(2, None), &signers);
        published_stick(
            tmp.path(),
            &k,
            &[(
                "staged/targets.json",
                "targets",
                &staged,
                None,
                Some("repository/2.targets.json"),
            )],
            &[("repository/2.targets.json", file_bytes(&forged))],
        );
        let err = refused(tmp.path()).to_string();
        assert!(
            err.starts_with(
                "tuf-ceremony/repository/2.targets.json: published \"targets\": does not meet trusted root v3 targets role's threshold: 0/1 distinct keys"
            ),
            "{err}"
        );
    }
    // A signature by the right key over other content (a swapped hash) too.
    let tmp = tempfile::tempdir().unwrap();
    let honest = signed(targets(2, None), &[&k[3]]);
    let tampered = String::from_utf8(file_bytes(&honest))
        .unwrap()
        .replace(LATER, "2031-01-01T00:00:00Z");
    published_stick(
        tmp.path(),
        &k,
        &[(
            "staged/targets.json",
            "targets",
            &staged,
            None,
            Some("repository/2.targets.json"),
        )],
        &[("repository/2.targets.json", tampered.into_bytes())],
    );
    let err = refused(tmp.path()).to_string();
    assert!(err.contains("0/1 distinct keys; key "), "{err}");
}

#[test]
fn a_staged_version_not_newer_than_the_published_one_is_refused() {
    let k = keys();
    for staged_version in [2, 1] {
        let tmp = tempfile::tempdir().unwrap();
        let staged = signed(targets(staged_version, None), &[]);
        published_stick(
            tmp.path(),
            &k,
            &[(
                "staged/targets.json",
                "targets",
                &staged,
                None,
                Some("repository/2.targets.json"),
            )],
            &[(
                "repository/2.targets.json",
                file_bytes(&signed(targets(2, None), &[&k[3]])),
            )],
        );
        let err = refused(tmp.path()).to_string();
        assert!(
            err.contains(&format!(
                "staged version {staged_version} is not newer than the published version 2"
            )),
            "{err}"
        );
    }
}

#[test]
fn a_published_delegated_role_is_verified_through_its_published_delegator() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    let top = signed(targets(2, Some(("project", &k[7]))), &[&k[3]]);
    let before = signed(targets(1, None), &[&k[7]]);
    let staged = signed(targets(2, None), &[]);
    published_stick(
        tmp.path(),
        &k,
        &[(
            "staged/project.json",
            "project",
            &staged,
            Some("repository/2.targets.json"),
            Some("repository/1.project.json"),
        )],
        &[
            ("repository/2.targets.json", file_bytes(&top)),
            ("repository/1.project.json", file_bytes(&before)),
        ],
    );
    let loaded = load_dir(tmp.path(), None).unwrap();
    let file = &loaded.files[0];
    assert_eq!(
        file.anchor,
        AnchorKind::Delegator {
            display: "tuf-ceremony/repository/2.targets.json".into(),
            label: "targets v2".into()
        }
    );
    let published = file.published.as_ref().unwrap();
    assert_eq!(published.display, "tuf-ceremony/repository/1.project.json");
    assert_eq!(published.metadata.signed().common.version, 1);

    // The published project signed by a key the delegation does not name.
    let forged = signed(targets(1, None), &[&k[8]]);
    write(
        &tmp.path().join("tuf-ceremony/repository/1.project.json"),
        &file_bytes(&forged),
    );
    let err = refused(tmp.path()).to_string();
    assert!(
        err.starts_with(
            "tuf-ceremony/repository/1.project.json: published \"project\": does not meet targets v2's delegation's threshold: 0/1"
        ),
        "{err}"
    );

    // A published file of another role than the staged one.
    let tmp = tempfile::tempdir().unwrap();
    let top = signed(targets(2, Some(("other", &k[7]))), &[&k[3]]);
    published_stick(
        tmp.path(),
        &k,
        &[(
            "staged/project.json",
            "project",
            &staged,
            Some("repository/2.targets.json"),
            Some("repository/1.other.json"),
        )],
        &[
            ("repository/2.targets.json", file_bytes(&top)),
            ("repository/1.other.json", file_bytes(&before)),
        ],
    );
    let err = load_dir(tmp.path(), None).unwrap_err().to_string();
    assert!(
        err.contains("holds role \"other\", not the staged role"),
        "{err}"
    );
}

#[test]
fn a_published_delegator_that_does_not_verify_is_refused() {
    let k = keys();
    let staged = signed(targets(1, None), &[]);
    // The top-level targets delegating to project, signed by a stranger:
    // before, its keys were taken on the stick's word.
    let tmp = tempfile::tempdir().unwrap();
    let top = signed(targets(2, Some(("project", &k[9]))), &[&k[9]]);
    published_stick(
        tmp.path(),
        &k,
        &[(
            "staged/project.json",
            "project",
            &staged,
            Some("repository/2.targets.json"),
            None,
        )],
        &[("repository/2.targets.json", file_bytes(&top))],
    );
    let err = refused(tmp.path()).to_string();
    assert!(
        err.starts_with(
            "tuf-ceremony/repository/2.targets.json: published \"targets\": does not meet trusted root v3 targets role's threshold"
        ),
        "{err}"
    );

    // A second-level delegator (targets → claimed → project) whose claimed
    // is not signed by the key targets gives it.
    let tmp = tempfile::tempdir().unwrap();
    let top = signed(targets(2, Some(("claimed", &k[6]))), &[&k[3]]);
    let claimed = signed(targets(4, Some(("project", &k[7]))), &[&k[8]]);
    published_stick(
        tmp.path(),
        &k,
        &[(
            "staged/project.json",
            "project",
            &staged,
            Some("repository/4.claimed.json"),
            None,
        )],
        &[
            ("repository/2.targets.json", file_bytes(&top)),
            ("repository/4.claimed.json", file_bytes(&claimed)),
        ],
    );
    let err = refused(tmp.path()).to_string();
    assert!(
        err.starts_with(
            "tuf-ceremony/repository/4.claimed.json: published \"claimed\": does not meet targets v2's delegation's threshold"
        ),
        "{err}"
    );
    // Signed by the right key, it is the anchor.
    let claimed = signed(targets(4, Some(("project", &k[7]))), &[&k[6]]);
    write(
        &tmp.path().join("tuf-ceremony/repository/4.claimed.json"),
        &file_bytes(&claimed),
    );
    let loaded = load_dir(tmp.path(), None).unwrap();
    assert_eq!(
        loaded.files[0].anchor,
        AnchorKind::Delegator {
            display: "tuf-ceremony/repository/4.claimed.json".into(),
            label: "claimed v4".into()
        }
    );
    assert_eq!(
        loaded.plan(0, now()).unwrap().key_sets()[0].role.keyids,
        [k[7].id()]
    );
}
