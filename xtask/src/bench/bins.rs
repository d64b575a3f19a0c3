//! `cargo xtask bench --only bins`: the hash-bin pipeline on a repository
//! of 16,384 succinct bins — `tuf-repo stage`, batch signing (the bins'
//! age key, through the `bins_bench` example of tuf-repo, as the e2e tests
//! sign them), `merge`, `commit` — each set against a floor measured in the
//! same run. Goals: stage, merge and commit each ≤ 1.5× their floor;
//! batch signing ≥ 0.9× the raw signing rate. Batch signing is also set
//! against its floor, with the most of the raw rate a crash-safe writer of
//! its files could reach on this disk.
//!
//! - The floor of a step: the files it wrote (found by comparing the
//!   trees before and after it: a new inode or modification time), their
//!   bytes written again into the same directories as temp files, one
//!   `syncfs` (`sync -f`), then renamed over themselves. It is what any
//!   crash-safe writer of those bytes must pay. Beside it, the same bytes
//!   with one fsync per file (the old way), to show what batching saves.
//! - The raw signing rate: the same payloads signed and self-checked in
//!   memory with the key decoded once (`bins_bench --json`); batch signing
//!   counts everything after the key is unlocked (reading, planning,
//!   signing, checking, writing the files durably).
//!
//! Release builds; the repository and sticks live under `target/` (on the
//! disk, not a tmpfs, so the syncs cost what they cost) and are removed
//! at the end. The root and targets keys are on a throw-away SoftHSM2
//! token, the online and bins keys in age files, as in the drill.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::{read_json, verdict};
use crate::{cargo, deps, step, target_dir};

/// How many bins the delegation has.
const BINS: usize = 16_384;
/// The goals.
const GOAL_FLOOR: f64 = 1.5;
const GOAL_RAW: f64 = 0.9;
/// The throw-away token and its PINs.
const TOKEN: &str = "tuf-bins-bench";
const USER_PIN: &str = "246810";
const SO_PIN: &str = "13579111";
/// The age keys' passphrases.
const SNAPSHOT_PASS: &str = "snapshot passphrase";
const TIMESTAMP_PASS: &str = "timestamp passphrase";
const BINS_PASS: &str = "bins passphrase";

/// The programs and the scratch directory of one run.
struct Bench {
    dir: PathBuf,
    tuf_repo: PathBuf,
    ceremony: PathBuf,
    bins_bench: PathBuf,
    conf: PathBuf,
}

/// One timed step: its wall time, the files it wrote, and their floors.
struct Timed {
    label: &'static str,
    seconds: f64,
    files: usize,
    floor_syncfs: f64,
    floor_fsync_each: f64,
}

/// Builds, sets up the repository, runs and times the pipeline, prints
/// the table.
pub fn run(root: &Path) -> Result<()> {
    deps::ensure_apt_packages()?;
    step(
        "building tuf-repo, bins_bench and ceremony (release)",
        cargo().current_dir(root).args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "tuf-repo",
            "--bin",
            "tuf-repo",
            "--example",
            "bins_bench",
            "-p",
            "ceremony",
            "--bin",
            "ceremony",
        ]),
    )?;
    let release = target_dir(root).join("release");
    let dir = root.join("target/bench-data/bins");
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    fs::create_dir_all(dir.join("tokens"))?;
    let bench = Bench {
        conf: dir.join("softhsm2.conf"),
        dir,
        tuf_repo: release.join("tuf-repo"),
        ceremony: release.join("ceremony"),
        bins_bench: release.join("examples/bins_bench"),
    };
    let result = bench.pipeline();
    let _ = fs::remove_dir_all(&bench.dir);
    let (timed, signing) = result?;
    print_table(&timed, &signing)
}

/// What `bins_bench --json` measured.
struct Signing {
    count: f64,
    open: f64,
    /// `sign_many` alone, the first time (the raw rate is the second).
    sign: f64,
    raw: f64,
    wall: f64,
}

