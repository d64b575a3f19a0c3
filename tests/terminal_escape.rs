//! Nothing from a stick, a repository, a transcript or a client reaches a
//! terminal raw (DESIGN.md: text from a stick or a repository is escaped).
//! Each test builds its hostile input here — ANSI sequences that would
//! repaint the screen into a false "threshold MET" or a green "ok", a
//! window-title OSC, a right-to-left override — runs the real binary, and
//! checks the bytes it wrote: no ESC, no other control or bidi character,
//! and the escape shown visibly as `\u{1b}`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use time::OffsetDateTime;
use time::macros::datetime;
use transcript::{Event, Transcript};
use tuf_ceremony_e2e::repo_setup::Releaser;
use tuf_ceremony_e2e::{assert_ok, binary, path_str, tuf_repo};
use tuf_metadata::testing::{TestKey, file_bytes, root, signed};

/// Cursor up, erase the line, then a green message: what a hostile name
/// uses to overwrite the line above with something reassuring.
fn repaint(message: &str) -> String {
    format!("\u{1b}[1A\u{1b}[2K\u{1b}[32m{message}\u{1b}[0m")
}

/// Every byte a terminal would act on instead of print, in `text`'s bytes:
/// C0 controls (newline aside, which ends our own lines), DEL, and the
/// UTF-8 of C1 controls, bidi overrides and isolates.
fn raw_controls(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    text.chars()
        .filter(|&c| c != '\n' && tuf_metadata::display::is_hidden(c))
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect()
}

fn assert_clean(what: &str, bytes: &[u8]) {
    assert!(!bytes.contains(&0x1b), "{what}: raw ESC in {bytes:?}");
    let found = raw_controls(bytes);
    assert!(found.is_empty(), "{what}: raw {found:?} in {bytes:?}");
}

#[test]
fn inspect_shows_a_hostile_unknown_field_escaped_not_a_repainted_board() {
    let stick = tempfile::tempdir().unwrap();
    let (a, b) = (TestKey::from_seed(1), TestKey::from_seed(2));
    let v1 = signed(root(1, &[&a], 1, "2030-01-01T00:00:00Z"), &[&a]);
    std::fs::create_dir_all(stick.path().join("repository")).unwrap();
    std::fs::write(stick.path().join("repository/1.root.json"), file_bytes(&v1)).unwrap();
    // Root v2 with an extension field whose name and value repaint the
    // screen: serde_json writes the ESC as \u001b, the parser reads it back.
    let v2 = signed(root(2, &[&a, &b], 2, "2030-01-01T00:00:00Z"), &[]);
    let mut json: serde_json::Value = serde_json::from_slice(&file_bytes(&v2)).unwrap();
    let name = format!(
        "x-{}\u{202e}",
        repaint("root: 2 of 2 needed — threshold MET")
    );
    json["signed"][name.as_str()] = serde_json::Value::String(format!(
        "{}\u{1b}]0;owned\u{7}\r",
        repaint("[x] signed, verified")
    ));
    std::fs::create_dir_all(stick.path().join("staged")).unwrap();
    std::fs::write(
        stick.path().join("staged/root.json"),
        serde_json::to_vec(&json).unwrap(),
    )
    .unwrap();

    let output = Command::new(binary("ceremony"))
        .args(["inspect", "--media", path_str(stick.path())])
        .args(["--at", "2026-11-22T10:00:00Z"])
        .output()
        .expect("run ceremony inspect");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_clean("inspect stdout", &output.stdout);
    assert_clean("inspect stderr", &output.stderr);
    let field = stdout
        .lines()
        .find(|l| l.starts_with("field "))
        .unwrap_or_else(|| panic!("no unknown-field line: {stdout}"));
    assert_eq!(
        field,
        "field signed.x-\\u{1b}[1A\\u{1b}[2K\\u{1b}[32mroot: 2 of 2 needed — threshold MET\
         \\u{1b}[0m\\u{202e} (absent) → \"\\u{1b}[1A\\u{1b}[2K\\u{1b}[32m[x] signed, verified\
         \\u{1b}[0m\\u{1b}]…"
    );
    // The real board is still there, not met.
    assert!(stdout.contains("not yet met"), "{stdout}");
}

