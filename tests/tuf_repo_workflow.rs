//! The releaser's and witness's workflow beyond the first ceremony
//! (issue 16): offline roles renewed with nothing changed but the expiry
//! (`renew`, `status` saying when and how), a keyholder removed from root
//! and from targets in the same rotation (`--also-targets`, the review
//! showing it), `status` of staged work through a ceremony, `client list`,
//! a target missing at `--target-base-url`, and `digest` matching the
//! review screen. Keys live on SoftHSM2 tokens; hash bins on an age key.

use std::path::{Path, PathBuf};
use std::process::Command;

use time::format_description::well_known::Rfc3339;
use tuf_ceremony_e2e::repo_setup::Releaser;
use tuf_ceremony_e2e::{Run, assert_ok, binary, path_str, read_json, refused, workspace_root};

/// `now` plus `days`, as `--at` takes it.
fn in_days(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .format(&Rfc3339)
        .unwrap()
}

fn inspect(r: &Releaser, stick: &Path) -> Run {
    r.ceremony(&["inspect", "--media", path_str(stick)])
}

/// The signed part of a metadata file, without `version` and `expires`.
fn signed_without_version_and_expiry(path: &Path) -> serde_json::Value {
    let mut signed = read_json(path)["signed"].clone();
    let object = signed.as_object_mut().unwrap();
    object.remove("version");
    object.remove("expires");
    signed
}

/// Stage, sign with alice's token (against root v1), merge and commit.
fn ceremony(r: &Releaser, repo: &Path, stick: &str, files: &[&str]) {
    let repo_s = path_str(repo);
    let stick = r.path(stick);
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage",
    );
    for file in files {
        assert_ok(
            &r.sign(
                &stick,
                file,
                &["--trusted", "repository/1.root.json"],
                "alice",
            ),
            &format!("sign {file}"),
        );
    }
    assert_ok(
        &r.tuf_repo(&["merge", repo_s, "--stick", path_str(&stick)]),
        "merge",
    );
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit");
    assert_ok(&r.tuf_repo(&["verify", repo_s]), "verify");
}

