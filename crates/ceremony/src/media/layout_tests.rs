//! Tests of `layout.rs`: sticks built in temporary directories.

use super::*;
use bundle_format::Item;

pub(crate) fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

pub(crate) fn manifest_bytes(items: Vec<Item>) -> Vec<u8> {
    Manifest::new("demo", "2026-11-21T12:00:00Z", items).to_bytes()
}

pub(crate) fn item(file: &str, role: &str, digest: &str) -> Item {
    Item {
        file: file.into(),
        role: role.into(),
        delegator: None,
        published: None,
        version: 1,
        canonical_sha256: digest.into(),
        key_sets: vec![ExpectedKeySet::new(
            "root v3 (trusted)",
            1,
            vec!["ab".repeat(32)],
        )],
        unknown: Default::default(),
    }
}

#[test]
fn a_bundle_on_the_stick_lists_manifest_items_and_history_in_version_order() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("tuf-ceremony");
    write(
        &b.join("manifest.json"),
        &manifest_bytes(vec![item("staged/root.json", "root", "cd")]),
    );
    write(&b.join("staged/root.json"), b"{}");
    for n in [10, 2, 1] {
        write(&b.join(format!("repository/{n}.root.json")), b"{}");
    }
    write(&b.join("repository/root.json"), b"{}");
    write(&b.join("repository/x.root.json"), b"{}");
    let media = recognise(tmp.path()).unwrap();
    assert_eq!(media.layout, Layout::Bundle);
    assert_eq!(media.layout.to_string(), "tuf-repo bundle");
    assert_eq!(media.staged.len(), 1);
    assert_eq!(media.staged[0].display, "tuf-ceremony/staged/root.json");
    assert_eq!(media.staged[0].expected_sha256.as_deref(), Some("cd"));
    assert_eq!(media.staged[0].expected_key_sets.len(), 1);
    let versions: Vec<u64> = media.history.iter().map(|h| h.version).collect();
    assert_eq!(versions, [1, 2, 10]);
    assert_eq!(media.transcript_path, b.join("transcript.jsonl"));
    assert!(media.notes.is_empty(), "{:?}", media.notes);
}

#[test]
fn the_bundle_directory_itself_is_recognised_without_a_go_tuf_note() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path();
    write(
        &b.join("manifest.json"),
        &manifest_bytes(vec![item("staged/root.json", "root", "cd")]),
    );
    write(&b.join("staged/root.json"), b"{}");
    let media = recognise(b).unwrap();
    assert_eq!(media.layout, Layout::Bundle);
    assert_eq!(media.staged[0].display, "staged/root.json");
    assert_eq!(media.transcript_path, b.join("transcript.jsonl"));
    assert!(media.notes.is_empty(), "{:?}", media.notes);
}

#[test]
fn a_manifest_naming_a_file_outside_staged_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("tuf-ceremony");
    for bad in [
        "../root.json",
        "staged/a/b.json",
        "staged/.json",
        "repository/1.root.json",
    ] {
        write(
            &b.join("manifest.json"),
            &manifest_bytes(vec![item(bad, "root", "cd")]),
        );
        let err = recognise(tmp.path()).unwrap_err();
        assert!(matches!(err, MediaError::Manifest { .. }), "{bad}: {err}");
        assert!(
            err.to_string().starts_with("tuf-ceremony/manifest.json: "),
            "{err}"
        );
    }
    write(
        &b.join("manifest.json"),
        br#"{"format":"tuf-ceremony-bundle/1","extra":1}"#,
    );
    assert!(matches!(
        recognise(tmp.path()),
        Err(MediaError::Manifest { .. })
    ));
}

#[test]
fn a_go_tuf_tree_stages_root_first_and_skips_online_roles() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for name in [
        "snapshot.json",
        "bins-0.json",
        "targets.json",
        "root.json",
        "notes.txt",
    ] {
        write(&d.join("staged").join(name), b"{}");
    }
    write(&d.join("repository/1.root.json"), b"{}");
    let media = recognise(d).unwrap();
    assert_eq!(media.layout, Layout::GoTuf);
    let roles: Vec<&str> = media.staged.iter().map(|s| s.role.as_str()).collect();
    assert_eq!(roles, ["root", "targets", "bins-0"]);
    assert_eq!(
        media.staged[2].delegator,
        Some(d.join("staged/targets.json"))
    );
    assert_eq!(media.staged[0].delegator, None);
    assert_eq!(media.history.len(), 1);
    assert_eq!(media.transcript_path, d.join("ceremony-transcript.jsonl"));
    assert!(media.notes.iter().any(|n| n.contains("snapshot.json")));
}

