//! Tests of `manifest.rs`.

use super::*;
use tuf_metadata::testing::{TestKey, file_bytes, root, signed};

fn example() -> Manifest {
    Manifest::new(
        "demo",
        "2026-11-21T12:00:00Z",
        vec![Item {
            file: "staged/root.json".into(),
            role: "root".into(),
            delegator: None,
            published: None,
            version: 5,
            canonical_sha256: "ab".repeat(32),
            key_sets: vec![KeySetEntry::new(
                "root v4 (trusted)",
                2,
                vec!["cd".repeat(32)],
            )],
            unknown: Unknown::new(),
        }],
    )
}

#[test]
fn a_manifest_round_trips_in_the_documented_shape() {
    let manifest = example();
    let bytes = manifest.to_bytes();
    assert!(bytes.ends_with(b"}\n"));
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(value["format"], "tuf-ceremony-bundle/1");
    assert_eq!(value["items"][0]["key_sets"][0]["threshold"], 2);
    assert!(value["items"][0].get("delegator").is_none());
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "no field added: {keys:?}");
    assert_eq!(Manifest::parse(&bytes).unwrap(), manifest);
}

#[test]
fn unknown_fields_are_kept_at_every_level_and_written_back() {
    let mut value: serde_json::Value = serde_json::from_slice(&example().to_bytes()).unwrap();
    value["x-signing-window"] = serde_json::json!({"until": "2026-12-01"});
    value["items"][0]["x-priority"] = serde_json::json!(3);
    value["items"][0]["key_sets"][0]["x-note"] = serde_json::json!(["a", "b"]);
    let bytes = serde_json::to_vec(&value).unwrap();

    let manifest = Manifest::parse(&bytes).unwrap();
    assert_eq!(
        manifest.unknown["x-signing-window"]["until"],
        serde_json::json!("2026-12-01")
    );
    assert_eq!(
        manifest.items[0].unknown["x-priority"],
        serde_json::json!(3)
    );
    assert_eq!(
        manifest.items[0].key_sets[0].unknown["x-note"],
        serde_json::json!(["a", "b"])
    );
    // The known fields read as before.
    assert_eq!(manifest.items[0].role, "root");
    assert_eq!(manifest.items[0].key_sets[0].threshold, 2);

    let rewritten: serde_json::Value = serde_json::from_slice(&manifest.to_bytes()).unwrap();
    assert_eq!(rewritten, value, "a re-written manifest keeps every field");
}

