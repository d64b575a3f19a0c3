//! tuf-on-ci-sign (PyPI), the signer tool of tuf-on-ci repositories such as
//! sigstore's, as an independent peer. A signing event (a git branch that
//! changes root and targets, laid out and written the way tuf-on-ci writes
//! one) is carried to a stick, signed there with `ceremony sign` on a
//! SoftHSM2 token, and brought back as the keyholder's commit. tuf-on-ci-sign
//! then decides, by verifying the keyholder's signatures on every changed
//! role, whether anything is left for that keyholder to sign: after our
//! signatures nothing is; with one byte of one of them flipped, it asks for
//! that role again. Everything runs offline (docs/testing.md, "Peer:
//! tuf-on-ci-sign"). The thresholds, which tuf-on-ci-sign does not count,
//! are checked the way tuf-on-ci-status would, re-stated with python-tuf
//! (that tool is not on PyPI).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tuf_ceremony_e2e::tuf_on_ci::{EventRepo, Verdict};
use tuf_ceremony_e2e::{SoftHsm, assert_ok, read_json, run_fixture_script, tuf_repo};

const EVENT: &str = "sign/root-v2";

/// The keyholder's token and key, tuf-on-ci's repository with the event
/// open, and what the fixture says about them.
struct Event {
    hsm: SoftHsm,
    pin: PathBuf,
    repo: EventRepo,
    fixture: PathBuf,
    opened: String,
    manifest: serde_json::Value,
}

impl Event {
    fn open() -> Event {
        let hsm = SoftHsm::new();
        let pin = hsm.init_token("keyholder", "2468");
        let public = hsm.path().join("keyholder.pub.json");
        let onboard = hsm.ceremony([
            "onboard".as_ref(),
            "--profile".as_ref(),
            "softhsm2".as_ref(),
            "--token-label".as_ref(),
            "keyholder".as_ref(),
            "--key-label".as_ref(),
            "keyholder-root".as_ref(),
            "--key-type".as_ref(),
            "ecdsa-p256".as_ref(),
            "--pin-file".as_ref(),
            pin.as_os_str(),
            "--out".as_ref(),
            public.as_os_str(),
        ]);
        assert_ok(&onboard, "onboard the keyholder's token key");
        let fixture = hsm.path().join("fixture");
        run_fixture_script(
            "make_tuf_on_ci_event.py",
            &[fixture.as_os_str(), public.as_os_str()],
        );
        let repo = EventRepo::new(&fixture.join("main/metadata"));
        let opened = repo.open_event(EVENT, &fixture.join("event/metadata"));
        let manifest = read_json(&fixture.join("manifest.json"));
        Event {
            hsm,
            pin,
            repo,
            fixture,
            opened,
            manifest,
        }
    }

    fn keyholder(&self) -> &str {
        self.manifest["keyholder"].as_str().unwrap()
    }

    /// tuf-on-ci-status's view of the event as last committed (roles →
    /// signed and missing key owners, threshold, valid).
    fn status(&self) -> serde_json::Value {
        let output = run_fixture_script(
            "make_tuf_on_ci_event.py",
            &[
                "--status".as_ref(),
                self.repo.work().join("metadata").as_os_str(),
                self.fixture.join("main/metadata").as_os_str(),
            ],
        );
        serde_json::from_slice(&output.stdout).expect("--status prints JSON")
    }

    /// Carries the event's root and targets to a stick, signs both there
    /// with the keyholder's token, and returns the stick.
    fn sign_on_the_appliance(&self) -> PathBuf {
        let stick = self.hsm.path().join("stick");
        std::fs::create_dir(&stick).unwrap();
        let metadata = self.repo.work().join("metadata");
        for (from, to) in [
            ("root.json", "root.json"),
            ("targets.json", "targets.json"),
            ("root_history/1.root.json", "1.root.json"),
        ] {
            std::fs::copy(metadata.join(from), stick.join(to)).unwrap();
        }
        let trusted = stick.join("1.root.json");
        for (file, board) in [
            ("root.json", "root v2 (new): 2/2 met"),
            ("targets.json", "targets (root v1): 2/1 met"),
        ] {
            let run = self.sign(&stick.join(file), &trusted);
            assert_ok(&run, &format!("ceremony sign {file}"));
            assert!(run.stdout.contains(board), "{board:?} in {run:?}");
        }
        let verify = tuf_repo([
            "verify-root".as_ref(),
            "--trusted".as_ref(),
            trusted.as_os_str(),
            stick.join("root.json").as_os_str(),
        ]);
        assert_ok(&verify, "verify-root of the signed root v2");
        stick
    }