#[test]
fn a_due_targets_is_renewed_unchanged_and_status_follows_its_ceremony() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let repo = r.published_v1("alice");
    let repo_s = path_str(&repo);
    let alice = r.key_id("alice");

    // Nothing staged and nothing due: status is quiet and says so.
    let run = r.tuf_repo(&["status", repo_s]);
    assert_ok(&run, "status of a fresh repository");
    assert!(
        run.stdout
            .contains("staged: nothing is waiting for signatures"),
        "{run:?}"
    );
    let run = r.tuf_repo(&["renew", repo_s, "--due"]);
    assert_ok(&run, "renew --due with nothing due");
    assert!(run.stdout.contains("nothing to renew"), "{run:?}");

    // 25 days on, targets (30 days, margin 7) is due; root (365, 30) is not.
    let at = in_days(25);
    refused(
        &r.tuf_repo(&["status", repo_s, "--at", &at]),
        "status with targets due",
        &[
            "targets v1",
            &format!("run `tuf-repo renew {repo_s} targets`"),
            &format!("tuf-repo stage {repo_s} --stick <dir>"),
        ],
    );
    refused(
        &r.tuf_repo(&["renew", repo_s, "snapshot"]),
        "an online role",
        &["snapshot is an online role", "tuf-repo snapshot"],
    );
    refused(
        &r.tuf_repo(&["renew", repo_s, "claimed"]),
        "no such role",
        &["no offline role matches \"claimed\"", "root, targets"],
    );
    let run = r.tuf_repo(&["renew", repo_s, "--due", "--at", &at]);
    assert_ok(&run, "renew --due");
    assert!(run.stdout.contains("renewed targets v2"), "{run:?}");
    assert!(!run.stdout.contains("renewed root"), "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("next: tuf-repo stage {repo_s} --stick <dir>")),
        "{run:?}"
    );
    let staged = repo.join("staged/targets.json");
    let published = repo.join("repository/1.targets.json");
    assert_eq!(read_json(&staged)["signed"]["version"], 2);
    assert_eq!(
        signed_without_version_and_expiry(&staged),
        signed_without_version_and_expiry(&published),
        "only version and expiry change"
    );
    assert_ne!(
        read_json(&staged)["signed"]["expires"],
        read_json(&published)["signed"]["expires"]
    );
    // Renewing it again leaves the staged version as it is.
    let before = std::fs::read(&staged).unwrap();
    let run = r.tuf_repo(&["renew", repo_s, "targets"]);
    assert_ok(&run, "renew of a staged role");
    assert!(run.stdout.contains("already staged"), "{run:?}");
    assert_eq!(std::fs::read(&staged).unwrap(), before);

    // Staged, no bundle yet: status names `stage` (staged work alone is
    // no failure: cron jobs alert on the exit code, which is for margins).
    let run = r.tuf_repo(&["status", repo_s]);
    assert_ok(&run, "status before the bundle");
    assert!(run.stdout.contains("not in a bundle yet"), "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "next: 1 staged file(s) not in a bundle yet: run `tuf-repo stage {repo_s} --stick <dir>`"
        )),
        "{run:?}"
    );
    let stick = r.path("renew-stick");
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage the renewal",
    );
    // In a bundle, no signature yet: which key set, who is missing, `merge`.
    let run = r.tuf_repo(&["status", repo_s]);
    assert_ok(&run, "status waiting for signatures");
    assert!(
        run.stdout.contains("wait for signatures (targets v2: "),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains(&format!("run `tuf-repo merge {repo_s} --stick <dir>`")),
        "{run:?}"
    );
    // Inside a margin too, the error line carries the staged next step.
    refused(
        &r.tuf_repo(&["status", repo_s, "--at", &in_days(6)]),
        "status in the snapshot margin with staged work",
        &["snapshot v1", "tuf-repo merge"],
    );
    assert!(
        run.stdout.contains("staged/targets.json (targets v2)"),
        "{run:?}"
    );
    assert!(run.stdout.contains("in the last bundle"), "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "0/1 not met; signed: none; missing: {}",
            &alice[..8]
        )),
        "{run:?}"
    );
    assert_ok(
        &r.sign(
            &stick,
            "staged/targets.json",
            &["--trusted", "repository/1.root.json"],
            "alice",
        ),
        "alice signs targets v2",
    );
    assert_ok(
        &r.tuf_repo(&["merge", repo_s, "--stick", path_str(&stick)]),
        "merge",
    );
    let run = r.tuf_repo(&["status", repo_s]);
    assert_ok(&run, "status when signed");
    assert!(
        run.stdout.contains(&format!(
            "signed by every threshold: run `tuf-repo commit {repo_s}`"
        )),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains(&format!("1/1 met; signed: {}; missing: none", &alice[..8])),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains(&format!("{} from stick {}", &alice[..8], path_str(&stick))),
        "{run:?}"
    );
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit the renewal");
    assert_ok(&r.tuf_repo(&["verify", repo_s]), "verify");
    let run = r.tuf_repo(&["status", repo_s]);
    assert_ok(&run, "status after the commit");
    assert!(run.stdout.contains("nothing is waiting"), "{run:?}");

    // Root renewed the same way: v2 keeps every key and threshold.
    let run = r.tuf_repo(&["renew", repo_s, "root"]);
    assert_ok(&run, "renew root");
    assert!(run.stdout.contains("renewed root v2"), "{run:?}");
    assert_eq!(
        signed_without_version_and_expiry(&repo.join("staged/root.json")),
        signed_without_version_and_expiry(&repo.join("repository/1.root.json"))
    );
    ceremony(&r, &repo, "root-renew-stick", &["staged/root.json"]);
    assert!(repo.join("repository/2.root.json").exists());
}

