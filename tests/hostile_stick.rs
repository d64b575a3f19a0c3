//! Issue 13, point 5: stick access is bounded. A real bundle is staged with
//! `tuf-repo stage-rotation`, then made hostile here — links off the stick
//! and within it, FIFOs where the appliance reads or appends, a history of
//! forged megabyte roots — and `ceremony inspect` (the same load as the
//! appliance's screen) must refuse each with one `error:` line, promptly
//! (a hang fails the test, it does not block it), in bounded memory, and
//! with every file it was pointed at byte-identical.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tuf_ceremony_e2e::repo_setup::Releaser;
use tuf_ceremony_e2e::{binary, path_str};
use tuf_metadata::testing::{TestKey, file_bytes, root, signed};

/// Longest a refusal may take; a blocked open would never end.
const PROMPT: Duration = Duration::from_secs(60);

/// A generous bound on `ceremony inspect`'s peak memory with a hostile
/// history (the unbounded walk took 1.6 GB for 400 roots of 1 MB).
const MAX_RSS_KB: u64 = 200 * 1024;

struct Fixture {
    /// Kept for its scratch area, which holds the stick.
    _releaser: Releaser,
    stick: PathBuf,
}

impl Fixture {
    /// A repository at root v1 and a stick holding the bundle that stages
    /// root v2 (bob's key added): `tuf-ceremony/{manifest.json, staged/,
    /// repository/1.root.json}`.
    fn new() -> Fixture {
        let releaser = Releaser::new(&[("alice", "ed25519"), ("bob", "ed25519")], true);
        let repo = releaser.published_v1("alice");
        let stick = releaser.path("stick-2");
        let run = releaser.tuf_repo(&[
            "stage-rotation",
            path_str(&repo),
            "--out",
            path_str(&stick),
            "--add-root-key",
            path_str(&releaser.pub_key("bob")),
        ]);
        assert_eq!(run.code, Some(0), "stage-rotation: {run:?}");
        let fixture = Fixture {
            _releaser: releaser,
            stick,
        };
        let honest = fixture.inspect();
        assert_eq!(honest.code, Some(0), "the honest stick loads: {honest:?}");
        fixture
    }

    fn bundle(&self) -> PathBuf {
        self.stick.join("tuf-ceremony")
    }

    fn inspect(&self) -> Outcome {
        inspect(&self.stick)
    }
}

/// What a bounded run of `ceremony inspect` did.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// Peak resident memory, from `/usr/bin/time`.
    max_rss_kb: u64,
}

impl Outcome {
    /// Exit 1 with exactly one `error:` line holding every one of `words`.
    fn refused(&self, words: &[&str]) {
        assert_eq!(self.code, Some(1), "{self:?}");
        assert_eq!(self.stdout, "", "nothing reviewed: {self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one error line: {self:?}");
        assert!(lines[0].starts_with("error: "), "{self:?}");
        for word in words {
            assert!(lines[0].contains(word), "{word:?} not in {:?}", lines[0]);
        }
    }
}

/// Runs `ceremony inspect --stick <stick>` under `/usr/bin/time`, killed
/// (and the test failed) if it does not end within [`PROMPT`].
fn inspect(stick: &Path) -> Outcome {
    let rss = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(rss.path())
        .arg(binary("ceremony"))
        .args(["inspect", "--stick", path_str(stick)])
        .args(["--at", "2026-11-22T10:00:00Z"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ceremony inspect under /usr/bin/time");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > PROMPT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ceremony inspect still running after {PROMPT:?}: it blocked");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let max_rss_kb = std::fs::read_to_string(rss.path())
        .unwrap()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS from /usr/bin/time: {stderr}"));
    // /usr/bin/time adds "Command exited with non-zero status" to -o, not stderr.
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
        max_rss_kb,
    }
}

/// Every file under `dir` (links as links, FIFOs by kind) with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let content = if meta.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                format!("link to {}", target.display()).into_bytes()
            } else if meta.is_dir() {
                todo.push(path.clone());
                continue;
            } else if meta.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                b"special file".to_vec()
            };
            out.insert(path, content);
        }
    }
    out
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Moves `folder` (relative to the stick) to `aside` and puts a link to it
/// in its place; [`unlink_folder`] puts it back.
fn link_folder(stick: &Path, folder: &str, aside: &Path) {
    std::fs::rename(stick.join(folder), aside).unwrap();
    std::os::unix::fs::symlink(aside, stick.join(folder)).unwrap();
}

fn unlink_folder(stick: &Path, folder: &str, aside: &Path) {
    std::fs::remove_file(stick.join(folder)).unwrap();
    std::fs::rename(aside, stick.join(folder)).unwrap();
}

