//! `ceremony drill-stage`: the practice stick it writes is one the rest of
//! the tooling accepts — root v1 verifies by itself (here and in
//! python-tuf), the staged root v2 and its manifest agree, `inspect` reads
//! the stick, and the drill tokens really can sign the rotation.

use std::path::PathBuf;
use std::process::Command;

use tuf_metadata::{Limits, Metadata, verify_root_update, verify_trusted_root};

mod common;
use common::{ceremony, ceremony_with_conf, python, text, workspace};

#[test]
fn a_drill_stick_is_staged_that_the_tooling_accepts_and_the_tokens_can_sign() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let out = ceremony(&["drill-stage".as_ref(), "--out".as_ref(), dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);

    // drill.json: four keyholders with their PIN files, and the briefing.
    let drill: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("drill.json")).unwrap()).unwrap();
    let conf = PathBuf::from(drill["softhsm2_conf"].as_str().unwrap());
    let stick = PathBuf::from(drill["stick"].as_str().unwrap());
    assert!(conf.is_file() && stick.is_dir(), "{drill}");
    let keyholders = drill["keyholders"].as_array().unwrap();
    let names: Vec<&str> = keyholders
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob", "carol", "dave"]);
    let keyid = |name: &str| -> String {
        let k = keyholders.iter().find(|k| k["name"] == name).unwrap();
        k["keyid"].as_str().unwrap().to_owned()
    };
    for k in keyholders {
        let name = k["name"].as_str().unwrap();
        let pin = std::fs::read_to_string(dir.join(format!("{name}.pin"))).unwrap();
        assert_eq!(pin.trim(), k["pin"].as_str().unwrap());
        assert_eq!(k["token_label"], name);
        let id = k["keyid"].as_str().unwrap();
        assert!(stdout.contains(&id[..8]), "{name}'s key id in:\n{stdout}");
    }
    let membership: Vec<(bool, bool)> = keyholders
        .iter()
        .map(|k| (k["in_v1"].as_bool().unwrap(), k["in_v2"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        membership,
        [(true, true), (true, true), (true, false), (false, true)]
    );
    assert!(
        stdout.contains(&format!(
            "SOFTHSM2_CONF={} ceremony --drill --media {}",
            conf.display(),
            stick.display()
        )),
        "{stdout}"
    );

    // Root v1 verifies by itself, listing alice, bob and carol, 2 of 3.
    let bundle = stick.join("tuf-ceremony");
    let v1_path = bundle.join("repository/1.root.json");
    let v1 = Metadata::parse_root(&std::fs::read(&v1_path).unwrap()).unwrap();
    verify_trusted_root(&v1).unwrap();
    let v1_root = v1.signed().role("root").unwrap();
    assert_eq!(
        v1_root.keyids,
        [keyid("alice"), keyid("bob"), keyid("carol")]
    );
    assert_eq!(v1_root.threshold, 2);
    assert_eq!(v1.signed().common.version, 1);
    assert_eq!(v1.signed().consistent_snapshot, Some(true));
    assert_eq!(v1.signed().common.spec_version, "1.0.31");

    // Staged root v2: unsigned, alice, bob and dave, 2 of 3.
    let v2_path = bundle.join("staged/root.json");
    let v2 = Metadata::parse_root(&std::fs::read(&v2_path).unwrap()).unwrap();
    assert!(v2.signatures().is_empty());
    assert_eq!(v2.signed().common.version, 2);
    let v2_root = v2.signed().role("root").unwrap();
    assert_eq!(
        v2_root.keyids,
        [keyid("alice"), keyid("bob"), keyid("dave")]
    );
    assert_eq!(v2_root.threshold, 2);

    // The manifest names v2 with its digest and both key sets.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    let fields: Vec<&String> = manifest.as_object().unwrap().keys().collect();
    assert_eq!(manifest["format"], "tuf-ceremony-bundle/1");
    assert_eq!(manifest["repository"], "drill");
    assert_eq!(fields.len(), 4, "{manifest}");
    let item = &manifest["items"][0];
    assert_eq!(manifest["items"].as_array().unwrap().len(), 1);
    assert_eq!(item["file"], "staged/root.json");
    assert_eq!(item["role"], "root");
    assert_eq!(item["version"], 2);
    assert_eq!(item["canonical_sha256"], v2.signed_digest().as_str());
    assert_eq!(item["key_sets"][0]["label"], "root v1 (trusted)");
    assert_eq!(item["key_sets"][1]["label"], "root v2 (new)");
    assert_eq!(item["key_sets"][1]["threshold"], 2);

    // The appliance's own reading of the stick.
    let out = ceremony(&["inspect".as_ref(), "--media".as_ref(), stick.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains(&v2.signed_digest()), "{shown}");
    assert!(shown.contains("chain verified v1"), "{shown}");
    // The manifest's key sets beside the appliance's own: they agree.
    assert!(shown.contains("= root v2 (new): threshold 2 of"), "{shown}");
    assert!(!shown.contains("disagree about who signs"), "{shown}");

    // python-tuf accepts root v1.
    assert!(
        python().exists(),
        "python-tuf peer not found at {}: run `cargo xtask test`",
        python().display()
    );
    let out = Command::new(python())
        .arg(workspace().join("tests/fixtures/python_verify_root.py"))
        .arg(&v1_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    // The drill tokens sign the rotation: alice, bob (both roots) and dave.
    for name in ["alice", "bob", "dave"] {
        let pin = dir.join(format!("{name}.pin"));
        let out = ceremony_with_conf(
            &[
                "sign".as_ref(),
                "--metadata".as_ref(),
                v2_path.as_os_str(),
                "--trusted".as_ref(),
                v1_path.as_os_str(),
                "--profile".as_ref(),
                "softhsm2".as_ref(),
                "--token-label".as_ref(),
                name.as_ref(),
                "--pin-file".as_ref(),
                pin.as_os_str(),
            ],
            &conf,
        );
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out));
    }
    let signed = Metadata::parse(&std::fs::read(&v2_path).unwrap(), &Limits::ROOT).unwrap();
    let update = verify_root_update(&v1, signed, Some(time::OffsetDateTime::now_utc())).unwrap();
    assert_eq!(update.by_itself.counted(), 3);

    // A second run into the same directory is refused, and changes nothing.
    let before = std::fs::read(dir.join("drill.json")).unwrap();
    let out = ceremony(&["drill-stage".as_ref(), "--out".as_ref(), dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not empty"), "{stderr}");
    assert_eq!(std::fs::read(dir.join("drill.json")).unwrap(), before);
}

#[test]
fn a_file_in_place_of_the_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("d");
    std::fs::write(&file, "x").unwrap();
    let out = ceremony(&["drill-stage".as_ref(), "--out".as_ref(), file.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}
