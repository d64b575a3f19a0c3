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
    // The staged file's canonical digest, as the review showed it, is on
    // the last screen for the witness to copy.
    let digest = app.session.loaded().unwrap().files[0]
        .canonical_sha256
        .clone();
    let screen = render_raw(&app, 160, 48);
    for row in crate::review::grouped_digest(&digest) {
        assert!(screen.contains(&row), "{row} not on screen:\n{screen}");
    }
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

/// The fixture's stick turned into a `tuf-repo` bundle whose manifest
/// lists root v2's key sets as `tamper` leaves them.
fn as_bundle(stick: &std::path::Path, tamper: impl FnOnce(&mut bundle_format::Item)) {
    let base = stick.join("tuf-ceremony");
    std::fs::create_dir_all(base.join("repository")).unwrap();
    std::fs::create_dir_all(base.join("staged")).unwrap();
    std::fs::rename(
        stick.join("repository/1.root.json"),
        base.join("repository/1.root.json"),
    )
    .unwrap();
    std::fs::rename(
        stick.join("staged/root.json"),
        base.join("staged/root.json"),
    )
    .unwrap();
    std::fs::remove_dir(stick.join("repository")).unwrap();
    std::fs::remove_dir(stick.join("staged")).unwrap();
    let v1 = tuf_metadata::Metadata::parse_root(
        &std::fs::read(base.join("repository/1.root.json")).unwrap(),
    )
    .unwrap();
    let v2 = std::fs::read(base.join("staged/root.json")).unwrap();
    let plan =
        tuf_metadata::signing::SigningPlan::new(&v2, Some(&v1), crate::test_support::NOW).unwrap();
    let mut item = bundle_format::Item::from_plan("staged/root.json", &plan);
    tamper(&mut item);
    let manifest = bundle_format::Manifest::new("demo", "2026-11-21T12:00:00Z", vec![item]);
    std::fs::write(base.join("manifest.json"), manifest.to_bytes()).unwrap();
}

#[test]
fn the_manifest_key_sets_are_shown_and_a_disagreement_is_a_warning() {
    let (mut app, dir) = app("key_sets", MemoryTokens::default());
    as_bundle(&dir.join("stick"), |item| item.key_sets[1].threshold = 1);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    let screen = render(&app, 160, 48);
    assert!(
        screen.contains("key sets: the online tool's manifest beside this appliance's own"),
        "{screen}"
    );
    assert!(
        screen.contains("= root v1 (trusted): threshold 2 of 3 key(s)"),
        "{screen}"
    );
    assert!(
        screen.contains("WARNING root v2 (new): the manifest says threshold 1 of 3 key(s)"),
        "{screen}"
    );
    snapshot(&app, "review_key_sets");
}

#[test]
fn an_honest_manifest_agrees_on_the_review() {
    let (mut app, dir) = app("key_sets_ok", MemoryTokens::default());
    as_bundle(&dir.join("stick"), |_| {});
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    let screen = render(&app, 160, 48);
    assert!(
        screen.contains("= root v2 (new): threshold 2 of 3 key(s)"),
        "{screen}"
    );
    assert!(!screen.contains("WARNING"), "{screen}");
}

#[test]
fn the_token_list_says_how_many_entries_are_hidden_above_and_below() {
    let many: Vec<(String, u8)> = (1..=7).map(|i| (format!("token-{i}"), i)).collect();
    let refs: Vec<(&str, u8)> = many.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    let (mut app, _dir) = app("scroll_markers", MemoryTokens::with(&refs));
    to_tokens(&mut app);
    let top = render(&app, 80, 24);
    assert!(top.contains("more below"), "{top}");
    assert!(!top.contains("more above"), "{top}");
    for _ in 0..6 {
        press(&mut app, KeyCode::Down);
    }
    let bottom = render(&app, 80, 24);
    assert!(bottom.contains("▲ 8 more above"), "{bottom}");
    // The review says so too when it runs past the screen.
    let (mut app, _dir) = self::app("scroll_review", MemoryTokens::default());
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    let review = render(&app, 80, 24);
    assert!(review.contains("more below"), "{review}");
    for _ in 0..100 {
        press(&mut app, KeyCode::Down);
    }
    let end = render(&app, 80, 24);
    assert!(
        end.contains("more above") && !end.contains("more below"),
        "{end}"
    );
}

#[test]
fn a_token_that_signed_is_marked_already_signed() {
    let (mut app, _dir) = app("already", MemoryTokens::with(&[("alice", 1), ("bob", 2)]));
    to_tokens(&mut app);
    assert!(!render(&app, 80, 24).contains("already signed"));
    sign_with(&mut app, 0, "1234");
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains("> memory token \"alice\" (PIN ready) [already signed]"),
        "{screen}"
    );
    assert!(
        screen.contains("already signed in this ceremony: staged/root.json"),
        "{screen}"
    );
    assert!(
        !screen.contains("\"bob\" (PIN ready) [already signed]"),
        "{screen}"
    );
}

