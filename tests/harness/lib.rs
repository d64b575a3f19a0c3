//! Test harness for the end-to-end suite: finds the python-tuf peer that
//! `cargo xtask test` installs, runs the fixture scripts in `tests/fixtures`
//! into temporary directories, and builds the command-line tools under test.
//!
//! Fixtures are generated on every run by python-tuf, never pasted: a test
//! that cannot find the peer fails and says how to install it, rather than
//! passing without checking anything.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

pub mod faults;
pub mod js;
pub mod repo_setup;
pub mod s3;
pub mod serve;
pub mod terminal;
pub mod tough;
pub mod tuf_on_ci;

/// Every file under `dir` with its bytes: what "unchanged" is compared on.
pub fn snapshot_of(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(snapshot_of(&path));
        } else {
            files.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    files
}

/// Asserts `run` was refused: exit 1 and exactly one `error:` line, which
/// holds every one of `needles`.
pub fn refused(run: &Run, what: &str, needles: &[&str]) {
    assert_eq!(run.code, Some(1), "{what}: {run:?}");
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{what}: one error line: {run:?}");
    for needle in needles {
        assert!(errors[0].contains(needle), "{what}: {needle:?} in {run:?}");
    }
}

/// Copies the directory tree `from` to `to` (files and directories only).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// The workspace root (this package lives there).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The python interpreter of the venv holding python-tuf.
pub fn python() -> PathBuf {
    let path = std::env::var_os("TUF_CEREMONY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    assert!(
        path.exists(),
        "python-tuf peer not found at {}: run `cargo xtask test`, which installs it",
        path.display()
    );
    path
}

/// Runs `tests/fixtures/<script>` with `args`, failing the test (with the
/// script's stderr) if it fails.
pub fn run_fixture_script(script: &str, args: &[&std::ffi::OsStr]) -> Output {
    let script_path = workspace_root().join("tests/fixtures").join(script);
    let output = Command::new(python())
        .arg(&script_path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script_path.display()));
    assert!(
        output.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The directory of fixtures that `script OUTDIR` makes, generated once per
/// test binary into `target/e2e-fixtures/<test binary>/<script>` (replacing
/// the previous run's, so nothing piles up in /tmp and two test binaries
/// never share a directory).
pub fn fixtures(script: &'static str) -> PathBuf {
    static MADE: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        // Drop cargo's `-<hash>` so rebuilds reuse (and replace) one directory.
        .map(|stem| {
            stem.rsplit_once('-')
                .map_or(stem.clone(), |(name, _)| name.to_owned())
        })
        .unwrap_or_else(|| "tests".into());
    let out = target_dir()
        .join("e2e-fixtures")
        .join(binary)
        .join(script.trim_end_matches(".py"));
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if !made.contains(&script) {
        if out.exists() {
            std::fs::remove_dir_all(&out)
                .unwrap_or_else(|e| panic!("cannot clear {}: {e}", out.display()));
        }
        run_fixture_script(script, &[out.as_os_str()]);
        made.push(script);
    }
    out
}

/// Cargo's target directory.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Reads a JSON file the fixture scripts wrote (their manifests).
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Path of a workspace binary (package and binary share `name`), built once
/// per test binary so the test never runs a stale build.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|b| b == name) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(workspace_root())
            .args(["build", "--quiet", "-p", name, "--bin", name])
            .status()
            .expect("cargo build");
        assert!(status.success(), "building {name} failed");
        built.push(name.to_owned());
    }
    target_dir().join("debug").join(name)
}

/// The result of running a command-line tool: exit code and text streams.
#[derive(Debug)]
pub struct Run {
    /// Exit code (None if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `tuf-repo` with `args`.
pub fn tuf_repo<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let output = Command::new(binary("tuf-repo"))
        .args(args)
        .output()
        .expect("run tuf-repo");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A private SoftHSM2 token directory: tokens made here are seen only by
/// processes given [`SoftHsm::conf`] as `SOFTHSM2_CONF`.
pub struct SoftHsm {
    dir: tempfile::TempDir,
}

impl SoftHsm {
    /// A fresh token directory with its own `softhsm2.conf`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        );
        std::fs::write(dir.path().join("softhsm2.conf"), conf).unwrap();
        SoftHsm { dir }
    }

    /// The `SOFTHSM2_CONF` value for child processes.
    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("softhsm2.conf")
    }

    /// A scratch directory beside the tokens, for PIN files and metadata.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Initialises a token labelled `label` with user PIN `pin`, and writes
    /// the PIN to `<label>.pin` (returned) the way a drill would.
    pub fn init_token(&self, label: &str, pin: &str) -> PathBuf {
        let output = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", self.conf())
            .args(["--init-token", "--free", "--label", label])
            .args(["--so-pin", "12345678", "--pin", pin])
            .output()
            .unwrap_or_else(|e| {
                panic!("softhsm2-util: {e}: run `cargo xtask test`, which installs softhsm2")
            });
        assert!(
            output.status.success(),
            "softhsm2-util --init-token {label}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let pin_file = self.dir.path().join(format!("{label}.pin"));
        std::fs::write(&pin_file, format!("{pin}\n")).unwrap();
        pin_file
    }

    /// Runs `ceremony` with `args` against these tokens.
    pub fn ceremony<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let output = Command::new(binary("ceremony"))
            .env("SOFTHSM2_CONF", self.conf())
            .args(args)
            .output()
            .expect("run ceremony");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Default for SoftHsm {
    fn default() -> Self {
        Self::new()
    }
}

/// A temp path as `&str`, for argument lists (temp dirs are UTF-8 here).
pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp paths")
}

/// Asserts that a command succeeded, showing its output if not.
pub fn assert_ok(run: &Run, what: &str) {
    assert_eq!(run.code, Some(0), "{what}: {run:?}");
}

/// python-tuf's client pinned to `trusted` updates from the published
/// directory and downloads `target` into `out`; returns what it printed.
pub fn python_downloads(trusted: &Path, published: &Path, target: &str, out: &Path) -> String {
    let output = Command::new(python())
        .arg(workspace_root().join("tests/fixtures/python_refresh.py"))
        .arg(trusted)
        .arg(published)
        .arg("--download")
        .arg(target)
        .arg(out)
        .output()
        .expect("run python_refresh.py");
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    said
}
