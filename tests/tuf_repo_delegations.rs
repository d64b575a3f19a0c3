//! `tuf-repo delegate`: a named delegation and a succinct hash-bin tree go
//! from `delegate` through a bundle, batch signing, `merge` and `commit` to
//! a repository `verify` and python-tuf's client accept. Root and targets
//! keys live on SoftHSM2 tokens (signed with `ceremony sign`); the delegated
//! roles' key is an age-encrypted software key, signed in one batch by the
//! `bins_bench` example (the same `SigningPlan`, one `Signer::sign_many`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use tuf_ceremony_e2e::repo_setup;
use tuf_ceremony_e2e::serve::{Served, python_http_download};
use tuf_ceremony_e2e::tough::{
    file_url, tough_loads, tough_misnames_a_target_in_a_directory, tough_refuses,
};
use tuf_ceremony_e2e::{
    Run, assert_ok, binary, path_str, python_downloads, read_json, workspace_root,
};

const BINS_PASS: &str = "bins passphrase";

/// The harness's releaser (alice's token, the online keys) with the
/// delegated roles' age key `bins`, and batch signing through `bins_bench`.
struct Releaser {
    inner: repo_setup::Releaser,
}

impl Releaser {
    fn new() -> Releaser {
        let inner = repo_setup::Releaser::new(&[("alice", "ed25519")], true)
            .with_tuf_repo(tuf_repo_binary());
        inner.onboard_age("bins", BINS_PASS);
        Releaser { inner }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.inner.path(name)
    }

    fn tuf_repo(&self, argv: &[&str]) -> Run {
        self.inner.tuf_repo(argv)
    }

    /// `ceremony` with alice's token.
    fn ceremony_cli(&self, argv: &[&str]) -> Run {
        self.inner.ceremony(argv)
    }

    /// `ceremony sign` of one bundle file with alice's token.
    fn sign(&self, stick: &Path, file: &str, anchor: &[&str]) -> Run {
        self.inner.sign(stick, file, anchor, "alice")
    }

    /// Every delegated role on the stick, signed in one batch with the bins key.
    fn batch_sign(&self, stick: &Path) -> Run {
        self.batch_sign_with(stick, "bins")
    }

    /// Every delegated role on the stick that `key` may sign, in one batch
    /// with that age key (the others are left for another key).
    fn batch_sign_with(&self, stick: &Path, key: &str) -> Run {
        let output = Command::new(bins_bench())
            .arg(stick)
            .arg(self.path(&format!("{key}.age")))
            .arg(self.path(&format!("{key}.pass")))
            .output()
            .expect("run bins_bench");
        run_of(&output)
    }

    /// Another age key for delegated roles, as `ceremony onboard` writes it.
    fn onboard_age(&self, name: &str, pass: &str) {
        self.inner.onboard_age(name, pass);
    }

    /// A new repository: root v1 and targets v1 signed by alice, committed.
    fn new_repository(&self, name: &str) -> PathBuf {
        self.inner
            .published_v1_in(name, &format!("{name}-stick-1"), "alice", &[])
    }

    /// Stages, signs (targets with alice's token for root v1, delegated
    /// roles in one batch), merges and commits what is staged.
    fn ceremony(
        &self,
        repo: &Path,
        stick_name: &str,
        targets_too: bool,
    ) -> Vec<(&'static str, f64)> {
        let repo_s = path_str(repo);
        let stick = self.path(stick_name);
        let mut times = Vec::new();
        let mut step = |what: &'static str, run: Run, started: Instant| {
            assert_ok(&run, what);
            times.push((what, started.elapsed().as_secs_f64()));
        };
        let t = Instant::now();
        step(
            "stage",
            self.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
            t,
        );
        if targets_too {
            let t = Instant::now();
            step(
                "sign targets",
                self.sign(
                    &stick,
                    "staged/targets.json",
                    &["--trusted", "repository/1.root.json"],
                ),
                t,
            );
        }
        let t = Instant::now();
        let run = self.batch_sign(&stick);
        eprint!("{}", run.stdout);
        step("batch sign", run, t);
        let t = Instant::now();
        step(
            "merge",
            self.tuf_repo(&["merge", repo_s, path_str(&stick)]),
            t,
        );
        let t = Instant::now();
        step("commit", self.tuf_repo(&["commit", repo_s]), t);
        let t = Instant::now();
        step("verify", self.tuf_repo(&["verify", repo_s]), t);
        times
    }
}

