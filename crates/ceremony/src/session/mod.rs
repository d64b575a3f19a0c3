//! The ceremony as a state machine with no UI in it: clock check → media →
//! review of every staged file → (token → PIN → sign → verify → write) per
//! keyholder → witness sign-off. The terminal UI and the tests drive it the
//! same way; every step that matters goes into the transcript.
//!
//! The stick stays untouched until something must be written: transcript
//! entries wait in memory until the first signature is about to be written
//! (or the witness signs off), then go to the stick, oldest first.

mod quit;
mod state;
mod status;
pub mod tokens;
mod turn;

use std::path::{Path, PathBuf};
use std::time::Instant;

use signers::{PinState, SignError};
use time::OffsetDateTime;
use transcript::{Event, FileDigest, Transcript, TranscriptError};
use tuf_metadata::threshold::{ThresholdReport, short_id};

use crate::boot::BootCheck;
use crate::media::{Loaded, Media, MediaError, recognise};
use crate::safety::{OfflineCheck, offline_check};
use state::{Scan, State, Stick};
pub use tokens::{TokenChoice, Tokens};

/// Where the ceremony is, as screens and tests name it. The session keeps
/// its steps as typed states that own their data (the loaded stick, the
/// token list); this is their public summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The witness confirms (or corrects) the date and time.
    Clock,
    /// Choosing the stick.
    Media,
    /// Reviewing staged file `file` (index into the loaded files).
    Review {
        /// Which file.
        file: usize,
    },
    /// Choosing a token: the next keyholder steps up (or the witness ends).
    Tokens,
    /// Typing the PIN of token `token`.
    Pin {
        /// Index into the last scan.
        token: usize,
        /// The PIN counter, read before the attempt.
        state: Option<PinState>,
    },
    /// Signing is over; the witness signs off by name.
    Finished,
    /// Signed off; the transcript is closed.
    Done,
    /// The ceremony cannot go on; the reason, for a red screen.
    Stopped(String),
}

/// Why a step was refused. The session is unchanged unless the variant says
/// otherwise; every message names the file, token or key involved.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// A step asked for at the wrong time (a UI bug, never a keyholder's).
    #[error("{0} is not possible at this step")]
    WrongStage(&'static str),
    /// The stick could not be used.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The witness tried to sign off without typing a name.
    #[error("type the witness's name to sign off")]
    NoWitnessName,
    /// A non-loopback interface is up and this is not a drill.
    #[error("{0}")]
    Online(String),
    /// The token refused (wrong PIN, removed, locked).
    #[error("{token}: {error}")]
    Token {
        /// The token, as listed.
        token: String,
        /// What it said.
        error: SignError,
    },
    /// No key on the token may sign anything staged.
    #[error("{0}")]
    NoKeyHere(String),
    /// The transcript on the stick could not be written; nothing else was.
    #[error("transcript: {0}")]
    Transcript(#[from] TranscriptError),
    /// Signatures and the transcript are already on the loaded stick.
    #[error(
        "this stick already holds this session's signatures and transcript: finish (f) and start the appliance again to use another stick"
    )]
    StickInUse,
    /// The loaded stick's directory is gone (pulled or unmounted): said
    /// plainly instead of as a file that cannot be opened.
    #[error("the stick is gone: plug it back in and press r")]
    StickGone,
    /// Network hardware is present and the witness has not acknowledged it.
    #[error("network hardware is present: the witness must acknowledge it first (a)")]
    HardwareNotAcknowledged,
}

/// How the session was started.
#[derive(Clone, Debug)]
pub struct Options {
    /// A practice ceremony: network allowed, everything marked DRILL.
    pub drill: bool,
    /// A root pinned on the image, which the stick's history must contain.
    pub pinned_root: Option<Vec<u8>>,
    /// Where network interfaces are read (`/sys/class/net`).
    pub sys_class_net: PathBuf,
    /// This program and version, for the transcript.
    pub tool: String,
    /// The confirmed time does not advance (screen tests and snapshots).
    pub frozen_clock: bool,
    /// The image's boot files as hashed at boot ([`BootCheck::NotImage`]
    /// off the image): shown on the clock screen, recorded first.
    pub boot: BootCheck,
    /// Network hardware found at start ([`crate::inventory`]), one line
    /// each: the witness acknowledges it before the clock is confirmed.
    pub network_hardware: Vec<String>,
}

