//! `tuf-repo import` adopts an existing repository without restarting any
//! version: a python-tuf repository (`tests/fixtures/make_existing_repo.py`:
//! roots 1..7, timestamp v4, snapshot v3, targets v2 with a target, online
//! keys whose private halves nobody here has) comes in as a tuf-on-ci
//! checkout of roots 5..7 and as a go-tuf repository. A python-tuf client
//! that followed the original follows the imported, published copy; the
//! staged root v8 hands snapshot and timestamp to our online keys, and
//! after its ceremony (SoftHSM2 token, `ceremony sign`) our versions
//! continue above the imported ones and the client follows again. A
//! `--trusted` root that is not part of the history is refused and
//! nothing is written.

use std::path::{Path, PathBuf};

use tuf_ceremony_e2e::repo_setup::Releaser;
use tuf_ceremony_e2e::serve::{Served, python_http_download};
use tuf_ceremony_e2e::tough::tough_loads_dir;
use tuf_ceremony_e2e::{
    Run, assert_ok, copy_dir, path_str, read_json, refused, run_fixture_script, snapshot_of,
};

/// The fixture, its root v7 listing `alice`'s onboarded key, made into
/// `<scratch>/<name>`.
fn existing(r: &Releaser, name: &str) -> PathBuf {
    let out = r.path(name);
    run_fixture_script(
        "make_existing_repo.py",
        &[out.as_os_str(), r.pub_key("alice").as_os_str()],
    );
    out
}

/// `import` with the releaser's online keys.
fn import(r: &Releaser, dir: &Path, layout: &str, repo: &Path, extra: &[&str]) -> Run {
    let snapshot = r.path("snapshot.age");
    let timestamp = r.path("timestamp.age");
    let mut argv = vec![
        "import",
        path_str(dir),
        "--layout",
        layout,
        path_str(repo),
        "--online-snapshot-age",
        path_str(&snapshot),
        "--online-timestamp-age",
        path_str(&timestamp),
    ];
    argv.extend_from_slice(extra);
    r.tuf_repo(&argv)
}

/// `signed.version` of a metadata file.
fn version(path: &Path) -> u64 {
    read_json(path)["signed"]["version"].as_u64().unwrap()
}

/// Publishes `repo` to `<site>/repository`, serves it, and lets the client
/// whose cache is in `client` (`metadata/`, kept between runs) update
/// from it, pinned to the root it trusts already; returns what it said.
fn client_follows(r: &Releaser, repo: &Path, site: &Path, client: &Path, target: &str) -> String {
    let www = site.join("repository");
    let run = r.tuf_repo(&["publish", path_str(repo), "--to", path_str(&www)]);
    assert_ok(&run, "publish");
    assert!(run.stdout.contains("re-check: ok"), "{run:?}");
    let served = Served::start(site);
    let trusted = client.join("trusted.root.json");
    std::fs::copy(client.join("metadata/root.json"), &trusted).unwrap();
    python_http_download(&trusted, &served, target, client)
}