impl Bench {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn s(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    fn tuf_repo(&self, what: &str, argv: &[&str]) -> Result<()> {
        step(
            what,
            Command::new(&self.tuf_repo)
                .env("TUF_SNAPSHOT_PASSPHRASE", SNAPSHOT_PASS)
                .env("TUF_TIMESTAMP_PASSPHRASE", TIMESTAMP_PASS)
                .args(argv),
        )
    }

    fn ceremony(&self, what: &str, argv: &[&str]) -> Result<()> {
        step(
            what,
            Command::new(&self.ceremony)
                .env("SOFTHSM2_CONF", &self.conf)
                .args(argv),
        )
    }

    /// `ceremony sign` of one bundle file with the token's key.
    fn sign(&self, stick: &str, file: &str, anchor: &[&str]) -> Result<()> {
        let bundle = self.path(stick).join("tuf-ceremony");
        let mut argv = vec![
            "sign".to_owned(),
            "--metadata".to_owned(),
            bundle.join(file).display().to_string(),
        ];
        if let [flag, name] = anchor {
            argv.push((*flag).to_owned());
            argv.push(bundle.join(name).display().to_string());
        }
        let pin = self.s("user.pin");
        for arg in [
            "--profile",
            "softhsm2",
            "--token-label",
            TOKEN,
            "--pin-file",
        ] {
            argv.push(arg.to_owned());
        }
        argv.push(pin);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.ceremony(&format!("ceremony sign {file}"), &argv)
    }

    /// The token, the keys, a published repository (root v1, targets v1)
    /// and the 16,384-bin delegation staged.
    fn set_up(&self) -> Result<()> {
        fs::write(
            &self.conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                self.path("tokens").display()
            ),
        )?;
        fs::write(self.path("user.pin"), format!("{USER_PIN}\n"))?;
        step(
            "SoftHSM2 token for the root and targets keys",
            Command::new("softhsm2-util")
                .env("SOFTHSM2_CONF", &self.conf)
                .args(["--init-token", "--free", "--label", TOKEN])
                .args(["--so-pin", SO_PIN, "--pin", USER_PIN]),
        )?;
        self.ceremony(
            "onboard the token's key",
            &[
                "onboard",
                "--profile",
                "softhsm2",
                "--token-label",
                TOKEN,
                "--key-label",
                "releaser-root",
                "--key-type",
                "ed25519",
                "--pin-file",
                &self.s("user.pin"),
                "--out",
                &self.s("releaser.pub.json"),
            ],
        )?;
        for (name, pass) in [
            ("snapshot", SNAPSHOT_PASS),
            ("timestamp", TIMESTAMP_PASS),
            ("bins", BINS_PASS),
        ] {
            fs::write(self.path(&format!("{name}.pass")), format!("{pass}\n"))?;
            self.ceremony(
                &format!("onboard the {name} age key"),
                &[
                    "onboard",
                    "--age",
                    &self.s(&format!("{name}.age")),
                    "--passphrase-file",
                    &self.s(&format!("{name}.pass")),
                    "--key-type",
                    "ed25519",
                    "--out",
                    &self.s(&format!("{name}.pub.json")),
                ],
            )?;
        }
        let repo = self.s("repo");
        self.tuf_repo(
            "init",
            &[
                "init",
                &repo,
                "--root-key",
                &self.s("releaser.pub.json"),
                "--root-threshold",
                "1",
                "--snapshot-key",
                &self.s("snapshot.pub.json"),
                "--timestamp-key",
                &self.s("timestamp.pub.json"),
                "--online-snapshot-age",
                &self.s("snapshot.age"),
                "--online-timestamp-age",
                &self.s("timestamp.age"),
            ],
        )?;
        let stick = self.s("stick-1");
        self.tuf_repo(
            "stage root v1",
            &["stage-rotation", &repo, "--stick", &stick],
        )?;
        self.sign("stick-1", "staged/root.json", &[])?;
        self.sign(
            "stick-1",
            "staged/targets.json",
            &["--staged-root", "staged/root.json"],
        )?;
        self.tuf_repo("merge v1", &["merge", &repo, "--stick", &stick])?;
        self.tuf_repo("commit v1", &["commit", &repo])?;
        let bins = BINS.to_string();
        self.tuf_repo(
            "delegate the hash bins",
            &[
                "delegate",
                &repo,
                "--succinct",
                "--bins",
                &bins,
                "--name-prefix",
                "bins",
                "--key",
                &self.s("bins.pub.json"),
                "--threshold",
                "1",
            ],
        )
    }

