//! A command whose standard output is closed (`| head`) or full (`>` on a
//! full disk) neither panics nor stops half-way through its writes
//! (issue 15 point 2): it does its work, then says in one line on stderr
//! that its report was lost, and exits 1; the work itself stands.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tuf_ceremony_e2e::repo_setup::{Releaser, SNAPSHOT_PASS, TIMESTAMP_PASS};
use tuf_ceremony_e2e::{assert_ok, binary, copy_dir, path_str, read_json, snapshot_of};

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

/// Where a command's standard output goes in [`every_subcommand_of_both_binaries_survives_a_closed_or_full_stdout`].
#[derive(Clone, Copy, Debug)]
enum Sink {
    ClosedPipe,
    DevFull,
}

impl Sink {
    fn stdio(self) -> Stdio {
        match self {
            Sink::ClosedPipe => closed_pipe(),
            Sink::DevFull => full_disk(),
        }
    }
}

/// One command line of either binary; `{W}` in an argument is the world
/// (a fresh copy of the template) it runs in.
struct Case {
    program: &'static str,
    args: Vec<String>,
    /// Runs until stopped (`serve`, the terminal UI): killed after this
    /// long if it has not ended by itself.
    long_running: bool,
}

fn case(program: &'static str, args: &[&str]) -> Case {
    Case {
        program,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        long_running: false,
    }
}

/// Runs `case` in `world` with stdout on `sink`, stderr captured and
/// stdin empty; a long-running one is killed after a few seconds.
fn run_case(
    case: &Case,
    world: &Path,
    sink: Sink,
    env: &[(&str, String)],
) -> (Option<i32>, String) {
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| a.replace("{W}", path_str(world)))
        .collect();
    let mut child = Command::new(binary(case.program))
        .args(&args)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .env("TUF_SNAPSHOT_PASSPHRASE", SNAPSHOT_PASS)
        .env("TUF_TIMESTAMP_PASSPHRASE", TIMESTAMP_PASS)
        .stdin(Stdio::null())
        .stdout(sink.stdio())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let limit = Duration::from_secs(if case.long_running { 4 } else { 120 });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > limit {
            assert!(case.long_running, "{args:?} into {sink:?}: still running");
            child.kill().expect("kill");
            child.wait().expect("wait");
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.and_then(|s| s.code()), stderr)
}

/// Atomic writes' temp files anywhere under `dir`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    snapshot_of(dir)
        .into_keys()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(".tmp-"))
        })
        .collect()
}

