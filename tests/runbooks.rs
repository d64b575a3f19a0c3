//! The runbooks in `ceremony-scripts/` run end to end as a releaser, a
//! security officer and three keyholders would run them, with SoftHSM2
//! tokens: sticks prepared (and one holding a private key refused), keys
//! onboarded, a new repository and its first ceremony, an annual rotation
//! replacing one keyholder, a timestamp refresh. The keyholders' signing on
//! the appliance is done headless with `ceremony sign` (the UI itself is
//! driven in tests/ceremony_tui.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use tuf_ceremony_e2e::{Run, SoftHsm, binary, path_str, workspace_root};

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
    assert!(
        run.stdout.contains("root v1 canonical sha256"),
        "{}",
        run.stdout
    );
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
