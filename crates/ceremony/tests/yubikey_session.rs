//! The appliance's session (library API, no UI) with `HardwareTokens`
//! offering YubiKeys over PIV: two emulated cards behind a private pcscd
//! (`piv-emulator`'s harness), a key onboarded with `ceremony onboard` on
//! one of them, and a root rotation signed through the session from token
//! list to witness sign-off.
//!
//! The emulated cards are started without a touch timeout, so they grant
//! every touch at once (the key is onboarded with the default touch policy
//! "always", as in tests/yubikey_cli.rs); nobody has to touch anything.

use std::path::{Path, PathBuf};
use std::process::Command;

use ceremony::hardware::HardwareTokens;
use ceremony::session::{Options, Session, SessionError, Stage};
use piv_emulator::harness::{CardSpec, PcscHarness};
use signers::{Pin, PinState};
use time::OffsetDateTime;
use time::macros::datetime;
use transcript::Event;
use tuf_metadata::json::{self, Value};
use tuf_metadata::testing::{TestKey, file_bytes, root, signed};
use tuf_metadata::{Key, Limits, Metadata, Root, verify_root_update};
use zeroize::Zeroizing;

mod common;
use common::text;

const NOW: OffsetDateTime = datetime!(2026-11-22 09:30 UTC);

/// The keyholder's card (reader 0) and a second card with an empty 9c.
const KEYHOLDER_SERIAL: u32 = 63_000_001;
const OTHER_SERIAL: u32 = 63_000_002;

fn pin(text: &str) -> Pin {
    Pin::new(Zeroizing::new(text.to_owned()))
}

/// `ceremony onboard --profile yubikey-piv` on card `serial`, slot 9c;
/// the public key record it writes, read the way `drill.rs` reads one.
fn onboard(dir: &Path, serial: u32) -> Key {
    let pin_file = dir.join("pin");
    std::fs::write(&pin_file, "123456\n").unwrap();
    let public = dir.join("wanda-keyholder.pub.json");
    let out = Command::new(env!("CARGO_BIN_EXE_ceremony"))
        .args(["onboard", "--profile", "yubikey-piv", "--serial"])
        .arg(serial.to_string())
        .args(["--key-label", "9c", "--pin-file"])
        .arg(&pin_file)
        .arg("--out")
        .arg(&public)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let bytes = std::fs::read(&public).unwrap();
    let Value::Object(mut record) = json::parse(&bytes, Limits::ROOT.max_bytes).unwrap() else {
        panic!("{}: not a JSON object", public.display());
    };
    let Some(Value::String(listed)) = record.remove("keyid") else {
        panic!("{}: no \"keyid\" string", public.display());
    };
    let key = Key::from_value(record.remove("key").expect("a \"key\" object")).unwrap();
    assert_eq!(key.key_id(), listed, "the record's key id is its key's");
    key
}

/// A go-tuf stick: `repository/1.root.json` (root v1: seeds 1 and 2,
/// threshold 1, signed by seed 1) and `staged/root.json` (root v2 whose
/// root role is seed 1 and the YubiKey key, threshold 2, already signed by
/// seed 1). Returns the stick and root v1.
fn rotation_stick(dir: &Path, yubikey: &Key) -> (PathBuf, Metadata<Root>) {
    let [k1, k2] = [1, 2].map(TestKey::from_seed);
    let v1 = signed(root(1, &[&k1, &k2], 1, "2027-06-01T00:00:00Z"), &[&k1]);

    let mut v2 = root(2, &[&k1], 1, "2027-11-22T00:00:00Z");
    v2.keys.insert(yubikey.key_id(), yubikey.clone());
    let root_role = v2.roles.get_mut("root").expect("a root role");
    root_role.keyids.push(yubikey.key_id());
    // Threshold 2 rather than 1: seed 1's signature alone already meets
    // threshold 1, so only with 2 does the YubiKey's signature decide
    // whether root v2 (new) is met.
    root_role.threshold = 2;
    let mut v2 = Metadata::new(v2);
    // Signed by seed 1 before the ceremony: root v1's threshold (1 of
    // seeds 1, 2) is met by it, and the session must keep a signature the
    // staged file already carries.
    k1.sign(&mut v2);

    let stick = dir.join("stick");
    std::fs::create_dir_all(stick.join("repository")).unwrap();
    std::fs::create_dir_all(stick.join("staged")).unwrap();
    std::fs::write(stick.join("repository/1.root.json"), file_bytes(&v1)).unwrap();
    std::fs::write(stick.join("staged/root.json"), file_bytes(&v2)).unwrap();
    (stick, v1)
}

