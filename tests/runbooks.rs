//! The runbooks in `ceremony-scripts/` run end to end as a releaser, a
//! security officer and three keyholders would run them, with SoftHSM2
//! tokens: sticks prepared (and one holding a private key refused), keys
//! onboarded, a new repository and its first ceremony, an annual rotation
//! replacing one keyholder, a timestamp refresh. The keyholders' signing on
//! the appliance is done headless with `ceremony sign` (the UI itself is
//! driven in tests/ceremony_tui.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use transcript::{Event, Transcript};
use tuf_ceremony_e2e::{Run, SoftHsm, binary, path_str, read_json, workspace_root};

/// Runs runbook `script` with `args`, the tools on PATH, no pauses.
fn runbook(hsm: &SoftHsm, script: &str, args: &[&str]) -> Run {
    let bin = binary("ceremony").parent().unwrap().to_owned();
    binary("tuf-repo");
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let output = Command::new(workspace_root().join("ceremony-scripts").join(script))
        .args(args)
        .env("PATH", path)
        .env("RUNBOOK_YES", "1")
        .env("SOFTHSM2_CONF", hsm.conf())
        .env("TUF_SNAPSHOT_PASSPHRASE", "rehearsal snapshot passphrase")
        .env("TUF_TIMESTAMP_PASSPHRASE", "rehearsal timestamp passphrase")
        .output()
        .expect("run the runbook");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn assert_passes(run: &Run, what: &str) {
    assert_eq!(run.code, Some(0), "{what}:\n{}\n{}", run.stdout, run.stderr);
}

/// A keyholder signs every file staged on `stick` the headless way.
fn sign(hsm: &SoftHsm, stick: &Path, who: &str, file: &str, anchor: &[&str]) {
    let bundle = stick.join("tuf-ceremony");
    let mut args = vec![
        "sign".to_owned(),
        "--metadata".into(),
        path_str(&bundle.join(file)).into(),
    ];
    if let [flag, root] = anchor {
        args.push((*flag).into());
        args.push(path_str(&bundle.join(root)).into());
    }
    args.extend(
        [
            "--profile",
            "softhsm2",
            "--token-label",
            who,
            "--pin-file",
            path_str(&hsm.path().join(format!("{who}.pin"))),
        ]
        .map(String::from),
    );
    let run = hsm.ceremony(&args);
    assert_eq!(run.code, Some(0), "{who} signs {file}: {run:?}");
}

fn keyid(pub_file: &Path) -> String {
    let value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pub_file).unwrap()).unwrap();
    value["keyid"].as_str().unwrap().to_owned()
}