fn run_of(output: &std::process::Output) -> Run {
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// With `TUF_BENCH_RELEASE` set, `tuf-repo` and `bins_bench` are built
/// and run optimised (for timings); otherwise the debug builds.
fn release() -> bool {
    std::env::var_os("TUF_BENCH_RELEASE").is_some()
}

/// The `tuf-repo` binary (and the `bins_bench` example), built once.
fn tuf_repo_binary() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut argv = vec!["build", "--quiet", "-p", "tuf-repo", "--bin", "tuf-repo"];
        argv.extend(["--example", "bins_bench"]);
        if release() {
            argv.push("--release");
        }
        let status = Command::new(cargo)
            .current_dir(workspace_root())
            .args(argv)
            .status()
            .expect("cargo build");
        assert!(status.success(), "building tuf-repo and bins_bench failed");
    });
    let debug = binary("tuf-repo");
    if release() {
        debug
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("release/tuf-repo")
    } else {
        debug
    }
}

/// The `bins_bench` example, next to `tuf-repo`.
fn bins_bench() -> PathBuf {
    tuf_repo_binary()
        .parent()
        .unwrap()
        .join("examples/bins_bench")
}

fn refused(run: &Run, what: &str, needles: &[&str]) {
    assert_eq!(run.code, Some(1), "{what}: {run:?}");
    for needle in needles {
        assert!(run.stderr.contains(needle), "{what}: {needle:?} in {run:?}");
    }
}

