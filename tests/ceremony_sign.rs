//! `ceremony onboard` and `ceremony sign` against real SoftHSM2 tokens: keys
//! generated on the tokens, a rotation staged by python-tuf, signed by two
//! keyholders one after the other, then accepted by python-tuf and by
//! `tuf-repo verify-root`. Refusals leave the file byte-identical.

use std::path::{Path, PathBuf};

use tuf_ceremony_e2e::{Run, SoftHsm, python, tuf_repo, workspace_root};

/// Two keyholders with tokens, a P-256 key and an Ed25519 key onboarded, and
/// python-tuf's staged rotation handing root to them.
struct Drill {
    hsm: SoftHsm,
    alice_pin: PathBuf,
    bob_pin: PathBuf,
    rotation: PathBuf,
}

impl Drill {
    fn new() -> Drill {
        let hsm = SoftHsm::new();
        let alice_pin = hsm.init_token("alice", "1234");
        let bob_pin = hsm.init_token("bob", "4321");
        for (token, pin, kind) in [
            ("alice", &alice_pin, "ecdsa-p256"),
            ("bob", &bob_pin, "ed25519"),
        ] {
            let run = onboard(&hsm, token, pin, kind);
            assert_eq!(run.code, Some(0), "onboard {token}: {run:?}");
        }
        let rotation = hsm.path().join("rotation");
        let pubs = ["alice", "bob"].map(|t| hsm.path().join(format!("{t}.pub.json")));
        let status = std::process::Command::new(python())
            .arg(workspace_root().join("tests/fixtures/make_token_rotation.py"))
            .arg(&rotation)
            .args(&pubs)
            .status()
            .unwrap();
        assert!(status.success(), "make_token_rotation.py failed");
        Drill {
            hsm,
            alice_pin,
            bob_pin,
            rotation,
        }
    }

    fn staged(&self) -> PathBuf {
        let staged = self.hsm.path().join("staged.root.json");
        if !staged.exists() {
            std::fs::copy(self.rotation.join("2.root.json"), &staged).unwrap();
        }
        staged
    }

    fn sign(&self, file: &Path, token: &str, pin: &Path) -> Run {
        self.hsm.ceremony([
            "sign".as_ref(),
            "--metadata".as_ref(),
            file.as_os_str(),
            "--trusted".as_ref(),
            self.rotation.join("1.root.json").as_os_str(),
            "--profile".as_ref(),
            "softhsm2".as_ref(),
            "--token-label".as_ref(),
            token.as_ref(),
            "--pin-file".as_ref(),
            pin.as_os_str(),
        ])
    }
}

fn onboard(hsm: &SoftHsm, token: &str, pin: &Path, kind: &str) -> Run {
    hsm.ceremony([
        "onboard".as_ref(),
        "--profile".as_ref(),
        "softhsm2".as_ref(),
        "--token-label".as_ref(),
        token.as_ref(),
        "--key-label".as_ref(),
        format!("{token}-root").as_ref(),
        "--key-type".as_ref(),
        kind.as_ref(),
        "--pin-file".as_ref(),
        pin.as_os_str(),
        "--out".as_ref(),
        hsm.path().join(format!("{token}.pub.json")).as_os_str(),
    ])
}

fn python_accepts(trusted: &Path, next: &Path) -> bool {
    std::process::Command::new(python())
        .arg(workspace_root().join("tests/fixtures/make_token_rotation.py"))
        .arg("--verify")
        .args([trusted, next])
        .status()
        .unwrap()
        .success()
}

#[test]
fn two_keyholders_sign_a_rotation_one_after_the_other_and_python_tuf_accepts_it() {
    let drill = Drill::new();
    let staged = drill.staged();
    let trusted = drill.rotation.join("1.root.json");

    let first = drill.sign(&staged, "alice", &drill.alice_pin);
    assert_eq!(first.code, Some(0), "{first:?}");
    assert!(
        first.stdout.contains("root v1 (trusted): 2/2 met"),
        "{first:?}"
    );
    assert!(
        first.stdout.contains("root v2 (new): 1/2 not yet met"),
        "{first:?}"
    );
    assert!(
        !python_accepts(&trusted, &staged),
        "one of two new keys is not enough"
    );

    let second = drill.sign(&staged, "bob", &drill.bob_pin);
    assert_eq!(second.code, Some(0), "{second:?}");
    // Bob's signature did not push Alice's out.
    assert!(
        second.stdout.contains("root v2 (new): 2/2 met"),
        "{second:?}"
    );
    let digest = |run: &Run| {
        run.stdout
            .lines()
            .find(|l| l.starts_with("canonical sha256 "))
            .map(str::to_owned)
    };
    assert_eq!(
        digest(&first),
        digest(&second),
        "both signed the same bytes"
    );

    assert!(
        python_accepts(&trusted, &staged),
        "python-tuf refuses the signed root"
    );
    let run = tuf_repo([trusted.as_os_str(), staged.as_os_str()].iter().fold(
        vec!["verify-root".into(), "--trusted".into()],
        |mut args: Vec<std::ffi::OsString>, p| {
            args.push((*p).to_owned());
            args
        },
    ));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "root v2: ok — root keys 2/2 of v1, 2/2 of v2\n");
}

