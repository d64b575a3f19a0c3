//! Two commands on one repository at once (issue 15 point 3): every
//! command that writes holds the repository lock, so two keyholders'
//! sticks merged at the same moment both count, a timestamp racing a
//! commit never names the snapshot the commit replaced, and a command that cannot
//! get the lock in its bounded wait says who holds it.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use tuf_ceremony_e2e::repo_setup::{Releaser, SNAPSHOT_PASS, TIMESTAMP_PASS};
use tuf_ceremony_e2e::{assert_ok, binary, copy_dir, path_str, read_json};

fn spawn_tuf_repo(args: &[&str], wait_secs: &str) -> Child {
    Command::new(binary("tuf-repo"))
        .env("TUF_SNAPSHOT_PASSPHRASE", SNAPSHOT_PASS)
        .env("TUF_TIMESTAMP_PASSPHRASE", TIMESTAMP_PASS)
        .env("TUF_REPO_LOCK_WAIT_SECS", wait_secs)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tuf-repo")
}

fn finished(child: Child, what: &str) -> (Option<i32>, String) {
    let output = child.wait_with_output().expect(what);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The key ids with a signature on the repository's staged root.
fn staged_root_signers(repo: &Path) -> Vec<String> {
    let root = read_json(&repo.join("staged/root.json"));
    let mut ids: Vec<String> = root["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["keyid"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// A new repository with root and targets v1 staged, threshold 2, and
/// one stick signed by alice, one by bob.
fn two_signed_sticks(r: &Releaser) -> (std::path::PathBuf, std::path::PathBuf) {
    let repo = r.init_repo("repo", &["alice", "bob"], 2);
    let repo_s = path_str(&repo);
    let (stick_a, stick_b) = (r.path("stick-a"), r.path("stick-b"));
    assert_ok(
        &r.tuf_repo(&["stage-rotation", repo_s, "--stick", path_str(&stick_a)]),
        "stage v1",
    );
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick_b)]),
        "stage v1 on the second stick",
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
    (stick_a, stick_b)
}

#[test]
fn two_merges_at_once_lose_no_keyholder_and_a_busy_repository_names_its_holder() {
    let r = Releaser::new(&[("alice", "ed25519"), ("bob", "ed25519")], true);
    let (stick_a, stick_b) = two_signed_sticks(&r);
    let both = {
        let mut ids = vec![r.key_id("alice"), r.key_id("bob")];
        ids.sort();
        ids
    };

    for trial in 0..20 {
        let repo = r.path(&format!("trial-{trial}"));
        copy_dir(&r.path("repo"), &repo);
        let repo_s = path_str(&repo);
        let first = spawn_tuf_repo(&["merge", repo_s, path_str(&stick_a)], "30");
        let second = spawn_tuf_repo(&["merge", repo_s, path_str(&stick_b)], "30");
        for (child, who) in [(first, "alice's stick"), (second, "bob's stick")] {
            let (code, stderr) = finished(child, who);
            assert_eq!(code, Some(0), "trial {trial}, merge {who}: {stderr}");
        }
        assert_eq!(
            staged_root_signers(&repo),
            both,
            "trial {trial}: both signatures kept"
        );
        // The commit and a forced timestamp at once: whichever goes
        // second sees the other's result, so the timestamp never names a
        // snapshot the commit replaced.
        let commit = spawn_tuf_repo(&["commit", repo_s], "30");
        let timestamp = spawn_tuf_repo(&["timestamp", repo_s, "--force"], "30");
        let (code, stderr) = finished(commit, "commit");
        assert_eq!(code, Some(0), "trial {trial}, commit: {stderr}");
        let (code, stderr) = finished(timestamp, "timestamp");
        assert!(
            code == Some(0) || stderr.contains("nothing is published yet"),
            "trial {trial}, timestamp: {stderr}"
        );
        assert_ok(
            &r.tuf_repo(&["verify", repo_s]),
            &format!("trial {trial}: verify after commit and timestamp"),
        );
    }

    // A holder that does not let go: the second command waits its bounded
    // time, then names the holder in one line and changes nothing.
    let repo = r.path("trial-0");
    let repo_s = path_str(&repo);
    let lock = std::fs::File::open(repo.join(".tuf-repo.lock")).unwrap();
    lock.lock().unwrap();
    let before = std::fs::read(repo.join("repository/timestamp.json")).unwrap();
    let (code, stderr) = finished(
        spawn_tuf_repo(&["timestamp", repo_s, "--force"], "1"),
        "a timestamp on a held repository",
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let holder = format!("(pid {}) since 20", std::process::id());
    assert!(
        stderr.starts_with("error: repository busy: ") && stderr.contains(&holder),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(repo.join("repository/timestamp.json")).unwrap(),
        before
    );
    drop(lock);
    assert_ok(
        &r.tuf_repo(&["timestamp", repo_s, "--force"]),
        "a timestamp once the holder is gone",
    );
}