#[test]
fn a_checkout_of_roots_5_to_7_keeps_every_version_and_its_clients_follow_through_the_handover() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let fx = existing(&r, "existing");
    let expected = read_json(&fx.join("expected.json"));
    let target = expected["target"].as_str().unwrap();
    let checkout = fx.join("checkout");
    let metadata = checkout.join("metadata");
    let repo = r.path("repo");
    let repo_s = path_str(&repo);

    let run = import(&r, &checkout, "tuf-on-ci", &repo, &[]);
    assert_ok(&run, "import the checkout");
    assert!(
        run.stdout
            .contains("note: root v7's snapshot and timestamp keys are held elsewhere")
            && run.stdout.contains("root v8 staged"),
        "{run:?}"
    );
    // Every file as the repository had it, under its published name.
    let published = repo.join("repository");
    for (ours, theirs) in [
        ("5.root.json", "root_history/5.root.json"),
        ("6.root.json", "root_history/6.root.json"),
        ("7.root.json", "root_history/7.root.json"),
        ("root.json", "root.json"),
        ("2.targets.json", "targets.json"),
        ("3.snapshot.json", "snapshot.json"),
        ("timestamp.json", "timestamp.json"),
    ] {
        assert_eq!(
            std::fs::read(published.join(ours)).unwrap(),
            std::fs::read(metadata.join(theirs)).unwrap(),
            "{ours}"
        );
    }
    assert!(!published.join("1.root.json").exists());
    assert_eq!(version(&published.join("timestamp.json")), 4);

    // Root v8 staged: snapshot and timestamp handed to our keys, root kept.
    let staged = read_json(&repo.join("staged/root.json"));
    let v7 = read_json(&published.join("7.root.json"));
    assert_eq!(staged["signed"]["version"], 8);
    assert_eq!(staged["signatures"].as_array().unwrap().len(), 0);
    for role in ["snapshot", "timestamp"] {
        let ours = read_json(&r.path(&format!("{role}.pub.json")))["keyid"].clone();
        let keys = &staged["signed"]["roles"][role];
        assert_eq!(keys["keyids"], serde_json::json!([ours]), "{role}");
        assert_eq!(keys["threshold"], 1);
        assert_ne!(keys["keyids"], v7["signed"]["roles"][role]["keyids"]);
        let theirs = expected["online_keyids"][role].as_str().unwrap();
        assert!(staged["signed"]["keys"].get(theirs).is_none(), "{role}");
    }
    for role in ["root", "targets"] {
        assert_eq!(staged["signed"]["roles"][role], v7["signed"]["roles"][role]);
    }

    // Until root v8 is committed, the online commands say why they cannot sign.
    // (The repository's lock file is made by the first command that takes it.)
    let before = (
        snapshot_of(&repo.join("repository")),
        snapshot_of(&repo.join("staged")),
    );
    for command in ["snapshot", "timestamp"] {
        refused(
            &r.tuf_repo(&[command, repo_s]),
            command,
            &["held elsewhere", "root v7", "root v8", "tuf-repo stage"],
        );
    }
    let after = (
        snapshot_of(&repo.join("repository")),
        snapshot_of(&repo.join("staged")),
    );
    assert_eq!(after, before, "a refusal writes nothing");
    let run = r.tuf_repo(&["status", repo_s]);
    assert_ok(&run, "status");
    let notes: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("note:"))
        .collect();
    assert_eq!(notes.len(), 1, "{run:?}");
    assert!(notes[0].contains("held elsewhere"), "{run:?}");

    let run = r.tuf_repo(&["verify", repo_s, "--at", "2030-01-01T00:00:00Z"]);
    assert_ok(&run, "verify --at the imported state");
    assert!(
        run.stdout.contains("root v5: ok — starting point")
            && run.stdout.contains("timestamp v4: ok")
            && run.stdout.contains("snapshot v3: ok"),
        "{run:?}"
    );

    // The client that followed the original (timestamp v4) follows the copy.
    let client = r.path("client");
    copy_dir(&fx.join("client"), &client);
    let site = r.path("site");
    let said = client_follows(&r, &repo, &site, &client, target);
    assert!(
        said.contains("python-tuf trusts root v7, timestamp v4, snapshot v3, targets v2"),
        "{said}"
    );
    // tough, pinned to the oldest root of the checkout, reads the published
    // copy too, and (below) follows it through the handover from the state
    // it keeps.
    let www = site.join("repository");
    let tough_store = r.path("tough");
    let said = tough_loads_dir(&published.join("5.root.json"), &www, &tough_store);
    assert!(
        said.contains("tough: root v7, timestamp v4, snapshot v3, targets v2"),
        "{said}"
    );

    // The first ceremony under this tool: alice signs root v8 on her token.
    let stick = r.path("stick-8");
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage root v8",
    );
    assert!(stick.join("tuf-ceremony/repository/5.root.json").is_file());
    assert_ok(
        &r.sign(
            &stick,
            "staged/root.json",
            &["--trusted", "repository/7.root.json"],
            "alice",
        ),
        "sign root v8",
    );
    assert_ok(
        &r.tuf_repo(&["merge", repo_s, path_str(&stick)]),
        "merge root v8",
    );
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit root v8");
    assert!(published.join("8.root.json").is_file());
    assert_eq!(version(&published.join("4.snapshot.json")), 4);
    assert_eq!(version(&published.join("timestamp.json")), 5);
    assert_ok(&r.tuf_repo(&["snapshot", repo_s]), "snapshot under root v8");
    assert_eq!(version(&published.join("5.snapshot.json")), 5);
    assert_eq!(version(&published.join("timestamp.json")), 6);
    let run = r.tuf_repo(&["status", repo_s]);
    assert_ok(&run, "status after the handover");
    assert!(!run.stdout.contains("note:"), "{run:?}");
    // Root v8 expires a year from now (the configuration's root expiry).
    let run = r.tuf_repo(&["verify", repo_s]);
    assert_ok(&run, "verify after the handover");
    assert!(
        run.stdout.contains("root v8: ok") && run.stdout.contains("timestamp v6: ok"),
        "{run:?}"
    );

    let said = client_follows(&r, &repo, &site, &client, target);
    assert!(
        said.contains("python-tuf trusts root v8, timestamp v6, snapshot v5, targets v2"),
        "{said}"
    );
    let said = tough_loads_dir(&published.join("5.root.json"), &www, &tough_store);
    assert!(
        said.contains("tough: root v8, timestamp v6, snapshot v5, targets v2"),
        "{said}"
    );
    assert!(
        said.contains(&format!("tough: target {target}: ")),
        "{said}"
    );
}

