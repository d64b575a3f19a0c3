//! Every transition of the ceremony, with in-memory tokens and a stick in a
//! temp dir, read like the runbook.

use signers::Pin;
use tuf_metadata::testing::TestKey;
use tuf_metadata::{Metadata, Root};
use zeroize::Zeroizing;

use super::*;
use crate::test_support::{MemoryTokens, NOW, fake_interface, rotation_stick, session};

fn pin(text: &str) -> Pin {
    Pin::new(Zeroizing::new(text.to_owned()))
}

/// Clock confirmed, stick loaded, every review acknowledged.
fn at_tokens(dir: &std::path::Path, tokens: MemoryTokens) -> Session {
    let stick = rotation_stick(dir);
    let mut s = session(dir, tokens, false);
    s.confirm_clock(NOW).unwrap();
    s.load_media(&stick).unwrap();
    s.acknowledge_review().unwrap();
    assert_eq!(s.stage(), Stage::Tokens);
    s
}

fn staged_root(dir: &std::path::Path) -> Metadata<Root> {
    let bytes = std::fs::read(dir.join("stick/staged/root.json")).unwrap();
    Metadata::parse_root(&bytes).unwrap()
}

#[test]
fn the_ceremony_starts_at_the_clock_and_nothing_else_is_allowed_first() {
    let dir = tempfile::tempdir().unwrap();
    let stick = rotation_stick(dir.path());
    let mut s = session(dir.path(), MemoryTokens::default(), false);
    assert_eq!(s.stage(), Stage::Clock);
    assert!(matches!(
        s.load_media(&stick),
        Err(SessionError::WrongStage(_))
    ));
    assert!(matches!(
        s.acknowledge_review(),
        Err(SessionError::WrongStage(_))
    ));
    assert!(matches!(s.finish(), Err(SessionError::WrongStage(_))));
    s.confirm_clock(NOW).unwrap();
    assert_eq!(s.stage(), Stage::Media);
    assert_eq!(s.now(), NOW);
    assert!(matches!(
        s.confirm_clock(NOW),
        Err(SessionError::WrongStage(_))
    ));
}

#[test]
fn a_corrected_clock_is_what_expiry_is_checked_against() {
    let dir = tempfile::tempdir().unwrap();
    let stick = rotation_stick(dir.path());
    let mut s = session(dir.path(), MemoryTokens::default(), false);
    // The witness says it is 2028: the staged root (expiring 2027-11-22)
    // is expired then and cannot be signed.
    let later = time::macros::datetime!(2028-01-01 0:00 UTC);
    s.confirm_clock(later).unwrap();
    assert_eq!(s.now(), later);
    s.load_media(&stick).unwrap();
    let loaded = s.loaded().unwrap();
    let err = loaded.read_and_plan(0, s.now()).unwrap_err().to_string();
    assert!(err.contains("expired"), "{err}");
}

#[test]
fn an_unrecognised_stick_can_be_replaced_by_another() {
    let dir = tempfile::tempdir().unwrap();
    let stick = rotation_stick(dir.path());
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let mut s = session(dir.path(), MemoryTokens::default(), false);
    s.confirm_clock(NOW).unwrap();
    let err = s.load_media(&empty).unwrap_err();
    assert!(err.to_string().contains("no ceremony files"), "{err}");
    assert_eq!(s.stage(), Stage::Media);
    s.load_media(&stick).unwrap();
    assert_eq!(s.stage(), Stage::Review { file: 0 });
}

#[test]
fn a_staged_root_that_is_not_n_plus_1_stops_the_ceremony() {
    let dir = tempfile::tempdir().unwrap();
    let stick = rotation_stick(dir.path());
    let k = [1, 2, 4].map(TestKey::from_seed);
    let v3 = Metadata::new(tuf_metadata::testing::root(
        3,
        &[&k[0], &k[1], &k[2]],
        2,
        "2027-11-22T00:00:00Z",
    ));
    std::fs::write(
        stick.join("staged/root.json"),
        tuf_metadata::testing::file_bytes(&v3),
    )
    .unwrap();
    let mut s = session(dir.path(), MemoryTokens::default(), false);
    s.confirm_clock(NOW).unwrap();
    let err = s.load_media(&stick).unwrap_err().to_string();
    assert!(err.contains("only 2 may be signed"), "{err}");
    let Stage::Stopped(reason) = s.stage() else {
        panic!("not stopped: {:?}", s.stage());
    };
    assert!(reason.contains("staged/root.json"), "{reason}");
    assert!(!stick.join("ceremony-transcript.jsonl").exists());
}