#[test]
fn each_wrong_pin_visibly_changes_the_pin_screen() {
    let (mut app, _dir) = app("wrong_twice", MemoryTokens::with(&[("alice", 1)]));
    to_tokens(&mut app);
    sign_with(&mut app, 0, "9999");
    let first = render(&app, 80, 24);
    assert!(first.contains("WRONG PIN 1 time(s)"), "{first}");
    type_text(&mut app, "8888");
    assert_eq!(press(&mut app, KeyCode::Enter), Some(Effect::Sign));
    app.sign(&mut |_| {});
    let second = render(&app, 80, 24);
    assert_ne!(first, second);
    assert!(second.contains("WRONG PIN 2 time(s)"), "{second}");
    assert!(second.contains("FINAL TRY"), "{second}");
    snapshot(&app, "pin_wrong_twice");
}

#[test]
fn finishing_with_a_threshold_unmet_asks_first_and_says_which() {
    let (mut app, _dir) = app(
        "finish_unmet",
        MemoryTokens::with(&[("alice", 1), ("bob", 2)]),
    );
    to_tokens(&mut app);
    sign_with(&mut app, 0, "1234");
    press(&mut app, KeyCode::Char('f'));
    assert_eq!(app.screen(), super::keys::Screen::Confirm);
    assert_eq!(app.session.stage(), crate::session::Stage::Tokens);
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains("Finish with these thresholds NOT met?"),
        "{screen}"
    );
    assert!(
        screen.contains("staged/root.json: root v2 (new) 1/2"),
        "{screen}"
    );
    snapshot(&app, "confirm_finish");
    // Enter and other keys are no answer; n goes back.
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen(), super::keys::Screen::Confirm);
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(app.screen(), super::keys::Screen::Tokens);
    press(&mut app, KeyCode::Char('f'));
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(app.session.stage(), crate::session::Stage::Finished);
}

#[test]
fn quitting_mid_ceremony_asks_and_the_transcript_says_it_was_abandoned() {
    let (mut app, dir) = app("quit", MemoryTokens::with(&[("alice", 1)]));
    to_tokens(&mut app);
    sign_with(&mut app, 0, "1234");
    press(&mut app, KeyCode::Char('q'));
    assert!(!app.quit);
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains("Quit before the witness signs off?"),
        "{screen}"
    );
    snapshot(&app, "confirm_quit");
    press(&mut app, KeyCode::Esc);
    assert!(!app.quit);
    assert_eq!(app.screen(), super::keys::Screen::Tokens);
    press(&mut app, KeyCode::Char('q'));
    press(&mut app, KeyCode::Char('y'));
    assert!(app.quit);
    let bytes = std::fs::read(dir.join("stick/ceremony-transcript.jsonl")).unwrap();
    let entries = transcript::verify(&bytes).unwrap();
    let last = &entries.last().unwrap().event;
    let transcript::Event::SessionFinished { summary } = last else {
        panic!("last entry: {last:?}");
    };
    assert!(summary[0].starts_with("ABANDONED"), "{summary:?}");
    assert!(summary.iter().any(|l| l.contains("NOT met")), "{summary:?}");
}

