//! `tuf-repo publish` and `tuf-repo serve` end to end: a repository whose
//! first ceremony was signed on SoftHSM2 tokens is published to a directory,
//! served over HTTP and updated from by python-tuf's ngclient with its own
//! HTTP fetcher; a re-publish after `tuf-repo timestamp` sends only the new
//! timestamp; a versioned file changed at the destination stops the publish
//! before anything is written; a git work tree gets one commit per change;
//! and the server never answers outside the directory it serves.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use tuf_ceremony_e2e::js::tufjs_downloads;
use tuf_ceremony_e2e::repo_setup::Releaser;
use tuf_ceremony_e2e::serve::{Served, python_http_download};
use tuf_ceremony_e2e::tough::{tough_loads, tough_misnames_a_target_in_a_directory};
use tuf_ceremony_e2e::{Run, assert_ok, binary, copy_dir, path_str, read_json, refused};

/// One raw HTTP/1.1 request (raw, so `..` reaches the server unnormalised):
/// status, headers (lower-case names) and body.
fn http(addr: &str, method: &str, target: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let body = response[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The count line `publish` prints for one kind.
fn count_line<'a>(run: &'a Run, kind: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|l| l.starts_with(&format!("{kind}: ")))
        .unwrap_or_else(|| panic!("no {kind} line: {run:?}"))
}

