//! The repository lock: every command that writes a repository holds an
//! exclusive `flock` on `<repo>/.tuf-repo.lock` for its whole run, so two
//! merges cannot lose a keyholder's signature and a timestamp cannot be
//! signed over a snapshot that a concurrent commit is replacing. A second
//! command waits a bounded time, then says who holds the lock.
//!
//! The lock is the kernel's: it goes with the holder's process, so a
//! killed command never leaves a stale lock behind, and nothing is written
//! to the repository to take it (beyond creating the empty lock file
//! once): a refused command changes nothing. Who holds it is read from
//! the kernel (`/proc/locks`, then the holder's `/proc/<pid>`).

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use time::OffsetDateTime;

/// The lock file, in the repository directory.
pub const LOCK_FILE: &str = ".tuf-repo.lock";

/// How long a second command waits by default before giving up.
const DEFAULT_WAIT: Duration = Duration::from_secs(10);

/// Overrides [`DEFAULT_WAIT`], in whole seconds (scripts that queue many
/// commands may want longer; tests want shorter).
pub const WAIT_ENV: &str = "TUF_REPO_LOCK_WAIT_SECS";

/// Held for as long as the command runs; dropping it releases the lock.
#[derive(Debug)]
pub struct RepoLock {
    _file: File,
}

fn wait_limit() -> Duration {
    std::env::var(WAIT_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(DEFAULT_WAIT, Duration::from_secs)
}

/// Takes the lock of the repository at `repo`, waiting up to the bounded
/// time; then `repository busy: <command> (pid N) since <time>`. A
/// directory that does not exist is left to the command to report.
pub fn acquire(repo: &Path) -> Result<Option<RepoLock>> {
    if !repo.is_dir() {
        return Ok(None);
    }
    let path = repo.join(LOCK_FILE);
    let shown = path.display().to_string();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("{shown}: cannot open the repository lock"))?;
    let deadline = Instant::now() + wait_limit();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(TryLockError::WouldBlock) => bail!("repository busy: {}", holder(&file)),
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("{shown}: cannot lock the repository"));
            }
        }
    }
    Ok(Some(RepoLock { _file: file }))
}

/// `merge (pid 1234) since 2026-12-04T13:00:00Z`: the process holding the
/// flock on `file`, from `/proc/locks`, with the tuf-repo subcommand it
/// runs and its start time.
fn holder(file: &File) -> String {
    let unknown = || "another tuf-repo command holds the lock".to_owned();
    let Ok(meta) = file.metadata() else {
        return unknown();
    };
    let Some(pid) = flock_holder(meta.dev(), meta.ino()) else {
        return unknown();
    };
    let command = std::fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .and_then(|argv| {
            let mut words = argv.split(|&b| b == 0);
            let program = words.next()?;
            let program = String::from_utf8_lossy(program).into_owned();
            let name = Path::new(&program)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(program);
            match words.next() {
                Some(sub) if name == "tuf-repo" && !sub.is_empty() => {
                    Some(String::from_utf8_lossy(sub).into_owned())
                }
                _ => Some(name),
            }
        })
        .unwrap_or_else(|| "a process".to_owned());
    match started(pid) {
        Some(since) => format!("{command} (pid {pid}) since {since}"),
        None => format!("{command} (pid {pid})"),
    }
}

/// The pid holding a FLOCK on the file (`dev`, `ino`), from `/proc/locks`
/// (`1: FLOCK  ADVISORY  WRITE 1234 fe:00:5887774 0 EOF`).
fn flock_holder(dev: u64, ino: u64) -> Option<u32> {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let wanted = format!("{major:02x}:{minor:02x}:{ino}");
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [_, "FLOCK", _, _, pid, id, ..] if *id == wanted => pid.parse().ok(),
            _ => None,
        }
    })
}

/// When process `pid` started, RFC 3339, from its `stat` start time (in
/// clock ticks since boot; Linux fixes USER_HZ at 100 for user space) and
/// the boot time in `/proc/stat`.
fn started(pid: u32) -> Option<String> {
    const USER_HZ: i64 = 100;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name in parentheses, which may hold spaces:
    // the state is field 3, the start time field 22.
    let rest = &stat[stat.rfind(')')? + 1..];
    let ticks: i64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let boot: i64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let at = OffsetDateTime::from_unix_timestamp(boot + ticks / USER_HZ).ok()?;
    Some(crate::clock::rfc3339(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_told_who_holds_the_lock_and_since_when() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path()).unwrap().expect("a directory");
        // A second open file description conflicts with the first under
        // flock, in one process as across two.
        let start = Instant::now();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.path().join(LOCK_FILE))
            .unwrap();
        assert!(matches!(file.try_lock(), Err(TryLockError::WouldBlock)));
        let words = holder(&file);
        let pid = format!("(pid {}) since 20", std::process::id());
        assert!(words.contains(&pid), "{words}");
        assert!(start.elapsed() < Duration::from_secs(1));
        assert_eq!(
            std::fs::read(dir.path().join(LOCK_FILE)).unwrap(),
            b"",
            "taking the lock writes nothing"
        );
        drop(first);
        assert!(file.try_lock().is_ok(), "released when the holder ends");
    }

    #[test]
    fn no_repository_no_lock() {
        let dir = tempfile::tempdir().unwrap();
        assert!(acquire(&dir.path().join("absent")).unwrap().is_none());
    }
}