#[test]
fn reviewing_reads_the_stick_only_and_records_the_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let stick = rotation_stick(dir.path());
    let before = std::fs::read(stick.join("staged/root.json")).unwrap();
    let mut s = session(dir.path(), MemoryTokens::default(), false);
    s.confirm_clock(NOW).unwrap();
    s.load_media(&stick).unwrap();
    // The boards start empty: nobody has signed v2.
    let board = s.board(0);
    assert_eq!(board.len(), 2, "{board:?}");
    assert!(board.iter().all(|(_, r)| r.counted() == 0));
    s.acknowledge_review().unwrap();
    assert_eq!(s.stage(), Stage::Tokens);
    // Nothing written yet: the stick is untouched until a signature.
    assert_eq!(
        std::fs::read(stick.join("staged/root.json")).unwrap(),
        before
    );
    assert!(!stick.join("ceremony-transcript.jsonl").exists());
    let lines = s.transcript_lines().join("\n");
    assert!(
        lines.contains("review of staged/root.json acknowledged"),
        "{lines}"
    );
}

#[test]
fn two_keyholders_meet_both_thresholds_and_the_transcript_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = MemoryTokens::with(&[("alice", 1), ("bob", 2)]);
    let mut s = at_tokens(dir.path(), tokens);
    let mut seen = Vec::new();

    s.choose_token(0).unwrap();
    assert_eq!(
        s.stage(),
        Stage::Pin {
            token: 0,
            state: Some(PinState::Ok)
        }
    );
    let turn = s.sign_with_pin(pin("1234"), &mut |p| seen.push(p)).unwrap();
    assert_eq!(turn.signed.len(), 1);
    assert!(turn.failed.is_empty());
    assert_eq!(s.stage(), Stage::Tokens);
    assert!(s.board(0).iter().all(|(_, r)| r.counted() == 1));

    s.choose_token(1).unwrap();
    s.sign_with_pin(pin("1234"), &mut |p| seen.push(p)).unwrap();
    assert!(
        s.board(0).iter().all(|(_, r)| r.is_met()),
        "{:?}",
        s.board(0)
    );
    assert_eq!(
        seen,
        [
            Progress { done: 0, total: 1 },
            Progress { done: 1, total: 1 },
            Progress { done: 0, total: 1 },
            Progress { done: 1, total: 1 },
        ]
    );

    // The file on the stick verifies as a rotation from v1.
    let v1 = Metadata::parse_root(
        &std::fs::read(dir.path().join("stick/repository/1.root.json")).unwrap(),
    )
    .unwrap();
    let v2 = std::fs::read(dir.path().join("stick/staged/root.json")).unwrap();
    let v2 = Metadata::parse(&v2, &tuf_metadata::Limits::ROOT).unwrap();
    tuf_metadata::verify_root_update(&v1, v2, Some(NOW)).unwrap();

    s.finish().unwrap();
    assert!(matches!(s.sign_off("  "), Err(SessionError::NoWitnessName)));
    assert_eq!(s.stage(), Stage::Finished);
    s.sign_off("Wanda Witness").unwrap();
    assert_eq!(s.stage(), Stage::Done);

    let path = dir.path().join("stick/ceremony-transcript.jsonl");
    let bytes = std::fs::read(&path).unwrap();
    let entries = transcript::verify(&bytes).unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.event.name()).collect();
    assert_eq!(
        names,
        [
            "session_started",
            "clock_confirmed",
            "media_loaded",
            "trusted_root",
            "review_acknowledged",
            "signed",
            "written",
            "signed",
            "written",
            "witness_signoff",
            "session_finished"
        ]
    );
    let root = std::fs::read(dir.path().join("stick/staged/root.json")).unwrap();
    let check = transcript::check_signatures(&entries, "staged/root.json", &root).unwrap();
    assert_eq!(check.matched, 2);
    assert!(s.summary().iter().any(|l| l.contains("met")));
}

