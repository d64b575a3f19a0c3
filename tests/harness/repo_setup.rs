//! A releaser with SoftHSM2 tokens and online keys, and a repository whose
//! first ceremony is done: the set-up shared by the `tuf-repo` end-to-end
//! tests (flow, publish), so each builds on the same runbook steps instead
//! of a copy of them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Run, SoftHsm, assert_ok, binary, path_str};

/// The snapshot key's age passphrase (`TUF_SNAPSHOT_PASSPHRASE`).
pub const SNAPSHOT_PASS: &str = "snapshot passphrase";
/// The timestamp key's age passphrase (`TUF_TIMESTAMP_PASSPHRASE`).
pub const TIMESTAMP_PASS: &str = "timestamp passphrase";

/// Keyholders with tokens, online keys in age files, and a scratch area.
pub struct Releaser {
    hsm: SoftHsm,
    pins: BTreeMap<&'static str, PathBuf>,
    tuf_repo: PathBuf,
}

impl Releaser {
    /// Tokens with one onboarded key each; with `online`, the two online
    /// keys in age files too (scrypt: about 3 s each).
    pub fn new(tokens: &[(&'static str, &str)], online: bool) -> Releaser {
        let hsm = SoftHsm::new();
        let mut pins = BTreeMap::new();
        for (i, (token, kind)) in tokens.iter().enumerate() {
            let pin = hsm.init_token(token, &format!("12{i}4"));
            let run = hsm.ceremony(args(&[
                "onboard",
                "--profile",
                "softhsm2",
                "--token-label",
                token,
                "--key-label",
                &format!("{token}-root"),
                "--key-type",
                kind,
                "--pin-file",
                path_str(&pin),
                "--out",
                path_str(&hsm.path().join(format!("{token}.pub.json"))),
            ]));
            assert_eq!(run.code, Some(0), "onboard {token}: {run:?}");
            pins.insert(*token, pin);
        }
        let releaser = Releaser {
            hsm,
            pins,
            tuf_repo: binary("tuf-repo"),
        };
        let online_keys = [("snapshot", SNAPSHOT_PASS), ("timestamp", TIMESTAMP_PASS)];
        for (role, pass) in online_keys.into_iter().filter(|_| online) {
            releaser.onboard_age(role, pass);
        }
        releaser
    }

    /// Runs `tuf-repo` from `binary` instead (e.g. an optimised build).
    pub fn with_tuf_repo(mut self, binary: PathBuf) -> Releaser {
        self.tuf_repo = binary;
        self
    }

    /// An age-encrypted software key `<name>.age` (passphrase in
    /// `<name>.pass`) and its `<name>.pub.json`, as `ceremony onboard`
    /// writes them: the online keys, or a delegated role's key.
    pub fn onboard_age(&self, name: &str, pass: &str) {
        let pass_file = self.path(&format!("{name}.pass"));
        std::fs::write(&pass_file, format!("{pass}\n")).unwrap();
        let run = self.hsm.ceremony(args(&[
            "onboard",
            "--age",
            path_str(&self.path(&format!("{name}.age"))),
            "--passphrase-file",
            path_str(&pass_file),
            "--key-type",
            "ed25519",
            "--out",
            path_str(&self.path(&format!("{name}.pub.json"))),
        ]));
        assert_eq!(run.code, Some(0), "onboard {name}: {run:?}");
    }

    /// `ceremony` with the tokens' SoftHSM2 configuration.
    pub fn ceremony(&self, argv: &[&str]) -> Run {
        self.hsm.ceremony(argv)
    }

    /// `name` in the scratch area beside the tokens.
    pub fn path(&self, name: &str) -> PathBuf {
        self.hsm.path().join(name)
    }

    /// The public key record `ceremony onboard` wrote for `token`.
    pub fn pub_key(&self, token: &str) -> PathBuf {
        self.path(&format!("{token}.pub.json"))
    }

    /// The key id of `token`'s onboarded key.
    pub fn key_id(&self, token: &str) -> String {
        let record = crate::read_json(&self.pub_key(token));
        record["keyid"].as_str().unwrap().to_owned()
    }

    /// `tuf-repo` with the online keys' passphrases in the environment.
    pub fn tuf_repo(&self, argv: &[&str]) -> Run {
        let output = Command::new(&self.tuf_repo)
            .env("TUF_SNAPSHOT_PASSPHRASE", SNAPSHOT_PASS)
            .env("TUF_TIMESTAMP_PASSPHRASE", TIMESTAMP_PASS)
            .args(argv)
            .output()
            .expect("run tuf-repo");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `ceremony sign` of one bundle file on a stick with one token.
    /// `tuf-repo init <dir>/<name>` with `keyholders`' keys as root keys
    /// (threshold `threshold`) and the online keys `new` made; asserts it
    /// succeeded and returns the repository.
    pub fn init_repo(&self, name: &str, keyholders: &[&str], threshold: usize) -> PathBuf {
        let repo = self.path(name);
        let keys: Vec<PathBuf> = keyholders.iter().map(|k| self.pub_key(k)).collect();
        let mut argv: Vec<&str> = vec!["init", path_str(&repo)];
        for key in &keys {
            argv.extend(["--root-key", path_str(key)]);
        }
        let threshold = threshold.to_string();
        let online = [
            ("--snapshot-key", self.path("snapshot.pub.json")),
            ("--timestamp-key", self.path("timestamp.pub.json")),
            ("--online-snapshot-age", self.path("snapshot.age")),
            ("--online-timestamp-age", self.path("timestamp.age")),
        ];
        argv.extend(["--root-threshold", &threshold]);
        for (flag, path) in &online {
            argv.extend([*flag, path_str(path)]);
        }
        assert_ok(&self.tuf_repo(&argv), "init");
        repo
    }

    pub fn sign(&self, stick: &Path, file: &str, anchor: &[&str], token: &str) -> Run {
        let bundle = stick.join("tuf-ceremony");
        let mut argv = vec![
            "sign".to_owned(),
            "--metadata".to_owned(),
            bundle.join(file).display().to_string(),
        ];
        if let [flag, name] = anchor {
            argv.push((*flag).to_owned());
            argv.push(bundle.join(name).display().to_string());
        }
        for arg in [
            "--profile",
            "softhsm2",
            "--token-label",
            token,
            "--pin-file",
            path_str(&self.pins[token]),
        ] {
            argv.push(arg.to_owned());
        }
        self.hsm.ceremony(&argv)
    }
}

impl Releaser {
    /// A repository at `<scratch>/repo` whose first ceremony is done: root
    /// v1 (only `keyholder`'s key, threshold 1) and targets v1 signed on one
    /// stick, merged and committed with the online keys.
    pub fn published_v1(&self, keyholder: &str) -> PathBuf {
        self.published_v1_with_targets(keyholder, &[])
    }

    /// [`Releaser::published_v1`] whose targets v1 already lists `targets`
    /// (file, target path), added to the staged v1 before the ceremony, so
    /// a client can download something without a second ceremony.
    pub fn published_v1_with_targets(&self, keyholder: &str, targets: &[(&Path, &str)]) -> PathBuf {
        self.published_v1_in("repo", "stick-1", keyholder, targets)
    }

    /// [`Releaser::published_v1_with_targets`] with the repository at
    /// `<scratch>/<repo_name>` and the ceremony's stick at
    /// `<scratch>/<stick_name>`, for tests that make several.
    pub fn published_v1_in(
        &self,
        repo_name: &str,
        stick_name: &str,
        keyholder: &str,
        targets: &[(&Path, &str)],
    ) -> PathBuf {
        let repo = self.path(repo_name);
        let repo_s = path_str(&repo);
        assert_ok(
            &self.tuf_repo(&[
                "init",
                repo_s,
                "--root-key",
                path_str(&self.pub_key(keyholder)),
                "--root-threshold",
                "1",
                "--snapshot-key",
                path_str(&self.path("snapshot.pub.json")),
                "--timestamp-key",
                path_str(&self.path("timestamp.pub.json")),
                "--online-snapshot-age",
                path_str(&self.path("snapshot.age")),
                "--online-timestamp-age",
                path_str(&self.path("timestamp.age")),
            ]),
            "init",
        );
        for (file, name) in targets {
            assert_ok(
                &self.tuf_repo(&["add-target", repo_s, path_str(file), "--name", name]),
                &format!("add-target {name}"),
            );
        }
        // Nothing is published yet: the first ceremony signs root v1 and targets v1.
        let stick = self.path(stick_name);
        assert_ok(
            &self.tuf_repo(&["stage-rotation", repo_s, "--stick", path_str(&stick)]),
            "stage v1",
        );
        assert_ok(
            &self.sign(&stick, "staged/root.json", &[], keyholder),
            "root v1",
        );
        let staged_root = ["--staged-root", "staged/root.json"];
        assert_ok(
            &self.sign(&stick, "staged/targets.json", &staged_root, keyholder),
            "targets v1",
        );
        assert_ok(
            &self.tuf_repo(&["merge", repo_s, "--stick", path_str(&stick)]),
            "merge v1",
        );
        assert_ok(&self.tuf_repo(&["commit", repo_s]), "commit v1");
        repo
    }
}

fn args<'a>(a: &'a [&'a str]) -> &'a [&'a str] {
    a
}
