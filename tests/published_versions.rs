//! The bundle carries the published version of each staged role, and the
//! appliance trusts it only once it verifies (issue 13, point 1); a
//! rotation is staged once, and a second `stage-rotation` writes the same
//! bundle or refuses (point 6). Root and targets keys live on a SoftHSM2
//! token; the repository's first ceremony is the harness's.

use std::path::Path;

use tuf_ceremony_e2e::repo_setup::Releaser;
use tuf_ceremony_e2e::{Run, assert_ok, copy_dir, path_str, read_json, refused, snapshot_of};

fn inspect(releaser: &Releaser, stick: &Path) -> Run {
    releaser.ceremony(&["inspect", "--media", path_str(stick)])
}

#[test]
fn a_staged_targets_travels_with_its_published_version_which_must_verify() {
    let releaser = Releaser::new(&[("alice", "ed25519")], true);
    let repo = releaser.published_v1("alice");
    let repo_s = path_str(&repo);
    let file = releaser.path("app.tar.gz");
    std::fs::write(&file, b"release 2").unwrap();
    assert_ok(
        &releaser.tuf_repo(&[
            "add-target",
            repo_s,
            path_str(&file),
            "--name",
            "app.tar.gz",
        ]),
        "add-target",
    );
    let stick = releaser.path("stick-2");
    assert_ok(
        &releaser.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage targets v2",
    );

    let bundle = stick.join("tuf-ceremony");
    let manifest = read_json(&bundle.join("manifest.json"));
    let items = manifest["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{manifest}");
    assert_eq!(items[0]["file"], "staged/targets.json");
    assert_eq!(items[0]["published"], "repository/1.targets.json");
    assert_eq!(
        std::fs::read(bundle.join("repository/1.targets.json")).unwrap(),
        std::fs::read(repo.join("repository/1.targets.json")).unwrap(),
        "the published file travels as published"
    );

    let run = inspect(&releaser, &stick);
    assert_ok(&run, "inspect the honest bundle");
    // The review is a diff against the published version (point 1).
    for shown in [
        "tuf-ceremony/staged/targets.json: targets version 2",
        "version 1 → 2",
        "  + added   app.tar.gz",
    ] {
        assert!(
            run.stdout.lines().any(|l| l.starts_with(shown)),
            "{shown:?} in {}",
            run.stdout
        );
    }
    assert!(
        !run.stdout.contains("a first version"),
        "compared with v1: {}",
        run.stdout
    );

    // The online machine swaps the published copy's content (a target of
    // its own in v1, so the diff hides it): its signature no longer holds.
    let hostile = releaser.path("stick-hostile");
    copy_dir(&stick, &hostile);
    let published = hostile.join("tuf-ceremony/repository/1.targets.json");
    let mut json = read_json(&published);
    json["signed"]["targets"]["app.tar.gz"] = serde_json::json!({
        "length": 9,
        "hashes": {"sha256": "00".repeat(32)}
    });
    std::fs::write(&published, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    let before = snapshot_of(&hostile);
    refused(
        &inspect(&releaser, &hostile),
        "inspect a forged published targets",
        &[
            "tuf-ceremony/repository/1.targets.json",
            "published \"targets\"",
            "does not meet trusted root v1 targets role's threshold: 0/1",
        ],
    );
    assert_eq!(
        snapshot_of(&hostile),
        before,
        "nothing on the stick changes"
    );

    // A manifest that lists the item twice is one error, not two reviews.
    let doubled = releaser.path("stick-doubled");
    copy_dir(&stick, &doubled);
    let path = doubled.join("tuf-ceremony/manifest.json");
    let mut manifest = read_json(&path);
    let item = manifest["items"][0].clone();
    manifest["items"] = serde_json::Value::Array(vec![item; 2000]);
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    let before = snapshot_of(&doubled);
    refused(
        &inspect(&releaser, &doubled),
        "inspect a doubled manifest",
        &["file \"staged/targets.json\" is listed by more than one item"],
    );
    assert_eq!(
        snapshot_of(&doubled),
        before,
        "nothing on the stick changes"
    );
}

fn canonical_digests(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter_map(|l| l.split_once("canonical sha256 ").map(|(_, d)| d.to_owned()))
        .collect()
}

#[test]
fn a_rotation_is_staged_once_and_the_same_bundle_written_to_every_stick() {
    let releaser = Releaser::new(&[("alice", "ed25519")], true);
    let repo = releaser.published_v1("alice");
    let repo_s = path_str(&repo);
    let change = ["--root-expires-days", "200"];
    let (x1, x2, x3) = (
        releaser.path("x1"),
        releaser.path("x2"),
        releaser.path("x3"),
    );
    let stage = |stick: &Path, at: &str, extra: &[&str]| {
        let mut argv = vec!["stage-rotation", repo_s, "--stick", path_str(stick)];
        argv.extend_from_slice(&change);
        argv.extend_from_slice(extra);
        argv.extend_from_slice(&["--at", at]);
        releaser.tuf_repo(&argv)
    };
    let first = stage(&x1, "2026-12-04T10:00:00Z", &[]);
    assert_ok(&first, "stage-rotation onto x1");
    // The keyholder's pause between sticks: an hour later.
    let second = stage(&x2, "2026-12-04T11:00:00Z", &[]);
    assert_ok(&second, "stage-rotation onto x2");
    assert_eq!(
        std::fs::read(x1.join("tuf-ceremony/staged/root.json")).unwrap(),
        std::fs::read(x2.join("tuf-ceremony/staged/root.json")).unwrap(),
        "one staged root on both sticks"
    );
    let digests = canonical_digests(&first);
    assert_eq!(digests.len(), 1, "{first:?}");
    assert_eq!(canonical_digests(&second), digests, "{second:?}");
    assert!(second.stdout.contains("already staged"), "{second:?}");

    // Another change while root v2 is staged is refused, saying what is staged.
    let staged_root = std::fs::read(repo.join("staged/root.json")).unwrap();
    refused(
        &stage(&x3, "2026-12-04T12:00:00Z", &["--root-threshold", "2"]),
        "stage-rotation with another change",
        &[
            "root v2 is already staged",
            &format!("canonical sha256 {}", digests[0]),
            "tuf-repo stage",
            "discard it",
        ],
    );
    assert!(!x3.join("tuf-ceremony").exists(), "no bundle on x3");
    assert_eq!(
        std::fs::read(repo.join("staged/root.json")).unwrap(),
        staged_root,
        "the staged root is unchanged"
    );
}

/// A staged targets v2 that swaps the hash of a published target: the
/// review says so in a warning, with the old and new digests, where before
/// this issue it read line for line like an honest release.
#[test]
fn a_swapped_target_hash_is_shown_as_a_change_with_a_warning() {
    let releaser = Releaser::new(&[("alice", "ed25519")], true);
    let v1_file = releaser.path("app-v1.tar.gz");
    std::fs::write(&v1_file, b"release 1").unwrap();
    let repo = releaser.published_v1_with_targets("alice", &[(&v1_file, "app.tar.gz")]);
    let repo_s = path_str(&repo);
    let swapped = releaser.path("app-evil.tar.gz");
    std::fs::write(&swapped, b"not release 1").unwrap();
    assert_ok(
        &releaser.tuf_repo(&[
            "add-target",
            repo_s,
            path_str(&swapped),
            "--name",
            "app.tar.gz",
        ]),
        "add-target over the published target",
    );
    let stick = releaser.path("stick-swap");
    assert_ok(
        &releaser.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage targets v2",
    );
    let run = inspect(&releaser, &stick);
    assert_ok(&run, "inspect");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  ~ changed app.tar.gz")),
        "{}",
        run.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("WARNING") && l.contains("app.tar.gz")),
        "a swapped hash is flagged: {}",
        run.stdout
    );
    let sha = |bytes: &[u8]| tuf_metadata::sha256_hex(bytes);
    let group = |hex: &str| hex[..4].to_owned() + " " + &hex[4..8];
    for digest in [sha(b"release 1"), sha(b"not release 1")] {
        assert!(
            run.stdout.contains(&group(&digest)),
            "{} in {}",
            group(&digest),
            run.stdout
        );
    }
}
