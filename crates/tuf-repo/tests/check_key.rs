//! `tuf-repo check-key` and the attestation check in `init --root-key`:
//! public key files carrying YubiKey attestation evidence made exactly as
//! the emulated YubiKey makes it (piv-emulator's test CA, no pcscd needed),
//! re-verified by the online tool, and refused when the key in the file is
//! not the attested one or the chain is broken.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use piv_emulator::attest::{self, Facts};
use piv_emulator::crypto::{generate_p256, public_point};
use signers::KeyKind;
use tuf_metadata::json::{self, Object, Value};

/// An emulated card's attestation key (slot f9), as a signing function.
type AttestFn = Box<dyn Fn(&[u8], Facts) -> Vec<u8>>;

struct Card {
    attest: AttestFn,
    f9_cert: Vec<u8>,
    serial: u32,
    firmware: [u8; 3],
}

fn card(serial: u32, firmware: [u8; 3]) -> Card {
    let (f9, f9_cert) = attest::new_attestation_key(serial).unwrap();
    let issuer = f9_cert.clone();
    Card {
        attest: Box::new(move |point, facts| attest::attest(&f9, &issuer, point, facts).unwrap()),
        f9_cert,
        serial,
        firmware,
    }
}

/// A key generated "on" `card` in 9c, and its attestation.
fn attested(card: &Card, pin_policy: u8, touch_policy: u8) -> (Vec<u8>, Vec<u8>) {
    let point = public_point(&generate_p256());
    let facts = Facts {
        slot: 0x9C,
        firmware: card.firmware,
        serial: card.serial,
        pin_policy,
        touch_policy,
    };
    let cert = (card.attest)(&point, facts);
    (point, cert)
}

fn write_key_file(path: &Path, point: &[u8], evidence: Option<(&[u8], &[u8])>) {
    let key = KeyKind::EcdsaP256.tuf_key(point).unwrap();
    let mut record = Object::new();
    record.insert("keyid".into(), Value::String(key.key_id()));
    record.insert("key".into(), key.to_value());
    record.insert("token".into(), Value::Object(Object::new()));
    if let Some((certificate, intermediate)) = evidence {
        let b64 = signers::yubikey::attestation::stored::encode;
        let mut a = Object::new();
        a.insert("certificate".into(), Value::String(b64(certificate)));
        a.insert("intermediate".into(), Value::String(b64(intermediate)));
        record.insert("attestation".into(), Value::Object(a));
    }
    std::fs::write(path, json::to_pretty(&Value::Object(record))).unwrap();
}

