//! A `commit` killed at any rename or fsync (issue 15 point 1), injected
//! with strace into the real binary: the next command finds the old
//! repository or completes the new one, never the half-made state where
//! `N.root.json` exists and `root.json` does not; and a re-run of the
//! commit then reaches a repository `verify` accepts.

use std::path::Path;
use std::process::Command;

use tuf_ceremony_e2e::repo_setup::{Releaser, SNAPSHOT_PASS, TIMESTAMP_PASS};
use tuf_ceremony_e2e::{assert_ok, binary, copy_dir, path_str};

/// Runs `tuf-repo commit <repo>` under strace, killed at the `when`th
/// call of `syscalls`; true if it ran to its end (no such call).
fn commit_killed_at(repo: &Path, syscalls: &str, when: usize) -> bool {
    let status = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null"])
        .arg("-e")
        .arg(format!("inject={syscalls}:signal=KILL:when={when}"))
        .arg(binary("tuf-repo"))
        .args(["commit", path_str(repo)])
        .env("TUF_SNAPSHOT_PASSPHRASE", SNAPSHOT_PASS)
        .env("TUF_TIMESTAMP_PASSPHRASE", TIMESTAMP_PASS)
        .output()
        .expect("strace (installed by `cargo xtask test`)");
    status.status.success()
}

/// A repository whose first ceremony (root and targets v1) is signed and
/// merged: the next `commit` publishes it.
fn ready_to_commit(r: &Releaser) -> std::path::PathBuf {
    let repo = r.path("repo");
    let repo_s = path_str(&repo);
    assert_ok(
        &r.tuf_repo(&[
            "init",
            repo_s,
            "--root-key",
            path_str(&r.pub_key("alice")),
            "--root-threshold",
            "1",
            "--snapshot-key",
            path_str(&r.path("snapshot.pub.json")),
            "--timestamp-key",
            path_str(&r.path("timestamp.pub.json")),
            "--online-snapshot-age",
            path_str(&r.path("snapshot.age")),
            "--online-timestamp-age",
            path_str(&r.path("timestamp.age")),
        ]),
        "init",
    );
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
fn a_commit_killed_at_any_rename_or_fsync_is_completed_or_undone_by_the_next_command() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let base = ready_to_commit(&r);
    let mut killed = 0;
    // Every rename; every other fsync (a sample, to keep CI's time).
    for (syscalls, step) in [("rename,renameat,renameat2", 1), ("fsync,fdatasync", 2)] {
        for when in (1..).step_by(step) {
            let repo = r.path(&format!("trial-{}-{when}", &syscalls[..5]));
            copy_dir(&base, &repo);
            let repo_s = path_str(&repo);
            if commit_killed_at(&repo, syscalls, when) {
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
