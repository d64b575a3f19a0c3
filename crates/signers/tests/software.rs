//! The software backend as an online tool or a drill uses it: make a key
//! file with a passphrase, open it, sign, and have tuf-metadata and the
//! python-tuf peer accept what it publishes and signs.
//!
//! Key files are made with the real scrypt work factor (about a second to
//! write and a second to read), so the two keys are made once per run and
//! shared by the tests that only read them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use signers::KeyKind;
use signers::Signer;
use signers::software::{SoftwareError, SoftwareKey, SoftwareSigner};
use signers::{Backend, Pin};
use tuf_metadata::json::{self, Object, Value};
use tuf_metadata::{Key, canonical};
use zeroize::Zeroizing;

const PASSPHRASE: &str = "correct horse battery staple";
const KINDS: [KeyKind; 2] = [KeyKind::Ed25519, KeyKind::EcdsaP256];

fn passphrase() -> Pin {
    Pin::new(Zeroizing::new(PASSPHRASE.to_owned()))
}

/// A directory for this test binary's files under cargo's test tmpdir,
/// emptied once per run.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("software-backend");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// The key file of `kind`, made once per run with `SoftwareKey::generate`.
fn shared_key(kind: KeyKind) -> &'static (PathBuf, Key) {
    static KEYS: [OnceLock<(PathBuf, Key)>; 2] = [OnceLock::new(), OnceLock::new()];
    let (slot, name) = match kind {
        KeyKind::Ed25519 => (&KEYS[0], "online-ed25519.age"),
        KeyKind::EcdsaP256 => (&KEYS[1], "online-p256.age"),
    };
    slot.get_or_init(|| {
        let path = scratch().join(name);
        let key = SoftwareKey::generate(kind, &path, &passphrase()).unwrap();
        (path, key)
    })
}

/// What a role signs: the canonical JSON of a `signed` object.
fn canonical_timestamp() -> Vec<u8> {
    let signed = json::parse(
        br#"{"_type":"timestamp","spec_version":"1.0.31","version":7,
            "expires":"2030-01-01T00:00:00Z",
            "meta":{"snapshot.json":{"version":7}}}"#,
        1 << 16,
    )
    .unwrap();
    canonical::encode(&signed)
}

#[test]
fn a_generated_key_opens_signs_and_verifies_with_tuf_metadata_for_both_kinds() {
    let message = canonical_timestamp();
    for kind in KINDS {
        let (path, published) = shared_key(kind);
        let mut signer = SoftwareSigner::open(path, &passphrase()).unwrap();
        assert_eq!(signer.kind(), kind);
        assert_eq!(signer.public_key(), published);
        assert_eq!(signer.identity().backend, Backend::Software);
        assert_eq!(signer.identity().model, "age-encrypted key file");
        assert_eq!(
            signer.identity().token_label,
            path.file_name().unwrap().to_str().unwrap()
        );

        let signature = signer.sign(&message).unwrap();
        // As a verifier reads it: the key object from its JSON, by key id.
        let read_back = Key::from_value(published.to_value()).unwrap();
        assert_eq!(signature.key_id(), &read_back.key_id());
        let public = read_back.public_key().unwrap();
        public.verify_hex(&message, signature.sig()).unwrap();
        assert!(public.verify_hex(b"other bytes", signature.sig()).is_err());
    }
}

