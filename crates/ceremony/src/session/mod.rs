//! The ceremony as a state machine with no UI in it: clock check → media →
//! review of every staged file → (token → PIN → sign → verify → write) per
//! keyholder → witness sign-off. The terminal UI and the tests drive it the
//! same way; every step that matters goes into the transcript.
//!
//! The stick stays untouched until something must be written: transcript
//! entries wait in memory until the first signature is about to be written
//! (or the witness signs off), then go to the stick, oldest first.

pub mod tokens;

use std::path::{Path, PathBuf};
use std::time::Instant;

use signers::{Pin, PinState, SignError};
use time::OffsetDateTime;
use transcript::{Event, FileDigest, Transcript, TranscriptError};
use tuf_metadata::threshold::{ThresholdReport, short_id};

use crate::media::{Loaded, MediaError, recognise};
use crate::safety::{OfflineCheck, offline_check};
use crate::sign_file::{SignFileError, sign_plan};
pub use tokens::{TokenChoice, Tokens};

/// Where the ceremony is.
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
    stage: Stage,
    loaded: Option<Loaded>,
    boards: Vec<Vec<(String, ThresholdReport)>>,
    tokens: Box<dyn Tokens>,
    token_list: Vec<TokenChoice>,
    token_problems: Vec<String>,
    transcript: Option<Transcript>,
    pending: Vec<(OffsetDateTime, Event)>,
    turns: Vec<TurnReport>,
    /// The stick's mount point when the session remounted it read-write.
    remounted: Option<PathBuf>,
}

impl Session {
    /// A new session at the clock check. `host_clock` is what this
    /// machine believes; the witness confirms or corrects it.
    pub fn new(options: Options, host_clock: OffsetDateTime, tokens: Box<dyn Tokens>) -> Self {
        let mut session = Session {
            options,
            host_clock,
            confirmed: None,
            stage: Stage::Clock,
            loaded: None,
            boards: Vec::new(),
            tokens,
            token_list: Vec::new(),
            token_problems: Vec::new(),
            transcript: None,
            pending: Vec::new(),
            turns: Vec::new(),
            remounted: None,
        };
        let event = Event::SessionStarted {
            tool: session.options.tool.clone(),
            host_clock: rfc3339(host_clock),
        };
        session.pending.push((host_clock, event));
        session
    }

    /// Where the ceremony is.
    pub fn stage(&self) -> &Stage {
        &self.stage
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
        self.loaded.as_ref()
    }

    /// The threshold board of loaded file `index`.
    pub fn board(&self, index: usize) -> &[(String, ThresholdReport)] {
        self.boards.get(index).map_or(&[], Vec::as_slice)
    }

    /// The tokens of the last scan, and what could not be searched.
    pub fn tokens(&self) -> (&[TokenChoice], &[String]) {
        (&self.token_list, &self.token_problems)
    }