fn tuf_repo(args: &[&std::ffi::OsStr], roots_env: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tuf-repo"));
    command.args(args);
    match roots_env {
        Some(path) => command.env("TUF_REPO_ATTESTATION_ROOTS", path),
        None => command.env_remove("TUF_REPO_ATTESTATION_ROOTS"),
    };
    command.output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn os(p: &Path) -> &std::ffi::OsStr {
    p.as_os_str()
}

struct Fixture {
    dir: tempfile::TempDir,
    ca: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("test-ca.der");
        std::fs::write(&ca, attest::root_certificate().unwrap()).unwrap();
        Fixture { dir, ca }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn check_key(&self, file: &Path, with_root: bool) -> Output {
        let mut args = vec![os("check-key".as_ref()), os(file)];
        if with_root {
            args.extend([os("--attestation-root".as_ref()), os(&self.ca)]);
        }
        tuf_repo(&args, None)
    }
}

#[test]
fn check_key_prints_what_the_card_attests_and_needs_a_trusted_root() {
    let f = Fixture::new();
    let card = card(70_000_001, [5, 7, 1]);
    let (point, cert) = attested(&card, 3, 3);
    let file = f.path("carol.pub.json");
    write_key_file(&file, &point, Some((&cert, &card.f9_cert)));

    let out = f.check_key(&file, true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        "serial:       70000001",
        "firmware:     5.7.1",
        "PIN policy:   always",
        "touch policy: cached",
        "piv-emulator test PIV root CA",
    ] {
        assert!(stdout.contains(want), "{want}: {}", text(&out));
    }
    assert!(!stdout.contains("YSA-2024-03"), "{}", text(&out));

    // Only Yubico's roots are pinned: the test CA is not one of them.
    let out = f.check_key(&file, false);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("does not end at a trusted root"),
        "{}",
        text(&out)
    );
    // Nor is a key file without evidence accepted by check-key.
    let bare = f.path("bare.pub.json");
    write_key_file(&bare, &point, None);
    let out = f.check_key(&bare, true);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no attestation evidence"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_different_key_or_a_broken_chain_is_refused() {
    let f = Fixture::new();
    let (a, b) = (card(70_000_002, [5, 7, 1]), card(70_000_003, [5, 7, 1]));
    let (point, cert) = attested(&a, 2, 2);

    // The attestation is for one key, the file names another (its key id
    // recomputed, so only the binding can catch it).
    let other = public_point(&generate_p256());
    let swapped = f.path("swapped.pub.json");
    write_key_file(&swapped, &other, Some((&cert, &a.f9_cert)));
    let out = f.check_key(&swapped, true);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the attested key is not the key in"),
        "{}",
        text(&out)
    );

    // The intermediate of another card: the chain breaks at its first link.
    let foreign = f.path("foreign.pub.json");
    write_key_file(&foreign, &point, Some((&cert, &b.f9_cert)));
    let out = f.check_key(&foreign, true);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("not signed by the f9 certificate"),
        "{}",
        text(&out)
    );
}

#[test]
fn old_firmware_is_flagged_with_the_advisory() {
    let f = Fixture::new();
    let card = card(70_000_004, [5, 4, 3]);
    let (point, cert) = attested(&card, 2, 2);
    let file = f.path("old.pub.json");
    write_key_file(&file, &point, Some((&cert, &card.f9_cert)));
    let out = f.check_key(&file, true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(
            "Yubico security advisory YSA-2024-03, the ECDSA side channel in Infineon's library"
        ),
        "{}",
        text(&out)
    );
}

#[test]
fn init_prints_the_attested_serial_and_refuses_evidence_that_does_not_verify() {
    let f = Fixture::new();
    let card = card(70_000_005, [5, 7, 1]);
    let (point, cert) = attested(&card, 2, 2);
    let good = f.path("root.pub.json");
    write_key_file(&good, &point, Some((&cert, &card.f9_cert)));
    let snapshot = f.path("snapshot.pub.json");
    write_key_file(&snapshot, &public_point(&generate_p256()), None);
    let timestamp = f.path("timestamp.pub.json");
    write_key_file(&timestamp, &public_point(&generate_p256()), None);
    let init = |repo: &Path, root_key: &Path, roots: Option<&Path>| {
        tuf_repo(
            &[
                os("init".as_ref()),
                os(repo),
                os("--root-key".as_ref()),
                os(root_key),
                os("--root-threshold".as_ref()),
                os("1".as_ref()),
                os("--snapshot-key".as_ref()),
                os(&snapshot),
                os("--timestamp-key".as_ref()),
                os(&timestamp),
            ],
            roots,
        )
    };

    // Evidence present but not chaining to a trusted root: refused.
    let out = init(&f.path("repo-untrusted"), &good, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the YubiKey attestation does not verify"),
        "{}",
        text(&out)
    );

    let out = init(&f.path("repo"), &good, Some(&f.ca));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("attested on YubiKey serial 70000005"),
        "{}",
        text(&out)
    );

    let other = public_point(&generate_p256());
    let swapped = f.path("swapped.pub.json");
    write_key_file(&swapped, &other, Some((&cert, &card.f9_cert)));
    let out = init(&f.path("repo-swapped"), &swapped, Some(&f.ca));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the attested key is not the key in"),
        "{}",
        text(&out)
    );
}
