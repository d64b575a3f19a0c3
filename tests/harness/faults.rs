//! Real faults with no hook in the code: a command run under strace is
//! killed (SIGKILL) or sees an error (ENOSPC, EIO) at its N-th call of a
//! syscall. One helper for every sweep (the fault suite in
//! `tests/fault_sweep.rs`, the commit sweeps in `tests/tuf_repo_flow.rs`),
//! so "the N-th call" means the same everywhere.
//!
//! strace counts `when=N` per process and per syscall, from the `execve`
//! on: [`fault_points`] numbers a clean traced run's calls the same way, so
//! a point found there is the same call in the faulted run (the commands
//! are deterministic in what they write, given `--at`).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Run;

/// The syscalls that change files: a fault at any of them is a crash or an
/// error between two steps of a write.
pub const WRITE_SYSCALLS: &[&str] = &[
    "openat",
    "write",
    "fsync",
    "fdatasync",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "mkdir",
    "mkdirat",
];

/// A command line to run again and again: program, arguments, environment.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Variables added to the environment.
    pub envs: Vec<(OsString, OsString)>,
}

impl Invocation {
    /// `program` with `args` and no extra environment.
    pub fn new<S: AsRef<std::ffi::OsStr>>(program: PathBuf, args: &[S]) -> Self {
        Invocation {
            program,
            args: args.iter().map(|a| a.as_ref().to_owned()).collect(),
            envs: Vec::new(),
        }
    }

    /// The same with `key=value` in its environment.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Runs it as it is, without strace.
    pub fn run(&self) -> Run {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)));
        within_limit(command)
    }

    /// Runs it under strace with `args` before the program.
    fn under_strace(&self, strace_args: &[String]) -> Run {
        let mut command = Command::new("strace");
        command
            .args(strace_args)
            .arg(&self.program)
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)));
        within_limit(command)
    }
}

/// How long one run may take before it counts as hung: a command that
/// waits forever after a fault fails the test instead of stalling CI.
const RUN_LIMIT: Duration = Duration::from_secs(300);

/// Runs `command` to its end, capturing both streams; kills it and fails
/// the test if it is still running after [`RUN_LIMIT`].
fn within_limit(mut command: Command) -> Run {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?}: {e} (cargo xtask test installs strace)"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).ok();
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            child.kill().ok();
            child.wait().ok();
            panic!("{command:?}: still running after {RUN_LIMIT:?}, killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// What happens at the chosen call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// The process is killed by SIGKILL before the call runs: a crash.
    Kill,
    /// The call fails with this errno (`ENOSPC`, `EIO`) without running.
    Error(&'static str),
}

impl Fault {
    /// strace's `inject=` action.
    fn action(self) -> String {
        match self {
            Fault::Kill => "signal=KILL".into(),
            Fault::Error(errno) => format!("error={errno}"),
        }
    }

    /// A short name for tables and messages.
    pub fn label(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Error(errno) => errno,
        }
    }
}

/// Runs `inv` under strace with `fault` at the `when`-th call (1-based, per
/// process) of any of `syscalls` (a comma-separated strace set).
pub fn run_with_fault(inv: &Invocation, syscalls: &str, when: usize, fault: Fault) -> Run {
    inv.under_strace(&[
        "-f".into(),
        "-qq".into(),
        "-o".into(),
        "/dev/null".into(),
        "-e".into(),
        format!("inject={syscalls}:{}:when={when}", fault.action()),
    ])
}

/// One call of a clean run where a fault can be injected.
#[derive(Clone, Debug)]
pub struct FaultPoint {
    /// The syscall's name, as strace's `inject=` takes it.
    pub syscall: String,
    /// Its number among the process's calls of that syscall (1-based).
    pub when: usize,
    /// The traced call, for messages.
    pub call: String,
}

/// Runs `inv` once under strace (it does its work: give it a copy to
/// change) and returns its calls of [`WRITE_SYSCALLS`] that touch a path
/// under one of `under` — `openat` only when it creates (`O_CREAT`) —
/// numbered as strace's `when=` counts them. Panics if the run fails.
pub fn fault_points(inv: &Invocation, under: &[&Path]) -> Vec<FaultPoint> {
    let log = tempfile::NamedTempFile::new().expect("temp file");
    let run = inv.under_strace(&[
        "-f".into(),
        "-qq".into(),
        // Paths behind file descriptors, and whole path arguments.
        "-y".into(),
        "-s".into(),
        "4096".into(),
        "-o".into(),
        log.path().display().to_string(),
        "-e".into(),
        format!("trace={}", WRITE_SYSCALLS.join(",")),
    ]);
    assert_eq!(run.code, Some(0), "clean traced run of {inv:?}: {run:?}");
    let text = std::fs::read_to_string(log.path()).expect("strace log");
    let under: Vec<String> = under.iter().map(|p| p.display().to_string()).collect();
    points_in_log(&text, &under)
}

