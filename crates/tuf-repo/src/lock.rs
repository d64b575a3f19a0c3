//! The repository lock: every command that writes a repository holds an
//! exclusive `flock` on `<repo>/.tuf-repo.lock` for its whole run, so two
//! merges cannot lose a keyholder's signature and a timestamp cannot be
//! signed over a snapshot that a concurrent commit is replacing. A second
//! command waits a bounded time, then says who holds the lock.
//!
//! The lock is the kernel's: it goes with the holder's process, so a
//! killed command never leaves a stale lock behind. The file's content
//! (`<command> <pid> <time>`) only names the holder for the message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
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

/// Takes the lock of the repository at `repo` for `command`, waiting up
/// to the bounded time; then `repository busy: <command> (pid N) since
/// <time>`. A directory that does not exist is left to the command to
/// report.
pub fn acquire(repo: &Path, command: &str) -> Result<Option<RepoLock>> {
    if !repo.is_dir() {
        return Ok(None);
    }
    let path = repo.join(LOCK_FILE);
    let shown = path.display().to_string();
    let mut file = OpenOptions::new()
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
            Err(TryLockError::WouldBlock) => bail!("repository busy: {}", holder(&mut file)),
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("{shown}: cannot lock the repository"));
            }
        }
    }
    let since = crate::clock::rfc3339(OffsetDateTime::now_utc());
    let note = format!("{command} {} {since}\n", std::process::id());
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(note.as_bytes()))
        .with_context(|| format!("{shown}: cannot write"))?;
    Ok(Some(RepoLock { _file: file }))
}

/// `merge (pid 1234) since 2026-12-04T13:00:00Z`, from the lock file.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file
        .rewind()
        .and_then(|()| file.take(256).read_to_string(&mut text));
    let mut words = text.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(command), Some(pid), Some(since)) => {
            format!("{command} (pid {pid}) since {since}")
        }
        _ => "another tuf-repo command holds the lock".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_told_who_holds_the_lock_and_since_when() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "merge").unwrap().expect("a directory");
        // A second open file description conflicts with the first under
        // flock, in one process as across two.
        let start = Instant::now();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.path().join(LOCK_FILE))
            .unwrap();
        assert!(matches!(file.try_lock(), Err(TryLockError::WouldBlock)));
        let words = holder(&mut file);
        assert!(
            words.starts_with(&format!("merge (pid {}) since 20", std::process::id())),
            "{words}"
        );
        assert!(start.elapsed() < Duration::from_secs(1));
        drop(first);
        assert!(file.try_lock().is_ok(), "released when the holder ends");
    }

    #[test]
    fn no_repository_no_lock() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            acquire(&dir.path().join("absent"), "merge")
                .unwrap()
                .is_none()
        );
    }
}