#[test]
fn a_foreign_escaping_or_malformed_manifest_is_refused_saying_why() {
    let text = String::from_utf8(example().to_bytes()).unwrap();
    let delegated = text.replace(
        "\"role\": \"root\",",
        "\"role\": \"bins\",\n      \"delegator\": \"staged/../targets.json\",",
    );
    assert!(delegated.contains("delegator"));
    for (bad, needle) in [
        (
            text.replace("bundle/1", "bundle/2"),
            "format \"tuf-ceremony-bundle/2\"",
        ),
        (
            text.replace("staged/root.json", "../root.json"),
            "\"../root.json\"",
        ),
        (
            text.replace("staged/root.json", "staged/a/b.json"),
            "staged/a/b.json",
        ),
        (
            text.replace("staged/root.json", "staged/.json"),
            "staged/.json",
        ),
        (
            text.replace("staged/root.json", "repository/1.root.json"),
            "repository/1.root.json",
        ),
        (delegated, "delegator \"staged/../targets.json\""),
        (
            text.replace("\"role\"", "\"rolle\""),
            "missing field `role`",
        ),
        (
            text.replace("\"version\": 5", "\"version\": \"5\""),
            "invalid type",
        ),
        (
            text.replace("\"version\": 5", "\"version\": -5"),
            "invalid value",
        ),
        (
            text.replace(
                "\"repository\": \"demo\",",
                "\"repository\": \"demo\", \"repository\": \"evil\",",
            ),
            "duplicate field `repository`",
        ),
        ("[]".to_owned(), "invalid type"),
        ("{".to_owned(), "EOF"),
    ] {
        let err = Manifest::parse(bad.as_bytes()).unwrap_err().to_string();
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

#[test]
fn a_delegator_in_staged_or_repository_is_accepted() {
    for delegator in ["staged/targets.json", "repository/4.targets.json"] {
        let mut manifest = example();
        manifest.items[0].delegator = Some(delegator.into());
        let back = Manifest::parse(&manifest.to_bytes()).unwrap();
        assert_eq!(back.items[0].delegator.as_deref(), Some(delegator));
    }
}

#[test]
fn a_published_version_in_repository_is_carried_and_nothing_else_is() {
    let mut manifest = example();
    manifest.items[0].published = Some("repository/4.targets.json".into());
    let bytes = manifest.to_bytes();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(value["items"][0]["published"], "repository/4.targets.json");
    assert_eq!(Manifest::parse(&bytes).unwrap(), manifest);
    for bad in [
        "staged/targets.json",
        "repository/../4.targets.json",
        "repository/a/4.targets.json",
        "4.targets.json",
    ] {
        manifest.items[0].published = Some(bad.into());
        let err = Manifest::parse(&manifest.to_bytes())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!("published {bad:?} is not a repository/<name>.json file")
        );
    }
}

#[test]
fn a_manifest_without_published_versions_round_trips_byte_identical() {
    let bytes = example().to_bytes();
    assert!(!String::from_utf8_lossy(&bytes).contains("published"));
    assert_eq!(Manifest::parse(&bytes).unwrap().to_bytes(), bytes);
}

#[test]
fn an_item_listed_twice_is_one_error_naming_it() {
    let mut manifest = example();
    let item = manifest.items[0].clone();
    manifest.items = vec![item.clone(); 20_000];
    let err = Manifest::parse(&manifest.to_bytes())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "file \"staged/root.json\" is listed by more than one item"
    );

    // Another file staged as the same role is refused too.
    let mut other = item.clone();
    other.file = "staged/root2.json".into();
    manifest.items = vec![item.clone(), other];
    let err = Manifest::parse(&manifest.to_bytes())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "role \"root\" is listed by more than one item");

    // Distinct files and roles are fine.
    let mut targets = item.clone();
    targets.file = "staged/targets.json".into();
    targets.role = "targets".into();
    manifest.items = vec![item, targets];
    assert_eq!(Manifest::parse(&manifest.to_bytes()).unwrap(), manifest);
}

#[test]
fn an_item_from_a_plan_carries_its_digest_version_and_key_sets() {
    let (a, b) = (TestKey::from_seed(1), TestKey::from_seed(2));
    let trusted = signed(root(1, &[&a], 1, "2040-01-01T00:00:00Z"), &[&a]);
    let next = signed(root(2, &[&a, &b], 2, "2040-01-01T00:00:00Z"), &[]);
    let now = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let plan = SigningPlan::new(&file_bytes(&next), Some(&trusted), now).unwrap();

    let item = Item::from_plan("staged/root.json", &plan);
    assert_eq!(item.file, "staged/root.json");
    assert_eq!(item.role, "root");
    assert_eq!(item.version, 2);
    assert_eq!(item.delegator, None);
    assert_eq!(item.canonical_sha256, next.signed_digest());
    let sets: Vec<(&str, u64, usize)> = item
        .key_sets
        .iter()
        .map(|s| (s.label.as_str(), s.threshold, s.keyids.len()))
        .collect();
    assert_eq!(
        sets,
        [("root v1 (trusted)", 1, 1), ("root v2 (new)", 2, 2)],
        "{sets:?}"
    );
    assert_eq!(item.key_sets[1].keyids, [a.id(), b.id()]);
}

#[test]
fn reading_names_the_file_and_caps_the_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.json");
    let err = Manifest::read(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}: cannot read", path.display())),
        "{err}"
    );

    std::fs::write(&path, example().to_bytes()).unwrap();
    assert_eq!(Manifest::read(&path).unwrap(), example());

    std::fs::write(&path, "{\"format\": 1}").unwrap();
    let err = Manifest::read(&path).unwrap_err();
    assert!(matches!(err, ManifestFileError::Malformed { .. }), "{err}");
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "{err}"
    );

    let file = std::fs::File::create(&path).unwrap();
    file.set_len(MANIFEST_MAX_BYTES as u64 + 1).unwrap();
    let err = Manifest::read(&path).unwrap_err();
    assert!(matches!(err, ManifestFileError::TooLarge { .. }), "{err}");
}