/// What one keyholder's turn did, file by file, for the result screen.
#[derive(Clone, Debug, Default)]
pub struct TurnReport {
    /// The token used.
    pub token: String,
    /// `(file, key ids)` signed and written.
    pub signed: Vec<(String, Vec<String>)>,
    /// `(file, error)` that failed; those files are unchanged.
    pub failed: Vec<(String, String)>,
    /// Files none of the token's keys may sign.
    pub skipped: usize,
}

/// Progress of a batch, reported before each file is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Files done so far.
    pub done: usize,
    /// Files this token will sign.
    pub total: usize,
}

/// The ceremony.
pub struct Session {
    options: Options,
    host_clock: OffsetDateTime,
    confirmed: Option<(OffsetDateTime, Instant)>,
    state: State,
    tokens: Box<dyn Tokens>,
    transcript: Option<Transcript>,
    pending: Vec<(OffsetDateTime, Event)>,
    turns: Vec<TurnReport>,
    /// The stick's mount point when the session remounted it read-write.
    remounted: Option<PathBuf>,
    /// Why the stick could not be put back to read-only at the sign-off.
    still_writable: Option<String>,
    /// The witness acknowledged the network hardware listed (or there is none).
    hardware_acknowledged: bool,
}

impl Session {
    /// A new session at the clock check. `host_clock` is what this
    /// machine believes; the witness confirms or corrects it.
    pub fn new(options: Options, host_clock: OffsetDateTime, tokens: Box<dyn Tokens>) -> Self {
        let options_hardware_is_empty = options.network_hardware.is_empty();
        let mut session = Session {
            options,
            host_clock,
            confirmed: None,
            state: State::Clock,
            tokens,
            transcript: None,
            pending: Vec::new(),
            turns: Vec::new(),
            remounted: None,
            still_writable: None,
            hardware_acknowledged: options_hardware_is_empty,
        };
        let event = Event::SessionStarted {
            tool: session.options.tool.clone(),
            host_clock: rfc3339(host_clock),
            boot_files: session.options.boot.transcript_digests(),
            network_hardware: session.options.network_hardware.clone(),
        };
        session.pending.push((host_clock, event));
        session
    }

    /// Where the ceremony is.
    pub fn stage(&self) -> Stage {
        self.state.stage()
    }

    /// Whether this is a practice ceremony.
    pub fn is_drill(&self) -> bool {
        self.options.drill
    }

    /// The machine's clock when the session began.
    pub fn host_clock(&self) -> OffsetDateTime {
        self.host_clock
    }

    /// The witness-confirmed time now (the host clock before confirmation).
    pub fn now(&self) -> OffsetDateTime {
        match self.confirmed {
            Some((at, _)) if self.options.frozen_clock => at,
            Some((at, since)) => at + since.elapsed(),
            None => self.host_clock,
        }
    }

    /// The stick's content, once loaded.
    pub fn loaded(&self) -> Option<&Loaded> {
        self.state.stick().map(|stick| &stick.loaded)
    }

    /// The threshold board of loaded file `index`.
    pub fn board(&self, index: usize) -> &[(String, ThresholdReport)] {
        self.state
            .stick()
            .and_then(|stick| stick.boards.get(index))
            .map_or(&[], Vec::as_slice)
    }

    /// The tokens of the last scan, and what could not be searched (both
    /// empty before the token step).
    pub fn tokens(&self) -> (&[TokenChoice], &[String]) {
        self.state
            .scan()
            .map_or((&[], &[]), |scan| (&scan.list, &scan.problems))
    }

