//! A command whose standard output is closed (`| head`) or full (`>` on a
//! full disk) neither panics nor stops half-way through its writes
//! (issue 15 point 2): it does its work, then says in one line on stderr
//! that its report was lost, and exits 1; the work itself stands.

use std::fs::File;
use std::process::{Command, Stdio};

use tuf_ceremony_e2e::repo_setup::{Releaser, SNAPSHOT_PASS, TIMESTAMP_PASS};
use tuf_ceremony_e2e::{assert_ok, binary, path_str, read_json};

/// Runs tuf-repo with `stdout` as its standard output; (exit code, stderr).
fn tuf_repo_with_stdout(args: &[&str], stdout: Stdio) -> (Option<i32>, String) {
    let output = Command::new(binary("tuf-repo"))
        .env("TUF_SNAPSHOT_PASSPHRASE", SNAPSHOT_PASS)
        .env("TUF_TIMESTAMP_PASSPHRASE", TIMESTAMP_PASS)
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("run tuf-repo");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A pipe whose reading end is already closed: every write is EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Stdio::from(writer)
}

fn full_disk() -> Stdio {
    Stdio::from(File::create("/dev/full").expect("/dev/full"))
}

fn timestamp_version(repo: &std::path::Path) -> u64 {
    read_json(&repo.join("repository/timestamp.json"))["signed"]["version"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_closed_or_full_stdout_is_one_error_line_not_a_panic() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let repo = r.published_v1("alice");
    let repo_s = path_str(&repo);

    for args in [vec!["verify", repo_s], vec!["status", repo_s]] {
        for (how, stdout) in [("a closed pipe", closed_pipe()), ("/dev/full", full_disk())] {
            let (code, stderr) = tuf_repo_with_stdout(&args, stdout);
            assert!(
                !stderr.contains("panicked"),
                "{args:?} into {how}: {stderr}"
            );
            assert_eq!(code, Some(1), "{args:?} into {how}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{args:?} into {how}: {stderr}");
            assert!(
                stderr.starts_with("error: cannot write to standard output (")
                    && stderr.contains("the command itself completed"),
                "{args:?} into {how}: {stderr}"
            );
        }
    }
}

#[test]
fn a_mutating_command_finishes_its_writes_when_nobody_reads_what_it_says() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let repo = r.published_v1("alice");
    let repo_s = path_str(&repo);

    let before = timestamp_version(&repo);
    let (code, stderr) = tuf_repo_with_stdout(&["timestamp", repo_s, "--force"], closed_pipe());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the command itself completed"), "{stderr}");
    assert_eq!(timestamp_version(&repo), before + 1);

    let (code, stderr) = tuf_repo_with_stdout(&["timestamp", repo_s, "--force"], full_disk());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the command itself completed"), "{stderr}");
    assert_eq!(timestamp_version(&repo), before + 2);

    assert_ok(
        &r.tuf_repo(&["verify", repo_s]),
        "verify after both timestamps",
    );
}
