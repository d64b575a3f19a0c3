//! The npm packages of the test suite: tuf-js, the second independent
//! client the publish tests check our repositories with (python-tuf is the
//! first). They live in `tests/js/node_modules` (git-ignored), installed
//! with `npm ci` from the committed `tests/js/package-lock.json`; a stamp
//! with that file's sha256 skips npm when nothing changed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::{deps, step, succeeds};

/// The npm project, relative to the workspace root.
pub const PACKAGE_DIR: &str = "tests/js";

/// The oldest Node.js tuf-js 3 supports (Debian 12 ships 18.20).
const MIN_NODE: (u32, u32) = (18, 17);

/// Makes sure `node` and `npm` run and `tests/js/node_modules` holds the
/// locked packages; returns the package directory.
pub fn ensure_node_packages(root: &Path) -> Result<PathBuf> {
    if !succeeds(Command::new("node").arg("--version")) {
        deps::install(&["nodejs"])?;
    }
    if !succeeds(Command::new("npm").arg("--version")) {
        deps::install(&["npm"])?;
    }
    check_node_version()?;

    let dir = root.join(PACKAGE_DIR);
    let lock = dir.join("package-lock.json");
    let modules = dir.join("node_modules");
    let stamp = modules.join(".tuf-ceremony-stamp");
    let wanted = hex::encode(Sha256::digest(
        fs::read(&lock).with_context(|| format!("could not read {}", lock.display()))?,
    ));
    let found = fs::read_to_string(&stamp).ok();
    if found.as_deref().map(str::trim) == Some(wanted.as_str())
        && modules.join("tuf-js/package.json").exists()
    {
        println!("present: {PACKAGE_DIR}/node_modules with the locked packages (stamp matches)");
        return Ok(dir);
    }
    println!(
        "installing: tuf-js and its dependencies into {PACKAGE_DIR}/node_modules (npm ci, from the npm registry)"
    );
    step(
        "npm ci",
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir),
    )?;
    fs::write(&stamp, format!("{wanted}\n"))
        .with_context(|| format!("could not write {}", stamp.display()))?;
    Ok(dir)
}

fn check_node_version() -> Result<()> {
    let out = Command::new("node")
        .arg("--version")
        .output()
        .context("running node --version")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.trim().trim_start_matches('v').split('.');
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    if (major, minor) < MIN_NODE {
        bail!(
            "node {} is too old for tuf-js 3 (needs {}.{} or newer)",
            text.trim(),
            MIN_NODE.0,
            MIN_NODE.1
        );
    }
    println!("present: node {}", text.trim());
    Ok(())
}