#[test]
fn a_wrong_pin_keeps_the_pin_screen_with_the_tries_left_and_never_retries() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = MemoryTokens::with(&[("alice", 1)]);
    let mut s = at_tokens(dir.path(), tokens.clone());
    s.choose_token(0).unwrap();
    let err = s.sign_with_pin(pin("0000"), &mut |_| {}).unwrap_err();
    assert_eq!(
        err.to_string(),
        "memory token \"alice\": wrong PIN (2 tries left)"
    );
    assert_eq!(tokens.0.borrow()[0].tries, 2);
    assert_eq!(
        s.stage(),
        Stage::Pin {
            token: 0,
            state: Some(PinState::CountLow {
                tries_left: Some(2)
            })
        }
    );
    s.sign_with_pin(pin("0000"), &mut |_| {}).unwrap_err();
    assert_eq!(
        s.stage(),
        Stage::Pin {
            token: 0,
            state: Some(PinState::FinalTry)
        }
    );
    s.sign_with_pin(pin("0000"), &mut |_| {}).unwrap_err();
    // Locked: back to the list; choosing it again is refused before a PIN.
    assert_eq!(s.stage(), Stage::Tokens);
    let err = s.choose_token(0).unwrap_err().to_string();
    assert!(err.contains("locked"), "{err}");
    assert!(staged_root(dir.path()).signatures().is_empty());
}

#[test]
fn a_token_without_a_key_of_this_ceremony_signs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = MemoryTokens::with(&[("mallory", 9), ("alice", 1)]);
    let mut s = at_tokens(dir.path(), tokens.clone());
    // Known from the public keys before any PIN is typed.
    assert_eq!(s.token_roles(0), Some(vec![]));
    let alice = s.token_roles(1).unwrap();
    assert_eq!(alice.len(), 1);
    assert!(
        alice[0].contains("staged/root.json (root v1 (trusted), root v2 (new))"),
        "{alice:?}"
    );
    let err = s.choose_token(0).unwrap_err().to_string();
    assert!(err.contains("holds no key of this ceremony"), "{err}");
    assert!(err.contains("PIN was not asked for"), "{err}");
    assert_eq!(s.stage(), Stage::Tokens);
    assert_eq!(tokens.0.borrow()[0].tries, 3);
    assert!(staged_root(dir.path()).signatures().is_empty());
}

#[test]
fn a_pulled_token_shows_an_error_and_allows_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = MemoryTokens::with(&[("alice", 1)]);
    let mut s = at_tokens(dir.path(), tokens.clone());
    s.choose_token(0).unwrap();
    tokens.0.borrow_mut()[0].removed = true;
    let err = s
        .sign_with_pin(pin("1234"), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("removed"), "{err}");
    assert_eq!(s.stage(), Stage::Tokens);
    tokens.0.borrow_mut()[0].removed = false;
    s.rescan();
    s.choose_token(0).unwrap();
    s.sign_with_pin(pin("1234"), &mut |_| {}).unwrap();
    assert_eq!(staged_root(dir.path()).signatures().len(), 1);
}

#[test]
fn a_stick_pulled_before_signing_is_reported_and_the_file_is_intact() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = at_tokens(dir.path(), MemoryTokens::with(&[("alice", 1)]));
    let stick = dir.path().join("stick");
    let before = std::fs::read(stick.join("staged/root.json")).unwrap();
    // A pulled stick: the directory goes away under the session. Choosing
    // a token is refused plainly, before any PIN.
    let moved = dir.path().join("pulled");
    std::fs::rename(&stick, &moved).unwrap();
    assert!(s.stick_gone());
    let err = s.choose_token(0).unwrap_err();
    assert!(matches!(err, SessionError::StickGone), "{err}");
    assert_eq!(
        err.to_string(),
        "the stick is gone: plug it back in and press r"
    );
    assert_eq!(s.stage(), Stage::Tokens);
    // Pulled after the token was chosen: signing says the same, the token
    // is never asked, and the PIN screen is left for the list.
    std::fs::rename(&moved, &stick).unwrap();
    s.choose_token(0).unwrap();
    std::fs::rename(&stick, &moved).unwrap();
    let err = s.sign_with_pin(pin("1234"), &mut |_| {}).unwrap_err();
    assert!(matches!(err, SessionError::StickGone), "{err}");
    assert_eq!(s.stage(), Stage::Tokens);
    std::fs::rename(&moved, &stick).unwrap();
    assert!(!s.stick_gone());
    assert_eq!(
        std::fs::read(stick.join("staged/root.json")).unwrap(),
        before
    );
    assert!(!stick.join("ceremony-transcript.jsonl").exists());
}

