//! `tuf-repo.toml`: expiry periods, `status` margins and where the online
//! keys live. It holds no secrets: passphrases come from an environment
//! variable or a file that the configuration only names.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The configuration file's name inside a repository directory.
pub const FILE_NAME: &str = "tuf-repo.toml";

/// Cap on the configuration's size: a real one is under a kilobyte.
pub const MAX_BYTES: usize = 1024 * 1024;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong (`cannot open: …`, over the cap).
        error: String,
    },
    /// Not valid TOML, or a field of the wrong type or unknown.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// TOML's message (it names the field).
        message: String,
    },
    /// A value that parses but makes no sense.
    #[error("{path}: {field}: {why}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Dotted field name.
        field: String,
        /// What is wrong.
        why: String,
    },
}

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Shown in the ceremony manifest; defaults to the directory name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How long each role's new metadata is valid.
    #[serde(default)]
    pub expiry: Expiry,
    /// How close to expiry `status` starts to fail.
    #[serde(default)]
    pub margin: Margin,
    /// The online keys.
    pub online: Online,
}

/// Validity periods in days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expiry {
    /// Root, days.
    pub root: u32,
    /// Targets, days.
    pub targets: u32,
    /// Snapshot, days.
    pub snapshot: u32,
    /// Timestamp, days.
    pub timestamp: u32,
}

impl Default for Expiry {
    fn default() -> Self {
        Expiry {
            root: 365,
            targets: 30,
            snapshot: 7,
            timestamp: 1,
        }
    }
}

/// `status` margins: inside them a role needs attention.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Margin {
    /// Root, days.
    pub root_days: u32,
    /// Targets, days.
    pub targets_days: u32,
    /// Snapshot, days.
    pub snapshot_days: u32,
    /// Timestamp, hours.
    pub timestamp_hours: u32,
}

impl Default for Margin {
    fn default() -> Self {
        Margin {
            root_days: 30,
            targets_days: 7,
            snapshot_days: 2,
            timestamp_hours: 6,
        }
    }
}

/// The two online roles' keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Online {
    /// Set by `import` when the imported repository's snapshot and
    /// timestamp keys are held elsewhere (a cloud KMS, say): the first
    /// root version that lists the keys above for them (the handover root
    /// `import` staged). Under an older root `snapshot` and `timestamp`
    /// refuse, saying so, and `status` notes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_elsewhere_until_root: Option<u64>,
    /// The snapshot key.
    pub snapshot: OnlineKey,
    /// The timestamp key.
    pub timestamp: OnlineKey,
}

impl Online {
    /// The line saying that root `root_version`'s online keys are not the
    /// configured ones and what to do, while that is so (see
    /// [`Online::held_elsewhere_until_root`]); `None` once the handover
    /// root is published.
    pub fn held_elsewhere(&self, repo: &Path, root_version: u64) -> Option<String> {
        let until = self.held_elsewhere_until_root?;
        (root_version < until).then(|| {
            format!(
                "{}: root v{root_version}'s snapshot and timestamp keys are held elsewhere (the repository was imported); root v{until}, staged by import, hands them to this repository's online keys: write it to a stick with `tuf-repo stage {} --stick <dir>`, sign it in a ceremony, then merge and commit",
                repo.display(),
                repo.display()
            )
        })
    }
}

/// An online key in an age-encrypted file, and where its passphrase is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnlineKey {
    /// The age file, relative to the repository directory unless absolute.
    pub age: PathBuf,
    /// Environment variable holding the passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_env: Option<String>,
    /// File holding the passphrase (first line), relative like `age`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_file: Option<PathBuf>,
}

impl Config {
    /// Reads and checks `<repo>/tuf-repo.toml`.
    pub fn load(repo: &Path) -> Result<Self, ConfigError> {
        let path = repo.join(FILE_NAME);
        let bytes =
            metadata_io::read_capped(&path, MAX_BYTES).map_err(|error| ConfigError::Read {
                path: path.clone(),
                error: error.to_string(),
            })?;
        let text = String::from_utf8(bytes).map_err(|_| ConfigError::Syntax {
            path: path.clone(),
            message: "not UTF-8 text".to_owned(),
        })?;
        Self::parse(&text, &path)
    }

