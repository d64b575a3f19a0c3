//! The terminal UI's model and update (model → message → update → view):
//! key presses and a once-a-second tick arrive as [`Message`]s, and
//! `update` turns them into session steps and does every read the screens
//! need (the network state, the file under review), caching the results
//! here. Rendering (`view`) only reads this state, so every screen can be
//! drawn into a `TestBackend`.

use std::path::PathBuf;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use signers::Pin;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use zeroize::Zeroizing;

use crate::session::{Progress, Session, SessionError, Stage};
use crate::tui::keys::{self, Action, Screen};
use crate::tui::model::{BinsCache, ReviewCache, network_warning};

/// How a message at the bottom of the screen is meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Done, or for information.
    Info,
    /// Refused or failed: the keyholder must act.
    Error,
}

/// A question the witness answers before a step that cannot be undone
/// lightly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirm {
    /// `f` while thresholds are unmet: each unmet key set, as
    /// `file: label counted/threshold`.
    Finish {
        /// The key sets still short of their threshold.
        unmet: Vec<String>,
    },
    /// `q` after a stick was loaded and before the sign-off.
    Quit,
}

/// What reaches `update`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// A key press (or release, which is ignored).
    Key(KeyEvent),
    /// A second passed: the clock moves, and the network and the file
    /// under review are read again.
    Tick,
}

