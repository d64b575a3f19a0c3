//! The emulated card through the real PC/SC stack: pcscd + vpcd started by
//! the harness, spoken to with the `pcsc` crate, with the `yubikey` crate
//! (the contract of the YubiKey signer) and with yubico-piv-tool.
//!
//! pcscd's socket is machine-wide, so the harness serialises these tests.

use std::process::Command;
use std::time::Duration;

use p256::ecdsa::{Signature, VerifyingKey, signature::hazmat::PrehashVerifier};
use piv_emulator::crypto::{DEFAULT_MGM_KEY, MgmAlgorithm};
use piv_emulator::harness::{CardSpec, PcscHarness};
use piv_emulator::{attest, tlv};
use x509_cert::der::{Decode, Encode};
use yubikey::piv::{AlgorithmId, SlotId};
use yubikey::{MgmKey, PinPolicy, TouchPolicy, YubiKey};

/// A connection to one reader through libpcsclite.
struct Raw {
    card: pcsc::Card,
}

impl Raw {
    fn connect(reader: &str) -> Raw {
        let ctx = pcsc::Context::establish(pcsc::Scope::User).expect("pcscd");
        let name = std::ffi::CString::new(reader).unwrap();
        let card = ctx
            .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::T1)
            .expect("connect to the emulated card");
        Raw { card }
    }

    /// Sends an APDU; follows 61xx with GET RESPONSE; returns (data, SW).
    fn send(&self, cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8]) -> (Vec<u8>, u16) {
        let mut apdu = vec![cla, ins, p1, p2];
        if !data.is_empty() {
            apdu.push(data.len() as u8);
            apdu.extend_from_slice(data);
        }
        let mut out = Vec::new();
        loop {
            let mut buf = [0u8; 300];
            let r = self.card.transmit(&apdu, &mut buf).expect("transmit");
            let sw = u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]]);
            out.extend_from_slice(&r[..r.len() - 2]);
            if sw & 0xFF00 != 0x6100 {
                return (out, sw);
            }
            apdu = vec![0x00, 0xC0, 0x00, 0x00];
        }
    }

    fn verify(&self, pin: &[u8]) -> u16 {
        let mut block = pin.to_vec();
        block.resize(8, 0xFF);
        self.send(0, 0x20, 0, 0x80, &block).1
    }

    fn authenticate(&self, alg: MgmAlgorithm, key: &[u8]) -> u16 {
        let n = alg.block_len();
        let (r, sw) = self.send(0, 0x87, alg.id(), 0x9B, &[0x7C, 0x02, 0x80, 0x00]);
        assert_eq!(sw, 0x9000);
        let mut witness = r[4..].to_vec();
        alg.decrypt(key, &mut witness).unwrap();
        let mut data = vec![0x7C, (2 * n + 4) as u8, 0x80, n as u8];
        data.extend(&witness);
        data.extend([0x81, n as u8]);
        data.extend(vec![0x77; n]);
        self.send(0, 0x87, alg.id(), 0x9B, &data).1
    }
}

const PIV_AID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x08];

