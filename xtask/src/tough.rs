//! tough (awslabs' Rust TUF client), the third independent client the
//! interop tests read our published repositories with (python-tuf and
//! tuf-js are the others). Our driver `tests/tough` is its own cargo
//! project with its own committed lock; it is built into
//! `<target>/peers/tough` (apart from the workspace's build, so its
//! dependencies never enter our lock). A stamp holding the sha256 of its
//! manifest, lock and sources skips the build when nothing changed.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::{cargo, step, target_dir};

/// The driver's cargo project, relative to the workspace root.
pub const PROJECT_DIR: &str = "tests/tough";

/// The environment variable the end-to-end harness (`tests/harness/tough.rs`)
/// reads to find the driver.
pub const TOUGH_ENV: &str = "TUF_CEREMONY_TOUGH";

/// Makes sure the driver is built from the current sources and lock;
/// returns the path of its binary.
pub fn ensure_tough_peer(root: &Path) -> Result<PathBuf> {
    let project = root.join(PROJECT_DIR);
    let build_dir = target_dir(root).join("peers/tough");
    let binary = build_dir.join("debug/tough-peer");
    let stamp = build_dir.join(".tuf-ceremony-stamp");
    let wanted = sources_digest(&project)?;
    let found = fs::read_to_string(&stamp).ok();
    if found.as_deref().map(str::trim) == Some(wanted.as_str()) && binary.exists() {
        println!(
            "present: the tough peer at {} (stamp matches)",
            binary.display()
        );
        return Ok(binary);
    }
    println!(
        "installing: tough and its dependencies, building the peer {PROJECT_DIR} into {} (cargo build --locked, from crates.io; a few minutes the first time)",
        build_dir.display()
    );
    step(
        "cargo build (tough peer)",
        cargo()
            .current_dir(&project)
            .args(["build", "--quiet", "--locked", "--target-dir"])
            .arg(&build_dir),
    )?;
    fs::write(&stamp, format!("{wanted}\n"))
        .with_context(|| format!("could not write {}", stamp.display()))?;
    Ok(binary)
}

/// sha256 over the manifest, the lock and every source file, each preceded
/// by its relative path, in a fixed order.
fn sources_digest(project: &Path) -> Result<String> {
    let mut files = vec![project.join("Cargo.toml"), project.join("Cargo.lock")];
    let src = project.join("src");
    let mut sources: Vec<PathBuf> = fs::read_dir(&src)
        .with_context(|| format!("could not list {}", src.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("could not list {}", src.display()))?;
    sources.sort();
    files.extend(sources);
    let mut hasher = Sha256::new();
    for file in files {
        let bytes =
            fs::read(&file).with_context(|| format!("could not read {}", file.display()))?;
        hasher.update(
            file.strip_prefix(project)
                .unwrap_or(&file)
                .to_string_lossy()
                .as_bytes(),
        );
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(&bytes);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of the peer project in a fresh directory under target/.
    fn copy_of_project(name: &str) -> PathBuf {
        let root = crate::workspace_root();
        let dir = target_dir(&root).join("xtask-tests").join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("src")).unwrap();
        for file in ["Cargo.toml", "Cargo.lock", "src/main.rs"] {
            fs::copy(root.join(PROJECT_DIR).join(file), dir.join(file)).unwrap();
        }
        dir
    }

    #[test]
    fn the_stamp_changes_with_the_lock_and_the_sources_and_nothing_else() {
        let dir = copy_of_project("tough-stamp");
        let first = sources_digest(&dir).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(sources_digest(&dir).unwrap(), first, "stable");
        fs::write(dir.join("README"), "not a source").unwrap();
        assert_eq!(sources_digest(&dir).unwrap(), first, "other files ignored");

        let mut lock = fs::read(dir.join("Cargo.lock")).unwrap();
        lock.extend_from_slice(b"\n");
        fs::write(dir.join("Cargo.lock"), &lock).unwrap();
        let relocked = sources_digest(&dir).unwrap();
        assert_ne!(relocked, first, "a changed lock rebuilds");

        fs::write(dir.join("src/extra.rs"), "").unwrap();
        assert_ne!(
            sources_digest(&dir).unwrap(),
            relocked,
            "a new source rebuilds"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
