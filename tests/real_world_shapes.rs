//! Metadata as the TUF world publishes it (issue 14): a repository with
//! sigstore's shapes (tests/fixtures/make_sigstore_shaped.py) is read by our
//! client, `tuf-repo verify` and `verify-root` as python-tuf and tuf-js read
//! it, while the strict parser every writer uses still refuses it; and
//! delegated roles with unusual names are fetched percent-encoded over HTTP,
//! with nothing written outside the client's directories.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use tuf_ceremony_e2e::js::tufjs_downloads;
use tuf_ceremony_e2e::tough::{tough_downloads, tough_refuses};
use tuf_ceremony_e2e::{
    assert_ok, binary, copy_dir, fixtures, path_str, python_downloads, read_json, tuf_repo,
};
use tuf_metadata::{Limits, Metadata};

const AT: &str = "2030-01-01T00:00:00Z";
const TRUSTED_ROOT: &str = "trusted_root.json";
const NPM_TARGET: &str = "registry.npmjs.org/keys.json";

fn file_url(dir: &Path) -> String {
    format!("file://{}/", dir.display())
}

/// `tuf-repo serve <repo>` with its request log kept in a file, killed when
/// dropped.
struct LoggedServer {
    child: Child,
    url: String,
    log: PathBuf,
}

