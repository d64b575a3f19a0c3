//! Unit tests of the applet, APDU by APDU, without pcscd.

use super::*;
use crate::crypto::MgmAlgorithm;
use crate::state::CardState;
use p256::ecdsa::{Signature, VerifyingKey, signature::hazmat::PrehashVerifier};

fn card(version: [u8; 3]) -> Card {
    Card::new(CardState::new(0x0102_0304, version), Touch::Auto, None)
}

/// Sends `apdu`, returns (data, SW).
fn send(card: &mut Card, apdu: &[u8]) -> (Vec<u8>, u16) {
    let mut r = card.transmit(apdu);
    let sw = u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]]);
    r.truncate(r.len() - 2);
    (r, sw)
}

fn apdu(cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![cla, ins, p1, p2, data.len() as u8];
    v.extend_from_slice(data);
    v
}

fn pin_block(pin: &[u8]) -> Vec<u8> {
    let mut v = pin.to_vec();
    v.resize(8, 0xFF);
    v
}

fn verify(card: &mut Card, pin: &[u8]) -> u16 {
    send(card, &apdu(0, 0x20, 0, 0x80, &pin_block(pin))).1
}

/// The host side of mutual authentication, as the yubikey crate runs it.
fn authenticate(card: &mut Card, alg: MgmAlgorithm, key: &[u8]) -> u16 {
    let (r, sw) = send(
        card,
        &apdu(0, 0x87, alg.id(), 0x9B, &[0x7C, 0x02, 0x80, 0x00]),
    );
    if sw != 0x9000 {
        return sw;
    }
    let n = alg.block_len();
    assert_eq!(r[..4], [0x7C, (n + 2) as u8, 0x80, n as u8]);
    let mut witness = r[4..].to_vec();
    alg.decrypt(key, &mut witness).unwrap();
    let challenge = vec![0x5Au8; n];
    let mut data = vec![0x7C, (2 * n + 4) as u8, 0x80, n as u8];
    data.extend(&witness);
    data.extend([0x81, n as u8]);
    data.extend(&challenge);
    let (r, sw) = send(card, &apdu(0, 0x87, alg.id(), 0x9B, &data));
    if sw == 0x9000 {
        let mut expected = challenge.clone();
        alg.encrypt(key, &mut expected).unwrap();
        assert_eq!(r[4..], expected[..], "the card proved it knows the key");
    }
    sw
}

fn generate(card: &mut Card, slot: u8, pin: u8, touch: u8) -> Vec<u8> {
    let data = [
        0xAC, 0x09, 0x80, 0x01, 0x11, 0xAA, 0x01, pin, 0xAB, 0x01, touch,
    ];
    let (r, sw) = send(card, &apdu(0, 0x47, 0, slot, &data));
    assert_eq!(sw, 0x9000);
    assert_eq!(r[..5], [0x7F, 0x49, 0x43, 0x86, 0x41]);
    r[5..].to_vec()
}

fn sign(card: &mut Card, slot: u8, digest: &[u8; 32]) -> (Vec<u8>, u16) {
    let mut data = vec![0x7C, 0x24, 0x82, 0x00, 0x81, 0x20];
    data.extend(digest);
    send(card, &apdu(0, 0x87, 0x11, slot, &data))
}

#[test]
fn open_sequence_of_the_yubikey_crate() {
    let mut c = card([5, 4, 3]);
    let (_, sw) = send(&mut c, &apdu(0, 0xA4, 0x04, 0x00, &PIV_AID));
    assert_eq!(sw, 0x9000);
    assert_eq!(send(&mut c, &[0, 0xFD, 0, 0]), (vec![5, 4, 3], 0x9000));
    assert_eq!(send(&mut c, &[0, 0xF8, 0, 0]), (vec![1, 2, 3, 4], 0x9000));
    let (_, sw) = send(&mut c, &apdu(0, 0xA4, 0x04, 0x00, &[0xA0, 0, 0, 5, 0x27]));
    assert_eq!(sw, 0x6A82);
}

