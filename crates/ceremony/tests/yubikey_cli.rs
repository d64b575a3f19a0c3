//! `ceremony onboard` and `ceremony sign` with `--profile yubikey-piv`: the
//! direct PIV backend through a private pcscd and emulated YubiKeys
//! (`piv-emulator`'s harness runs these one at a time). Two cards are
//! plugged in, so `--serial` chooses; python-tuf (the venv `cargo xtask
//! test` makes) stages the rotation and accepts the signed root.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use piv_emulator::attest;
use piv_emulator::harness::{CardSpec, PcscHarness};

mod common;
use common::{ceremony, python, text, workspace};

#[test]
fn a_yubikey_is_onboarded_with_attestation_and_signs_a_rotation_python_tuf_accepts() {
    assert!(
        python().exists(),
        "python-tuf peer not found at {}: run `cargo xtask test`",
        python().display()
    );
    let _h = PcscHarness::start(&[
        CardSpec::new(61_000_001, [5, 7, 1]),
        CardSpec::new(61_000_002, [5, 4, 3]),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pin = dir.path().join("pin");
    std::fs::write(&pin, "123456\n").unwrap();
    let root_ca = dir.path().join("test-ca.der");
    std::fs::write(&root_ca, attest::root_certificate().unwrap()).unwrap();
    let public = dir.path().join("carol.pub.json");
    let s = |p: &Path| p.as_os_str().to_owned();

    let out = ceremony(&[
        "onboard".as_ref(),
        "--profile".as_ref(),
        "yubikey-piv".as_ref(),
        "--serial".as_ref(),
        "61000002".as_ref(),
        "--key-label".as_ref(),
        "9c".as_ref(),
        "--pin-file".as_ref(),
        &s(&pin),
        "--attestation-root".as_ref(),
        &s(&root_ca),
        "--out".as_ref(),
        &s(&public),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("YubiKey 5.4.3, serial 61000002"),
        "{stderr}"
    );
    let record = std::fs::read_to_string(&public).unwrap();
    assert!(record.contains("\"serial\": \"61000002\""), "{record}");
    for suffix in ["attestation.pem", "intermediate.pem"] {
        let pem =
            std::fs::read_to_string(dir.path().join(format!("carol.pub.json.{suffix}"))).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    }

    // Without --serial, two keys: refused, both serials named.
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
    let sign = |serial: Option<&str>| {
        let mut args: Vec<std::ffi::OsString> = vec![
            "sign".into(),
            "--metadata".into(),
            s(&staged),
            "--trusted".into(),
            s(&trusted),
            "--profile".into(),
            "yubikey-piv".into(),
            "--pin-file".into(),
            s(&pin),
        ];
        if let Some(serial) = serial {
            args.extend(["--serial".into(), serial.into()]);
        }
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        ceremony(&refs)
    };
    let before = std::fs::read(&staged).unwrap();
    let out = sign(None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("61000001, 61000002"), "{}", text(&out));
    // The other card holds no key: refused, file untouched.
    let out = sign(Some("61000001"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(std::fs::read(&staged).unwrap(), before);

    let out = sign(Some("61000002"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("touch your YubiKey now"),
        "{}",
        text(&out)
    );
    let verify = Command::new(python())
        .arg(workspace().join("tests/fixtures/make_token_rotation.py"))
        .arg("--verify")
        .arg(&trusted)
        .arg(&staged)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", text(&verify));
}

#[test]
fn a_wrong_pin_shows_tries_left_and_a_missing_touch_is_said_plainly() {
    let h = PcscHarness::start(&[
        CardSpec::new(62_000_001, [5, 7, 1]).with_touch_timeout(Duration::from_millis(700))
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.as_os_str().to_owned();
    let pin = dir.path().join("pin");
    std::fs::write(&pin, "123456\n").unwrap();
    let wrong_pin = dir.path().join("wrong-pin");
    std::fs::write(&wrong_pin, "654321\n").unwrap();
    let public = dir.path().join("dave.pub.json");
    let out = ceremony(&[
        "onboard".as_ref(),
        "--profile".as_ref(),
        "yubikey-piv".as_ref(),
        "--key-label".as_ref(),
        "9c".as_ref(),
        "--pin-file".as_ref(),
        &s(&pin),
        "--out".as_ref(),
        &s(&public),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("does not end at a trusted root"),
        "{}",
        text(&out)
    );
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
            "sign".as_ref(),
            "--metadata".as_ref(),
            &s(&staged),
            "--trusted".as_ref(),
            &s(&trusted),
            "--profile".as_ref(),
            "yubikey-piv".as_ref(),
            "--pin-file".as_ref(),
            &s(pin),
        ])
    };
    let before = std::fs::read(&staged).unwrap();

    // An empty slot is refused before the PIN is used: no try is spent.
    let out = ceremony(&[
        "sign".as_ref(),
        "--metadata".as_ref(),
        &s(&staged),
        "--trusted".as_ref(),
        &s(&trusted),
        "--profile".as_ref(),
        "yubikey-piv".as_ref(),
        "--key-label".as_ref(),
        "9a".as_ref(),
        "--pin-file".as_ref(),
        &s(&wrong_pin),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("slot 9a"), "{}", text(&out));
    assert!(!text(&out).contains("wrong PIN"), "{}", text(&out));

    let out = sign(&wrong_pin);
    assert!(text(&out).contains("PIN ready"), "{}", text(&out));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("wrong PIN (2 tries left)"),
        "{}",
        text(&out)
    );
    // Shown before the next attempt.
    let out = sign(&wrong_pin);
    assert!(text(&out).contains("2 tries left"), "{}", text(&out));
    assert!(
        text(&out).contains("wrong PIN (1 tries left)"),
        "{}",
        text(&out)
    );

    // The right PIN, but nobody touches the key.
    let out = sign(&pin);
    assert!(text(&out).contains("FINAL TRY"), "{}", text(&out));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("touch your YubiKey now"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("not touched in time"), "{}", text(&out));
    assert_eq!(std::fs::read(&staged).unwrap(), before);

    // Touched: signed, and the PIN counter is full again.
    h.touch(0).unwrap();
    let out = sign(&pin);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("PIN ready"), "{}", text(&out));
    assert_ne!(std::fs::read(&staged).unwrap(), before);
}