#[test]
fn a_stick_pulled_during_the_review_cannot_be_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let stick = rotation_stick(dir.path());
    let mut s = session(dir.path(), MemoryTokens::default(), false);
    s.confirm_clock(NOW).unwrap();
    s.load_media(&stick).unwrap();
    // The bundle's directory gone, the mount point left empty.
    let moved = dir.path().join("staged-away");
    std::fs::rename(stick.join("staged"), &moved).unwrap();
    assert!(s.stick_gone());
    assert!(matches!(
        s.acknowledge_review(),
        Err(SessionError::StickGone)
    ));
    assert_eq!(s.stage(), Stage::Review { file: 0 });
    std::fs::rename(&moved, stick.join("staged")).unwrap();
    s.acknowledge_review().unwrap();
}

#[test]
fn quitting_mid_ceremony_ends_the_transcript_on_the_stick_as_abandoned() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = at_tokens(dir.path(), MemoryTokens::with(&[("alice", 1), ("bob", 2)]));
    assert!(s.is_under_way());
    s.choose_token(0).unwrap();
    s.sign_with_pin(pin("1234"), &mut |_| {}).unwrap();
    s.abandon().unwrap();
    assert!(matches!(s.stage(), Stage::Stopped(_)), "{:?}", s.stage());
    assert!(!s.is_under_way());
    let bytes = std::fs::read(dir.path().join("stick/ceremony-transcript.jsonl")).unwrap();
    let entries = transcript::verify(&bytes).unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.event.name()).collect();
    assert_eq!(
        names[names.len() - 3..],
        ["signed", "written", "session_finished"]
    );
    let transcript::Event::SessionFinished { summary } = &entries.last().unwrap().event else {
        unreachable!("checked by name");
    };
    assert_eq!(
        summary[0],
        "ABANDONED: the witness confirmed quitting before the sign-off"
    );
    assert!(
        summary
            .iter()
            .any(|l| l == "staged/root.json: root v2 (new) 1/2 NOT met"),
        "{summary:?}"
    );
    // Nothing more is possible, and a second quit adds nothing.
    assert!(matches!(s.finish(), Err(SessionError::WrongStage(_))));
    s.abandon().unwrap();
    let again = std::fs::read(dir.path().join("stick/ceremony-transcript.jsonl")).unwrap();
    assert_eq!(again, bytes);
}

#[test]
fn quitting_before_anything_was_written_leaves_the_stick_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let stick = rotation_stick(dir.path());
    let before = std::fs::read(stick.join("staged/root.json")).unwrap();
    let mut s = session(dir.path(), MemoryTokens::default(), false);
    assert!(!s.is_under_way());
    s.abandon().unwrap();
    assert_eq!(s.stage(), Stage::Clock, "nothing under way: nothing done");
    s.confirm_clock(NOW).unwrap();
    s.load_media(&stick).unwrap();
    assert!(s.is_under_way());
    s.abandon().unwrap();
    assert!(!stick.join("ceremony-transcript.jsonl").exists());
    assert_eq!(
        std::fs::read(stick.join("staged/root.json")).unwrap(),
        before
    );
    let lines = s.transcript_lines().join("\n");
    assert!(lines.contains("(not yet on the stick)"), "{lines}");
    assert!(lines.contains("SessionFinished"), "{lines}");
}

