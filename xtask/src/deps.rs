//! Installing what the tests and the drill need from outside cargo: Debian
//! packages and the rustup components `cargo xtask test` runs.
//!
//! The README promises that `cargo xtask drill` and `cargo xtask test` are the
//! whole set-up on a fresh Debian 12 machine, so nothing here assumes a
//! package is already there; it checks, installs what is missing, and prints
//! which packages were present and which it installed.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{step, succeeds};

/// Every Debian package the test suite and the drill need, in one list so
/// that each issue adds its own here (pcscd, softhsm2, vsmartcard-vpcd, …)
/// and both commands pick them up.
pub const APT_PACKAGES: &[&str] = &[
    // The python-tuf peer of the interop tests runs in a venv (python.rs).
    "python3",
    "python3-venv",
    // PKCS#11: SoftHSM2 tokens for the signers tests and the drill
    // (softhsm2-util initialises them); OpenSC's module and pkcs11-tool.
    "softhsm2",
    "opensc",
    // PC/SC: the harness's own pcscd with vsmartcard's vpcd driver, where
    // piv-emulator plugs in as a YubiKey; the pcsc crate links libpcsclite.
    "pcscd",
    "vsmartcard-vpcd",
    "libpcsclite-dev",
    // Cross-checks of the emulated YubiKey: libykpiv's tool and ykcs11.
    "yubico-piv-tool",
    "ykcs11",
    // The tough peer (tests/tough): aws-lc-sys builds its C with gcc and
    // generates part of it with perl.
    "gcc",
    "perl",
    // Crash injection: `tuf-repo commit` killed between two of its writes.
    "strace",
    // Network namespaces (`ip netns`, `ip link`): the offline-refusal test
    // runs `ceremony preflight` with and without a non-loopback interface.
    "iproute2",
    // A terminal for driving the terminal UI in tests.
    "tmux",
    // The UI start-up benchmark: /usr/bin/time (wall time, max RSS) and
    // util-linux `script` (a pseudo-terminal; bsdutils in Debian 12).
    "time",
    "bsdutils",
    // The ceremony record (`tuf-repo transcript report`) is rendered in a
    // real headless browser to PNG and PDF; pdfinfo checks its pages are A4.
    "chromium",
    "poppler-utils",
];

/// The rustup components `cargo xtask test` calls, with the cargo
/// subcommand that shows each is there. The default rustup profile has both,
/// a minimal one does not.
const RUST_COMPONENTS: &[(&str, &str)] = &[("rustfmt", "fmt"), ("clippy", "clippy")];

/// Installs whichever of [`APT_PACKAGES`] dpkg does not report installed.
///
/// Runs `apt-get install` directly as root and through `sudo -n` otherwise
/// (never prompting: CI has no terminal). A fresh machine or container may
/// have no package index yet, so a failed install is retried once after
/// `apt-get update`.
pub fn ensure_apt_packages() -> Result<()> {
    if !succeeds(Command::new("dpkg-query").arg("--version")) {
        println!(
            "warning: dpkg-query not found, so this is not Debian: make sure these are installed: {}",
            APT_PACKAGES.join(", ")
        );
        return Ok(());
    }
    ensure_packages(APT_PACKAGES)
}

/// Installs whichever of `packages` dpkg does not report installed, and
/// checks afterwards that dpkg reports them all (the image commands'
/// package lists go through here too).
pub fn ensure_packages(packages: &[&str]) -> Result<()> {
    let (present, missing): (Vec<&str>, Vec<&str>) =
        packages.iter().partition(|p| dpkg_installed(p));
    if !present.is_empty() {
        println!("present: {} (Debian packages)", present.join(", "));
    }
    if missing.is_empty() {
        return Ok(());
    }
    install(&missing)?;
    let still: Vec<&str> = missing.into_iter().filter(|p| !dpkg_installed(p)).collect();
    if !still.is_empty() {
        bail!(
            "apt-get finished but these are still not installed: {}",
            still.join(", ")
        );
    }
    Ok(())
}

/// Installs `packages` (already known to be missing), retrying once after
/// `apt-get update`; also for tools found by running them rather than by
/// package name (Node.js may come from NodeSource instead of Debian).
pub fn install(packages: &[&str]) -> Result<()> {
    println!("installing: {} (Debian packages)", packages.join(", "));
    let mut install = vec!["-q", "install", "-y", "--no-install-recommends"];
    install.extend(packages);
    if step("apt-get install", &mut apt_get(&install)?).is_err() {
        println!("apt-get install failed; updating the package index once and retrying");
        step("apt-get update", &mut apt_get(&["-q", "update"])?)
            .and_then(|()| step("apt-get install", &mut apt_get(&install)?))
            .with_context(|| {
                format!(
                    "could not install {0}; as root, run `apt-get update && apt-get install {0}`",
                    packages.join(" ")
                )
            })?;
    }
    Ok(())
}

/// Adds whichever of the rustup components `cargo xtask test` needs is
/// missing (`cargo fmt` / `cargo clippy` do not start without them).
pub fn ensure_rust_components() -> Result<()> {
    let mut present = Vec::new();
    for &(component, subcommand) in RUST_COMPONENTS {
        if succeeds(crate::cargo().args([subcommand, "--version"])) {
            present.push(component);
            continue;
        }
        println!("installing: {component} (rustup component)");
        step(
            &format!("rustup component add {component}"),
            Command::new("rustup").args(["component", "add", component]),
        )?;
    }
    if !present.is_empty() {
        println!("present: {} (rustup components)", present.join(", "));
    }
    Ok(())
}

/// True when dpkg has the package unpacked and configured. dpkg-query fails
/// for a package it has never heard of, and reports e.g. `deinstall ok
/// config-files` for one that was removed: both count as missing.
fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|out| {
            out.status.success()
                && String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .last()
                    == Some("installed")
        })
}

/// `apt-get ARGS`, non-interactive, through `sudo -n` when we are not root.
fn apt_get(args: &[&str]) -> Result<Command> {
    let mut cmd = if is_root()? {
        Command::new("env")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "env"]);
        sudo
    };
    // Through `env` so the variable survives sudo's environment reset.
    cmd.args(["DEBIAN_FRONTEND=noninteractive", "apt-get"])
        .args(args);
    Ok(cmd)
}

/// Whether we run as root (else apt goes through `sudo -n`).
pub fn is_root() -> Result<bool> {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .context("could not run `id -u` to learn whether we are root")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}
