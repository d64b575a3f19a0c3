//! What the transcript keeps of a ceremony that did not go to plan: a token
//! turned away (before or instead of its PIN) and a stick that could not be
//! read or written leave an entry, on the stick or, when the stick cannot
//! take it, on screen.

use signers::{Pin, Signer};
use zeroize::Zeroizing;

use super::*;
use crate::test_support::{MemoryTokens, NOW, fake_interface, rotation_stick, session};

/// Tokens that show no public keys before a login (as some PKCS#11 tokens
/// do): what they may sign is known only after the PIN.
struct KeysAfterLogin(MemoryTokens);

impl Tokens for KeysAfterLogin {
    fn scan(&mut self) -> (Vec<TokenChoice>, Vec<String>) {
        let (mut list, problems) = self.0.scan();
        for token in &mut list {
            token.keys.clear();
        }
        (list, problems)
    }

    fn pin_state(&mut self, index: usize) -> Result<PinState, SignError> {
        self.0.pin_state(index)
    }

    fn unlock(&mut self, index: usize, pin: &Pin) -> Result<Vec<Box<dyn Signer>>, SignError> {
        self.0.unlock(index, pin)
    }
}

fn pin(text: &str) -> Pin {
    Pin::new(Zeroizing::new(text.to_owned()))
}

/// Clock confirmed, stick loaded, every review acknowledged.
fn at_tokens(dir: &Path, tokens: MemoryTokens) -> Session {
    let stick = rotation_stick(dir);
    let mut s = session(dir, tokens, false);
    s.confirm_clock(NOW).unwrap();
    s.load_media(&stick).unwrap();
    s.acknowledge_review().unwrap();
    s
}

fn transcript_on_stick(dir: &Path) -> Vec<transcript::Entry> {
    let bytes = std::fs::read(dir.join("stick/ceremony-transcript.jsonl")).unwrap();
    transcript::verify(&bytes).unwrap()
}

#[test]
fn a_token_with_no_key_of_this_ceremony_is_recorded_as_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = at_tokens(
        dir.path(),
        MemoryTokens::with(&[("mallory", 9), ("alice", 1)]),
    );
    s.choose_token(0).unwrap_err();
    // Shown at once, before anything is on the stick.
    let lines = s.transcript_lines();
    assert!(
        lines.last().unwrap().ends_with(
            "REFUSED token memory token \"mallory\": this token holds no key of this \
             ceremony; the PIN was not asked for"
        ),
        "{lines:?}"
    );
    s.choose_token(1).unwrap();
    s.sign_with_pin(pin("1234"), &mut |_| {}).unwrap();
    let entries = transcript_on_stick(dir.path());
    let refused: Vec<&Event> = entries
        .iter()
        .map(|e| &e.event)
        .filter(|e| e.name() == "token_refused")
        .collect();
    assert_eq!(
        refused,
        [&Event::TokenRefused {
            token: "memory token \"mallory\"".into(),
            reason: "this token holds no key of this ceremony; the PIN was not asked for".into(),
        }]
    );
}

#[test]
fn a_token_found_after_its_pin_to_hold_no_key_is_recorded_as_refused() {
    let dir = tempfile::tempdir().unwrap();
    let stick = rotation_stick(dir.path());
    let net = dir.path().join("net");
    fake_interface(&net, "lo", "0x9", "772");
    let options = Options {
        drill: false,
        pinned_root: None,
        sys_class_net: net,
        tool: "ceremony test".into(),
        frozen_clock: true,
        boot: crate::boot::BootCheck::NotImage,
        network_hardware: Vec::new(),
    };
    let tokens = KeysAfterLogin(MemoryTokens::with(&[("mallory", 9)]));
    let mut s = Session::new(options, NOW, Box::new(tokens));
    s.confirm_clock(NOW).unwrap();
    s.load_media(&stick).unwrap();
    s.acknowledge_review().unwrap();
    assert_eq!(s.token_roles(0), None, "not known before the PIN");
    s.choose_token(0).unwrap();
    let err = s.sign_with_pin(pin("1234"), &mut |_| {}).unwrap_err();
    assert!(matches!(err, SessionError::NoKeyHere(_)), "{err}");
    let lines = s.transcript_lines();
    let last = lines.last().unwrap();
    assert!(
        last.contains("REFUSED token memory token \"mallory\": this token holds no key of this ceremony (its keys: "),
        "{lines:?}"
    );
    assert!(
        err.to_string().ends_with(last.rsplit(": ").next().unwrap()),
        "{err}"
    );
}

#[test]
fn a_locked_or_pulled_token_is_recorded_as_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = MemoryTokens::with(&[("alice", 1), ("bob", 2)]);
    let mut s = at_tokens(dir.path(), tokens.clone());
    tokens.0.borrow_mut()[0].tries = 0;
    let locked = s.choose_token(0).unwrap_err().to_string();
    tokens.0.borrow_mut()[1].removed = true;
    let pulled = s.choose_token(1).unwrap_err().to_string();
    let lines = s.transcript_lines();
    let refusals: Vec<&String> = lines.iter().filter(|l| l.contains("REFUSED")).collect();
    assert_eq!(refusals.len(), 2, "{lines:?}");
    // Each names the token and says what the screen said.
    assert!(
        refusals[0].contains("memory token \"alice\""),
        "{refusals:?}"
    );
    assert!(
        locked.ends_with(refusals[0].rsplit(": ").next().unwrap()),
        "{locked}"
    );
    assert!(refusals[1].contains("memory token \"bob\""), "{refusals:?}");
    assert!(
        pulled.ends_with(refusals[1].rsplit(": ").next().unwrap()),
        "{pulled}"
    );
}