/// The `tuf-repo` binary and the `bins_bench` example (a batch signer
/// with an age key), built once.
fn bins_bench() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(workspace_root())
            .args(["build", "--quiet", "-p", "tuf-repo", "--bin", "tuf-repo"])
            .args(["--example", "bins_bench"])
            .status()
            .expect("cargo build");
        assert!(status.success(), "building tuf-repo and bins_bench failed");
    });
    binary("tuf-repo")
        .parent()
        .unwrap()
        .join("examples/bins_bench")
}

fn batch_sign(r: &Releaser, stick: &Path) {
    let output = Command::new(bins_bench())
        .arg(stick)
        .arg(r.path("bins.age"))
        .arg(r.path("bins.pass"))
        .output()
        .expect("run bins_bench");
    assert!(output.status.success(), "bins_bench: {output:?}");
}

#[test]
fn hash_bins_are_renewed_by_pattern_and_clients_list_every_target() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    bins_bench();
    r.onboard_age("bins", "bins passphrase");
    let repo = r.published_v1("alice");
    let repo_s = path_str(&repo);
    assert_ok(
        &r.tuf_repo(&[
            "delegate",
            repo_s,
            "--succinct",
            "--bins",
            "4",
            "--name-prefix",
            "bins",
            "--key",
            path_str(&r.path("bins.pub.json")),
            "--threshold",
            "1",
        ]),
        "delegate four bins",
    );
    let file = r.path("app.tar.gz");
    std::fs::write(&file, b"release 1\n").unwrap();
    assert_ok(
        &r.tuf_repo(&[
            "add-target",
            repo_s,
            path_str(&file),
            "--name",
            "app.tar.gz",
            "--role",
            "bins",
            "--custom",
            r#"{"tag": "v1"}"#,
        ]),
        "add-target to its bin",
    );
    let stick = r.path("bins-stick");
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage the bins",
    );
    assert_ok(
        &r.sign(
            &stick,
            "staged/targets.json",
            &["--trusted", "repository/1.root.json"],
            "alice",
        ),
        "sign targets v2",
    );
    batch_sign(&r, &stick);
    assert_ok(
        &r.tuf_repo(&["merge", repo_s, "--stick", path_str(&stick)]),
        "merge",
    );
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit");

    // The bins, like targets, expire in 30 days: 25 days on, all are due.
    let at = in_days(25);
    let run = r.tuf_repo(&["status", repo_s, "--at", &at]);
    refused(
        &run,
        "status with bins due",
        &[
            "4 delegated role(s)",
            &format!("tuf-repo renew {repo_s} --due"),
        ],
    );
    assert!(run.stdout.contains("bins-0"), "{run:?}");
    let run = r.tuf_repo(&["renew", repo_s, "bins-*"]);
    assert_ok(&run, "renew bins-*");
    for n in 0..4 {
        let name = format!("bins-{n}");
        assert!(
            run.stdout.contains(&format!("renewed {name} v2")),
            "{run:?}"
        );
        assert_eq!(
            signed_without_version_and_expiry(&repo.join(format!("staged/{name}.json"))),
            signed_without_version_and_expiry(&repo.join(format!("repository/1.{name}.json"))),
        );
    }
    assert!(!run.stdout.contains("renewed targets"), "{run:?}");
    let stick = r.path("bins-renew-stick");
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage the renewed bins",
    );
    let manifest = read_json(&stick.join("tuf-ceremony/manifest.json"));
    let roles: Vec<&str> = manifest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["bins-0", "bins-1", "bins-2", "bins-3"]);
    batch_sign(&r, &stick);
    assert_ok(
        &r.tuf_repo(&["merge", repo_s, "--stick", path_str(&stick)]),
        "merge the bins",
    );
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit the bins");
    assert_ok(&r.tuf_repo(&["verify", repo_s]), "verify");

    // A client lists every target with its role and custom metadata.
    let published = repo.join("repository");
    let client = r.path("client");
    let client_s = path_str(&client);
    assert_ok(
        &r.tuf_repo(&[
            "client",
            "--metadata-dir",
            client_s,
            "init",
            path_str(&published.join("1.root.json")),
        ]),
        "client init",
    );
    let metadata_url = format!("file://{}/", path_str(&published));
    let run = r.tuf_repo(&[
        "client",
        "--metadata-dir",
        client_s,
        "--metadata-url",
        &metadata_url,
        "list",
    ]);
    assert_ok(&run, "client list");
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("app.tar.gz  10 bytes  sha256 "))
        .unwrap_or_else(|| panic!("{run:?}"));
    assert!(line.contains("  role bins-"), "{line}");
    assert!(line.ends_with(r#"custom {"tag":"v1"}"#), "{line}");
    assert!(run.stdout.contains("1 target(s) in 5 role(s)"), "{run:?}");

    // The repository's URL as the target base: not found there, and why.
    let download = |base: &str| {
        r.tuf_repo(&[
            "client",
            "--metadata-dir",
            client_s,
            "--metadata-url",
            &metadata_url,
            "--target-name",
            "app.tar.gz",
            "--target-base-url",
            base,
            "--target-dir",
            path_str(&r.path("downloads")),
            "download",
        ])
    };
    refused(
        &download(&metadata_url),
        "the repository as the target base",
        &[
            "target app.tar.gz: not found at",
            "--target-base-url must point at",
            "<repository url>/targets",
        ],
    );
    assert_ok(
        &download(&format!("{metadata_url}targets/")),
        "download from <url>/targets",
    );
    assert_eq!(
        std::fs::read(r.path("downloads/app.tar.gz")).unwrap(),
        b"release 1\n"
    );
}

#[test]
fn a_keyholder_removed_from_root_leaves_targets_only_with_also_targets() {
    let r = Releaser::new(&[("alice", "ed25519"), ("bob", "ed25519")], true);
    let repo = r.published_v1("alice");
    let repo_s = path_str(&repo);
    let (alice, bob) = (r.key_id("alice"), r.key_id("bob"));

    // Root v2: bob joins root and targets.
    let stick = r.path("stick-v2");
    assert_ok(
        &r.tuf_repo(&[
            "stage-rotation",
            repo_s,
            "--stick",
            path_str(&stick),
            "--add-root-key",
            path_str(&r.pub_key("bob")),
            "--add-targets-key",
            path_str(&r.pub_key("bob")),
        ]),
        "stage v2",
    );
    for token in ["alice", "bob"] {
        assert_ok(
            &r.sign(
                &stick,
                "staged/root.json",
                &["--trusted", "repository/1.root.json"],
                token,
            ),
            &format!("{token} signs v2"),
        );
    }
    assert_ok(
        &r.tuf_repo(&["merge", repo_s, "--stick", path_str(&stick)]),
        "merge v2",
    );
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit v2");
    // Alice also signs a delegated role.
    assert_ok(
        &r.tuf_repo(&[
            "delegate",
            repo_s,
            "--name",
            "team",
            "--key",
            path_str(&r.pub_key("alice")),
            "--threshold",
            "1",
            "--paths",
            "team/*",
        ]),
        "delegate team to alice",
    );

    // Removing alice from targets too cannot leave a threshold of 2 with one key.
    let before = tuf_ceremony_e2e::snapshot_of(&repo);
    refused(
        &r.tuf_repo(&[
            "stage-rotation",
            repo_s,
            "--stick",
            path_str(&r.path("stick-refused")),
            "--remove-root-key",
            &alice[..12],
            "--also-targets",
            "--targets-threshold",
            "2",
        ]),
        "targets threshold unmet",
        &[
            &format!("targets: removing {}", &alice[..8]),
            "leaves 1 key(s) for a threshold of 2",
            "--targets-threshold",
        ],
    );
    assert_eq!(tuf_ceremony_e2e::snapshot_of(&repo), before);

    // Without --also-targets: staged, with warnings for targets and team.
    let run = r.tuf_repo(&[
        "stage-rotation",
        repo_s,
        "--stick",
        path_str(&r.path("stick-root-only")),
        "--remove-root-key",
        &alice[..12],
    ]);
    assert_ok(&run, "remove alice from root only");
    assert!(
        run.stderr.contains(&format!(
            "warning: root key {} is removed from root but still signs targets; add --also-targets",
            &alice[..8]
        )),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("still signs the delegated role team (targets v2 (staged) delegates it)"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains(&format!(
            "--from targets --name team --remove-key {}",
            &alice[..8]
        )),
        "{run:?}"
    );
    let staged = read_json(&repo.join("staged/root.json"));
    assert!(
        staged["signed"]["roles"]["targets"]["keyids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|id| id == alice.as_str())
    );

    // Discarded and staged again with --also-targets: alice leaves both.
    std::fs::remove_file(repo.join("staged/root.json")).unwrap();
    let stick = r.path("stick-v3");
    let run = r.tuf_repo(&[
        "stage-rotation",
        repo_s,
        "--stick",
        path_str(&stick),
        "--remove-root-key",
        &alice[..12],
        "--also-targets",
    ]);
    assert_ok(&run, "remove alice from root and targets");
    assert!(!run.stderr.contains("still signs targets"), "{run:?}");
    let staged = read_json(&repo.join("staged/root.json"));
    for role in ["root", "targets"] {
        assert_eq!(
            staged["signed"]["roles"][role]["keyids"],
            serde_json::json!([bob.clone()]),
            "{role}"
        );
    }
    assert!(staged["signed"]["keys"].get(&alice).is_none());

    // The review the keyholders read shows the targets change.
    let run = inspect(&r, &stick);
    assert_ok(&run, "inspect");
    let review: Vec<&str> = run.stdout.lines().map(str::trim).collect();
    let targets = review
        .iter()
        .position(|l| l.starts_with("targets: threshold 1 of 1 key(s)"))
        .unwrap_or_else(|| panic!("{run:?}"));
    assert!(
        review[targets + 1].starts_with(&format!("- removed {}", &alice[..8])),
        "{run:?}"
    );
}

#[test]
fn digest_matches_the_review_screen() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let repo = r.published_v1("alice");
    let repo_s = path_str(&repo);
    assert_ok(&r.tuf_repo(&["renew", repo_s, "targets", "root"]), "renew");
    let stick = r.path("digest-stick");
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage",
    );
    let screen = inspect(&r, &stick);
    assert_ok(&screen, "inspect");
    let bundle = stick.join("tuf-ceremony/staged");
    for name in ["root.json", "targets.json"] {
        let run = r.tuf_repo(&["digest", path_str(&bundle.join(name))]);
        assert_ok(&run, &format!("digest {name}"));
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(lines.len(), 4, "{run:?}");
        assert_eq!(lines[1], "canonical SHA-256 of what is signed:");
        // The same two rows of eight groups as on the screen.
        for row in &lines[2..] {
            assert!(screen.stdout.contains(row.trim()), "{row}\n{screen:?}");
        }
        assert!(lines[2].split(' ').filter(|g| g.len() == 4).count() == 8);
        // The repository's own staged copy has the same digest.
        let ours = r.tuf_repo(&["digest", path_str(&repo.join("staged").join(name))]);
        assert_eq!(ours.stdout.lines().skip(1).collect::<Vec<_>>(), lines[1..]);
    }
    let run = r.tuf_repo(&[
        "digest",
        path_str(&bundle.join("root.json")),
        path_str(&bundle.join("targets.json")),
    ]);
    assert_ok(&run, "two files");
    assert!(run.stdout.contains("root.json: root version 2"), "{run:?}");
    assert!(
        run.stdout.contains("targets.json: targets version 2"),
        "{run:?}"
    );
    let not_metadata = r.path("notes.txt");
    std::fs::write(&not_metadata, b"not json").unwrap();
    refused(
        &r.tuf_repo(&["digest", path_str(&not_metadata)]),
        "not metadata",
        &["notes.txt"],
    );
    let usage = r.tuf_repo(&["digest"]);
    assert_eq!(usage.code, Some(2), "{usage:?}");
}

/// The `sh` blocks between the walkthrough markers of the releaser guide,
/// each as its command lines.
fn guide_walkthrough() -> Vec<Vec<String>> {
    let guide = std::fs::read_to_string(workspace_root().join("docs/releaser-guide.md")).unwrap();
    let (_, rest) = guide.split_once("<!-- walkthrough:begin -->").unwrap();
    let (walkthrough, _) = rest.split_once("<!-- walkthrough:end -->").unwrap();
    let mut blocks = Vec::new();
    let mut block: Option<Vec<String>> = None;
    for line in walkthrough.lines() {
        match (&mut block, line.trim()) {
            (None, "```sh") => block = Some(Vec::new()),
            (Some(_), "```") => blocks.push(block.take().unwrap()),
            (Some(lines), text) if !text.is_empty() => lines.push(text.to_owned()),
            _ => {}
        }
    }
    blocks
}

#[test]
fn the_releaser_guide_walkthrough_runs_as_printed() {
    use tuf_ceremony_e2e::repo_setup::{SNAPSHOT_PASS, TIMESTAMP_PASS};
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let app = r.path("app.tar.gz");
    std::fs::write(&app, b"release 1\n").unwrap();
    let repo = r.published_v1_with_targets("alice", &[(&app, "app.tar.gz")]);
    let stick = r.path("guide-stick");
    let tools = binary("tuf-repo").parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run_line = |line: &str| {
        let output = Command::new("bash")
            .args(["-c", line])
            .env("PATH", &path)
            .env("REPO", &repo)
            .env("STICK", &stick)
            .env("WWW", r.path("www"))
            .env("CLIENT", r.path("guide-client"))
            .env("DOWNLOADS", r.path("guide-downloads"))
            .env("TUF_SNAPSHOT_PASSPHRASE", SNAPSHOT_PASS)
            .env("TUF_TIMESTAMP_PASSPHRASE", TIMESTAMP_PASS)
            .output()
            .expect("run bash");
        let run = Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert_ok(&run, line);
        // A `# next: … run `tuf-repo X …`` comment is what status prints.
        if let Some((_, promised)) = line.split_once("# next: ") {
            let (_, command) = promised.split_once("run `tuf-repo ").unwrap();
            let verb = command.split(' ').next().unwrap();
            assert!(
                run.stdout.contains(&format!("run `tuf-repo {verb} ")),
                "{line}: {run:?}"
            );
        }
        run
    };
    let blocks = guide_walkthrough();
    assert_eq!(blocks.len(), 3, "{blocks:?}");
    for line in &blocks[0] {
        run_line(line);
    }
    // The ceremony, between the guide's first and second blocks.
    assert_ok(
        &r.sign(
            &stick,
            "staged/targets.json",
            &["--trusted", "repository/1.root.json"],
            "alice",
        ),
        "alice signs the renewed targets",
    );
    for line in &blocks[1] {
        run_line(line);
    }
    assert!(repo.join("repository/2.targets.json").exists());
    let mut listed = String::new();
    for line in &blocks[2] {
        let run = run_line(line);
        if line.ends_with(" list") {
            listed = run.stdout;
        }
    }
    assert!(listed.contains("app.tar.gz  10 bytes  sha256 "), "{listed}");
    assert_eq!(
        std::fs::read(r.path("guide-downloads/app.tar.gz")).unwrap(),
        b"release 1\n"
    );
}
