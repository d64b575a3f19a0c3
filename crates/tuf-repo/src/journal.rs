//! Mutations of a repository as resumable transactions. A command that
//! writes several files (commit: target files, `N.root.json`, targets,
//! snapshot, `root.json`, `timestamp.json`) first writes every new file
//! into `<repo>/.tuf-repo-journal/pending/`, makes them all durable at
//! once (one `syncfs`, not one fsync each), then writes the plan (which
//! pending file becomes which repository file, in which order, with its
//! SHA-256) atomically: that is the commit point. Then it renames the
//! pending files into place in the plan's order, syncs each folder once,
//! and removes the journal.
//!
//! Killed anywhere, the repository is either as before (no plan yet: the
//! next command removes the pending files) or on its way forward (a plan:
//! the next command finishes the renames, each checked by its digest), so
//! the next run of any command that takes the repository lock reaches the
//! new state. Only renames happen after the commit point, and each is
//! idempotent to redo.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use tuf_metadata::sha256_hex;

/// The journal directory, in the repository directory.
pub const JOURNAL_DIR: &str = ".tuf-repo-journal";
const PENDING: &str = "pending";
const PLAN: &str = "plan.json";

/// One file the transaction installs.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    /// Where it goes, relative to the repository directory.
    target: String,
    /// Hex SHA-256 of its bytes.
    sha256: String,
}

/// What a transaction will do, written before it does it.
#[derive(Debug, Serialize, Deserialize)]
struct Plan {
    /// The command that wrote the plan, for the recovery message.
    command: String,
    /// The files, in the order they are put in place.
    entries: Vec<Entry>,
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("{}: cannot sync", dir.display()))
}

/// Creates `dir` and any missing parents, each fsynced into its parent.
fn create_dirs(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("{}: cannot create", dir.display())),
    }
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// A target path must stay inside the repository: relative, no `..`.
fn inside(repo: &Path, target: &str) -> Result<PathBuf> {
    let path = Path::new(target);
    if target.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        bail!(
            "{}: journal names a file outside the repository: {target:?}",
            repo.display()
        );
    }
    Ok(repo.join(path))
}

/// Writes a new file without syncing it: [`apply`] makes all of them
/// durable at once.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// Installs `writes` (paths relative to `repo`, bytes) in their order as
/// one transaction (see the module docs). The caller holds the repository
/// lock and has run [`recover`].
pub fn apply(repo: &Path, command: &str, writes: &[(String, Vec<u8>)]) -> Result<()> {
    let journal = repo.join(JOURNAL_DIR);
    let pending = journal.join(PENDING);
    if journal.exists() {
        bail!(
            "{}: an unfinished transaction is still there; run the command again",
            journal.display()
        );
    }
    create_dirs(&pending)?;
    let mut entries = Vec::with_capacity(writes.len());
    for (index, (target, bytes)) in writes.iter().enumerate() {
        inside(repo, target)?;
        write_new(&pending.join(index.to_string()), bytes)?;
        entries.push(Entry {
            target: target.clone(),
            sha256: sha256_hex(bytes),
        });
    }
    // Every pending file durable in one go, before the plan that names
    // them: one syncfs instead of one fsync each (the plan is the commit
    // point and must not overtake them).
    metadata_io::sync_file_systems([pending.as_path()])
        .with_context(|| format!("{}: cannot sync", pending.display()))?;
    sync_dir(&pending)?;
    let plan = Plan {
        command: command.to_owned(),
        entries,
    };
    let bytes = serde_json::to_vec_pretty(&plan).context("journal plan")?;
    let temp = journal.join(format!("{PLAN}.tmp"));
    write_new(&temp, &bytes)?;
    File::open(&temp)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("{}: cannot sync", temp.display()))?;
    fs::rename(&temp, journal.join(PLAN))
        .with_context(|| format!("{}: cannot write", journal.join(PLAN).display()))?;
    sync_dir(&journal)?;
    // The commit point is passed: from here on the change happens, now or
    // in the next command.
    roll_forward(repo, &plan)
}

