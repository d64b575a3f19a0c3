//! Roots made and signed by python-tuf (`tests/fixtures/make_valid_roots.py`)
//! are read, verified and re-encoded byte for byte; a chain of rotations is
//! walked by `tuf-repo verify-root` with the counts python-tuf computed.

use tuf_ceremony_e2e::{fixtures, read_json, run_fixture_script, tuf_repo};
use tuf_metadata::json::{self, Value};
use tuf_metadata::keys::keyid_mismatches;
use tuf_metadata::{Limits, Metadata, verify_trusted_root};

#[test]
fn python_tuf_roots_of_every_key_type_are_accepted() {
    let dir = fixtures("make_valid_roots.py");
    let manifest = read_json(&dir.join("manifest.json"));
    let variants: Vec<&str> = manifest["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(variants, ["ed25519", "ecdsa-pem", "ecdsa-hex", "rsa"]);
    let mut written = Vec::new();
    for variant in variants {
        let path = dir.join(variant).join("1.root.json");
        let bytes = std::fs::read(&path).unwrap();
        let root = Metadata::parse_root(&bytes).unwrap_or_else(|e| panic!("{variant}: {e}"));
        // python-tuf signed its canonical bytes; our signatures check passing
        // shows ours are the same bytes.
        let report = verify_trusted_root(&root).unwrap_or_else(|e| panic!("{variant}: {e}"));
        assert_eq!((report.counted(), report.threshold), (2, 2), "{variant}");
        assert!(
            keyid_mismatches(&root.signed().keys).is_empty(),
            "{variant}: key ids differ from python-tuf's"
        );
        // Unknown fields survive: writing back gives the same JSON value.
        let original = json::parse(&bytes, Limits::ROOT.max_bytes).unwrap();
        assert_eq!(
            root.to_value(),
            original,
            "{variant}: round trip changed the file"
        );
        let Value::Object(signed) = &original else {
            panic!()
        };
        let Some(Value::Object(inner)) = signed.get("signed") else {
            panic!()
        };
        assert_eq!(
            inner.get("x-ceremony-note"),
            Some(&Value::from("kept")),
            "{variant}"
        );
        // Stock python-tuf cannot read hex-point ECDSA keys (go-tuf v0's
        // encoding), so only the other three go back to it.
        if variant != "ecdsa-hex" {
            written.push(write_back(&root, variant));
        }
    }
    // The other direction: python-tuf accepts the files we wrote.
    let args: Vec<&std::ffi::OsStr> = written.iter().map(|p| p.as_os_str()).collect();
    let output = run_fixture_script("python_verify_root.py", &args);
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        report.lines().filter(|l| l.ends_with(": ok")).count(),
        3,
        "{report}"
    );
}

/// Writes `root` as our tools write files, into the e2e fixture area.
fn write_back(root: &Metadata<tuf_metadata::Root>, variant: &str) -> std::path::PathBuf {
    let dir = fixtures("make_valid_roots.py").join("written-by-us");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{variant}.root.json"));
    std::fs::write(&path, json::to_pretty(&root.to_value())).unwrap();
    path
}

#[test]
fn a_chain_of_rotations_verifies_with_python_tuf_counts() {
    let dir = fixtures("make_valid_roots.py").join("chain");
    let manifest = read_json(&dir.parent().unwrap().join("manifest.json"));
    let at = manifest["reference_time"].as_str().unwrap();
    let chain = manifest["chain"].as_array().unwrap();
    let mut args = vec![
        "verify-root".into(),
        "--trusted".into(),
        dir.join("1.root.json").into_os_string(),
        "--at".into(),
        at.into(),
    ];
    args.extend(
        chain
            .iter()
            .map(|e| dir.join(e["file"].as_str().unwrap()).into_os_string()),
    );
    let run = tuf_repo(&args);
    assert_eq!(run.code, Some(0), "{run:?}");
    let expected: Vec<String> = chain
        .iter()
        .map(|e| {
            let v = e["version"].as_u64().unwrap();
            format!(
                "root v{v}: ok — root keys {}/{} of v{}, {}/{} of v{v}",
                e["old_signed"],
                e["old_threshold"],
                v - 1,
                e["new_signed"],
                e["new_threshold"]
            )
        })
        .collect();
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected);
    assert_eq!(run.stderr, "", "no warnings for honest key ids");
}