    fn sign(&self, file: &Path, trusted: &Path) -> tuf_ceremony_e2e::Run {
        self.hsm.ceremony([
            "sign".as_ref(),
            "--metadata".as_ref(),
            file.as_os_str(),
            "--trusted".as_ref(),
            trusted.as_os_str(),
            "--profile".as_ref(),
            "softhsm2".as_ref(),
            "--token-label".as_ref(),
            "keyholder".as_ref(),
            "--pin-file".as_ref(),
            self.pin.as_os_str(),
        ])
    }

    /// The keyholder's commit, as tuf-on-ci-sign would make it: root.json,
    /// its copy in root_history/, and targets.json.
    fn bring_back(&self, root: &Path, targets: &Path, message: &str) -> String {
        self.repo.commit_files(
            EVENT,
            &[
                (root, "root.json"),
                (root, "root_history/2.root.json"),
                (targets, "targets.json"),
            ],
            message,
        )
    }
}

fn roles(names: &[&str]) -> Verdict {
    Verdict::SignatureRequested(
        names
            .iter()
            .map(|n| (*n).to_owned())
            .collect::<BTreeSet<_>>(),
    )
}

#[test]
fn a_signing_event_signed_on_the_appliance_leaves_tuf_on_ci_sign_nothing_to_do() {
    let event = Event::open();
    let keyholder = event.keyholder();
    let other = event.manifest["other"].as_str().unwrap();

    // Before the ceremony the peer asks the keyholder for both changed
    // roles, and has nothing for the keyholder who already signed.
    let (before, run) = event.repo.signer_verdict(EVENT, keyholder, &event.opened);
    assert_eq!(before, roles(&["root", "targets"]), "{run:?}");
    let (done, run) = event.repo.signer_verdict(EVENT, other, &event.opened);
    assert_eq!(done, Verdict::NothingToDo, "{run:?}");

    let stick = event.sign_on_the_appliance();
    let signed = event.bring_back(
        &stick.join("root.json"),
        &stick.join("targets.json"),
        &format!("Signature from {keyholder} (tuf-ceremony appliance)"),
    );

    let (after, run) = event.repo.signer_verdict(EVENT, keyholder, &signed);
    assert_eq!(after, Verdict::NothingToDo, "{run:?}");
    assert_eq!(run.code, Some(0), "{run:?}");
    let (still, run) = event.repo.signer_verdict(EVENT, other, &signed);
    assert_eq!(still, Verdict::NothingToDo, "{run:?}");

    let status = event.status();
    for role in ["root", "root (known good)", "targets"] {
        assert_eq!(status[role]["missing"], serde_json::json!([]), "{status}");
        assert_eq!(
            status[role]["signed"],
            serde_json::json!([keyholder, other])
        );
        assert_eq!(status[role]["valid"], true, "{role}: {status}");
    }
}

#[test]
fn the_same_event_with_one_byte_of_our_signature_flipped_is_asked_for_again() {
    let event = Event::open();
    let keyholder = event.keyholder();
    let keyid = event.manifest["keyholder_keyid"].as_str().unwrap();
    let stick = event.sign_on_the_appliance();

    // One hex digit of our root signature changes; the file is otherwise
    // byte-identical to what the appliance wrote.
    let root = std::fs::read_to_string(stick.join("root.json")).unwrap();
    let ours = serde_json::from_str::<serde_json::Value>(&root).unwrap()["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["keyid"] == keyid)
        .expect("the appliance's signature")["sig"]
        .as_str()
        .unwrap()
        .to_owned();
    let last = ours.chars().last().unwrap().to_digit(16).unwrap();
    let flipped = format!("{}{:x}", &ours[..ours.len() - 1], last ^ 1);
    assert_eq!(root.matches(&ours).count(), 1, "our signature appears once");
    let tampered = stick.join("tampered.root.json");
    std::fs::write(&tampered, root.replace(&ours, &flipped)).unwrap();

    let commit = event.bring_back(
        &tampered,
        &stick.join("targets.json"),
        &format!("Signature from {keyholder}, one byte flipped"),
    );
    let (verdict, run) = event.repo.signer_verdict(EVENT, keyholder, &commit);
    assert_eq!(verdict, roles(&["root"]), "{run:?}");
    assert_ne!(
        run.code,
        Some(0),
        "it could not sign, so it must fail: {run:?}"
    );
    assert!(!run.stdout.contains("Nothing to do."), "{run:?}");

    // Root v2 needs both keyholders; with ours broken it is one short.
    let status = event.status();
    assert_eq!(status["root"]["missing"], serde_json::json!([keyholder]));
    assert_eq!(status["root"]["valid"], false, "{status}");
    assert_eq!(status["targets"]["valid"], true, "{status}");
}