    /// What token `index` may sign in this ceremony, judged by the public
    /// keys it shows before a login (worked out when the tokens were
    /// listed): one line per key of the ceremony it holds, empty when it
    /// holds none. `None` when the token shows no public keys (it is tried
    /// after the PIN instead).
    pub fn token_roles(&self, index: usize) -> Option<Vec<String>> {
        self.state.scan()?.roles.get(index)?.clone()
    }

    /// Every keyholder's turn so far.
    pub fn turns(&self) -> &[TurnReport] {
        &self.turns
    }

    /// The network check as of now: `Some(reason)` when signing would be
    /// refused (never in a drill).
    pub fn online_refusal(&self) -> Option<String> {
        if self.options.drill {
            return None;
        }
        offline_check(&self.options.sys_class_net).refusal()
    }

    /// Non-loopback interfaces up now, for the DRILL banner.
    pub fn network_state(&self) -> OfflineCheck {
        offline_check(&self.options.sys_class_net)
    }

    /// Transcript lines so far, written or waiting, as the witness reads them.
    pub fn transcript_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(transcript) = &self.transcript {
            lines.extend(transcript.summary_text().lines().map(str::to_owned));
        }
        for (at, event) in &self.pending {
            lines.push(format!(
                "(not yet on the stick) {} {}",
                rfc3339(*at),
                describe(event)
            ));
        }
        lines
    }

    /// The transcript on the stick, once anything was written.
    pub fn transcript(&self) -> Option<&Transcript> {
        self.transcript.as_ref()
    }

    /// The image's boot files, for the clock screen.
    pub fn boot(&self) -> &BootCheck {
        &self.options.boot
    }

    /// Network hardware found at start, and whether the witness has
    /// acknowledged it.
    pub fn network_hardware(&self) -> (&[String], bool) {
        (&self.options.network_hardware, self.hardware_acknowledged)
    }

    /// The witness acknowledges the network hardware listed on the clock
    /// screen (recorded); nothing happens when there is none or it already
    /// was.
    pub fn acknowledge_hardware(&mut self) -> Result<(), SessionError> {
        if !matches!(self.state, State::Clock) {
            return Err(SessionError::WrongStage("acknowledging hardware"));
        }
        if self.hardware_acknowledged {
            return Ok(());
        }
        self.record(Event::HardwareAcknowledged {
            devices: self.options.network_hardware.clone(),
        })?;
        self.hardware_acknowledged = true;
        Ok(())
    }

    /// The witness confirms the time (`at`, the host clock or a corrected
    /// one). Expiry checks use it from now on.
    pub fn confirm_clock(&mut self, at: OffsetDateTime) -> Result<(), SessionError> {
        if !matches!(self.state, State::Clock) {
            return Err(SessionError::WrongStage("confirming the clock"));
        }
        if !self.hardware_acknowledged {
            return Err(SessionError::HardwareNotAcknowledged);
        }
        self.confirmed = Some((at, Instant::now()));
        self.record(Event::ClockConfirmed {
            confirmed: rfc3339(at),
            host_clock: rfc3339(self.host_clock),
        })?;
        self.state = State::Media;
        Ok(())
    }

    /// Loads the stick at `dir`. An unrecognised or unreadable stick leaves
    /// the session at [`Stage::Media`] to try another; a stick whose trust
    /// does not hold (pinned root mismatch, broken history, a staged root
    /// that is not N+1) stops the ceremony.
    pub fn load_media(&mut self, dir: &Path) -> Result<(), SessionError> {
        if !matches!(self.state, State::Media) {
            return Err(SessionError::WrongStage("loading media"));
        }
        let media = recognise(dir)?;
        let now = self.now();
        let loaded = match crate::media::load(&media, self.options.pinned_root.as_deref(), now) {
            Ok(loaded) => loaded,
            Err(error) if error.stops_the_ceremony() => {
                self.record(Event::Failed {
                    step: "load".into(),
                    file: None,
                    error: error.to_string(),
                })?;
                self.state = State::Stopped(error.to_string());
                return Err(error.into());
            }
            Err(error) => return Err(error.into()),
        };
        self.record(Event::MediaLoaded {
            media: dir.display().to_string(),
            layout: loaded.media.layout.to_string(),
            files: loaded
                .file_digests()
                .into_iter()
                .map(|(file, sha256, size)| FileDigest { file, sha256, size })
                .collect(),
        })?;
        if let Some(trusted) = &loaded.trusted {
            self.record(Event::TrustedRoot {
                file: trusted.display.clone(),
                version: trusted.version,
                canonical_sha256: trusted.canonical_sha256.clone(),
                pinned: trusted.pinned,
            })?;
        }
        self.state = if loaded.files.is_empty() {
            State::Stopped("the stick holds nothing to sign".into())
        } else {
            State::Review {
                stick: Stick::new(loaded, now),
                file: 0,
            }
        };
        Ok(())
    }

    /// The keyholder and witness have read the review of the current file:
    /// on to the next file, or to choosing a token after the last.
    pub fn acknowledge_review(&mut self) -> Result<(), SessionError> {
        let State::Review { stick, file } = &self.state else {
            return Err(SessionError::WrongStage("acknowledging a review"));
        };
        if self.stick_gone() {
            return Err(SessionError::StickGone);
        }
        let item = &stick.loaded.files[*file];
        let event = Event::ReviewAcknowledged {
            file: item.staged.display.clone(),
            role: item.staged.role.clone(),
            version: item.version,
            canonical_sha256: item.canonical_sha256.clone(),
        };
        self.record(event)?;
        self.state = match std::mem::replace(&mut self.state, State::Media) {
            State::Review { stick, file } if file + 1 < stick.loaded.files.len() => State::Review {
                stick,
                file: file + 1,
            },
            State::Review { stick, .. } => {
                let scan = self.scan(&stick.loaded);
                State::Tokens { stick, scan }
            }
            other => other,
        };
        Ok(())
    }

    /// Back to choosing the stick (the wrong one was loaded, or a file
    /// changed under the review): allowed while nothing has been written
    /// to the stick; after that, the transcript there belongs to this
    /// stick, and another one needs a new session.
    pub fn change_stick(&mut self) -> Result<(), SessionError> {
        if !matches!(self.state, State::Review { .. } | State::Tokens { .. }) {
            return Err(SessionError::WrongStage("changing the stick"));
        }
        if self.transcript.is_some() {
            return Err(SessionError::StickInUse);
        }
        self.state = State::Media;
        Ok(())
    }

    /// Looks for tokens again (a keyholder plugged theirs in); only while
    /// a token is being chosen.
    pub fn rescan(&mut self) {
        self.state = match std::mem::replace(&mut self.state, State::Media) {
            State::Tokens { stick, .. } => {
                let scan = self.scan(&stick.loaded);
                State::Tokens { stick, scan }
            }
            other => other,
        };
    }

    /// Scans for tokens and works out what each may sign.
    fn scan(&mut self, loaded: &Loaded) -> Scan {
        let now = self.now();
        Scan::new(self.tokens.scan(), loaded, now)
    }

    /// The keyholder picks token `index`: its PIN counter is read before
    /// the PIN is asked for. Refused while the machine is online.
    pub fn choose_token(&mut self, index: usize) -> Result<(), SessionError> {
        let State::Tokens { scan, .. } = &self.state else {
            return Err(SessionError::WrongStage("choosing a token"));
        };
        if let Some(reason) = self.online_refusal() {
            return Err(SessionError::Online(reason));
        }
        let Some(choice) = scan.list.get(index) else {
            return Err(SessionError::WrongStage(
                "choosing a token that is not listed",
            ));
        };
        let description = choice.description.clone();
        if self.stick_gone() {
            self.record_stick_gone();
            return Err(SessionError::StickGone);
        }
        if scan
            .roles
            .get(index)
            .is_some_and(|roles| roles.as_ref().is_some_and(Vec::is_empty))
        {
            let reason = "this token holds no key of this ceremony; the PIN was not asked for";
            self.record_refused_token(&description, reason);
            return Err(SessionError::NoKeyHere(format!("{description}: {reason}")));
        }
        let state = match self.tokens.pin_state(index) {
            Ok(state) => state,
            Err(error) => {
                self.record_refused_token(&description, &error.to_string());
                return Err(SessionError::Token {
                    token: description,
                    error,
                });
            }
        };
        if state == PinState::Locked {
            let error = SignError::Pin(signers::PinError::Locked);
            self.record_refused_token(&description, &error.to_string());
            return Err(SessionError::Token {
                token: description,
                error,
            });
        }
        self.state = match std::mem::replace(&mut self.state, State::Media) {
            State::Tokens { stick, scan } => State::Pin {
                stick,
                scan,
                token: index,
                pin_state: Some(state),
                failures: state::PinFailures::default(),
            },
            other => other,
        };
        Ok(())
    }

    /// Back from the PIN screen without trying the PIN.
    pub fn cancel_pin(&mut self) {
        self.state = match std::mem::replace(&mut self.state, State::Media) {
            State::Pin { stick, scan, .. } => State::Tokens { stick, scan },
            other => other,
        };
    }

    /// No more keyholders: on to the witness sign-off.
    pub fn finish(&mut self) -> Result<(), SessionError> {
        self.state = match std::mem::replace(&mut self.state, State::Media) {
            State::Tokens { stick, .. } => State::Finished { stick },
            other => {
                self.state = other;
                return Err(SessionError::WrongStage("finishing"));
            }
        };
        Ok(())
    }

    /// The witness signs off by name; the summary closes the transcript,
    /// which is written to the stick now.
    pub fn sign_off(&mut self, witness: &str) -> Result<(), SessionError> {
        let State::Finished { stick } = &self.state else {
            return Err(SessionError::WrongStage("signing off"));
        };
        let name = witness.trim();
        if name.is_empty() {
            return Err(SessionError::NoWitnessName);
        }
        let media = stick.loaded.media.clone();
        self.record(Event::WitnessSignoff {
            name: name.to_owned(),
            statement: "I watched this ceremony and compared the digests read aloud".into(),
            signature: None,
        })?;
        let summary = self.summary();
        self.record(Event::SessionFinished { summary })?;
        self.flush(&media)?;
        if let Some(mount) = self.remounted.take()
            && let Err(error) = crate::media::writable::make_read_only(&mount)
        {
            // Everything is on the stick, which is still writable: said on
            // the screen and, while it can still take it, in the transcript.
            let why = format!("still writable after the sign-off: {error}");
            self.record_kept(Event::StickError {
                file: mount.display().to_string(),
                error: why.clone(),
            });
            let _ = self.flush(&media);
            self.still_writable = Some(why);
        }
        self.state = match std::mem::replace(&mut self.state, State::Media) {
            State::Finished { stick } => State::Done { stick },
            other => other,
        };
        Ok(())
    }

    /// Why the stick is still writable after the sign-off (the remount to
    /// read-only failed even after retries), for the last screen.
    pub fn still_writable(&self) -> Option<&str> {
        self.still_writable.as_deref()
    }

    /// The witness sheet: what was signed by whom, and each board.
    pub fn summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.options.drill {
            out.push("DRILL: practice ceremony, nothing here is trusted".to_owned());
        }
        for turn in &self.turns {
            for (file, ids) in &turn.signed {
                let ids: Vec<&str> = ids.iter().map(|id| short_id(id)).collect();
                out.push(format!(
                    "{file}: signed by {} with {}",
                    ids.join(","),
                    turn.token
                ));
            }
            for (file, error) in &turn.failed {
                out.push(format!("{file}: FAILED with {}: {error}", turn.token));
            }
        }
        if let Some(loaded) = self.loaded() {
            for (index, file) in loaded.files.iter().enumerate() {
                for (label, report) in self.board(index) {
                    out.push(format!(
                        "{}: {label} {report} {}",
                        file.staged.display,
                        if report.is_met() { "met" } else { "NOT met" }
                    ));
                }
            }
        }
        out
    }

    fn record(&mut self, event: Event) -> Result<(), SessionError> {
        let at = self.now();
        match &mut self.transcript {
            Some(transcript) => {
                transcript.append(at, event)?;
            }
            None => self.pending.push((at, event)),
        }
        Ok(())
    }

    /// Records that `token` was refused and why (see [`Self::record_kept`]).
    fn record_refused_token(&mut self, token: &str, reason: &str) {
        self.record_kept(Event::TokenRefused {
            token: token.to_owned(),
            reason: reason.to_owned(),
        });
    }

    /// Records a refusal or a stick error on the way to returning it. When
    /// the stick cannot take the entry (it is gone, or its transcript
    /// failed), the entry waits in memory and shows on screen; the
    /// transcript's own failure surfaces at the next write, before anything
    /// is signed.
    /// A pulled stick, recorded (on screen until the stick is back, then
    /// written first), so the transcript shows why the ceremony paused.
    fn record_stick_gone(&mut self) {
        if let Some(loaded) = self.loaded() {
            let dir = loaded.media.dir.display().to_string();
            self.record_kept(Event::StickError {
                file: dir,
                error: SessionError::StickGone.to_string(),
            });
        }
    }

    fn record_kept(&mut self, event: Event) {
        let at = self.now();
        let refused = match &mut self.transcript {
            Some(transcript) => transcript.append(at, event.clone()).is_err(),
            None => true,
        };
        if refused {
            self.pending.push((at, event));
        }
    }

    /// Opens the transcript of the stick `media` (continuing its chain)
    /// and writes what waited in memory. Nothing is signed if this fails.
    fn flush(&mut self, media: &Media) -> Result<(), SessionError> {
        if self.transcript.is_none() {
            // The first write: a stick mounted read-only (the image mounts
            // them so) is remounted read-write now, and back at sign-off.
            if let Some(mount) = crate::media::writable::make_writable(&media.dir)? {
                self.remounted = Some(mount);
            }
            let transcript = Transcript::open(&media.transcript_path, self.options.drill)?;
            self.transcript = Some(transcript);
        }
        let Some(transcript) = self.transcript.as_mut() else {
            return Ok(());
        };
        while !self.pending.is_empty() {
            let (at, event) = self.pending[0].clone();
            transcript.append(at, event)?;
            self.pending.remove(0);
        }
        Ok(())
    }
}

