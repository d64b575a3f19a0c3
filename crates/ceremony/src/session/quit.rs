//! Leaving before the witness signs off: the transcript ends with a
//! `session_finished` entry that says the ceremony was abandoned.

use transcript::Event;

use super::state::State;
use super::{Session, SessionError};

impl Session {
    /// Whether leaving now abandons a ceremony under way: a stick is
    /// loaded and the witness has not signed off (the UI asks first).
    pub fn is_under_way(&self) -> bool {
        matches!(
            self.state,
            State::Review { .. }
                | State::Tokens { .. }
                | State::Pin { .. }
                | State::Finished { .. }
        )
    }

    /// The witness confirmed leaving before sign-off: a `session_finished`
    /// entry says the ceremony was abandoned, with the results so far. It
    /// goes to the stick when this session already wrote there (the
    /// transcript there must not end mid-ceremony); a stick never written
    /// to stays untouched (nothing was signed). Nothing to do when no
    /// ceremony is under way.
    pub fn abandon(&mut self) -> Result<(), SessionError> {
        if !self.is_under_way() {
            return Ok(());
        }
        let mut summary =
            vec!["ABANDONED: the witness confirmed quitting before the sign-off".to_owned()];
        summary.extend(self.summary());
        self.record(Event::SessionFinished { summary })?;
        if let Some(media) = self
            .transcript
            .is_some()
            .then(|| self.loaded().map(|l| l.media.clone()))
            .flatten()
        {
            self.flush(&media)?;
            if let Some(mount) = self.remounted.take() {
                let _ = crate::media::writable::make_read_only(&mount);
            }
        }
        self.state = State::Stopped("the ceremony was abandoned before the sign-off".into());
        Ok(())
    }
}
