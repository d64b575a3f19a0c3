//! The venv that holds tuf-on-ci-sign, the signer tool of tuf-on-ci
//! repositories, which the end-to-end suite runs as an independent peer
//! (`tests/tuf_on_ci_event.rs`): it must accept a signing event signed on
//! our appliance.
//!
//! It lives at `<workspace>/.venv-tuf-on-ci` (git-ignored), apart from the
//! python-tuf venv, because it brings sigstore and three cloud KMS clients
//! the other peer does not need. Like `.venv` (python.rs) it holds exactly
//! the pins of [`REQUIREMENTS`], and `.venv-tuf-on-ci/.stamp` keeps the
//! sha256 of that file: when it matches, pip is skipped; when it does not,
//! the venv is rebuilt from scratch.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::{step, succeeds};

/// The pinned requirements, relative to the workspace root.
pub const REQUIREMENTS: &str = "xtask/tuf-on-ci-requirements.txt";

/// The environment variable the end-to-end harness (`tests/harness`) reads
/// to find the `tuf-on-ci-sign` command.
pub const SIGN_ENV: &str = "TUF_CEREMONY_TUF_ON_CI_SIGN";

/// The venv directory, relative to the workspace root.
const VENV: &str = ".venv-tuf-on-ci";

/// Interpreters to build the venv with, best first (as python.rs).
const INTERPRETERS: &[&str] = &["python3", "/usr/bin/python3"];

/// Makes sure `.venv-tuf-on-ci` exists and holds [`REQUIREMENTS`]; returns
/// the path of its `tuf-on-ci-sign`.
pub fn ensure_venv(root: &Path) -> Result<PathBuf> {
    let venv = root.join(VENV);
    let sign = venv.join("bin/tuf-on-ci-sign");
    let stamp = venv.join(".stamp");
    let wanted = requirements_digest(root)?;

    let stamp_found = fs::read_to_string(&stamp).ok();
    let stamp_matches = stamp_found.as_deref().map(str::trim) == Some(wanted.as_str());
    if stamp_matches && succeeds(Command::new(&sign).arg("--version")) {
        println!("present: {VENV} with the pins of {REQUIREMENTS} (stamp matches)");
        return Ok(sign);
    }

    if venv.exists() {
        let why = match (stamp_found, stamp_matches) {
            (None, _) => "it has no stamp, so what it holds is unknown",
            (Some(_), false) => "it was built from other requirements",
            (Some(_), true) => "its tuf-on-ci-sign no longer starts",
        };
        println!("venv: removing {VENV}: {why}");
        fs::remove_dir_all(&venv)
            .with_context(|| format!("could not remove {}", venv.display()))?;
    }
    create(&venv)?;

    println!("installing: tuf-on-ci-sign, the pins of {REQUIREMENTS} into {VENV} (pip, from PyPI)");
    step(
        "pip install (tuf-on-ci-sign)",
        Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "install", "--quiet", "--no-input"])
            .args(["--disable-pip-version-check", "--requirement"])
            .arg(root.join(REQUIREMENTS)),
    )?;
    step("tuf-on-ci-sign check", Command::new(&sign).arg("--version"))?;
    fs::write(&stamp, format!("{wanted}\n"))
        .with_context(|| format!("could not write {}", stamp.display()))?;
    println!("venv: ready: {}", sign.display());
    Ok(sign)
}

/// Builds an empty venv with the first interpreter whose `venv` module works.
fn create(venv: &Path) -> Result<()> {
    for interpreter in INTERPRETERS {
        println!("venv: creating {VENV} with {interpreter}");
        let made = succeeds(Command::new(interpreter).args(["-m", "venv"]).arg(venv))
            && succeeds(Command::new(venv.join("bin/python")).args(["-m", "pip", "--version"]));
        if made {
            return Ok(());
        }
        println!("venv: {interpreter} could not make a venv with pip; trying the next");
        if venv.exists() {
            fs::remove_dir_all(venv)
                .with_context(|| format!("could not remove {}", venv.display()))?;
        }
    }
    bail!(
        "none of {} could create {VENV}; on Debian install python3-venv",
        INTERPRETERS.join(", ")
    )
}

/// sha256 of the requirements file, hex: what the stamp holds.
fn requirements_digest(root: &Path) -> Result<String> {
    let path = root.join(REQUIREMENTS);
    let bytes = fs::read(&path).with_context(|| format!("could not read {}", path.display()))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}
