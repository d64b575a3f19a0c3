//! The Python venv that holds python-tuf, the peer implementation the
//! interop tests and the benchmark compare us with.
//!
//! It lives at `<workspace>/.venv` (git-ignored) and holds exactly the pins
//! of [`REQUIREMENTS`]. `.venv/.stamp` keeps the sha256 of that file: when it
//! matches, pip is skipped (a second `cargo xtask test` costs nothing); when
//! it does not, the venv is rebuilt from scratch, so a package dropped from
//! the file does not linger in the venv.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::{step, succeeds};

/// The pinned requirements, relative to the workspace root.
pub const REQUIREMENTS: &str = "xtask/python-requirements.txt";

/// The venv directory, relative to the workspace root.
const VENV: &str = ".venv";

/// Interpreters to build the venv with, best first. `python3` on PATH may be
/// a pyenv build, which is fine when its `venv` module works; Debian's own
/// needs `python3-venv` (installed by deps.rs), so it is the fallback.
const INTERPRETERS: &[&str] = &["python3", "/usr/bin/python3"];

/// Makes sure `.venv` exists, runs, and holds [`REQUIREMENTS`]; returns the
/// path of its python.
pub fn ensure_venv(root: &Path) -> Result<PathBuf> {
    let venv = ensure_pinned(
        root,
        &Pinned {
            venv: VENV,
            requirements: REQUIREMENTS,
            what: "python-tuf",
            // `securesystemslib` without its `crypto` extra imports fine but
            // verifies only Ed25519; check the whole peer is there.
            check: |venv| {
                let mut check = Command::new(venv.join("bin/python"));
                check.args([
                    "-c",
                    "import tuf.api.metadata, securesystemslib.signer, cryptography",
                ]);
                check
            },
        },
    )?;
    Ok(venv.join("bin/python"))
}

/// A venv holding exactly the pins of one requirements file.
pub struct Pinned {
    /// The venv directory, relative to the workspace root.
    pub venv: &'static str,
    /// The requirements file, relative to the workspace root.
    pub requirements: &'static str,
    /// What it is for, in the lines printed.
    pub what: &'static str,
    /// A command that succeeds only when the venv at the path given holds
    /// what it is for.
    pub check: fn(&Path) -> Command,
}

/// Makes sure the venv of `pinned` exists, passes its check, and holds its
/// pins; returns its directory. A `.stamp` in it keeps the sha256 of the
/// requirements file: when it matches and the check passes, pip is
/// skipped; otherwise the venv is rebuilt from scratch, so a package
/// dropped from the file does not linger.
pub fn ensure_pinned(root: &Path, pinned: &Pinned) -> Result<PathBuf> {
    let Pinned {
        venv: name,
        requirements,
        what,
        check,
    } = *pinned;
    let venv = root.join(name);
    let stamp = venv.join(".stamp");
    let wanted = requirements_digest(root, requirements)?;

    let stamp_found = fs::read_to_string(&stamp).ok();
    let stamp_matches = stamp_found.as_deref().map(str::trim) == Some(wanted.as_str());
    if stamp_matches && succeeds(&mut check(&venv)) {
        println!("present: {name} with the pins of {requirements} (stamp matches)");
        return Ok(venv);
    }

    if venv.exists() {
        let why = match (stamp_found, stamp_matches) {
            (None, _) => "it has no stamp, so what it holds is unknown",
            (Some(_), false) => "it was built from other requirements",
            (Some(_), true) => "its check no longer passes",
        };
        println!("venv: removing {name}: {why}");
        fs::remove_dir_all(&venv)
            .with_context(|| format!("could not remove {}", venv.display()))?;
    }
    create(&venv, name)?;

    println!("installing: {what}, the pins of {requirements} into {name} (pip, from PyPI)");
    step(
        &format!("pip install ({what})"),
        Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "install", "--quiet", "--no-input"])
            .args(["--disable-pip-version-check", "--requirement"])
            .arg(root.join(requirements)),
    )?;
    step(&format!("{what} check"), &mut check(&venv))?;
    fs::write(&stamp, format!("{wanted}\n"))
        .with_context(|| format!("could not write {}", stamp.display()))?;
    println!("venv: ready: {}", venv.display());
    Ok(venv)
}

/// Builds an empty venv with the first interpreter whose `venv` module works
/// (with pip, which a Debian python3 without `python3-venv` cannot do).
fn create(venv: &Path, name: &str) -> Result<()> {
    for interpreter in INTERPRETERS {
        println!("venv: creating {name} with {interpreter}");
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
        "none of {} could create a venv; on Debian install python3-venv",
        INTERPRETERS.join(", ")
    )
}

/// sha256 of the requirements file, hex: what the stamp holds.
fn requirements_digest(root: &Path, requirements: &str) -> Result<String> {
    let path = root.join(requirements);
    let bytes = fs::read(&path).with_context(|| format!("could not read {}", path.display()))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}