#[test]
fn the_unmet_thresholds_and_the_tokens_that_signed_are_known() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = at_tokens(dir.path(), MemoryTokens::with(&[("alice", 1), ("bob", 2)]));
    assert_eq!(
        s.unmet_thresholds(),
        [
            "staged/root.json: root v1 (trusted) 0/2",
            "staged/root.json: root v2 (new) 0/2"
        ]
    );
    assert!(s.already_signed(0).is_empty());
    s.choose_token(0).unwrap();
    s.sign_with_pin(pin("1234"), &mut |_| {}).unwrap();
    assert_eq!(s.already_signed(0), ["staged/root.json"]);
    assert!(s.already_signed(1).is_empty());
    assert_eq!(s.unmet_thresholds().len(), 2);
    s.choose_token(1).unwrap();
    s.sign_with_pin(pin("1234"), &mut |_| {}).unwrap();
    assert!(s.unmet_thresholds().is_empty());
    assert_eq!(s.already_signed(1), ["staged/root.json"]);
}

#[test]
fn each_wrong_pin_is_counted_with_what_the_token_said() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = at_tokens(dir.path(), MemoryTokens::with(&[("alice", 1)]));
    s.choose_token(0).unwrap();
    assert_eq!(s.pin_failures(), (0, None));
    s.sign_with_pin(pin("0000"), &mut |_| {}).unwrap_err();
    assert_eq!(s.pin_failures(), (1, Some("wrong PIN (2 tries left)")));
    s.sign_with_pin(pin("0000"), &mut |_| {}).unwrap_err();
    assert_eq!(s.pin_failures(), (2, Some("wrong PIN (1 tries left)")));
    // Chosen again: counted afresh.
    s.cancel_pin();
    s.choose_token(0).unwrap();
    assert_eq!(s.pin_failures(), (0, None));
}

#[test]
fn signing_is_refused_while_a_network_interface_is_up_unless_drilling() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = at_tokens(dir.path(), MemoryTokens::with(&[("alice", 1)]));
    fake_interface(&dir.path().join("net"), "eth0", "0x1003", "1");
    let err = s.choose_token(0).unwrap_err().to_string();
    assert!(err.contains("eth0 is up"), "{err}");
    assert_eq!(s.stage(), Stage::Tokens);

    let drill_dir = tempfile::tempdir().unwrap();
    let stick = rotation_stick(drill_dir.path());
    let mut d = session(drill_dir.path(), MemoryTokens::with(&[("alice", 1)]), true);
    fake_interface(&drill_dir.path().join("net"), "eth0", "0x1003", "1");
    d.confirm_clock(NOW).unwrap();
    d.load_media(&stick).unwrap();
    d.acknowledge_review().unwrap();
    d.choose_token(0).unwrap();
    d.sign_with_pin(pin("1234"), &mut |_| {}).unwrap();
    let entries =
        transcript::verify(&std::fs::read(stick.join("ceremony-transcript.jsonl")).unwrap())
            .unwrap();
    assert!(entries.iter().all(|e| e.drill));
}

#[test]
fn a_second_session_continues_the_transcript_chain_on_the_stick() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = at_tokens(dir.path(), MemoryTokens::with(&[("alice", 1)]));
    first.choose_token(0).unwrap();
    first.sign_with_pin(pin("1234"), &mut |_| {}).unwrap();
    first.finish().unwrap();
    first.sign_off("Wanda").unwrap();

    // Bob signs another day, on another boot, from the same stick.
    let stick = dir.path().join("stick");
    let mut second = session(dir.path(), MemoryTokens::with(&[("bob", 2)]), false);
    second.confirm_clock(NOW).unwrap();
    second.load_media(&stick).unwrap();
    assert!(second.board(0).iter().all(|(_, r)| r.counted() == 1));
    second.acknowledge_review().unwrap();
    second.choose_token(0).unwrap();
    second.sign_with_pin(pin("1234"), &mut |_| {}).unwrap();
    assert!(second.board(0).iter().all(|(_, r)| r.is_met()));

    let bytes = std::fs::read(stick.join("ceremony-transcript.jsonl")).unwrap();
    let entries = transcript::verify(&bytes).unwrap();
    let starts = entries
        .iter()
        .filter(|e| e.event.name() == "session_started")
        .count();
    assert_eq!(starts, 2);
    let root = std::fs::read(stick.join("staged/root.json")).unwrap();
    let check = transcript::check_signatures(&entries, "staged/root.json", &root).unwrap();
    assert_eq!(check.matched, 2);
}