#[test]
fn keys_are_published_as_python_tuf_publishes_them() {
    let (_, ed) = shared_key(KeyKind::Ed25519);
    assert_eq!(
        (ed.keytype.as_str(), ed.scheme.as_str()),
        ("ed25519", "ed25519")
    );
    assert_eq!(ed.public.len(), 64);
    let (_, ec) = shared_key(KeyKind::EcdsaP256);
    assert_eq!(
        (ec.keytype.as_str(), ec.scheme.as_str()),
        ("ecdsa", "ecdsa-sha2-nistp256")
    );
    assert!(ec.public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert!(ec.public.ends_with("\n-----END PUBLIC KEY-----\n"));
    for key in [ed, ec] {
        assert!(key.keyval_rest.is_empty() && key.unrecognized.is_empty());
    }
}

#[test]
fn a_wrong_passphrase_is_refused_and_named() {
    let (path, _) = shared_key(KeyKind::Ed25519);
    let wrong = Pin::new(Zeroizing::new("Correct horse battery staple".into()));
    let err = SoftwareSigner::open(path, &wrong).unwrap_err();
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
fn generate_refuses_to_overwrite_an_existing_file() {
    let path = scratch().join("already-there.age");
    std::fs::write(&path, b"someone's file").unwrap();
    for kind in KINDS {
        let err = SoftwareKey::generate(kind, &path, &passphrase()).unwrap_err();
        assert!(matches!(err, SoftwareError::Exists { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "{} already exists: a key file is never overwritten",
                path.display()
            )
        );
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"someone's file");
    // Nor a key file made a moment ago.
    let (key_path, _) = shared_key(KeyKind::EcdsaP256);
    let before = std::fs::read(key_path).unwrap();
    assert!(SoftwareKey::generate(KeyKind::Ed25519, key_path, &passphrase()).is_err());
    assert_eq!(std::fs::read(key_path).unwrap(), before);
}

#[test]
fn generate_refuses_an_empty_passphrase_and_writes_nothing() {
    let path = scratch().join("no-passphrase.age");
    let empty = Pin::new(Zeroizing::new(String::new()));
    let err = SoftwareKey::generate(KeyKind::Ed25519, &path, &empty).unwrap_err();
    assert!(matches!(err, SoftwareError::EmptyPassphrase), "{err:?}");
    assert!(!path.exists());
}

#[cfg(unix)]
#[test]
fn the_key_file_is_readable_by_its_owner_only_and_no_temporary_is_left() {
    use std::os::unix::fs::PermissionsExt;
    for kind in KINDS {
        let (path, _) = shared_key(kind);
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}: mode {mode:o}", path.display());
    }
    let leftovers: Vec<_> = std::fs::read_dir(scratch())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_file_is_age_encrypted_and_holds_nothing_in_the_clear() {
    let (path, key) = shared_key(KeyKind::Ed25519);
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    let public = hex::decode(&key.public).unwrap();
    assert!(!bytes.windows(public.len()).any(|w| w == public));
}

#[test]
fn a_corrupted_key_file_is_refused_with_a_clear_error() {
    let (path, _) = shared_key(KeyKind::EcdsaP256);
    let mut bytes = std::fs::read(path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    let corrupted = scratch().join("corrupted.age");
    std::fs::write(&corrupted, &bytes).unwrap();
    let err = SoftwareSigner::open(&corrupted, &passphrase()).unwrap_err();
    assert!(matches!(err, SoftwareError::Damaged { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{} is damaged: the encrypted key does not authenticate (the file is truncated or altered); restore it from its backup",
            corrupted.display()
        )
    );

    let not_age = scratch().join("notes.txt");
    std::fs::write(&not_age, b"root keyholder rota\n").unwrap();
    let err = SoftwareSigner::open(&not_age, &passphrase()).unwrap_err();
    assert!(matches!(err, SoftwareError::NotAgeFile { .. }), "{err:?}");

    let missing = scratch().join("missing.age");
    let err = SoftwareSigner::open(&missing, &passphrase()).unwrap_err();
    assert!(matches!(err, SoftwareError::Io { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&missing.display().to_string()));
}

#[test]
fn debug_output_shows_no_secret() {
    let (path, _) = shared_key(KeyKind::Ed25519);
    let signer = SoftwareSigner::open(path, &passphrase()).unwrap();
    let debug = format!("{signer:?}");
    assert!(debug.contains("<redacted>"), "{debug}");
    assert!(!debug.contains(PASSPHRASE), "{debug}");
    assert!(debug.contains(&signer.key_id()), "{debug}");
}

/// securesystemslib, given our public key as a python-tuf user would load it,
/// makes the same key object and key id; python-tuf verifies our signatures.
#[test]
fn python_tuf_agrees_on_key_objects_key_ids_and_signatures() {
    let message = canonical_timestamp();
    let mut entries = Vec::new();
    let mut ours = Vec::new();
    for kind in KINDS {
        let (path, _) = shared_key(kind);
        let mut signer = SoftwareSigner::open(path, &passphrase()).unwrap();
        let signature = signer.sign(&message).unwrap();
        entries.push(object([
            ("key", signer.public_key().to_value()),
            ("keyid", Value::String(signer.key_id())),
            ("message", Value::String(hex::encode(&message))),
            ("sig", Value::String(signature.sig().to_owned())),
        ]));
        ours.push(signer.public_key().clone());
    }
    let input = scratch().join("sslib-input.json");
    std::fs::write(&input, json::to_pretty(&Value::Array(entries))).unwrap();

    let output = tuf_ceremony_e2e::run_fixture_script("sslib_key_check.py", &[input.as_os_str()]);
    let Value::Array(results) = json::parse(&output.stdout, 1 << 20).unwrap() else {
        panic!("sslib_key_check.py did not print an array");
    };
    assert_eq!(results.len(), ours.len());
    for (key, result) in ours.iter().zip(results) {
        let Value::Object(mut result) = result else {
            panic!("not an object: {result:?}");
        };
        let theirs = Key::from_value(result.remove("key").unwrap()).unwrap();
        assert_eq!(&theirs, key, "securesystemslib's key object differs");
        assert_eq!(
            canonical::encode(&theirs.to_value()),
            canonical::encode(&key.to_value())
        );
        assert_eq!(result["keyid"], Value::String(key.key_id()));
        assert_eq!(result["verified"], Value::Bool(true), "{}", key.keytype);
        assert_eq!(result["tampered_refused"], Value::Bool(true));
    }
}

fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Object>(),
    )
}
