//! PINs and passphrases: held in zeroizing memory, never printed, and read
//! from a file (never from argv, where `ps` and shell history would see it).

use std::fmt;
use std::path::Path;

use zeroize::Zeroizing;

/// A PIN or passphrase. Its `Debug` shows nothing; its memory is wiped on drop.
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// Wraps a secret already in memory (e.g. typed into the TUI).
    pub fn new(secret: Zeroizing<String>) -> Self {
        Pin(secret)
    }

    /// Reads a PIN file: the first line, without its line ending. Refuses an
    /// empty PIN rather than sending one to a token.
    pub fn from_file(path: &Path) -> Result<Self, PinError> {
        let bytes = Zeroizing::new(
            std::fs::read(path).map_err(|e| PinError::File(format!("{}: {e}", path.display())))?,
        );
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| PinError::File(format!("{}: not UTF-8", path.display())))?;
        let first = text.lines().next().unwrap_or("");
        if first.is_empty() {
            return Err(PinError::File(format!(
                "{}: the PIN is empty",
                path.display()
            )));
        }
        Ok(Pin(Zeroizing::new(first.to_owned())))
    }

    /// The secret, for handing to the backend and nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// What the token says about its PIN counter, shown before an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinState {
    /// No failed attempts recorded (or the token does not say).
    Ok,
    /// Some attempts have failed; `tries_left` if the token tells.
    CountLow {
        /// Remaining attempts, if known.
        tries_left: Option<u32>,
    },
    /// One more wrong PIN locks the token.
    FinalTry,
    /// The PIN is locked: only the security officer (PUK/SO PIN) can reset it.
    Locked,
}

impl fmt::Display for PinState {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            PinState::Ok => f.write_str("PIN ready"),
            PinState::CountLow {
                tries_left: Some(n),
            } => write!(f, "earlier PIN attempts failed: {n} tries left"),
            PinState::CountLow { tries_left: None } => {
                f.write_str("earlier PIN attempts failed: few tries left")
            }
            PinState::FinalTry => f.write_str("FINAL TRY: one more wrong PIN locks this token"),
            PinState::Locked => f.write_str("PIN locked: the security officer must reset it"),
        }
    }
}

/// Why a PIN could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// The PIN file could not be read.
    #[error("PIN file {0}")]
    File(String),
    /// The token refused the PIN.
    #[error("wrong PIN{}", tries_left.map(|n| format!(" ({n} tries left)")).unwrap_or_default())]
    Wrong {
        /// Remaining attempts, where the token tells.
        tries_left: Option<u32>,
    },
    /// The token will not accept any PIN until it is reset.
    #[error("the PIN is locked: the security officer must reset it before this token can sign")]
    Locked,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_never_shows_in_debug_output() {
        let pin = Pin::new(Zeroizing::new("123456".into()));
        assert_eq!(format!("{pin:?}"), "Pin(<redacted>)");
        assert_eq!(pin.expose(), "123456");
    }

    #[test]
    fn a_pin_file_gives_its_first_line() {
        let dir = std::env::temp_dir().join(format!("pin-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pin");
        std::fs::write(&path, "987654\n").unwrap();
        assert_eq!(Pin::from_file(&path).unwrap().expose(), "987654");
        std::fs::write(&path, "\n").unwrap();
        assert!(
            Pin::from_file(&path)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wrong_pin_messages_say_how_many_tries_are_left() {
        assert_eq!(
            PinError::Wrong {
                tries_left: Some(2)
            }
            .to_string(),
            "wrong PIN (2 tries left)"
        );
        assert_eq!(
            PinError::Wrong { tries_left: None }.to_string(),
            "wrong PIN"
        );
    }
}
