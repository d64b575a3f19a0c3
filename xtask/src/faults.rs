//! `cargo xtask faults`: the full fault sweep of issue 15. It runs the
//! same end-to-end test CI runs as a sample (`tests/fault_sweep.rs`), with
//! `FAULTS_FULL=1`: every write call of `ceremony sign`, `tuf-repo merge`,
//! `commit`, `publish`, `snapshot` and `timestamp --force`, each with a
//! kill, ENOSPC and EIO; the test prints the table and fails on any
//! inconsistent state or re-run that does not repair it. The sweep's logic
//! lives once, in the test. Then the 64-bin batch kill sweep
//! (`tests/batch_durability.rs`) at every spread point.

use std::path::Path;

use anyhow::Result;

use crate::{cargo, deps, python, step};

/// Set-up as `test` does (strace, SoftHSM2, the python-tuf venv), then the
/// full sweep; `only` keeps the commands whose name contains it.
pub fn run(root: &Path, only: Option<&str>) -> Result<()> {
    deps::ensure_apt_packages()?;
    let python = python::ensure_venv(root)?;
    let mut sweep = cargo();
    sweep
        .current_dir(root)
        .env("TUF_CEREMONY_PYTHON", &python)
        .env("FAULTS_FULL", "1")
        .args([
            "test",
            "-p",
            "tuf-ceremony-e2e",
            "--test",
            "fault_sweep",
            "--",
            "--nocapture",
            "every_write",
        ]);
    if let Some(only) = only {
        sweep.env("FAULTS_ONLY", only);
    }
    step("the full fault sweep (tests/fault_sweep.rs)", &mut sweep)?;
    // The 64-bin batch writes (stage, merge), killed at every spread point.
    if only.is_none_or(|o| o.contains("batch")) {
        step(
            "the batch-durability kill sweep (tests/batch_durability.rs)",
            cargo()
                .current_dir(root)
                .env("TUF_CEREMONY_PYTHON", &python)
                .env("FAULTS_FULL", "1")
                .args([
                    "test",
                    "-p",
                    "tuf-ceremony-e2e",
                    "--test",
                    "batch_durability",
                ]),
        )?;
    }
    Ok(())
}