/// `(role, version, canonical sha256)` of each item of `stick`'s manifest.
fn manifest_items(stick: &Path) -> Vec<(String, u64, String)> {
    let manifest = read_json(&stick.join("tuf-ceremony/manifest.json"));
    manifest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["role"].as_str().unwrap().to_owned(),
                item["version"].as_u64().unwrap(),
                item["canonical_sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The transcript the appliance would have left on `stick`: a session in
/// which `who` (key `keyid`) signed every staged file, with the signatures
/// now in those files, and a witness sign-off; written by the transcript
/// crate's writer.
fn write_transcript(stick: &Path, keyid: &str, who: &str) {
    let bundle = stick.join("tuf-ceremony");
    let mut t = Transcript::open(&bundle.join("transcript.jsonl"), false).unwrap();
    let at = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    t.append(
        at,
        Event::SessionStarted {
            tool: "ceremony 0.1.0".into(),
            host_clock: "2026-11-22T09:58:12Z".into(),
            boot_files: Vec::new(),
            network_hardware: Vec::new(),
        },
    )
    .unwrap();
    for (role, version, digest) in manifest_items(stick) {
        let file = format!("staged/{role}.json");
        let staged = read_json(&bundle.join(&file));
        let sig = staged["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["keyid"] == keyid)
            .unwrap_or_else(|| panic!("{who} did not sign {file}"))["sig"]
            .as_str()
            .unwrap()
            .to_owned();
        t.append(
            at,
            Event::Signed {
                file,
                role,
                version,
                canonical_sha256: digest,
                keyids: vec![keyid.to_owned()],
                signer: format!("PKCS#11 token: SoftHSM v2, token \"{who}\""),
                signature: sig,
            },
        )
        .unwrap();
    }
    t.append(
        at,
        Event::WitnessSignoff {
            name: "Wanda Witness".into(),
            statement: "I watched".into(),
            signature: None,
        },
    )
    .unwrap();
    t.append(at, Event::SessionFinished { summary: vec![] })
        .unwrap();
}

#[test]
fn every_runbook_answers_help_and_says_the_tools_come_from_path() {
    for script in [
        "drill",
        "new-repository",
        "annual-root-rotation",
        "onboard-keyholder",
        "prepare-sticks",
        "refresh-timestamp",
    ] {
        // No tools on PATH: --help needs none.
        let output = Command::new(workspace_root().join("ceremony-scripts").join(script))
            .arg("--help")
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{script} --help: {output:?}");
        assert!(stdout.contains(script), "{script} --help:\n{stdout}");
        assert!(stdout.contains("PATH"), "{script} --help:\n{stdout}");
        assert!(
            stdout.contains("target/release"),
            "{script} --help:\n{stdout}"
        );
    }
    // Without --help and without the tools, the one error line says the
    // same.
    let output = Command::new(workspace_root().join("ceremony-scripts/refresh-timestamp"))
        .arg("/nonexistent")
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        stderr.starts_with("error: tuf-repo not found on PATH") && stderr.contains("--help"),
        "{stderr}"
    );
}

#[test]
fn the_practice_token_page_runs_as_written() {
    let page = std::fs::read_to_string(workspace_root().join("docs/practice-tokens.md")).unwrap();
    let blocks: Vec<&str> = page
        .split("```sh\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 3, "{page}");
    // A fresh directory standing for the top of the checkout.
    let top = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        workspace_root().join("ceremony-scripts"),
        top.path().join("ceremony-scripts"),
    )
    .unwrap();
    let bin = binary("ceremony").parent().unwrap().to_owned();
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let script = format!("set -euo pipefail\n{}", blocks.join("\n"));
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(top.path())
        .env("PATH", path)
        .env("RUNBOOK_YES", "1")
        .env_remove("SOFTHSM2_CONF")
        .output()
        .unwrap();
    assert!(output.status.success(), "{script}\n{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    for who in ["alice", "bob", "carol"] {
        let public = top.path().join(format!("practice/keys/{who}.pub.json"));
        let id = keyid(&public);
        assert!(
            stdout.contains(&format!("token \"{who}\"")) && stdout.contains(&id),
            "{who}'s key {id} on their token:\n{stdout}"
        );
    }
    // The tokens are in the practice directory, not the system's.
    assert!(
        top.path()
            .join("practice/tokens")
            .read_dir()
            .unwrap()
            .count()
            >= 3
    );
}

#[test]
fn the_runbooks_take_a_repository_from_nothing_through_an_annual_rotation() {
    let hsm = SoftHsm::new();
    let work = hsm.path().to_owned();
    let dir = |name: &str| -> PathBuf {
        let d = work.join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    let s = |p: &Path| path_str(p).to_owned();

    // The security officer prepares the sticks; one that carries a
    // private key is refused.
    let sticks = [dir("stick-1"), dir("stick-2"), dir("stick-3")];
    for (i, stick) in sticks.iter().enumerate() {
        let run = runbook(
            &hsm,
            "prepare-sticks",
            &["--dir", &s(stick), "--label", &format!("STICK{}", i + 1)],
        );
        assert_passes(&run, "prepare-sticks");
        assert!(stick.join("TUF-TRANSFER-STICK.txt").exists());
    }
    let dirty = dir("dirty");
    std::fs::write(
        dirty.join("notes.txt"),
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let run = runbook(
        &hsm,
        "prepare-sticks",
        &["--dir", &s(&dirty), "--label", "DIRTY"],
    );
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stdout.contains("notes.txt"), "{run:?}");
    assert!(run.stderr.contains("holds private key material"), "{run:?}");

    // Three keyholders onboard on their tokens.
    let keys = dir("keys");
    for (who, pin) in [("alice", "1111"), ("bob", "2222"), ("carol", "3333")] {
        let pin_file = hsm.init_token(who, pin);
        let run = runbook(
            &hsm,
            "onboard-keyholder",
            &[
                "--who",
                who,
                "--out",
                &s(&keys),
                "--profile",
                "softhsm2",
                "--token-label",
                who,
                "--pin-file",
                &s(&pin_file),
            ],
        );
        assert_passes(&run, "onboard-keyholder");
        let id = keyid(&keys.join(format!("{who}.pub.json")));
        assert!(run.stdout.contains(&id[..8]), "{}", run.stdout);
    }
    // The online keys (age files).
    for (role, passphrase) in [
        ("snapshot", "rehearsal snapshot passphrase"),
        ("timestamp", "rehearsal timestamp passphrase"),
    ] {
        let pass = work.join(format!("{role}.pass"));
        std::fs::write(&pass, format!("{passphrase}\n")).unwrap();
        let run = hsm.ceremony([
            "onboard",
            "--age",
            &s(&keys.join(format!("{role}.age"))),
            "--passphrase-file",
            &s(&pass),
            "--key-type",
            "ed25519",
            "--out",
            &s(&keys.join(format!("{role}.pub.json"))),
        ]);
        assert_eq!(run.code, Some(0), "{run:?}");
    }

    // A new repository and its first ceremony on two sticks.
    let repo = work.join("repo");
    let k = |name: &str| s(&keys.join(name));
    let run = runbook(
        &hsm,
        "new-repository",
        &[
            "prepare",
            &s(&repo),
            "--stick",
            &s(&sticks[0]),
            "--stick",
            &s(&sticks[1]),
            "--",
            "--root-key",
            &k("alice.pub.json"),
            "--root-key",
            &k("bob.pub.json"),
            "--root-threshold",
            "2",
            "--snapshot-key",
            &k("snapshot.pub.json"),
            "--timestamp-key",
            &k("timestamp.pub.json"),
            "--online-snapshot-age",
            &k("snapshot.age"),
            "--online-timestamp-age",
            &k("timestamp.age"),
        ],
    );
    assert_passes(&run, "new-repository prepare");
    // Every staged file's digest is in the summary, targets v1 too, as the
    // manifest (and so the appliance's review) has it.
    let items = manifest_items(&sticks[0]);
    assert_eq!(items.len(), 2, "{items:?}");
    for (role, version, digest) in &items {
        let said = format!("{role} v{version} canonical sha256: {digest}");
        assert!(run.stdout.contains(&said), "{said}:\n{}", run.stdout);
        let aloud = digest
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(run.stdout.contains(&aloud), "{aloud}:\n{}", run.stdout);
    }
    for (stick, who) in [(&sticks[0], "alice"), (&sticks[1], "bob")] {
        sign(&hsm, stick, who, "staged/root.json", &[]);
        sign(
            &hsm,
            stick,
            who,
            "staged/targets.json",
            &["--staged-root", "staged/root.json"],
        );
    }
    // Alice's stick comes back with the appliance's transcript of what
    // she signed (root v1 and targets v1); bob's without one.
    let alice_id = keyid(&keys.join("alice.pub.json"));
    write_transcript(&sticks[0], &alice_id, "alice");
    let run = runbook(
        &hsm,
        "new-repository",
        &[
            "finish",
            &s(&repo),
            "--stick",
            &s(&sticks[0]),
            "--stick",
            &s(&sticks[1]),
        ],
    );
    assert_passes(&run, "new-repository finish");
    assert!(repo.join("repository/1.root.json").exists());
    // The transcript is checked against both files signed at the
    // ceremony, not only the root; the stick without one is named.
    for file in ["1.root.json", "1.targets.json"] {
        let said = format!(
            "{}: 1 signature recorded in the transcript is in the file",
            repo.join("repository").join(file).display()
        );
        assert!(run.stdout.contains(&said), "{said}:\n{}", run.stdout);
    }
    let said = format!(
        "WARNING: {} holds no ceremony transcript",
        sticks[1].display()
    );
    assert!(run.stdout.contains(&said), "{said}:\n{}", run.stdout);

    // The annual rotation: carol replaces alice, on two sticks staged once
    // (one root v2, one digest on both: merge takes both sticks' signatures).
    let alice = keyid(&keys.join("alice.pub.json"));
    let fourth_stick = dir("stick-4");
    let run = runbook(
        &hsm,
        "annual-root-rotation",
        &[
            "prepare",
            &s(&repo),
            "--stick",
            &s(&sticks[2]),
            "--stick",
            &s(&fourth_stick),
            "--",
            "--add-root-key",
            &k("carol.pub.json"),
            "--remove-root-key",
            &alice[..12],
        ],
    );
    assert_passes(&run, "annual-root-rotation prepare");
    assert!(
        run.stdout.contains("days left (margin 30 days)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("root v2 canonical sha256"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("every stick (2) carries the same bundle"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(sticks[2].join("tuf-ceremony/staged/root.json")).unwrap(),
        std::fs::read(fourth_stick.join("tuf-ceremony/staged/root.json")).unwrap(),
        "both sticks carry the same staged root"
    );
    for (stick, who) in [
        (&sticks[2], "alice"),
        (&fourth_stick, "bob"),
        (&sticks[2], "carol"),
    ] {
        sign(
            &hsm,
            stick,
            who,
            "staged/root.json",
            &["--trusted", "repository/1.root.json"],
        );
    }
    let run = runbook(
        &hsm,
        "annual-root-rotation",
        &[
            "finish",
            &s(&repo),
            "--stick",
            &s(&sticks[2]),
            "--stick",
            &s(&fourth_stick),
        ],
    );
    assert_passes(&run, "annual-root-rotation finish");
    assert!(run.stdout.contains("root v2 committed"), "{}", run.stdout);
    for stick in [&sticks[2], &fourth_stick] {
        let said = format!("WARNING: {} holds no ceremony transcript", stick.display());
        assert!(run.stdout.contains(&said), "{said}:\n{}", run.stdout);
    }
    assert!(run.stdout.contains("root v2: ok"), "{}", run.stdout);

    // Cron's timestamp refresh.
    let run = runbook(&hsm, "refresh-timestamp", &[&s(&repo)]);
    assert_passes(&run, "refresh-timestamp");

    // A rotation cannot be prepared onto a stick that holds a bundle.
    let run = runbook(
        &hsm,
        "annual-root-rotation",
        &["prepare", &s(&repo), "--stick", &s(&sticks[2])],
    );
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("already holds a ceremony bundle"),
        "{run:?}"
    );
}