#[test]
fn quitting_before_a_stick_is_loaded_needs_no_confirmation() {
    let (mut app, _dir) = app("quit_early", MemoryTokens::default());
    press(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
    // After the load, before anything is written: asked, and the stick
    // stays untouched.
    let (mut app, dir) = self::app("quit_review", MemoryTokens::default());
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    let before = std::fs::read(dir.join("stick/staged/root.json")).unwrap();
    press(&mut app, KeyCode::Char('q'));
    assert!(!app.quit);
    press(&mut app, KeyCode::Char('y'));
    assert!(app.quit);
    assert!(!dir.join("stick/ceremony-transcript.jsonl").exists());
    assert_eq!(
        std::fs::read(dir.join("stick/staged/root.json")).unwrap(),
        before
    );
}

#[test]
fn a_terminal_too_small_says_so_and_keeps_the_badges() {
    let (mut app, dir) = app("small", MemoryTokens::default());
    fake_interface(&dir.join("net"), "eth0", "0x1003", "1");
    app.update(Message::Tick);
    let screen = render(&app, 60, 20);
    assert!(
        screen.contains("NETWORK UP (eth0): SIGNING REFUSED"),
        "{screen}"
    );
    assert!(
        screen.contains("terminal too small (need 80x24, have 60x20)"),
        "{screen}"
    );
    insta::assert_snapshot!("too_small_60x20", screen);
    // Just one row short is too small too; 80×24 is not.
    assert!(render(&app, 80, 23).contains("terminal too small"));
    assert!(!render(&app, 80, 24).contains("terminal too small"));
    // A drill's badge stays as well.
    let drill_dir = dir.join("drill");
    std::fs::create_dir_all(&drill_dir).unwrap();
    let stick = rotation_stick(&drill_dir);
    let drill = App::new(
        session(&drill_dir, MemoryTokens::default(), true),
        vec![stick],
    );
    let screen = render_raw(&drill, 30, 10);
    assert!(screen.contains("DRILL"), "{screen}");
    assert!(screen.contains("terminal too small"), "{screen}");
}

#[test]
fn a_pulled_stick_is_said_plainly_on_the_review_and_the_token_screen() {
    const GONE: &str = "the stick is gone: plug it back in and press r";
    let (mut app, dir) = app("pulled", MemoryTokens::with(&[("alice", 1)]));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    let stick = dir.join("stick");
    let away = dir.join("away");
    std::fs::rename(&stick, &away).unwrap();
    app.update(Message::Tick);
    let review = render(&app, 80, 24);
    assert!(review.contains(GONE), "{review}");
    assert!(!review.contains("No such file"), "{review}");
    snapshot(&app, "stick_gone_review");
    // Acknowledging is refused while it is gone.
    press(&mut app, KeyCode::Enter);
    assert!(render(&app, 80, 24).contains(&format!("error: {GONE}")));
    std::fs::rename(&away, &stick).unwrap();
    press(&mut app, KeyCode::Char('r'));
    let back = render(&app, 160, 48);
    assert!(
        back.contains("version 1 → 2") && !back.contains(GONE),
        "{back}"
    );
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.session.stage(), crate::session::Stage::Tokens);
    // On the token screen: the list says so, and choosing is refused.
    std::fs::rename(&stick, &away).unwrap();
    app.update(Message::Tick);
    let tokens = render(&app, 80, 24);
    assert!(tokens.contains(GONE), "{tokens}");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.session.stage(), crate::session::Stage::Tokens);
    let refused = render(&app, 80, 24);
    assert!(refused.contains(&format!("error: {GONE}")), "{refused}");
    snapshot(&app, "stick_gone_tokens");
    std::fs::rename(&away, &stick).unwrap();
    press(&mut app, KeyCode::Char('r'));
    assert!(!render(&app, 80, 24).contains(GONE));
    // Pulled on the PIN screen: signing says so, and nothing is written.
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "1234");
    std::fs::rename(&stick, &away).unwrap();
    assert_eq!(press(&mut app, KeyCode::Enter), Some(Effect::Sign));
    app.sign(&mut |_| {});
    let signing = render(&app, 80, 24);
    assert!(signing.contains(&format!("error: {GONE}")), "{signing}");
    std::fs::rename(&away, &stick).unwrap();
    assert!(!stick.join("ceremony-transcript.jsonl").exists());
}

#[test]
fn an_expired_staged_root_is_refused_once_with_an_rfc3339_time() {
    let (mut app, _dir) = app("expired", MemoryTokens::default());
    press(&mut app, KeyCode::Char('e'));
    type_text(&mut app, "2028-01-01 00:00");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    let screen = render(&app, 160, 48);
    assert!(
        screen.contains(
            "staged/root.json: cannot be signed: expired at 2027-11-22T00:00:00Z (checked at 2028-01-01T00:00:00Z)"
        ),
        "{screen}"
    );
    assert_eq!(screen.matches("cannot be signed").count(), 1, "{screen}");
}

#[test]
fn a_token_line_longer_than_the_screen_wraps_instead_of_losing_its_pin_state() {
    let label = "a token whose description runs well past the eighty columns";
    let (mut app, _dir) = app("long_token", MemoryTokens::with(&[(label, 1)]));
    to_tokens(&mut app);
    let screen = render(&app, 80, 24);
    assert!(screen.contains("(PIN ready)"), "{screen}");
    assert!(
        screen.contains("> memory token \"a token whose"),
        "{screen}"
    );
}

#[test]
fn ctrl_c_mid_ceremony_leaves_at_once_and_the_transcript_says_abandoned() {
    let (mut app, dir) = app("ctrl_c", MemoryTokens::with(&[("alice", 1)]));
    to_tokens(&mut app);
    sign_with(&mut app, 0, "1234");
    app.update(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quit, "no question: the interrupt leaves");
    let bytes = std::fs::read(dir.join("stick/ceremony-transcript.jsonl")).unwrap();
    let entries = transcript::verify(&bytes).unwrap();
    assert_eq!(
        entries.last().unwrap().event.name(),
        "session_finished",
        "{entries:?}"
    );
}
