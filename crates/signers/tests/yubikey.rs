//! The YubiKey backend through the real PC/SC stack: a private pcscd with
//! vsmartcard's vpcd driver and emulated YubiKeys (`piv-emulator`'s
//! harness, which runs these tests one at a time). They need the Debian
//! packages pcscd and vsmartcard-vpcd; `cargo xtask test` installs them.

#![cfg(feature = "yubikey")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use piv_emulator::attest;
use piv_emulator::harness::{CardSpec, PcscHarness};
use signers::yubikey::{
    ManagementKey, OnboardOptions, OpenError, PinPolicy, SlotId, TouchPolicy, YubiKeySigner,
    YubiKeyToken, onboard, verify_attestation,
};
use signers::{Backend, KeyKind, Pin, PinError, PinState, SignError, Signer};
use x509_cert::der::Decode;
use zeroize::Zeroizing;

/// Bytes as `ceremony` signs them: canonical JSON of a `signed` object.
const DOCUMENT: &[u8] = br#"{"_type":"root","consistent_snapshot":true,"expires":"2030-01-01T00:00:00Z","keys":{},"roles":{},"spec_version":"1.0.31","version":2}"#;

fn pin(text: &str) -> Pin {
    Pin::new(Zeroizing::new(text.to_owned()))
}

fn options(pin_policy: PinPolicy, touch_policy: TouchPolicy) -> OnboardOptions {
    OnboardOptions {
        pin_policy,
        touch_policy,
        ..OnboardOptions::default()
    }
}

/// The public point the attestation certificate (made by the emulator)
/// certifies: the card's own word for its key.
fn attested_point(attestation_der: &[u8]) -> Vec<u8> {
    let cert = x509_cert::Certificate::from_der(attestation_der).unwrap();
    cert.tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec()
}

/// Onboards, then signs through a fresh session as a ceremony would.
fn onboard_then_sign(firmware: [u8; 3], serial: u32, pin_policy: PinPolicy) {
    let _h = PcscHarness::start(&[CardSpec::new(serial, firmware)]).unwrap();
    let root = attest::root_certificate().unwrap();
    let onboarded = {
        let mut token = YubiKeyToken::open(None).unwrap();
        onboard(
            &mut token,
            &options(pin_policy, TouchPolicy::Never),
            &[&root],
        )
        .expect("onboarded")
    };
    let card_point = attested_point(&onboarded.attestation_der);
    assert_eq!(onboarded.point, card_point);
    let expected = KeyKind::EcdsaP256.tuf_key(&card_point).unwrap();

    let mut token = YubiKeyToken::open(Some(serial)).unwrap();
    assert_eq!(token.pin_state().unwrap(), PinState::Ok);
    token.login(&pin("123456")).unwrap();
    let mut signer = YubiKeySigner::new(token, SlotId::Signature).unwrap();
    assert_eq!(signer.key_id(), expected.key_id());
    assert_eq!(signer.public_key(), &onboarded.key);
    assert_eq!(signer.pin_policy(), pin_policy);
    assert!(!signer.needs_touch());
    let identity = signer.identity().clone();
    assert_eq!(identity.backend, Backend::YubiKey);
    let v = firmware;
    assert_eq!(
        identity.model,
        format!("YubiKey {}.{}.{}", v[0], v[1], v[2])
    );
    assert_eq!(identity.serial, serial.to_string());
    assert_eq!(identity.key_label, "9c");

    // Twice: a PIN-always key needs VERIFY before each signature.
    for _ in 0..2 {
        let signature = signer.sign(DOCUMENT).expect("signed");
        assert_eq!(signature.key_id(), &expected.key_id());
        expected
            .public_key()
            .unwrap()
            .verify_hex(DOCUMENT, signature.sig())
            .expect("tuf-metadata verifies the card's signature");
    }
}

#[test]
fn signs_with_a_generated_key_on_firmware_5_7_pin_once() {
    onboard_then_sign([5, 7, 1], 10_000_001, PinPolicy::Once);
}

#[test]
fn signs_with_a_generated_key_on_firmware_5_4_pin_always() {
    onboard_then_sign([5, 4, 3], 10_000_002, PinPolicy::Always);
}

#[test]
fn wrong_pins_count_down_to_final_try_and_lock() {
    let _h = PcscHarness::start(&[CardSpec::new(10_000_003, [5, 7, 1])]).unwrap();
    let mut token = YubiKeyToken::open(None).unwrap();
    assert_eq!(token.pin_state().unwrap(), PinState::Ok);
    let wrong = |token: &mut YubiKeyToken| token.login(&pin("999999")).unwrap_err();
    assert!(matches!(
        wrong(&mut token),
        SignError::Pin(PinError::Wrong {
            tries_left: Some(2)
        })
    ));
    assert_eq!(
        token.pin_state().unwrap(),
        PinState::CountLow {
            tries_left: Some(2)
        }
    );
    let e = wrong(&mut token);
    assert_eq!(e.to_string(), "wrong PIN (1 tries left)");
    assert_eq!(token.pin_state().unwrap(), PinState::FinalTry);
    assert!(matches!(
        wrong(&mut token),
        SignError::Pin(PinError::Locked)
    ));
    assert_eq!(token.pin_state().unwrap(), PinState::Locked);
    // Even the right PIN: locked, and said so.
    assert!(matches!(
        token.login(&pin("123456")).unwrap_err(),
        SignError::Pin(PinError::Locked)
    ));
}