/// Puts every pending file of `plan` in place, in order, then syncs each
/// folder a file went into once and removes the journal. A file already
/// moved is recognised by its digest. Until the folders are synced the
/// journal stays, so a power loss that undoes a rename is redone.
fn roll_forward(repo: &Path, plan: &Plan) -> Result<()> {
    let journal = repo.join(JOURNAL_DIR);
    let pending = journal.join(PENDING);
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for (index, entry) in plan.entries.iter().enumerate() {
        let target = inside(repo, &entry.target)?;
        let source = pending.join(index.to_string());
        if source.exists() {
            let dir = target.parent().unwrap_or(repo);
            if dirs.insert(dir.to_path_buf()) {
                create_dirs(dir)?;
            }
            fs::rename(&source, &target)
                .with_context(|| format!("{}: cannot write", target.display()))?;
        } else {
            let found = metadata_io::read_capped(&target, usize::MAX / 2)
                .map(|b| sha256_hex(&b))
                .ok();
            if found.as_deref() != Some(entry.sha256.as_str()) {
                bail!(
                    "{}: the unfinished {} cannot be completed: {} is neither pending nor in place",
                    journal.display(),
                    plan.command,
                    target.display()
                );
            }
        }
    }
    for dir in &dirs {
        sync_dir(dir)?;
    }
    remove_journal(repo)
}

fn remove_journal(repo: &Path) -> Result<()> {
    let journal = repo.join(JOURNAL_DIR);
    // The plan goes first: without it, what is left is only garbage.
    match fs::remove_file(journal.join(PLAN)) {
        Ok(()) => sync_dir(&journal)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("{}: cannot remove", journal.display())),
    }
    fs::remove_dir_all(&journal)
        .with_context(|| format!("{}: cannot remove", journal.display()))?;
    sync_dir(repo)
}