#[test]
fn a_directory_publish_is_served_to_python_tuf_and_a_republish_sends_only_the_new_timestamp() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let app = r.path("app.tar");
    std::fs::write(&app, b"the application, version 1\n").unwrap();
    let repo = r.published_v1_with_targets("alice", &[(&app, "app/app.tar")]);
    let repo_s = path_str(&repo);
    let pinned = repo.join("repository/1.root.json");
    let site = r.path("site");
    let www = site.join("repository");

    // A dry run reads the destination but writes nothing.
    let run = r.tuf_repo(&["publish", repo_s, "--to", path_str(&www), "--dry-run"]);
    assert_ok(&run, "dry run");
    assert!(run.stdout.contains("would upload"), "{run:?}");
    assert!(!www.exists(), "a dry run writes nothing");

    let run = r.tuf_repo(&["publish", repo_s, "--to", path_str(&www)]);
    assert_ok(&run, "publish");
    assert_eq!(
        count_line(&run, "target files"),
        "target files: 1 uploaded, 0 unchanged"
    );
    assert_eq!(
        count_line(&run, "timestamp.json"),
        "timestamp.json: 1 uploaded, 0 unchanged"
    );
    assert!(
        run.stdout
            .contains("published: root v1, targets v1, snapshot v1, timestamp v1"),
        "{run:?}"
    );
    assert!(run.stdout.contains("re-check: ok"), "{run:?}");
    for name in [
        "1.root.json",
        "root.json",
        "1.targets.json",
        "1.snapshot.json",
        "timestamp.json",
    ] {
        assert_eq!(
            std::fs::read(www.join(name)).unwrap(),
            std::fs::read(repo.join("repository").join(name)).unwrap(),
            "{name}"
        );
    }

    let served = Served::start(&site);
    let out = r.path("client");
    let said = python_http_download(&pinned, &served, "app/app.tar", &out);
    assert!(
        said.contains("python-tuf trusts root v1, timestamp v1, snapshot v1, targets v1"),
        "{said}"
    );
    let downloaded = said
        .lines()
        .find_map(|l| l.split_once(" to ").filter(|_| l.contains("downloaded")))
        .map(|(_, p)| PathBuf::from(p))
        .unwrap_or_else(|| panic!("{said}"));
    assert_eq!(
        std::fs::read(downloaded).unwrap(),
        std::fs::read(&app).unwrap()
    );
    // tuf-js, the second independent client, over the same server.
    let js = r.path("tuf-js");
    std::fs::create_dir_all(&js).unwrap();
    let said = tufjs_downloads(
        &pinned,
        &served.url,
        &format!("{}targets/", served.url),
        "app/app.tar",
        &js.join("metadata"),
        &js.join("app.tar"),
    );
    assert!(said.contains("tuf-js: app/app.tar"), "{said}");
    assert_eq!(
        std::fs::read(js.join("app.tar")).unwrap(),
        std::fs::read(&app).unwrap()
    );
    // tough, the third, over the same server: it verifies every role, but
    // cannot fetch a target in a directory from a consistent-snapshot
    // repository. That is tough's limit (docs/testing.md): it puts the hash
    // before the whole path (`<sha256>.app/app.tar`) where the spec, python-tuf
    // and tuf-js put it before the file name (`app/<sha256>.app.tar`).
    let tough = r.path("tough");
    let datastore = tough.join("datastore");
    let said = tough_loads(
        &pinned,
        &served.url,
        &format!("{}targets/", served.url),
        &datastore,
    );
    assert!(
        said.contains(
            "tough: root v1, timestamp v1, snapshot v1, targets v1, consistent_snapshot true"
        ),
        "{said}"
    );
    assert!(
        said.contains("tough: target app/app.tar: 27 bytes"),
        "{said}"
    );
    let sha256 = read_json(&www.join("1.targets.json"))["signed"]["targets"]["app/app.tar"]
        ["hashes"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(www.join(format!("targets/app/{sha256}.app.tar")).exists());
    tough_misnames_a_target_in_a_directory(
        &pinned,
        &served.url,
        &format!("{}targets/", served.url),
        &datastore,
        "app/app.tar",
        &sha256,
        &tough.join("app.tar"),
    );

    // And our own client, over the same server.
    let ours = r.path("tuf-repo-client");
    let (meta, dir) = (ours.join("metadata"), ours.join("targets"));
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let run = r.tuf_repo(&[
        "client",
        "--metadata-dir",
        path_str(&meta),
        "init",
        path_str(&pinned),
    ]);
    assert_ok(&run, "client init");
    let targets_url = format!("{}targets/", served.url);
    let run = r.tuf_repo(&[
        "client",
        "--metadata-dir",
        path_str(&meta),
        "--metadata-url",
        &served.url,
        "--target-name",
        "app/app.tar",
        "--target-base-url",
        &targets_url,
        "--target-dir",
        path_str(&dir),
        "download",
    ]);
    assert_ok(&run, "client download");
    assert_eq!(
        std::fs::read(dir.join("app%2Fapp.tar")).unwrap(),
        std::fs::read(&app).unwrap()
    );

    // A new timestamp: only timestamp.json is uploaded.
    assert_ok(&r.tuf_repo(&["timestamp", repo_s, "--force"]), "timestamp");
    let run = r.tuf_repo(&["publish", repo_s, "--to", path_str(&www)]);
    assert_ok(&run, "re-publish");
    assert_eq!(
        count_line(&run, "timestamp.json"),
        "timestamp.json: 1 uploaded, 0 unchanged"
    );
    for kind in [
        "target files",
        "versioned metadata",
        "N.root.json",
        "root.json",
    ] {
        assert!(
            count_line(&run, kind).contains(": 0 uploaded"),
            "{kind}: {run:?}"
        );
    }
    assert!(run.stdout.contains(": 1 uploaded, "), "{run:?}");
    assert!(run.stdout.contains("timestamp v2"), "{run:?}");
    let said = python_http_download(&pinned, &served, "app/app.tar", &out);
    assert!(said.contains("timestamp v2"), "{said}");
    // tough refreshes from the state it kept: the new timestamp, the rest unchanged.
    let said = tough_loads(
        &pinned,
        &served.url,
        &format!("{}targets/", served.url),
        &datastore,
    );
    assert!(
        said.contains("tough: root v1, timestamp v2, snapshot v1, targets v1"),
        "{said}"
    );

    // A versioned file that differs at the destination: refused by name,
    // and nothing (not even the new timestamp) is written.
    let changed = www.join("1.targets.json");
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes.push(b'\n');
    std::fs::write(&changed, bytes).unwrap();
    let published_timestamp = std::fs::read(www.join("timestamp.json")).unwrap();
    assert_ok(
        &r.tuf_repo(&["timestamp", repo_s, "--force"]),
        "timestamp v3",
    );
    let run = r.tuf_repo(&["publish", repo_s, "--to", path_str(&www)]);
    refused(
        &run,
        "a changed versioned file",
        &["1.targets.json", "immutable"],
    );
    assert_eq!(
        std::fs::read(www.join("timestamp.json")).unwrap(),
        published_timestamp,
        "nothing after the refusal is written"
    );

    // A local repository that does not verify is never published.
    let broken = r.path("broken");
    copy_dir(&repo, &broken);
    let blob = std::fs::read_dir(broken.join("repository/targets/app"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&blob, b"tampered").unwrap();
    let elsewhere = r.path("elsewhere");
    let run = r.tuf_repo(&["publish", path_str(&broken), "--to", path_str(&elsewhere)]);
    refused(&run, "an unverified repository", &["does not verify"]);
    assert!(!elsewhere.exists());
}

#[test]
fn a_git_work_tree_gets_one_commit_per_change_naming_the_versions() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let repo = r.published_v1("alice");
    let repo_s = path_str(&repo);
    let tree = r.path("git-site");
    std::fs::create_dir(&tree).unwrap();
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .arg("-C")
            .arg(&tree)
            .args(args)
            .output()
            .expect("git");
        assert!(output.status.success(), "git {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    git(&["init", "-q"]);

    let run = r.tuf_repo(&["publish", repo_s, "--to", path_str(&tree)]);
    assert_ok(&run, "publish to git");
    assert!(run.stdout.contains("re-check: ok"), "{run:?}");
    assert_eq!(
        git(&["log", "-1", "--format=%s"]),
        "publish: root v1, targets v1, snapshot v1, timestamp v1"
    );
    assert!(tree.join("timestamp.json").exists());
    assert_eq!(
        git(&["status", "--porcelain"]),
        "",
        "everything is committed"
    );

    let run = r.tuf_repo(&["publish", repo_s, "--to", path_str(&tree)]);
    assert_ok(&run, "publish again");
    assert!(run.stdout.contains("nothing to commit"), "{run:?}");
    assert_eq!(git(&["rev-list", "--count", "HEAD"]), "1");

    assert_ok(&r.tuf_repo(&["timestamp", repo_s, "--force"]), "timestamp");
    let run = r.tuf_repo(&["publish", repo_s, "--to", path_str(&tree)]);
    assert_ok(&run, "publish the new timestamp");
    assert_eq!(
        git(&["log", "-1", "--format=%s"]),
        "publish: root v1, targets v1, snapshot v1, timestamp v2"
    );
    assert_eq!(git(&["rev-list", "--count", "HEAD"]), "2");
    assert_eq!(
        git(&["show", "--name-only", "--format=", "HEAD"]),
        "timestamp.json"
    );
}

#[test]
fn serve_answers_get_and_head_inside_its_directory_and_nothing_outside() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    let published = repo.join("repository");
    let hash = "ab".repeat(32);
    std::fs::create_dir_all(published.join("targets/app")).unwrap();
    std::fs::write(repo.join("tuf-repo.toml"), b"secret configuration").unwrap();
    std::fs::write(published.join("timestamp.json"), b"{\"t\": 1}").unwrap();
    std::fs::write(published.join("2.root.json"), b"{\"r\": 2}").unwrap();
    let blob = format!("targets/app/{hash}.app.tar");
    std::fs::write(published.join(&blob), b"application bytes").unwrap();
    let served = Served::start(repo);
    let addr = served.addr.as_str();

    let (status, headers, body) = http(addr, "GET", "/timestamp.json");
    assert_eq!((status, body.as_slice()), (200, b"{\"t\": 1}".as_slice()));
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    assert_eq!(header(&headers, "cache-control"), Some("no-cache"));
    assert_eq!(header(&headers, "content-length"), Some("8"));
    let (status, headers, body) = http(addr, "HEAD", "/timestamp.json");
    assert_eq!(status, 200);
    assert!(body.is_empty(), "HEAD has no body");
    assert_eq!(header(&headers, "content-length"), Some("8"));
    let (status, headers, _) = http(addr, "GET", "/2.root.json");
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let (status, headers, body) = http(addr, "GET", &format!("/{blob}"));
    assert_eq!(
        (status, body.as_slice()),
        (200, b"application bytes".as_slice())
    );
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        header(&headers, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    for target in [
        "/../tuf-repo.toml",
        "/%2e%2e/tuf-repo.toml",
        "/%2E%2E%2Ftuf-repo.toml",
        "/targets/../../tuf-repo.toml",
        "/targets/%2e%2e/%2e%2e/tuf-repo.toml",
        "/..%5ctuf-repo.toml",
        "/timestamp.json%00.txt",
        "//tuf-repo.toml",
    ] {
        let (status, _, body) = http(addr, "GET", target);
        assert!(matches!(status, 400 | 404), "{target}: {status}");
        assert!(
            !String::from_utf8_lossy(&body).contains("secret"),
            "{target}: leaked"
        );
    }
    for listing in ["/", "/targets/", "/targets/app", "/missing.json"] {
        assert_eq!(http(addr, "GET", listing).0, 404, "{listing}");
    }
    let (status, headers, _) = http(addr, "POST", "/timestamp.json");
    assert_eq!(status, 405);
    assert_eq!(header(&headers, "allow"), Some("GET, HEAD"));
    assert_eq!(http(addr, "DELETE", "/timestamp.json").0, 405);
    assert!(published.join("timestamp.json").exists());

    // Any other address than loopback is served, with a warning.
    let mut open = Command::new(binary("tuf-repo"))
        .args(["serve", path_str(repo), "--addr", "0.0.0.0:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut warning = String::new();
    BufReader::new(open.stderr.take().unwrap())
        .read_line(&mut warning)
        .unwrap();
    let mut first = String::new();
    BufReader::new(open.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _ = open.kill();
    let _ = open.wait();
    assert!(
        warning.starts_with("warning:") && warning.contains("not loopback"),
        "{warning:?}"
    );
    assert!(first.starts_with("serving http://0.0.0.0:"), "{first:?}");
}