    /// What token `index` may sign in this ceremony, judged by the public
    /// keys it shows before a login: one line per key of the ceremony it
    /// holds, empty when it holds none. `None` when the token shows no
    /// public keys (it is tried after the PIN instead).
    pub fn token_roles(&self, index: usize) -> Option<Vec<String>> {
        let choice = self.token_list.get(index)?;
        if choice.keys.is_empty() {
            return None;
        }
        let loaded = self.loaded.as_ref()?;
        let now = self.now();
        let mut lines = Vec::new();
        for key in &choice.keys {
            let mut sets = Vec::new();
            for (file_index, file) in loaded.files.iter().enumerate() {
                // A file that cannot be read now (a pulled stick) leaves
                // the answer unknown: the error shows when signing.
                let plan = loaded.plan(file_index, now).ok()?;
                if plan.keyids_for(key).is_empty() {
                    continue;
                }
                let labels: Vec<&str> = plan
                    .key_sets()
                    .iter()
                    .filter(|set| {
                        set.role
                            .keyids
                            .iter()
                            .any(|id| set.keys.get(id) == Some(key))
                    })
                    .map(|set| set.label.as_str())
                    .collect();
                sets.push(format!("{} ({})", file.staged.display, labels.join(", ")));
            }
            if !sets.is_empty() {
                lines.push(format!(
                    "key {} may sign {}",
                    short_id(&key.key_id()),
                    sets.join("; ")
                ));
            }
        }
        Some(lines)
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

    /// The witness confirms the time (`at`, the host clock or a corrected
    /// one). Expiry checks use it from now on.
    pub fn confirm_clock(&mut self, at: OffsetDateTime) -> Result<(), SessionError> {
        if self.stage != Stage::Clock {
            return Err(SessionError::WrongStage("confirming the clock"));
        }
        self.confirmed = Some((at, Instant::now()));
        self.record(Event::ClockConfirmed {
            confirmed: rfc3339(at),
            host_clock: rfc3339(self.host_clock),
        })?;
        self.stage = Stage::Media;
        Ok(())
    }

    /// Loads the stick at `dir`. An unrecognised or unreadable stick leaves
    /// the session at [`Stage::Media`] to try another; a stick whose trust
    /// does not hold (pinned root mismatch, broken history, a staged root
    /// that is not N+1) stops the ceremony.
    pub fn load_media(&mut self, dir: &Path) -> Result<(), SessionError> {
        if self.stage != Stage::Media {
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
                self.stage = Stage::Stopped(error.to_string());
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
        self.boards = (0..loaded.files.len())
            .map(|i| loaded.plan(i, now).map(|p| p.board()).unwrap_or_default())
            .collect();
        let empty = loaded.files.is_empty();
        self.loaded = Some(loaded);
        self.stage = if empty {
            Stage::Stopped("the stick holds nothing to sign".into())
        } else {
            Stage::Review { file: 0 }
        };
        Ok(())
    }

    /// The keyholder and witness have read the review of the current file:
    /// on to the next file, or to choosing a token after the last.
    pub fn acknowledge_review(&mut self) -> Result<(), SessionError> {
        let Stage::Review { file } = self.stage else {
            return Err(SessionError::WrongStage("acknowledging a review"));
        };
        let loaded = self
            .loaded
            .as_ref()
            .ok_or(SessionError::WrongStage("review"))?;
        let item = &loaded.files[file];
        let event = Event::ReviewAcknowledged {
            file: item.staged.display.clone(),
            role: item.staged.role.clone(),
            version: item.version,
            canonical_sha256: item.canonical_sha256.clone(),
        };
        let count = loaded.files.len();
        self.record(event)?;
        self.stage = if file + 1 < count {
            Stage::Review { file: file + 1 }
        } else {
            self.rescan();
            Stage::Tokens
        };
        Ok(())
    }

    /// Back to choosing the stick (the wrong one was loaded, or a file
    /// changed under the review): allowed while nothing has been written
    /// to the stick; after that, the transcript there belongs to this
    /// stick, and another one needs a new session.
    pub fn change_stick(&mut self) -> Result<(), SessionError> {
        if !matches!(self.stage, Stage::Review { .. } | Stage::Tokens) {
            return Err(SessionError::WrongStage("changing the stick"));
        }
        if self.transcript.is_some() {
            return Err(SessionError::StickInUse);
        }
        self.loaded = None;
        self.boards.clear();
        self.stage = Stage::Media;
        Ok(())
    }

    /// Looks for tokens again (a keyholder plugged theirs in).
    pub fn rescan(&mut self) {
        let (list, problems) = self.tokens.scan();
        self.token_list = list;
        self.token_problems = problems;
    }

    /// The keyholder picks token `index`: its PIN counter is read before
    /// the PIN is asked for. Refused while the machine is online.
    pub fn choose_token(&mut self, index: usize) -> Result<(), SessionError> {
        if self.stage != Stage::Tokens {
            return Err(SessionError::WrongStage("choosing a token"));
        }
        if let Some(reason) = self.online_refusal() {
            return Err(SessionError::Online(reason));
        }
        let Some(choice) = self.token_list.get(index) else {
            return Err(SessionError::WrongStage(
                "choosing a token that is not listed",
            ));
        };
        let description = choice.description.clone();
        if self
            .token_roles(index)
            .is_some_and(|roles| roles.is_empty())
        {
            return Err(SessionError::NoKeyHere(format!(
                "{description}: this token holds no key of this ceremony; the PIN was not asked for"
            )));
        }
        let state = self
            .tokens
            .pin_state(index)
            .map_err(|error| SessionError::Token {
                token: description.clone(),
                error,
            })?;
        if state == PinState::Locked {
            return Err(SessionError::Token {
                token: description,
                error: SignError::Pin(signers::PinError::Locked),
            });
        }
        self.stage = Stage::Pin {
            token: index,
            state: Some(state),
        };
        Ok(())
    }

    /// Back from the PIN screen without trying the PIN.
    pub fn cancel_pin(&mut self) {
        if matches!(self.stage, Stage::Pin { .. }) {
            self.stage = Stage::Tokens;
        }
    }

    /// Unlocks the chosen token with `pin` and signs every staged file one
    /// of its keys may sign (one PIN for the whole batch), each signature
    /// verified, written atomically and read back. `progress` is called
    /// before each file. A wrong PIN keeps the PIN screen (with the new
    /// counter); anything else returns to the token list with the turn's
    /// report. Files that fail are unchanged.
    pub fn sign_with_pin(
        &mut self,
        pin: Pin,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<&TurnReport, SessionError> {
        let Stage::Pin { token, .. } = self.stage else {
            return Err(SessionError::WrongStage("signing"));
        };
        if let Some(reason) = self.online_refusal() {
            self.stage = Stage::Tokens;
            return Err(SessionError::Online(reason));
        }
        let description = self.token_list[token].description.clone();
        let unlocked = self.tokens.unlock(token, &pin);
        drop(pin);
        let mut signers = match unlocked {
            Ok(signers) => signers,
            Err(error) => {
                let state = self.tokens.pin_state(token).ok();
                self.stage = match (&error, state) {
                    (_, Some(PinState::Locked)) => Stage::Tokens,
                    (SignError::Pin(_), state) => Stage::Pin { token, state },
                    _ => Stage::Tokens,
                };
                self.record(Event::Failed {
                    step: "unlock".into(),
                    file: None,
                    error: format!("{description}: {error}"),
                })?;
                return Err(SessionError::Token {
                    token: description,
                    error,
                });
            }
        };
        let now = self.now();
        let loaded = self
            .loaded
            .as_ref()
            .ok_or(SessionError::WrongStage("signing"))?;
        // Which files this token's keys may sign.
        let mut work = Vec::new();
        let mut unreadable = None;
        for index in 0..loaded.files.len() {
            match loaded.plan(index, now) {
                Ok(plan) => {
                    if signers
                        .iter()
                        .any(|s| !plan.keyids_for(s.public_key()).is_empty())
                    {
                        work.push(index);
                    }
                }
                Err(error) => unreadable = unreadable.or(Some(error)),
            }
        }
        if work.is_empty() {
            self.stage = Stage::Tokens;
            if let Some(error) = unreadable {
                // A pulled stick, or a file changed under the ceremony.
                return Err(SessionError::Media(error));
            }
            let held: Vec<String> = signers
                .iter()
                .map(|s| short_id(&s.key_id()).to_owned())
                .collect();
            return Err(SessionError::NoKeyHere(format!(
                "{description}: this token holds no key of this ceremony (its keys: {})",
                if held.is_empty() {
                    "none".to_owned()
                } else {
                    held.join(", ")
                }
            )));
        }
        let mut report = TurnReport {
            token: description,
            skipped: loaded.files.len() - work.len(),
            ..TurnReport::default()
        };
        self.flush()?;
        for (done, &index) in work.iter().enumerate() {
            progress(Progress {
                done,
                total: work.len(),
            });
            self.sign_one(index, now, &mut signers, &mut report)?;
        }
        progress(Progress {
            done: work.len(),
            total: work.len(),
        });
        self.stage = Stage::Tokens;
        self.turns.push(report);
        Ok(self.turns.last().expect("just pushed"))
    }

    fn sign_one(
        &mut self,
        index: usize,
        now: OffsetDateTime,
        signers: &mut [Box<dyn signers::Signer>],
        report: &mut TurnReport,
    ) -> Result<(), SessionError> {
        let loaded = self.loaded.as_ref().expect("loaded before signing");
        let file = &loaded.files[index];
        let display = file.staged.display.clone();
        let role = file.staged.role.clone();
        let path = file.staged.path.clone();
        let result = loaded
            .read_and_plan(index, now)
            .map_err(|e| e.to_string())
            .and_then(|(original, plan)| {
                let mut refs: Vec<&mut dyn signers::Signer> =
                    signers.iter_mut().map(|s| s.as_mut() as _).collect();
                sign_plan(&path, &original, plan, &mut refs)
                    .map_err(|e: SignFileError| e.to_string())
            });
        match result {
            Ok(outcome) => {
                for ((who, keyids), signature) in
                    outcome.signed_with.iter().zip(&outcome.signatures)
                {
                    self.record(Event::Signed {
                        file: display.clone(),
                        role: role.clone(),
                        version: self.loaded.as_ref().map_or(0, |l| l.files[index].version),
                        canonical_sha256: outcome.digest.clone(),
                        keyids: keyids.clone(),
                        signer: who.to_string(),
                        signature: signature.sig.clone(),
                    })?;
                    report.signed.push((display.clone(), keyids.clone()));
                }
                self.record(Event::Written {
                    file: display,
                    sha256: outcome.file_sha256.clone(),
                })?;
                if let Some(board) = self.boards.get_mut(index) {
                    *board = outcome.board;
                }
            }
            Err(error) => {
                report.failed.push((display.clone(), error.clone()));
                self.record(Event::Failed {
                    step: "sign".into(),
                    file: Some(display),
                    error,
                })?;
            }
        }
        Ok(())
    }

    /// No more keyholders: on to the witness sign-off.
    pub fn finish(&mut self) -> Result<(), SessionError> {
        if self.stage != Stage::Tokens {
            return Err(SessionError::WrongStage("finishing"));
        }
        self.stage = Stage::Finished;
        Ok(())
    }

    /// The witness signs off by name; the summary closes the transcript,
    /// which is written to the stick now.
    pub fn sign_off(&mut self, witness: &str) -> Result<(), SessionError> {
        if self.stage != Stage::Finished {
            return Err(SessionError::WrongStage("signing off"));
        }
        let name = witness.trim();
        if name.is_empty() {
            return Err(SessionError::WrongStage("signing off without a name"));
        }
        self.record(Event::WitnessSignoff {
            name: name.to_owned(),
            statement: "I watched this ceremony and compared the digests read aloud".into(),
            signature: None,
        })?;
        let summary = self.summary();
        self.record(Event::SessionFinished { summary })?;
        self.flush()?;
        if let Some(mount) = self.remounted.take() {
            // Everything is on the stick; a failure here leaves it writable,
            // which the next boot undoes, and is not worth stopping for.
            let _ = crate::media::writable::make_read_only(&mount);
        }
        self.stage = Stage::Done;
        Ok(())
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
        if let Some(loaded) = &self.loaded {
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

    /// Opens the stick's transcript (continuing its chain) and writes what
    /// waited in memory. Nothing is signed if this fails.
    fn flush(&mut self) -> Result<(), SessionError> {
        let Some(loaded) = &self.loaded else {
            return Ok(());
        };
        if self.transcript.is_none() {
            // The first write: a stick mounted read-only (the image mounts
            // them so) is remounted read-write now, and back at sign-off.
            if let Some(mount) = crate::media::writable::make_writable(&loaded.media.dir)? {
                self.remounted = Some(mount);
            }
            let transcript = Transcript::open(&loaded.media.transcript_path, self.options.drill)?;
            self.transcript = Some(transcript);
        }
        let transcript = self.transcript.as_mut().expect("opened above");
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
        Event::SessionStarted { tool, .. } => format!("session started ({tool})"),
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
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests;
