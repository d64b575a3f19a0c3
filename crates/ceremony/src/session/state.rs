//! The session's typed states: each stage owns exactly the data it needs,
//! so "a review without a loaded stick" or "a PIN for a token that was
//! never listed" cannot be represented.

use signers::PinState;
use time::OffsetDateTime;
use tuf_metadata::threshold::{ThresholdReport, short_id};

use super::{Stage, TokenChoice};
use crate::key_sets::file_key_set_lines;
use crate::media::Loaded;
use crate::review::ReviewLine;

/// One file's threshold board: each key set with its report.
pub(super) type Board = Vec<(String, ThresholdReport)>;

/// The loaded stick, the threshold board of each of its files, and the
/// manifest's key sets beside the appliance's own for each.
pub(super) struct Stick {
    pub(super) loaded: Loaded,
    pub(super) boards: Vec<Board>,
    /// Per file: [`key_set_lines`] (signatures do not change key sets, so
    /// worked out once, at the load).
    pub(super) key_sets: Vec<Vec<ReviewLine>>,
}

impl Stick {
    /// Boards and key sets as of the load (a file that cannot be planned
    /// has none).
    pub(super) fn new(loaded: Loaded, now: OffsetDateTime) -> Self {
        let (boards, key_sets) = (0..loaded.files.len())
            .map(|i| match loaded.plan(i, now) {
                Ok(plan) => {
                    let lines = file_key_set_lines(&loaded, i, plan.key_sets());
                    (plan.board(), lines)
                }
                Err(_) => (Board::new(), Vec::new()),
            })
            .unzip();
        Stick {
            loaded,
            boards,
            key_sets,
        }
    }
}

/// One scan for tokens, with what each listed token may sign, worked out
/// once when the list is made (not every time the list is shown).
#[derive(Default)]
pub(super) struct Scan {
    pub(super) list: Vec<TokenChoice>,
    pub(super) problems: Vec<String>,
    /// Per token: one line per key of the ceremony it holds (empty when it
    /// holds none), `None` when it shows no public keys before a login.
    pub(super) roles: Vec<Option<Vec<String>>>,
}

impl Scan {
    /// The scan `(list, problems)`, judged against `loaded` at `now`.
    pub(super) fn new(
        (list, problems): (Vec<TokenChoice>, Vec<String>),
        loaded: &Loaded,
        now: OffsetDateTime,
    ) -> Self {
        let roles = list
            .iter()
            .map(|choice| roles_of(choice, loaded, now))
            .collect();
        Scan {
            list,
            problems,
            roles,
        }
    }
}

/// What `choice` may sign, judged by the public keys it shows before a
/// login. `None` when it shows none, or when a file cannot be read now (a
/// pulled stick): the answer is unknown and the error shows when signing.
fn roles_of(choice: &TokenChoice, loaded: &Loaded, now: OffsetDateTime) -> Option<Vec<String>> {
    if choice.keys.is_empty() {
        return None;
    }
    let plans = (0..loaded.files.len())
        .map(|index| loaded.plan(index, now).ok())
        .collect::<Option<Vec<_>>>()?;
    let mut lines = Vec::new();
    for key in &choice.keys {
        let mut sets = Vec::new();
        for (file, plan) in loaded.files.iter().zip(&plans) {
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

/// Wrong PINs typed for the chosen token since it was chosen, so the PIN
/// screen changes after each one (a token whose counter does not move
/// would otherwise show the same screen twice).
#[derive(Clone, Debug, Default)]
pub(super) struct PinFailures {
    /// How many.
    pub(super) count: u32,
    /// What the token said the last time.
    pub(super) last: Option<String>,
}

/// Where the ceremony is, with what that step owns.
pub(super) enum State {
    Clock,
    Media,
    Review {
        stick: Stick,
        file: usize,
    },
    Tokens {
        stick: Stick,
        scan: Scan,
    },
    Pin {
        stick: Stick,
        scan: Scan,
        token: usize,
        pin_state: Option<PinState>,
        failures: PinFailures,
    },
    Finished {
        stick: Stick,
    },
    Done {
        stick: Stick,
    },
    Stopped(String),
}

impl State {
    /// The public name of the step.
    pub(super) fn stage(&self) -> Stage {
        match self {
            State::Clock => Stage::Clock,
            State::Media => Stage::Media,
            State::Review { file, .. } => Stage::Review { file: *file },
            State::Tokens { .. } => Stage::Tokens,
            State::Pin {
                token, pin_state, ..
            } => Stage::Pin {
                token: *token,
                state: *pin_state,
            },
            State::Finished { .. } => Stage::Finished,
            State::Done { .. } => Stage::Done,
            State::Stopped(reason) => Stage::Stopped(reason.clone()),
        }
    }

    /// The loaded stick, in every step that has one.
    pub(super) fn stick(&self) -> Option<&Stick> {
        match self {
            State::Review { stick, .. }
            | State::Tokens { stick, .. }
            | State::Pin { stick, .. }
            | State::Finished { stick }
            | State::Done { stick } => Some(stick),
            State::Clock | State::Media | State::Stopped(_) => None,
        }
    }

    /// The last token scan, while a token is being chosen or unlocked.
    pub(super) fn scan(&self) -> Option<&Scan> {
        match self {
            State::Tokens { scan, .. } | State::Pin { scan, .. } => Some(scan),
            _ => None,
        }
    }
}