#[test]
fn refusals_leave_the_file_byte_identical() {
    let drill = Drill::new();
    let staged = drill.staged();
    let before = std::fs::read(&staged).unwrap();

    // A wrong PIN: one attempt, the token's answer, nothing written.
    let wrong_pin = drill.hsm.path().join("wrong.pin");
    std::fs::write(&wrong_pin, "9999\n").unwrap();
    let run = drill.sign(&staged, "alice", &wrong_pin);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("error: ") && l.ends_with("wrong PIN")),
        "{run:?}"
    );
    assert_eq!(std::fs::read(&staged).unwrap(), before);

    // A key the role does not list: carol's token holds a key nobody staged.
    let carol_pin = drill.hsm.init_token("carol", "5678");
    assert_eq!(
        onboard(&drill.hsm, "carol", &carol_pin, "ecdsa-p256").code,
        Some(0)
    );
    let run = drill.sign(&staged, "carol", &carol_pin);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("no key on this token may sign this file"),
        "{run:?}"
    );
    assert_eq!(std::fs::read(&staged).unwrap(), before);

    // Not trusted + 1: refused before the token is even opened.
    let v3 = drill.hsm.path().join("3.root.json");
    std::fs::copy(drill.rotation.join("3.root.json"), &v3).unwrap();
    let v3_before = std::fs::read(&v3).unwrap();
    let run = drill.sign(&v3, "alice", &drill.alice_pin);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("only version 2 may be signed"),
        "{run:?}"
    );
    assert!(
        !run.stderr.contains("token:"),
        "the token was opened: {run:?}"
    );
    assert_eq!(std::fs::read(&v3).unwrap(), v3_before);

    // Hostile JSON: a duplicate key; strict parsing refuses it.
    let hostile = drill.hsm.path().join("hostile.json");
    let text = String::from_utf8(before.clone()).unwrap();
    let dup = text.replacen(
        "\"_type\": \"root\",",
        "\"_type\": \"root\",\n  \"_type\": \"root\",",
        1,
    );
    assert_ne!(dup, text);
    std::fs::write(&hostile, &dup).unwrap();
    let run = drill.sign(&hostile, "alice", &drill.alice_pin);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("duplicate key \"_type\""), "{run:?}");
    assert_eq!(std::fs::read_to_string(&hostile).unwrap(), dup);
    assert_eq!(std::fs::read(&staged).unwrap(), before);
}

#[test]
fn usage_errors_exit_2_and_the_pin_is_never_an_argument() {
    let hsm = SoftHsm::new();
    let run = hsm.ceremony(["sign", "--metadata", "x.json", "--profile", "softhsm2"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let run = hsm.ceremony([
        "sign",
        "--metadata",
        "x",
        "--profile",
        "softhsm2",
        "--pin-file",
        "p",
        "--pin",
        "1234",
    ]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let run = hsm.ceremony([
        "sign",
        "--metadata",
        "x",
        "--profile",
        "softhsm2",
        "--pin-file",
        "p",
        "--token-label",
        "a",
        "--serial",
        "1",
    ]);
    assert_eq!(run.code, Some(2), "{run:?}");
}

#[test]
fn an_online_key_can_be_onboarded_into_an_age_file_which_is_never_overwritten() {
    let hsm = SoftHsm::new();
    let passphrase = hsm.path().join("passphrase");
    std::fs::write(&passphrase, "correct horse battery staple\n").unwrap();
    let key_file = hsm.path().join("timestamp.age");
    let onboard_age = |out: &str| {
        hsm.ceremony([
            "onboard".as_ref(),
            "--age".as_ref(),
            key_file.as_os_str(),
            "--passphrase-file".as_ref(),
            passphrase.as_os_str(),
            "--key-type".as_ref(),
            "ed25519".as_ref(),
            "--out".as_ref(),
            hsm.path().join(out).as_os_str(),
        ])
    };
    let run = onboard_age("timestamp.pub.json");
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout
            .contains("software key file (online roles and drills only)"),
        "{run:?}"
    );
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(hsm.path().join("timestamp.pub.json")).unwrap())
            .unwrap();
    let key = tuf_metadata::Key::from_value(
        tuf_metadata::json::parse(record["key"].to_string().as_bytes(), 1 << 16).unwrap(),
    )
    .unwrap();
    assert_eq!(record["keyid"].as_str(), Some(key.key_id().as_str()));
    let sealed = std::fs::read(&key_file).unwrap();
    assert!(
        sealed.starts_with(b"age-encryption.org/v1"),
        "not an age file"
    );

    let again = onboard_age("again.pub.json");
    assert_eq!(again.code, Some(1), "{again:?}");
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        sealed,
        "the key file was touched"
    );
    assert!(!hsm.path().join("again.pub.json").exists());
}
