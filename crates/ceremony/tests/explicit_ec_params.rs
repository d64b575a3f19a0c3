//! P-256 keys whose token spells the curve out (`CKA_EC_PARAMS` as explicit
//! ECParameters, not the named-curve OID) sign through `ceremony sign`, and
//! python-tuf accepts the result:
//!
//! - on SoftHSM2, which keeps the parameters a generation template gives
//!   (and a key whose parameters differ from P-256's in one byte of b is
//!   refused, naming the token, the key and the part);
//! - through Debian 12's ykcs11 (yubico-piv-tool 2.2.0) over pcscd and the
//!   piv-emulator, the way it behaves on a real YubiKey: for a slot whose key
//!   cannot be attested (an imported key) and that holds no certificate, it
//!   builds the public key from GET METADATA and writes the curve out (a
//!   bug fixed upstream by yubico-piv-tool PR #399). A key generated on the
//!   card gets its public key from the attestation certificate instead, with
//!   the OID: the test checks both, so the explicit path is really taken.
//!
//! The pcscd test takes the harness's machine-wide lock; run this binary
//! with `--test-threads=1` and never beside another pcscd test binary.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bundle_format::PublicKeyFile;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use piv_emulator::crypto::{generate_p256, public_point};
use piv_emulator::harness::{CardSpec, PcscHarness};
use piv_emulator::state::{CardState, SlotKey, origin, pin_policy, touch_policy};
use signers::KeyKind;
use signers::pkcs11::ec_params::{GeneratorForm, ParamsForm, curve_of, p256_explicit};
use signers::pkcs11::module_path;
use signers::profile::{Overrides, Profile};

mod common;
use common::{ceremony, python, text, workspace};

/// Set in the SoftHSM2 test's child process: the directory holding its
/// token and PIN file.
const CHILD_ENV: &str = "CEREMONY_EXPLICIT_PARAMS_CHILD";
const USER_PIN: &str = "123456";
const TOKEN_LABEL: &str = "explicit-params";
const KEY_LABEL: &str = "root-p256-explicit";

/// What OpenSSL writes for P-256 spelt out, and so what ykcs11 2.2 reports.
fn openssl_form() -> Vec<u8> {
    p256_explicit(GeneratorForm::Uncompressed, true, true)
}

/// The PKCS#11 module of `profile`, as `ceremony sign --profile` finds it.
fn module(profile: &str) -> PathBuf {
    let profile = Profile::load(profile).unwrap();
    module_path(&profile, &Overrides::default()).unwrap_or_else(|e| {
        panic!("{e}: run `cargo xtask test`, which installs softhsm2 and ykcs11")
    })
}

fn open(module: &Path) -> Pkcs11 {
    let ctx = Pkcs11::new(module).unwrap();
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    ctx
}

/// `CKA_EC_PARAMS` and `CKA_EC_POINT` of a public-key object.
fn ec_attributes(session: &Session, public: ObjectHandle) -> (Vec<u8>, Vec<u8>) {
    let (mut params, mut point) = (None, None);
    for attr in session
        .get_attributes(public, &[AttributeType::EcParams, AttributeType::EcPoint])
        .unwrap()
    {
        match attr {
            Attribute::EcParams(v) => params = Some(v),
            Attribute::EcPoint(v) => point = Some(v),
            _ => {}
        }
    }
    (params.unwrap(), point.unwrap())
}

/// `04 41` + the point: `CKA_EC_POINT` as the DER OCTET STRING the spec asks for.
fn wrapped(point: &[u8]) -> Vec<u8> {
    [&[0x04, 0x41][..], point].concat()
}

