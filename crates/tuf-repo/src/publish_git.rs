//! `publish --to <git work tree>`: the repository written into a git work
//! tree like a directory (atomic writes, same order), then committed in one
//! commit naming the versions, so the history of what clients were served
//! is in git (and a push, left to the releaser, publishes it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};

use crate::publish::{Destination, DirDestination};

/// Whether `path` is the top of a git work tree (has `.git`, a directory or
/// a worktree's file).
pub fn is_work_tree(path: &Path) -> bool {
    path.join(".git").exists()
}

/// A git work tree as a destination.
pub struct GitDestination {
    tree: DirDestination,
}

impl GitDestination {
    /// The work tree at `path`, which must have `.git`.
    pub fn open(path: &Path) -> Result<Self> {
        if !is_work_tree(path) {
            bail!("{}: not a git work tree (no .git)", path.display());
        }
        Ok(GitDestination {
            tree: DirDestination::new(path),
        })
    }

    fn dir(&self) -> PathBuf {
        self.tree.dir().to_owned()
    }

    /// `git -C <tree> <args>`, with a fallback identity when the repository
    /// has none (a fresh CI checkout), so publishing never stops at
    /// "please tell me who you are".
    fn git(&self, args: &[&str]) -> Result<Output> {
        let mut command = Command::new("git");
        command.arg("-C").arg(self.dir());
        if args.first() == Some(&"commit") && !self.has_identity() {
            command.args([
                "-c",
                "user.name=tuf-repo",
                "-c",
                "user.email=tuf-repo@localhost",
            ]);
        }
        let output = command
            .args(args)
            .output()
            .with_context(|| format!("{}: cannot run git", self.dir().display()))?;
        Ok(output)
    }

    fn has_identity(&self) -> bool {
        ["user.name", "user.email"].iter().all(|key| {
            Command::new("git")
                .arg("-C")
                .arg(self.dir())
                .args(["config", "--get", key])
                .output()
                .is_ok_and(|o| o.status.success() && !o.stdout.trim_ascii().is_empty())
        })
    }

    fn git_ok(&self, args: &[&str]) -> Result<Output> {
        let output = self.git(args)?;
        if !output.status.success() {
            bail!(
                "{}: git {} failed: {}",
                self.dir().display(),
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(output)
    }
}

impl Destination for GitDestination {
    fn describe(&self) -> String {
        format!("git work tree {}", self.tree.describe())
    }

    fn existing_sha256(&mut self, path: &str) -> Result<Option<String>> {
        self.tree.existing_sha256(path)
    }

    fn put(&mut self, path: &str, bytes: &[u8], cache_control: &str) -> Result<()> {
        self.tree.put(path, bytes, cache_control)
    }

    fn finish(&mut self, versions: &str) -> Result<()> {
        self.git_ok(&["add", "-A"])?;
        // Exit 0: nothing staged differs from HEAD (or an empty index on an
        // unborn branch).
        let clean = self.git(&["diff", "--cached", "--quiet"])?.status.success();
        let unborn = !self
            .git(&["rev-parse", "--verify", "-q", "HEAD"])?
            .status
            .success();
        let empty_index = self.git_ok(&["ls-files"])?.stdout.is_empty();
        if (clean && !unborn) || (unborn && empty_index) {
            say!("git: nothing to commit in {}", self.dir().display());
            return Ok(());
        }
        let message = format!("publish: {versions}");
        self.git_ok(&["commit", "-q", "-m", &message])?;
        let head = self.git_ok(&["rev-parse", "--short", "HEAD"])?;
        say!(
            "git: committed {} \"{message}\" in {}",
            String::from_utf8_lossy(&head.stdout).trim(),
            self.dir().display()
        );
        Ok(())
    }

    fn read_back(&self) -> Box<dyn tuf_client::Fetcher + '_> {
        self.tree.read_back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    #[test]
    fn commits_what_changed_and_nothing_when_nothing_did() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        let mut dest = GitDestination::open(dir.path()).unwrap();
        dest.put("1.root.json", b"{}", "x").unwrap();
        dest.finish("root v1, targets v1, snapshot v1, timestamp v1")
            .unwrap();
        assert_eq!(
            git(dir.path(), &["log", "-1", "--format=%s"]),
            "publish: root v1, targets v1, snapshot v1, timestamp v1"
        );
        dest.finish("root v1, targets v1, snapshot v1, timestamp v1")
            .unwrap();
        assert_eq!(git(dir.path(), &["rev-list", "--count", "HEAD"]), "1");
        assert!(GitDestination::open(&dir.path().join("nope")).is_err());
    }
}