#[test]
fn go_tuf_and_full_histories_keep_their_versions_and_a_foreign_trusted_root_is_refused() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let fx = existing(&r, "existing");
    let other = existing(&r, "other");
    let expected = read_json(&fx.join("expected.json"));
    let target = expected["target"].as_str().unwrap();
    let checkout_history = fx.join("checkout/metadata/root_history");

    // go-tuf, trust pinned at root v5 (inside the history): copied byte
    // for byte, every version kept.
    let go = r.path("from-go");
    let pin = checkout_history.join("5.root.json");
    let run = import(
        &r,
        &fx.join("go-tuf"),
        "go-tuf",
        &go,
        &["--trusted", path_str(&pin)],
    );
    assert_ok(&run, "import go-tuf");
    // The whole history present is walked; the pin must be part of it.
    assert!(
        run.stdout.contains("root v1: ok — starting point"),
        "{run:?}"
    );
    let theirs = snapshot_of(&fx.join("go-tuf/repository"));
    let ours = snapshot_of(&go.join("repository"));
    let strip = |m: std::collections::BTreeMap<PathBuf, Vec<u8>>, base: &Path| {
        m.into_iter()
            .map(|(p, b)| (p.strip_prefix(base).unwrap().to_owned(), b))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(
        strip(ours, &go.join("repository")),
        strip(theirs, &fx.join("go-tuf/repository"))
    );
    assert_eq!(version(&go.join("staged/root.json")), 8);
    assert_ok(
        &r.tuf_repo(&["verify", path_str(&go), "--at", "2030-01-01T00:00:00Z"]),
        "verify the go-tuf import",
    );
    let client = r.path("client-go");
    copy_dir(&fx.join("client"), &client);
    let said = client_follows(&r, &go, &r.path("site-go"), &client, target);
    assert!(
        said.contains("python-tuf trusts root v7, timestamp v4, snapshot v3, targets v2"),
        "{said}"
    );
    // tough, pinned to the same root v5, reads the published go-tuf copy.
    let www = r.path("site-go").join("repository");
    let said = tough_loads_dir(&pin, &www, &r.path("tough-go"));
    assert!(
        said.contains("tough: root v7, timestamp v4, snapshot v3, targets v2"),
        "{said}"
    );

    // tuf-on-ci with the whole history 1..7 (roots 1..4 expired long ago).
    let full = r.path("from-full");
    assert_ok(
        &import(&r, &fx.join("tuf-on-ci"), "tuf-on-ci", &full, &[]),
        "import the full history",
    );
    for v in 1..=7 {
        assert!(full.join(format!("repository/{v}.root.json")).is_file());
    }
    assert_eq!(version(&full.join("repository/timestamp.json")), 4);
    let run = r.tuf_repo(&["verify", path_str(&full)]);
    assert_ok(&run, "verify the full import");
    assert!(
        run.stdout.contains("root v1: ok — starting point"),
        "{run:?}"
    );

    // Refusals write nothing: no repository, no scratch directory.
    let refused_repo = r.path("refused");
    let foreign_v5 = other.join("checkout/metadata/root_history/5.root.json");
    let foreign_v4 = other.join("tuf-on-ci/metadata/root_history/4.root.json");
    let far_before = fx.join("tuf-on-ci/metadata/root_history/2.root.json");
    let cases: [(&str, &Path, Vec<&str>, &[&str]); 3] = [
        (
            "another repository's root v5",
            &fx.join("checkout"),
            vec!["--trusted", path_str(&foreign_v5)],
            &["5.root.json", "not the one this history holds"],
        ),
        (
            "another repository's root v4, before the checkout",
            &fx.join("checkout"),
            vec!["--trusted", path_str(&foreign_v4)],
            &["checkout/metadata/root_history/5.root.json"],
        ),
        (
            "a root far before the checkout",
            &fx.join("checkout"),
            vec!["--trusted", path_str(&far_before)],
            &["root v2 cannot be checked", "v3..v4 are missing"],
        ),
    ];
    for (what, dir, extra, needles) in cases {
        refused(
            &import(&r, dir, "tuf-on-ci", &refused_repo, &extra),
            what,
            needles,
        );
        assert!(!refused_repo.exists(), "{what}");
    }
    // A gap in the history is refused naming the missing root.
    let gap = r.path("gap");
    copy_dir(&fx.join("checkout"), &gap);
    std::fs::remove_file(gap.join("metadata/root_history/6.root.json")).unwrap();
    refused(
        &import(&r, &gap, "tuf-on-ci", &refused_repo, &[]),
        "a gap in the history",
        &["6.root.json: missing", "consecutive"],
    );
    assert!(!refused_repo.exists());
    refused(
        &import(
            &r,
            &fx.join("go-tuf"),
            "go-tuf",
            &refused_repo,
            &["--trusted", path_str(&other.join("published/7.root.json"))],
        ),
        "another repository's root v7 for go-tuf",
        &["not the one this history holds"],
    );
    assert!(!refused_repo.exists());
    for entry in std::fs::read_dir(r.path("")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tuf-repo-"), "scratch left behind: {name}");
    }
}
