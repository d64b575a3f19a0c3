//! Driving a terminal program as a person would: a private tmux server
//! (its own socket, no user configuration) with one window, keys sent with
//! `send-keys` and the screen read with `capture-pane`. The end-to-end tests
//! (`tests/harness/terminal.rs`) and `cargo xtask image-test` both use this
//! one driver; each wraps it in its own error style.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Why driving tmux failed; each variant says what to do or what was seen.
#[derive(Debug, thiserror::Error)]
pub enum TmuxError {
    /// tmux could not be started at all.
    #[error("cannot run tmux ({0}): install tmux (`cargo xtask test` does)")]
    Spawn(std::io::Error),
    /// tmux ran and refused.
    #[error("tmux {command}: {stderr}")]
    Failed {
        /// The tmux subcommand and its arguments.
        command: String,
        /// What tmux printed.
        stderr: String,
    },
    /// The screen never became what was waited for.
    #[error("waited {seconds} s for {what}; the screen is:\n{screen}")]
    Timeout {
        /// What was waited for.
        what: String,
        /// How long.
        seconds: u64,
        /// The last screen seen.
        screen: String,
    },
    /// The program in the window ended while something was waited for.
    #[error("the program exited while waiting for {what}; the screen is:\n{screen}")]
    Exited {
        /// What was waited for.
        what: String,
        /// The last screen seen.
        screen: String,
    },
}

/// A window running one command.
pub struct Window<'a> {
    /// The command, run by `sh -c`.
    pub shell_command: &'a str,
    /// Columns.
    pub width: u16,
    /// Rows.
    pub height: u16,
    /// What the window prints when the command ends, before ` N]` with its
    /// exit code: `[exited 0]` for `"exited"`. The window then stays, so the
    /// code can be read.
    pub exit_label: &'a str,
    /// Environment for the command besides `TERM=xterm-256color`.
    pub env: &'a [(&'a str, &'a str)],
}

impl Window<'_> {
    /// The text the window shows once the command has ended, whatever its
    /// exit code: `[exited `.
    pub fn exit_marker(&self) -> String {
        format!("[{} ", self.exit_label)
    }
}

/// A tmux server of this process's own, with one window. Killed (with what
/// runs in it) when dropped.
pub struct Tmux {
    socket: String,
    exit_marker: String,
}

/// A socket name no other test or run of this process uses.
fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Tmux {
    /// Starts `window` detached on a new private server whose socket name
    /// begins with `prefix`.
    pub fn start(prefix: &str, window: &Window) -> Result<Tmux, TmuxError> {
        let tmux = Tmux {
            socket: unique(prefix),
            exit_marker: window.exit_marker(),
        };
        let wrapped = format!(
            "{}; echo \"[{} $?]\"; sleep 600",
            window.shell_command, window.exit_label
        );
        let mut command = Command::new("tmux");
        command
            .args(["-L", &tmux.socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", &window.width.to_string()])
            .args(["-y", &window.height.to_string()])
            .args(["sh", "-c", &wrapped])
            .env("TERM", "xterm-256color");
        for (name, value) in window.env {
            command.env(name, value);
        }
        let output = command.output().map_err(TmuxError::Spawn)?;
        check("new-session", output)?;
        Ok(tmux)
    }

    /// The private server's socket name (`tmux -L <name>`).
    pub fn socket(&self) -> &str {
        &self.socket
    }

    fn tmux(&self, args: &[&str]) -> Result<Output, TmuxError> {
        let output = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .map_err(TmuxError::Spawn)?;
        check(&args.join(" "), output)
    }

    /// Mirrors everything the window shows to the end of `log`.
    pub fn pipe_to(&self, log: &Path) -> Result<(), TmuxError> {
        let quoted = format!("'{}'", log.display().to_string().replace('\'', "'\\''"));
        self.tmux(&["pipe-pane", "-t", "0", &format!("cat >> {quoted}")])
            .map(|_| ())
    }

    /// Sends tmux key names (`Enter`, `Down`, `Escape`) or literal text.
    pub fn keys(&self, keys: &[&str]) -> Result<(), TmuxError> {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend(keys);
        self.tmux(&args).map(|_| ())
    }

    /// Types `text` literally (nothing in it is read as a key name).
    pub fn type_text(&self, text: &str) -> Result<(), TmuxError> {
        self.tmux(&["send-keys", "-t", "0", "-l", text]).map(|_| ())
    }

    /// The screen as text, one line per row.
    pub fn screen(&self) -> Result<String, TmuxError> {
        let output = self.tmux(&["capture-pane", "-p", "-t", "0"])?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Polls every `poll` until the screen satisfies `ready` and returns
    /// that screen; fails after `timeout`, or at once when `stop_on_exit`
    /// and the command has ended (its exit marker is on the screen).
    pub fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        poll: Duration,
        stop_on_exit: bool,
        ready: impl Fn(&str) -> bool,
    ) -> Result<String, TmuxError> {
        let start = Instant::now();
        loop {
            let screen = self.screen()?;
            if ready(&screen) {
                return Ok(screen);
            }
            if stop_on_exit && screen.contains(&self.exit_marker) {
                return Err(TmuxError::Exited {
                    what: what.to_owned(),
                    screen,
                });
            }
            if start.elapsed() > timeout {
                return Err(TmuxError::Timeout {
                    what: what.to_owned(),
                    seconds: timeout.as_secs(),
                    screen,
                });
            }
            std::thread::sleep(poll);
        }
    }
}

fn check(command: &str, output: Output) -> Result<Output, TmuxError> {
    if output.status.success() {
        Ok(output)
    } else {
        Err(TmuxError::Failed {
            command: command.to_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_names_are_unique_within_a_process() {
        let (a, b) = (unique("t"), unique("t"));
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("t-{}-", std::process::id())));
    }

    #[test]
    fn a_window_shows_typed_text_and_its_exit_code() {
        // Needs tmux, as the e2e TUI tests do (`cargo xtask test` installs it).
        let tmux = Tmux::start(
            "tmux-driver-test",
            &Window {
                shell_command: "read line; echo \"got $line\"; (exit 3)",
                width: 40,
                height: 10,
                exit_label: "exited",
                env: &[],
            },
        )
        .unwrap();
        tmux.type_text("hello").unwrap();
        tmux.keys(&["Enter"]).unwrap();
        let screen = tmux
            .wait_until(
                "the exit line",
                Duration::from_secs(20),
                Duration::from_millis(50),
                false,
                |s| s.contains("[exited 3]"),
            )
            .unwrap();
        assert!(screen.contains("got hello"), "{screen}");
        let err = tmux
            .wait_until(
                "something never shown",
                Duration::from_secs(20),
                Duration::from_millis(50),
                true,
                |s| s.contains("never"),
            )
            .unwrap_err();
        assert!(matches!(err, TmuxError::Exited { .. }), "{err}");
    }
}