#[test]
fn a_named_delegation_and_sixteen_hash_bins_reach_a_python_tuf_download() {
    let r = Releaser::new();
    let bins_key = r.path("bins.pub.json");
    let bins_key = path_str(&bins_key);

    // A named delegation: targets v2 delegates team/* to "team".
    let repo = r.new_repository("named");
    let repo_s = path_str(&repo);
    refused(
        &r.tuf_repo(&[
            "delegate",
            repo_s,
            "--name",
            "team",
            "--key",
            bins_key,
            "--threshold",
            "2",
            "--paths",
            "team/*",
        ]),
        "threshold above the keys",
        &["--threshold 2"],
    );
    refused(
        &r.tuf_repo(&[
            "delegate",
            repo_s,
            "--name",
            "snapshot",
            "--key",
            bins_key,
            "--threshold",
            "1",
            "--paths",
            "x/*",
        ]),
        "a top-level name",
        &["reserved"],
    );
    let run = r.tuf_repo(&[
        "delegate",
        repo_s,
        "--name",
        "team",
        "--key",
        bins_key,
        "--threshold",
        "1",
        "--paths",
        "team/*",
        "--terminating",
    ]);
    assert_ok(&run, "delegate team");
    assert!(run.stdout.contains("targets v2"), "{run:?}");
    let tool = r.path("tool.txt");
    std::fs::write(&tool, b"a team's tool\n").unwrap();
    assert_ok(
        &r.tuf_repo(&[
            "add-target",
            repo_s,
            path_str(&tool),
            "--name",
            "team/tool.txt",
            "--role",
            "team",
        ]),
        "add-target to team",
    );
    let stick = r.path("named-stick-2");
    // A delegated role is not committed before it is signed.
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage",
    );
    let manifest = tuf_ceremony_e2e::read_json(&stick.join("tuf-ceremony/manifest.json"));
    let items = manifest["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{manifest}");
    assert_eq!(items[1]["role"], "team");
    assert_eq!(items[1]["delegator"], "staged/targets.json");
    assert_eq!(
        items[1]["key_sets"][0]["label"],
        "team (targets v2 (staged))"
    );
    assert_ok(
        &r.sign(
            &stick,
            "staged/targets.json",
            &["--trusted", "repository/1.root.json"],
        ),
        "sign targets v2",
    );
    assert_ok(
        &r.tuf_repo(&["merge", repo_s, path_str(&stick)]),
        "merge targets only",
    );
    refused(
        &r.tuf_repo(&["commit", repo_s]),
        "commit of an unsigned delegated role",
        &["team.json", "team v1", "threshold"],
    );
    assert_ok(&r.batch_sign(&stick), "batch sign team");
    let run = r.tuf_repo(&["merge", repo_s, path_str(&stick)]);
    assert_ok(&run, "merge team");
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit");
    let published = repo.join("repository");
    assert!(published.join("1.team.json").exists());
    let run = r.tuf_repo(&["verify", repo_s]);
    assert_ok(&run, "verify named");
    assert!(run.stdout.contains("team v1: ok"), "{run:?}");
    let out = r.path("tool.out");
    python_downloads(
        &published.join("1.root.json"),
        &published,
        "team/tool.txt",
        &out,
    );
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&tool).unwrap());
    // tough verifies the named delegation, then asks for the target under
    // its own (non-spec) name: tough's limit, docs/testing.md.
    let team_sha = read_json(&published.join("1.team.json"))["signed"]["targets"]["team/tool.txt"]
        ["hashes"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        published
            .join(format!("targets/team/{team_sha}.tool.txt"))
            .exists()
    );
    tough_misnames_a_target_in_a_directory(
        &published.join("1.root.json"),
        &file_url(&published),
        &file_url(&published.join("targets")),
        &r.path("tough-named"),
        "team/tool.txt",
        &team_sha,
        &r.path("tough-tool.out"),
    );

    // Sixteen hash bins, a target in its bin, python-tuf finds it there.
    let repo = r.new_repository("bins");
    let repo_s = path_str(&repo);
    refused(
        &r.tuf_repo(&[
            "delegate",
            repo_s,
            "--succinct",
            "--bins",
            "12",
            "--name-prefix",
            "bins",
            "--key",
            bins_key,
            "--threshold",
            "1",
        ]),
        "not a power of two",
        &["--bins 12"],
    );
    assert_ok(
        &r.tuf_repo(&[
            "delegate",
            repo_s,
            "--succinct",
            "--bins",
            "16",
            "--name-prefix",
            "bins",
            "--key",
            bins_key,
            "--threshold",
            "1",
        ]),
        "delegate 16 bins",
    );
    let package = r.path("package.tar.gz");
    std::fs::write(&package, b"a package\n").unwrap();
    let run = r.tuf_repo(&[
        "add-target",
        repo_s,
        path_str(&package),
        "--name",
        "pkgs/package.tar.gz",
        "--role",
        "bins",
    ]);
    assert_ok(&run, "add-target into its bin");
    let bin = run
        .stdout
        .split('(')
        .nth(2)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .to_owned();
    assert!(bin.starts_with("bins-"), "{run:?}");
    let other = if bin == "bins-0" { "bins-1" } else { "bins-0" };
    refused(
        &r.tuf_repo(&[
            "add-target",
            repo_s,
            path_str(&package),
            "--name",
            "pkgs/package.tar.gz",
            "--role",
            other,
        ]),
        "a target in a bin it does not hash to",
        &["belongs in bin", &bin],
    );
    refused(
        &r.tuf_repo(&[
            "delegate",
            repo_s,
            "--name",
            "team",
            "--key",
            bins_key,
            "--threshold",
            "1",
            "--paths",
            "team/*",
        ]),
        "a named role next to hash bins",
        &["hash bins"],
    );
    let times = r.ceremony(&repo, "bins-stick-2", true);
    eprintln!("16 bins: {times:?}");
    let published = repo.join("repository");
    for n in 0..16 {
        assert!(published.join(format!("1.bins-{n:x}.json")).exists());
    }
    let run = r.tuf_repo(&["verify", repo_s]);
    assert!(run.stdout.contains("16 delegated roles"), "{run:?}");
    let out = r.path("package.out");
    python_downloads(
        &published.join("1.root.json"),
        &published,
        "pkgs/package.tar.gz",
        &out,
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&package).unwrap()
    );
    // tough does not read TAP 15 succinct delegations (its limit,
    // docs/testing.md): it parses `delegations` as the classic shape and
    // stops at the missing `roles` list, before fetching any bin.
    let said = tough_refuses(
        &published.join("1.root.json"),
        &file_url(&published),
        &file_url(&published.join("targets")),
        &r.path("tough-bins"),
        None,
        "missing field `roles`",
    );
    assert!(said.contains("Failed to parse targets metadata"), "{said}");
}

