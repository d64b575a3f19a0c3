//! `cargo xtask bench --only tui`: how long `ceremony` (the terminal UI)
//! takes from start to its first frame, and how much memory it holds then.
//! Goals: ≤ 50 ms and < 20 MB RSS.
//!
//! The release binary runs with the hidden `--first-frame-only` flag, which
//! takes the real start-up path (hardening, session, the stick given with
//! `--media`, the first draw) and exits once the frame is out. A UI needs a
//! terminal, so every run is inside a fresh pseudo-terminal from util-linux
//! `script`, 80×24, `TERM=xterm-256color`, on a stick staged by
//! `ceremony drill-stage`. Each run is timed three ways:
//!
//! - `/usr/bin/time -f "%e %M"`: wall time (10 ms resolution) and max RSS;
//! - bash's `time` keyword around `/usr/bin/time …` (1 ms resolution; it
//!   also counts starting /usr/bin/time);
//! - `Instant` in this process around the whole `script` run (pty, shell,
//!   `stty`): an upper bound, nothing subtracted.
//!
//! Trivial peers (`tput cols`, `/usr/bin/true`) run the same way, so the
//! harness's own share is visible next to the ceremony's. Run as root, the
//! ceremony locks its memory (`mlockall` in `harden_process`), which counts
//! in RSS; the benchmark then also runs it as `nobody` with a small
//! `RLIMIT_MEMLOCK`, where it cannot lock, to show the difference.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::{TempDir, read_json, verdict};
use crate::{cargo, deps, step, target_dir};

/// Runs per program.
const RUNS: usize = 30;
/// The goals.
const GOAL_MS: f64 = 50.0;
const GOAL_MB: f64 = 20.0;
/// The terminal every run gets.
const TERM: &str = "xterm-256color";
const STTY: &str = "stty cols 80 rows 24";
/// The unprivileged user of the run without `mlockall`.
const NOBODY: &str = "setpriv --reuid=65534 --regid=65534 --clear-groups";

/// One program's runs.
struct Sample {
    label: String,
    /// `/usr/bin/time %e`, seconds.
    time_e: Vec<f64>,
    /// bash `time`, seconds.
    bash: Vec<f64>,
    /// The whole `script` run, seconds.
    whole: Vec<f64>,
    /// `/usr/bin/time %M`, KiB.
    rss_kib: Vec<f64>,
}

/// Builds, stages, runs everything, prints the table.
pub fn run(root: &Path) -> Result<()> {
    deps::ensure_apt_packages()?;
    step(
        "building ceremony (release)",
        cargo().current_dir(root).args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "ceremony",
            "--bin",
            "ceremony",
        ]),
    )?;
    let dir = TempDir::new("tuf-ceremony-tui-bench")?;
    // A copy in the (world-readable) temporary directory, so that `nobody`
    // can run it wherever the workspace is.
    let ceremony = dir.0.join("ceremony");
    fs::copy(target_dir(root).join("release/ceremony"), &ceremony)
        .context("copying the release ceremony binary")?;
    let work = dir.0.join("drill");
    step(
        "staging a practice stick (ceremony drill-stage)",
        Command::new(&ceremony)
            .args(["drill-stage", "--out"])
            .arg(&work)
            .stdout(Stdio::null()),
    )?;
    let drill = read_json(&work.join("drill.json"))?;
    let field = |name: &str| -> Result<PathBuf> {
        drill[name]
            .as_str()
            .map(PathBuf::from)
            .with_context(|| format!("drill.json has no {name}"))
    };
    let (stick, conf) = (field("stick")?, field("softhsm2_conf")?);
    let root_user = deps::is_root()?;
    if root_user {
        // `nobody` reads the stick too.
        step(
            "making the staged drill readable for nobody",
            Command::new("chmod").args(["-R", "a+rX"]).arg(&work),
        )?;
    }

    let ui = format!(
        "{} --first-frame-only --media {} --no-yubikey --profile softhsm2",
        quote(&ceremony),
        quote(&stick)
    );
    let out = dir.0.join("stderr");
    let mut samples = Vec::new();
    let who = if root_user {
        "root, mlockall"
    } else {
        "this user"
    };
    println!("==> {RUNS} runs each in a pty (script), {STTY}, TERM={TERM}: {ui}");
    samples.push(measure(
        &format!("ceremony ({who})"),
        ("", ""),
        &ui,
        &conf,
        &out,
    )?);
    if root_user {
        samples.push(measure(
            "ceremony (nobody, no mlock)",
            ("ulimit -l 64; ", &format!("{NOBODY} ")),
            &ui,
            &conf,
            &out,
        )?);
    }
    samples.push(measure(
        "peer: tput cols",
        ("", ""),
        "tput cols",
        &conf,
        &out,
    )?);
    samples.push(measure(
        "peer: /usr/bin/true",
        ("", ""),
        "/usr/bin/true",
        &conf,
        &out,
    )?);
    print_table(&samples, root_user);
    Ok(())
}

