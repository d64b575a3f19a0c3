//! `cargo xtask fuzz`: libFuzzer on our parsers and readers, through
//! cargo-fuzz.
//!
//! cargo-fuzz wants a nightly compiler for its sanitizer flags; this machine
//! has one stable toolchain and cannot fetch another, so the run sets
//! `RUSTC_BOOTSTRAP=1`, which lets stable rustc accept them. The targets
//! live in `fuzz/` (outside the workspace). An empty corpus is seeded first:
//! the target writes the seeds our own writers make (`TUF_FUZZ_SEEDS`), and
//! `fuzz/seed-corpus.sh` adds python-tuf's fixture shapes and a staged
//! bundle. Each target's libFuzzer log is kept in `target/fuzz-logs/`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result, bail};

use crate::{cargo, python, show, step, succeeds, target_dir};

/// Every fuzz target in `fuzz/fuzz_targets/`.
pub const TARGETS: &[&str] = &[
    "parse_verify",
    "client_update",
    "bundle_reader",
    "transcript_reader",
];

/// What runs without `--target` or `--all`: parse + verify, as before.
const DEFAULT_TARGET: &str = "parse_verify";

/// Which targets to run: `target` (one), `all`, else [`DEFAULT_TARGET`];
/// each for `seconds`. Exits with an error if any target crashed.
pub fn run(root: &Path, target: Option<&str>, all: bool, seconds: u64) -> Result<()> {
    let fuzz_dir = root.join("fuzz");
    if !fuzz_dir.join("Cargo.toml").is_file() {
        bail!("fuzz/Cargo.toml is missing: the fuzz crate has not landed yet");
    }
    let chosen: Vec<&str> = match (target, all) {
        (Some(_), true) => bail!("--target and --all exclude each other"),
        (Some(name), false) if TARGETS.contains(&name) => vec![name],
        (Some(name), false) => bail!(
            "no fuzz target {name}: the targets are {}",
            TARGETS.join(", ")
        ),
        (None, true) => TARGETS.to_vec(),
        (None, false) => vec![DEFAULT_TARGET],
    };
    ensure_cargo_fuzz()?;
    let logs = target_dir(root).join("fuzz-logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let mut crashes = Vec::new();
    for name in chosen {
        let corpus = fuzz_dir.join("corpus").join(name);
        if is_empty(&corpus) {
            seed(root, name, &corpus)?;
        }
        let outcome = fuzz_one(
            &fuzz_dir,
            name,
            &corpus,
            &logs.join(format!("{name}.log")),
            seconds,
        )?;
        println!("{}", outcome.line(name));
        if let Some(crash) = outcome.crash {
            crashes.push(format!("{name}: {}", crash.display()));
        }
    }
    if !crashes.is_empty() {
        bail!("fuzzing found a crash: {}", crashes.join("; "));
    }
    Ok(())
}

fn ensure_cargo_fuzz() -> Result<()> {
    if succeeds(cargo().args(["fuzz", "--version"])) {
        println!("present: cargo-fuzz");
        return Ok(());
    }
    println!("installing: cargo-fuzz (cargo install, from crates.io)");
    step(
        "cargo install cargo-fuzz",
        cargo().args(["install", "cargo-fuzz", "--locked"]),
    )
}

/// True when `dir` is missing or holds no file.
fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut entries| entries.next().is_none())
}

/// `cargo fuzz run` for `name` with our flags.
fn fuzz_command(fuzz_dir: &Path, name: &str, corpus: &Path) -> std::process::Command {
    let mut cmd = cargo();
    cmd.current_dir(fuzz_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "run", name])
        .arg(corpus)
        .arg("--");
    cmd
}

/// Fills an empty corpus: first the target's own seeds, then the fixtures'.
fn seed(root: &Path, name: &str, corpus: &Path) -> Result<()> {
    std::fs::create_dir_all(corpus).with_context(|| format!("creating {}", corpus.display()))?;
    step(
        &format!("seeding {name} from our own writers"),
        fuzz_command(&root.join("fuzz"), name, corpus)
            .env("TUF_FUZZ_SEEDS", corpus)
            .arg("-runs=0"),
    )?;
    let python = python::ensure_venv(root)?;
    let mut script = std::process::Command::new(root.join("fuzz/seed-corpus.sh"));
    script.arg(name).arg(corpus).env("PYTHON", &python);
    if name == "bundle_reader" {
        step(
            "building ceremony (its drill-stage makes a bundle)",
            cargo()
                .current_dir(root)
                .args(["build", "--quiet", "-p", "ceremony", "--bin", "ceremony"]),
        )?;
        script.env("CEREMONY", target_dir(root).join("debug/ceremony"));
    }
    step(&format!("seeding {name} from fixtures"), &mut script)
}