    /// Times `run` and measures the floor of what it wrote under `watched`.
    fn timed(
        &self,
        label: &'static str,
        watched: &[&str],
        run: impl FnOnce() -> Result<()>,
    ) -> Result<Timed> {
        let roots: Vec<PathBuf> = watched.iter().map(|w| self.path(w)).collect();
        let before = tree(&roots)?;
        let started = Instant::now();
        run()?;
        let seconds = started.elapsed().as_secs_f64();
        let after = tree(&roots)?;
        let written: Vec<PathBuf> = after
            .into_iter()
            .filter(|(path, stamp)| before.get(path) != Some(stamp))
            .map(|(path, _)| path)
            .collect();
        let floor_syncfs = floor(&written, Durability::SyncFs)?;
        let floor_fsync_each = floor(&written, Durability::FsyncEach)?;
        Ok(Timed {
            label,
            seconds,
            files: written.len(),
            floor_syncfs,
            floor_fsync_each,
        })
    }

    fn pipeline(&self) -> Result<(Vec<Timed>, Signing)> {
        self.set_up()?;
        let repo = self.s("repo");
        let stick = self.s("stick-2");
        println!("loadavg before the timed steps: {}", loadavg());
        let mut timed = vec![self.timed("stage", &["repo", "stick-2"], || {
            self.tuf_repo("stage", &["stage", &repo, "--stick", &stick])
        })?];
        self.sign(
            "stick-2",
            "staged/targets.json",
            &["--trusted", "repository/1.root.json"],
        )?;
        let json = self.path("bins_bench.json");
        let mut wall = 0.0;
        timed.push(self.timed("batch sign", &["stick-2"], || {
            let started = Instant::now();
            step(
                "batch sign (bins_bench)",
                Command::new(&self.bins_bench)
                    .arg(&stick)
                    .arg(self.path("bins.age"))
                    .arg(self.path("bins.pass"))
                    .arg("--json")
                    .arg(&json),
            )?;
            wall = started.elapsed().as_secs_f64();
            Ok(())
        })?);
        let figures = read_json(&json)?;
        let number = |key: &str| -> Result<f64> {
            figures[key]
                .as_f64()
                .with_context(|| format!("{}: no number {key}", json.display()))
        };
        let signing = Signing {
            count: number("count")?,
            open: number("open_s")?,
            sign: number("sign_s")?,
            raw: number("raw_s")?,
            wall,
        };
        timed.push(self.timed("merge", &["repo"], || {
            self.tuf_repo("merge", &["merge", &repo, "--stick", &stick])
        })?);
        timed.push(self.timed("commit", &["repo"], || {
            self.tuf_repo("commit", &["commit", &repo])
        })?);
        println!("loadavg after the timed steps: {}", loadavg());
        self.tuf_repo("verify", &["verify", &repo])?;
        if timed.iter().any(|t| t.files < BINS) {
            bail!("a timed step wrote fewer than {BINS} files: the pipeline did not run as meant");
        }
        Ok((timed, signing))
    }
}

/// Every regular file under `roots` with what changes when it is
/// rewritten (inode, size, modification time).
fn tree(roots: &[PathBuf]) -> Result<BTreeMap<PathBuf, (u64, u64, i64, i64)>> {
    let mut found = BTreeMap::new();
    let mut stack: Vec<PathBuf> = roots.iter().filter(|r| r.exists()).cloned().collect();
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                let stamp = (meta.ino(), meta.size(), meta.mtime(), meta.mtime_nsec());
                found.insert(entry.path(), stamp);
            }
        }
    }
    Ok(found)
}

