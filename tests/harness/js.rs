//! tuf-js, the second independent client: `cargo xtask test` installs it
//! into `tests/js/node_modules`; a test that cannot find it fails and says
//! how to install it, rather than passing without checking anything.

use std::path::Path;
use std::process::Command;

use crate::workspace_root;

/// tuf-js, pinned to the root in `trusted`, updates from `metadata_url` and
/// downloads `target` (from `target_base_url`) into `out`; returns what it
/// printed. `work` is an empty directory for its metadata.
pub fn tufjs_downloads(
    trusted: &Path,
    metadata_url: &str,
    target_base_url: &str,
    target: &str,
    work: &Path,
    out: &Path,
) -> String {
    let dir = workspace_root().join("tests/js");
    assert!(
        dir.join("node_modules/tuf-js/package.json").exists(),
        "tuf-js not found in {}: run `cargo xtask test` (it installs it)",
        dir.display()
    );
    std::fs::create_dir_all(work).unwrap();
    std::fs::copy(trusted, work.join("root.json")).unwrap();
    let output = Command::new("node")
        .arg(dir.join("tufjs_download.mjs"))
        .arg(work)
        .arg(metadata_url)
        .arg(target_base_url)
        .arg(target)
        .arg(out)
        .output()
        .expect("run node (cargo xtask test installs it)");
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "tuf-js refused: {said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    said
}