#[test]
fn a_stick_that_cannot_take_the_transcript_gets_no_signature_either() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = at_tokens(dir.path(), MemoryTokens::with(&[("alice", 1)]));
    let stick = dir.path().join("stick");
    let before = std::fs::read(stick.join("staged/root.json")).unwrap();
    // The transcript's place is taken by a directory: it cannot be written.
    std::fs::create_dir(stick.join("ceremony-transcript.jsonl")).unwrap();
    s.choose_token(0).unwrap();
    let err = s
        .sign_with_pin(pin("1234"), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("transcript:"), "{err}");
    assert_eq!(
        std::fs::read(stick.join("staged/root.json")).unwrap(),
        before
    );
}

#[test]
fn another_stick_can_be_chosen_until_something_is_written_to_this_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = at_tokens(dir.path(), MemoryTokens::with(&[("alice", 1)]));
    s.change_stick().unwrap();
    assert_eq!(s.stage(), Stage::Media);
    assert!(s.loaded().is_none());
    s.load_media(&dir.path().join("stick")).unwrap();
    s.acknowledge_review().unwrap();
    s.choose_token(0).unwrap();
    s.sign_with_pin(pin("1234"), &mut |_| {}).unwrap();
    let err = s.change_stick().unwrap_err().to_string();
    assert!(
        err.contains("already holds this session's signatures"),
        "{err}"
    );
    assert_eq!(s.stage(), Stage::Tokens);
}

#[test]
fn what_each_token_may_sign_is_worked_out_once_when_the_tokens_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = MemoryTokens::with(&[("alice", 1)]);
    let stick = rotation_stick(dir.path());
    let mut s = session(dir.path(), tokens, false);
    s.confirm_clock(NOW).unwrap();
    // Nothing is listed before the token step.
    assert!(s.tokens().0.is_empty());
    assert_eq!(s.token_roles(0), None);
    s.load_media(&stick).unwrap();
    // A rescan outside the token step changes nothing.
    s.rescan();
    assert!(s.tokens().0.is_empty());
    s.acknowledge_review().unwrap();
    let listed = s.token_roles(0).unwrap();
    assert_eq!(listed.len(), 1);
    // The stick is pulled: the list still says what was worked out, and
    // signing (which reads the stick again) is what reports it.
    let moved = dir.path().join("pulled");
    std::fs::rename(&stick, &moved).unwrap();
    assert_eq!(s.token_roles(0), Some(listed));
    // Rescanning works it out again: unknown while the stick is away.
    s.rescan();
    assert_eq!(s.token_roles(0), None);
    std::fs::rename(&moved, &stick).unwrap();
    s.rescan();
    assert_eq!(s.token_roles(0).map(|r| r.len()), Some(1));
}

#[test]
fn leaving_the_pin_screen_keeps_the_stick_and_the_token_list() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = at_tokens(dir.path(), MemoryTokens::with(&[("alice", 1), ("bob", 2)]));
    s.choose_token(1).unwrap();
    assert_eq!(s.tokens().0.len(), 2, "the list is shown on the PIN screen");
    s.cancel_pin();
    assert_eq!(s.stage(), Stage::Tokens);
    assert_eq!(s.tokens().0.len(), 2);
    assert!(s.loaded().is_some());
    assert!(matches!(
        s.sign_with_pin(pin("1234"), &mut |_| {}),
        Err(SessionError::WrongStage(_))
    ));
    assert_eq!(s.stage(), Stage::Tokens);
    // After sign-off the stick and its boards stay for the witness sheet,
    // but no token list.
    s.finish().unwrap();
    assert!(s.tokens().0.is_empty());
    assert!(matches!(s.finish(), Err(SessionError::WrongStage(_))));
    assert_eq!(s.stage(), Stage::Finished);
    s.sign_off("Wanda").unwrap();
    assert!(s.loaded().is_some());
    assert_eq!(s.board(0).len(), 2);
    assert!(matches!(
        s.sign_off("Wanda"),
        Err(SessionError::WrongStage(_))
    ));
}
