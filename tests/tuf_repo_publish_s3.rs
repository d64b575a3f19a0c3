//! `tuf-repo publish --to s3://bucket/prefix` against a real S3-compatible
//! server on loopback (moto, from the venv): every file lands with the right
//! bytes and cache headers, python-tuf's client updates from the bucket over
//! plain HTTP, a re-publish uploads only what changed, a publish killed
//! half-way leaves clients on the previous state and a re-run completes it,
//! and credentials never reach the output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tuf_ceremony_e2e::js::tufjs_downloads;
use tuf_ceremony_e2e::repo_setup::{Releaser, SNAPSHOT_PASS, TIMESTAMP_PASS};
use tuf_ceremony_e2e::s3::{AWS_ENV, Moto};
use tuf_ceremony_e2e::tough::tough_misnames_a_target_in_a_directory;
use tuf_ceremony_e2e::{Run, assert_ok, binary, path_str, python, workspace_root};
// One SHA-256 helper for the workspace; its known-answer vectors are
// tested in tuf-metadata.
use tuf_metadata::sha256_hex;

const BUCKET: &str = "tuf";
const PREFIX: &str = "prod";

/// `tuf-repo publish <repo> --to s3://tuf/prod` to `moto`, path style.
fn publish_args(repo: &Path, moto: &Moto) -> Vec<String> {
    vec![
        "publish".into(),
        path_str(repo).into(),
        "--to".into(),
        format!("s3://{BUCKET}/{PREFIX}"),
        "--endpoint-url".into(),
        moto.endpoint(),
        "--path-style".into(),
    ]
}

/// `tuf-repo` with the online keys' passphrases, the dummy AWS credentials
/// and `extra` in the environment.
fn tuf_repo_env(argv: &[String], extra: &[(&str, &str)]) -> Run {
    let output = tuf_repo_command(argv, extra)
        .output()
        .expect("run tuf-repo");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn tuf_repo_command(argv: &[String], extra: &[(&str, &str)]) -> Command {
    let mut command = Command::new(binary("tuf-repo"));
    command
        .env("TUF_SNAPSHOT_PASSPHRASE", SNAPSHOT_PASS)
        .env("TUF_TIMESTAMP_PASSPHRASE", TIMESTAMP_PASS)
        // Nothing from the caller's environment may redirect or allow HTTP.
        .env_remove("AWS_ENDPOINT")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ALLOW_HTTP")
        .env_remove("AWS_SESSION_TOKEN")
        .envs(AWS_ENV)
        .envs(extra.iter().copied())
        .args(argv);
    command
}

/// Every file of `<repo>/repository/`, by `/`-separated relative path.
fn published_files(repo: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            if name.starts_with('.') {
                continue;
            }
            let path = format!("{prefix}{name}");
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &format!("{path}/"), out);
            } else {
                out.insert(path, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&repo.join("repository"), "", &mut out);
    out
}

/// python-tuf's ngclient, pinned to `1.root.json`, updates from the bucket
/// over plain HTTP with its own fetcher and downloads `target`
/// (`tests/fixtures/python_http_download.py`). `client` keeps its trusted
/// metadata between calls, as a real client's would. Returns what it
/// printed and the bytes it downloaded, or Err with what it printed.
fn python_downloads(
    repo: &Path,
    moto: &Moto,
    target: &str,
    client: &Path,
) -> Result<(String, Vec<u8>), String> {
    let base = format!("{}/{BUCKET}/{PREFIX}", moto.endpoint());
    let output = Command::new(python())
        .arg(workspace_root().join("tests/fixtures/python_http_download.py"))
        .arg(repo.join("repository/1.root.json"))
        .arg(format!("{base}/"))
        .arg(format!("{base}/targets/"))
        .arg(target)
        .arg(client)
        .output()
        .expect("run python_http_download.py");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        return Err(said);
    }
    let written = said
        .lines()
        .find_map(|l| l.strip_prefix("python-tuf downloaded "))
        .and_then(|l| l.rsplit_once(" to "))
        .map(|(_, path)| PathBuf::from(path.trim()))
        .unwrap_or_else(|| panic!("no download reported: {said}"));
    let bytes = std::fs::read(&written).unwrap_or_else(|e| panic!("{}: {e}", written.display()));
    Ok((said, bytes))
}