    /// Parses and checks configuration text; `path` is for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            // One line: TOML's message, and where (its Display is a drawing).
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            let message = match line {
                Some(line) => format!("line {line}: {}", e.message().trim()),
                None => e.message().trim().to_owned(),
            };
            ConfigError::Syntax {
                path: path.to_owned(),
                message,
            }
        })?;
        config.validate(path)?;
        Ok(config)
    }

    /// The file's text, with a header saying what it is. Refused when a
    /// path in it is not UTF-8 (TOML holds only text).
    pub fn to_toml(&self, path: &Path) -> Result<String, ConfigError> {
        let body = toml::to_string(self).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            field: "online".to_owned(),
            why: format!("cannot be written as TOML ({e}); use UTF-8 file names"),
        })?;
        Ok(format!(
            "# tuf-repo configuration (docs/repository-layout.md); no secrets here.\n{body}"
        ))
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |field: &str, why: &str| ConfigError::Invalid {
            path: path.to_owned(),
            field: field.to_owned(),
            why: why.to_owned(),
        };
        let e = &self.expiry;
        for (field, days) in [
            ("expiry.root", e.root),
            ("expiry.targets", e.targets),
            ("expiry.snapshot", e.snapshot),
            ("expiry.timestamp", e.timestamp),
        ] {
            if days == 0 {
                return Err(invalid(field, "must be at least 1 day"));
            }
        }
        for (role, key) in [
            ("online.snapshot", &self.online.snapshot),
            ("online.timestamp", &self.online.timestamp),
        ] {
            match (&key.passphrase_env, &key.passphrase_file) {
                (None, None) => {
                    return Err(invalid(role, "needs passphrase_env or passphrase_file"));
                }
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        role,
                        "give passphrase_env or passphrase_file, not both",
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl OnlineKey {
    /// A key file whose passphrase comes from `env`.
    pub fn with_env(age: PathBuf, env: &str) -> Self {
        OnlineKey {
            age,
            passphrase_env: Some(env.to_owned()),
            passphrase_file: None,
        }
    }

    /// The age file's path, resolved against the repository directory.
    pub fn age_path(&self, repo: &Path) -> PathBuf {
        repo.join(&self.age)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[expiry]
root = 365
targets = 30
snapshot = 7
timestamp = 1

[margin]
root_days = 30
targets_days = 7
snapshot_days = 2
timestamp_hours = 6

[online.snapshot]
age = "keys/snapshot.age"
passphrase_env = "TUF_SNAPSHOT_PASSPHRASE"

[online.timestamp]
age = "keys/timestamp.age"
passphrase_file = "secrets/timestamp.pass"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("repo/tuf-repo.toml"))
    }

    #[test]
    fn the_documented_example_parses_and_round_trips() {
        let config = parse(EXAMPLE).unwrap();
        assert_eq!(config.expiry, Expiry::default());
        assert_eq!(config.margin, Margin::default());
        assert_eq!(
            config.online.timestamp.passphrase_file.as_deref(),
            Some(Path::new("secrets/timestamp.pass"))
        );
        assert_eq!(
            config.online.snapshot.age_path(Path::new("/r")),
            Path::new("/r/keys/snapshot.age")
        );
        let text = config.to_toml(Path::new("repo/tuf-repo.toml")).unwrap();
        assert_eq!(parse(&text).unwrap(), config);
    }

    #[test]
    fn online_keys_held_elsewhere_until_the_handover_root_round_trip() {
        let mut config = parse(EXAMPLE).unwrap();
        assert_eq!(config.online.held_elsewhere(Path::new("r"), 7), None);
        config.online.held_elsewhere_until_root = Some(8);
        let path = Path::new("tuf-repo.toml");
        let text = config.to_toml(path).unwrap();
        assert!(text.contains("held_elsewhere_until_root = 8"), "{text}");
        let back = Config::parse(&text, path).unwrap();
        assert_eq!(back, config);
        let note = back.online.held_elsewhere(Path::new("r"), 7).unwrap();
        assert!(
            note.contains("root v7")
                && note.contains("root v8")
                && note.contains("tuf-repo stage r"),
            "{note}"
        );
        assert_eq!(back.online.held_elsewhere(Path::new("r"), 8), None);
    }

    #[test]
    fn a_path_toml_cannot_hold_is_an_error_not_a_panic() {
        use std::os::unix::ffi::OsStrExt as _;
        let mut config = parse(EXAMPLE).unwrap();
        config.online.snapshot.age = PathBuf::from(std::ffi::OsStr::from_bytes(b"keys/\xff.age"));
        let err = config
            .to_toml(Path::new("repo/tuf-repo.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("repo/tuf-repo.toml: online: "), "{err}");
        assert!(err.contains("UTF-8"), "{err}");
    }

    #[test]
    fn an_oversized_or_endless_configuration_is_refused_without_reading_it_all() {
        let repo = tempfile::tempdir().unwrap();
        let big = vec![b'#'; MAX_BYTES + 1];
        std::fs::write(repo.path().join(FILE_NAME), big).unwrap();
        let err = Config::load(repo.path()).unwrap_err().to_string();
        assert!(err.contains("limit"), "{err}");
        let link = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/dev/zero", link.path().join(FILE_NAME)).unwrap();
        let err = Config::load(link.path()).unwrap_err().to_string();
        assert!(err.contains(FILE_NAME), "{err}");
    }

    #[test]
    fn expiry_and_margin_default_when_left_out() {
        let online_only = EXAMPLE.split("[online.snapshot]").nth(1).unwrap();
        let config = parse(&format!("[online.snapshot]{online_only}")).unwrap();
        assert_eq!(config.expiry.root, 365);
        assert_eq!(config.margin.timestamp_hours, 6);
    }

    #[test]
    fn mistakes_are_refused_naming_the_file_and_field() {
        for (text, needle) in [
            (EXAMPLE.replace("root = 365", "root = 0"), "expiry.root"),
            (
                EXAMPLE.replace("passphrase_env = \"TUF_SNAPSHOT_PASSPHRASE\"", ""),
                "online.snapshot",
            ),
            (
                EXAMPLE.replace("targets = 30", "targets = 30\nsnapshots = 7"),
                "snapshots",
            ),
            (
                EXAMPLE.replace("root = 365", "root = \"a year\""),
                "line 3: invalid type",
            ),
            (
                EXAMPLE.replace("[online.timestamp]", "[online.x]"),
                "timestamp",
            ),
        ] {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.starts_with("repo/tuf-repo.toml: "), "{err}");
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }
}