#[test]
fn a_tuf_on_ci_event_stages_a_root_newer_than_its_history_only() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let k = tuf_metadata::testing::TestKey::from_seed(1);
    let root = |v| {
        tuf_metadata::testing::file_bytes(&tuf_metadata::testing::signed(
            tuf_metadata::testing::root(v, &[&k], 1, "2030-01-01T00:00:00Z"),
            &[&k],
        ))
    };
    write(&d.join("metadata/root_history/1.root.json"), &root(1));
    write(&d.join("metadata/root.json"), &root(2));
    write(&d.join("metadata/timestamp.json"), b"{}");
    write(&d.join("metadata/targets.json"), b"{}");
    let media = recognise(d).unwrap();
    assert_eq!(media.layout, Layout::TufOnCi);
    let shown: Vec<&str> = media.staged.iter().map(|s| s.display.as_str()).collect();
    assert_eq!(shown, ["metadata/root.json", "metadata/targets.json"]);

    write(&d.join("metadata/root_history/2.root.json"), &root(2));
    let media = recognise(d).unwrap();
    let shown: Vec<&str> = media.staged.iter().map(|s| s.display.as_str()).collect();
    assert_eq!(
        shown,
        ["metadata/targets.json"],
        "root v2 is already committed"
    );
    assert!(
        media
            .notes
            .iter()
            .any(|n| n.contains("already in root_history"))
    );
}

#[test]
fn an_unrelated_directory_is_unrecognised_and_says_what_was_looked_for() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("photos/cat.jpg"), b"");
    write(&tmp.path().join("manifest.json"), br#"{"format":"other"}"#);
    let err = recognise(tmp.path()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, MediaError::Unrecognised { .. }));
    assert!(text.contains("tuf-ceremony/manifest.json") && text.contains("metadata/root.json"));
}

#[test]
fn a_symlink_leading_off_the_stick_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    write(&outside.path().join("root.json"), b"{}");
    let d = tmp.path().join("stick");
    write(&d.join("staged/targets.json"), b"{}");
    std::os::unix::fs::symlink(outside.path().join("root.json"), d.join("staged/root.json"))
        .unwrap();
    let err = recognise(&d).unwrap_err();
    assert!(matches!(err, MediaError::Escapes { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("staged/root.json: leads outside the stick"),
        "{err}"
    );
}

#[test]
fn a_bundle_beside_a_go_tuf_tree_wins_and_the_other_is_noted() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        &d.join("tuf-ceremony/manifest.json"),
        &manifest_bytes(vec![item("staged/root.json", "root", "cd")]),
    );
    write(&d.join("staged/root.json"), b"{}");
    let media = recognise(d).unwrap();
    assert_eq!(media.layout, Layout::Bundle);
    assert!(
        media.notes.iter().any(|n| n.contains("go-tuf")),
        "{:?}",
        media.notes
    );
}

#[test]
fn a_manifest_from_a_newer_tuf_repo_with_extra_fields_still_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("tuf-ceremony");
    let mut value: serde_json::Value = serde_json::from_slice(&manifest_bytes(vec![item(
        "staged/root.json",
        "root",
        "cd",
    )]))
    .unwrap();
    value["x-signing-window"] = serde_json::json!("2026-12-01");
    value["items"][0]["x-priority"] = serde_json::json!(1);
    value["items"][0]["key_sets"][0]["x-note"] = serde_json::json!("hardware only");
    write(
        &b.join("manifest.json"),
        &serde_json::to_vec_pretty(&value).unwrap(),
    );
    write(&b.join("staged/root.json"), b"{}");
    let media = recognise(tmp.path()).unwrap();
    assert_eq!(media.layout, Layout::Bundle);
    assert_eq!(media.staged[0].display, "tuf-ceremony/staged/root.json");
    assert_eq!(media.staged[0].expected_sha256.as_deref(), Some("cd"));
    let set = &media.staged[0].expected_key_sets[0];
    assert_eq!(
        (set.label.as_str(), set.threshold),
        ("root v3 (trusted)", 1)
    );
    assert_eq!(set.unknown["x-note"], "hardware only");
}

#[test]
fn a_manifest_whose_delegator_leaves_the_bundle_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("tuf-ceremony");
    for bad in ["../targets.json", "staged/a/targets.json", "targets.json"] {
        let mut delegated = item("staged/bins-0.json", "bins-0", "cd");
        delegated.delegator = Some(bad.into());
        write(&b.join("manifest.json"), &manifest_bytes(vec![delegated]));
        let err = recognise(tmp.path()).unwrap_err();
        assert!(matches!(err, MediaError::Manifest { .. }), "{bad}: {err}");
        assert!(err.to_string().contains("delegator"), "{bad}: {err}");
    }
}