/// The line of `publish`'s output for one kind, e.g. "timestamp.json: 1
/// uploaded, 0 unchanged".
fn count_line<'a>(run: &'a Run, label: &str) -> &'a str {
    let lead = format!("{label}: ");
    run.stdout
        .lines()
        .find(|l| l.starts_with(&lead))
        .unwrap_or_else(|| panic!("no {label:?} line: {run:?}"))
}

/// The targets round after v1: `files` added, staged, signed by `keyholder`
/// for root v1's targets keys, merged and committed (targets, snapshot and
/// timestamp v2).
fn commit_targets_v2(r: &Releaser, repo: &Path, keyholder: &str, files: &[(PathBuf, String)]) {
    let repo_s = path_str(repo);
    for (file, name) in files {
        assert_ok(
            &r.tuf_repo(&["add-target", repo_s, path_str(file), "--name", name]),
            &format!("add-target {name}"),
        );
    }
    let stick = r.path("stick-2");
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage targets v2",
    );
    assert_ok(
        &r.sign(
            &stick,
            "staged/targets.json",
            &["--trusted", "repository/1.root.json"],
            keyholder,
        ),
        "sign targets v2",
    );
    assert_ok(
        &r.tuf_repo(&["merge", repo_s, path_str(&stick)]),
        "merge targets v2",
    );
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit targets v2");
}

#[test]
fn a_repository_published_to_a_bucket_is_what_clients_fetch_and_a_republish_uploads_only_changes() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let log_key = r.path("log.pub");
    std::fs::write(&log_key, b"-----BEGIN PUBLIC KEY-----\nexample\n").unwrap();
    let repo = r.published_v1_with_targets("alice", &[(&log_key, "keys/log.pub")]);
    let moto = Moto::start();
    moto.create_bucket(BUCKET);

    let run = tuf_repo_env(&publish_args(&repo, &moto), &[]);
    assert_ok(&run, "publish to s3");
    let local = published_files(&repo);
    assert!(
        run.stdout
            .contains(&format!("{} uploaded, 0 unchanged", local.len())),
        "{run:?}"
    );
    assert!(run.stdout.contains("re-check: ok"), "{run:?}");
    assert!(
        run.stdout.contains(&format!("s3://{BUCKET}/{PREFIX}")),
        "{run:?}"
    );

    // Every file, byte for byte, with its digest recorded and the cache
    // header its mutability calls for.
    let objects = moto.objects(BUCKET, PREFIX);
    assert_eq!(
        objects.keys().collect::<Vec<_>>(),
        local.keys().collect::<Vec<_>>(),
        "the bucket holds exactly repository/"
    );
    for (path, bytes) in &local {
        let object = &objects[path];
        assert_eq!(&object.bytes, bytes, "{path}");
        assert_eq!(
            object.metadata.get("sha256").map(String::as_str),
            Some(sha256_hex(bytes).as_str()),
            "{path}"
        );
        let content_type = if path.ends_with(".json") {
            "application/json"
        } else {
            "application/octet-stream"
        };
        assert_eq!(object.content_type.as_deref(), Some(content_type), "{path}");
    }
    let cache = |path: &str| objects[path].cache_control.clone().unwrap_or_default();
    assert_eq!(cache("timestamp.json"), "no-cache");
    assert_eq!(cache("root.json"), "no-cache");
    for versioned in ["1.root.json", "1.targets.json", "1.snapshot.json"] {
        assert!(cache(versioned).contains("immutable"), "{versioned}");
    }
    let target_key = local
        .keys()
        .find(|k| k.starts_with("targets/keys/"))
        .expect("the target file");
    assert!(cache(target_key).contains("immutable"), "{target_key}");
    // What an anonymous client (or a CDN) gets over plain HTTP. (A GET:
    // moto refuses anonymous HEADs whatever the bucket policy says.)
    let got = moto.request("GET", &format!("/{BUCKET}/{PREFIX}/timestamp.json"));
    assert_eq!(got.status, 200);
    assert_eq!(got.body, local["timestamp.json"]);
    assert_eq!(
        got.headers.get("cache-control").map(String::as_str),
        Some("no-cache")
    );
    assert_eq!(
        got.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    let missing = moto.request("GET", &format!("/{BUCKET}/{PREFIX}/2.root.json"));
    assert!(
        [403, 404].contains(&missing.status),
        "ngclient stops the root chain at 403/404: {}",
        missing.status
    );

    // python-tuf updates from the bucket and downloads the target.
    let client = r.path("client");
    let (said, bytes) = python_downloads(&repo, &moto, "keys/log.pub", &client).unwrap();
    assert!(
        said.contains("python-tuf trusts root v1, timestamp v1"),
        "{said}"
    );
    assert_eq!(bytes, std::fs::read(&log_key).unwrap());

    // A new timestamp: only timestamp.json goes up again. One object put
    // there by another tool (no digest recorded) is hashed, not re-sent.
    moto.put_foreign(
        BUCKET,
        &format!("{PREFIX}/1.targets.json"),
        &local["1.targets.json"],
    );
    assert_ok(
        &r.tuf_repo(&["timestamp", path_str(&repo), "--force"]),
        "timestamp --force",
    );
    let run = tuf_repo_env(&publish_args(&repo, &moto), &[]);
    assert_ok(&run, "re-publish");
    assert_eq!(
        count_line(&run, "timestamp.json"),
        "timestamp.json: 1 uploaded, 0 unchanged",
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains(&format!("1 uploaded, {} unchanged", local.len() - 1)),
        "{run:?}"
    );
    let objects = moto.objects(BUCKET, PREFIX);
    assert_eq!(
        objects["timestamp.json"].bytes,
        std::fs::read(repo.join("repository/timestamp.json")).unwrap()
    );
    assert!(
        objects["1.targets.json"].metadata.is_empty(),
        "the foreign upload was left alone"
    );
    let (said, _) = python_downloads(&repo, &moto, "keys/log.pub", &client).unwrap();
    assert!(said.contains("timestamp v2"), "{said}");

    // A dry run reads the bucket and writes nothing.
    let mut dry = publish_args(&repo, &moto);
    dry.push("--dry-run".into());
    let run = tuf_repo_env(&dry, &[]);
    assert_ok(&run, "dry run");
    assert!(
        run.stdout
            .contains(&format!("0 would upload, {} unchanged", local.len())),
        "{run:?}"
    );
}