#[test]
fn pin_counts_down_blocks_and_puk_unblocks() {
    let mut c = card([5, 4, 3]);
    assert_eq!(send(&mut c, &[0, 0x20, 0, 0x80]).1, 0x63C3);
    assert_eq!(verify(&mut c, b"000000"), 0x63C2);
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    assert_eq!(send(&mut c, &[0, 0x20, 0, 0x80]).1, 0x9000);
    assert_eq!(verify(&mut c, b"000000"), 0x63C2);
    assert_eq!(verify(&mut c, b"000000"), 0x63C1);
    assert_eq!(verify(&mut c, b"000000"), 0x63C0);
    assert_eq!(verify(&mut c, b"123456"), 0x6983);
    assert_eq!(send(&mut c, &[0, 0x20, 0, 0x80]).1, 0x6983);
    // Wrong PUK counts down too.
    let mut data = pin_block(b"87654321");
    data.extend(pin_block(b"654321"));
    assert_eq!(send(&mut c, &apdu(0, 0x2C, 0, 0x80, &data)).1, 0x63C2);
    let mut data = pin_block(b"12345678");
    data.extend(pin_block(b"654321"));
    assert_eq!(send(&mut c, &apdu(0, 0x2C, 0, 0x80, &data)).1, 0x9000);
    assert_eq!(verify(&mut c, b"654321"), 0x9000);
    assert_eq!(c.state().puk.remaining, 3);
    // CHANGE REFERENCE of the PIN.
    let mut data = pin_block(b"654321");
    data.extend(pin_block(b"11112222"));
    assert_eq!(send(&mut c, &apdu(0, 0x24, 0, 0x80, &data)).1, 0x9000);
    assert_eq!(verify(&mut c, b"11112222"), 0x9000);
    // Metadata reports total and remaining.
    let (m, sw) = send(&mut c, &[0, 0xF7, 0, 0x80]);
    assert_eq!(sw, 0x9000);
    assert_eq!(
        m,
        [0x01, 0x01, 0xFF, 0x05, 0x01, 0x00, 0x06, 0x02, 0x03, 0x03]
    );
}

#[test]
fn management_key_3des_before_5_7_and_aes192_from_5_7() {
    let mut old = card([5, 4, 3]);
    assert_eq!(
        authenticate(&mut old, MgmAlgorithm::Aes192, &crypto::DEFAULT_MGM_KEY),
        0x6A86
    );
    assert_eq!(
        authenticate(&mut old, MgmAlgorithm::Tdes, &crypto::DEFAULT_MGM_KEY),
        0x9000
    );
    let mut new = card([5, 7, 2]);
    assert_eq!(
        authenticate(&mut new, MgmAlgorithm::Aes192, &crypto::DEFAULT_MGM_KEY),
        0x9000
    );
    let (m, _) = send(&mut new, &[0, 0xF7, 0, 0x9B]);
    assert_eq!(
        m,
        [0x01, 0x01, 0x0A, 0x02, 0x02, 0x00, 0x01, 0x05, 0x01, 0x01]
    );
    // A wrong key is refused and does not authenticate.
    let mut c = card([5, 7, 2]);
    assert_eq!(
        authenticate(&mut c, MgmAlgorithm::Aes192, &[9u8; 24]),
        0x6982
    );
    assert_eq!(
        send(&mut c, &apdu(0, 0x47, 0, 0x9A, &[0xAC, 3, 0x80, 1, 0x11])).1,
        0x6982
    );
}

#[test]
fn set_management_key_then_authenticate_with_it() {
    let mut c = card([5, 4, 3]);
    assert_eq!(
        authenticate(&mut c, MgmAlgorithm::Tdes, &crypto::DEFAULT_MGM_KEY),
        0x9000
    );
    let key = [0x11u8; 24];
    let mut data = vec![0x0A, 0x9B, 24];
    data.extend(key);
    assert_eq!(send(&mut c, &apdu(0, 0xFF, 0xFF, 0xFF, &data)).1, 0x9000);
    c.reset();
    assert_eq!(authenticate(&mut c, MgmAlgorithm::Aes192, &key), 0x9000);
}