#[test]
fn transcript_verify_rejects_a_hostile_event_name_without_echoing_it_raw() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("transcript.jsonl");
    let t0: OffsetDateTime = datetime!(2026-11-22 10:00:00 UTC);
    let mut transcript = Transcript::open(&path, false).unwrap();
    transcript
        .append(
            t0,
            Event::SessionStarted {
                tool: "ceremony 0.1.0".into(),
                host_clock: "2026-11-22T09:58:12Z".into(),
                boot_files: Vec::new(),
                network_hardware: Vec::new(),
            },
        )
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    // As JSON writes it: the ESC as \u001b, so the line is still strict JSON.
    let hostile =
        serde_json::to_string(&repaint("transcript: ok — 1 entry, chain intact")).unwrap();
    let forged = text.replacen("\"session_started\"", &hostile, 1);
    assert_ne!(forged, text);
    std::fs::write(&path, forged).unwrap();

    let run = tuf_repo(["transcript", "verify", path_str(&path)]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(run.stdout, "", "no ok line for a rejected transcript");
    assert_clean("transcript verify stderr", run.stderr.as_bytes());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error line: {run:?}");
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    assert!(
        lines[0].contains("\\u{1b}[32mtranscript: ok"),
        "the name is shown, escaped: {}",
        lines[0]
    );
}

#[test]
fn merge_prints_a_sticks_hostile_key_id_escaped() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let repo = r.init_repo("repo", &["alice"], 1);
    let repo_s = path_str(&repo);
    let stick = r.path("stick");
    assert_ok(
        &r.tuf_repo(&["stage-rotation", repo_s, "--out", path_str(&stick)]),
        "stage v1",
    );
    assert_ok(&r.sign(&stick, "staged/root.json", &[], "alice"), "root v1");

    // The stick comes back with one more signature, under a key id that
    // would paint "threshold met" over the board.
    let file = stick.join("tuf-ceremony/staged/root.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let sig = json["signatures"][0]["sig"].clone();
    json["signatures"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "keyid": format!("{}\u{9b}2J\u{202e}", repaint("root (root v1): 1/1 met")),
            "sig": sig,
        }));
    std::fs::write(&file, serde_json::to_vec_pretty(&json).unwrap()).unwrap();

    let run = r.tuf_repo(&["merge", repo_s, path_str(&stick)]);
    assert_clean("merge stdout", run.stdout.as_bytes());
    assert_clean("merge stderr", run.stderr.as_bytes());
    // Refused (no key set lists it), naming the key id — escaped.
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(run.stdout, "", "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "one error line: {run:?}");
    assert!(
        run.stderr
            .contains("root role: signature by key \\u{1b}[1A\\u{1b}[2K"),
        "the key id is named, escaped: {run:?}"
    );
}

/// A `tuf-repo serve` child, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn request(addr: &str, target: &[u8]) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut raw = b"GET ".to_vec();
    raw.extend_from_slice(target);
    raw.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(&raw).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
}

#[test]
fn serve_logs_hostile_request_targets_escaped() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("repository")).unwrap();
    std::fs::write(repo.path().join("repository/timestamp.json"), b"{}").unwrap();
    let mut server = Server(
        Command::new(binary("tuf-repo"))
            .args(["serve", path_str(repo.path()), "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tuf-repo serve"),
    );
    let mut first = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim_end()
        .strip_prefix("serving http://")
        .and_then(|rest| rest.split_once("/ from "))
        .map(|(addr, _)| addr.to_owned())
        .unwrap_or_else(|| panic!("first line: {first:?}"));

    // The log is read as it comes: a line is written after its response.
    let (lines, log_lines) = std::sync::mpsc::channel::<Vec<u8>>();
    let mut reader = BufReader::new(server.0.stderr.take().unwrap());
    std::thread::spawn(move || {
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            let _ = lines.send(std::mem::take(&mut line));
        }
    });

    request(&addr, b"/%1b[2J%1b]0;owned%07timestamp.json");
    request(
        &addr,
        b"/\x1b[2K\x1b[32m200\x1b[0m\xe2\x80\xaetimestamp.json",
    );
    request(&addr, b"/a\xe2\x80\xaeb\xe2\x81\xa6timestamp.json");
    request(&addr, b"/timestamp.json");
    let mut stderr = Vec::new();
    while let Ok(line) = log_lines.recv_timeout(std::time::Duration::from_secs(20)) {
        stderr.extend_from_slice(&line);
        if line.ends_with(b"GET /timestamp.json 200 2\n") {
            break;
        }
    }
    assert_clean("serve log", &stderr);
    let log = String::from_utf8_lossy(&stderr);
    let mut lines = log.lines();
    assert_eq!(
        lines.next().and_then(|l| l.split_once(' ')).map(|(_, l)| l),
        Some("GET /%1b[2J%1b]0;owned%07timestamp.json 404 0"),
        "the encoded target is logged as sent: {log}"
    );
    // tiny_http answers a request line with raw bytes itself (400, never
    // reaching the log); should it ever pass one on, it must read escaped.
    for line in lines {
        assert!(
            line.ends_with(" GET /timestamp.json 200 2")
                || line.contains("/\\u{1b}[2K\\u{1b}[32m200\\u{1b}[0m\\u{202e}timestamp.json")
                || line.contains("/a\\u{202e}b\\u{2066}timestamp.json"),
            "{line}"
        );
    }
}
