//! `say!` and `say_err!`: how both binaries print a line that may carry
//! text they did not write (names, paths, key ids from a stick, a
//! repository or a key file). Each line goes through
//! [`tuf_metadata::escape`], so such text never reaches a terminal raw
//! (DESIGN.md); plain text is printed unchanged.
//!
//! A line that cannot be written (a reader that stopped, `| head`; a full
//! disk behind `>`; a closed descriptor) never panics and never stops the
//! command half-way through its writes: the failure is remembered, the
//! command finishes its work (its files are consistent), and [`finish`]
//! turns the outcome into the exit code.

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::Mutex;

/// The first failure to write standard output, if any.
static STDOUT_FAILURE: Mutex<Option<io::ErrorKind>> = Mutex::new(None);

/// Prints one line on stdout through [`tuf_metadata::escape`].
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::out_line(&$crate::escape(&::std::format!($($arg)*)))
    };
}

/// [`say!`] for stderr.
#[macro_export]
macro_rules! say_err {
    ($($arg:tt)*) => {
        $crate::err_line(&$crate::escape(&::std::format!($($arg)*)))
    };
}

/// Writes `text` and a newline to stdout as is (for text this program
/// wrote itself; anything else goes through [`say!`]). A failure is
/// remembered for [`finish`], not raised.
pub fn out_line(text: &str) {
    out_text(&format!("{text}\n"));
}

/// [`out_line`] without the newline.
pub fn out_text(text: &str) {
    let mut stdout = io::stdout().lock();
    let result = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    if let Err(e) = result {
        let mut failure = STDOUT_FAILURE.lock().unwrap_or_else(|p| p.into_inner());
        failure.get_or_insert(e.kind());
    }
}

/// Writes `text` and a newline to stderr; a stderr that cannot be
/// written is ignored (there is nowhere left to say so).
pub fn err_line(text: &str) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}

/// The exit code for a command's `result`: its error as one escaped
/// `error:` line (exit 1); else, if stdout could not be written (a reader
/// that stopped, a full disk), a line saying the work was done but its
/// report was lost (exit 1: a script must not take a report it never got
/// for a clean run); else success.
pub fn finish(result: anyhow::Result<()>) -> ExitCode {
    let stdout_failure = *STDOUT_FAILURE.lock().unwrap_or_else(|p| p.into_inner());
    match (result, stdout_failure) {
        (Err(err), _) => {
            // One line: the chain of contexts joined, never a backtrace.
            // Escaped: messages quote paths, names and fields from sticks,
            // repositories and transcripts.
            say_err!("error: {err:#}");
            ExitCode::from(1)
        }
        (Ok(()), Some(kind)) => {
            say_err!(
                "error: cannot write to standard output ({}); the command itself completed, \
                 its report was lost",
                io::Error::from(kind)
            );
            ExitCode::from(1)
        }
        (Ok(()), None) => ExitCode::SUCCESS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_exit_one_and_success_is_zero() {
        assert_eq!(finish(Err(anyhow::anyhow!("x"))), ExitCode::from(1));
        assert_eq!(finish(Ok(())), ExitCode::SUCCESS);
    }
}