/// A `/sys/class/net` with only `lo`: the machine is offline.
fn offline_net(dir: &Path) -> PathBuf {
    let net = dir.join("net");
    let lo = net.join("lo");
    std::fs::create_dir_all(&lo).unwrap();
    std::fs::write(lo.join("flags"), "0x9\n").unwrap();
    std::fs::write(lo.join("type"), "772\n").unwrap();
    std::fs::write(lo.join("operstate"), "unknown\n").unwrap();
    net
}

#[test]
fn a_keyholder_signs_a_rotation_with_a_yubikey_through_the_session() {
    let h = PcscHarness::start(&[
        CardSpec::new(KEYHOLDER_SERIAL, [5, 7, 1]),
        CardSpec::new(OTHER_SERIAL, [5, 4, 3]),
    ])
    .unwrap();
    assert_eq!(h.cards()[0].serial, KEYHOLDER_SERIAL);
    let dir = tempfile::tempdir().unwrap();
    let yubikey = onboard(dir.path(), KEYHOLDER_SERIAL);
    let (stick, v1) = rotation_stick(dir.path(), &yubikey);
    let staged = stick.join("staged/root.json");
    let before = std::fs::read(&staged).unwrap();

    let options = Options {
        drill: false,
        pinned_root: None,
        sys_class_net: offline_net(dir.path()),
        tool: "test".into(),
        frozen_clock: true,
        boot: ceremony::boot::BootCheck::NotImage,
        network_hardware: Vec::new(),
    };
    let mut s = Session::new(
        options,
        NOW,
        Box::new(HardwareTokens::new(vec![], true, "9c")),
    );
    s.confirm_clock(NOW).unwrap();
    s.load_media(&stick).unwrap();
    // Before the YubiKey: root v1 (trusted) is met by seed 1, root v2
    // (new) is not (1 of 2).
    let board: Vec<(String, bool)> = s
        .board(0)
        .iter()
        .map(|(label, report)| (label.clone(), report.is_met()))
        .collect();
    assert_eq!(
        board,
        [
            ("root v1 (trusted)".to_owned(), true),
            ("root v2 (new)".to_owned(), false)
        ],
        "{:?}",
        s.board(0)
    );
    s.acknowledge_review().unwrap();
    assert_eq!(s.stage(), Stage::Tokens);

    // Both cards are listed by serial; nothing failed to be searched.
    let (tokens, problems) = s.tokens();
    assert!(problems.is_empty(), "{problems:?}");
    let descriptions: Vec<&str> = tokens.iter().map(|t| t.description.as_str()).collect();
    let find = |serial: u32| {
        descriptions
            .iter()
            .position(|d| d.starts_with("YubiKey 5.") && d.ends_with(&format!(", serial {serial}")))
            .unwrap_or_else(|| panic!("serial {serial} not listed: {descriptions:?}"))
    };
    let (mine, other) = (find(KEYHOLDER_SERIAL), find(OTHER_SERIAL));
    assert_eq!(descriptions.len(), 2, "{descriptions:?}");
    assert_eq!(
        descriptions[mine],
        format!("YubiKey 5.7.1, serial {KEYHOLDER_SERIAL}")
    );
    assert_eq!(
        descriptions[other],
        format!("YubiKey 5.4.3, serial {OTHER_SERIAL}")
    );
    // The keyholder's card shows its 9c key before any PIN (GET METADATA).
    assert_eq!(tokens[mine].keys, std::slice::from_ref(&yubikey));
    let roles = s
        .token_roles(mine)
        .expect("the 9c key is shown without a PIN");
    assert_eq!(roles.len(), 1, "{roles:?}");
    assert!(
        roles[0].contains("may sign staged/root.json (root v2 (new))"),
        "{roles:?}"
    );
    // The other card's 9c is empty: HardwareTokens lists it with no keys,
    // and a token that shows no public keys is "unknown until the PIN"
    // (None), not "holds none of the ceremony's keys" (Some(vec![])).
    assert!(tokens[other].keys.is_empty(), "{:?}", tokens[other]);
    assert_eq!(s.token_roles(other), None);

    s.choose_token(mine).unwrap();
    assert_eq!(
        s.stage(),
        Stage::Pin {
            token: mine,
            state: Some(PinState::Ok)
        }
    );

    // A wrong PIN: refused with the tries left, still at the PIN screen
    // with the lowered counter, nothing written.
    let err = s.sign_with_pin(pin("000000"), &mut |_| {}).unwrap_err();
    assert!(matches!(err, SessionError::Token { .. }), "{err:?}");
    let said = err.to_string();
    assert!(said.contains("wrong PIN (2 tries left)"), "{said}");
    assert!(
        said.contains(&format!("serial {KEYHOLDER_SERIAL}")),
        "{said}"
    );
    assert_eq!(
        s.stage(),
        Stage::Pin {
            token: mine,
            state: Some(PinState::CountLow {
                tries_left: Some(2)
            })
        }
    );
    assert_eq!(std::fs::read(&staged).unwrap(), before);

    // The right PIN: one file signed with the YubiKey's key.
    let mut progress = Vec::new();
    let turn = s
        .sign_with_pin(pin("123456"), &mut |p| progress.push((p.done, p.total)))
        .unwrap();
    assert!(turn.failed.is_empty(), "{turn:?}");
    assert_eq!(turn.skipped, 0, "{turn:?}");
    assert_eq!(
        turn.signed,
        [("staged/root.json".to_owned(), vec![yubikey.key_id()])],
        "{turn:?}"
    );
    assert_eq!(progress, [(0, 1), (1, 1)]);
    assert_eq!(s.stage(), Stage::Tokens);
    for (label, report) in s.board(0) {
        assert!(report.is_met(), "{label} {report} not met");
    }
    let new = s
        .board(0)
        .iter()
        .find(|(label, _)| label == "root v2 (new)")
        .expect("a root v2 (new) row");
    assert_eq!(new.1.to_string(), "2/2");

    // The staged file carries both signatures and is a valid update of v1.
    let bytes = std::fs::read(&staged).unwrap();
    let signed_v2 = Metadata::parse(&bytes, &Limits::ROOT).unwrap();
    let mut keyids: Vec<&str> = signed_v2
        .signatures()
        .iter()
        .map(|sig| sig.keyid.as_str())
        .collect();
    keyids.sort_unstable();
    let mut expected = [TestKey::from_seed(1).id(), yubikey.key_id()];
    expected.sort_unstable();
    assert_eq!(keyids, expected);
    let update = verify_root_update(&v1, signed_v2, Some(NOW));
    assert!(update.is_ok(), "{:?}", update.err());

    s.finish().unwrap();
    s.sign_off("Wanda").unwrap();
    assert_eq!(s.stage(), Stage::Done);

    let log = std::fs::read(stick.join("ceremony-transcript.jsonl")).unwrap();
    let entries = transcript::verify(&log).unwrap();
    let check = transcript::check_signatures(&entries, "staged/root.json", &bytes).unwrap();
    assert_eq!(check.matched, 1, "{check:?}");
    let signers: Vec<&str> = entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::Signed { signer, .. } => Some(signer.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(signers.len(), 1, "{signers:?}");
    assert!(signers[0].contains("YubiKey"), "{signers:?}");
    assert!(
        signers[0].contains(&KEYHOLDER_SERIAL.to_string()),
        "{signers:?}"
    );
    // The wrong PIN is in the transcript too.
    assert!(
        entries.iter().any(|e| matches!(
            &e.event,
            Event::Failed { step, error, .. } if step == "unlock" && error.contains("wrong PIN")
        )),
        "no failed unlock recorded"
    );
    drop(h);
}
