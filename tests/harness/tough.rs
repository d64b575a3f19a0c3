//! tough (awslabs' Rust TUF client), the third independent client:
//! `cargo xtask test` builds our small driver (`tests/tough`) into
//! `target/peers/tough`; a test that cannot find it fails and says how to
//! build it, rather than passing without checking anything.
//!
//! Where a repository uses a feature tough does not support (its limits are
//! listed in docs/testing.md), the test calls [`tough_refuses`] with tough's
//! own message, so the limit is asserted, never skipped silently.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable `cargo xtask test` sets to the driver it built.
const TOUGH_ENV: &str = "TUF_CEREMONY_TOUGH";

/// The driver binary: `$TUF_CEREMONY_TOUGH`, else where `cargo xtask test`
/// builds it.
pub fn tough_peer() -> PathBuf {
    let path = std::env::var_os(TOUGH_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::target_dir().join("peers/tough/debug/tough-peer"));
    assert!(
        path.exists(),
        "tough peer not found at {}: run `cargo xtask test` (it builds tests/tough)",
        path.display()
    );
    path
}

/// A `file://` URL for a directory (which need not exist yet), with the
/// trailing slash tough joins onto.
pub fn file_url(dir: &Path) -> String {
    let dir = std::path::absolute(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    format!("file://{}/", dir.display())
}

/// What one run of the driver said, and whether tough accepted.
#[derive(Debug)]
pub struct ToughRun {
    /// Exit 0: tough loaded (and downloaded, when asked).
    pub accepted: bool,
    /// Its standard output then standard error.
    pub said: String,
}

/// Runs the driver pinned to `trusted` against `metadata_url`, keeping its
/// trusted state in `datastore`; with `download = Some((target, out))` it
/// also downloads `target` from `targets_url` into `out`.
pub fn tough_run(
    trusted: &Path,
    metadata_url: &str,
    targets_url: &str,
    datastore: &Path,
    download: Option<(&str, &Path)>,
) -> ToughRun {
    let mut command = Command::new(tough_peer());
    command.arg(if download.is_some() {
        "download"
    } else {
        "load"
    });
    command
        .arg(datastore)
        .arg(trusted)
        .arg(metadata_url)
        .arg(targets_url);
    if let Some((target, out)) = download {
        command.arg(target).arg(out);
    }
    let output = command.output().expect("run the tough peer");
    let code = output.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "tough peer: exit {code:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    ToughRun {
        accepted: code == Some(0),
        said: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// tough, pinned to the root in `trusted`, loads the repository at
/// `metadata_url` and downloads `target` (from `targets_url`) into `out`;
/// returns what it printed. `datastore` keeps its trusted state.
pub fn tough_downloads(
    trusted: &Path,
    metadata_url: &str,
    targets_url: &str,
    target: &str,
    datastore: &Path,
    out: &Path,
) -> String {
    let run = tough_run(
        trusted,
        metadata_url,
        targets_url,
        datastore,
        Some((target, out)),
    );
    assert!(run.accepted, "tough refused: {}", run.said);
    run.said
}

/// [`tough_loads`] of the repository published in the directory `dir`
/// (metadata at its top, target files under `targets/`), read in place.
pub fn tough_loads_dir(trusted: &Path, dir: &Path, datastore: &Path) -> String {
    tough_loads(
        trusted,
        &file_url(dir),
        &file_url(&dir.join("targets")),
        datastore,
    )
}

/// tough loads the repository (metadata only, every delegated role);
/// returns what it printed.
pub fn tough_loads(
    trusted: &Path,
    metadata_url: &str,
    targets_url: &str,
    datastore: &Path,
) -> String {
    let run = tough_run(trusted, metadata_url, targets_url, datastore, None);
    assert!(run.accepted, "tough refused: {}", run.said);
    run.said
}

/// Asserts that tough refuses (exit 1) with `because` in its message: for a
/// feature that is tough's limit, not ours (docs/testing.md lists them).
/// Returns what it printed.
pub fn tough_refuses(
    trusted: &Path,
    metadata_url: &str,
    targets_url: &str,
    datastore: &Path,
    download: Option<(&str, &Path)>,
    because: &str,
) -> String {
    let run = tough_run(trusted, metadata_url, targets_url, datastore, download);
    assert!(
        !run.accepted,
        "tough accepted where its known limit says it refuses ({because}): {}; \
         if tough lifted the limit, turn this into a download check and update docs/testing.md",
        run.said
    );
    assert!(
        run.said.contains(because),
        "tough refused, but not with {because:?}: {}",
        run.said
    );
    run.said
}

/// tough's limit with consistent snapshots: for a target in a directory
/// (`dir/name`) it requests `<targets_url><sha256>.dir/name`, where the
/// spec, python-tuf, tuf-js and our publish put the file at
/// `dir/<sha256>.name`. Asserts that tough verified every role (it lists
/// `target`) and then failed on exactly that request; returns what it printed.
pub fn tough_misnames_a_target_in_a_directory(
    trusted: &Path,
    metadata_url: &str,
    targets_url: &str,
    datastore: &Path,
    target: &str,
    sha256: &str,
    out: &Path,
) -> String {
    assert!(target.contains('/'), "{target} is not in a directory");
    let said = tough_refuses(
        trusted,
        metadata_url,
        targets_url,
        datastore,
        Some((target, out)),
        &format!("Failed to fetch {targets_url}{sha256}.{target}: "),
    );
    assert!(
        said.contains(&format!("tough: target {target}: ")),
        "tough verified the metadata listing {target}: {said}"
    );
    assert!(said.contains("file not found"), "{said}");
    assert!(!out.exists(), "nothing downloaded");
    said
}
