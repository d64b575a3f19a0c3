//! `cargo xtask`: the project's own set-up and check commands.
//!
//! A fresh Debian 12 machine with only a Rust toolchain needs exactly two
//! commands from the README, `cargo xtask drill` and `cargo xtask test`; each
//! installs what it is missing (Debian packages, the python-tuf venv) and says
//! so. Written in Rust rather than shell so that it runs wherever cargo does,
//! fails with one clear line, and is checked by clippy like the rest.

mod bench;
mod deps;
mod faults;
mod fuzz;
mod image;
mod node;
mod python;
mod test;
mod tough;
mod tuf_on_ci;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Set-up, tests, benchmarks and fuzzing for tuf-ceremony"
)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what is missing (apt packages, Python venv), then run the
    /// practice ceremony (not yet: it arrives with the appliance, issue 5).
    Drill,
    /// Install what is missing, then run fmt, clippy, the test suite and the
    /// doc tests, stopping at the first step that fails.
    Test {
        /// Extra arguments for `cargo test` (e.g. `-- rotation` or
        /// `-- -p tuf-metadata -- --nocapture`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cargo_test_args: Vec<String>,
    },
    /// Compare our metadata code with python-tuf, and our PKCS#11 signing
    /// with the token's raw rate and securesystemslib's HSMSigner, on the
    /// same inputs in the same run, and print the ratios; time the terminal
    /// UI's start to its first frame against trivial programs.
    Bench {
        /// Run one section only.
        #[arg(long, value_enum)]
        only: Option<bench::Section>,
    },
    /// Kill or fail (ENOSPC, EIO) every write call of sign, merge, commit,
    /// publish, snapshot and timestamp; print the table (tests/fault_sweep.rs).
    Faults {
        /// Only the commands whose name contains one of these (e.g. `commit` or `merge,publish`).
        #[arg(long)]
        only: Option<String>,
    },
    /// Fuzz with cargo-fuzz (installs it if missing; seeds an empty
    /// corpus): parse + verify, or another target, or all of them.
    Fuzz {
        /// The target to run (default: parse_verify).
        #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(fuzz::TARGETS))]
        target: Option<String>,
        /// Run every target, each for --seconds.
        #[arg(long, conflicts_with = "target")]
        all: bool,
        /// How long libFuzzer runs (per target).
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Install the image tools, then build the bootable offline image in
    /// target/image/ (see docs/image.md).
    Image {
        /// Write image/packages.lock from what apt resolves now, instead
        /// of failing when it differs.
        #[arg(long)]
        update_lock: bool,
        /// Pin this root on the image (/etc/tuf-ceremony/pinned-root.json):
        /// the appliance then refuses a stick whose history lacks it.
        #[arg(long, value_name = "root.json")]
        pinned_root: Option<PathBuf>,
    },
    /// Boot the image in qemu (building it if missing) and run a practice
    /// ceremony on it over the serial console; check what it wrote.
    ImageTest,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = workspace_root();
    let outcome = match cli.command {
        Task::Drill => drill(&root),
        Task::Test { cargo_test_args } => test::run(&root, &cargo_test_args),
        Task::Bench { only } => bench::run(&root, only),
        Task::Faults { only } => faults::run(&root, only.as_deref()),
        Task::Fuzz {
            target,
            all,
            seconds,
        } => fuzz::run(&root, target.as_deref(), all, seconds),
        Task::Image {
            update_lock,
            pinned_root,
        } => image::build(&root, update_lock, pinned_root.as_deref()),
        Task::ImageTest => image::test(&root),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The practice ceremony (`ceremony-scripts/drill`) on built-in defaults:
/// SoftHSM2 tokens for three keyholders, a new repository, its first
/// ceremony and an annual rotation, headless. Set-up first, as `test` does.
/// Then the appliance's own practice: a rotation staged on a drill stick,
/// reviewed with `ceremony inspect`, and (at a terminal) the UI opened on
/// it for the keyholders to sign.
fn drill(root: &Path) -> Result<()> {
    deps::ensure_apt_packages()?;
    let python = python::ensure_venv(root)?;
    step(
        "building ceremony and tuf-repo",
        cargo().current_dir(root).args([
            "build", "--quiet", "-p", "ceremony", "-p", "tuf-repo", "--bins",
        ]),
    )?;
    let target = target_dir(root);
    let work = target.join("drill");
    if work.exists() {
        std::fs::remove_dir_all(&work)
            .with_context(|| format!("clearing the last drill in {}", work.display()))?;
    }
    let path = std::env::join_paths(std::iter::once(target.join("debug")).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))?;
    step(
        "the practice ceremony (ceremony-scripts/drill)",
        Command::new(root.join("ceremony-scripts/drill"))
            .arg(&work)
            .env("PATH", path)
            .env("TUF_CEREMONY_PYTHON", &python),
    )?;
    appliance_drill(&target, &work.join("appliance"))
}

/// Stages the appliance's practice rotation and opens the terminal UI on
/// it when there is a terminal to open it in (CI has none: it reviews the
/// stick headless instead and says how to open the UI).
fn appliance_drill(target: &Path, dir: &Path) -> Result<()> {
    use std::io::IsTerminal;
    let ceremony = target.join("debug").join("ceremony");
    step(
        "staging the appliance's practice rotation (root v1 → v2, one key replaced)",
        Command::new(&ceremony)
            .arg("drill-stage")
            .arg("--out")
            .arg(dir),
    )?;
    let stick = dir.join("stick");
    let conf = dir.join("softhsm2.conf");
    step(
        "what the review screen will show",
        Command::new(&ceremony)
            .args(["inspect", "--media"])
            .arg(&stick),
    )?;
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        step(
            "the appliance (DRILL): sign as two keyholders with the PINs above",
            Command::new(&ceremony)
                .args(["--drill", "--no-yubikey", "--media"])
                .arg(&stick)
                .env("SOFTHSM2_CONF", &conf),
        )
    } else {
        println!(
            "no terminal here: open the appliance on the drill stick with\n  SOFTHSM2_CONF={} {} --drill --no-yubikey --media {}",
            conf.display(),
            ceremony.display(),
            stick.display()
        );
        Ok(())
    }
}

/// The workspace root: xtask lives one level below it. Every command runs
/// from there so that relative paths mean the same whatever the caller's
/// directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, else `target/`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// The cargo that started us (same toolchain), or `cargo` from PATH.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Prints the command line, runs it, and turns a failure into an error that
/// names `what` failed, so the caller sees which step stopped the run.
fn step(what: &str, cmd: &mut Command) -> Result<()> {
    println!("==> {what}: {}", show(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("{what}: could not start `{}`", show(cmd)))?;
    if !status.success() {
        bail!("{what} failed ({status}): `{}`", show(cmd));
    }
    Ok(())
}

/// Runs a command for its answer only: true when it started and exited 0.
/// Its output is discarded; used for "is this installed?" probes.
fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A command as a person would type it (environment variables set on the
/// command first), for messages.
fn show(cmd: &Command) -> String {
    let mut words: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())))
        .collect();
    // The full path of the cargo that started us is noise in a message.
    let program = cmd.get_program();
    let ours = std::env::var_os("CARGO").is_some_and(|c| c == program);
    words.push(if ours {
        "cargo".into()
    } else {
        program.to_string_lossy().into_owned()
    });
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}
