//! Through a private pcscd and emulated YubiKeys (piv-emulator's harness,
//! one test at a time): `ceremony onboard --profile yubikey-piv` stores
//! attestation evidence in the public key file that verifies against the
//! emulator's test CA with the card's serial, firmware and policies, is
//! refused for a different key or another card's intermediate, and flags
//! firmware before 5.7.0 (YSA-2024-03); and `ceremony sign --profile
//! yubikey-ykcs11` signs with the same card's slot 9c (PIN always) through
//! ykcs11, which python-tuf accepts, while a wrong PIN costs one try only.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Output};

use piv_emulator::attest;
use piv_emulator::harness::{CardSpec, PcscHarness};
use signers::PinState;
use signers::yubikey::attestation::stored;
use signers::yubikey::{
    PinPolicyFact, TouchPolicyFact, TrustedRoots, YubiKeyToken, verify_evidence,
};
use tuf_metadata::json::{self, Value};
use tuf_metadata::{Key, Limits};

mod common;
use common::{ceremony, python, text, workspace};

fn onboard(serial: u32, out: &Path, pin: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<OsString> = vec![
        "onboard".into(),
        "--profile".into(),
        "yubikey-piv".into(),
        "--serial".into(),
        serial.to_string().into(),
        "--key-label".into(),
        "9c".into(),
        "--pin-file".into(),
        pin.into(),
        "--out".into(),
        out.into(),
    ];
    args.extend(extra.iter().map(OsString::from));
    ceremony(&args.iter().map(OsString::as_os_str).collect::<Vec<_>>())
}

/// The key object and the stored evidence of a public key file.
fn read_record(path: &Path) -> (Key, Vec<u8>, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let Value::Object(mut record) = json::parse(&bytes, Limits::ROOT.max_bytes).unwrap() else {
        panic!("not an object");
    };
    let key = Key::from_value(record.remove("key").unwrap()).unwrap();
    let Some(Value::Object(evidence)) = record.remove("attestation") else {
        panic!("{}: no attestation object", path.display());
    };
    let der = |name: &str| match evidence.get(name) {
        Some(Value::String(s)) => stored::decode(s).unwrap(),
        other => panic!("{name}: {other:?}"),
    };
    (key, der("certificate"), der("intermediate"))
}

fn test_ca() -> TrustedRoots {
    let mut roots = TrustedRoots::empty();
    roots
        .add_root(&attest::root_certificate().unwrap())
        .unwrap();
    roots
}

