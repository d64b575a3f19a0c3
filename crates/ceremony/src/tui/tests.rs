//! Every screen drawn into a `TestBackend` at 80×24 (the appliance's
//! console) and at 160×48, compared with the snapshots in `snapshots/`.
//! Keys are fixed seeds and the clock is frozen, so a screen only changes
//! when the code that draws it does. Each test has its own temporary
//! directory, named with as many characters as the fixed name the
//! snapshots show in its place (so lines wrap the same); the transcript's
//! head, which covers that name, is checked against the stick's and shown
//! as `x`s.

use std::path::PathBuf;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{App, Effect, Message};
use super::view::{progress_frame, view};
use crate::session::Progress;
use crate::test_support::{MemoryTokens, fake_interface, rotation_stick, session};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// What the snapshots show in place of a test's temporary directory.
const SHOWN_ROOT: &str = "/tmp/ceremony-tui-tests";

/// A test's app over a rotation stick, in a temporary directory of its own
/// that lives as long as the returned guard.
struct Fixture {
    _temp: tempfile::TempDir,
    /// `<temp>/<name>`: the stick, the fake network, as before.
    dir: PathBuf,
}

fn app(name: &str, tokens: MemoryTokens) -> (App, Fixture) {
    // "/tmp/ceremony-tui-" and five random characters: as long as SHOWN_ROOT.
    let temp = tempfile::Builder::new()
        .prefix("ceremony-tui-")
        .rand_bytes(SHOWN_ROOT.len() - "/tmp/ceremony-tui-".len())
        .tempdir_in("/tmp")
        .unwrap();
    assert_eq!(temp.path().as_os_str().len(), SHOWN_ROOT.len());
    let dir = temp.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let stick = rotation_stick(&dir);
    let session = session(&dir, tokens, false);
    (App::new(session, vec![stick]), Fixture { _temp: temp, dir })
}

impl std::ops::Deref for Fixture {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.dir
    }
}

fn press(app: &mut App, code: KeyCode) -> Option<Effect> {
    app.update(KeyEvent::new(code, KeyModifiers::NONE))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn render(app: &App, width: u16, height: u16) -> String {
    stable(app, render_raw(app, width, height))
}

/// The screen exactly as drawn.
fn render_raw(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view(app, frame)).unwrap();
    terminal.backend().to_string()
}

/// The stick's transcript head, hidden in the snapshots, is on screen.
fn assert_head_shown(app: &App, grouped: bool) {
    let head = app.session.transcript().unwrap().head();
    let screen = render_raw(app, 160, 48);
    if grouped {
        for row in crate::review::grouped_digest(&head) {
            assert!(screen.contains(&row), "{row} not on screen:\n{screen}");
        }
    } else {
        assert!(screen.contains(&head), "{head} not on screen:\n{screen}");
    }
}

/// `screen` with the test's temporary directory shown as [`SHOWN_ROOT`]
/// and the transcript head (which covers that name) as `x`s.
fn stable(app: &App, screen: String) -> String {
    let mut screen = screen;
    if let Some(stick) = app.media.first() {
        let root = stick.parent().and_then(|p| p.parent()).unwrap();
        screen = screen.replace(&*root.to_string_lossy(), SHOWN_ROOT);
    }
    if let Some(transcript) = app.session.transcript() {
        let head = transcript.head();
        screen = screen.replace(&head, &"x".repeat(head.len()));
        for row in crate::review::grouped_digest(&head) {
            let hidden: String = row
                .chars()
                .map(|c| if c == ' ' { c } else { 'x' })
                .collect();
            screen = screen.replace(&row, &hidden);
        }
    }
    screen
}

/// Snapshots the screen at both sizes.
fn snapshot(app: &App, name: &str) {
    for (width, height) in SIZES {
        insta::assert_snapshot!(
            format!("{name}_{width}x{height}"),
            render(app, width, height)
        );
    }
}

