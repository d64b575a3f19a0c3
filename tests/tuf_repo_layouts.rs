//! `tuf-repo export` and `tuf-repo import` with go-tuf's layout
//! (`repository/`, `staged/`) and tuf-on-ci's (`metadata/`,
//! `metadata/root_history/`, `targets/`): a repository whose root was
//! rotated once (SoftHSM2 token, `ceremony sign`) goes out and comes back;
//! go-tuf's copy is byte-identical, python-tuf reads tuf-on-ci's root
//! history, and the imported repositories verify and serve a target to
//! python-tuf's client. Imports keep versions (a history without v1, the
//! repository's own snapshot and timestamp); online keys root does not
//! list are held elsewhere, and root N+1 handing them over is staged.
//! Refusals write nothing (more in tests/tuf_repo_import.rs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tuf_ceremony_e2e::repo_setup::Releaser;
use tuf_ceremony_e2e::tough::{file_url, tough_misnames_a_target_in_a_directory};
use tuf_ceremony_e2e::{Run, assert_ok, binary, path_str, python_downloads, run_fixture_script};

/// Every file under `dir`, by relative path, with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path.strip_prefix(dir).unwrap().to_owned(), bytes);
            }
        }
    }
    out
}

fn refused(run: &Run, what: &str, needles: &[&str]) {
    assert_eq!(run.code, Some(1), "{what}: {run:?}");
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "{what}: one error line: {run:?}"
    );
    assert!(run.stderr.starts_with("error: "), "{what}: {run:?}");
    for needle in needles {
        assert!(run.stderr.contains(needle), "{what}: {needle:?} in {run:?}");
    }
}

/// `import` with the releaser's online keys (or others).
fn import(r: &Releaser, dir: &Path, layout: &str, repo: &Path, extra: &[&str]) -> Run {
    let snapshot = r.path("snapshot.age");
    let timestamp = r.path("timestamp.age");
    let mut argv = vec![
        "import",
        path_str(dir),
        "--layout",
        layout,
        path_str(repo),
        "--online-snapshot-age",
        path_str(&snapshot),
        "--online-timestamp-age",
        path_str(&timestamp),
    ];
    argv.extend_from_slice(extra);
    r.tuf_repo(&argv)
}

/// Root v2 by a rotation that keeps alice's key (one signature serves both thresholds).
fn rotate(r: &Releaser, repo: &Path) {
    let repo_s = path_str(repo);
    let stick = r.path("stick-rotation");
    assert_ok(
        &r.tuf_repo(&["stage-rotation", repo_s, "--out", path_str(&stick)]),
        "stage root v2",
    );
    assert_ok(
        &r.sign(
            &stick,
            "staged/root.json",
            &["--trusted", "repository/1.root.json"],
            "alice",
        ),
        "sign root v2",
    );
    assert_ok(&r.tuf_repo(&["merge", repo_s, path_str(&stick)]), "merge");
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit root v2");
}