#[test]
fn onboarding_stores_evidence_bound_to_the_key_that_verifies_offline() {
    let _h = PcscHarness::start(&[
        CardSpec::new(63_000_001, [5, 7, 1]),
        CardSpec::new(63_000_002, [5, 4, 3]),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pin = dir.path().join("pin");
    std::fs::write(&pin, "123456\n").unwrap();
    let ca = dir.path().join("test-ca.der");
    std::fs::write(&ca, attest::root_certificate().unwrap()).unwrap();
    let ca_arg = ca.to_str().unwrap();

    let new = dir.path().join("new.pub.json");
    let out = onboard(
        63_000_001,
        &new,
        &pin,
        &[
            "--pin-policy",
            "always",
            "--touch-policy",
            "cached",
            "--attestation-root",
            ca_arg,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("attested: YubiKey serial 63000001, firmware 5.7.1"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("YSA-2024-03"), "{}", text(&out));

    // What the file carries verifies offline against the test CA, with the
    // emulated card's CardSpec and the policies asked for.
    let (key, certificate, intermediate) = read_record(&new);
    let evidence = verify_evidence(&certificate, &intermediate, &test_ca()).unwrap();
    assert_eq!(evidence.serial, 63_000_001);
    assert_eq!(evidence.firmware, [5, 7, 1]);
    assert_eq!(evidence.pin_policy, PinPolicyFact::Always);
    assert_eq!(evidence.touch_policy, TouchPolicyFact::Cached);
    assert_eq!(evidence.form_factor, Some(1));
    assert_eq!(
        evidence.chain.last().map(String::as_str),
        Some("piv-emulator test PIV root CA")
    );
    evidence.check_binding(&key, "new.pub.json").unwrap();
    assert!(evidence.warnings().is_empty());
    // Yubico's roots alone do not vouch for an emulated card.
    let err = verify_evidence(&certificate, &intermediate, &TrustedRoots::yubico()).unwrap_err();
    assert!(err.0.contains("does not end at a trusted root"), "{err}");

    // Firmware 5.4.3: onboarded, with the advisory said out loud.
    let old = dir.path().join("old.pub.json");
    let out = onboard(63_000_002, &old, &pin, &["--attestation-root", ca_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains(
            "WARNING: firmware 5.4.3 is older than 5.7.0: Yubico security advisory YSA-2024-03, the ECDSA side channel in Infineon's library"
        ),
        "{}",
        text(&out)
    );
    let (old_key, old_certificate, old_intermediate) = read_record(&old);
    let old_evidence = verify_evidence(&old_certificate, &old_intermediate, &test_ca()).unwrap();
    assert_eq!(old_evidence.serial, 63_000_002);
    assert_eq!(old_evidence.pin_policy, PinPolicyFact::Once);
    assert_eq!(old_evidence.touch_policy, TouchPolicyFact::Always);
    assert_eq!(old_evidence.warnings().len(), 1);

    // A different key in the file (root would list that one): refused.
    let err = evidence
        .check_binding(&old_key, "old.pub.json")
        .unwrap_err();
    assert!(
        err.0
            .contains("the attested key is not the key in old.pub.json"),
        "{err}"
    );
    // The other card's intermediate: the chain is broken.
    let err = verify_evidence(&certificate, &old_intermediate, &test_ca()).unwrap_err();
    assert!(err.0.contains("not signed by the f9 certificate"), "{err}");

    // Onboarding without a root the chain reaches still writes the key,
    // and says plainly that the online tool will refuse it.
    let untrusted = dir.path().join("untrusted.pub.json");
    std::fs::remove_file(dir.path().join("new.pub.json.attestation.pem")).unwrap();
    std::fs::remove_file(dir.path().join("new.pub.json.intermediate.pem")).unwrap();
    let out = onboard(63_000_001, &untrusted, &pin, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("does not end at a trusted root"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("`tuf-repo` refuses this key"),
        "{}",
        text(&out)
    );
}

#[test]
fn ykcs11_signs_with_slot_9c_pin_always_and_a_wrong_pin_costs_one_try() {
    assert!(
        python().exists(),
        "python-tuf peer not found at {}: run `cargo xtask test`",
        python().display()
    );
    let _h = PcscHarness::start(&[CardSpec::new(64_000_001, [5, 7, 1])]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pin = dir.path().join("pin");
    std::fs::write(&pin, "123456\n").unwrap();
    let wrong_pin = dir.path().join("wrong-pin");
    std::fs::write(&wrong_pin, "654321\n").unwrap();
    let public = dir.path().join("erin.pub.json");
    let out = onboard(
        64_000_001,
        &public,
        &pin,
        &["--pin-policy", "always", "--touch-policy", "cached"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let rotation = dir.path().join("rotation");
    let made = Command::new(python())
        .arg(workspace().join("tests/fixtures/make_token_rotation.py"))
        .arg(&rotation)
        .arg(&public)
        .status()
        .unwrap();
    assert!(made.success());
    let staged = rotation.join("2.root.json");
    let trusted = rotation.join("1.root.json");
    let sign = |pin: &Path| {
        ceremony(&[
            OsStr::new("sign"),
            OsStr::new("--metadata"),
            staged.as_os_str(),
            OsStr::new("--trusted"),
            trusted.as_os_str(),
            OsStr::new("--profile"),
            OsStr::new("yubikey-ykcs11"),
            OsStr::new("--serial"),
            OsStr::new("64000001"),
            OsStr::new("--pin-file"),
            pin.as_os_str(),
        ])
    };
    let pin_state = || {
        YubiKeyToken::open(Some(64_000_001))
            .unwrap()
            .pin_state()
            .unwrap()
    };
    let before = std::fs::read(&staged).unwrap();

    // A wrong PIN: refused, one try spent (not retried), file untouched.
    assert_eq!(pin_state(), PinState::Ok);
    let out = sign(&wrong_pin);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).to_lowercase().contains("pin"), "{}", text(&out));
    assert_eq!(std::fs::read(&staged).unwrap(), before);
    assert_eq!(
        pin_state(),
        PinState::CountLow {
            tries_left: Some(2)
        },
        "one wrong PIN, one try: {}",
        text(&out)
    );

    // The right PIN: ykcs11 marks 9c CKA_ALWAYS_AUTHENTICATE, so the
    // signer logs in again (context-specific) before the signature.
    let out = sign(&pin);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_ne!(std::fs::read(&staged).unwrap(), before);
    assert_eq!(pin_state(), PinState::Ok);
    let verify = Command::new(python())
        .arg(workspace().join("tests/fixtures/make_token_rotation.py"))
        .arg("--verify")
        .arg(&trusted)
        .arg(&staged)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", text(&verify));
}
