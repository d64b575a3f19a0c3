//! The releaser's online tool end to end, as the runbook goes: `tuf-repo
//! init` with keys onboarded on SoftHSM2 tokens, the first ceremony (root v1
//! and targets v1) staged onto two sticks and signed there with `ceremony
//! sign`, merged and committed with the online keys; then a rotation to
//! root v2 replacing one root key, which python-tuf accepts. Refusals (a
//! stick whose copy differs, a commit below threshold) change nothing.

use std::path::Path;
use std::process::Command;

use tuf_ceremony_e2e::faults::{Fault, Invocation, run_with_fault};
use tuf_ceremony_e2e::repo_setup::{Releaser, SNAPSHOT_PASS, TIMESTAMP_PASS};
use tuf_ceremony_e2e::serve::{Served, python_http_download};
use tuf_ceremony_e2e::tough::{
    file_url, tough_downloads, tough_loads_dir, tough_misnames_a_target_in_a_directory,
};
use tuf_ceremony_e2e::{
    Run, assert_ok, binary, copy_dir, path_str, python, python_downloads, snapshot_of,
    workspace_root,
};

fn refused(run: &Run, what: &str, needles: &[&str]) {
    assert_eq!(run.code, Some(1), "{what}: {run:?}");
    assert_eq!(
        run.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1,
        "{what}: one error line: {run:?}"
    );
    for needle in needles {
        assert!(run.stderr.contains(needle), "{what}: {needle:?} in {run:?}");
    }
}

fn copy_stick(from: &Path, to: &Path) {
    copy_dir(&from.join("tuf-ceremony"), &to.join("tuf-ceremony"));
}