#[test]
fn two_cards_are_chosen_by_serial_and_ambiguity_is_refused() {
    let h = PcscHarness::start(&[
        CardSpec::new(20_000_001, [5, 7, 1]),
        CardSpec::new(20_000_002, [5, 4, 3]),
    ])
    .unwrap();
    let e = YubiKeyToken::open(None).unwrap_err();
    assert!(
        matches!(&e, OpenError::Ambiguous { present } if present == &[20_000_001, 20_000_002]),
        "{e}"
    );
    assert!(e.to_string().contains("20000001, 20000002"), "{e}");
    let token = YubiKeyToken::open(Some(20_000_002)).unwrap();
    assert_eq!(token.serial(), 20_000_002);
    assert_eq!(token.version(), "5.4.3");
    assert_eq!(token.reader(), h.cards()[1].reader);
    drop(token);
    let e = YubiKeyToken::open(Some(12_345)).unwrap_err();
    assert!(
        matches!(&e, OpenError::NoSuchSerial { wanted: 12_345, present } if present.len() == 2),
        "{e}"
    );
    assert!(e.to_string().contains("20000001, 20000002"), "{e}");
}

#[test]
fn a_touch_slot_waits_for_the_touch_and_says_so() {
    let h = PcscHarness::start(&[
        CardSpec::new(30_000_001, [5, 7, 1]).with_touch_timeout(Duration::from_millis(500))
    ])
    .unwrap();
    {
        let mut token = YubiKeyToken::open(None).unwrap();
        onboard(&mut token, &OnboardOptions::default(), &[]).unwrap();
    }
    let mut token = YubiKeyToken::open(None).unwrap();
    token.login(&pin("123456")).unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let mut signer = YubiKeySigner::new(token, SlotId::Signature)
        .unwrap()
        .with_touch_notifier(Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
    assert_eq!(signer.touch_policy(), TouchPolicy::Always);
    assert!(signer.needs_touch());

    let e = signer.sign(DOCUMENT).unwrap_err();
    assert!(e.to_string().contains("not touched in time"), "{e}");
    assert_eq!(asked.load(Ordering::SeqCst), 1);

    h.touch(0).unwrap();
    let signature = signer.sign(DOCUMENT).expect("touched");
    assert_eq!(asked.load(Ordering::SeqCst), 2);
    signer
        .public_key()
        .public_key()
        .unwrap()
        .verify_hex(DOCUMENT, signature.sig())
        .unwrap();
}

#[test]
fn onboarding_returns_an_attestation_chain_that_verifies() {
    let _h = PcscHarness::start(&[CardSpec::new(40_000_001, [5, 4, 3])]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The default management key, but from a file as a changed one would be.
    let key_file = dir.path().join("mgm");
    std::fs::write(
        &key_file,
        format!("{}\n", hex::encode(piv_emulator::crypto::DEFAULT_MGM_KEY)),
    )
    .unwrap();
    let root = attest::root_certificate().unwrap();
    let mut token = YubiKeyToken::open(None).unwrap();
    let onboarded = onboard(
        &mut token,
        &OnboardOptions {
            slot: SlotId::KeyManagement,
            management_key: ManagementKey::File(key_file),
            ..OnboardOptions::default()
        },
        &[&root],
    )
    .expect("onboarded with the key from a file");
    assert_eq!(onboarded.serial, 40_000_001);
    assert_eq!(onboarded.version, "5.4.3");
    assert_eq!(onboarded.slot, SlotId::KeyManagement);
    assert!(
        onboarded
            .attestation_pem()
            .starts_with("-----BEGIN CERTIFICATE-----\n")
    );
    assert!(
        onboarded
            .intermediate_pem()
            .ends_with("-----END CERTIFICATE-----\n")
    );
    let (att, f9) = (&onboarded.attestation_der, &onboarded.intermediate_der);
    verify_attestation(att, f9, &[&root], &onboarded.point).unwrap();
    // A different key in root, a chain broken at either link: refused.
    let other = KeyKind::EcdsaP256.tuf_key(&onboarded.point).unwrap();
    assert_eq!(other, onboarded.key);
    let mut wrong_point = onboarded.point.clone();
    wrong_point[1] ^= 1;
    assert!(verify_attestation(att, f9, &[&root], &wrong_point).is_err());
    assert!(verify_attestation(att, att, &[&root], &onboarded.point).is_err());
    assert!(verify_attestation(att, f9, &[f9], &onboarded.point).is_err());
    // Several roots (`--attestation-root` repeated): one that signed f9 is enough.
    verify_attestation(att, f9, &[f9, &root], &onboarded.point).unwrap();

    // The slot's key signs, with the PIN once and a touch (granted at once).
    token.login(&pin("123456")).unwrap();
    let mut signer = YubiKeySigner::new(token, SlotId::KeyManagement).unwrap();
    assert_eq!(signer.key_id(), onboarded.key.key_id());
    assert_eq!(signer.identity().key_label, "9d");
    signer.sign(DOCUMENT).unwrap();
}

#[test]
fn a_wrong_management_key_and_an_empty_slot_are_reported() {
    let _h = PcscHarness::start(&[CardSpec::new(50_000_001, [5, 7, 1])]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("mgm");
    std::fs::write(
        &key_file,
        "00112233445566778899aabbccddeeff0011223344556677\n",
    )
    .unwrap();
    let mut token = YubiKeyToken::open(None).unwrap();
    let e = onboard(
        &mut token,
        &OnboardOptions {
            management_key: ManagementKey::File(key_file),
            ..OnboardOptions::default()
        },
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().contains("refused the management key"), "{e}");
    token.login(&pin("123456")).unwrap();
    let e = YubiKeySigner::new(token, SlotId::Authentication).unwrap_err();
    assert!(matches!(e, SignError::KeyNotFound(_)), "{e}");
}