/// `at` as RFC 3339 in UTC to the second: the metadata core's canonical
/// time form, which the transcript requires.
fn rfc3339(at: OffsetDateTime) -> String {
    tuf_metadata::Expires::from_time(at).as_str().to_owned()
}

/// One line for an event not yet on the stick.
fn describe(event: &Event) -> String {
    match event {
        Event::SessionStarted {
            tool,
            boot_files,
            network_hardware,
            ..
        } => {
            let mut line = format!("session started ({tool})");
            if !boot_files.is_empty() {
                line.push_str(&format!(", {} boot files hashed", boot_files.len()));
            }
            if !network_hardware.is_empty() {
                line.push_str(&format!(
                    ", NETWORK HARDWARE PRESENT: {}",
                    network_hardware.join("; ")
                ));
            }
            line
        }
        Event::ClockConfirmed { confirmed, .. } => format!("clock confirmed as {confirmed}"),
        Event::MediaLoaded { media, files, .. } => {
            format!("media {media} loaded, {} file(s)", files.len())
        }
        Event::TrustedRoot {
            version,
            canonical_sha256,
            ..
        } => format!("trusted root v{version} {canonical_sha256}"),
        Event::ReviewAcknowledged { file, .. } => format!("review of {file} acknowledged"),
        Event::TokenRefused { .. }
        | Event::StickError { .. }
        | Event::HardwareAcknowledged { .. } => event.describe(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod transcript_tests;