#[test]
fn every_subcommand_of_both_binaries_survives_a_closed_or_full_stdout() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    r.onboard_age("project", "project passphrase");
    let a = r.path("a.txt");
    std::fs::write(&a, b"first file\n").unwrap();
    let repo = r.published_v1_with_targets("alice", &[(&a, "a.txt")]);
    let repo_s = path_str(&repo);

    // The template world: the repository with targets v2 signed on a stick
    // and merged (`repo`), the same before the merge (`pre`), a go-tuf
    // export, a client that trusts root v1 and a transcript.
    let template = r.path("world");
    let b = r.path("b.txt");
    std::fs::write(&b, b"second file\n").unwrap();
    assert_ok(&r.tuf_repo(&["add-target", repo_s, path_str(&b)]), "add b");
    let stick = template.join("stick");
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage v2",
    );
    assert_ok(
        &r.sign(
            &stick,
            "staged/targets.json",
            &["--trusted", "repository/1.root.json"],
            "alice",
        ),
        "sign v2",
    );
    copy_dir(&repo, &template.join("pre"));
    assert_ok(
        &r.tuf_repo(&["merge", repo_s, "--stick", path_str(&stick)]),
        "merge v2",
    );
    copy_dir(&repo, &template.join("repo"));
    assert_ok(
        &r.tuf_repo(&[
            "export",
            repo_s,
            "--layout",
            "go-tuf",
            "--out",
            path_str(&template.join("export")),
        ]),
        "export",
    );
    let client = template.join("client");
    assert_ok(
        &r.tuf_repo(&[
            "client",
            "--metadata-dir",
            path_str(&client),
            "init",
            path_str(&repo.join("repository/1.root.json")),
        ]),
        "client init",
    );
    let mut transcript =
        transcript::Transcript::open(&template.join("transcript.jsonl"), false).unwrap();
    let t0 = time::OffsetDateTime::now_utc();
    transcript
        .append(
            t0,
            transcript::Event::SessionStarted {
                tool: "ceremony".into(),
                host_clock: "2026-12-04T00:00:00Z".into(),
                boot_files: Vec::new(),
                network_hardware: Vec::new(),
            },
        )
        .unwrap();
    transcript
        .append(
            t0,
            transcript::Event::SessionFinished {
                summary: vec!["nothing signed".into()],
            },
        )
        .unwrap();
    drop(transcript);

    let key = |name: &str| path_str(&r.path(name)).to_owned();
    let (alice, snapshot, timestamp) = (
        key("alice.pub.json"),
        key("snapshot.pub.json"),
        key("timestamp.pub.json"),
    );
    let (snapshot_age, timestamp_age) = (key("snapshot.age"), key("timestamp.age"));
    let (project, pin, pass) = (
        key("project.pub.json"),
        key("alice.pin"),
        key("project.pass"),
    );
    let root_v1 = "{W}/repo/repository/1.root.json";
    let mut cases = vec![
        case("tuf-repo", &["--help"]),
        case("tuf-repo", &["help", "commit"]),
        case("tuf-repo", &["--version"]),
        case(
            "tuf-repo",
            &[
                "init",
                "{W}/new",
                "--root-key",
                &alice,
                "--root-threshold",
                "1",
                "--snapshot-key",
                &snapshot,
                "--timestamp-key",
                &timestamp,
                "--online-snapshot-age",
                &snapshot_age,
                "--online-timestamp-age",
                &timestamp_age,
            ],
        ),
        case(
            "tuf-repo",
            &["stage-rotation", "{W}/repo", "--stick", "{W}/stick-r"],
        ),
        case("tuf-repo", &["stage", "{W}/pre", "--stick", "{W}/stick-s"]),
        case("tuf-repo", &["merge", "{W}/pre", "--stick", "{W}/stick"]),
        case("tuf-repo", &["commit", "{W}/repo"]),
        case(
            "tuf-repo",
            &["add-target", "{W}/repo", path_str(&a), "--name", "c.txt"],
        ),
        case(
            "tuf-repo",
            &[
                "delegate",
                "{W}/repo",
                "--name",
                "project",
                "--key",
                &project,
                "--threshold",
                "1",
                "--paths",
                "project/*",
            ],
        ),
        case("tuf-repo", &["remove-target", "{W}/repo", "a.txt"]),
        case(
            "tuf-repo",
            &[
                "export",
                "{W}/repo",
                "--layout",
                "tuf-on-ci",
                "--out",
                "{W}/exported",
            ],
        ),
        case(
            "tuf-repo",
            &[
                "import",
                "{W}/export",
                "{W}/imported",
                "--layout",
                "go-tuf",
                "--online-snapshot-age",
                &snapshot_age,
                "--online-timestamp-age",
                &timestamp_age,
            ],
        ),
        case("tuf-repo", &["snapshot", "{W}/repo"]),
        case("tuf-repo", &["timestamp", "{W}/repo", "--force"]),
        case("tuf-repo", &["status", "{W}/repo"]),
        case("tuf-repo", &["verify", "{W}/repo"]),
        case(
            "tuf-repo",
            &[
                "verify-root",
                "--trusted",
                root_v1,
                "{W}/repo/repository/root.json",
            ],
        ),
        case("tuf-repo", &["check-key", &alice]),
        Case {
            long_running: true,
            ..case("tuf-repo", &["serve", "{W}/repo", "--addr", "127.0.0.1:0"])
        },
        case("tuf-repo", &["publish", "{W}/repo", "--to", "{W}/dest"]),
        case(
            "tuf-repo",
            &[
                "client",
                "--metadata-dir",
                "{W}/client",
                "--metadata-url",
                "file://{W}/repo/repository",
                "refresh",
            ],
        ),
        case(
            "tuf-repo",
            &["transcript", "verify", "{W}/transcript.jsonl"],
        ),
        case("ceremony", &["--help"]),
        case("ceremony", &["--version"]),
        case("ceremony", &["help", "sign"]),
        case(
            "ceremony",
            &[
                "sign",
                "--metadata",
                "{W}/stick/tuf-ceremony/staged/targets.json",
                "--trusted",
                "{W}/stick/tuf-ceremony/repository/1.root.json",
                "--profile",
                "softhsm2",
                "--token-label",
                "alice",
                "--pin-file",
                &pin,
            ],
        ),
        case(
            "ceremony",
            &[
                "onboard",
                "--age",
                "{W}/new.age",
                "--passphrase-file",
                &pass,
                "--key-type",
                "ed25519",
                "--out",
                "{W}/new.pub.json",
            ],
        ),
        case(
            "ceremony",
            &[
                "onboard",
                "--profile",
                "softhsm2",
                "--token-label",
                "no-such-token",
                "--key-label",
                "none",
                "--pin-file",
                &pin,
                "--out",
                "{W}/none.pub.json",
            ],
        ),
        case("ceremony", &["preflight", "--drill"]),
        case("ceremony", &["inspect", "--stick", "{W}/stick"]),
        case("ceremony", &["drill-stage", "--out", "{W}/drill"]),
        Case {
            long_running: true,
            ..case("ceremony", &["--no-yubikey", "--stick", "{W}/stick"])
        },
    ];
    // The sign case's anchor is root v1 as the stick carries it.
    assert!(stick.join("tuf-ceremony/repository/1.root.json").is_file());
    let env = [(
        "SOFTHSM2_CONF",
        path_str(&r.path("softhsm2.conf")).to_owned(),
    )];

    let mut problems = Vec::new();
    for (i, case) in cases.iter_mut().enumerate() {
        for sink in [Sink::ClosedPipe, Sink::DevFull] {
            let world = r.path(&format!("world-{i}-{sink:?}"));
            copy_dir(&template, &world);
            let (code, stderr) = run_case(case, &world, sink, &env);
            let what = format!("{} {:?} into {sink:?}", case.program, case.args);
            let killed_as_planned = case.long_running && code.is_none();
            if stderr.contains("panicked") || !(matches!(code, Some(0 | 1)) || killed_as_planned) {
                problems.push(format!("{what}: exit {code:?}: {stderr}"));
            }
            // What it wrote stands: the repositories still verify, and no
            // atomic write was left half-way.
            for dir in ["repo", "pre"] {
                let verify = tuf_ceremony_e2e::tuf_repo(["verify", path_str(&world.join(dir))]);
                if verify.code != Some(0) {
                    problems.push(format!("{what}: {dir} no longer verifies: {verify:?}"));
                }
            }
            let left = temp_files(&world);
            if !left.is_empty() {
                problems.push(format!("{what}: temp files left: {left:?}"));
            }
            std::fs::remove_dir_all(&world).ok();
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