#[test]
fn raw_apdus_select_verify_generate_sign_through_pcscd() {
    let h = PcscHarness::start(&[CardSpec::new(11_111_111, [5, 4, 3])]).unwrap();
    let raw = Raw::connect(&h.cards()[0].reader);
    assert_eq!(raw.send(0, 0xA4, 0x04, 0x00, &PIV_AID).1, 0x9000);
    assert_eq!(raw.send(0, 0xFD, 0, 0, &[]), (vec![5, 4, 3], 0x9000));
    let (serial, _) = raw.send(0, 0xF8, 0, 0, &[]);
    assert_eq!(serial, 11_111_111u32.to_be_bytes());
    assert_eq!(
        raw.authenticate(MgmAlgorithm::Tdes, &DEFAULT_MGM_KEY),
        0x9000
    );
    let (r, sw) = raw.send(
        0,
        0x47,
        0,
        0x9C,
        &[0xAC, 0x06, 0x80, 0x01, 0x11, 0xAA, 0x01, 0x02],
    );
    assert_eq!(sw, 0x9000);
    let (outer, _) = tlv::parse(&r).unwrap();
    assert_eq!(outer.tag, 0x7F49);
    let point = tlv::find(outer.value, 0x86).unwrap().unwrap();
    let vk = VerifyingKey::from_sec1_bytes(point).unwrap();

    assert_eq!(raw.verify(b"123456"), 0x9000);
    let digest = [0xC3u8; 32];
    let mut req = vec![0x7C, 0x24, 0x82, 0x00, 0x81, 0x20];
    req.extend(digest);
    let (r, sw) = raw.send(0, 0x87, 0x11, 0x9C, &req);
    assert_eq!(sw, 0x9000);
    let (outer, _) = tlv::parse(&r).unwrap();
    let der = tlv::find(outer.value, 0x82).unwrap().unwrap();
    vk.verify_prehash(&digest, &Signature::from_der(der).unwrap())
        .expect("the card's signature verifies");

    // A 700-byte certificate object: command chaining in, 61xx out.
    let mut object = vec![0x70, 0x82, 0x02, 0xBC];
    object.extend((0..700u32).map(|i| i as u8));
    let mut data = vec![0x5C, 0x03, 0x5F, 0xC1, 0x0A];
    tlv::push(&mut data, 0x53, &object);
    let parts: Vec<&[u8]> = data.chunks(255).collect();
    for (i, part) in parts.iter().enumerate() {
        let cla = if i + 1 < parts.len() { 0x10 } else { 0x00 };
        assert_eq!(raw.send(cla, 0xDB, 0x3F, 0xFF, part).1, 0x9000);
    }
    let (got, sw) = raw.send(0, 0xCB, 0x3F, 0xFF, &[0x5C, 0x03, 0x5F, 0xC1, 0x0A]);
    assert_eq!(sw, 0x9000);
    assert_eq!(got, tlv::encode(0x53, &object));
}

#[test]
fn wrong_pin_counts_down_and_blocks_through_pcscd() {
    let h = PcscHarness::start(&[CardSpec::new(22_222_222, [5, 7, 1])]).unwrap();
    let raw = Raw::connect(&h.cards()[0].reader);
    assert_eq!(raw.send(0, 0xA4, 0x04, 0x00, &PIV_AID).1, 0x9000);
    assert_eq!(raw.send(0, 0x20, 0, 0x80, &[]).1, 0x63C3);
    assert_eq!(raw.verify(b"999999"), 0x63C2);
    assert_eq!(raw.verify(b"999999"), 0x63C1);
    assert_eq!(raw.verify(b"999999"), 0x63C0);
    assert_eq!(raw.verify(b"123456"), 0x6983, "blocked: even the right PIN");
    assert_eq!(raw.send(0, 0x20, 0, 0x80, &[]).1, 0x6983);
    // The yubikey crate reads the blocked state as 0 retries.
    drop(raw);
    let mut yk = YubiKey::open().expect("the yubikey crate opens the emulated card");
    assert_eq!(yk.get_pin_retries().unwrap(), 0);
    assert!(matches!(
        yk.verify_pin(b"123456"),
        Err(yubikey::Error::WrongPin { tries: 0 })
    ));
    // PUK unblock through the crate.
    yk.unblock_pin(b"12345678", b"654321").unwrap();
    yk.verify_pin(b"654321").unwrap();
}