#[test]
fn only_the_last_root_of_a_chain_must_be_unexpired() {
    let dir = fixtures("make_valid_roots.py").join("chain");
    let file = |n: u32| dir.join(format!("{n}.root.json")).into_os_string();
    // v1 expired in 2020, yet it anchors the chain; v5 expires in 2041.
    let run = tuf_repo([
        "verify-root".into(),
        "--trusted".into(),
        file(1),
        "--at".into(),
        "2041-06-01T00:00:00Z".into(),
        file(2),
        file(3),
        file(4),
        file(5),
    ]);
    assert_eq!(run.code, Some(1), "{run:?}");
    let last = dir.join("5.root.json");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with(&format!("error: {}: expired at ", last.display())),
        "{run:?}"
    );
    // Stopping at v2 (expires 2040) is fine at the fixtures' reference time.
    let run = tuf_repo([
        "verify-root".into(),
        "--trusted".into(),
        file(1),
        "--at".into(),
        "2030-01-01T00:00:00Z".into(),
        file(2),
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
}

#[test]
fn out_of_order_chains_and_bad_usage_are_refused() {
    let dir = fixtures("make_valid_roots.py").join("chain");
    let file = |n: u32| dir.join(format!("{n}.root.json")).into_os_string();
    let run = tuf_repo(["verify-root".into(), "--trusted".into(), file(1), file(3)]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("version 3 does not follow trusted version 1"),
        "{run:?}"
    );

    let missing = dir.join("nope.json");
    let run = tuf_repo([
        "verify-root".into(),
        "--trusted".into(),
        file(1),
        missing.clone().into_os_string(),
    ]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .starts_with(&format!("error: {}: cannot open", missing.display())),
        "{run:?}"
    );

    for usage in [
        vec!["verify-root".into(), "--trusted".into(), file(1)],
        vec!["verify-root".into(), file(2)],
        vec![
            "verify-root".into(),
            "--trusted".into(),
            file(1),
            "--at".into(),
            "yesterday".into(),
            file(2),
        ],
        vec!["no-such-command".into()],
    ] {
        let run = tuf_repo(&usage);
        assert_eq!(run.code, Some(2), "{usage:?}: {run:?}");
    }
}

#[test]
fn a_parsed_file_is_refused_if_it_is_not_root() {
    // A targets file given as trusted root: one error line, exit 1.
    let dir = fixtures("make_attacks.py").join("candidate-not-root");
    let run = tuf_repo([
        "verify-root".into(),
        "--trusted".into(),
        dir.join("candidate.json").into_os_string(),
        dir.join("candidate.json").into_os_string(),
    ]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("expected root metadata, found targets"),
        "{run:?}"
    );
}

#[test]
fn a_key_id_that_does_not_match_its_key_is_reported_not_silently_accepted() {
    let dir = fixtures("make_valid_roots.py").join("mismatched-keyid");
    let v1 = Metadata::parse_root(&std::fs::read(dir.join("1.root.json")).unwrap()).unwrap();
    let mismatches = keyid_mismatches(&v1.signed().keys);
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
    // Existing metadata: verification goes on, with a warning per file.
    let run = tuf_repo([
        "verify-root".into(),
        "--trusted".into(),
        dir.join("1.root.json").into_os_string(),
        dir.join("2.root.json").into_os_string(),
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "root v2: ok — root keys 2/2 of v1, 2/2 of v2\n");
    let warnings: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(warnings.len(), 2, "{run:?}");
    let (listed, computed) = &mismatches[0];
    for (line, file) in warnings.iter().zip(["1.root.json", "2.root.json"]) {
        assert!(
            line.starts_with(&format!("warning: {}", dir.join(file).display())),
            "{line}"
        );
        assert!(
            line.contains(&format!(
                "key id {listed} does not match its key (computed {})",
                &computed[..8]
            )),
            "{line}"
        );
    }
}
