//! `ceremony preflight` in a private network namespace: with only loopback
//! it passes; once a non-loopback interface is up it refuses with one
//! `error:` line naming it; `--drill` reports the interface and goes on.
//!
//! Needs root (to create namespaces) and iproute2, both of which CI has and
//! `cargo xtask test` installs: without them this test fails and says so,
//! rather than passing without checking anything.

use tuf_ceremony_e2e::binary;
use tuf_ceremony_e2e::terminal::Netns;

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
    let ns = Netns::create();

    let (code, stdout, stderr) = preflight(&ns, &[]);
    assert_eq!(code, Some(0), "loopback only:\n{stdout}\n{stderr}");
    assert!(stdout.contains("lo (loopback, up"), "{stdout}");
    assert!(stdout.contains("network: offline"), "{stdout}");
    assert!(stdout.contains("core dumps: disabled"), "{stdout}");
    assert!(stdout.contains("memory lock: "), "{stdout}");

    ns.add_interface_up("dummy0");

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