/// The contract of the YubiKey signer: open, read version and serial,
/// authenticate with the firmware's default management key, generate in 9c,
/// read the policies back with GET METADATA, verify the PIN, sign a digest.
fn sign_through_the_yubikey_crate(firmware: [u8; 3], serial: u32) {
    let h = PcscHarness::start(&[CardSpec::new(serial, firmware)]).unwrap();
    let mut yk = YubiKey::open().expect("the yubikey crate opens the emulated card");
    assert_eq!(u32::from(yk.serial()), serial);
    let v = yk.version();
    assert_eq!([v.major, v.minor, v.patch], firmware);
    assert_eq!(yk.get_pin_retries().unwrap(), 3);
    let mgm = MgmKey::get_default(&yk).unwrap();
    yk.authenticate(&mgm).expect("default management key");
    let spki = yubikey::piv::generate(
        &mut yk,
        SlotId::Signature,
        AlgorithmId::EccP256,
        PinPolicy::Always,
        TouchPolicy::Never,
    )
    .expect("generate P-256 in 9c");
    let point = spki.subject_public_key.as_bytes().unwrap().to_vec();
    let vk = VerifyingKey::from_sec1_bytes(&point).unwrap();

    let meta = yubikey::piv::metadata(&mut yk, SlotId::Signature).unwrap();
    assert_eq!(meta.policy, Some((PinPolicy::Always, TouchPolicy::Never)));
    assert_eq!(
        meta.public.unwrap().subject_public_key.as_bytes().unwrap(),
        &point[..]
    );

    let digest = [0x5Eu8; 32];
    assert!(
        yubikey::piv::sign_data(&mut yk, &digest, AlgorithmId::EccP256, SlotId::Signature).is_err(),
        "PIN-always key without VERIFY"
    );
    yk.verify_pin(b"123456").unwrap();
    let der = yubikey::piv::sign_data(&mut yk, &digest, AlgorithmId::EccP256, SlotId::Signature)
        .expect("sign through the yubikey crate");
    vk.verify_prehash(&digest, &Signature::from_der(&der).unwrap())
        .expect("the signature verifies against the generated key");

    // ATTEST through the crate; the chain attestation → f9 → test root.
    let attestation = yubikey::piv::attest(&mut yk, SlotId::Signature).expect("attest 9c");
    let attestation = x509_cert::Certificate::from_der(&attestation).unwrap();
    assert_eq!(
        attestation
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes(),
        &point[..]
    );
    let f9 = yubikey::certificate::Certificate::read(&mut yk, SlotId::Attestation)
        .expect("the f9 certificate in 5FFF01");
    let f9 = x509_cert::Certificate::from_der(&f9.cert.to_der().unwrap()).unwrap();
    let root = x509_cert::Certificate::from_der(&attest::root_certificate().unwrap()).unwrap();
    signed_by(&attestation, &f9);
    signed_by(&f9, &root);
    drop(yk);
    drop(h);
}

/// Checks that `cert` carries a valid signature by `issuer`'s key.
fn signed_by(cert: &x509_cert::Certificate, issuer: &x509_cert::Certificate) {
    use p256::ecdsa::signature::Verifier;
    let key = VerifyingKey::from_sec1_bytes(
        issuer
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes(),
    )
    .unwrap();
    let sig = Signature::from_der(cert.signature().raw_bytes()).unwrap();
    key.verify(&cert.tbs_certificate().to_der().unwrap(), &sig)
        .expect("signed by the issuer");
}

#[test]
fn yubikey_crate_signs_on_firmware_5_4_with_3des() {
    sign_through_the_yubikey_crate([5, 4, 3], 33_333_333);
}

#[test]
fn yubikey_crate_signs_on_firmware_5_7_with_aes192() {
    sign_through_the_yubikey_crate([5, 7, 1], 44_444_444);
}

#[test]
fn two_cards_chosen_by_serial_and_touch_timeout() {
    let h = PcscHarness::start(&[
        CardSpec::new(55_555_555, [5, 7, 1]),
        CardSpec::new(66_666_666, [5, 7, 1]).with_touch_timeout(Duration::from_millis(500)),
    ])
    .unwrap();
    assert!(
        YubiKey::open().is_err(),
        "open() refuses to pick between two"
    );
    let mut yk = YubiKey::open_by_serial(66_666_666.into()).unwrap();
    assert_eq!(u32::from(yk.serial()), 66_666_666);
    yk.authenticate(&MgmKey::get_default(&yk).unwrap()).unwrap();
    yubikey::piv::generate(
        &mut yk,
        SlotId::Signature,
        AlgorithmId::EccP256,
        PinPolicy::Once,
        TouchPolicy::Always,
    )
    .unwrap();
    yk.verify_pin(b"123456").unwrap();
    let digest = [1u8; 32];
    // Nobody touches: the card answers 6982, the crate says so.
    let err = yubikey::piv::sign_data(&mut yk, &digest, AlgorithmId::EccP256, SlotId::Signature)
        .unwrap_err();
    assert!(
        matches!(err, yubikey::Error::AuthenticationError),
        "{err:?}"
    );
    // A touch lets the next signature through.
    h.touch(1).unwrap();
    yubikey::piv::sign_data(&mut yk, &digest, AlgorithmId::EccP256, SlotId::Signature)
        .expect("touched");
    // The other card is untouched by all this.
    let other = YubiKey::open_by_serial(55_555_555.into()).unwrap();
    assert_eq!(other.name(), h.cards()[0].reader);
}

