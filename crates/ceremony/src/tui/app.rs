//! The terminal UI's model and update: key presses become messages, and
//! `update` turns them into session steps. Rendering (`view`) only reads
//! this state, so every screen can be drawn into a `TestBackend`.

use std::path::PathBuf;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use signers::Pin;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use zeroize::Zeroizing;

use crate::session::{Progress, Session, Stage};

/// How a message at the bottom of the screen is meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Done, or for information.
    Info,
    /// Refused or failed: the keyholder must act.
    Error,
}

/// What the UI shows besides the session's own state.
pub struct App {
    /// The ceremony.
    pub session: Session,
    /// Lines scrolled down in long screens.
    pub scroll: u16,
    /// The review shows the canonical bytes instead of the change list.
    pub raw_view: bool,
    /// The transcript overlay is open.
    pub show_transcript: bool,
    /// Typed text: a corrected time, a PIN (shown masked) or the witness's
    /// name. Zeroized when cleared or dropped.
    pub input: Zeroizing<String>,
    /// The clock screen is in "type the correct time" mode.
    pub editing_clock: bool,
    /// The highlighted row of a list (media or tokens).
    pub selected: usize,
    /// Sticks the keyholder can choose from.
    pub media: Vec<PathBuf>,
    /// The last outcome or refusal.
    pub message: Option<(Severity, String)>,
    /// Signing in progress, for the progress line.
    pub progress: Option<Progress>,
    /// The user asked to leave.
    pub quit: bool,
}

/// Something that takes longer than a key press and draws progress while
/// it runs: the runtime performs it with [`App::sign`].
#[derive(Debug, PartialEq, Eq)]
pub enum Effect {
    /// Unlock the chosen token with the typed PIN and sign.
    Sign,
}

impl App {
    /// The UI over `session`, offering `media` on the stick screen.
    pub fn new(session: Session, media: Vec<PathBuf>) -> Self {
        App {
            session,
            scroll: 0,
            raw_view: false,
            show_transcript: false,
            input: Zeroizing::new(String::new()),
            editing_clock: false,
            selected: 0,
            media,
            message: None,
            progress: None,
            quit: false,
        }
    }

    fn error(&mut self, text: impl ToString) {
        self.message = Some((Severity::Error, text.to_string()));
    }

    fn info(&mut self, text: impl ToString) {
        self.message = Some((Severity::Info, text.to_string()));
    }

    fn clear_input(&mut self) {
        // Replacing drops (and zeroizes) the old buffer.
        self.input = Zeroizing::new(String::new());
    }

    /// Handles one key press. Returns an effect for the runtime when the
    /// key starts a long operation.
    pub fn update(&mut self, key: KeyEvent) -> Option<Effect> {
        if key.kind != KeyEventKind::Press {
            return None;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return None;
        }
        if self.show_transcript {
            match key.code {
                KeyCode::Esc | KeyCode::Char('t') => self.show_transcript = false,
                other => self.scroll_key(other),
            }
            return None;
        }
        match self.session.stage().clone() {
            Stage::Clock => self.on_clock(key.code),
            Stage::Media => self.on_media(key.code),
            Stage::Review { .. } => self.on_review(key.code),
            Stage::Tokens => self.on_tokens(key.code),
            Stage::Pin { .. } => return self.on_pin(key.code),
            Stage::Finished => self.on_finished(key.code),
            Stage::Done | Stage::Stopped(_) => match key.code {
                KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
                KeyCode::Char('t') => self.open_transcript(),
                other => self.scroll_key(other),
            },
        }
        None
    }

    fn open_transcript(&mut self) {
        self.show_transcript = true;
        self.scroll = 0;
    }

    fn scroll_key(&mut self, code: KeyCode) {
        match code {
            KeyCode::Down | KeyCode::Char('j') => self.scroll = self.scroll.saturating_add(1),
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll = self.scroll.saturating_add(10),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Home => self.scroll = 0,
            _ => {}
        }
    }

    fn on_clock(&mut self, code: KeyCode) {
        if self.editing_clock {
            match code {
                KeyCode::Esc => {
                    self.editing_clock = false;
                    self.clear_input();
                }
                KeyCode::Backspace => {
                    self.input.pop();
                }
                KeyCode::Char(c)
                    if (c.is_ascii_digit() || matches!(c, '-' | ':' | ' ' | 'T'))
                        && self.input.len() < 19 =>
                {
                    self.input.push(c);
                }
                KeyCode::Enter => match parse_witness_time(&self.input) {
                    Ok(at) => {
                        self.editing_clock = false;
                        self.clear_input();
                        self.confirm(at);
                    }
                    Err(why) => self.error(why),
                },
                _ => {}
            }
            return;
        }
        match code {
            KeyCode::Enter | KeyCode::Char('y') => {
                let at = self.session.host_clock();
                self.confirm(at);
            }
            KeyCode::Char('e') => {
                self.editing_clock = true;
                self.clear_input();
                self.message = None;
            }
            KeyCode::Char('q') => self.quit = true,
            _ => {}
        }
    }

    fn confirm(&mut self, at: OffsetDateTime) {
        match self.session.confirm_clock(at) {
            Ok(()) => {
                self.selected = 0;
                self.info(format!("clock confirmed: {}", show_time(at)));
            }
            Err(e) => self.error(e),
        }
    }

