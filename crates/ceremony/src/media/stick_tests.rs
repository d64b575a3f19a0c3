//! A hostile stick: links, FIFOs and oversized histories are refused by
//! name, promptly, and nothing is read through them.

use std::path::Path;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tuf_metadata::testing::{TestKey, file_bytes, root, signed};

use super::layout::tests::{item, manifest_bytes, write};
use super::*;

const LATER: &str = "2030-01-01T00:00:00Z";

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap()
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// History 1..=n, each root v signed by key v-1 and key v; staged n+1.
fn stick(dir: &Path, n: u64) {
    let k: Vec<TestKey> = (0..=9).map(TestKey::from_seed).collect();
    let b = dir.join("tuf-ceremony");
    for v in 1..=n {
        let own = &k[v as usize];
        let prev = &k[(v - 1).max(1) as usize];
        let r = signed(root(v, &[own], 1, LATER), &[prev, own]);
        write(
            &b.join(format!("repository/{v}.root.json")),
            &file_bytes(&r),
        );
    }
    let staged = signed(root(n + 1, &[&k[n as usize + 1]], 1, LATER), &[]);
    write(&b.join("staged/root.json"), &file_bytes(&staged));
    write(
        &b.join("manifest.json"),
        &manifest_bytes(vec![item(
            "staged/root.json",
            "root",
            &staged.signed_digest(),
        )]),
    );
}

fn load_dir(dir: &Path) -> Result<Loaded, MediaError> {
    load(&recognise(dir)?, None, now())
}

#[test]
fn a_fifo_as_the_staged_root_is_refused_at_once_and_stops_the_ceremony() {
    let tmp = tempfile::tempdir().unwrap();
    stick(tmp.path(), 2);
    mkfifo(&tmp.path().join("tuf-ceremony/staged/root.json"));
    let started = Instant::now();
    let err = load_dir(tmp.path()).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        err.to_string(),
        "tuf-ceremony/staged/root.json: is not a regular file (a FIFO); refused; the stick must hold plain files and folders only"
    );
    assert!(err.stops_the_ceremony());
}

#[test]
fn a_staged_file_linked_within_the_stick_is_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    stick(tmp.path(), 2);
    let b = tmp.path().join("tuf-ceremony");
    std::fs::rename(b.join("staged/root.json"), b.join("elsewhere.json")).unwrap();
    std::os::unix::fs::symlink("../elsewhere.json", b.join("staged/root.json")).unwrap();
    let err = load_dir(tmp.path()).unwrap_err();
    assert!(matches!(err, MediaError::NotPlain { .. }), "{err}");
    assert!(err.to_string().contains("is a symbolic link"), "{err}");
}

#[test]
fn linked_folders_on_the_way_are_refused() {
    for folder in [
        "tuf-ceremony",
        "tuf-ceremony/staged",
        "tuf-ceremony/repository",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        stick(tmp.path(), 2);
        let real = tmp.path().join("moved");
        std::fs::rename(tmp.path().join(folder), &real).unwrap();
        std::os::unix::fs::symlink(&real, tmp.path().join(folder)).unwrap();
        let err = load_dir(tmp.path()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("{folder}: is a symbolic link; refused")),
            "{folder}: {err}"
        );
        assert!(err.stops_the_ceremony());
    }
}

#[test]
fn a_transcript_that_is_a_link_or_a_fifo_is_refused_when_the_stick_is_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    stick(tmp.path(), 2);
    let transcript = tmp.path().join("tuf-ceremony/transcript.jsonl");
    let target = outside.path().join("shadow");
    std::fs::write(&target, b"not the stick's\n").unwrap();
    std::os::unix::fs::symlink(&target, &transcript).unwrap();
    let err = recognise(tmp.path()).unwrap_err();
    assert!(matches!(err, MediaError::Escapes { .. }), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"not the stick's\n");

    // A link that stays on the stick is refused too.
    std::fs::remove_file(&transcript).unwrap();
    std::fs::write(tmp.path().join("other.jsonl"), b"").unwrap();
    std::os::unix::fs::symlink("../other.jsonl", &transcript).unwrap();
    let err = recognise(tmp.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tuf-ceremony/transcript.jsonl: is a symbolic link; refused (only plain files and folders are read); the stick must hold plain files and folders only"
    );

    mkfifo(&transcript);
    let err = recognise(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("(a FIFO)"), "{err}");
}

#[test]
fn history_roots_are_verified_one_at_a_time_so_the_first_forged_one_stops_the_walk() {
    let tmp = tempfile::tempdir().unwrap();
    stick(tmp.path(), 4);
    let repo = tmp.path().join("tuf-ceremony/repository");
    // v2 signed by a stranger; v3 a FIFO that would block a reader; v4
    // not even JSON. Only v2 is ever read past v1.
    let stranger = TestKey::from_seed(9);
    let forged = signed(root(2, &[&stranger], 1, LATER), &[&stranger]);
    write(&repo.join("2.root.json"), &file_bytes(&forged));
    mkfifo(&repo.join("3.root.json"));
    write(&repo.join("4.root.json"), b"not json");
    let err = load_dir(tmp.path()).unwrap_err();
    assert!(matches!(err, MediaError::History { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("tuf-ceremony/repository/2.root.json: trusted history broken"),
        "{err}"
    );
}

#[test]
fn a_history_over_the_count_cap_is_refused_before_any_root_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    stick(tmp.path(), 1);
    let repo = tmp.path().join("tuf-ceremony/repository");
    for v in 2..=MAX_HISTORY_ROOTS as u64 + 1 {
        std::fs::write(repo.join(format!("{v}.root.json")), b"{}").unwrap();
    }
    let err = recognise(tmp.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tuf-ceremony/repository: 1001 roots in the trusted history, over the cap of 1000; refused, ask the releaser"
    );
    assert!(err.stops_the_ceremony());
}

#[test]
fn a_history_over_the_size_cap_is_refused_before_any_root_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    stick(tmp.path(), 1);
    let repo = tmp.path().join("tuf-ceremony/repository");
    // Sparse files: their sizes count, no disk is used.
    let each = tuf_metadata::Limits::ROOT.max_bytes as u64;
    for v in 2..=(MAX_HISTORY_BYTES / each) + 2 {
        let file = std::fs::File::create(repo.join(format!("{v}.root.json"))).unwrap();
        file.set_len(each).unwrap();
    }
    let err = recognise(tmp.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tuf-ceremony/repository: the trusted history is over the cap of 67108864 bytes in all; refused, ask the releaser"
    );
    assert!(err.stops_the_ceremony());
}
