//! tuf-on-ci's signer tool as a peer. A tuf-on-ci repository is a git
//! repository: `metadata/` on `main` is the known-good state, each signing
//! event is a branch, and `tuf-on-ci-sign <event>` decides whether its user
//! still has to sign by verifying that user's signatures on every role the
//! event changes (`SignerRepository._user_signature_needed`). Here the
//! remote is a bare repository in a temp dir, so nothing leaves the machine,
//! and the tool's one network call (its PyPI version reminder) is answered
//! from a seeded cache, with an unusable proxy behind it as a guard.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Run, copy_dir, workspace_root};

/// The environment variable `cargo xtask test` sets to the signer it installs.
pub const SIGN_ENV: &str = "TUF_CEREMONY_TUF_ON_CI_SIGN";

/// The `tuf-on-ci-sign` command from the venv `cargo xtask test` makes.
pub fn tuf_on_ci_sign() -> PathBuf {
    let path = std::env::var_os(SIGN_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv-tuf-on-ci/bin/tuf-on-ci-sign"));
    assert!(
        path.exists(),
        "tuf-on-ci-sign not found at {}: run `cargo xtask test`, which installs it",
        path.display()
    );
    path
}

/// What `tuf-on-ci-sign` concluded about one user in one signing event.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every signature of this user on the changed roles verifies: it says
    /// "Nothing to do." and exits 0.
    NothingToDo,
    /// These roles still need this user's signature (theirs is missing or
    /// does not verify); the tool then tries to sign, which fails here.
    SignatureRequested(BTreeSet<String>),
}

/// A local tuf-on-ci repository: a bare remote, the maintainer's clone that
/// opens events and commits signatures, and a clone the signer tool runs in.
pub struct EventRepo {
    dir: tempfile::TempDir,
}

impl EventRepo {
    /// A repository whose `main` holds `metadata` (a copy of that folder).
    pub fn new(metadata: &Path) -> EventRepo {
        let repo = EventRepo {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        std::fs::create_dir(repo.home()).unwrap();
        repo.git(
            repo.dir.path(),
            &["init", "-q", "--bare", "-b", "main", "remote.git"],
        );
        repo.git(repo.dir.path(), &["init", "-q", "-b", "main", "work"]);
        copy_dir(metadata, &repo.work().join("metadata"));
        repo.git(&repo.work(), &["remote", "add", "origin", "../remote.git"]);
        repo.commit_and_push("main", "Initial repository state");
        repo.git(repo.dir.path(), &["clone", "-q", "remote.git", "signer"]);
        repo
    }

    /// The maintainer's checkout (its `metadata/` is the current branch's).
    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Opens signing event `event`: a branch off `main` whose `metadata/`
    /// is replaced by `metadata`, pushed to the remote.
    pub fn open_event(&self, event: &str, metadata: &Path) -> String {
        self.git(&self.work(), &["checkout", "-q", "main"]);
        self.git(&self.work(), &["checkout", "-q", "-b", event]);
        std::fs::remove_dir_all(self.work().join("metadata")).unwrap();
        copy_dir(metadata, &self.work().join("metadata"));
        self.commit_and_push(event, &format!("Signing event {event}"))
    }

    /// Copies each `(source, path under metadata/)` into event `event`,
    /// commits with `message` and pushes; returns the commit.
    pub fn commit_files(&self, event: &str, files: &[(&Path, &str)], message: &str) -> String {
        self.git(&self.work(), &["checkout", "-q", event]);
        for (source, relative) in files {
            std::fs::copy(source, self.work().join("metadata").join(relative))
                .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        }
        self.commit_and_push(event, message)
    }

    fn commit_and_push(&self, branch: &str, message: &str) -> String {
        self.git(&self.work(), &["add", "-A", "metadata"]);
        self.git(&self.work(), &["commit", "-q", "-m", message]);
        self.git(&self.work(), &["push", "-q", "origin", branch]);
        self.git(&self.work(), &["rev-parse", "HEAD"])
            .trim()
            .to_owned()
    }

    /// Runs `tuf-on-ci-sign --no-push <event>` as `user` in the signer's
    /// clone and returns its verdict, after checking it read `commit`.
    pub fn signer_verdict(&self, event: &str, user: &str, commit: &str) -> (Verdict, Run) {
        let signer = self.dir.path().join("signer");
        // No signing method is reachable: a module path that does not exist,
        // so a check that wants a signature can only ask for it, never make it.
        let settings = format!(
            "[settings]\nuser-name = {user}\npush-remote = origin\npull-remote = origin\n\
             pykcs11lib = {}\n",
            self.dir.path().join("no-pkcs11-module.so").display()
        );
        std::fs::write(signer.join(".tuf-on-ci-sign.ini"), settings).unwrap();
        // The version reminder reads this cache (younger than a day) instead
        // of asking PyPI; "0" is older than any release, so it says nothing.
        let cache = self.home().join("cache/tuf-on-ci-sign");
        std::fs::create_dir_all(&cache).unwrap();
        std::fs::write(cache.join("pypi_release_version"), "0").unwrap();

        let mut cmd = Command::new(tuf_on_ci_sign());
        self.isolated(&mut cmd)
            .current_dir(&signer)
            .args(["--no-push", event])
            .stdin(Stdio::null());
        let output = cmd.output().expect("run tuf-on-ci-sign");
        let run = Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        let read = format!("Signing event {event} (commit {})", &commit[..7]);
        assert!(run.stdout.contains(&read), "{read:?} in {run:?}");
        assert!(
            !run.stderr
                .contains("Failed to check current tuf-on-ci-sign version"),
            "the signer tried the network: {run:?}"
        );
        (verdict(&run), run)
    }

    /// git with this repository's own identity and no user or system config.
    fn git(&self, dir: &Path, args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        self.isolated(&mut cmd).current_dir(dir).args(args);
        let output = cmd.output().expect("run git");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The environment git and the signer run in: a private home, git config
    /// from nowhere but the repository, and no proxy that could reach out.
    fn isolated<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        let home = self.home();
        cmd.env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Event Maintainer")
            .env("GIT_AUTHOR_EMAIL", "maintainer@example.invalid")
            .env("GIT_COMMITTER_NAME", "Event Maintainer")
            .env("GIT_COMMITTER_EMAIL", "maintainer@example.invalid")
            .env("https_proxy", "http://127.0.0.1:9")
            .env("http_proxy", "http://127.0.0.1:9")
            .env_remove("PYKCS11LIB")
            .env_remove("SOFTHSM2_CONF")
    }
}

/// Reads the verdict from the signer's output; anything else fails the test.
fn verdict(run: &Run) -> Verdict {
    const ASKED: &str = "Your signature is requested for role(s) {";
    if let Some(at) = run.stdout.find(ASKED) {
        let rest = &run.stdout[at + ASKED.len()..];
        let set = &rest[..rest.find('}').expect("closing brace")];
        let roles = set
            .split(", ")
            .map(|r| r.trim_matches('\'').to_owned())
            .collect();
        return Verdict::SignatureRequested(roles);
    }
    assert_eq!(run.code, Some(0), "tuf-on-ci-sign failed: {run:?}");
    assert!(
        run.stdout.lines().any(|l| l == "Nothing to do."),
        "neither a request nor \"Nothing to do.\": {run:?}"
    );
    Verdict::NothingToDo
}