/// python-tuf's verdict on `next` after `trusted`: Ok, or why not.
fn python_accepts(trusted: &Path, next: &Path) -> Result<(), String> {
    let output = Command::new(python())
        .arg(workspace_root().join("tests/fixtures/make_token_rotation.py"))
        .arg("--verify")
        .args([trusted, next])
        .output()
        .unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[test]
fn a_new_repository_and_a_key_rotation_go_from_init_to_a_root_python_tuf_accepts() {
    let r = Releaser::new(
        &[
            ("alice", "ecdsa-p256"),
            ("bob", "ed25519"),
            ("carol", "ecdsa-p256"),
        ],
        true,
    );
    let repo = r.path("repo");
    let repo_s = path_str(&repo);
    let published = repo.join("repository");

    let run = r.tuf_repo(&[
        "init",
        repo_s,
        "--root-key",
        path_str(&r.pub_key("alice")),
        "--root-key",
        path_str(&r.pub_key("bob")),
        "--root-threshold",
        "2",
        "--snapshot-key",
        path_str(&r.path("snapshot.pub.json")),
        "--timestamp-key",
        path_str(&r.path("timestamp.pub.json")),
        "--online-snapshot-age",
        path_str(&r.path("snapshot.age")),
        "--online-timestamp-age",
        path_str(&r.path("timestamp.age")),
    ]);
    assert_ok(&run, "init");
    let again = r.tuf_repo(&["init", repo_s, "--root-key", path_str(&r.pub_key("alice"))]);
    assert_eq!(
        again.code,
        Some(2),
        "missing arguments are usage: {again:?}"
    );

    // The first ceremony: root v1 and targets v1, one stick per keyholder.
    let stick_a = r.path("stick-a");
    let stick_b = r.path("stick-b");
    assert_ok(
        &r.tuf_repo(&["stage-rotation", repo_s, "--stick", path_str(&stick_a)]),
        "stage v1",
    );
    let manifest = tuf_ceremony_e2e::read_json(&stick_a.join("tuf-ceremony/manifest.json"));
    let files: Vec<&str> = manifest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["staged/root.json", "staged/targets.json"]);
    copy_stick(&stick_a, &stick_b);

    let before = snapshot_of(&repo);
    refused(
        &r.tuf_repo(&["commit", repo_s]),
        "commit unsigned v1",
        &["staged/root.json", "root v1"],
    );
    assert_eq!(
        snapshot_of(&repo),
        before,
        "a refused commit changes nothing"
    );

    for (stick, token) in [(&stick_a, "alice"), (&stick_b, "bob")] {
        assert_ok(
            &r.sign(stick, "staged/root.json", &[], token),
            &format!("{token} signs root v1"),
        );
        assert_ok(
            &r.sign(
                stick,
                "staged/targets.json",
                &["--staged-root", "staged/root.json"],
                token,
            ),
            &format!("{token} signs targets v1"),
        );
    }

    // A stick whose copy differs from what was staged is refused by name.
    let stick_x = r.path("stick-x");
    copy_stick(&stick_b, &stick_x);
    let tampered = stick_x.join("tuf-ceremony/staged/root.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&tampered).unwrap()).unwrap();
    value["signed"]["expires"] = "2099-01-01T00:00:00Z".into();
    std::fs::write(&tampered, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    let before = snapshot_of(&repo);
    refused(
        &r.tuf_repo(&["merge", repo_s, path_str(&stick_a), path_str(&stick_x)]),
        "merge a tampered stick",
        &[path_str(&stick_x), "differs from the manifest"],
    );
    assert_eq!(snapshot_of(&repo), before, "a refused merge writes nothing");

    let run = r.tuf_repo(&["merge", repo_s, path_str(&stick_a), path_str(&stick_b)]);
    assert_ok(&run, "merge v1");
    assert!(run.stdout.contains("root v1: 2/2 met"), "{run:?}");
    assert!(
        run.stdout
            .contains("targets (staged root v1, not yet trusted): 2/2 met"),
        "{run:?}"
    );
    let run = r.tuf_repo(&["commit", repo_s]);
    assert_ok(&run, "commit v1");
    for name in [
        "1.root.json",
        "root.json",
        "1.targets.json",
        "1.snapshot.json",
        "timestamp.json",
    ] {
        assert!(published.join(name).exists(), "{name}: {run:?}");
    }

    // The rotation: alice's key is replaced by carol's.
    let stick_c = r.path("stick-c");
    let stick_d = r.path("stick-d");
    let alice = r.key_id("alice");
    assert_ok(
        &r.tuf_repo(&[
            "stage-rotation",
            repo_s,
            "--stick",
            path_str(&stick_c),
            "--add-root-key",
            path_str(&r.pub_key("carol")),
            "--remove-root-key",
            &alice[..12],
            // Past the fixture's reference time (2030), which python-tuf checks at.
            "--root-expires-days",
            "1500",
        ]),
        "stage v2",
    );
    assert!(stick_c.join("tuf-ceremony/repository/1.root.json").exists());
    assert!(!stick_c.join("tuf-ceremony/staged/targets.json").exists());
    copy_stick(&stick_c, &stick_d);
    let trusted = ["--trusted", "repository/1.root.json"];
    assert_ok(
        &r.sign(&stick_c, "staged/root.json", &trusted, "alice"),
        "alice signs v2",
    );
    for token in ["bob", "carol"] {
        assert_ok(
            &r.sign(&stick_d, "staged/root.json", &trusted, token),
            &format!("{token} signs v2"),
        );
    }

    // Alice's signature alone meets neither threshold.
    assert_ok(
        &r.tuf_repo(&["merge", repo_s, path_str(&stick_c)]),
        "merge one stick",
    );
    let before = snapshot_of(&published);
    refused(
        &r.tuf_repo(&["commit", repo_s]),
        "commit v2 below threshold",
        &["staged/root.json", "root v2", "threshold"],
    );
    assert_eq!(snapshot_of(&published), before);

    let run = r.tuf_repo(&["merge", repo_s, path_str(&stick_c), path_str(&stick_d)]);
    assert_ok(&run, "merge v2");
    assert!(run.stdout.contains("root v1 (trusted): 2/2 met"), "{run:?}");
    assert!(run.stdout.contains("root v2 (new): 2/2 met"), "{run:?}");
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit v2");
    let run = r.tuf_repo(&["verify", repo_s]);
    assert_ok(&run, "verify after the rotation");
    assert!(
        run.stdout
            .contains("root v2: ok — root keys 2/2 of v1, 2/2 of v2"),
        "{run:?}"
    );
    // Pinned to root v2, the chain starts there.
    let run = r.tuf_repo(&[
        "verify",
        repo_s,
        "--trusted",
        path_str(&published.join("2.root.json")),
    ]);
    assert_ok(&run, "verify from a pinned root");
    assert!(!run.stdout.contains("root v1"), "{run:?}");
    assert_eq!(
        std::fs::read(published.join("root.json")).unwrap(),
        std::fs::read(published.join("2.root.json")).unwrap()
    );
    assert!(published.join("2.snapshot.json").exists());

    let run = r.tuf_repo(&["status", repo_s]);
    assert_ok(&run, "status");
    for line in ["root", "targets", "snapshot", "timestamp"] {
        assert!(
            run.stdout.lines().any(|l| l.starts_with(line)),
            "{line}: {run:?}"
        );
    }
    assert!(run.stdout.contains(&r.key_id("carol")[..8]), "{run:?}");
    refused(
        &r.tuf_repo(&["status", repo_s, "--at", "2029-01-01T00:00:00Z"]),
        "status near expiry",
        &["timestamp v2", "expired", "targets v1"],
    );

    let run = r.tuf_repo(&[
        "verify-root",
        "--trusted",
        path_str(&published.join("1.root.json")),
        path_str(&published.join("2.root.json")),
    ]);
    assert_ok(&run, "verify-root");
    // A root that skips a version is refused, naming the file and versions.
    let staged = repo.join("staged/root.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(published.join("2.root.json")).unwrap()).unwrap();
    value["signed"]["version"] = 4.into();
    std::fs::write(&staged, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    let before = snapshot_of(&published);
    refused(
        &r.tuf_repo(&["commit", repo_s]),
        "root v4 after v2",
        &["staged/root.json", "root v4", "expected 3"],
    );
    assert_eq!(snapshot_of(&published), before);

    let verdict = python_accepts(
        &published.join("1.root.json"),
        &published.join("2.root.json"),
    );
    assert_eq!(verdict, Ok(()), "python-tuf accepts root v2 after v1");

    // python-tuf's client updates from the published directory, from root v1.
    let output = Command::new(python())
        .arg(workspace_root().join("tests/fixtures/python_refresh.py"))
        .arg(published.join("1.root.json"))
        .arg(&published)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        said.contains("root v2, timestamp v2, snapshot v2, targets v1"),
        "{said}"
    );
}

#[test]
fn merge_and_stage_refuse_what_could_never_be_trusted_naming_the_stick_or_role() {
    let r = Releaser::new(&[("alice", "ecdsa-p256"), ("bob", "ed25519")], false);
    let repo = r.path("repo");
    let repo_s = path_str(&repo);
    let (alice, bob) = (r.pub_key("alice"), r.pub_key("bob"));
    assert_ok(
        &r.tuf_repo(&[
            "init",
            repo_s,
            "--root-key",
            path_str(&alice),
            "--root-key",
            path_str(&bob),
            "--root-threshold",
            "2",
            // Online keys are only used at commit, which this test never reaches.
            "--snapshot-key",
            path_str(&alice),
            "--timestamp-key",
            path_str(&bob),
        ]),
        "init",
    );
    refused(
        &r.tuf_repo(&[
            "init",
            repo_s,
            "--root-key",
            path_str(&alice),
            "--root-threshold",
            "1",
            "--snapshot-key",
            path_str(&alice),
            "--timestamp-key",
            path_str(&bob),
        ]),
        "init over a repository",
        &[repo_s, "not empty"],
    );

    // A threshold no set of keys can meet is refused before anything is written.
    let stick_a = r.path("stick-a");
    refused(
        &r.tuf_repo(&[
            "stage-rotation",
            repo_s,
            "--stick",
            path_str(&stick_a),
            "--root-threshold",
            "3",
        ]),
        "unsignable threshold",
        &["root role", "threshold 3", "could never be met"],
    );
    assert!(!stick_a.exists());
    assert_ok(
        &r.tuf_repo(&["stage-rotation", repo_s, "--stick", path_str(&stick_a)]),
        "stage",
    );
    // `--out`, the older spelling of `--stick`, still works.
    refused(
        &r.tuf_repo(&["stage-rotation", repo_s, "--out", path_str(&stick_a)]),
        "a second bundle on the same stick",
        &["already exists"],
    );

    // Alice signs twice, on two sticks: ECDSA signatures differ each time.
    let stick_b = r.path("stick-b");
    copy_stick(&stick_a, &stick_b);
    for stick in [&stick_a, &stick_b] {
        assert_ok(
            &r.sign(stick, "staged/root.json", &[], "alice"),
            "alice signs",
        );
    }
    let before = snapshot_of(&repo);
    refused(
        &r.tuf_repo(&["merge", repo_s, path_str(&stick_a), path_str(&stick_b)]),
        "conflicting signatures",
        &[path_str(&stick_b), "a different signature by key"],
    );

    // A signature by a key no key set lists.
    let stick_c = r.path("stick-c");
    copy_stick(&stick_a, &stick_c);
    let file = stick_c.join("tuf-ceremony/staged/root.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    value["signatures"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"keyid": "ab".repeat(32), "sig": "00"}));
    std::fs::write(&file, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    refused(
        &r.tuf_repo(&["merge", repo_s, path_str(&stick_c)]),
        "unlisted key",
        &[
            path_str(&stick_c),
            "signature by key abababab, which no key set lists",
        ],
    );
    assert_eq!(snapshot_of(&repo), before, "refused merges write nothing");

    // One good stick merges, and the board says what is still missing.
    let run = r.tuf_repo(&["merge", repo_s, path_str(&stick_a)]);
    assert_ok(&run, "merge one stick");
    assert!(run.stdout.contains("root v1: 1/2 not met"), "{run:?}");

    // Root v1 meets its threshold, but nobody signed targets v1.
    let stick_d = r.path("stick-d");
    copy_stick(&stick_a, &stick_d);
    assert_ok(
        &r.sign(&stick_d, "staged/root.json", &[], "bob"),
        "bob signs",
    );
    let run = r.tuf_repo(&["merge", repo_s, path_str(&stick_d)]);
    assert_ok(&run, "merge the second signature");
    assert!(run.stdout.contains("root v1: 2/2 met"), "{run:?}");
    let before = snapshot_of(&repo);
    refused(
        &r.tuf_repo(&["commit", repo_s]),
        "a new repository without signed targets",
        &[
            "staged/targets.json",
            "targets v1",
            "targets role not met: 0/2",
        ],
    );
    assert_eq!(
        snapshot_of(&repo),
        before,
        "a refused commit changes nothing"
    );
}

/// A copy of the repository to break in one way, and `verify` on it.
fn verify_broken(repo: &Path, scratch: &Path, break_it: impl FnOnce(&Path)) -> Run {
    if scratch.exists() {
        std::fs::remove_dir_all(scratch).unwrap();
    }
    copy_dir(repo, scratch);
    break_it(&scratch.join("repository"));
    tuf_ceremony_e2e::tuf_repo(["verify", path_str(scratch)])
}

#[test]
fn a_target_goes_from_add_target_through_a_ceremony_to_a_python_tuf_download() {
    let r = Releaser::new(&[("alice", "ecdsa-p256"), ("bob", "ed25519")], true);
    let repo = r.published_v1("alice");
    let repo_s = path_str(&repo);
    let published = repo.join("repository");
    refused(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&r.path("stick-0"))]),
        "nothing to stage",
        &["nothing is staged"],
    );

    // Targets: one kept, one added and removed again, one refused path.
    let log_key = r.path("log.pub");
    std::fs::write(&log_key, b"-----BEGIN PUBLIC KEY-----\nexample\n").unwrap();
    let custom = r.path("custom.json");
    std::fs::write(&custom, br#"{"usage": "transparency log"}"#).unwrap();
    let run = r.tuf_repo(&[
        "add-target",
        repo_s,
        path_str(&log_key),
        "--name",
        "keys/log.pub",
        "--custom",
        path_str(&custom),
    ]);
    assert_ok(&run, "add-target");
    assert!(run.stdout.contains("targets v2"), "{run:?}");
    let extra = r.path("extra.json");
    std::fs::write(&extra, b"{}").unwrap();
    assert_ok(
        &r.tuf_repo(&["add-target", repo_s, path_str(&extra)]),
        "add-target extra",
    );
    let run = r.tuf_repo(&["remove-target", repo_s, "extra.json"]);
    assert_ok(&run, "remove-target");
    assert!(
        run.stdout.contains("targets v2"),
        "one bump per round: {run:?}"
    );
    refused(
        &r.tuf_repo(&["remove-target", repo_s, "extra.json"]),
        "remove a missing target",
        &["staged/targets.json", "no target \"extra.json\""],
    );
    refused(
        &r.tuf_repo(&[
            "add-target",
            repo_s,
            path_str(&extra),
            "--name",
            "../escape",
        ]),
        "a path that escapes",
        &["../escape", ".."],
    );
    let staged = tuf_ceremony_e2e::read_json(&repo.join("staged/targets.json"));
    assert_eq!(
        staged["signed"]["targets"]["keys/log.pub"]["custom"]["usage"],
        "transparency log"
    );
    assert!(staged["signed"]["targets"].get("extra.json").is_none());
    assert!(
        !published.join("targets").exists(),
        "blobs wait until commit"
    );

    // The targets ceremony: signed for root v1's targets keys.
    let stick = r.path("stick-2");
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage targets",
    );
    let manifest = tuf_ceremony_e2e::read_json(&stick.join("tuf-ceremony/manifest.json"));
    assert_eq!(manifest["items"].as_array().unwrap().len(), 1, "{manifest}");
    assert_eq!(manifest["items"][0]["file"], "staged/targets.json");
    assert_eq!(
        manifest["items"][0]["key_sets"][0]["label"],
        "targets (root v1)"
    );
    refused(
        &r.tuf_repo(&["commit", repo_s]),
        "commit unsigned targets",
        &["staged/targets.json", "targets v2", "threshold"],
    );
    assert_ok(
        &r.sign(
            &stick,
            "staged/targets.json",
            &["--trusted", "repository/1.root.json"],
            "alice",
        ),
        "alice signs targets v2",
    );
    let run = r.tuf_repo(&["merge", repo_s, path_str(&stick)]);
    assert_ok(&run, "merge targets");
    assert!(run.stdout.contains("targets (root v1): 1/1 met"), "{run:?}");
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit targets v2");
    let digest = staged["signed"]["targets"]["keys/log.pub"]["hashes"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let blob = published.join(format!("targets/keys/{digest}.log.pub"));
    assert_eq!(
        std::fs::read(&blob).unwrap(),
        std::fs::read(&log_key).unwrap()
    );

    let run = r.tuf_repo(&["verify", repo_s]);
    assert_ok(&run, "verify");
    for line in [
        "root v1: ok",
        "timestamp v2: ok",
        "snapshot v2: ok",
        "targets v2: ok",
    ] {
        assert!(run.stdout.contains(line), "{line}: {run:?}");
    }
    assert!(run.stdout.contains("1 target files"), "{run:?}");
    let out = r.path("downloaded.pub");
    let said = python_downloads(
        &published.join("1.root.json"),
        &published,
        "keys/log.pub",
        &out,
    );
    assert!(said.contains("targets v2"), "{said}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&log_key).unwrap()
    );

    // A rotation collecting signatures: commit refuses, timestamp does not.
    assert_ok(
        &r.tuf_repo(&[
            "stage-rotation",
            repo_s,
            "--stick",
            path_str(&r.path("stick-3")),
            "--add-root-key",
            path_str(&r.pub_key("bob")),
        ]),
        "stage root v2",
    );
    let run = r.tuf_repo(&["timestamp", repo_s]);
    assert_ok(&run, "timestamp outside its margin");
    assert!(run.stdout.contains("nothing to do"), "{run:?}");
    let in_margin = time::OffsetDateTime::now_utc() + time::Duration::hours(20);
    let at = in_margin
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let run = r.tuf_repo(&["timestamp", repo_s, "--at", &at]);
    assert_ok(&run, "timestamp inside its margin");
    assert!(run.stdout.contains("timestamp.json"), "{run:?}");
    assert_ok(
        &r.tuf_repo(&["timestamp", repo_s, "--force"]),
        "timestamp --force",
    );
    assert_ok(&r.tuf_repo(&["snapshot", repo_s]), "snapshot");
    refused(
        &r.tuf_repo(&["commit", repo_s]),
        "commit of a root still collecting signatures",
        &["staged/root.json", "root v2", "threshold"],
    );
    let run = r.tuf_repo(&["verify", repo_s]);
    assert_ok(&run, "verify after refreshes");
    assert!(run.stdout.contains("timestamp v5: ok"), "{run:?}");
    assert!(run.stdout.contains("snapshot v3: ok"), "{run:?}");
    python_downloads(
        &published.join("1.root.json"),
        &published,
        "keys/log.pub",
        &out,
    );

    // What verify refuses, each naming the file.
    let scratch = r.path("broken");
    let run = verify_broken(&repo, &scratch, |p| {
        let blob = p.join(format!("targets/keys/{digest}.log.pub"));
        let mut bytes = std::fs::read(&blob).unwrap();
        bytes[0] ^= 1;
        std::fs::write(&blob, bytes).unwrap();
    });
    refused(
        &run,
        "a tampered target file",
        &[&format!("{digest}.log.pub"), "keys/log.pub", "sha256"],
    );
    let run = verify_broken(&repo, &scratch, |p| {
        let file = p.join("3.snapshot.json");
        // Same length, still the same JSON value: only the hash tells.
        let mut bytes = std::fs::read(&file).unwrap();
        assert_eq!(bytes.pop(), Some(b'\n'));
        bytes.push(b' ');
        std::fs::write(&file, bytes).unwrap();
    });
    refused(
        &run,
        "a snapshot whose hash does not match",
        &["3.snapshot.json", "sha256", "timestamp"],
    );
    let late = time::OffsetDateTime::now_utc() + time::Duration::days(2);
    let at = late
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let run = tuf_ceremony_e2e::tuf_repo(["verify", repo_s, "--at", &at]);
    refused(&run, "an expired timestamp", &["timestamp.json", "expired"]);

    // The rotation completes (alice and bob sign root v2), and python-tuf's
    // ngclient, pinned to root v1, follows it over a loopback HTTP server
    // and downloads the target.
    let stick = r.path("stick-3");
    let trusted = ["--trusted", "repository/1.root.json"];
    for token in ["alice", "bob"] {
        assert_ok(
            &r.sign(&stick, "staged/root.json", &trusted, token),
            &format!("{token} signs root v2"),
        );
    }
    assert_ok(
        &r.tuf_repo(&["merge", repo_s, path_str(&stick)]),
        "merge v2",
    );
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit v2");
    let served = Served::start(&repo);
    let said = python_http_download(
        &published.join("1.root.json"),
        &served,
        "keys/log.pub",
        &r.path("http-client"),
    );
    assert!(said.contains("python-tuf trusts root v2"), "{said}");
    // tough follows the rotation to root v2 (alice's ECDSA P-256 key and
    // bob's ed25519 key) over the same server, then stops at its naming limit for a
    // target in a directory (docs/testing.md).
    let said = tough_misnames_a_target_in_a_directory(
        &published.join("1.root.json"),
        &served.url,
        &format!("{}targets/", served.url),
        &r.path("http-tough"),
        "keys/log.pub",
        &digest,
        &r.path("http-tough.pub"),
    );
    assert!(said.contains("tough: root v2, "), "{said}");
}

/// `tuf-repo commit` run under strace, killed (SIGKILL) at its `k`-th
/// rename: a real crash between two of its writes, with no hook in the code.
/// `Some(run)` if it was killed, `None` if it finished before rename `k`.
const RENAMES: &str = "rename,renameat,renameat2";

fn commit_killed_at(repo: &Path, syscalls: &str, k: usize) -> Option<Run> {
    let commit = Invocation::new(binary("tuf-repo"), &["commit", path_str(repo)])
        .env("TUF_SNAPSHOT_PASSPHRASE", SNAPSHOT_PASS)
        .env("TUF_TIMESTAMP_PASSPHRASE", TIMESTAMP_PASS);
    let run = run_with_fault(&commit, syscalls, k, Fault::Kill);
    (run.code != Some(0)).then_some(run)
}

#[test]
fn a_commit_killed_between_any_two_writes_leaves_a_repository_clients_accept() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let repo = r.published_v1("alice");
    let repo_s = path_str(&repo);

    // Targets v2 with a new file, signed and merged: ready to commit.
    let file = r.path("service-map.json");
    std::fs::write(&file, br#"{"api": "https://example.invalid"}"#).unwrap();
    assert_ok(
        &r.tuf_repo(&["add-target", repo_s, path_str(&file)]),
        "add-target",
    );
    let stick = r.path("stick-2");
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage v2",
    );
    let trusted = ["--trusted", "repository/1.root.json"];
    assert_ok(
        &r.sign(&stick, "staged/targets.json", &trusted, "alice"),
        "targets v2",
    );
    assert_ok(
        &r.tuf_repo(&["merge", repo_s, path_str(&stick)]),
        "merge v2",
    );

    let mut crashes = 0;
    for k in 1.. {
        let copy = r.path(&format!("repo-crash-{k}"));
        copy_dir(&repo, &copy);
        let Some(killed) = commit_killed_at(&copy, RENAMES, k) else {
            break;
        };
        crashes += 1;
        assert_eq!(
            killed.code, None,
            "rename {k}: not killed by the signal: {killed:?}"
        );
        // Whatever the crash left, a client sees a consistent repository...
        let published = copy.join("repository");
        assert_ok(
            &r.tuf_repo(&["verify", path_str(&copy)]),
            &format!("verify after crash {k}"),
        );
        let output = Command::new(python())
            .arg(workspace_root().join("tests/fixtures/python_refresh.py"))
            .arg(published.join("1.root.json"))
            .arg(&published)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "crash {k}: python-tuf refuses: {said}"
        );
        // ...either the old one or the new one, never a mix.
        assert!(
            said.starts_with("python-tuf trusts root v1, timestamp v"),
            "crash {k}: {said}"
        );
        // tough, the third client, too, reading the files where they lie.
        let tough_store = r.path(&format!("tough-{k}"));
        let said = tough_loads_dir(&published.join("1.root.json"), &published, &tough_store);
        assert!(
            said.starts_with("tough: root v1, timestamp v"),
            "crash {k}: {said}"
        );
        // And committing again finishes the job.
        assert_ok(
            &r.tuf_repo(&["commit", path_str(&copy)]),
            &format!("commit after crash {k}"),
        );
        assert_ok(
            &r.tuf_repo(&["verify", path_str(&copy)]),
            &format!("verify after recovery {k}"),
        );
        python_downloads(
            &published.join("1.root.json"),
            &published,
            "service-map.json",
            &r.path(&format!("download-{k}")),
        );
        // A top-level target: tough downloads it (its naming limit is only
        // for targets in directories), following on from what it kept.
        let tough_out = r.path(&format!("tough-download-{k}"));
        let said = tough_downloads(
            &published.join("1.root.json"),
            &file_url(&published),
            &file_url(&published.join("targets")),
            "service-map.json",
            &tough_store,
            &tough_out,
        );
        assert!(said.contains(", targets v2, "), "crash {k}: {said}");
        assert_eq!(
            std::fs::read(&tough_out).unwrap(),
            std::fs::read(&file).unwrap()
        );
    }
    assert!(
        crashes >= 4,
        "commit v2 writes at least blob, targets, snapshot, timestamp: {crashes}"
    );
}

/// A repository whose first ceremony (root and targets v1) is signed and
/// merged: the next `commit` publishes it.
fn ready_to_commit(r: &Releaser) -> std::path::PathBuf {
    let repo = r.init_repo("repo", &["alice"], 1);
    let repo_s = path_str(&repo);
    let stick = r.path("stick");
    assert_ok(
        &r.tuf_repo(&["stage-rotation", repo_s, "--stick", path_str(&stick)]),
        "stage v1",
    );
    assert_ok(
        &r.sign(&stick, "staged/root.json", &[], "alice"),
        "sign root",
    );
    assert_ok(
        &r.sign(
            &stick,
            "staged/targets.json",
            &["--staged-root", "staged/root.json"],
            "alice",
        ),
        "sign targets",
    );
    assert_ok(&r.tuf_repo(&["merge", repo_s, path_str(&stick)]), "merge");
    repo
}

#[test]
/// The first commit (root v1 with `root.json`) killed at any rename or
/// fsync: the next command (here `verify`) finds the old repository or
/// completes the new one, never `1.root.json` without `root.json`.
fn a_first_commit_killed_at_any_rename_or_fsync_is_completed_or_undone_by_the_next_command() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let base = ready_to_commit(&r);
    let mut killed = 0;
    // Every rename; every other fsync (a sample, to keep CI's time).
    for (syscalls, step) in [(RENAMES, 1), ("fsync,fdatasync", 2)] {
        for when in (1..).step_by(step) {
            let repo = r.path(&format!("first-crash-{}-{when}", &syscalls[..5]));
            copy_dir(&base, &repo);
            let repo_s = path_str(&repo);
            if commit_killed_at(&repo, syscalls, when).is_none() {
                assert!(when > 1, "{syscalls}: the commit made no such call");
                break;
            }
            killed += 1;
            let published = repo.join("repository");
            // The next command (here `verify`, which judges the repository)
            // first completes or undoes the killed commit.
            let verify = r.tuf_repo(&["verify", repo_s]);
            let root_v1 = published.join("1.root.json").exists();
            let root = published.join("root.json").exists();
            assert_eq!(
                root_v1, root,
                "{syscalls} #{when}: 1.root.json and root.json go together: {verify:?}"
            );
            assert!(
                !repo.join(".tuf-repo-journal").exists(),
                "{syscalls} #{when}: the journal is gone after the next command"
            );
            if root {
                assert_ok(
                    &verify,
                    &format!("{syscalls} #{when}: verify the new state"),
                );
                assert!(
                    !published.join("1.snapshot.json").exists()
                        || published.join("timestamp.json").exists(),
                    "{syscalls} #{when}"
                );
            } else {
                assert_eq!(verify.code, Some(1), "{syscalls} #{when}: {verify:?}");
                assert_ok(
                    &r.tuf_repo(&["commit", repo_s]),
                    &format!("{syscalls} #{when}: commit again"),
                );
                assert_ok(
                    &r.tuf_repo(&["verify", repo_s]),
                    &format!("{syscalls} #{when}: verify after the re-run"),
                );
            }
        }
    }
    assert!(killed >= 6, "only {killed} kill points were reached");
    eprintln!("{killed} kill points, each completed or undone");
}