#[test]
fn go_tuf_and_tuf_on_ci_layouts_round_trip() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let log_key = r.path("log.pub");
    std::fs::write(&log_key, b"a transparency log's public key\n").unwrap();
    let repo = r.published_v1_with_targets("alice", &[(&log_key, "keys/log.pub")]);
    rotate(&r, &repo);
    let repo_s = path_str(&repo);
    let published = repo.join("repository");
    // Something staged and not yet published: go-tuf's staged/ carries it.
    let note = r.path("note.txt");
    std::fs::write(&note, b"staged, not yet signed\n").unwrap();
    assert_ok(
        &r.tuf_repo(&["add-target", repo_s, path_str(&note), "--name", "note.txt"]),
        "add-target",
    );

    // go-tuf: out, and back into a new repository, byte for byte.
    let go = r.path("go-tuf");
    assert_ok(
        &r.tuf_repo(&[
            "export",
            repo_s,
            "--layout",
            "go-tuf",
            "--out",
            path_str(&go),
        ]),
        "export go-tuf",
    );
    assert_eq!(tree(&go.join("repository")), tree(&published));
    assert_eq!(
        std::fs::read(go.join("staged/targets.json")).unwrap(),
        std::fs::read(repo.join("staged/targets.json")).unwrap()
    );
    assert_eq!(
        std::fs::read(go.join("staged/targets/note.txt")).unwrap(),
        std::fs::read(&note).unwrap()
    );
    assert!(
        !go.join("staged/root.json").exists(),
        "root v2 is published"
    );
    refused(
        &r.tuf_repo(&[
            "export",
            repo_s,
            "--layout",
            "go-tuf",
            "--out",
            path_str(&go),
        ]),
        "export over a non-empty directory",
        &["go-tuf", "not empty"],
    );

    // An online key root does not list (here the snapshot key): the
    // repository is imported as it is, nothing signed, and root v3 that
    // hands snapshot and timestamp to the configured keys is staged.
    let stranger = r.path("stranger.age");
    let output = std::process::Command::new(binary("ceremony"))
        .args(["onboard", "--age", path_str(&stranger), "--passphrase-file"])
        .arg(r.path("snapshot.pass"))
        .args(["--key-type", "ed25519", "--out"])
        .arg(r.path("stranger.pub.json"))
        .output()
        .unwrap();
    assert!(output.status.success(), "onboard a stranger: {output:?}");
    let swapped = r.path("swapped");
    let run = r.tuf_repo(&[
        "import",
        path_str(&go),
        "--layout",
        "go-tuf",
        path_str(&swapped),
        "--online-snapshot-age",
        path_str(&stranger),
        "--online-timestamp-age",
        path_str(&r.path("timestamp.age")),
    ]);
    assert_ok(&run, "import with an online key root does not list");
    assert!(
        run.stdout.contains("held elsewhere") && run.stdout.contains("root v3 staged"),
        "{run:?}"
    );
    assert_eq!(tree(&swapped.join("repository")), tree(&published));
    let staged = tuf_ceremony_e2e::read_json(&swapped.join("staged/root.json"));
    let stranger_id = tuf_ceremony_e2e::read_json(&r.path("stranger.pub.json"))["keyid"].clone();
    assert_eq!(staged["signed"]["version"], 3);
    assert_eq!(
        staged["signed"]["roles"]["snapshot"]["keyids"],
        serde_json::json!([stranger_id])
    );
    let config = std::fs::read_to_string(swapped.join("tuf-repo.toml")).unwrap();
    assert!(config.contains("held_elsewhere_until_root = 3"), "{config}");
    let run = r.tuf_repo(&["snapshot", path_str(&swapped)]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("held elsewhere"), "{run:?}");
    let siblings = std::fs::read_dir(r.path("")).unwrap();
    for entry in siblings {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tuf-repo-"), "scratch left behind: {name}");
    }

    let from_go = r.path("from-go");
    let run = import(&r, &go, "go-tuf", &from_go, &[]);
    assert_ok(&run, "import go-tuf");
    assert_eq!(tree(&from_go.join("repository")), tree(&published));
    assert_eq!(
        std::fs::read(from_go.join("staged/targets.json")).unwrap(),
        std::fs::read(repo.join("staged/targets.json")).unwrap()
    );
    assert_ok(
        &r.tuf_repo(&["verify", path_str(&from_go)]),
        "verify the import",
    );
    refused(
        &import(&r, &go, "go-tuf", &from_go, &[]),
        "import into a non-empty directory",
        &["from-go", "not empty"],
    );

    // Two days on the timestamp (1 day) has expired: the import reports it
    // and goes ahead; `tuf-repo timestamp` then renews it.
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let late = r.path("late");
    let run = import(&r, &go, "go-tuf", &late, &["--at", &later]);
    assert_ok(&run, "import with an expired timestamp");
    assert!(
        run.stdout.contains("expired") && run.stdout.contains("allowed"),
        "{run:?}"
    );
    let run = r.tuf_repo(&["verify", path_str(&late), "--at", &later]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_ok(
        &r.tuf_repo(&["timestamp", path_str(&late), "--at", &later]),
        "renew the timestamp",
    );
    assert_ok(
        &r.tuf_repo(&["verify", path_str(&late), "--at", &later]),
        "verify after the renewal",
    );

    // tuf-on-ci: every root in root_history (python-tuf reads each), the
    // latest roles under plain names, no snapshot or timestamp.
    let ci = r.path("tuf-on-ci");
    assert_ok(
        &r.tuf_repo(&[
            "export",
            repo_s,
            "--layout",
            "tuf-on-ci",
            "--out",
            path_str(&ci),
        ]),
        "export tuf-on-ci",
    );
    let metadata = ci.join("metadata");
    let mut names: Vec<String> = tree(&ci).keys().map(|p| p.display().to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "metadata/root.json",
            "metadata/root_history/1.root.json",
            "metadata/root_history/2.root.json",
            "metadata/targets.json",
            "targets/keys/log.pub",
        ]
    );
    assert_eq!(
        std::fs::read(metadata.join("root.json")).unwrap(),
        std::fs::read(published.join("2.root.json")).unwrap()
    );
    assert_eq!(
        std::fs::read(metadata.join("targets.json")).unwrap(),
        std::fs::read(published.join("1.targets.json")).unwrap()
    );
    let history = [
        metadata.join("root_history/1.root.json"),
        metadata.join("root_history/2.root.json"),
    ];
    let args: Vec<&std::ffi::OsStr> = history.iter().map(|p| p.as_os_str()).collect();
    let said = run_fixture_script("python_verify_root.py", &args);
    let said = String::from_utf8_lossy(&said.stdout);
    assert_eq!(said.matches(": ok").count(), 2, "{said}");

    // A tampered targets.json is refused by name; nothing is written.
    let tampered = r.path("tampered");
    copy_tree(&ci, &tampered);
    let targets = tampered.join("metadata/targets.json");
    let text = std::fs::read_to_string(&targets).unwrap();
    std::fs::write(&targets, text.replace("keys/log.pub", "keys/lag.pub")).unwrap();
    let bad = r.path("from-tampered");
    refused(
        &import(&r, &tampered, "tuf-on-ci", &bad, &[]),
        "a tampered targets.json",
        &["metadata/targets.json", "targets"],
    );
    assert!(!bad.exists());
    // A history without v1 (a checkout of the later roots): trust starts
    // at the oldest root present.
    let later = r.path("later");
    copy_tree(&ci, &later);
    std::fs::remove_file(later.join("metadata/root_history/1.root.json")).unwrap();
    let from_later = r.path("from-later");
    assert_ok(
        &import(&r, &later, "tuf-on-ci", &from_later, &[]),
        "a root history without v1",
    );
    assert!(!from_later.join("repository/1.root.json").exists());
    let run = r.tuf_repo(&["verify", path_str(&from_later)]);
    assert_ok(&run, "verify from root v2");
    assert!(
        run.stdout.contains("root v2: ok — starting point"),
        "{run:?}"
    );

    // tuf-on-ci's own snapshot and timestamp, signed with our keys: the
    // import signs the next ones above them, never restarting at v1.
    let signed = r.path("tuf-on-ci-signed");
    copy_tree(&ci, &signed);
    let snapshot_v = latest(&published, "snapshot");
    std::fs::copy(
        published.join(format!("{snapshot_v}.snapshot.json")),
        signed.join("metadata/snapshot.json"),
    )
    .unwrap();
    std::fs::copy(
        published.join("timestamp.json"),
        signed.join("metadata/timestamp.json"),
    )
    .unwrap();
    let timestamp_v =
        tuf_ceremony_e2e::read_json(&published.join("timestamp.json"))["signed"]["version"]
            .as_u64()
            .unwrap();
    let from_signed = r.path("from-signed");
    assert_ok(
        &import(&r, &signed, "tuf-on-ci", &from_signed, &[]),
        "import with the repository's snapshot and timestamp",
    );
    let imported = from_signed.join("repository");
    assert_eq!(latest(&imported, "snapshot"), snapshot_v + 1);
    let ts = tuf_ceremony_e2e::read_json(&imported.join("timestamp.json"));
    assert_eq!(ts["signed"]["version"].as_u64().unwrap(), timestamp_v + 1);
    assert_ok(
        &r.tuf_repo(&["verify", path_str(&from_signed)]),
        "verify the import that kept versions",
    );

    // In with the same online keys: snapshot v1 and timestamp v1 made here.
    let from_ci = r.path("from-ci");
    assert_ok(
        &import(&r, &ci, "tuf-on-ci", &from_ci, &[]),
        "import tuf-on-ci",
    );
    let imported = from_ci.join("repository");
    for name in ["1.root.json", "2.root.json", "root.json", "1.targets.json"] {
        assert_eq!(
            std::fs::read(imported.join(name)).unwrap(),
            std::fs::read(published.join(name)).unwrap(),
            "{name}"
        );
    }
    assert!(imported.join("1.snapshot.json").is_file());
    let run = r.tuf_repo(&["verify", path_str(&from_ci)]);
    assert_ok(&run, "verify the tuf-on-ci import");
    assert!(run.stdout.contains("snapshot v1: ok"), "{run:?}");
    let out = r.path("log.out");
    python_downloads(
        &imported.join("1.root.json"),
        &imported,
        "keys/log.pub",
        &out,
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&log_key).unwrap()
    );
    // tough verifies the imported repository, then stops at its naming
    // limit for a target in a directory (docs/testing.md).
    tough_misnames_a_target_in_a_directory(
        &imported.join("1.root.json"),
        &file_url(&imported),
        &file_url(&imported.join("targets")),
        &r.path("tough-from-ci"),
        "keys/log.pub",
        &tuf_metadata::sha256_hex(&std::fs::read(&log_key).unwrap()),
        &r.path("tough-log.out"),
    );
}

/// The highest `V` of `dir/V.<role>.json`.
fn latest(dir: &Path, role: &str) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(&format!(".{role}.json"))?.parse().ok()
        })
        .max()
        .unwrap()
}

fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in tree(from) {
        let path = to.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}
