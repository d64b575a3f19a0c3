//! A keyholder's turn: unlock the chosen token once, then sign, verify,
//! write and read back every staged file one of its keys may sign — in
//! batches ([`sign_plans`]: one `sign_many` per key, one durable write of
//! the batch), so 16,384 hash bins cost a few hundred syncs, not one each,
//! while the screen still moves after every batch.

use signers::{Pin, PinState, SignError, Signer};
use time::OffsetDateTime;
use transcript::Event;
use tuf_metadata::threshold::short_id;

use super::state::{State, Stick};
use super::status::is_gone;
use super::{Progress, Session, SessionError, TurnReport};
use crate::sign_file::{BatchFile, SignFileError, SignOutcome, sign_plans};

/// Files signed and written together: large enough that a hash-bin tree
/// costs a few syncs per thousand files, small enough that the progress
/// bar moves every few seconds on the slowest token.
const BATCH_FILES: usize = 256;

/// Where a turn that did not complete leaves the session.
#[derive(Clone, Copy)]
enum Back {
    /// The PIN screen again (the same token, its counter unchanged).
    ToPin,
    /// The token list.
    ToTokens,
}

impl Session {
    /// Unlocks the chosen token with `pin` and signs every staged file one
    /// of its keys may sign (one PIN for the whole batch), each signature
    /// verified, written atomically and read back. `progress` is called
    /// before each batch of files and at the end. A wrong PIN keeps the PIN screen (with the new
    /// counter); anything else returns to the token list with the turn's
    /// report. Files that fail are unchanged.
    pub fn sign_with_pin(
        &mut self,
        pin: Pin,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<&TurnReport, SessionError> {
        let (stick, scan, token, pin_state, mut failures) =
            match std::mem::replace(&mut self.state, State::Media) {
                State::Pin {
                    stick,
                    scan,
                    token,
                    pin_state,
                    failures,
                } => (stick, scan, token, pin_state, failures),
                other => {
                    self.state = other;
                    return Err(SessionError::WrongStage("signing"));
                }
            };
        if let Some(reason) = self.online_refusal() {
            self.state = State::Tokens { stick, scan };
            return Err(SessionError::Online(reason));
        }
        // Before the PIN reaches the token: a pulled stick is said plainly.
        if is_gone(&stick.loaded) {
            self.state = State::Tokens { stick, scan };
            self.record_stick_gone();
            return Err(SessionError::StickGone);
        }
        let description = scan.list[token].description.clone();
        let unlocked = self.tokens.unlock(token, &pin);
        drop(pin);
        let signers = match unlocked {
            Ok(signers) => signers,
            Err(error) => {
                let state = self.tokens.pin_state(token).ok();
                failures.count += 1;
                failures.last = Some(error.to_string());
                self.state = match (&error, state) {
                    (_, Some(PinState::Locked)) => State::Tokens { stick, scan },
                    (SignError::Pin(_), state) => State::Pin {
                        stick,
                        scan,
                        token,
                        pin_state: state,
                        failures,
                    },
                    _ => State::Tokens { stick, scan },
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
        let mut stick = stick;
        let mut back = Back::ToTokens;
        let result = self.sign_batch(&mut stick, description, signers, progress, &mut back);
        self.state = match (&result, back) {
            (Ok(_), _) | (Err(_), Back::ToTokens) => State::Tokens { stick, scan },
            (Err(_), Back::ToPin) => State::Pin {
                stick,
                scan,
                token,
                pin_state,
                failures,
            },
        };
        self.turns.push(result?);
        Ok(self.turns.last().expect("just pushed"))
    }

    /// Signs every file of `stick` the unlocked `signers` may sign;
    /// `back` says where a failure leaves the session.
    fn sign_batch(
        &mut self,
        stick: &mut Stick,
        description: String,
        mut signers: Vec<Box<dyn Signer>>,
        progress: &mut dyn FnMut(Progress),
        back: &mut Back,
    ) -> Result<TurnReport, SessionError> {
        let now = self.now();
        let loaded = &stick.loaded;
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
                Err(error) => {
                    if unreadable.is_none() {
                        unreadable = Some((loaded.files[index].staged.display.clone(), error));
                    }
                }
            }
        }
        if work.is_empty() {
            if let Some((file, error)) = unreadable {
                // A pulled stick, or a file changed under the ceremony.
                self.record_kept(Event::StickError {
                    file,
                    error: error.to_string(),
                });
                if is_gone(loaded) {
                    return Err(SessionError::StickGone);
                }
                return Err(SessionError::Media(error));
            }
            let held: Vec<String> = signers
                .iter()
                .map(|s| short_id(&s.key_id()).to_owned())
                .collect();
            let reason = format!(
                "this token holds no key of this ceremony (its keys: {})",
                if held.is_empty() {
                    "none".to_owned()
                } else {
                    held.join(", ")
                }
            );
            self.record_refused_token(&description, &reason);
            return Err(SessionError::NoKeyHere(format!("{description}: {reason}")));
        }
        let mut report = TurnReport {
            token: description,
            skipped: loaded.files.len() - work.len(),
            ..TurnReport::default()
        };
        // From here on a failure keeps the PIN screen, as a refused PIN does.
        *back = Back::ToPin;
        if let Err(error) = self.flush(&stick.loaded.media) {
            // Nothing is signed; the entry shows on screen.
            self.record_kept(Event::StickError {
                file: stick.loaded.media.transcript_path.display().to_string(),
                error: error.to_string(),
            });
            return Err(error);
        }
        for (n, batch) in work.chunks(BATCH_FILES).enumerate() {
            progress(Progress {
                done: n * BATCH_FILES,
                total: work.len(),
            });
            self.sign_files(stick, batch, now, &mut signers, &mut report)?;
        }
        progress(Progress {
            done: work.len(),
            total: work.len(),
        });
        Ok(report)
    }

    /// Signs the files `indices` of `stick` as one batch and records each
    /// in the transcript, in the stick's order: what was signed and
    /// written, or why it was not (a failed file is unchanged).
    fn sign_files(
        &mut self,
        stick: &mut Stick,
        indices: &[usize],
        now: OffsetDateTime,
        signers: &mut [Box<dyn Signer>],
        report: &mut TurnReport,
    ) -> Result<(), SessionError> {
        let mut results: Vec<(usize, Result<SignOutcome, String>)> = Vec::new();
        let mut batch = Vec::new();
        let mut batched = Vec::new();
        for &index in indices {
            match stick.loaded.read_and_plan(index, now) {
                Ok((original, plan)) => {
                    batch.push(BatchFile {
                        path: stick.loaded.files[index].staged.path.clone(),
                        original,
                        plan,
                    });
                    batched.push(index);
                }
                Err(error) => results.push((index, Err(error.to_string()))),
            }
        }
        let mut refs: Vec<&mut dyn Signer> = signers.iter_mut().map(|s| s.as_mut() as _).collect();
        let signed = sign_plans(batch, &mut refs);
        results.extend(
            batched
                .into_iter()
                .zip(signed)
                .map(|(index, r)| (index, r.map_err(|e: SignFileError| e.to_string()))),
        );
        results.sort_by_key(|(index, _)| *index);
        for (index, result) in results {
            self.record_signed(stick, index, result, report)?;
        }
        Ok(())
    }

    /// The transcript entries and the turn report for one file's result.
    fn record_signed(
        &mut self,
        stick: &mut Stick,
        index: usize,
        result: Result<SignOutcome, String>,
        report: &mut TurnReport,
    ) -> Result<(), SessionError> {
        let file = &stick.loaded.files[index];
        let display = file.staged.display.clone();
        let role = file.staged.role.clone();
        let version = file.version;
        match result {
            Ok(outcome) => {
                for ((who, keyids), signature) in
                    outcome.signed_with.iter().zip(&outcome.signatures)
                {
                    self.record(Event::Signed {
                        file: display.clone(),
                        role: role.clone(),
                        version,
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
                if let Some(board) = stick.boards.get_mut(index) {
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
}
