//! Every headless subcommand that touches a key runs hardened, as the TUI
//! and the preflight do: `ceremony onboard` and `ceremony sign` disable core
//! dumps and lock memory before the PIN is read, and say so on stderr in one
//! line. The sign test reads the kernel's view of the process
//! (`/proc/<pid>/limits`, `/proc/<pid>/status`) while it waits for its PIN
//! on a FIFO.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tuf_ceremony_e2e::{Run, SoftHsm, binary, python, workspace_root};

/// Linux's `O_NONBLOCK` (the e2e crate has no libc binding): opening a FIFO
/// for writing with it fails with `ENXIO` until a reader has it open.
const O_NONBLOCK: i32 = 0o4000;
/// `ENXIO`.
const ENXIO: i32 = 6;

/// The one hardening line of a headless run's stderr.
fn hardening_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("hardening: "))
        .collect();
    assert_eq!(lines.len(), 1, "one hardening line:\n{stderr}");
    assert!(
        lines[0].contains(
            "hardening: core dumps: disabled (not dumpable, RLIMIT_CORE 0); memory lock: "
        ),
        "{stderr}"
    );
    lines[0]
}

fn onboard(hsm: &SoftHsm, token: &str, pin: &Path) -> Run {
    hsm.ceremony([
        "onboard".as_ref(),
        "--profile".as_ref(),
        "softhsm2".as_ref(),
        "--token-label".as_ref(),
        token.as_ref(),
        "--key-label".as_ref(),
        format!("{token}-root").as_ref(),
        "--pin-file".as_ref(),
        pin.as_os_str(),
        "--out".as_ref(),
        hsm.path().join(format!("{token}.pub.json")).as_os_str(),
    ])
}

/// A field of `/proc/<pid>/<file>`: the rest of the first line starting
/// with `prefix`.
fn proc_field(pid: u32, file: &str, prefix: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in /proc/{pid}/{file}:\n{text}"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn onboard_and_sign_run_hardened_and_say_so_in_one_stderr_line() {
    let hsm = SoftHsm::new();
    let pin = hsm.init_token("alice", "1234");
    let run = onboard(&hsm, "alice", &pin);
    assert_eq!(run.code, Some(0), "{run:?}");
    hardening_line(&run.stderr);

    // python-tuf stages root v2 handing root to alice's new key.
    let rotation = hsm.path().join("rotation");
    let status = Command::new(python())
        .arg(workspace_root().join("tests/fixtures/make_token_rotation.py"))
        .arg(&rotation)
        .arg(hsm.path().join("alice.pub.json"))
        .status()
        .unwrap();
    assert!(status.success(), "make_token_rotation.py failed");
    let staged = hsm.path().join("staged.root.json");
    std::fs::copy(rotation.join("2.root.json"), &staged).unwrap();

    let fifo = hsm.path().join("pin.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mut child = Command::new(binary("ceremony"))
        .env("SOFTHSM2_CONF", hsm.conf())
        .arg("sign")
        .arg("--metadata")
        .arg(&staged)
        .arg("--trusted")
        .arg(rotation.join("1.root.json"))
        .args(["--profile", "softhsm2", "--token-label", "alice"])
        .arg("--pin-file")
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Wait until `ceremony sign` opens the FIFO to read its PIN.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut writer = loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(O_NONBLOCK)
            .open(&fifo)
        {
            Ok(writer) => break writer,
            Err(e) if e.raw_os_error() == Some(ENXIO) => {
                if let Some(status) = child.try_wait().unwrap() {
                    let output = child.wait_with_output().unwrap();
                    panic!(
                        "ceremony sign exited ({status}) before reading its PIN: {}",
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
                assert!(
                    Instant::now() < deadline,
                    "ceremony sign never read its PIN"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("{}: {e}", fifo.display()),
        }
    };
    // The kernel's view while the PIN is about to be read.
    let core = proc_field(pid, "limits", "Max core file size");
    let locked_kb: u64 = proc_field(pid, "status", "VmLck:")
        .trim_end_matches(" kB")
        .parse()
        .unwrap();
    writer.write_all(b"1234\n").unwrap();
    drop(writer);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("signed "),
        "{stderr}"
    );

    assert!(core.starts_with("0 0 "), "RLIMIT_CORE: {core}");
    let line = hardening_line(&stderr);
    if line.contains("memory lock: locked") {
        assert!(!line.starts_with("warning: "), "{line}");
        assert!(locked_kb > 0, "reported locked, VmLck {locked_kb} kB");
    } else {
        // No CAP_IPC_LOCK here: a warning, never a refusal.
        assert!(line.starts_with("warning: hardening: "), "{line}");
        assert!(line.contains("; note: "), "{line}");
    }
}