/// What one run reported.
#[derive(Debug, Default, PartialEq, Eq)]
struct Outcome {
    runs: Option<u64>,
    execs_per_sec: Option<u64>,
    corpus_files: usize,
    crash: Option<PathBuf>,
}

impl Outcome {
    fn line(&self, name: &str) -> String {
        let figure = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
        let mut line = format!(
            "{name}: {} runs, {} execs/s, corpus {} inputs",
            figure(self.runs),
            figure(self.execs_per_sec),
            self.corpus_files
        );
        if let Some(crash) = &self.crash {
            line.push_str(&format!(", CRASH: reproducer {}", crash.display()));
        }
        line
    }
}

/// Runs `name` for `seconds` with libFuzzer's output in `log`, and reads
/// the figures and any reproducer from it.
fn fuzz_one(
    fuzz_dir: &Path,
    name: &str,
    corpus: &Path,
    log: &Path,
    seconds: u64,
) -> Result<Outcome> {
    let mut cmd = fuzz_command(fuzz_dir, name, corpus);
    cmd.arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1");
    println!(
        "==> fuzzing {name} for {seconds} s (log: {}): {}",
        log.display(),
        show(&cmd)
    );
    let file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let status = cmd
        .stdout(Stdio::from(file.try_clone()?))
        .stderr(Stdio::from(file))
        .status()
        .with_context(|| format!("could not start `{}`", show(&cmd)))?;
    let text =
        std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    let mut outcome = parse_log(&text);
    outcome.corpus_files = std::fs::read_dir(corpus).map_or(0, |d| d.count());
    outcome.crash = outcome
        .crash
        .map(|p| if p.is_relative() { fuzz_dir.join(p) } else { p });
    if !status.success() && outcome.crash.is_none() {
        bail!(
            "fuzzing {name} failed ({status}) without a reproducer: see {}",
            log.display()
        );
    }
    Ok(outcome)
}

/// The final stats (`stat::number_of_executed_units`,
/// `stat::average_exec_per_sec`) and the reproducer (`Test unit written to
/// <path>`) libFuzzer printed.
fn parse_log(text: &str) -> Outcome {
    let mut outcome = Outcome::default();
    for line in text.lines() {
        let stat = |key: &str| {
            line.strip_prefix(key)
                .and_then(|rest| rest.trim().parse::<u64>().ok())
        };
        if let Some(v) = stat("stat::number_of_executed_units:") {
            outcome.runs = Some(v);
        } else if let Some(v) = stat("stat::average_exec_per_sec:") {
            outcome.execs_per_sec = Some(v);
        } else if let Some((_, path)) = line.split_once("Test unit written to ") {
            outcome.crash = Some(PathBuf::from(path.trim()));
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_and_the_reproducer_come_from_libfuzzers_log() {
        let log = "#1024\tpulse  cov: 3 ft: 4\n\
            ==12== ERROR: libFuzzer: deadly signal\n\
            artifact_prefix='/w/fuzz/artifacts/client_update/'; Test unit written to /w/fuzz/artifacts/client_update/crash-ab12\n\
            stat::number_of_executed_units: 52311\n\
            stat::average_exec_per_sec:     871\n\
            stat::new_units_added:          12\n";
        let outcome = parse_log(log);
        assert_eq!(outcome.runs, Some(52311));
        assert_eq!(outcome.execs_per_sec, Some(871));
        assert_eq!(
            outcome.crash.as_deref(),
            Some(Path::new("/w/fuzz/artifacts/client_update/crash-ab12"))
        );
        assert_eq!(
            outcome.line("client_update"),
            "client_update: 52311 runs, 871 execs/s, corpus 0 inputs, CRASH: reproducer /w/fuzz/artifacts/client_update/crash-ab12"
        );
    }

    #[test]
    fn a_clean_run_has_no_reproducer() {
        let outcome = parse_log("stat::number_of_executed_units: 7\nDone 7 runs in 1 second(s)\n");
        assert_eq!(outcome.crash, None);
        assert_eq!(outcome.runs, Some(7));
        assert_eq!(outcome.execs_per_sec, None);
    }

    #[test]
    fn every_target_has_a_source_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
        for name in TARGETS {
            assert!(dir.join(format!("{name}.rs")).is_file(), "{name}");
        }
    }
}