/// [`fault_points`] on a log already written.
fn points_in_log(text: &str, under: &[String]) -> Vec<FaultPoint> {
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut points = Vec::new();
    for line in text.lines() {
        // `PID name(args...` with -f; resumed halves of a call are not calls.
        let rest = line
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start();
        let pid = &line[..line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len()];
        let Some((name, args)) = rest.split_once('(') else {
            continue;
        };
        if !WRITE_SYSCALLS.contains(&name) {
            continue;
        }
        let n = counts.entry((pid.to_owned(), name.to_owned())).or_default();
        *n += 1;
        let creates = name != "openat" || args.contains("O_CREAT");
        if creates && under.iter().any(|dir| args.contains(dir.as_str())) {
            points.push(FaultPoint {
                syscall: name.to_owned(),
                when: *n,
                call: line.chars().take(200).collect(),
            });
        }
    }
    points
}

/// Every `step`-th of `points` and the last one, at least `min(n, len)`:
/// a spread sample over the whole run rather than its start.
pub fn spread<T: Clone>(points: &[T], n: usize) -> Vec<T> {
    if points.len() <= n {
        return points.to_vec();
    }
    (0..n)
        .map(|i| points[i * (points.len() - 1) / (n - 1).max(1)].clone())
        .collect()
}

/// Whether `relative` (a path inside a repository, destination or stick)
/// is one of the files a later run sweeps or ignores: the repository lock,
/// the journal of an unfinished transaction, an atomic write's temp file.
pub fn is_leftover(relative: &Path) -> bool {
    let text = relative.to_string_lossy();
    let name = relative
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    text.starts_with(".tuf-repo-journal")
        || name == ".tuf-repo.lock"
        || (name.starts_with('.') && name.contains(".tmp-"))
}

/// Merge's advisory `.tuf-repo-signature-sources.json` names the absolute
/// path of the stick each run read, and this sweep gives every run its own
/// stick, so it differs between two otherwise identical runs; it is not
/// metadata and is not compared here (`tests/batch_durability.rs`, whose
/// runs share one stick, compares it).
fn is_advisory(relative: &Path) -> bool {
    relative
        .file_name()
        .is_some_and(|n| n == ".tuf-repo-signature-sources.json")
}

/// Every file under `dir` (relative paths) with its bytes, leaving out
/// [`is_leftover`] files and the advisory sources record: the state that
/// must be old or new after a fault.
pub fn state_of(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    if !dir.exists() {
        return BTreeMap::new();
    }
    crate::snapshot_of(dir)
        .into_iter()
        .filter_map(|(path, bytes)| {
            let relative = path.strip_prefix(dir).expect("under dir").to_owned();
            (!is_leftover(&relative) && !is_advisory(&relative)).then_some((relative, bytes))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_numbered_per_process_and_syscall_and_filtered_by_path() {
        let log = "\
10 openat(AT_FDCWD</r>, \"/lib/x.so\", O_RDONLY|O_CLOEXEC) = 3</lib/x.so>
10 openat(AT_FDCWD</r>, \"/repo/.a.tmp-10\", O_WRONLY|O_CREAT|O_EXCL, 0644) = 3</repo/.a.tmp-10>
10 write(3</repo/.a.tmp-10>, \"{}\", 2 <unfinished ...>
11 write(1<pipe:[5]>, \"x\", 1) = 1
10 <... write resumed>) = 2
10 write(3</repo/.a.tmp-10>, \"\\n\", 1) = 1
10 rename(\"/repo/.a.tmp-10\", \"/repo/a\") = 0
";
        let points = points_in_log(log, &["/repo".into()]);
        let got: Vec<(&str, usize)> = points
            .iter()
            .map(|p| (p.syscall.as_str(), p.when))
            .collect();
        assert_eq!(
            got,
            [("openat", 2), ("write", 1), ("write", 2), ("rename", 1)]
        );
    }

    #[test]
    fn a_spread_keeps_the_first_and_last() {
        let all: Vec<u32> = (1..=10).collect();
        assert_eq!(spread(&all, 4), [1, 4, 7, 10]);
        assert_eq!(spread(&all, 20), all);
    }

    #[test]
    fn the_lock_journal_and_temp_files_are_leftovers() {
        assert!(is_leftover(Path::new(".tuf-repo.lock")));
        assert!(is_leftover(Path::new(".tuf-repo-journal/plan.json")));
        assert!(is_leftover(Path::new("repository/.timestamp.json.tmp-42")));
        assert!(!is_leftover(Path::new("repository/timestamp.json")));
    }
}