impl LoggedServer {
    fn start(repo: &Path, log: PathBuf) -> LoggedServer {
        let mut child = Command::new(binary("tuf-repo"))
            .args(["serve", path_str(repo), "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("run tuf-repo serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // Owned by the guard before any assertion, so a failure still kills it.
        let mut server = LoggedServer {
            child,
            url: String::new(),
            log,
        };
        let addr = line
            .trim_end()
            .strip_prefix("serving http://")
            .and_then(|rest| rest.split_once("/ from "))
            .map(|(addr, _)| addr.to_owned())
            .unwrap_or_else(|| panic!("first line: {line:?}"));
        server.url = format!("http://{addr}/");
        server
    }

    /// The request targets answered 200, in order.
    fn served(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .lines()
            .filter_map(|l| {
                let mut words = l.split(' ').skip(1);
                match (words.next(), words.next(), words.next()) {
                    (Some("GET"), Some(target), Some("200")) => Some(target.to_owned()),
                    _ => None,
                }
            })
            .collect()
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every path under `dir`, directories included.
fn all_paths(dir: &Path) -> BTreeSet<PathBuf> {
    let mut paths = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            paths.extend(all_paths(&path));
        }
        paths.insert(path);
    }
    paths
}

/// `tuf-repo client … download` of `targets` into `out`.
fn client_download(
    meta: &Path,
    metadata_url: &str,
    target_url: &str,
    out: &Path,
    targets: &[&str],
) {
    let mut argv = vec![
        "client",
        "--metadata-dir",
        path_str(meta),
        "--metadata-url",
        metadata_url,
    ];
    for name in targets {
        argv.extend(["--target-name", name]);
    }
    argv.extend([
        "--target-base-url",
        target_url,
        "--target-dir",
        path_str(out),
        "download",
    ]);
    assert_ok(&tuf_repo(argv), "client download");
}

fn client_init(meta: &Path, root: &Path) {
    assert_ok(
        &tuf_repo([
            "client",
            "--metadata-dir",
            path_str(meta),
            "init",
            path_str(root),
        ]),
        "client init",
    );
}

#[test]
fn a_sigstore_shaped_repository_is_read_as_the_peers_read_it() {
    let dir = fixtures("make_sigstore_shaped.py");
    let published = dir.join("repository");
    let history = dir.join("metadata/root_history");
    let manifest = read_json(&dir.join("manifest.json"));

    // verify walks roots 1..6 (offset and fractional expiries, hex keys, a
    // dishonest key id), the snapshot with its legacy root.json entry and
    // the dotted delegated role, and checks both target files.
    let run = tuf_repo(["verify", path_str(&dir), "--at", AT]);
    assert_ok(&run, "verify");
    for line in [
        "root v6: ok",
        "snapshot v3: ok",
        "registry.npmjs.org v1: ok — delegated by targets",
        "2 target files",
    ] {
        assert!(run.stdout.contains(line), "{line:?} in {run:?}");
    }

    // verify-root from v1, as tuf-js starts; the dishonest key id is a
    // warning, as python-tuf and tuf-js accept it.
    let mut argv = vec![
        "verify-root".to_owned(),
        "--trusted".into(),
        path_str(&history.join("1.root.json")).into(),
        "--at".into(),
        AT.into(),
    ];
    argv.extend((2..=6).map(|n| path_str(&history.join(format!("{n}.root.json"))).to_owned()));
    let run = tuf_repo(&argv);
    assert_ok(&run, "verify-root");
    assert!(run.stdout.contains("root v6: ok"), "{run:?}");
    let dishonest = manifest["dishonest_key_id"].as_str().unwrap();
    assert!(
        run.stderr.contains("warning: ") && run.stderr.contains(dishonest),
        "{run:?}"
    );

    // Our client, from root v1, downloads the top-level and the delegated
    // target.
    let work = tempfile::tempdir().unwrap();
    let (meta, out) = (work.path().join("meta"), work.path().join("out"));
    client_init(&meta, &history.join("1.root.json"));
    client_download(
        &meta,
        &file_url(&published),
        &file_url(&published.join("targets")),
        &out,
        &[TRUSTED_ROOT, NPM_TARGET],
    );
    for (target, local) in [
        (TRUSTED_ROOT, "trusted_root.json"),
        (NPM_TARGET, "registry.npmjs.org%2Fkeys.json"),
    ] {
        assert_eq!(
            std::fs::read(out.join(local)).unwrap(),
            std::fs::read(dir.join("targets").join(target)).unwrap(),
            "{target}"
        );
    }
    assert!(meta.join("registry.npmjs.org.json").is_file());

    // python-tuf reads the same repository from root v5, where it can start
    // (v1-v3's expiry formats and v4's hex keys stop it, as on sigstore's).
    assert_eq!(manifest["python_tuf_starts_at"], 5);
    for target in [TRUSTED_ROOT, NPM_TARGET] {
        let said = python_downloads(
            &published.join("5.root.json"),
            &published,
            target,
            &work.path().join("python-out"),
        );
        assert!(
            said.contains("root v6, timestamp v4, snapshot v3"),
            "{said}"
        );
    }

    // The strict parser every writer uses still refuses these shapes.
    let strict = |name: &str, limits: &Limits| {
        let bytes = std::fs::read(published.join(name)).unwrap();
        Metadata::parse(&bytes, limits)
            .map(|_| ())
            .map_err(|e| e.code())
    };
    assert_eq!(strict("1.root.json", &Limits::ROOT), Err("bad-expires"));
    assert_eq!(
        strict("3.snapshot.json", &Limits::ANY),
        Err("bad-role-name")
    );
    assert_eq!(strict("1.root.json", &Limits::EXISTING_ROOT), Ok(()));
    assert_eq!(strict("3.snapshot.json", &Limits::EXISTING_ANY), Ok(()));
}

#[test]
fn tuf_js_reads_the_sigstore_shaped_history_from_root_one_over_http() {
    let dir = fixtures("make_sigstore_shaped.py");
    let work = tempfile::tempdir().unwrap();
    let server = LoggedServer::start(&dir, work.path().join("serve.log"));
    let said = tufjs_downloads(
        &dir.join("metadata/root_history/1.root.json"),
        &server.url,
        &format!("{}targets/", server.url),
        NPM_TARGET,
        &work.path().join("tufjs"),
        &work.path().join("keys.json"),
    );
    assert!(said.contains("root v6"), "{said}");
}

/// tough, the third client, cannot read this history from any root, and
/// each stop is tough's limit, not the repository's (docs/testing.md, "tough
/// as a peer"): it checks signatures over its own re-encoding of `expires`
/// (`-06:00` becomes `Z`, `.5` becomes `.500`), so root v1 and v3 fail their
/// signatures; and it refuses a root whose key id is not its key's hash, as
/// v6 has (and as one of sigstore's published roots has). python-tuf and
/// tuf-js read the same files (tests above).
#[test]
fn tough_stops_at_the_sigstore_shaped_history_where_its_own_limits_say() {
    let dir = fixtures("make_sigstore_shaped.py");
    let history = dir.join("metadata/root_history");
    let manifest = read_json(&dir.join("manifest.json"));
    let work = tempfile::tempdir().unwrap();
    let server = LoggedServer::start(&dir, work.path().join("serve.log"));
    let targets_url = format!("{}targets/", server.url);
    let refuses = |pinned: u32, because: &str| {
        tough_refuses(
            &history.join(format!("{pinned}.root.json")),
            &server.url,
            &targets_url,
            &work.path().join(format!("tough-from-{pinned}")),
            Some((TRUSTED_ROOT, &work.path().join("trusted_root.json"))),
            because,
        )
    };
    // v1 expires "2021-12-18T13:28:12.99008-06:00": tough re-encodes it as
    // "2021-12-18T19:28:12.990080Z" before checking v1's own signatures.
    refuses(
        1,
        "Failed to verify trusted root metadata: Signature threshold of 2 not met for role root (0 valid signatures)",
    );
    // From v2, root v3 ("…02.5Z", re-encoded "…02.500Z") fails the same way.
    refuses(
        2,
        "Failed to verify root metadata: Signature threshold of 2 not met for role root (0 valid signatures)",
    );
    // From v4 (whose hex-point ECDSA keys tough reads) and v5, root v6's
    // dishonest key id stops it: a parse error, not a warning.
    let dishonest = manifest["dishonest_key_id"].as_str().unwrap();
    for pinned in [4, 5] {
        refuses(
            pinned,
            &format!("Failed to parse root metadata: Invalid key ID {dishonest}: calculated "),
        );
    }
    assert!(!work.path().join("trusted_root.json").exists());
    // The runs fetched roots v3 and v6 and stopped in the root chain: no
    // timestamp was ever requested.
    let served = server.served();
    for root in ["/3.root.json", "/6.root.json"] {
        assert!(served.iter().any(|r| r == root), "{root}: {served:?}");
    }
    assert!(!served.iter().any(|r| r == "/timestamp.json"), "{served:?}");
}

#[test]
fn unusual_role_names_are_requested_percent_encoded_and_stay_inside_the_client() {
    let fixture = fixtures("make_sigstore_shaped.py");
    let manifest = read_json(&fixture.join("manifest.json"));
    let names = manifest["unusual_names"].as_object().unwrap();
    let targets: Vec<&str> = names
        .values()
        .map(|n| n["target"].as_str().unwrap())
        .collect();

    // In our layout (metadata file names quote(name, "")), `verify` and
    // python-tuf read every role.
    let layout = fixture.join("unusual-names");
    assert_ok(
        &tuf_repo(["verify", path_str(&layout), "--at", AT]),
        "verify unusual names",
    );
    let python_out = tempfile::tempdir().unwrap();
    for target in &targets {
        python_downloads(
            &layout.join("repository/1.root.json"),
            &layout.join("repository"),
            target,
            &python_out.path().join(target),
        );
    }

    // Over HTTP from the files as a web server holds them.
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("served");
    copy_dir(&fixture.join("unusual-names-web"), &repo);
    let (meta, out) = (work.path().join("meta"), work.path().join("out"));
    client_init(&meta, &repo.join("repository/1.root.json"));
    let logs = tempfile::tempdir().unwrap();
    let server = LoggedServer::start(&repo, logs.path().join("serve.log"));
    let before = all_paths(work.path());
    client_download(
        &meta,
        &server.url,
        &format!("{}targets/", server.url),
        &out,
        &targets,
    );

    let served = server.served();
    for (name, entry) in names {
        let quoted = entry["quoted"].as_str().unwrap();
        let request = format!("/1.{quoted}.json");
        assert!(
            served.contains(&request),
            "{name:?}: {request} in {served:?}"
        );
        assert!(
            meta.join(format!("{quoted}.json")).is_file(),
            "{name:?} cached as {quoted}.json"
        );
    }
    // Everything new is inside the metadata or the target directory.
    let after = all_paths(work.path());
    let new: Vec<&PathBuf> = after.difference(&before).collect();
    assert!(!new.is_empty());
    for path in &new {
        assert!(
            path.starts_with(&meta) || path.starts_with(&out),
            "{} written outside the client's directories",
            path.display()
        );
    }
    assert!(before.is_subset(&after), "nothing removed");
    assert!(!Path::new("/delegatedrole.json").exists());
    for target in &targets {
        assert!(out.join(target).is_file(), "{target}");
    }

    // tough, the third client, over the same server: it too requests every
    // role percent-encoded and keeps it under that name in its datastore.
    let tough = tempfile::tempdir().unwrap();
    let datastore = tough.path().join("datastore");
    for target in &targets {
        let said = tough_downloads(
            &repo.join("repository/1.root.json"),
            &server.url,
            &format!("{}targets/", server.url),
            target,
            &datastore,
            &tough.path().join(target),
        );
        assert!(said.contains(&format!("tough: {target}: ")), "{said}");
    }
    let served = server.served();
    for entry in names.values() {
        let quoted = entry["quoted"].as_str().unwrap();
        let request = format!("/1.{quoted}.json");
        assert!(
            served.iter().filter(|r| **r == request).count() > 1,
            "tough asked for {request}: {served:?}"
        );
        assert!(
            datastore.join(format!("1.{quoted}.json")).is_file(),
            "{quoted} in tough's datastore"
        );
    }
    assert!(!Path::new("/delegatedrole.json").exists());
}

#[test]
fn import_adopts_the_sigstore_shaped_checkout_as_is() {
    // The tuf-on-ci checkout (roots 1..6, the legacy snapshot entry, the
    // dotted delegated role) comes in through the same lenient reader; its
    // online keys are held elsewhere, so nothing is signed and every
    // version is kept. Root v6 lists a key id that does not match its key,
    // which we never write: the handover root v7 lists that key under its
    // own id (signing it then records both ids, so v6 and v7 each count
    // it), and the releaser is told so.
    let dir = fixtures("make_sigstore_shaped.py");
    let r = tuf_ceremony_e2e::repo_setup::Releaser::new(&[], true);
    let repo = r.path("repo");
    let run = r.tuf_repo(&[
        "import",
        path_str(&dir),
        "--layout",
        "tuf-on-ci",
        path_str(&repo),
        "--online-snapshot-age",
        path_str(&r.path("snapshot.age")),
        "--online-timestamp-age",
        path_str(&r.path("timestamp.age")),
    ]);
    assert_ok(&run, "import the sigstore-shaped checkout");
    let published = repo.join("repository");
    for (file, version) in [("6.root.json", 6), ("3.snapshot.json", 3)] {
        let json = read_json(&published.join(file));
        assert_eq!(json["signed"]["version"], version, "{file}");
    }
    assert!(
        published.join("1.registry.npmjs.org.json").is_file()
            || std::fs::read_dir(&published).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("registry.npmjs.org")),
        "the delegated role was imported"
    );
    let v6 = read_json(&published.join("6.root.json"));
    let v7 = read_json(&repo.join("staged/root.json"));
    assert_eq!(v7["signed"]["version"], 7);
    let ids = |root: &serde_json::Value| -> std::collections::BTreeSet<String> {
        root["signed"]["keys"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let (old_ids, new_ids) = (ids(&v6), ids(&v7));
    let dropped: Vec<&String> = old_ids.difference(&new_ids).collect();
    // Only the dishonest id and the two online keys handed over are gone.
    let dishonest: Vec<&&String> = dropped
        .iter()
        .filter(|id| run.stdout.contains(&format!("lists a key under {id}")))
        .collect();
    assert_eq!(dishonest.len(), 1, "{dropped:?} {run:?}");
    let listed = dishonest[0].as_str();
    let key = &v6["signed"]["keys"][listed];
    let (honest, _) = v7["signed"]["keys"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, k)| *k == key)
        .expect("the key is still in root v7");
    assert_ne!(honest, listed);
    assert!(
        v7["signed"]["roles"]["root"]["keyids"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(honest)),
        "{v7}"
    );
    assert!(run.stdout.contains(&format!("as {honest}")), "{run:?}");
    assert!(!run.stderr.contains("warning: "), "{run:?}");
    // The bundle for the handover ceremony is written from it.
    let stick = r.path("stick");
    assert_ok(
        &r.tuf_repo(&["stage", path_str(&repo), "--stick", path_str(&stick)]),
        "stage the handover root",
    );
    assert!(stick.join("tuf-ceremony/staged/root.json").is_file());
    let forced = r.tuf_repo(&["timestamp", path_str(&repo), "--force"]);
    assert_eq!(
        forced.code,
        Some(1),
        "the online keys are held elsewhere: {forced:?}"
    );
    let run = tuf_repo(["verify", path_str(&repo), "--at", AT]);
    assert_ok(&run, "verify the imported repository");
    assert!(run.stdout.contains("root v6: ok"), "{run:?}");
}