/// Removes the temp files (`.<name>.tmp-<pid>`) a killed command left in
/// the repository's directories. Called under the repository lock, so
/// every such file belongs to a command that is gone.
fn sweep_temp_files(repo: &Path) -> Result<usize> {
    let mut removed = 0;
    for dir in ["", "staged", "staged/targets", crate::layout::PUBLISHED_DIR] {
        let dir = repo.join(dir);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stale = name.starts_with('.')
                && name.rsplit_once(".tmp-").is_some_and(|(_, pid)| {
                    !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())
                });
            if stale && entry.file_type().is_ok_and(|t| t.is_file()) {
                fs::remove_file(entry.path())
                    .with_context(|| format!("{}: cannot remove", entry.path().display()))?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Completes or undoes what a killed command left in `repo`: a transaction
/// past its commit point is finished; one before it is removed (the
/// repository never saw it). Returns what was done, for one line on
/// stderr. Called by every command that takes the repository lock, before
/// it reads anything.
pub fn recover(repo: &Path) -> Result<Option<String>> {
    let swept = sweep_temp_files(repo)?;
    crate::sources::migrate_legacy(&crate::layout::Repo::new(repo))?;
    let journal = repo.join(JOURNAL_DIR);
    if fs::symlink_metadata(&journal).is_err() {
        return Ok((swept > 0)
            .then(|| format!("removed {swept} temp file(s) of a command that was stopped")));
    }
    let plan_path = journal.join(PLAN);
    if plan_path.exists() {
        let bytes = metadata_io::read_capped(&plan_path, 64 * 1024 * 1024)
            .with_context(|| plan_path.display().to_string())?;
        let plan: Plan = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a journal plan", plan_path.display()))?;
        roll_forward(repo, &plan)?;
        return Ok(Some(format!(
            "completed the unfinished {} ({} file(s))",
            plan.command,
            plan.entries.len()
        )));
    }
    remove_journal(repo)?;
    Ok(Some(
        "removed the files of a command stopped before it changed anything".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes() -> Vec<(String, Vec<u8>)> {
        vec![
            ("repository/2.root.json".into(), b"root v2".to_vec()),
            ("repository/targets/a/b.txt".into(), b"target".to_vec()),
            ("repository/root.json".into(), b"root v2".to_vec()),
        ]
    }

    #[test]
    fn a_transaction_installs_every_file_and_leaves_no_journal() {
        let repo = tempfile::tempdir().unwrap();
        apply(repo.path(), "commit", &writes()).unwrap();
        for (target, bytes) in writes() {
            assert_eq!(fs::read(repo.path().join(target)).unwrap(), bytes);
        }
        assert!(!repo.path().join(JOURNAL_DIR).exists());
        assert_eq!(recover(repo.path()).unwrap(), None);
    }

    #[test]
    fn a_plan_left_half_done_is_finished_by_the_next_command() {
        let repo = tempfile::tempdir().unwrap();
        apply(repo.path(), "commit", &writes()).unwrap();
        // Replay the state after a kill following the first rename: the
        // journal as it was, with file 0 already in place.
        let journal = repo.path().join(JOURNAL_DIR);
        fs::create_dir_all(journal.join(PENDING)).unwrap();
        fs::remove_file(repo.path().join("repository/root.json")).unwrap();
        fs::write(journal.join(PENDING).join("2"), b"root v2").unwrap();
        let plan = Plan {
            command: "commit".into(),
            entries: writes()
                .iter()
                .map(|(t, b)| Entry {
                    target: t.clone(),
                    sha256: sha256_hex(b),
                })
                .collect(),
        };
        fs::write(journal.join(PLAN), serde_json::to_vec(&plan).unwrap()).unwrap();
        let said = recover(repo.path()).unwrap().unwrap();
        assert_eq!(said, "completed the unfinished commit (3 file(s))");
        assert_eq!(
            fs::read(repo.path().join("repository/root.json")).unwrap(),
            b"root v2"
        );
        assert!(!journal.exists());
    }

    #[test]
    fn pending_files_without_a_plan_are_removed_and_nothing_is_installed() {
        let repo = tempfile::tempdir().unwrap();
        let pending = repo.path().join(JOURNAL_DIR).join(PENDING);
        fs::create_dir_all(&pending).unwrap();
        fs::write(pending.join("0"), b"half").unwrap();
        let said = recover(repo.path()).unwrap().unwrap();
        assert!(said.starts_with("removed"), "{said}");
        assert!(!repo.path().join(JOURNAL_DIR).exists());
        assert!(!repo.path().join("repository").exists());
    }

    #[test]
    fn temp_files_of_a_killed_command_are_swept_and_metadata_is_not() {
        let repo = tempfile::tempdir().unwrap();
        fs::create_dir_all(repo.path().join("staged")).unwrap();
        fs::write(repo.path().join("staged/.root.json.tmp-4242"), b"half").unwrap();
        fs::write(repo.path().join("staged/root.json"), b"kept").unwrap();
        fs::write(repo.path().join("staged/.hidden.tmp-x"), b"kept").unwrap();
        let said = recover(repo.path()).unwrap().unwrap();
        assert_eq!(said, "removed 1 temp file(s) of a command that was stopped");
        assert!(!repo.path().join("staged/.root.json.tmp-4242").exists());
        assert!(repo.path().join("staged/root.json").exists());
        assert!(repo.path().join("staged/.hidden.tmp-x").exists());
    }

    #[test]
    fn a_plan_cannot_name_a_file_outside_the_repository() {
        let repo = tempfile::tempdir().unwrap();
        let err = apply(repo.path(), "commit", &[("../x".into(), b"x".to_vec())]).unwrap_err();
        assert!(err.to_string().contains("outside the repository"), "{err}");
    }

    #[test]
    fn a_moved_file_that_differs_from_the_plan_stops_the_recovery() {
        let repo = tempfile::tempdir().unwrap();
        let journal = repo.path().join(JOURNAL_DIR);
        fs::create_dir_all(journal.join(PENDING)).unwrap();
        fs::create_dir_all(repo.path().join("repository")).unwrap();
        fs::write(repo.path().join("repository/root.json"), b"other").unwrap();
        let plan = Plan {
            command: "commit".into(),
            entries: vec![Entry {
                target: "repository/root.json".into(),
                sha256: sha256_hex(b"root v2"),
            }],
        };
        fs::write(journal.join(PLAN), serde_json::to_vec(&plan).unwrap()).unwrap();
        let err = recover(repo.path()).unwrap_err();
        assert!(err.to_string().contains("cannot be completed"), "{err}");
        assert!(journal.join(PLAN).exists(), "kept for a person to look at");
    }
}