/// Writes the public key file for `point` (what `ceremony onboard` would
/// have written) and stages root v2 handing the root role to that key.
fn stage_rotation(dir: &Path, point: &[u8]) -> (PathBuf, PathBuf) {
    let key = KeyKind::EcdsaP256.tuf_key(point).unwrap();
    let public = dir.join("keyholder.pub.json");
    let file = PublicKeyFile {
        key,
        token: None,
        attestation: None,
        unrecognized: Default::default(),
    };
    std::fs::write(&public, file.to_bytes()).unwrap();
    let rotation = dir.join("rotation");
    let made = Command::new(python())
        .arg(workspace().join("tests/fixtures/make_token_rotation.py"))
        .arg(&rotation)
        .arg(&public)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made));
    (rotation.join("1.root.json"), rotation.join("2.root.json"))
}

/// python-tuf's verdict on `staged` as the next root after `trusted`.
fn python_tuf_accepts(trusted: &Path, staged: &Path) -> Output {
    Command::new(python())
        .arg(workspace().join("tests/fixtures/make_token_rotation.py"))
        .arg("--verify")
        .arg(trusted)
        .arg(staged)
        .output()
        .unwrap()
}

fn sign(staged: &Path, trusted: &Path, pin: &Path, selection: &[&str]) -> Output {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("sign"),
        OsStr::new("--metadata"),
        staged.as_os_str(),
        OsStr::new("--trusted"),
        trusted.as_os_str(),
    ];
    args.extend(selection.iter().map(OsStr::new));
    args.extend([OsStr::new("--pin-file"), pin.as_os_str()]);
    ceremony(&args)
}

fn require_python() {
    assert!(
        python().exists(),
        "python-tuf peer not found at {}: run `cargo xtask test`",
        python().display()
    );
}