#[test]
fn generate_and_sign_with_pin_policies() {
    let mut c = card([5, 7, 1]);
    assert_eq!(
        authenticate(&mut c, MgmAlgorithm::Aes192, &crypto::DEFAULT_MGM_KEY),
        0x9000
    );
    let point = generate(&mut c, 0x9C, pin_policy::ALWAYS, touch_policy::NEVER);
    let vk = VerifyingKey::from_sec1_bytes(&point).unwrap();
    let digest = [0x33u8; 32];
    assert_eq!(sign(&mut c, 0x9C, &digest).1, 0x6982, "no PIN yet");
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    let (r, sw) = sign(&mut c, 0x9C, &digest);
    assert_eq!(sw, 0x9000);
    let (outer, _) = tlv::parse(&r).unwrap();
    assert_eq!(outer.tag, 0x7C);
    let der = tlv::find(outer.value, 0x82).unwrap().unwrap();
    vk.verify_prehash(&digest, &Signature::from_der(der).unwrap())
        .unwrap();
    assert_eq!(
        sign(&mut c, 0x9C, &digest).1,
        0x6982,
        "PIN always: VERIFY again"
    );
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
    assert_eq!(sign(&mut c, 0x9C, &digest).1, 0x9000);

    generate(&mut c, 0x9A, pin_policy::ONCE, touch_policy::NEVER);
    assert_eq!(sign(&mut c, 0x9A, &digest).1, 0x9000);
    assert_eq!(sign(&mut c, 0x9A, &digest).1, 0x9000);
    c.reset();
    assert_eq!(
        sign(&mut c, 0x9A, &digest).1,
        0x6982,
        "a reset forgets the PIN"
    );

    let (m, sw) = send(&mut c, &[0, 0xF7, 0, 0x9C]);
    assert_eq!(sw, 0x9000);
    assert_eq!(
        m[..10],
        [0x01, 0x01, 0x11, 0x02, 0x02, 0x03, 0x01, 0x03, 0x01, 0x01]
    );
    assert_eq!(m[10..15], [0x04, 0x43, 0x86, 0x41, 0x04]);
    assert_eq!(send(&mut c, &[0, 0xF7, 0, 0x9D]).1, 0x6A88);
    assert_eq!(sign(&mut c, 0x9D, &digest).1, 0x6A88);
}