/// A tool from a Debian package that `cargo xtask test` installs.
fn tool(name: &str, package: &str) -> Command {
    assert!(
        Command::new(name).arg("--help").output().is_ok(),
        "`{name}` not found: install the Debian package {package} (cargo xtask test does)"
    );
    Command::new(name)
}

/// The ykcs11 PKCS#11 module.
const YKCS11: &str = "/usr/lib/x86_64-linux-gnu/libykcs11.so";

#[test]
fn yubico_piv_tool_reads_the_status() {
    let _h = PcscHarness::start(&[CardSpec::new(77_777_777, [5, 4, 3])]).unwrap();
    let out = tool("yubico-piv-tool", "yubico-piv-tool")
        .args(["-r", "Yubico YubiKey vpcd-emu", "-a", "status"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Version:\t5.4.3"), "{text}");
    assert!(text.contains("Serial Number:\t77777777"), "{text}");
    assert!(text.contains("PIN tries left:\t3"), "{text}");
}

#[test]
fn ykcs11_signs_with_a_key_the_yubikey_crate_generated() {
    assert!(
        std::path::Path::new(YKCS11).exists(),
        "{YKCS11} not found: install the Debian package ykcs11 (cargo xtask test does)"
    );
    let h = PcscHarness::start(&[CardSpec::new(88_888_888, [5, 7, 1])]).unwrap();
    let mut yk = YubiKey::open().unwrap();
    yk.authenticate(&MgmKey::get_default(&yk).unwrap()).unwrap();
    let spki = yubikey::piv::generate(
        &mut yk,
        SlotId::Signature,
        AlgorithmId::EccP256,
        PinPolicy::Once,
        TouchPolicy::Never,
    )
    .unwrap();
    let vk = VerifyingKey::from_sec1_bytes(spki.subject_public_key.as_bytes().unwrap()).unwrap();
    drop(yk);

    let data = h.dir().join("message");
    let sig = h.dir().join("signature");
    std::fs::write(&data, b"canonical bytes of a TUF root").unwrap();
    let out = tool("pkcs11-tool", "opensc")
        .args(["--module", YKCS11, "--login", "--pin", "123456", "--sign"])
        .args(["--mechanism", "ECDSA-SHA256", "--id", "02"])
        .args(["--signature-format", "openssl", "-i"])
        .arg(&data)
        .arg("-o")
        .arg(&sig)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let der = std::fs::read(&sig).unwrap();
    p256::ecdsa::signature::Verifier::verify(
        &vk,
        b"canonical bytes of a TUF root",
        &Signature::from_der(&der).unwrap(),
    )
    .expect("ykcs11's signature verifies against the key the yubikey crate generated");
}

#[test]
fn a_state_file_keeps_the_card_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("card.json");
    let spec = CardSpec {
        state: Some(state.clone()),
        ..CardSpec::new(99_999_999, [5, 7, 1])
    };
    let point = {
        let _h = PcscHarness::start(std::slice::from_ref(&spec)).unwrap();
        let mut yk = YubiKey::open().unwrap();
        yk.authenticate(&MgmKey::get_default(&yk).unwrap()).unwrap();
        assert!(yk.verify_pin(b"000000").is_err());
        let spki = yubikey::piv::generate(
            &mut yk,
            SlotId::KeyManagement,
            AlgorithmId::EccP256,
            PinPolicy::Never,
            TouchPolicy::Never,
        )
        .unwrap();
        spki.subject_public_key.as_bytes().unwrap().to_vec()
    };
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.contains("\"serial\": 99999999"), "{text}");
    // Plugged in again: same key, same PIN counter.
    let _h = PcscHarness::start(&[spec]).unwrap();
    let mut yk = YubiKey::open().unwrap();
    assert_eq!(yk.get_pin_retries().unwrap(), 2);
    let meta = yubikey::piv::metadata(&mut yk, SlotId::KeyManagement).unwrap();
    assert_eq!(
        meta.public.unwrap().subject_public_key.as_bytes().unwrap(),
        &point[..]
    );
    let digest = [9u8; 32];
    let der = yubikey::piv::sign_data(
        &mut yk,
        &digest,
        AlgorithmId::EccP256,
        SlotId::KeyManagement,
    )
    .unwrap();
    VerifyingKey::from_sec1_bytes(&point)
        .unwrap()
        .verify_prehash(&digest, &Signature::from_der(&der).unwrap())
        .unwrap();
}