#[test]
fn softhsm2_key_generated_with_explicit_p256_parameters_signs_what_python_tuf_accepts() {
    const NAME: &str =
        "softhsm2_key_generated_with_explicit_p256_parameters_signs_what_python_tuf_accepts";
    // SoftHSM2 reads SOFTHSM2_CONF once, at C_Initialize, and setting it in
    // this process needs `unsafe` (forbidden): the body runs in a child
    // process of this test binary, filtered to this test, with the variable
    // set.
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        softhsm2_child(Path::new(&dir));
        return;
    }
    require_python();
    let softhsm2 = module("softhsm2");
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let init = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", TOKEN_LABEL])
        .args(["--so-pin", "87654321", "--pin", USER_PIN])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap_or_else(|e| panic!("softhsm2-util: {e}: run `cargo xtask test`"));
    assert!(init.status.success(), "{}", text(&init));
    let child = Command::new(std::env::current_exe().unwrap())
        .args([NAME, "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, dir.path())
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    print!("{}", String::from_utf8_lossy(&child.stdout));
    eprint!("{}", String::from_utf8_lossy(&child.stderr));
    assert!(
        child.status.success(),
        "the SoftHSM2 half failed ({}, module {})",
        child.status,
        softhsm2.display()
    );
    assert!(
        String::from_utf8_lossy(&child.stdout).contains("test result: ok. 1 passed"),
        "the child process did not run exactly this one test"
    );
}

/// The SoftHSM2 test's body, with `SOFTHSM2_CONF` naming its token.
fn softhsm2_child(dir: &Path) {
    let explicit = openssl_form();
    let point = {
        let ctx = open(&module("softhsm2"));
        let slot = ctx
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| ctx.get_token_info(*s).unwrap().label() == TOKEN_LABEL)
            .expect("the test's token");
        let session = ctx.open_rw_session(slot).unwrap();
        session
            .login(UserType::User, Some(&AuthPin::new(USER_PIN.into())))
            .unwrap();
        let label = Attribute::Label(KEY_LABEL.as_bytes().to_vec());
        let id = Attribute::Id(vec![0x5e; 16]);
        let (public, private) = session
            .generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &[
                    Attribute::Class(ObjectClass::PUBLIC_KEY),
                    Attribute::KeyType(KeyType::EC),
                    Attribute::Token(true),
                    Attribute::Private(false),
                    Attribute::Verify(true),
                    Attribute::EcParams(explicit.clone()),
                    label.clone(),
                    id.clone(),
                ],
                &[
                    Attribute::Class(ObjectClass::PRIVATE_KEY),
                    Attribute::KeyType(KeyType::EC),
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Sign(true),
                    label,
                    id,
                ],
            )
            .unwrap();
        // SoftHSM2 reports the parameters as given: the spelt-out form is
        // what `ceremony sign` will read.
        let (params, ec_point) = ec_attributes(&session, public);
        assert_eq!(hex::encode(&params), hex::encode(&explicit));
        assert_eq!(
            curve_of(&params),
            Ok((KeyKind::EcdsaP256, ParamsForm::Explicit))
        );
        let private_params = session
            .get_attributes(private, &[AttributeType::EcParams])
            .unwrap();
        assert_eq!(private_params, vec![Attribute::EcParams(explicit.clone())]);
        assert_eq!(
            ec_point.len(),
            67,
            "DER-wrapped: {}",
            hex::encode(&ec_point)
        );
        let point = ec_point[2..].to_vec();
        assert_eq!(ec_point, wrapped(&point));
        create_tampered_key(&session);
        drop(session);
        ctx.finalize().unwrap();
        point
    };

    let (trusted, staged) = stage_rotation(dir, &point);
    let pin = dir.join("pin");
    std::fs::write(&pin, format!("{USER_PIN}\n")).unwrap();
    let before = std::fs::read(&staged).unwrap();
    let out = sign(
        &staged,
        &trusted,
        &pin,
        &[
            "--profile",
            "softhsm2",
            "--token-label",
            TOKEN_LABEL,
            "--key-label",
            KEY_LABEL,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_ne!(std::fs::read(&staged).unwrap(), before);
    let verdict = python_tuf_accepts(&trusted, &staged);
    assert!(verdict.status.success(), "{}", text(&verdict));

    // The key whose parameters are P-256's but for one byte of b: refused,
    // naming the token, the key and the part that differs; nothing written.
    let signed = std::fs::read(&staged).unwrap();
    let out = sign(
        &staged,
        &trusted,
        &pin,
        &[
            "--profile",
            "softhsm2",
            "--token-label",
            TOKEN_LABEL,
            "--key-label",
            TAMPERED_LABEL,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("error:").count(), 1, "{}", text(&out));
    for part in [
        "token \"explicit-params\"",
        "no key on this token labelled \"tampered-b\" may sign this file",
        "keys it cannot use: \"tampered-b\" (CKA_ID 7b7b7b7b",
        "CKA_EC_PARAMS spells out a curve that is not P-256: its coefficient b differs from P-256's",
    ] {
        assert!(stderr.contains(part), "{part}: {}", text(&out));
    }
    assert_eq!(std::fs::read(&staged).unwrap(), signed);
}

const TAMPERED_LABEL: &str = "tampered-b";

/// Imports a key pair whose `CKA_EC_PARAMS` are P-256's with the last byte
/// of coefficient b changed (SoftHSM2 stores imported attributes as given;
/// it would not generate on such a curve).
fn create_tampered_key(session: &Session) {
    let mut params = openssl_form();
    let b_end = params
        .windows(3)
        .position(|w| w == [0xd2, 0x60, 0x4b])
        .expect("b ends …27d2604b")
        + 2;
    params[b_end] ^= 0x01;
    let key = generate_p256();
    let label = Attribute::Label(TAMPERED_LABEL.as_bytes().to_vec());
    let id = Attribute::Id(vec![0x7b; 16]);
    session
        .create_object(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Sign(true),
            Attribute::EcParams(params.clone()),
            Attribute::Value(key.to_bytes().to_vec()),
            label.clone(),
            id.clone(),
        ])
        .unwrap();
    session
        .create_object(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(params),
            Attribute::EcPoint(wrapped(&public_point(&key))),
            label,
            id,
        ])
        .unwrap();
}