#[test]
fn a_publish_killed_half_way_leaves_clients_on_the_previous_state_and_a_rerun_completes_it() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let first = r.path("first.txt");
    std::fs::write(&first, b"the first target\n").unwrap();
    let repo = r.published_v1_with_targets("alice", &[(&first, "files/first.txt")]);
    let moto = Moto::start();
    moto.create_bucket(BUCKET);
    assert_ok(
        &tuf_repo_env(&publish_args(&repo, &moto), &[]),
        "publish v1",
    );
    // A client that has v1 already.
    let client = r.path("client");
    let (said, _) = python_downloads(&repo, &moto, "files/first.txt", &client).unwrap();
    assert!(said.contains("targets v1"), "{said}");
    let v1_objects = moto.count(BUCKET, PREFIX);
    let v1_timestamp = std::fs::read(repo.join("repository/timestamp.json")).unwrap();

    // Targets v2 with 200 files: 200 target objects ahead of the metadata.
    let dir = r.path("many");
    std::fs::create_dir(&dir).unwrap();
    let files: Vec<(PathBuf, String)> = (0..200)
        .map(|i| {
            let file = dir.join(format!("t{i:03}.txt"));
            std::fs::write(&file, format!("target number {i}\n")).unwrap();
            (file, format!("files/t{i:03}.txt"))
        })
        .collect();
    commit_targets_v2(&r, &repo, "alice", &files);
    let total = published_files(&repo).len();
    // 200 targets, 2.targets.json, 2.snapshot.json; timestamp.json replaced.
    assert_eq!(
        total,
        v1_objects + 202,
        "{total} files for {v1_objects} objects"
    );

    // Kill the publisher once some new objects are up, well before the end.
    let mut child = tuf_repo_command(&publish_args(&repo, &moto), &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start publish");
    let deadline = Instant::now() + Duration::from_secs(120);
    let seen = loop {
        let seen = moto.count(BUCKET, PREFIX);
        if seen >= v1_objects + 20 {
            break seen;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("publish ended ({status}) before it could be interrupted");
        }
        assert!(Instant::now() < deadline, "publish made no progress");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(
        child.try_wait().unwrap().is_none(),
        "publish finished before the kill"
    );
    child.kill().expect("SIGKILL publish");
    child.wait().unwrap();
    let landed = moto.count(BUCKET, PREFIX);
    assert!(
        seen < total && landed < total,
        "{landed} of {total}: interrupted"
    );

    // Clients still see v1: the new files are unreachable.
    let objects = moto.objects(BUCKET, PREFIX);
    assert_eq!(objects["timestamp.json"].bytes, v1_timestamp);
    assert!(!objects.contains_key("2.snapshot.json"));
    let (said, bytes) = python_downloads(&repo, &moto, "files/first.txt", &client).unwrap();
    assert_eq!(bytes, b"the first target\n");
    assert!(
        said.contains("python-tuf trusts root v1, timestamp v1, snapshot v1, targets v1"),
        "{said}"
    );

    // The re-run skips what landed and completes the publication.
    let run = tuf_repo_env(&publish_args(&repo, &moto), &[]);
    assert_ok(&run, "publish again");
    let line = count_line(&run, "target files");
    let unchanged: usize = line
        .rsplit_once(", ")
        .and_then(|(_, tail)| tail.strip_suffix(" unchanged"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(unchanged >= 19, "targets that landed are skipped: {line}");
    assert_eq!(moto.count(BUCKET, PREFIX), total);
    let (said, bytes) = python_downloads(&repo, &moto, "files/t199.txt", &client).unwrap();
    assert!(said.contains("targets v2"), "{said}");
    assert_eq!(bytes, b"target number 199\n");
}

#[test]
fn credentials_never_reach_the_output_even_when_the_endpoint_fails() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let repo = r.published_v1("alice");
    const SECRET: &str = "wJalrXUtnFEMI-K7MDENG-canary-5f3a9c";
    const KEY_ID: &str = "AKIACANARY5F3A9C";
    let secrets = [
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", "session-token-canary-5f3a9c"),
    ];
    let never_told = |run: &Run, what: &str| {
        assert_eq!(run.code, Some(1), "{what}: {run:?}");
        assert!(run.stderr.starts_with("error:"), "{what}: {run:?}");
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains(SECRET), "{what}: secret printed: {run:?}");
            assert!(
                !text.contains("canary-5f3a9c"),
                "{what}: token printed: {run:?}"
            );
        }
    };

    // Nothing listens there: connection refused, after retries.
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let argv = |endpoint: &str| -> Vec<String> {
        [
            "publish",
            path_str(&repo),
            "--to",
            "s3://tuf/prod",
            "--endpoint-url",
            endpoint,
            "--path-style",
        ]
        .map(String::from)
        .to_vec()
    };
    let run = tuf_repo_env(&argv(&format!("http://127.0.0.1:{closed_port}")), &secrets);
    never_told(&run, "closed port");
    assert!(run.stderr.contains("prod/"), "names the object: {run:?}");

    // Plain HTTP to anything but loopback is refused before any request.
    let run = tuf_repo_env(&argv("http://s3.example.invalid"), &secrets);
    never_told(&run, "plain http");
    assert!(run.stderr.contains("https://"), "{run:?}");

    // A real server, but no such bucket: the service's error, no secret.
    let moto = Moto::start();
    let run = tuf_repo_env(&argv(&moto.endpoint()), &secrets);
    never_told(&run, "missing bucket");
    assert!(run.stderr.contains("no bucket \"tuf\""), "{run:?}");
    drop(moto);

    // A server that checks signatures, a real key id and the wrong secret:
    // refused (SignatureDoesNotMatch), and still nothing secret printed.
    let (moto, key_id) = Moto::start_checking_signatures(BUCKET);
    let wrong_secret = [
        ("AWS_ACCESS_KEY_ID", key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
    ];
    let run = tuf_repo_env(&argv(&moto.endpoint()), &wrong_secret);
    never_told(&run, "wrong secret");
    assert!(run.stderr.contains("prod/1.targets.json"), "{run:?}");
}

/// `tuf-repo client` (ours), pinned to root v1, over HTTP from the bucket:
/// init once, then refresh and download into `client` as the conformance
/// suite drives it. Returns the downloaded bytes.
fn our_client_downloads(repo: &Path, moto: &Moto, target: &str, client: &Path) -> Vec<u8> {
    let base = format!("{}/{BUCKET}/{PREFIX}/", moto.endpoint());
    let (meta, dir) = (client.join("metadata"), client.join("targets"));
    if !meta.join("root.json").exists() {
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        let root = repo.join("repository/1.root.json");
        let argv = [
            "client",
            "--metadata-dir",
            path_str(&meta),
            "init",
            path_str(&root),
        ];
        assert_ok(&tuf_repo_env(&argv.map(String::from), &[]), "client init");
    }
    let argv = [
        "client",
        "--metadata-dir",
        path_str(&meta),
        "--metadata-url",
        &base,
        "--target-name",
        target,
        "--target-base-url",
        &format!("{base}targets/"),
        "--target-dir",
        path_str(&dir),
        "download",
    ];
    assert_ok(
        &tuf_repo_env(&argv.map(String::from), &[]),
        "client download",
    );
    std::fs::read(dir.join(target.replace('/', "%2F"))).unwrap()
}

/// The trusted root version a client kept in `metadata_dir`.
fn trusted_root_version(metadata_dir: &Path) -> u64 {
    let bytes = std::fs::read(metadata_dir.join("root.json")).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    value["signed"]["version"].as_u64().unwrap()
}

#[test]
fn python_tuf_tuf_js_and_our_client_follow_the_bucket_through_a_root_rotation() {
    let r = Releaser::new(&[("alice", "ed25519"), ("bob", "ecdsa-p256")], true);
    let log_key = r.path("log.pub");
    std::fs::write(&log_key, b"-----BEGIN PUBLIC KEY-----\nexample\n").unwrap();
    let repo = r.published_v1_with_targets("alice", &[(&log_key, "keys/log.pub")]);
    let moto = Moto::start();
    moto.create_bucket(BUCKET);
    assert_ok(
        &tuf_repo_env(&publish_args(&repo, &moto), &[]),
        "publish v1",
    );

    let base = format!("{}/{BUCKET}/{PREFIX}/", moto.endpoint());
    let pinned = repo.join("repository/1.root.json");
    let expected = std::fs::read(&log_key).unwrap();
    let (py, js, ours) = (r.path("python"), r.path("tuf-js"), r.path("ours"));
    let tough = r.path("tough");
    std::fs::create_dir_all(&js).unwrap();
    let every_client = |root: u64| {
        let (said, bytes) = python_downloads(&repo, &moto, "keys/log.pub", &py).unwrap();
        assert!(
            said.contains(&format!("python-tuf trusts root v{root}")),
            "{said}"
        );
        assert_eq!(bytes, expected);
        let said = tufjs_downloads(
            &pinned,
            &base,
            &format!("{base}targets/"),
            "keys/log.pub",
            &js.join(format!("metadata-{root}")),
            &js.join("log.pub"),
        );
        assert!(said.contains(&format!("root v{root}")), "{said}");
        assert_eq!(std::fs::read(js.join("log.pub")).unwrap(), expected);
        // tough, from the state it kept, follows the same rotation and
        // stops at its naming limit for a target in a directory.
        let said = tough_misnames_a_target_in_a_directory(
            &pinned,
            &base,
            &format!("{base}targets/"),
            &tough.join("datastore"),
            "keys/log.pub",
            &sha256_hex(&expected),
            &tough.join("log.pub"),
        );
        assert!(said.contains(&format!("tough: root v{root}, ")), "{said}");
        assert_eq!(
            our_client_downloads(&repo, &moto, "keys/log.pub", &ours),
            expected
        );
        assert_eq!(trusted_root_version(&ours.join("metadata")), root);
    };
    every_client(1);

    // Root v2 adds bob's key; alice signs it (threshold 1 of v1 and v2).
    let stick = r.path("stick");
    let repo_s = path_str(&repo);
    let run = r.tuf_repo(&[
        "stage-rotation",
        repo_s,
        "--stick",
        path_str(&stick),
        "--add-root-key",
        path_str(&r.pub_key("bob")),
    ]);
    assert_ok(&run, "stage v2");
    let trusted = ["--trusted", "repository/1.root.json"];
    assert_ok(
        &r.sign(&stick, "staged/root.json", &trusted, "alice"),
        "alice signs v2",
    );
    assert_ok(
        &r.tuf_repo(&["merge", repo_s, path_str(&stick)]),
        "merge v2",
    );
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit v2");
    let run = tuf_repo_env(&publish_args(&repo, &moto), &[]);
    assert_ok(&run, "publish v2");
    assert!(run.stdout.contains("root v2"), "{run:?}");

    // Each client, still pinned to v1 (and keeping its metadata), follows.
    every_client(2);
}