#[derive(Clone, Copy)]
enum Durability {
    /// All temp files, one `syncfs`, all renames.
    SyncFs,
    /// Each temp file fsynced, then renamed.
    FsyncEach,
}

/// Seconds to write `files`' bytes again as temp files beside them and
/// rename them over themselves, made durable as `how` says. The bytes are
/// read first, outside the clock.
fn floor(files: &[PathBuf], how: Durability) -> Result<f64> {
    let contents: Vec<(PathBuf, PathBuf, Vec<u8>)> = files
        .iter()
        .map(|path| {
            let bytes = fs::read(path).with_context(|| format!("{}", path.display()))?;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let temp = path.with_file_name(format!(".{name}.floor-tmp"));
            Ok((path.clone(), temp, bytes))
        })
        .collect::<Result<_>>()?;
    let started = Instant::now();
    for (_, temp, bytes) in &contents {
        let mut file = fs::File::create(temp)?;
        file.write_all(bytes)?;
        if let Durability::FsyncEach = how {
            file.sync_all()?;
        }
    }
    if let (Durability::SyncFs, Some((path, _, _))) = (how, contents.first()) {
        step_quiet(Command::new("sync").arg("-f").arg(path))?;
    }
    for (path, temp, _) in &contents {
        fs::rename(temp, path)?;
    }
    Ok(started.elapsed().as_secs_f64())
}

fn step_quiet(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().context("could not start sync")?;
    if !status.success() {
        bail!("sync -f failed ({status})");
    }
    Ok(())
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|l| l.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

fn print_table(timed: &[Timed], signing: &Signing) -> Result<()> {
    println!();
    println!(
        "The hash-bin pipeline, {BINS} succinct bins (release builds); \
         floor = the same bytes into the same folders, one syncfs, renamed"
    );
    println!(
        "  {:<11} {:>7} {:>9} {:>11} {:>16}  {:<16} fsync-each / floor",
        "step", "files", "seconds", "floor (s)", "fsync-each (s)", "step / floor"
    );
    for t in timed {
        let ratio = t.seconds / t.floor_syncfs;
        let shown = if t.label == "batch sign" {
            format!("{ratio:.2}× (see below)")
        } else {
            format!("{ratio:.2}× {}", verdict(ratio <= GOAL_FLOOR))
        };
        println!(
            "  {:<11} {:>7} {:>9.3} {:>11.3} {:>16.3}  {:<16} {:.1}×",
            t.label,
            t.files,
            t.seconds,
            t.floor_syncfs,
            t.floor_fsync_each,
            shown,
            t.floor_fsync_each / t.floor_syncfs
        );
    }
    let after_unlock = signing.wall - signing.open;
    let batch_rate = signing.count / after_unlock;
    let raw_rate = signing.count / signing.raw;
    let ratio = batch_rate / raw_rate;
    println!(
        "  batch signing: {:.0} files in {after_unlock:.3} s after the key was unlocked \
         ({:.3} s of scrypt; sign_many {:.3} s), {batch_rate:.0}/s; raw (sign + self-check \
         in memory, key decoded once) {raw_rate:.0}/s: {ratio:.2}× {}",
        signing.count,
        signing.open,
        signing.sign,
        verdict(ratio >= GOAL_RAW)
    );
    // Writing the signed files durably cannot cost less than their floor:
    // say how much of the raw rate the disk alone leaves, and hold the
    // whole step to the floor goal as the other steps are.
    let floor = timed
        .iter()
        .find(|t| t.label == "batch sign")
        .map_or(f64::NAN, |t| t.floor_syncfs);
    println!(
        "  batch signing against its floor: {:.2}× {} (the floor alone, {floor:.3} s, is {:.1}× \
         the raw signing time: a crash-safe writer of these files reaches at most {:.2}× raw here)",
        after_unlock / floor,
        verdict(after_unlock / floor <= GOAL_FLOOR),
        floor / signing.raw,
        signing.raw / (signing.raw + floor)
    );
    println!(
        "  goals: stage, merge, commit ≤ {GOAL_FLOOR}× floor; batch signing ≥ {GOAL_RAW}× raw"
    );
    Ok(())
}