#[test]
fn links_are_refused_and_nothing_is_read_or_written_through_them() {
    let f = Fixture::new();
    let outside = tempfile::tempdir().unwrap();

    // The transcript as a link to a file off the stick (one the appliance,
    // root on the image, could write): refused at load, before any PIN.
    let shadow = outside.path().join("shadow");
    std::fs::write(&shadow, b"root:x:0:0:root:/root:/bin/sh\n").unwrap();
    let transcript = f.bundle().join("transcript.jsonl");
    std::os::unix::fs::symlink(&shadow, &transcript).unwrap();
    let before = (tree(&f.stick), tree(outside.path()));
    f.inspect()
        .refused(&["tuf-ceremony/transcript.jsonl", "leads outside the stick"]);
    assert_eq!((tree(&f.stick), tree(outside.path())), before);
    std::fs::remove_file(&transcript).unwrap();

    // A link that stays on the stick is refused as a link.
    std::fs::write(f.stick.join("elsewhere.jsonl"), b"").unwrap();
    std::os::unix::fs::symlink("../elsewhere.jsonl", &transcript).unwrap();
    f.inspect()
        .refused(&["tuf-ceremony/transcript.jsonl", "is a symbolic link"]);
    std::fs::remove_file(&transcript).unwrap();

    // The bundle folder, staged/ and repository/ as links to real folders
    // elsewhere on the same stick.
    for folder in [
        "tuf-ceremony",
        "tuf-ceremony/staged",
        "tuf-ceremony/repository",
    ] {
        let aside = f.stick.join("aside");
        link_folder(&f.stick, folder, &aside);
        let before = tree(&f.stick);
        f.inspect()
            .refused(&[&format!("{folder}: is a symbolic link")]);
        assert_eq!(tree(&f.stick), before, "{folder}");
        unlink_folder(&f.stick, folder, &aside);
    }
    assert_eq!(f.inspect().code, Some(0), "the stick is honest again");
}

#[test]
fn fifos_are_refused_at_once() {
    let f = Fixture::new();

    // The transcript as a FIFO: no writer ever comes.
    let transcript = f.bundle().join("transcript.jsonl");
    mkfifo(&transcript);
    f.inspect()
        .refused(&["tuf-ceremony/transcript.jsonl", "(a FIFO)"]);
    std::fs::remove_file(&transcript).unwrap();

    // The staged root as a FIFO.
    let staged = f.bundle().join("staged/root.json");
    let bytes = std::fs::read(&staged).unwrap();
    std::fs::remove_file(&staged).unwrap();
    mkfifo(&staged);
    f.inspect()
        .refused(&["tuf-ceremony/staged/root.json", "(a FIFO)"]);
    std::fs::remove_file(&staged).unwrap();
    std::fs::write(&staged, bytes).unwrap();

    // A history root as a FIFO.
    let first = f.bundle().join("repository/1.root.json");
    let bytes = std::fs::read(&first).unwrap();
    std::fs::remove_file(&first).unwrap();
    mkfifo(&first);
    f.inspect()
        .refused(&["tuf-ceremony/repository/1.root.json", "(a FIFO)"]);
    std::fs::remove_file(&first).unwrap();
    std::fs::write(&first, bytes).unwrap();
    assert_eq!(f.inspect().code, Some(0), "the stick is honest again");
}

/// Root `version`, listing and signed by a key no trusted root lists,
/// padded to about 1 MB with an extension field.
fn forged_root(version: u64) -> Vec<u8> {
    let stranger = TestKey::from_seed(7);
    let forged = signed(
        root(version, &[&stranger], 1, "2030-01-01T00:00:00Z"),
        &[&stranger],
    );
    let mut json: serde_json::Value = serde_json::from_slice(&file_bytes(&forged)).unwrap();
    json["signed"]["x-padding"] = serde_json::Value::String("a".repeat(1_000_000));
    serde_json::to_vec(&json).unwrap()
}

fn forge_history(bundle: &Path, versions: std::ops::RangeInclusive<u64>) {
    for v in versions {
        std::fs::write(
            bundle.join(format!("repository/{v}.root.json")),
            forged_root(v),
        )
        .unwrap();
    }
}

#[test]
fn a_forged_history_is_refused_at_its_first_root_in_bounded_memory() {
    let f = Fixture::new();
    // 40 forged roots of 1 MB (under the 64 MiB cap), then one that is
    // not even JSON: the walk stops at v2, before reading v3.
    forge_history(&f.bundle(), 2..=41);
    std::fs::write(f.bundle().join("repository/42.root.json"), b"not json").unwrap();
    let before = tree(&f.stick);
    let run = f.inspect();
    run.refused(&[
        "tuf-ceremony/repository/2.root.json",
        "trusted history broken",
    ]);
    eprintln!("40 forged 1 MB roots: peak RSS {} KB", run.max_rss_kb);
    assert!(run.max_rss_kb < MAX_RSS_KB, "{run:?}");
    assert_eq!(tree(&f.stick), before);
}

#[test]
fn an_over_long_history_is_refused_by_its_caps_before_it_is_read() {
    let f = Fixture::new();
    // 400 forged roots of 1 MB: 400 MB, over the 64 MiB cap.
    forge_history(&f.bundle(), 2..=401);
    let run = f.inspect();
    run.refused(&["tuf-ceremony/repository", "over the cap of 67108864 bytes"]);
    eprintln!("400 forged 1 MB roots: peak RSS {} KB", run.max_rss_kb);
    assert!(run.max_rss_kb < MAX_RSS_KB, "{run:?}");
    for v in 2..=401 {
        std::fs::remove_file(f.bundle().join(format!("repository/{v}.root.json"))).unwrap();
    }

    // 1,001 small roots: over the count cap.
    for v in 2..=1_001 {
        std::fs::write(f.bundle().join(format!("repository/{v}.root.json")), b"{}").unwrap();
    }
    let run = f.inspect();
    run.refused(&[
        "tuf-ceremony/repository",
        "1001 roots in the trusted history, over the cap of 1000",
    ]);
    assert!(run.max_rss_kb < MAX_RSS_KB, "{run:?}");
}