/// The files a bundle asks to sign: (file, role, delegator).
fn bundle_items(stick: &Path) -> Vec<(String, String, String)> {
    let manifest = read_json(&stick.join("tuf-ceremony/manifest.json"));
    manifest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["file"].as_str().unwrap().to_owned(),
                i["role"].as_str().unwrap().to_owned(),
                i["delegator"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn owned(items: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

/// PEP 480's shape: `targets → claimed → project-x` and a `recently-claimed`
/// role beside `claimed`, built with `delegate --from`, signed in one
/// bundle (the appliance anchors project-x on the staged claimed), then
/// project-x re-keyed to a new key and recently-claimed removed; python-tuf
/// downloads through the two levels over HTTP after each commit.
#[test]
fn a_two_level_delegation_is_built_rekeyed_and_pruned_and_python_tuf_follows_it() {
    let r = Releaser::new();
    r.onboard_age("project", "project passphrase");
    let bins_key = r.path("bins.pub.json");
    let bins_key = path_str(&bins_key);
    let project_key = r.path("project.pub.json");
    let repo = r.new_repository("pep480");
    let repo_s = path_str(&repo);
    let published = repo.join("repository");
    let delegate = |extra: &[&str]| {
        let mut argv = vec!["delegate", repo_s];
        argv.extend_from_slice(extra);
        r.tuf_repo(&argv)
    };

    // Nothing delegates to claimed yet.
    let project_x = [
        "--name",
        "project-x",
        "--key",
        bins_key,
        "--threshold",
        "1",
        "--paths",
        "projects/x/*",
        "--terminating",
    ];
    let mut from_claimed = vec!["--from", "claimed"];
    from_claimed.extend_from_slice(&project_x);
    refused(
        &delegate(&from_claimed),
        "--from a role nobody delegates to",
        &["--from \"claimed\"", "does not delegate"],
    );
    assert!(!repo.join("staged/project-x.json").exists());

    let claimed = [
        "--key",
        bins_key,
        "--threshold",
        "1",
        "--paths",
        "projects/*/*",
    ];
    let mut argv = vec!["--name", "claimed", "--terminating"];
    argv.extend_from_slice(&claimed);
    assert_ok(&delegate(&argv), "delegate claimed");
    let mut argv = vec!["--name", "recently-claimed"];
    argv.extend_from_slice(&claimed);
    assert_ok(&delegate(&argv), "delegate recently-claimed");
    let run = delegate(&from_claimed);
    assert_ok(&run, "delegate project-x from claimed");
    assert!(run.stdout.contains("(claimed v1, unsigned)"), "{run:?}");
    let mut again = vec!["--from", "recently-claimed"];
    again.extend_from_slice(&project_x);
    refused(
        &delegate(&again),
        "a name already in the graph",
        &["\"project-x\"", "already in the delegation graph"],
    );

    let tool = r.path("tool.txt");
    std::fs::write(&tool, b"project x's tool\n").unwrap();
    let add = |name: &str, role: &str| {
        r.tuf_repo(&[
            "add-target",
            repo_s,
            path_str(&tool),
            "--name",
            name,
            "--role",
            role,
        ])
    };
    refused(
        &add("projects/y/tool.txt", "project-x"),
        "a target outside project-x's paths",
        &["project-x's paths", "claimed v1 (staged)", "projects/x/*"],
    );
    assert_ok(&add("projects/x/tool.txt", "project-x"), "add to project-x");

    // One bundle: targets v2, the two roles it delegates, and project-x
    // keyed by the staged claimed it travels with.
    let stick = r.path("pep480-stick-2");
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage",
    );
    assert_eq!(
        bundle_items(&stick),
        owned(&[
            ("staged/targets.json", "targets", ""),
            ("staged/claimed.json", "claimed", "staged/targets.json"),
            (
                "staged/recently-claimed.json",
                "recently-claimed",
                "staged/targets.json"
            ),
            ("staged/project-x.json", "project-x", "staged/claimed.json"),
        ])
    );
    let manifest = read_json(&stick.join("tuf-ceremony/manifest.json"));
    assert_eq!(
        manifest["items"][3]["key_sets"][0]["label"],
        "project-x (claimed v1 (staged))"
    );
    // The appliance anchors project-x on the staged claimed the bundle carries.
    let run = r.ceremony_cli(&["inspect", "--stick", path_str(&stick)]);
    assert_ok(&run, "ceremony inspect");
    assert!(
        run.stdout.contains("project-x (claimed v1 (staged))"),
        "{run:?}"
    );
    assert_ok(
        &r.sign(
            &stick,
            "staged/targets.json",
            &["--trusted", "repository/1.root.json"],
        ),
        "sign targets v2",
    );
    let run = r.batch_sign(&stick);
    assert_ok(&run, "batch sign");
    assert!(run.stdout.contains("signed 3 delegated roles"), "{run:?}");
    assert_ok(&r.tuf_repo(&["merge", repo_s, path_str(&stick)]), "merge");
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit");
    let run = r.tuf_repo(&["verify", repo_s]);
    assert_ok(&run, "verify");
    assert!(
        run.stdout
            .contains("project-x v1: ok — delegated by claimed"),
        "{run:?}"
    );
    assert!(run.stdout.contains("3 delegated roles"), "{run:?}");
    let served = Served::start(&repo);
    let client = r.path("pep480-client");
    let said = python_http_download(
        &published.join("1.root.json"),
        &served,
        "projects/x/tool.txt",
        &client,
    );
    assert!(said.contains("downloaded projects/x/tool.txt"), "{said}");
    assert_eq!(
        std::fs::read(client.join("downloads/0.bin")).unwrap(),
        std::fs::read(&tool).unwrap()
    );
    // tough verifies claimed and project-x over the same server, then asks
    // for the target under its own (non-spec) name: tough's limit.
    let project_sha =
        read_json(&published.join("1.project-x.json"))["signed"]["targets"]["projects/x/tool.txt"]
            ["hashes"]["sha256"]
            .as_str()
            .unwrap()
            .to_owned();
    let tough_store = r.path("pep480-tough");
    tough_misnames_a_target_in_a_directory(
        &published.join("1.root.json"),
        &served.url,
        &format!("{}targets/", served.url),
        &tough_store,
        "projects/x/tool.txt",
        &project_sha,
        &r.path("pep480-tough.out"),
    );

    // Re-key project-x: the project key replaces the bins key. claimed v2
    // names the new key, project-x is staged as v2 for it to sign.
    let bins_id = read_json(&r.path("bins.pub.json"))["keyid"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(
        &delegate(&[
            "--from",
            "claimed",
            "--name",
            "project-x",
            "--remove-key",
            &bins_id[..12],
        ]),
        "removing the only key",
        &["project-x", "threshold 1 with 0 distinct keys"],
    );
    let run = delegate(&[
        "--from",
        "claimed",
        "--name",
        "project-x",
        "--add-key",
        path_str(&project_key),
        "--remove-key",
        &bins_id[..12],
    ]);
    assert_ok(&run, "re-key project-x");
    assert!(run.stdout.contains("(claimed v2, unsigned)"), "{run:?}");
    let stick = r.path("pep480-stick-3");
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage the re-key",
    );
    assert_eq!(
        bundle_items(&stick),
        owned(&[
            (
                "staged/claimed.json",
                "claimed",
                "repository/2.targets.json"
            ),
            ("staged/project-x.json", "project-x", "staged/claimed.json"),
        ])
    );
    assert!(
        stick
            .join("tuf-ceremony/repository/2.targets.json")
            .is_file()
    );
    let run = r.batch_sign(&stick);
    assert_ok(&run, "bins key signs claimed");
    assert!(run.stdout.contains("(1 left for other keys)"), "{run:?}");
    assert_ok(&r.tuf_repo(&["merge", repo_s, path_str(&stick)]), "merge");
    refused(
        &r.tuf_repo(&["commit", repo_s]),
        "project-x not yet signed by the new key",
        &["project-x.json", "project-x v2", "claimed v2 (staged)"],
    );
    assert!(!published.join("2.claimed.json").exists());
    assert_ok(
        &r.batch_sign_with(&stick, "project"),
        "project key signs project-x",
    );
    assert_ok(&r.tuf_repo(&["merge", repo_s, path_str(&stick)]), "merge");
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit the re-key");
    let run = r.tuf_repo(&["verify", repo_s]);
    assert_ok(&run, "verify");
    assert!(run.stdout.contains("project-x v2: ok"), "{run:?}");

    // Remove recently-claimed: targets v3 no longer names it, so no client
    // reaches it; its published file stays.
    let run = delegate(&["--name", "recently-claimed", "--remove"]);
    assert_ok(&run, "remove recently-claimed");
    refused(
        &delegate(&["--name", "recently-claimed", "--remove"]),
        "removing it twice",
        &["does not delegate to \"recently-claimed\""],
    );
    let stick = r.path("pep480-stick-4");
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage the removal",
    );
    assert_eq!(
        bundle_items(&stick),
        owned(&[("staged/targets.json", "targets", "")])
    );
    assert_ok(
        &r.sign(
            &stick,
            "staged/targets.json",
            &["--trusted", "repository/1.root.json"],
        ),
        "sign targets v3",
    );
    assert_ok(&r.tuf_repo(&["merge", repo_s, path_str(&stick)]), "merge");
    assert_ok(&r.tuf_repo(&["commit", repo_s]), "commit the removal");
    let run = r.tuf_repo(&["verify", repo_s]);
    assert_ok(&run, "verify");
    assert!(run.stdout.contains("2 delegated roles"), "{run:?}");
    let timestamp = read_json(&published.join("timestamp.json"));
    let v = timestamp["signed"]["meta"]["snapshot.json"]["version"]
        .as_u64()
        .unwrap();
    let snapshot = read_json(&published.join(format!("{v}.snapshot.json")));
    let meta = snapshot["signed"]["meta"].as_object().unwrap();
    // Frozen, not dropped: python-tuf refuses a snapshot missing a file the
    // previous one listed (TUF spec 5.5.5).
    assert_eq!(meta["recently-claimed.json"]["version"], 1, "{snapshot}");
    assert_eq!(meta["project-x.json"]["version"], 2);
    assert!(published.join("1.recently-claimed.json").exists());
    let said = python_http_download(
        &published.join("1.root.json"),
        &served,
        "projects/x/tool.txt",
        &client,
    );
    assert!(said.contains("targets v3"), "{said}");
    // tough follows from the state it kept: root v1, the new targets, the
    // frozen recently-claimed and project-x v2 all verify.
    let said = tough_loads(
        &published.join("1.root.json"),
        &served.url,
        &format!("{}targets/", served.url),
        &tough_store,
    );
    assert!(said.contains(", targets v3, "), "{said}");
    assert!(
        said.contains("tough: target projects/x/tool.txt: "),
        "{said}"
    );
}

/// The PEP 458 size: 16,384 bins staged, batch-signed, merged, committed
/// and verified; prints each step's time. Slow: run with `--ignored`.
#[test]
#[ignore]
fn sixteen_thousand_bins_are_staged_signed_and_committed() {
    let r = Releaser::new();
    let repo = r.new_repository("big");
    let repo_s = path_str(&repo);
    let bins_key = r.path("bins.pub.json");
    let t = Instant::now();
    assert_ok(
        &r.tuf_repo(&[
            "delegate",
            repo_s,
            "--succinct",
            "--bins",
            "16384",
            "--name-prefix",
            "bins",
            "--key",
            path_str(&bins_key),
            "--threshold",
            "1",
        ]),
        "delegate 16384 bins",
    );
    let delegate = t.elapsed().as_secs_f64();
    let times = r.ceremony(&repo, "big-stick", true);
    eprintln!("16384 bins: delegate {delegate:.1}s, {times:?}");
    let published = repo.join("repository");
    assert!(published.join("1.bins-3fff.json").exists());
}
