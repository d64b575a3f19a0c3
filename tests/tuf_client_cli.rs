//! `tuf-repo client` (the command line the TUF conformance suite drives)
//! against a repository made by our own tools: root v1 and targets v1
//! signed with a SoftHSM2 token, committed with the online keys, read over
//! `file://` URLs. Init, refresh, download (and no second fetch of a file
//! already downloaded), and the exit codes of refusals (1) and usage (2).

use std::path::Path;

use tuf_ceremony_e2e::repo_setup::Releaser;
use tuf_ceremony_e2e::{Run, assert_ok, path_str, refused, tuf_repo};

fn usage(run: &Run, what: &str) {
    assert_eq!(run.code, Some(2), "{what}: {run:?}");
}

fn file_url(dir: &Path) -> String {
    format!("file://{}/", dir.display())
}

#[test]
fn the_client_inits_refreshes_and_downloads_from_a_committed_repository() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let log_key = r.path("log.pub");
    let content = b"-----BEGIN PUBLIC KEY-----\nexample\n";
    std::fs::write(&log_key, content).unwrap();
    let repo = r.published_v1_with_targets("alice", &[(&log_key, "keys/log.pub")]);
    let published = repo.join("repository");
    let metadata_url = file_url(&published);
    let target_url = file_url(&published.join("targets"));
    let client = r.path("client");
    let client_s = path_str(&client);
    let downloads = r.path("downloads");
    let downloads_s = path_str(&downloads);
    let pinned = published.join("1.root.json");

    // A client that was never initialised has no root to trust.
    refused(
        &tuf_repo([
            "client",
            "--metadata-dir",
            client_s,
            "--metadata-url",
            &metadata_url,
            "refresh",
        ]),
        "refresh before init",
        &["root.json", "the trusted root cannot be used"],
    );
    // Only a root signed by its own threshold is stored.
    refused(
        &tuf_repo([
            "client",
            "--metadata-dir",
            client_s,
            "init",
            path_str(&published.join("timestamp.json")),
        ]),
        "init with a timestamp",
        &["expected root"],
    );
    assert!(!client.join("root.json").exists());

    assert_ok(
        &tuf_repo([
            "client",
            "--metadata-dir",
            client_s,
            "init",
            path_str(&pinned),
        ]),
        "init",
    );
    assert_eq!(
        std::fs::read(client.join("root.json")).unwrap(),
        std::fs::read(&pinned).unwrap()
    );
    let run = tuf_repo([
        "client",
        "--metadata-dir",
        client_s,
        "--metadata-url",
        &metadata_url,
        "refresh",
    ]);
    assert_ok(&run, "refresh");
    for name in [
        "root.json",
        "timestamp.json",
        "snapshot.json",
        "targets.json",
    ] {
        assert!(client.join(name).is_file(), "{name} trusted and kept");
    }

    let download = |names: &[&str]| {
        let mut argv = vec![
            "client",
            "--metadata-dir",
            client_s,
            "--metadata-url",
            &metadata_url,
        ];
        for name in names {
            argv.extend(["--target-name", name]);
        }
        argv.extend([
            "--target-base-url",
            &target_url,
            "--target-dir",
            downloads_s,
            "download",
        ]);
        tuf_repo(argv)
    };
    assert_ok(&download(&["keys/log.pub"]), "download");
    let local = downloads.join("keys%2Flog.pub");
    assert_eq!(std::fs::read(&local).unwrap(), content);

    // Already downloaded with the right hashes: not fetched again, so the
    // published file may even be gone.
    let hashed = published
        .join("targets/keys")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(
        hashed
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with(".log.pub")
    );
    std::fs::remove_file(&hashed).unwrap();
    assert_ok(&download(&["keys/log.pub"]), "second download");
    // A damaged local copy must be fetched again, and now cannot be.
    std::fs::write(&local, b"tampered").unwrap();
    refused(
        &download(&["keys/log.pub"]),
        "refetch of a removed file",
        &["not found"],
    );

    // A target no role lists: refused, naming it; the first failure stops.
    refused(
        &download(&["no/such/target", "keys/log.pub"]),
        "unknown target",
        &["target no/such/target", "no trusted targets role lists it"],
    );
    // A broken timestamp on the mirror is refused, naming the file.
    let newer = std::fs::read(published.join("timestamp.json")).unwrap();
    std::fs::write(published.join("timestamp.json"), b"{}").unwrap();
    refused(
        &tuf_repo([
            "client",
            "--metadata-dir",
            client_s,
            "--metadata-url",
            &metadata_url,
            "refresh",
        ]),
        "a broken timestamp",
        &["timestamp.json", "not valid TUF metadata"],
    );
    std::fs::write(published.join("timestamp.json"), &newer).unwrap();
    // A tampered trusted root stops the client.
    let text = String::from_utf8(std::fs::read(client.join("root.json")).unwrap()).unwrap();
    let tampered = text.replacen("\"version\": 1", "\"version\": 7", 1);
    assert_ne!(tampered, text);
    std::fs::write(client.join("root.json"), tampered).unwrap();
    refused(
        &tuf_repo([
            "client",
            "--metadata-dir",
            client_s,
            "--metadata-url",
            &metadata_url,
            "refresh",
        ]),
        "a tampered trusted root",
        &["root.json", "threshold not met"],
    );

    // Usage: a missing URL, an unknown scheme, a missing target dir, no action.
    usage(
        &tuf_repo(["client", "--metadata-dir", client_s, "refresh"]),
        "refresh without --metadata-url",
    );
    usage(
        &tuf_repo([
            "client",
            "--metadata-dir",
            client_s,
            "--metadata-url",
            "ftp://example.org/",
            "refresh",
        ]),
        "an ftp URL",
    );
    usage(
        &tuf_repo([
            "client",
            "--metadata-dir",
            client_s,
            "--metadata-url",
            &metadata_url,
            "--target-name",
            "keys/log.pub",
            "--target-base-url",
            &target_url,
            "download",
        ]),
        "download without --target-dir",
    );
    usage(
        &tuf_repo(["client", "--metadata-dir", client_s]),
        "no action",
    );
    usage(
        &tuf_repo(["client", "init", path_str(&pinned)]),
        "no --metadata-dir",
    );
}