#[test]
fn a_stick_pulled_before_signing_is_recorded_and_written_once_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = at_tokens(dir.path(), MemoryTokens::with(&[("alice", 1)]));
    let stick = dir.path().join("stick");
    let moved = dir.path().join("pulled");
    // Pulled after the token was chosen, before the PIN was used.
    s.choose_token(0).unwrap();
    std::fs::rename(&stick, &moved).unwrap();
    let err = s.sign_with_pin(pin("1234"), &mut |_| {}).unwrap_err();
    assert!(matches!(err, SessionError::StickGone), "{err}");
    let lines = s.transcript_lines();
    let gone = format!("STICK ERROR {}: {err}", stick.display());
    assert!(lines.last().unwrap().ends_with(&gone), "{lines:?}");
    // Choosing a token while it is out is refused, and recorded too.
    let err = s.choose_token(0).unwrap_err();
    assert!(matches!(err, SessionError::StickGone), "{err}");
    let lines = s.transcript_lines();
    assert!(
        lines
            .last()
            .unwrap()
            .ends_with(&SessionError::StickGone.to_string()),
        "{lines:?}"
    );
    // Plugged back in: the next turn writes the error to the stick first.
    std::fs::rename(&moved, &stick).unwrap();
    s.choose_token(0).unwrap();
    s.sign_with_pin(pin("1234"), &mut |_| {}).unwrap();
    let entries = transcript_on_stick(dir.path());
    let names: Vec<&str> = entries.iter().map(|e| e.event.name()).collect();
    let error_at = names.iter().position(|n| *n == "stick_error").unwrap();
    let signed_at = names.iter().position(|n| *n == "signed").unwrap();
    assert!(error_at < signed_at, "{names:?}");
    let Event::StickError { file, .. } = &entries[error_at].event else {
        unreachable!()
    };
    assert_eq!(file, &stick.display().to_string());
}

#[test]
fn a_stick_pulled_after_the_first_signature_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = at_tokens(dir.path(), MemoryTokens::with(&[("alice", 1), ("bob", 2)]));
    s.choose_token(0).unwrap();
    s.sign_with_pin(pin("1234"), &mut |_| {}).unwrap();
    assert!(s.transcript().is_some(), "the transcript is on the stick");
    let stick = dir.path().join("stick");
    let moved = dir.path().join("pulled");
    s.choose_token(1).unwrap();
    std::fs::rename(&stick, &moved).unwrap();
    s.sign_with_pin(pin("1234"), &mut |_| {}).unwrap_err();
    std::fs::rename(&moved, &stick).unwrap();
    // The entry is in the transcript the witness reads (written to the
    // stick, or waiting on screen when the stick cannot take it), and the
    // transcript on the stick still verifies.
    let lines = s.transcript_lines();
    let gone = format!("STICK ERROR {}: ", stick.display());
    assert!(lines.iter().any(|l| l.contains(&gone)), "{lines:?}");
    transcript_on_stick(dir.path());
}

#[test]
fn a_stick_that_cannot_take_the_transcript_shows_why_on_screen() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = at_tokens(dir.path(), MemoryTokens::with(&[("alice", 1)]));
    let stick = dir.path().join("stick");
    std::fs::create_dir(stick.join("ceremony-transcript.jsonl")).unwrap();
    s.choose_token(0).unwrap();
    s.sign_with_pin(pin("1234"), &mut |_| {}).unwrap_err();
    let lines = s.transcript_lines();
    let last = lines.last().unwrap();
    assert!(last.starts_with("(not yet on the stick)"), "{lines:?}");
    assert!(
        last.contains("STICK ERROR ") && last.contains("ceremony-transcript.jsonl: transcript:"),
        "{lines:?}"
    );
}

#[test]
fn a_stick_that_stays_writable_after_the_sign_off_is_said_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = at_tokens(dir.path(), MemoryTokens::with(&[("alice", 1), ("bob", 2)]));
    s.choose_token(0).unwrap();
    s.sign_with_pin(pin("1234"), &mut |_| {}).unwrap();
    s.finish().unwrap();
    // As if the session had remounted the stick read-write: a folder that
    // is no mount point cannot be remounted read-only, however often tried.
    let not_a_mount = dir.path().join("stick");
    s.remounted = Some(not_a_mount.clone());
    s.sign_off("Wanda Witness").unwrap();
    let why = s.still_writable().expect("said for the last screen");
    assert!(
        why.starts_with("still writable after the sign-off: "),
        "{why}"
    );
    let entries = transcript_on_stick(dir.path());
    let last = entries.last().unwrap();
    let Event::StickError { file, error } = &last.event else {
        panic!("{:?}", last.event)
    };
    assert_eq!(file, &not_a_mount.display().to_string());
    assert_eq!(error, why);
}
