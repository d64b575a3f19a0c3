//! The sessions of a verified transcript and who signed each off: what
//! `tuf-repo transcript verify` shows the witness, and warns about when a
//! session has no sign-off (the appliance was quit, crashed, or the stick
//! was pulled before the witness signed).

use crate::entry::{Entry, Event};

/// One session: from a `session_started` entry to the next one (or the end
/// of the file). Lines are 1-based, as the verifier names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// The line of its `session_started` entry.
    pub started_line: usize,
    /// The line of its `session_finished` entry, if it has one.
    pub finished_line: Option<usize>,
    /// Witness sign-offs after its start and before its `session_finished`
    /// (or before the next session or the end of the file): the only ones
    /// that vouch for what the session did.
    pub signoffs: Vec<Signoff>,
}

impl SessionRecord {
    /// Whether a witness signed this session off.
    pub fn signed_off(&self) -> bool {
        !self.signoffs.is_empty()
    }
}

/// A `witness_signoff` entry, as the check lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signoff {
    /// Its line.
    pub line: usize,
    /// The witness's name as typed (unescaped: print it through
    /// `tuf_metadata::escape`).
    pub name: String,
    /// The key id of the witness's signature, when the sign-off is signed
    /// (the verifier has already checked it).
    pub keyid: Option<String>,
}

/// Every witness sign-off in the file, in order, wherever it stands.
pub fn signoffs(entries: &[Entry]) -> Vec<Signoff> {
    entries
        .iter()
        .enumerate()
        .filter_map(|(index, entry)| signoff(index, entry))
        .collect()
}

/// The sessions of `entries` (as [`crate::verify`] returned them, line =
/// index + 1), each with the sign-offs that count for it. Entries before
/// the first `session_started` belong to no session.
pub fn sessions(entries: &[Entry]) -> Vec<SessionRecord> {
    let mut out: Vec<SessionRecord> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let line = index + 1;
        if matches!(entry.event, Event::SessionStarted { .. }) {
            out.push(SessionRecord {
                started_line: line,
                finished_line: None,
                signoffs: Vec::new(),
            });
            continue;
        }
        let Some(current) = out.last_mut() else {
            continue;
        };
        if current.finished_line.is_some() {
            continue;
        }
        if matches!(entry.event, Event::SessionFinished { .. }) {
            current.finished_line = Some(line);
        } else if let Some(signoff) = signoff(index, entry) {
            current.signoffs.push(signoff);
        }
    }
    out
}

fn signoff(index: usize, entry: &Entry) -> Option<Signoff> {
    let Event::WitnessSignoff {
        name, signature, ..
    } = &entry.event
    else {
        return None;
    };
    Some(Signoff {
        line: index + 1,
        name: name.clone(),
        keyid: signature.as_ref().map(|s| s.keyid.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GENESIS_PREV;

    fn entries(events: Vec<Event>) -> Vec<Entry> {
        events
            .into_iter()
            .enumerate()
            .map(|(seq, event)| Entry {
                seq: seq as u64,
                prev: GENESIS_PREV.into(),
                time: "2026-11-22T10:00:00Z".into(),
                drill: false,
                event,
            })
            .collect()
    }

    fn started() -> Event {
        Event::SessionStarted {
            tool: "ceremony 0.1.0".into(),
            host_clock: "2026-11-22T09:58:12Z".into(),
            boot_files: Vec::new(),
            network_hardware: Vec::new(),
        }
    }

    fn witness(name: &str) -> Event {
        Event::WitnessSignoff {
            name: name.into(),
            statement: "I watched".into(),
            signature: None,
        }
    }

    fn finished() -> Event {
        Event::SessionFinished { summary: vec![] }
    }

    #[test]
    fn a_signed_off_session_lists_its_witness() {
        let e = entries(vec![started(), witness("Carol"), finished()]);
        let s = sessions(&e);
        assert_eq!(s.len(), 1);
        assert!(s[0].signed_off());
        assert_eq!(s[0].finished_line, Some(3));
        assert_eq!(
            s[0].signoffs,
            [Signoff {
                line: 2,
                name: "Carol".into(),
                keyid: None
            }]
        );
    }

    #[test]
    fn a_quit_session_and_a_sign_off_after_finishing_do_not_count() {
        let e = entries(vec![
            started(),
            finished(),
            witness("Late"),
            started(),
            Event::TokenRefused {
                token: "mallory".into(),
                reason: "holds no key of this ceremony".into(),
            },
            started(),
            witness("Dave"),
        ]);
        let s = sessions(&e);
        let lines: Vec<(usize, bool)> =
            s.iter().map(|s| (s.started_line, s.signed_off())).collect();
        // The first finished before anyone signed; the second was cut off;
        // the third was signed off though it never finished.
        assert_eq!(lines, [(1, false), (4, false), (6, true)]);
        let names: Vec<String> = signoffs(&e).into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["Late", "Dave"]);
    }
}