    fn on_media(&mut self, code: KeyCode) {
        match code {
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down if self.selected + 1 < self.media.len() => self.selected += 1,
            KeyCode::Char('r') => {
                let mut found: Vec<PathBuf> = crate::media::discover()
                    .into_iter()
                    .map(|m| m.mount_point)
                    .collect();
                for given in &self.media {
                    if !found.contains(given) {
                        found.push(given.clone());
                    }
                }
                self.media = found;
                self.selected = 0;
                self.info(format!("{} stick(s) found", self.media.len()));
            }
            KeyCode::Enter => {
                let Some(dir) = self.media.get(self.selected).cloned() else {
                    self.error("no stick to load: plug one in and press r");
                    return;
                };
                match self.session.load_media(&dir) {
                    Ok(()) => {
                        self.scroll = 0;
                        self.info(format!("loaded {}", dir.display()));
                    }
                    Err(e) => self.error(e),
                }
            }
            KeyCode::Char('q') => self.quit = true,
            _ => {}
        }
    }

    fn on_review(&mut self, code: KeyCode) {
        match code {
            KeyCode::Char('v') => {
                self.raw_view = !self.raw_view;
                self.scroll = 0;
            }
            KeyCode::Char('t') => self.open_transcript(),
            KeyCode::Char('m') => self.change_stick(),
            KeyCode::Enter | KeyCode::Char('a') => match self.session.acknowledge_review() {
                Ok(()) => {
                    self.scroll = 0;
                    self.raw_view = false;
                    self.selected = 0;
                    self.message = None;
                }
                Err(e) => self.error(e),
            },
            KeyCode::Char('q') => self.quit = true,
            other => self.scroll_key(other),
        }
    }

    fn on_tokens(&mut self, code: KeyCode) {
        let count = self.session.tokens().0.len();
        match code {
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down if self.selected + 1 < count => self.selected += 1,
            KeyCode::Char('r') => {
                self.session.rescan();
                self.selected = 0;
                let found = self.session.tokens().0.len();
                self.info(format!("{found} token(s) found"));
            }
            KeyCode::Enter => {
                if count == 0 {
                    self.error("no token found: plug in your token and press r");
                    return;
                }
                match self.session.choose_token(self.selected) {
                    Ok(()) => {
                        self.clear_input();
                        self.message = None;
                    }
                    Err(e) => self.error(e),
                }
            }
            KeyCode::Char('m') => self.change_stick(),
            KeyCode::Char('f') => match self.session.finish() {
                Ok(()) => {
                    self.clear_input();
                    self.message = None;
                }
                Err(e) => self.error(e),
            },
            KeyCode::Char('t') => self.open_transcript(),
            KeyCode::Char('q') => self.quit = true,
            other => self.scroll_key(other),
        }
    }

    fn change_stick(&mut self) {
        match self.session.change_stick() {
            Ok(()) => {
                self.selected = 0;
                self.scroll = 0;
                self.raw_view = false;
                self.info("choose the stick again");
            }
            Err(e) => self.error(e),
        }
    }

    fn on_pin(&mut self, code: KeyCode) -> Option<Effect> {
        match code {
            KeyCode::Esc => {
                self.clear_input();
                self.session.cancel_pin();
                self.message = None;
            }
            KeyCode::Backspace => {
                self.input.pop();
            }
            KeyCode::Char(c) if !c.is_control() && self.input.len() < 64 => self.input.push(c),
            KeyCode::Enter => {
                if self.input.is_empty() {
                    self.error("type the PIN first");
                } else {
                    return Some(Effect::Sign);
                }
            }
            _ => {}
        }
        None
    }

    /// Performs [`Effect::Sign`]: the typed PIN goes to the token (and is
    /// wiped here), `progress` is called before each file.
    pub fn sign(&mut self, progress: &mut dyn FnMut(Progress)) {
        let pin = Pin::new(std::mem::replace(
            &mut self.input,
            Zeroizing::new(String::new()),
        ));
        let result = self.session.sign_with_pin(pin, &mut |p| progress(p));
        self.progress = None;
        self.selected = 0;
        match result {
            Ok(turn) => {
                let severity = if turn.failed.is_empty() {
                    Severity::Info
                } else {
                    Severity::Error
                };
                let mut text = format!(
                    "{}: signed {} file(s), each verified and read back",
                    turn.token,
                    turn.signed.len()
                );
                if let Some((file, error)) = turn.failed.first() {
                    text.push_str(&format!(
                        "; {} FAILED (unchanged), first: {file}: {error}",
                        turn.failed.len()
                    ));
                }
                self.message = Some((severity, text));
            }
            Err(e) => self.error(e),
        }
    }

    fn on_finished(&mut self, code: KeyCode) {
        match code {
            KeyCode::Backspace => {
                self.input.pop();
            }
            KeyCode::Char(c) if !c.is_control() && self.input.chars().count() < 60 => {
                self.input.push(c)
            }
            KeyCode::Enter => {
                let name = self.input.to_string();
                match self.session.sign_off(&name) {
                    Ok(()) => {
                        self.clear_input();
                        self.scroll = 0;
                        self.info("signed off; the transcript is on the stick");
                    }
                    Err(e) => self.error(e),
                }
            }
            KeyCode::Esc => {}
            _ => {}
        }
    }
}

/// `YYYY-MM-DD HH:MM` (or with `:SS`), read as UTC.
pub fn parse_witness_time(text: &str) -> Result<OffsetDateTime, String> {
    let text = text.trim().replace('T', " ");
    let format = if text.len() == 16 {
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]")
    } else {
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")
    };
    PrimitiveDateTime::parse(&text, format)
        .map(|t| t.assume_offset(UtcOffset::UTC))
        .map_err(|_| format!("{text:?} is not a time as YYYY-MM-DD HH:MM (UTC)"))
}

/// A time as the screens show it: `2026-11-22 09:30:00 UTC`.
pub fn show_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}