#[test]
fn touch_timeout_answers_6982_and_a_touch_file_lets_it_sign() {
    let dir = std::env::temp_dir().join(format!("piv-touch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("touch");
    let mut c = Card::new(
        CardState::new(7, [5, 7, 1]),
        Touch::File {
            path: path.clone(),
            timeout: Duration::from_millis(200),
        },
        None,
    );
    assert_eq!(
        authenticate(&mut c, MgmAlgorithm::Aes192, &crypto::DEFAULT_MGM_KEY),
        0x9000
    );
    generate(&mut c, 0x9A, pin_policy::NEVER, touch_policy::ALWAYS);
    assert_eq!(sign(&mut c, 0x9A, &[1; 32]).1, 0x6982);
    std::fs::write(&path, b"").unwrap();
    assert_eq!(sign(&mut c, 0x9A, &[1; 32]).1, 0x9000);
    assert!(!path.exists(), "a touch is used up");
    assert_eq!(sign(&mut c, 0x9A, &[1; 32]).1, 0x6982);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn put_data_with_command_chaining_and_get_data_with_response_chaining() {
    let mut c = card([5, 4, 3]);
    assert_eq!(
        authenticate(&mut c, MgmAlgorithm::Tdes, &crypto::DEFAULT_MGM_KEY),
        0x9000
    );
    let cert: Vec<u8> = (0..700u32).map(|i| i as u8).collect();
    let mut object = vec![0x70, 0x82, 0x02, 0xBC];
    object.extend(&cert);
    object.extend([0x71, 0x01, 0x00, 0xFE, 0x00]);
    let mut data = vec![0x5C, 0x03, 0x5F, 0xC1, 0x05];
    tlv::push(&mut data, 0x53, &object);
    // Command chaining in 255-byte parts, as transfer_data does it.
    let parts: Vec<&[u8]> = data.chunks(255).collect();
    for (i, part) in parts.iter().enumerate() {
        let cla = if i + 1 < parts.len() { 0x10 } else { 0x00 };
        assert_eq!(send(&mut c, &apdu(cla, 0xDB, 0x3F, 0xFF, part)).1, 0x9000);
    }
    // Response chaining: 61xx then GET RESPONSE until 9000.
    let (mut got, mut sw) = send(
        &mut c,
        &apdu(0, 0xCB, 0x3F, 0xFF, &[0x5C, 0x03, 0x5F, 0xC1, 0x05]),
    );
    let mut rounds = 0;
    while sw & 0xFF00 == 0x6100 {
        let (more, next) = send(&mut c, &[0, 0xC0, 0, 0]);
        got.extend(more);
        sw = next;
        rounds += 1;
    }
    assert_eq!(sw, 0x9000);
    assert_eq!(rounds, 2);
    assert_eq!(got, tlv::encode(0x53, &object));
    assert_eq!(
        send(
            &mut c,
            &apdu(0, 0xCB, 0x3F, 0xFF, &[0x5C, 0x03, 0x5F, 0xC1, 0x0A])
        )
        .1,
        0x6A82
    );
    // PUT DATA needs the management key.
    c.reset();
    assert_eq!(
        send(&mut c, &apdu(0, 0xDB, 0x3F, 0xFF, &data[..20])).1,
        0x6982
    );
}

#[test]
fn factory_reset_only_when_pin_and_puk_are_blocked() {
    let mut c = card([5, 4, 3]);
    assert_eq!(send(&mut c, &[0, 0xFB, 0, 0]).1, 0x6985);
    for _ in 0..3 {
        verify(&mut c, b"000000");
    }
    let mut data = pin_block(b"00000000");
    data.extend(pin_block(b"000000"));
    for _ in 0..3 {
        send(&mut c, &apdu(0, 0x2C, 0, 0x80, &data));
    }
    assert_eq!(send(&mut c, &[0, 0xFB, 0, 0]).1, 0x9000);
    assert_eq!(verify(&mut c, b"123456"), 0x9000);
}

#[test]
fn attest_a_generated_key_chains_to_the_test_root() {
    use p256::ecdsa::signature::Verifier;
    use x509_cert::Certificate;
    use x509_cert::der::{Decode, Encode};

    let mut c = card([5, 7, 1]);
    assert_eq!(send(&mut c, &[0, 0xF9, 0x9C, 0]).1, 0x6A88, "empty slot");
    assert_eq!(
        authenticate(&mut c, MgmAlgorithm::Aes192, &crypto::DEFAULT_MGM_KEY),
        0x9000
    );
    let point = generate(&mut c, 0x9C, pin_policy::ALWAYS, touch_policy::ALWAYS);
    // The certificate is longer than one response: follow 61xx.
    let (mut der, mut sw) = send(&mut c, &[0, 0xF9, 0x9C, 0]);
    while sw & 0xFF00 == 0x6100 {
        let (more, next) = send(&mut c, &[0, 0xC0, 0, 0]);
        der.extend(more);
        sw = next;
    }
    assert_eq!(sw, 0x9000);
    let cert = Certificate::from_der(&der).unwrap();
    let spk = cert.tbs_certificate().subject_public_key_info();
    assert_eq!(spk.subject_public_key.raw_bytes(), &point[..]);

    // The f9 certificate, read the way hosts read it: GET DATA 5FFF01.
    let (mut object, mut sw) = send(
        &mut c,
        &apdu(0, 0xCB, 0x3F, 0xFF, &[0x5C, 0x03, 0x5F, 0xFF, 0x01]),
    );
    while sw & 0xFF00 == 0x6100 {
        let (more, next) = send(&mut c, &[0, 0xC0, 0, 0]);
        object.extend(more);
        sw = next;
    }
    assert_eq!(sw, 0x9000);
    let inner = tlv::find(&object, 0x53).unwrap().unwrap();
    let f9 = Certificate::from_der(tlv::find(inner, 0x70).unwrap().unwrap()).unwrap();
    let verify = |cert: &Certificate, issuer: &Certificate| {
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
            .unwrap();
    };
    let root = Certificate::from_der(&crate::attest::root_certificate().unwrap()).unwrap();
    verify(&cert, &f9);
    verify(&f9, &root);
}

#[test]
fn imported_keys_sign_but_cannot_be_attested() {
    let mut c = card([5, 4, 3]);
    let key = crypto::generate_p256();
    let mut data = tlv::encode(0x06, &key.to_bytes());
    data.extend([0xAA, 0x01, pin_policy::NEVER]);
    assert_eq!(send(&mut c, &apdu(0, 0xFE, 0x11, 0x9D, &data)).1, 0x6982);
    assert_eq!(
        authenticate(&mut c, MgmAlgorithm::Tdes, &crypto::DEFAULT_MGM_KEY),
        0x9000
    );
    assert_eq!(send(&mut c, &apdu(0, 0xFE, 0x11, 0x9D, &data)).1, 0x9000);
    let (r, sw) = sign(&mut c, 0x9D, &[4; 32]);
    assert_eq!(sw, 0x9000);
    let der = tlv::find(tlv::parse(&r).unwrap().0.value, 0x82)
        .unwrap()
        .unwrap();
    key.verifying_key()
        .verify_prehash(&[4; 32], &Signature::from_der(der).unwrap())
        .unwrap();
    assert_eq!(send(&mut c, &[0, 0xF9, 0x9D, 0]).1, 0x6A80);
    let (m, _) = send(&mut c, &[0, 0xF7, 0, 0x9D]);
    assert_eq!(m[3..10], [0x02, 0x02, 0x01, 0x01, 0x03, 0x01, 0x02]);
}
