//! `cargo xtask test`: the one command CI runs (`.ci/run`) and the README's
//! second set-up command.
//!
//! It installs what is missing first, so a fresh clone on a fresh machine
//! passes or fails on the code, not on the machine; then it runs the checks
//! in order of cost and stops at the first that fails, naming it.

use std::path::Path;

use anyhow::Result;

use crate::{cargo, deps, image, node, python, step, tough, tuf_on_ci};

/// The environment variable the end-to-end harness (`tests/harness`) reads
/// to find the python-tuf peer.
const PYTHON_ENV: &str = "TUF_CEREMONY_PYTHON";

/// `cargo test` options that choose targets. With one of them among the
/// extra arguments the caller has picked what to run, so `--all-targets`
/// is left off and the doc-test step (which `--doc` cannot be mixed with)
/// is skipped.
const TARGET_OPTIONS: &[&str] = &[
    "--lib",
    "--bin",
    "--bins",
    "--example",
    "--examples",
    "--test",
    "--tests",
    "--bench",
    "--benches",
    "--all-targets",
    "--doc",
];

/// Set-up, then fmt → clippy → tests → doc tests → the image boot test. `extra` goes to both
/// `cargo test` runs (a filter, `-p <crate>`, `-- --nocapture`).
pub fn run(root: &Path, extra: &[String]) -> Result<()> {
    deps::ensure_apt_packages()?;
    deps::ensure_rust_components()?;
    let python = python::ensure_venv(root)?;
    node::ensure_node_packages(root)?;
    let tuf_on_ci_sign = tuf_on_ci::ensure_venv(root)?;
    let tough_peer = tough::ensure_tough_peer(root)?;

    step(
        "formatting (cargo fmt)",
        cargo()
            .current_dir(root)
            .args(["fmt", "--all", "--", "--check"]),
    )?;
    step(
        "lints (cargo clippy)",
        cargo().current_dir(root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;

    let picks_targets = selects_targets(extra);
    let mut tests = cargo();
    tests
        .current_dir(root)
        .env(PYTHON_ENV, &python)
        .env(tuf_on_ci::SIGN_ENV, &tuf_on_ci_sign)
        .env(tough::TOUGH_ENV, &tough_peer)
        .args(["test", "--workspace"]);
    if !picks_targets {
        tests.arg("--all-targets");
    }
    step("tests (cargo test)", tests.args(extra))?;

    if picks_targets {
        println!("doc tests: skipped, the extra arguments choose which targets run");
    } else {
        step(
            "doc tests (cargo test --doc)",
            cargo()
                .current_dir(root)
                .env(PYTHON_ENV, &python)
                .env(tough::TOUGH_ENV, &tough_peer)
                .args(["test", "--workspace", "--doc"])
                .args(extra),
        )?;
    }
    if extra.is_empty() {
        // The whole suite includes the boot test (a few minutes): the image
        // is rebuilt from this tree's binaries every time, so what boots is
        // what was just tested; a mirror that moved on since the package
        // lock was written is reported, not fatal, here.
        println!("==> the boot test: building the image from this tree, then booting it in qemu");
        image::build_with(root, image::Lock::AllowDrift, None)?;
        image::test(root)?;
    } else {
        println!(
            "boot test: skipped, the extra arguments choose what runs (cargo xtask image-test runs it)"
        );
    }
    println!("xtask test: every step passed");
    Ok(())
}

/// True when an argument before a bare `--` (after it, the arguments are the
/// test binaries') is one of [`TARGET_OPTIONS`], as `--test` or `--test=x`.
fn selects_targets(extra: &[String]) -> bool {
    extra
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| TARGET_OPTIONS.contains(&a.split('=').next().unwrap_or(a)))
}

#[cfg(test)]
mod tests {
    use super::selects_targets;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn a_filter_or_package_keeps_all_targets_and_doc_tests() {
        for extra in [&[][..], &["rotation"], &["-p", "tuf-metadata"]] {
            assert!(!selects_targets(&args(extra)), "{extra:?}");
        }
    }

    #[test]
    fn a_target_option_before_the_separator_picks_targets() {
        for extra in [
            &["--test", "e2e"][..],
            &["--test=e2e"],
            &["--lib"],
            &["--doc"],
        ] {
            assert!(selects_targets(&args(extra)), "{extra:?}");
        }
    }

    #[test]
    fn options_after_the_separator_belong_to_the_test_binary() {
        assert!(!selects_targets(&args(&["--", "--test", "--nocapture"])));
    }
}