#[test]
fn ykcs11_22_reports_explicit_parameters_for_a_slot_without_certificate_and_signs_what_python_tuf_accepts()
 {
    require_python();
    const SERIAL: u32 = 64_000_011;
    let dir = tempfile::tempdir().unwrap();
    // The card: slot 9c holds an imported P-256 key (a YubiKey cannot
    // attest imported keys) and no certificate; slot 9a holds a key
    // generated on the card, which can be attested.
    let imported = generate_p256();
    let point = public_point(&imported);
    let generated = generate_p256();
    let generated_point = public_point(&generated);
    let mut card = CardState::new(SERIAL, [5, 7, 1]);
    card.slots.insert(
        0x9C,
        SlotKey {
            key: imported,
            pin_policy: pin_policy::ONCE,
            touch_policy: touch_policy::NEVER,
            origin: origin::IMPORTED,
        },
    );
    card.slots.insert(
        0x9A,
        SlotKey {
            key: generated,
            pin_policy: pin_policy::ONCE,
            touch_policy: touch_policy::NEVER,
            origin: origin::GENERATED,
        },
    );
    // Certificates of 9a and 9c (objects 5FC105, 5FC10A): none.
    assert!(!card.objects.contains_key(&0x5FC105));
    assert!(!card.objects.contains_key(&0x5FC10A));
    let state = dir.path().join("card.json");
    card.save(&state).unwrap();
    let spec = CardSpec {
        state: Some(state),
        ..CardSpec::new(SERIAL, [5, 7, 1])
    };
    let _harness = PcscHarness::start(&[spec]).unwrap();

    // Straight through cryptoki: what ykcs11 reports, before our code reads it.
    {
        let ctx = open(&module("yubikey-ykcs11"));
        let slot = ctx.get_slots_with_token().unwrap()[0];
        let label = ctx.get_token_info(slot).unwrap().label().to_owned();
        assert!(label.contains(&SERIAL.to_string()), "{label}");
        let session = ctx.open_ro_session(slot).unwrap();
        let public_of = |id: u8| {
            let found = session
                .find_objects(&[
                    Attribute::Class(ObjectClass::PUBLIC_KEY),
                    Attribute::Id(vec![id]),
                ])
                .unwrap();
            assert_eq!(found.len(), 1, "public key with CKA_ID {id}");
            ec_attributes(&session, found[0])
        };
        // ykcs11 numbers 9a, 9c as CKA_ID 1, 2.
        let (params, ec_point) = public_of(2);
        assert_eq!(
            hex::encode(&params),
            hex::encode(openssl_form()),
            "slot 9c: the 250-byte ECParameters OpenSSL writes"
        );
        assert_eq!(
            curve_of(&params),
            Ok((KeyKind::EcdsaP256, ParamsForm::Explicit))
        );
        assert_eq!(hex::encode(ec_point), hex::encode(wrapped(&point)));
        let (params, ec_point) = public_of(1);
        assert_eq!(
            curve_of(&params),
            Ok((KeyKind::EcdsaP256, ParamsForm::Oid)),
            "slot 9a, attested: the OID ({})",
            hex::encode(&params)
        );
        assert_eq!(ec_point, wrapped(&generated_point));
        let certificates = session
            .find_objects(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::Id(vec![2]),
            ])
            .unwrap();
        assert!(certificates.is_empty(), "no certificate for slot 9c");
        drop(session);
        ctx.finalize().unwrap();
    }

    let (trusted, staged) = stage_rotation(dir.path(), &point);
    let pin = dir.path().join("pin");
    std::fs::write(&pin, "123456\n").unwrap();
    let before = std::fs::read(&staged).unwrap();
    let serial = SERIAL.to_string();
    let out = sign(
        &staged,
        &trusted,
        &pin,
        &["--profile", "yubikey-ykcs11", "--serial", &serial],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_ne!(std::fs::read(&staged).unwrap(), before);
    let verdict = python_tuf_accepts(&trusted, &staged);
    assert!(verdict.status.success(), "{}", text(&verdict));
}