/// `RUNS` runs of `command` inside `script`, after the shell commands
/// `setup` (a limit), with `prefix` (a user switch) before `/usr/bin/time`.
fn measure(
    label: &str,
    (setup, prefix): (&str, &str),
    command: &str,
    conf: &Path,
    out: &Path,
) -> Result<Sample> {
    let mut sample = Sample {
        label: label.to_owned(),
        time_e: Vec::new(),
        bash: Vec::new(),
        whole: Vec::new(),
        rss_kib: Vec::new(),
    };
    // Ours first, then /usr/bin/time's line, then bash's (the group's
    // stderr goes to the file; the frame goes to the pty).
    let inner = format!(
        "{STTY}; {setup}TIMEFORMAT=%3R; {{ time {prefix}/usr/bin/time -f '%e %M' {command} ; }} 2>{}",
        quote(out)
    );
    for _ in 0..RUNS {
        let _ = fs::remove_file(out);
        let mut script = Command::new("script");
        script
            .args(["-qec", &inner, "/dev/null"])
            .env("SHELL", "/bin/bash")
            .env("TERM", TERM)
            .env("SOFTHSM2_CONF", conf)
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        let start = Instant::now();
        let result = script.output();
        let whole = start.elapsed().as_secs_f64();
        let status = result
            .context("could not start `script` (util-linux)")?
            .status;
        let text = fs::read_to_string(out).unwrap_or_default();
        if !status.success() {
            bail!("{label}: `script -qec \"{inner}\"` failed ({status}):\n{text}");
        }
        let mut lines = text.lines().rev();
        let (Some(bash), Some(gnu)) = (lines.next(), lines.next()) else {
            bail!("{label}: no timings in {}:\n{text}", out.display());
        };
        let number = |word: Option<&str>| -> Result<f64> {
            word.and_then(|w| w.parse().ok())
                .with_context(|| format!("{label}: unexpected timing output:\n{text}"))
        };
        let mut gnu = gnu.split_whitespace();
        sample.time_e.push(number(gnu.next())?);
        sample.rss_kib.push(number(gnu.next())?);
        sample.bash.push(number(Some(bash.trim()))?);
        sample.whole.push(whole);
    }
    Ok(sample)
}

fn print_table(samples: &[Sample], root_user: bool) {
    println!();
    println!(
        "ceremony start to first frame, {RUNS} runs each; ms (median / max), RSS MB (MiB; max)"
    );
    println!(
        "  {:<28} {:>15} {:>15} {:>15} {:>8}",
        "", "/usr/bin/time", "bash time", "whole pty run", "max RSS"
    );
    let ms = |v: &[f64]| format!("{:.1} / {:.1}", median(v) * 1e3, max(v) * 1e3);
    for s in samples {
        println!(
            "  {:<28} {:>15} {:>15} {:>15} {:>8.1}",
            s.label,
            ms(&s.time_e),
            ms(&s.bash),
            ms(&s.whole),
            max(&s.rss_kib) / 1024.0
        );
    }
    let ceremony = &samples[0];
    let peer = samples
        .iter()
        .find(|s| s.label == "peer: tput cols")
        .expect("tput cols is always measured");
    println!(
        "  ceremony / tput cols, medians: bash time {:.1}×, whole pty run {:.1}×",
        median(&ceremony.bash) / median(&peer.bash),
        median(&ceremony.whole) / median(&peer.whole)
    );
    for s in samples.iter().filter(|s| s.label.starts_with("ceremony")) {
        let (med, top) = (median(&s.bash) * 1e3, max(&s.bash) * 1e3);
        let mb = max(&s.rss_kib) / 1024.0;
        println!(
            "  {}: first frame ≤ {GOAL_MS} ms (bash time): median {}, max {}; RSS < {GOAL_MB} MB: {}",
            s.label,
            verdict(med <= GOAL_MS),
            verdict(top <= GOAL_MS),
            verdict(mb < GOAL_MB)
        );
    }
    if !root_user {
        println!(
            "  not root: the ceremony could not mlockall, so its locked RSS was not measured \
             (run as root for that row)"
        );
    }
    println!(
        "  /usr/bin/time's wall time has 10 ms resolution; bash time includes starting \
         /usr/bin/time; the whole pty run is an upper bound (script, bash, stty included)"
    );
}

fn median(v: &[f64]) -> f64 {
    let mut sorted = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// A path as one shell word.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}