/// Signs with the token at `index` using PIN `pin`.
fn sign_with(app: &mut App, index: usize, pin: &str) {
    for _ in 0..index {
        press(app, KeyCode::Down);
    }
    press(app, KeyCode::Enter);
    type_text(app, pin);
    if press(app, KeyCode::Enter) == Some(Effect::Sign) {
        app.sign(&mut |_| {});
    }
}

fn to_tokens(app: &mut App) {
    press(app, KeyCode::Enter); // clock right
    press(app, KeyCode::Enter); // load the stick
    press(app, KeyCode::Enter); // reviewed
}

#[test]
fn clock_screen_shows_the_host_clock_for_the_witness() {
    let (mut app, _dir) = app("clock", MemoryTokens::default());
    snapshot(&app, "clock");
    press(&mut app, KeyCode::Char('e'));
    type_text(&mut app, "2026-11-22 10:15");
    snapshot(&app, "clock_editing");
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        app.session.now(),
        time::macros::datetime!(2026-11-22 10:15 UTC)
    );
}

#[test]
fn a_mistyped_time_is_refused_on_the_clock_screen() {
    let (mut app, _dir) = app("clock_bad", MemoryTokens::default());
    press(&mut app, KeyCode::Char('e'));
    type_text(&mut app, "2026-13-40 99:99");
    press(&mut app, KeyCode::Enter);
    snapshot(&app, "clock_refused");
    assert_eq!(app.session.stage(), crate::session::Stage::Clock);
}

#[test]
fn stick_screen_lists_the_media() {
    let (mut app, _dir) = app("media", MemoryTokens::default());
    press(&mut app, KeyCode::Enter);
    snapshot(&app, "media");
}

#[test]
fn review_screen_shows_the_change_the_digest_and_the_board() {
    let (mut app, _dir) = app("review", MemoryTokens::default());
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    snapshot(&app, "review");
    // It scrolls on small screens.
    for _ in 0..12 {
        press(&mut app, KeyCode::Down);
    }
    snapshot(&app, "review_scrolled");
    press(&mut app, KeyCode::Char('v'));
    snapshot(&app, "review_raw");
}

#[test]
fn token_screen_shows_the_board_and_the_tokens() {
    let (mut app, _dir) = app("tokens", MemoryTokens::with(&[("alice", 1), ("bob", 2)]));
    to_tokens(&mut app);
    snapshot(&app, "tokens");
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "12");
    snapshot(&app, "pin");
}

#[test]
fn a_wrong_pin_shows_the_tries_left_before_the_next_attempt() {
    let (mut app, _dir) = app("wrong_pin", MemoryTokens::with(&[("alice", 1)]));
    to_tokens(&mut app);
    sign_with(&mut app, 0, "9999");
    assert!(
        app.input.is_empty(),
        "the PIN buffer is wiped after an attempt"
    );
    snapshot(&app, "pin_wrong");
}

#[test]
fn the_board_fills_up_as_keyholders_sign_and_the_witness_signs_off() {
    let (mut app, dir) = app("full", MemoryTokens::with(&[("alice", 1), ("bob", 2)]));
    to_tokens(&mut app);
    sign_with(&mut app, 0, "1234");
    snapshot(&app, "signed_once");
    sign_with(&mut app, 1, "1234");
    snapshot(&app, "signed_twice");
    press(&mut app, KeyCode::Char('f'));
    type_text(&mut app, "Wanda Witness");
    snapshot(&app, "witness");
    press(&mut app, KeyCode::Enter);
    snapshot(&app, "done");
    assert_head_shown(&app, true);
    press(&mut app, KeyCode::Char('t'));
    snapshot(&app, "transcript");
    assert_head_shown(&app, false);
    assert!(dir.join("stick/ceremony-transcript.jsonl").exists());
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}

