//! `cargo xtask fuzz`: libFuzzer on parse + verify, through cargo-fuzz.
//!
//! cargo-fuzz wants a nightly compiler for its sanitizer flags; this machine
//! has one stable toolchain and cannot fetch another, so the run sets
//! `RUSTC_BOOTSTRAP=1`, which lets stable rustc accept them. The fuzz crate
//! (`fuzz/`, outside the workspace) and its `parse_verify` target belong to
//! the metadata issue; this only installs the tool and starts it.

use std::path::Path;

use anyhow::{Result, bail};

use crate::{cargo, step, succeeds};

/// The fuzz target that feeds bytes to the strict parser and the verifier.
const TARGET: &str = "parse_verify";

/// Installs cargo-fuzz if missing, then fuzzes for `seconds`.
pub fn run(root: &Path, seconds: u64) -> Result<()> {
    let fuzz_dir = root.join("fuzz");
    if !fuzz_dir.join("Cargo.toml").is_file() {
        bail!("fuzz/Cargo.toml is missing: the fuzz crate has not landed yet");
    }
    if succeeds(cargo().args(["fuzz", "--version"])) {
        println!("present: cargo-fuzz");
    } else {
        println!("installing: cargo-fuzz (cargo install, from crates.io)");
        step(
            "cargo install cargo-fuzz",
            cargo().args(["install", "cargo-fuzz", "--locked"]),
        )?;
    }
    step(
        &format!("fuzzing {TARGET} for {seconds} s"),
        cargo()
            .current_dir(&fuzz_dir)
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", TARGET, "--"])
            .arg(format!("-max_total_time={seconds}")),
    )
}
