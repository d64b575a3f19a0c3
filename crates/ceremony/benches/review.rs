//! `cargo bench -p ceremony --bench review`: the first review screen of a
//! 16,384-bin staging, through the functions the TUI uses. Issue 13 asks
//! for it under 1 s (release, the project's machine): thousands of bins
//! must not make the review slow enough that keyholders stop reading it.
//!
//! Two figures:
//! - `first_screen`: the stick loaded, the model made (`App::update`: the
//!   bins summary, read from every bin file, and the first bin's review)
//!   and the frame drawn into a `TestBackend` — what the keyholder waits
//!   for after the load;
//! - `load_and_first_screen`: the same from pressing Enter on the stick
//!   screen, the strict load of every file included.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use ceremony::session::{Options, Session, TokenChoice, Tokens};
use ceremony::tui::App;
use ceremony::tui::app::Message;
use ceremony::tui::view::view;
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use signers::{Pin, PinState, SignError, Signer};
use time::macros::datetime;

#[path = "support/bin_staging.rs"]
mod bin_staging;

/// 2^14 bins, as in `cargo xtask bench` and issue 13.
const BIT_LENGTH: u32 = 14;

/// No token: the review comes before any token is chosen.
struct NoTokens;

impl Tokens for NoTokens {
    fn scan(&mut self) -> (Vec<TokenChoice>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
    fn pin_state(&mut self, _: usize) -> Result<PinState, SignError> {
        Err(SignError::Backend("no token in the benchmark".into()))
    }
    fn unlock(&mut self, _: usize, _: &Pin) -> Result<Vec<Box<dyn Signer>>, SignError> {
        Err(SignError::Backend("no token in the benchmark".into()))
    }
}

fn press(app: &mut App, code: KeyCode) {
    app.update(KeyEvent::new(code, KeyModifiers::NONE));
}

/// The app at the review of the first bin of the stick at `stick`.
fn loaded_app(net: &Path, stick: &Path) -> App {
    let options = Options {
        drill: false,
        pinned_root: None,
        sys_class_net: net.to_path_buf(),
        tool: "ceremony bench".into(),
        frozen_clock: true,
        boot: ceremony::boot::BootCheck::NotImage,
        network_hardware: Vec::new(),
    };
    let session = Session::new(options, datetime!(2026-11-22 09:30 UTC), Box::new(NoTokens));
    let mut app = App::new(session, vec![stick.to_path_buf()]);
    press(&mut app, KeyCode::Enter); // the clock is right
    press(&mut app, KeyCode::Enter); // load the stick
    app
}

fn draw(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("a test terminal");
    terminal.draw(|frame| view(app, frame)).expect("drawn");
    terminal.backend().to_string()
}

fn staging() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (stick, _) = bin_staging::bin_staging(dir.path(), BIT_LENGTH);
    let net = dir.path().join("net/lo");
    std::fs::create_dir_all(&net).expect("fake /sys/class/net");
    std::fs::write(net.join("flags"), "0x9\n").expect("flags");
    std::fs::write(net.join("type"), "772\n").expect("type");
    std::fs::write(net.join("operstate"), "unknown\n").expect("operstate");
    let net = dir.path().join("net");
    (dir, stick, net)
}

fn first_screen(c: &mut Criterion) {
    let (_dir, stick, net) = staging();
    let mut app = loaded_app(&net, &stick);
    let screen = draw(&app);
    assert!(
        screen.contains("hash bins bin-*: 16384 of 16384 bins staged"),
        "{screen}"
    );
    let mut group = c.benchmark_group("review_16384_bins");
    group.sample_size(10);
    group.bench_function("first_screen", |b| {
        b.iter(|| {
            // What the model caches per load and per file, made again.
            app.bins = None;
            app.review = None;
            app.update(Message::Tick);
            black_box(draw(&app))
        });
    });
    group.bench_function("load_and_first_screen", |b| {
        b.iter(|| black_box(draw(&loaded_app(&net, &stick))));
    });
    group.finish();
}

criterion_group!(benches, first_screen);
criterion_main!(benches);
