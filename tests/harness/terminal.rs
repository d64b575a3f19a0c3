//! Driving a terminal program as a person would: a private tmux server
//! (send-keys, capture-pane) and a private network namespace for programs
//! that must see the machine offline, or see an interface come up.

use std::ffi::OsStr;
use std::process::{Command, Output};
use std::time::Duration;

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The effective uid, from /proc/self/status (`Uid: real effective ...`).
pub fn effective_uid() -> Option<u32> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A network namespace that exists as long as this value does: dropped
/// (even when an assertion fails) it is deleted with its interfaces.
pub struct Netns {
    name: String,
}

impl Netns {
    /// A new namespace with only `lo`, brought up. Needs root and
    /// iproute2 (CI has both; `cargo xtask test` installs iproute2): without
    /// them the test fails and says so.
    pub fn create() -> Netns {
        assert!(
            effective_uid() == Some(0),
            "this test must run as root: it creates a network namespace with \
             `ip netns add` (CI runs the suite as root)"
        );
        let name = unique("tufc");
        let output = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run `ip` ({e}): install iproute2 (`cargo xtask test` does)")
            });
        assert!(
            output.status.success(),
            "`ip netns add {name}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name, for `ip netns exec <name> ...`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `program args` inside the namespace (with its own /sys, so
    /// /sys/class/net lists the namespace's interfaces).
    pub fn exec<S: AsRef<OsStr>>(&self, program: impl AsRef<OsStr>, args: &[S]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .arg(program)
            .args(args)
            .output()
            .expect("run ip netns exec")
    }

    /// Runs `ip args` in the namespace, failing the test unless it works.
    pub fn ip(&self, args: &[&str]) {
        let output = self.exec("ip", args);
        assert!(
            output.status.success(),
            "ip {} in {}: {}",
            args.join(" "),
            self.name,
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Adds interface `name` and brings it up: a dummy where the kernel
    /// has the module, else an empty bridge (some VM kernels lack dummy),
    /// which like a dummy is up with nothing behind it.
    pub fn add_interface_up(&self, name: &str) {
        let added = ["dummy", "bridge"].into_iter().find(|kind| {
            let output = self.exec("ip", &["link", "add", name, "type", kind]);
            if !output.status.success() {
                eprintln!(
                    "ip link add {name} type {kind}: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
            output.status.success()
        });
        assert!(
            added.is_some(),
            "cannot add an interface to the namespace (no dummy or bridge support)"
        );
        self.ip(&["link", "set", name, "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let status = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("warning: could not delete network namespace {}", self.name);
        }
    }
}

/// A tmux server of this test's own, with one window running a command
/// (the shared `tmux-driver`, failing the test on any error). Killed (with
/// what runs in it) when dropped.
pub struct Tmux(tmux_driver::Tmux);

impl Tmux {
    /// Starts `shell_command` (run by `sh -c`) in a detached window of
    /// `width`×`height`. After the command ends the window prints
    /// `[exited N]` and stays, so the exit code can be read.
    pub fn start(shell_command: &str, width: u16, height: u16) -> Tmux {
        let window = tmux_driver::Window {
            shell_command,
            width,
            height,
            exit_label: "exited",
            env: &[],
        };
        Tmux(tmux_driver::Tmux::start("tufc-tmux", &window).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Sends tmux key names (`Enter`, `Down`, `Escape`) or literal text.
    pub fn keys(&self, keys: &[&str]) {
        if let Err(e) = self.0.keys(keys) {
            panic!("send-keys {keys:?}: {e}");
        }
    }

    /// Types `text` literally (nothing in it is read as a key name).
    pub fn type_text(&self, text: &str) {
        if let Err(e) = self.0.type_text(text) {
            panic!("send-keys -l: {e}");
        }
    }

    /// The screen as text, one line per row.
    pub fn screen(&self) -> String {
        self.0.screen().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits (up to 60 s: debug builds and SoftHSM2 are slow on a loaded
    /// machine) until the screen satisfies `ready`; returns that screen, or
    /// fails the test showing the last one.
    pub fn wait_until(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        self.0
            .wait_until(
                what,
                Duration::from_secs(60),
                Duration::from_millis(100),
                false,
                ready,
            )
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits until `text` is on the screen.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |s| s.contains(text))
    }
}