#[test]
fn a_network_interface_up_is_shown_and_signing_refused() {
    let (mut app, dir) = app("online", MemoryTokens::with(&[("alice", 1)]));
    fake_interface(&dir.join("net"), "eth0", "0x1003", "1");
    to_tokens(&mut app);
    press(&mut app, KeyCode::Enter);
    snapshot(&app, "online_refused");
    assert_eq!(app.session.stage(), crate::session::Stage::Tokens);
}

#[test]
fn a_stick_whose_trust_fails_stops_in_red() {
    let (mut app, dir) = app("stopped", MemoryTokens::default());
    // Root v1 on the stick is re-signed by a stranger only.
    let stranger = tuf_metadata::testing::TestKey::from_seed(66);
    let path = dir.join("stick/repository/1.root.json");
    let bytes = std::fs::read(&path).unwrap();
    let mut v1 = tuf_metadata::Metadata::parse_root(&bytes).unwrap();
    let mut fresh = tuf_metadata::Metadata::new(v1.signed().clone());
    stranger.sign(&mut fresh);
    v1 = fresh;
    std::fs::write(&path, tuf_metadata::testing::file_bytes(&v1)).unwrap();
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    snapshot(&app, "stopped");
}

#[test]
fn the_progress_frame_asks_for_a_touch() {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|frame| progress_frame(frame, Progress { done: 2, total: 40 }))
        .unwrap();
    insta::assert_snapshot!("progress_80x24", terminal.backend().to_string());
}

#[test]
fn the_highlighted_token_stays_in_view_when_many_are_plugged_in() {
    let many: Vec<(String, u8)> = (1..=7).map(|i| (format!("token-{i}"), i)).collect();
    let refs: Vec<(&str, u8)> = many.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    let (mut app, _dir) = app("many_tokens", MemoryTokens::with(&refs));
    to_tokens(&mut app);
    for _ in 0..6 {
        press(&mut app, KeyCode::Down);
    }
    let screen = render(&app, 80, 24);
    assert!(screen.contains("> memory token \"token-7\""), "{screen}");
    snapshot(&app, "many_tokens");
}

#[test]
fn the_file_under_review_is_read_again_on_a_tick_not_on_every_frame() {
    let (mut app, dir) = app("review_changed", MemoryTokens::default());
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    let before = render(&app, 160, 48);
    assert!(before.contains("version 1 → 2"), "{before}");
    // The releaser's file is swapped under the review for another root v2.
    let k1 = tuf_metadata::testing::TestKey::from_seed(1);
    let other = tuf_metadata::Metadata::new(tuf_metadata::testing::root(
        2,
        &[&k1],
        1,
        "2027-11-22T00:00:00Z",
    ));
    std::fs::write(
        dir.join("stick/staged/root.json"),
        tuf_metadata::testing::file_bytes(&other),
    )
    .unwrap();
    // Drawing reads nothing: the screen is what update last worked out.
    assert_eq!(render(&app, 160, 48), before);
    app.update(Message::Tick);
    let after = render(&app, 160, 48);
    assert!(after.contains("cannot be signed"), "{after}");
    assert!(!after.contains("version 1 → 2"), "{after}");
}

#[test]
fn the_network_is_read_on_a_tick() {
    let (mut app, dir) = app("network_tick", MemoryTokens::default());
    assert!(app.network.is_none());
    fake_interface(&dir.join("net"), "eth0", "0x1003", "1");
    assert!(!render(&app, 80, 24).contains("NETWORK UP"));
    app.update(Message::Tick);
    let screen = render(&app, 80, 24);
    assert!(screen.contains("NETWORK UP (eth0)"), "{screen}");
}

#[test]
fn the_footer_is_the_key_map_of_the_screen_shown() {
    let (mut app, _dir) = app("footer", MemoryTokens::with(&[("alice", 1)]));
    to_tokens(&mut app);
    let screen = render(&app, 160, 48);
    for hint in super::keys::hints(app.screen()) {
        assert!(screen.contains(&hint), "{hint:?} missing:\n{screen}");
    }
    // `k` scrolls the board here, as the bar says.
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.scroll, 1);
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.scroll, 0);
}
