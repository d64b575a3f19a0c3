//! `ceremony preflight` in a private network namespace: with only loopback
//! it passes; once a non-loopback interface is up it refuses with one
//! `error:` line naming it; `--drill` reports the interface and goes on.
//!
//! Needs root (to create namespaces) and iproute2, both of which CI has and
//! `cargo xtask test` installs: without them this test fails and says so,
//! rather than passing without checking anything.

use std::ffi::OsStr;
use std::process::{Command, Output};

use tuf_ceremony_e2e::binary;

/// A network namespace that exists as long as this value does: dropped
/// (even when an assertion fails) it is deleted with its interfaces.
struct Netns {
    name: String,
}

impl Netns {
    fn new() -> Netns {
        assert!(
            effective_uid() == Some(0),
            "tests/offline_refusal.rs must run as root: it creates a network \
             namespace with `ip netns add` (CI runs the suite as root)"
        );
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("tufc-offline-{}-{nanos}", std::process::id());
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
        Netns { name }
    }

    /// Runs `program args` inside the namespace (with its own /sys, so
    /// /sys/class/net lists the namespace's interfaces).
    fn exec<S: AsRef<OsStr>>(&self, program: impl AsRef<OsStr>, args: &[S]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .arg(program)
            .args(args)
            .output()
            .expect("run ip netns exec")
    }

    /// Like [`Netns::exec`], failing the test unless the command succeeds.
    fn ip(&self, args: &[&str]) {
        let output = self.exec("ip", args);
        assert!(
            output.status.success(),
            "ip {} in {}: {}",
            args.join(" "),
            self.name,
            String::from_utf8_lossy(&output.stderr)
        );
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

/// The effective uid, from /proc/self/status (`Uid: real effective ...`).
fn effective_uid() -> Option<u32> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `ceremony preflight args` inside `ns`: exit code, stdout, stderr.
fn preflight(ns: &Netns, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["preflight"];
    all.extend(args);
    let output = ns.exec(binary("ceremony"), &all);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn preflight_refuses_a_non_loopback_interface_that_is_up() {
    let ns = Netns::new();
    ns.ip(&["link", "set", "lo", "up"]);

    let (code, stdout, stderr) = preflight(&ns, &[]);
    assert_eq!(code, Some(0), "loopback only:\n{stdout}\n{stderr}");
    assert!(stdout.contains("lo (loopback, up"), "{stdout}");
    assert!(stdout.contains("network: offline"), "{stdout}");
    assert!(stdout.contains("core dumps: disabled"), "{stdout}");
    assert!(stdout.contains("memory lock: "), "{stdout}");

    // A dummy interface where the kernel has the module; kernels built
    // without it (some VM kernels) get an empty bridge under the same name,
    // which like dummy0 is up with nothing behind it.
    let added = ["dummy", "bridge"].into_iter().find(|kind| {
        let output = ns.exec("ip", &["link", "add", "dummy0", "type", kind]);
        if !output.status.success() {
            eprintln!(
                "ip link add dummy0 type {kind}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        output.status.success()
    });
    assert!(
        added.is_some(),
        "cannot add an interface to the namespace (no dummy or bridge support)"
    );
    ns.ip(&["link", "set", "dummy0", "up"]);

    let (code, stdout, stderr) = preflight(&ns, &[]);
    assert_eq!(code, Some(1), "dummy0 up:\n{stdout}\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line:\n{stderr}");
    assert!(
        errors[0].contains("network interface dummy0 is up"),
        "{}",
        errors[0]
    );
    assert!(stdout.contains("dummy0 (up"), "{stdout}");

    let (code, stdout, stderr) = preflight(&ns, &["--drill"]);
    assert_eq!(code, Some(0), "--drill:\n{stdout}\n{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("DRILL") && l.contains("dummy0")),
        "a DRILL line naming dummy0:\n{stdout}"
    );
    assert!(!stderr.contains("error:"), "{stderr}");
}
