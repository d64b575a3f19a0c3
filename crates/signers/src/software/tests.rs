//! Unit tests: files are made with age directly at a low scrypt work factor
//! so that each test takes milliseconds; the public `generate` path, at the
//! real work factor, is tested in `tests/software.rs`.

use age::secrecy::SecretString;

use super::*;

fn pin(text: &str) -> Pin {
    Pin::new(Zeroizing::new(text.to_owned()))
}

/// `plaintext` encrypted to `passphrase` with scrypt work factor 2^10.
fn quick_age(plaintext: &[u8], passphrase: &str, armor: bool) -> Vec<u8> {
    let mut recipient = age::scrypt::Recipient::new(SecretString::from(passphrase.to_owned()));
    recipient.set_work_factor(10);
    if armor {
        age::encrypt_and_armor(&recipient, plaintext)
            .unwrap()
            .into_bytes()
    } else {
        age::encrypt(&recipient, plaintext).unwrap()
    }
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn quick_key_file(dir: &tempfile::TempDir, kind: KeyKind) -> PathBuf {
    let pkcs8 = key_pair::generate(kind).unwrap();
    write(
        dir,
        "key.age",
        &quick_age(&pkcs8, "drill passphrase", false),
    )
}

#[test]
fn a_signer_signs_and_its_signature_verifies_for_both_kinds() {
    let dir = tempfile::tempdir().unwrap();
    for kind in [KeyKind::Ed25519, KeyKind::EcdsaP256] {
        let path = quick_key_file(&dir, kind);
        let mut signer = SoftwareSigner::open(&path, &pin("drill passphrase")).unwrap();
        assert_eq!(signer.kind(), kind);
        let signature = signer.sign(b"{\"_type\":\"timestamp\"}").unwrap();
        assert_eq!(signature.key_id(), &signer.key_id());
        signer
            .public_key()
            .public_key()
            .unwrap()
            .verify_hex(b"{\"_type\":\"timestamp\"}", signature.sig())
            .unwrap();
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn a_batch_signs_each_message_in_order_as_one_at_a_time_would() {
    let dir = tempfile::tempdir().unwrap();
    for kind in [KeyKind::Ed25519, KeyKind::EcdsaP256] {
        let path = quick_key_file(&dir, kind);
        let mut signer = SoftwareSigner::open(&path, &pin("drill passphrase")).unwrap();
        let messages: Vec<Vec<u8>> = (0..5)
            .map(|n| format!("{{\"_type\":\"targets\",\"version\":{n}}}").into_bytes())
            .collect();
        let borrowed: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let results = signer.sign_many(&borrowed);
        assert_eq!(results.len(), 5);
        let key = signer.public_key().public_key().unwrap();
        for (message, result) in messages.iter().zip(results) {
            let signature = result.unwrap();
            assert_eq!(signature.key_id(), &signer.key_id());
            key.verify_hex(message, signature.sig()).unwrap();
            if kind == KeyKind::Ed25519 {
                // Deterministic: the batch signs exactly what `sign` does.
                assert_eq!(signature.sig(), signer.sign(message).unwrap().sig());
            }
        }
        assert!(signer.sign_many(&[]).is_empty());
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn the_identity_names_the_file_and_says_online_or_drill_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = quick_key_file(&dir, KeyKind::Ed25519);
    let signer = SoftwareSigner::open(&path, &pin("drill passphrase")).unwrap();
    let identity = signer.identity();
    assert_eq!(identity.backend, Backend::Software);
    assert_eq!(identity.token_label, "key.age");
    assert_eq!(
        identity.to_string(),
        "software key file (online roles and drills only): age-encrypted key file, token \"key.age\""
    );
}

#[test]
fn debug_output_shows_the_key_id_and_never_the_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = quick_key_file(&dir, KeyKind::Ed25519);
    let signer = SoftwareSigner::open(&path, &pin("drill passphrase")).unwrap();
    let debug = format!("{signer:?}");
    assert!(debug.contains(&signer.key_id()), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
    // Neither the PKCS#8 nor the 32-byte seed inside it, in any spelling.
    let seed = &signer.pkcs8[16..48];
    for secret in [hex::encode(&*signer.pkcs8), hex::encode(seed)] {
        assert!(!debug.to_lowercase().contains(&secret), "{debug}");
    }
    assert!(!debug.contains(&format!("{:?}", seed)), "{debug}");
    assert!(!debug.contains("drill passphrase"), "{debug}");
}

#[test]
fn a_wrong_passphrase_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let path = quick_key_file(&dir, KeyKind::EcdsaP256);
    let err = SoftwareSigner::open(&path, &pin("not it")).unwrap_err();
    assert!(
        matches!(err, SoftwareError::WrongPassphrase { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("wrong passphrase for {}", path.display())
    );
}

#[test]
fn an_armored_file_and_an_openssl_style_pkcs8_v1_key_are_read() {
    let dir = tempfile::tempdir().unwrap();
    // RFC 8410's example Ed25519 key, PKCS#8 v1 as `openssl genpkey` writes it.
    let v1 = hex::decode(
        "302e020100300506032b657004220420\
         d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842",
    )
    .unwrap();
    let path = write(&dir, "armored.age", &quick_age(&v1, "pw", true));
    let mut signer = SoftwareSigner::open(&path, &pin("pw")).unwrap();
    assert_eq!(
        signer.public_key().public,
        "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1"
    );
    signer.sign(b"drill").unwrap();
}

#[test]
fn files_that_are_not_passphrase_age_files_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let pem = write(
        &dir,
        "key.pem",
        b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
    );
    let err = SoftwareSigner::open(&pem, &pin("pw")).unwrap_err();
    assert!(matches!(err, SoftwareError::NotAgeFile { .. }), "{err:?}");
    assert!(
        err.to_string()
            .ends_with("does not start with an age header"),
        "{err}"
    );

    let identity = age::x25519::Identity::generate();
    let to_recipient = age::encrypt(&identity.to_public(), b"key").unwrap();
    let path = write(&dir, "x25519.age", &to_recipient);
    let err = SoftwareSigner::open(&path, &pin("pw")).unwrap_err();
    assert!(err.to_string().contains("not to a passphrase"), "{err}");

    let huge = write(&dir, "huge.age", &vec![b'a'; 100_000]);
    let err = SoftwareSigner::open(&huge, &pin("pw")).unwrap_err();
    assert!(
        err.to_string().contains("far larger than a key file"),
        "{err}"
    );
}

#[test]
fn damaged_files_are_refused_and_said_to_be_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let pkcs8 = key_pair::generate(KeyKind::Ed25519).unwrap();
    let good = quick_age(&pkcs8, "pw", false);
    let header_end = good.windows(4).position(|w| w == b"\n---").unwrap();

    let mut payload_flipped = good.clone();
    *payload_flipped.last_mut().unwrap() ^= 1;
    let truncated = good[..good.len() - 10].to_vec();
    let mut mac_flipped = good.clone();
    // Inside the base64 header MAC: swap in another base64 character (a bit
    // flip could make it a non-base64 byte, which is a different error).
    let mac_char = &mut mac_flipped[header_end + 6];
    *mac_char = if *mac_char == b'A' { b'B' } else { b'A' };
    for (name, bytes) in [
        ("payload-flipped", payload_flipped),
        ("truncated", truncated),
        ("mac-flipped", mac_flipped),
    ] {
        let path = write(&dir, name, &bytes);
        let err = SoftwareSigner::open(&path, &pin("pw")).unwrap_err();
        assert!(
            matches!(err, SoftwareError::Damaged { .. }),
            "{name}: {err:?}"
        );
        assert!(err.to_string().contains("restore it from its backup"));
    }
}

#[test]
fn a_file_asking_for_excessive_scrypt_work_is_refused_before_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let text = quick_age(b"k", "pw", false);
    // The stanza line is `-> scrypt SALT 10`: ask for 2^30 instead.
    let at = text.windows(6).position(|w| w == b"scrypt").unwrap();
    let line_end = at + text[at..].iter().position(|&b| b == b'\n').unwrap();
    let mut edited = text[..line_end - 2].to_vec();
    edited.extend_from_slice(b"30");
    edited.extend_from_slice(&text[line_end..]);
    let path = write(&dir, "dos.age", &edited);
    let started = std::time::Instant::now();
    let err = SoftwareSigner::open(&path, &pin("pw")).unwrap_err();
    assert!(
        matches!(err, SoftwareError::TooMuchWork { log_n: 30, .. }),
        "{err:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn a_file_holding_something_other_than_a_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "note.age", &quick_age(b"just a note", "pw", false));
    let err = SoftwareSigner::open(&path, &pin("pw")).unwrap_err();
    assert!(
        matches!(err, SoftwareError::UnsupportedKey { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("not a PKCS#8 private key"),
        "{err}"
    );
}

#[test]
fn write_new_never_replaces_a_file_and_leaves_no_temporary_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.age");
    key_file::write_new(&path, b"first", |_| Ok(())).unwrap();
    let err = key_file::write_new(&path, b"second", |_| Ok(())).unwrap_err();
    assert!(matches!(err, SoftwareError::Exists { .. }), "{err:?}");
    // A check that fails keeps nothing.
    let other = dir.path().join("other.age");
    let err = key_file::write_new(&other, b"x", |_| Err(SoftwareError::Random)).unwrap_err();
    assert!(matches!(err, SoftwareError::Random));
    assert!(!other.exists());
    assert_eq!(std::fs::read(&path).unwrap(), b"first");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["k.age"]);
}