impl From<KeyEvent> for Message {
    fn from(key: KeyEvent) -> Self {
        Message::Key(key)
    }
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
    /// The session's time as of the last message, for the header.
    pub now: OffsetDateTime,
    /// Why signing would be refused (a network interface up), as of the
    /// last tick or step; `None` when it would not.
    pub network: Option<String>,
    /// The review of the file on the review screen.
    pub review: Option<ReviewCache>,
    /// The question shown over the screen, if any.
    pub confirm: Option<Confirm>,
    /// The loaded stick is gone (pulled), as of the last message.
    pub stick_gone: bool,
    /// The hash-bin summary of the loaded stick (made once per load).
    pub bins: Option<BinsCache>,
    /// A hash bin's review shows only its own lines, not the summary.
    pub bin_detail: bool,
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
        let now = session.now();
        let network = network_warning(&session);
        let mut app = App {
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
            now,
            network,
            review: None,
            confirm: None,
            stick_gone: false,
            bins: None,
            bin_detail: false,
        };
        app.sync();
        app
    }

    /// Which key map applies now.
    pub fn screen(&self) -> Screen {
        if self.confirm.is_some() {
            return Screen::Confirm;
        }
        if self.show_transcript {
            return Screen::Transcript;
        }
        match self.session.stage() {
            Stage::Clock if self.editing_clock => Screen::ClockEditing,
            Stage::Clock if !self.session.network_hardware().1 => Screen::ClockHardware,
            Stage::Clock => Screen::Clock,
            Stage::Media => Screen::Media,
            Stage::Review { .. } => Screen::Review,
            Stage::Tokens => Screen::Tokens,
            Stage::Pin { .. } => Screen::Pin,
            Stage::Finished => Screen::Witness,
            Stage::Done | Stage::Stopped(_) => Screen::End,
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

    /// Handles one message. Returns an effect for the runtime when a key
    /// starts a long operation.
    pub fn update(&mut self, message: impl Into<Message>) -> Option<Effect> {
        let before = self.session.stage();
        let effect = match message.into() {
            Message::Key(key) => self.on_key(key),
            Message::Tick => {
                self.network = network_warning(&self.session);
                if self
                    .review
                    .as_ref()
                    .is_some_and(|r| r.is_stale(&self.session))
                {
                    // The file changed under the review: show what it
                    // holds now (or why it cannot be signed any more).
                    self.review = None;
                }
                None
            }
        };
        self.after_step(&before);
        effect
    }

    /// Brings the cached reads up to date with the session: the network
    /// again when the step changed or something was refused (it may be
    /// why), the review when another file is shown.
    fn after_step(&mut self, before: &Stage) {
        let refused = matches!(self.message, Some((Severity::Error, _)));
        if refused || self.session.stage() != *before {
            self.network = network_warning(&self.session);
        }
        self.sync();
    }

    fn sync(&mut self) {
        self.now = self.session.now();
        self.stick_gone = self.session.stick_gone();
        BinsCache::sync(&mut self.bins, &self.session, self.now);
        match self.session.stage() {
            Stage::Review { file } => {
                if self.review.as_ref().is_none_or(|r| r.file != file) {
                    self.review = ReviewCache::make(&self.session, file, self.now);
                }
            }
            _ => self.review = None,
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Option<Effect> {
        if key.kind != KeyEventKind::Press {
            return None;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            // The interrupt leaves at once; a ceremony under way still
            // ends its transcript saying it was abandoned (best effort:
            // nothing is left to show an error on).
            let _ = self.session.abandon();
            self.quit = true;
            return None;
        }
        let screen = self.screen();
        if let Some(action) = keys::action(screen, key.code) {
            return self.perform(screen, action);
        }
        if let KeyCode::Char(c) = key.code {
            self.type_char(screen, c);
        }
        None
    }

    /// Typed text on the screens that take it (nothing elsewhere).
    fn type_char(&mut self, screen: Screen, c: char) {
        let fits = match screen {
            Screen::ClockEditing => {
                (c.is_ascii_digit() || matches!(c, '-' | ':' | ' ' | 'T')) && self.input.len() < 19
            }
            Screen::Pin => !c.is_control() && self.input.len() < 64,
            Screen::Witness => !c.is_control() && self.input.chars().count() < 60,
            _ => false,
        };
        if fits {
            self.input.push(c);
        }
    }

    fn perform(&mut self, screen: Screen, action: Action) -> Option<Effect> {
        match action {
            Action::Quit if self.session.is_under_way() => {
                self.confirm = Some(Confirm::Quit);
                self.message = None;
            }
            Action::Quit => self.quit = true,
            Action::Yes => self.answer_yes(),
            Action::No => {
                self.confirm = None;
                self.message = None;
            }
            Action::ConfirmHostClock => {
                let at = self.session.host_clock();
                self.confirm(at);
            }
            Action::AcknowledgeHardware => match self.session.acknowledge_hardware() {
                Ok(()) => self.info("network hardware acknowledged: recorded in the transcript"),
                Err(e) => self.error(e),
            },
            Action::EditClock => {
                self.editing_clock = true;
                self.clear_input();
                self.message = None;
            }
            Action::ConfirmTypedTime => match parse_witness_time(&self.input) {
                Ok(at) => {
                    self.editing_clock = false;
                    self.clear_input();
                    self.confirm(at);
                }
                Err(why) => self.error(why),
            },
            Action::Back => {
                self.clear_input();
                if screen == Screen::Pin {
                    self.session.cancel_pin();
                    self.message = None;
                } else {
                    self.editing_clock = false;
                }
            }
            Action::Erase => {
                self.input.pop();
            }
            Action::SelectUp => self.selected = self.selected.saturating_sub(1),
            Action::SelectDown => {
                let count = match screen {
                    Screen::Media => self.media.len(),
                    _ => self.session.tokens().0.len(),
                };
                if self.selected + 1 < count {
                    self.selected += 1;
                }
            }
            Action::Rescan if screen == Screen::Media => self.rescan_media(),
            Action::Rescan if screen == Screen::Review => {
                // Read the file again (a stick plugged back in).
                self.review = None;
                self.message = None;
                self.check_stick();
            }
            Action::Rescan => {
                self.session.rescan();
                self.selected = 0;
                let found = self.session.tokens().0.len();
                self.info(format!("{found} token(s) found"));
                self.check_stick();
            }
            Action::LoadStick => self.load_stick(),
            Action::ToggleRaw => {
                self.raw_view = !self.raw_view;
                self.scroll = 0;
            }
            Action::ToggleBins => self.toggle_bins(),
            Action::Acknowledge => match self.session.acknowledge_review() {
                Ok(()) => {
                    self.scroll = 0;
                    self.raw_view = false;
                    self.selected = 0;
                    self.message = None;
                }
                Err(e) => self.error(e),
            },
            Action::ChangeStick => self.change_stick(),
            Action::OpenTranscript => {
                self.show_transcript = true;
                self.scroll = 0;
            }
            Action::CloseTranscript => self.show_transcript = false,
            Action::UseToken => self.use_token(),
            Action::Finish => {
                let unmet = self.session.unmet_thresholds();
                if unmet.is_empty() {
                    self.finish();
                } else {
                    self.confirm = Some(Confirm::Finish { unmet });
                    self.message = None;
                }
            }
            Action::SignWithPin => {
                if self.input.is_empty() {
                    self.error("type the PIN first");
                } else {
                    return Some(Effect::Sign);
                }
            }
            Action::SignOff => self.sign_off(),
            Action::LineDown => self.scroll = self.scroll.saturating_add(1),
            Action::LineUp => self.scroll = self.scroll.saturating_sub(1),
            Action::PageDown => self.scroll = self.scroll.saturating_add(10),
            Action::PageUp => self.scroll = self.scroll.saturating_sub(10),
            Action::Top => self.scroll = 0,
        }
        None
    }

    /// The witness said yes to the question shown.
    fn answer_yes(&mut self) {
        match self.confirm.take() {
            Some(Confirm::Finish { .. }) => self.finish(),
            Some(Confirm::Quit) => match self.session.abandon() {
                Ok(()) => self.quit = true,
                Err(e) => self.error(e),
            },
            None => {}
        }
    }

    fn finish(&mut self) {
        match self.session.finish() {
            Ok(()) => {
                self.clear_input();
                self.message = None;
            }
            Err(e) => self.error(e),
        }
    }

    /// Says so when the loaded stick is gone (after a rescan).
    fn check_stick(&mut self) {
        if self.session.stick_gone() {
            self.error(SessionError::StickGone);
        }
    }

    fn confirm(&mut self, at: OffsetDateTime) {
        match self.session.confirm_clock(at) {
            Ok(()) => {
                self.selected = 0;
                self.scroll = 0;
                self.info(format!("clock confirmed: {}", show_time(at)));
            }
            Err(e) => self.error(e),
        }
    }

    fn rescan_media(&mut self) {
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

    fn load_stick(&mut self) {
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

    fn use_token(&mut self) {
        if self.session.tokens().0.is_empty() {
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

    fn toggle_bins(&mut self) {
        let bin = match self.session.stage() {
            Stage::Review { file } => self.bins.as_ref().and_then(|b| b.for_file(file)),
            _ => None,
        };
        if bin.is_some() {
            self.bin_detail = !self.bin_detail;
            self.scroll = 0;
        } else {
            self.info("this file is not a hash bin: there is no bins summary");
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

    fn sign_off(&mut self) {
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

    /// Performs [`Effect::Sign`]: the typed PIN goes to the token (and is
    /// wiped here), `progress` is called before each file.
    pub fn sign(&mut self, progress: &mut dyn FnMut(Progress)) {
        let before = self.session.stage();
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
        self.after_step(&before);
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
