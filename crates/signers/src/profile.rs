//! HSM profiles: one TOML file per token family (`hsm-profiles/<name>.toml`)
//! saying where its PKCS#11 module lives, which token to pick by default,
//! which mechanisms it has, the default key label and its PIN policy.
//!
//! A profile is data a keyholder or witness can read before the ceremony;
//! the command line only overrides what changes from one token to the next
//! ([`Overrides`]). Every struct refuses unknown fields, so a misspelt
//! setting is an error rather than a default silently used.
//!
//! # Where a profile is found
//!
//! [`Profile::load`] takes a name (`softhsm2`) or a path (anything with a
//! `/` or ending in `.toml`). A name is looked up in, in this order:
//!
//! 1. `$TUF_CEREMONY_PROFILES`, if set — and then *only* there: an explicit
//!    choice never falls back to another directory;
//! 2. `<directory of the executable>/../share/tuf-ceremony/hsm-profiles`
//!    (the installed layout, and the one on the offline image);
//! 3. the workspace's `hsm-profiles/`, found through `CARGO_MANIFEST_DIR`
//!    at compile time (for `cargo run` and the tests).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The environment variable naming the one directory to load profiles from.
pub const PROFILES_ENV: &str = "TUF_CEREMONY_PROFILES";

/// The longest PKCS#11 token label (`CK_TOKEN_INFO.label` is 32 bytes).
const MAX_TOKEN_LABEL: usize = 32;
/// The longest PKCS#11 serial number (`CK_TOKEN_INFO.serialNumber`: 16 bytes).
const MAX_SERIAL: usize = 16;

/// One token family's settings, as read from `hsm-profiles/<name>.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The profile's name (file stem); set by the loader, not the file.
    #[serde(skip)]
    pub name: String,
    /// Which token family this is, for the review screen.
    pub description: String,
    /// Whether this profile has been used against the real token (or, for
    /// SoftHSM2, in the test suite). Untested profiles are shown as such.
    pub tested: bool,
    /// Where the PKCS#11 module is.
    pub module: ModuleSettings,
    /// Which token to pick when the command line does not say.
    #[serde(default)]
    pub token: TokenSettings,
    /// What the token can do.
    pub mechanisms: Mechanisms,
    /// Key defaults.
    #[serde(default)]
    pub keys: KeySettings,
    /// What PINs this token accepts.
    pub pin: PinPolicy,
}

/// Where to find the PKCS#11 module.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleSettings {
    /// Absolute paths to try in order; the first that exists is loaded.
    /// One list covers Debian multiarch, Fedora, and macOS Homebrew.
    pub paths: Vec<PathBuf>,
}

/// The default token selection: by label or by serial, or neither (then
/// the token must be the only one present).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// `CK_TOKEN_INFO.label` to match.
    pub label: Option<String>,
    /// `CK_TOKEN_INFO.serialNumber` to match.
    pub serial: Option<String>,
}

/// The mechanisms a token family has, so we never ask for one it lacks.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mechanisms {
    /// ECDSA on P-256 at all (`CKM_ECDSA` or `CKM_ECDSA_SHA256`).
    #[serde(default = "yes")]
    pub ecdsa_p256: bool,
    /// The token hashes itself (`CKM_ECDSA_SHA256`). If false (the
    /// default), SHA-256 runs on the host and the token gets `CKM_ECDSA`.
    #[serde(default)]
    pub ecdsa_sha256: bool,
    /// Pure Ed25519 (`CKM_EDDSA`).
    #[serde(default)]
    pub eddsa: bool,
}

fn yes() -> bool {
    true
}

/// Key defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    /// `CKA_LABEL` of the key to sign with (and to give a new key) when the
    /// command line does not say.
    pub default_label: Option<String>,
}

/// The PIN lengths the token accepts: a PIN outside them is refused before
/// it reaches the token, so it costs no try.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinPolicy {
    /// Shortest PIN, in characters.
    pub min_length: usize,
    /// Longest PIN, in characters.
    pub max_length: usize,
}

impl PinPolicy {
    /// Whether a PIN of `length` characters can be right for this token.
    pub fn allows(&self, length: usize) -> bool {
        (self.min_length..=self.max_length).contains(&length)
    }
}

/// What the command line overrides for one ceremony: plain fields a caller
/// sets from `--module`, `--token-label`, `--serial` and `--key-label`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Load this module instead of searching the profile's paths.
    pub module: Option<PathBuf>,
    /// Pick the token with this label (replaces the profile's selection).
    pub token_label: Option<String>,
    /// Pick the token with this serial (replaces the profile's selection).
    pub serial: Option<String>,
    /// Use the key with this label (replaces the profile's default).
    pub key_label: Option<String>,
}

/// Why a profile cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No file for this name in any directory searched.
    #[error("no HSM profile named {name:?}; looked in: {}", show_paths(searched))]
    NotFound {
        /// The name asked for.
        name: String,
        /// The directories tried, in order.
        searched: Vec<PathBuf>,
    },
    /// A name that could escape the profiles directory.
    #[error(
        "{0:?} is not a profile name (letters, digits, '-' and '_' only) nor a path to a .toml file"
    )]
    BadName(String),
    /// The file could not be read.
    #[error("cannot read HSM profile {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
    /// Not valid TOML, or a field unknown, missing or of the wrong type.
    #[error("HSM profile {path} is malformed: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// Well-formed but unusable.
    #[error("HSM profile {path}: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: ProfileProblem,
    },
}

/// What [`Profile::validate`] refuses, one variant per rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProfileProblem {
    /// The review screen shows the description: it must say something.
    #[error("description is empty")]
    EmptyDescription,
    /// Nothing to load.
    #[error("module.paths is empty: list at least one PKCS#11 module path")]
    NoModulePaths,
    /// A relative module path would depend on the working directory.
    #[error("module path {0} is not absolute")]
    RelativeModulePath(PathBuf),
    /// Both selections given: which one wins would be a guess.
    #[error("token.label and token.serial are both set: choose the token by one of them")]
    LabelAndSerial,
    /// An empty label or serial matches nothing useful.
    #[error("token.{0} is empty: leave it out instead")]
    EmptySelection(&'static str),
    /// Longer than PKCS#11 can hold, so it could never match.
    #[error("token.{field} {value:?} is longer than PKCS#11 allows ({max} bytes)")]
    SelectionTooLong {
        /// `label` or `serial`.
        field: &'static str,
        /// The value.
        value: String,
        /// The limit.
        max: usize,
    },
    /// No way to sign at all.
    #[error("mechanisms: neither ecdsa_p256 nor eddsa is enabled, so nothing can sign")]
    NoMechanism,
    /// CKM_ECDSA_SHA256 without ECDSA makes no sense.
    #[error("mechanisms.ecdsa_sha256 is set but ecdsa_p256 is not")]
    HashWithoutEcdsa,
    /// An empty key label would match unlabelled keys.
    #[error("keys.default_label is empty: leave it out instead")]
    EmptyKeyLabel,
    /// A PIN policy nothing satisfies, or one allowing an empty PIN.
    #[error("pin: min_length {min} and max_length {max} must satisfy 1 <= min <= max")]
    PinPolicy {
        /// min_length
        min: usize,
        /// max_length
        max: usize,
    },
}

impl Profile {
    /// Loads and validates a profile by name or path (see the module docs
    /// for the search order).
    pub fn load(name_or_path: &str) -> Result<Profile, ProfileError> {
        if looks_like_path(name_or_path) {
            return Profile::load_file(Path::new(name_or_path));
        }
        Profile::load_from(name_or_path, &search_dirs())
    }

    /// Loads `<dir>/<name>.toml` from the first of `dirs` that has it.
    pub fn load_from(name: &str, dirs: &[PathBuf]) -> Result<Profile, ProfileError> {
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return Err(ProfileError::BadName(name.to_owned()));
        }
        let file = format!("{name}.toml");
        match dirs.iter().map(|d| d.join(&file)).find(|p| p.is_file()) {
            Some(path) => Profile::load_file(&path),
            None => Err(ProfileError::NotFound {
                name: name.to_owned(),
                searched: dirs.to_vec(),
            }),
        }
    }

    /// Loads and validates one file; the profile is named after its stem.
    pub fn load_file(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let profile = Profile::from_toml(&name, &text).map_err(|reason| ProfileError::Parse {
            path: path.to_owned(),
            reason,
        })?;
        profile
            .validate()
            .map_err(|problem| ProfileError::Invalid {
                path: path.to_owned(),
                problem,
            })?;
        Ok(profile)
    }

    /// Parses TOML text without validating (tests and tools that build
    /// profiles in memory call [`Profile::validate`] themselves).
    pub fn from_toml(name: &str, text: &str) -> Result<Profile, String> {
        let mut profile: Profile = toml::from_str(text).map_err(|e| e.to_string())?;
        profile.name = name.to_owned();
        Ok(profile)
    }

    /// Checks the rules a file's syntax cannot: one rule per
    /// [`ProfileProblem`] variant.
    pub fn validate(&self) -> Result<(), ProfileProblem> {
        if self.description.trim().is_empty() {
            return Err(ProfileProblem::EmptyDescription);
        }
        if self.module.paths.is_empty() {
            return Err(ProfileProblem::NoModulePaths);
        }
        if let Some(p) = self.module.paths.iter().find(|p| !p.is_absolute()) {
            return Err(ProfileProblem::RelativeModulePath(p.clone()));
        }
        let token = &self.token;
        if token.label.is_some() && token.serial.is_some() {
            return Err(ProfileProblem::LabelAndSerial);
        }
        for (field, value, max) in [
            ("label", &token.label, MAX_TOKEN_LABEL),
            ("serial", &token.serial, MAX_SERIAL),
        ] {
            match value {
                Some(v) if v.is_empty() => return Err(ProfileProblem::EmptySelection(field)),
                Some(v) if v.len() > max => {
                    return Err(ProfileProblem::SelectionTooLong {
                        field,
                        value: v.clone(),
                        max,
                    });
                }
                _ => {}
            }
        }
        let m = &self.mechanisms;
        if !m.ecdsa_p256 && !m.eddsa {
            return Err(ProfileProblem::NoMechanism);
        }
        if m.ecdsa_sha256 && !m.ecdsa_p256 {
            return Err(ProfileProblem::HashWithoutEcdsa);
        }
        if self.keys.default_label.as_deref() == Some("") {
            return Err(ProfileProblem::EmptyKeyLabel);
        }
        let PinPolicy {
            min_length: min,
            max_length: max,
        } = self.pin;
        if min == 0 || min > max {
            return Err(ProfileProblem::PinPolicy { min, max });
        }
        Ok(())
    }

    /// The key label to use: the command line's, else the profile default.
    pub fn key_label<'a>(&'a self, overrides: &'a Overrides) -> Option<&'a str> {
        overrides
            .key_label
            .as_deref()
            .or(self.keys.default_label.as_deref())
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.description)?;
        if !self.tested {
            f.write_str(" [UNTESTED profile]")?;
        }
        Ok(())
    }
}

/// The directories a profile name is looked up in, in order (see the
/// module docs).
pub fn search_dirs() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os(PROFILES_ENV) {
        return vec![PathBuf::from(dir)];
    }
    let mut dirs = Vec::new();
    if let Some(bin_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        dirs.push(bin_dir.join("../share/tuf-ceremony/hsm-profiles"));
    }
    dirs.push(workspace_profiles_dir());
    dirs
}

/// The workspace's `hsm-profiles/` as it was at compile time.
pub fn workspace_profiles_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hsm-profiles")
}

fn looks_like_path(s: &str) -> bool {
    s.contains(std::path::MAIN_SEPARATOR) || s.contains('/') || s.ends_with(".toml")
}

fn show_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        description = "SoftHSM2"
        tested = true
        [module]
        paths = ["/usr/lib/softhsm/libsofthsm2.so"]
        [token]
        label = "tuf-root"
        [mechanisms]
        eddsa = true
        [keys]
        default_label = "root-key"
        [pin]
        min_length = 4
        max_length = 255
    "#;

    /// `GOOD` with one line replaced (or, with an empty `to`, removed).
    fn edited(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from), "test edit {from:?} matches nothing");
        GOOD.replacen(from, to, 1)
    }

    #[test]
    fn profile_rules_table() {
        use ProfileProblem::*;
        // (what the case is, file text, expected: Ok / a parse error
        // containing this text / this validation problem)
        enum Want {
            Valid,
            ParseError(&'static str),
            Problem(ProfileProblem),
        }
        let cases: Vec<(&str, String, Want)> = vec![
            ("the good profile", GOOD.into(), Want::Valid),
            (
                "an unknown top-level field",
                edited("tested = true", "tested = true\nslot = 3"),
                Want::ParseError("unknown field `slot`"),
            ),
            (
                "an unknown field in a table",
                edited("eddsa = true", "eddsa = true\nrsa = true"),
                Want::ParseError("unknown field `rsa`"),
            ),
            (
                "tested missing",
                edited("tested = true", ""),
                Want::ParseError("missing field `tested`"),
            ),
            (
                "a string for a bool",
                edited("eddsa = true", "eddsa = \"yes\""),
                Want::ParseError("invalid type"),
            ),
            (
                "empty description",
                edited("description = \"SoftHSM2\"", "description = \" \""),
                Want::Problem(EmptyDescription),
            ),
            (
                "empty module list",
                edited(
                    "paths = [\"/usr/lib/softhsm/libsofthsm2.so\"]",
                    "paths = []",
                ),
                Want::Problem(NoModulePaths),
            ),
            (
                "relative module path",
                edited(
                    "paths = [\"/usr/lib/softhsm/libsofthsm2.so\"]",
                    "paths = [\"libsofthsm2.so\"]",
                ),
                Want::Problem(RelativeModulePath("libsofthsm2.so".into())),
            ),
            (
                "label and serial",
                edited("label = \"tuf-root\"", "label = \"a\"\nserial = \"1\""),
                Want::Problem(LabelAndSerial),
            ),
            (
                "empty serial",
                edited("label = \"tuf-root\"", "serial = \"\""),
                Want::Problem(EmptySelection("serial")),
            ),
            (
                "label longer than PKCS#11 holds",
                edited(
                    "label = \"tuf-root\"",
                    &format!("label = \"{}\"", "x".repeat(33)),
                ),
                Want::Problem(SelectionTooLong {
                    field: "label",
                    value: "x".repeat(33),
                    max: 32,
                }),
            ),
            (
                "no mechanism at all",
                edited("eddsa = true", "eddsa = false\necdsa_p256 = false"),
                Want::Problem(NoMechanism),
            ),
            (
                "token hashing without ecdsa",
                edited(
                    "eddsa = true",
                    "eddsa = true\necdsa_p256 = false\necdsa_sha256 = true",
                ),
                Want::Problem(HashWithoutEcdsa),
            ),
            (
                "empty default key label",
                edited("default_label = \"root-key\"", "default_label = \"\""),
                Want::Problem(EmptyKeyLabel),
            ),
            (
                "zero-length PINs allowed",
                edited("min_length = 4", "min_length = 0"),
                Want::Problem(PinPolicy { min: 0, max: 255 }),
            ),
            (
                "min above max",
                edited("min_length = 4", "min_length = 300"),
                Want::Problem(PinPolicy { min: 300, max: 255 }),
            ),
        ];
        for (what, text, want) in cases {
            let parsed = Profile::from_toml("t", &text);
            match (parsed, want) {
                (Ok(p), Want::Valid) => assert_eq!(p.validate(), Ok(()), "{what}"),
                (Ok(p), Want::Problem(problem)) => {
                    assert_eq!(p.validate(), Err(problem), "{what}")
                }
                (Err(e), Want::ParseError(text)) => {
                    assert!(e.contains(text), "{what}: {e:?} lacks {text:?}")
                }
                (Ok(_), Want::ParseError(text)) => panic!("{what}: parsed, wanted {text:?}"),
                (Err(e), _) => panic!("{what}: did not parse: {e}"),
            }
        }
    }

    #[test]
    fn defaults_hash_on_the_host_and_leave_eddsa_off() {
        let text = edited("eddsa = true", "");
        let p = Profile::from_toml("t", &text).unwrap();
        assert!(p.mechanisms.ecdsa_p256);
        assert!(!p.mechanisms.ecdsa_sha256);
        assert!(!p.mechanisms.eddsa);
    }

    #[test]
    fn every_shipped_profile_loads_and_validates() {
        let dir = workspace_profiles_dir();
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let profile = Profile::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
                names.push(profile.name.clone());
            }
        }
        names.sort();
        assert_eq!(
            names,
            [
                "aws-cloudhsm",
                "opensc",
                "softhsm2",
                "thales-luna",
                "yubikey-ykcs11"
            ]
        );
        let untested: Vec<_> = ["aws-cloudhsm", "thales-luna"]
            .iter()
            .map(|n| Profile::load_from(n, std::slice::from_ref(&dir)).unwrap())
            .collect();
        assert!(untested.iter().all(|p| !p.tested));
        assert!(untested[0].to_string().contains("UNTESTED"));
    }

    #[test]
    fn a_name_is_found_in_the_first_directory_that_has_it() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        std::fs::write(
            second.path().join("mine.toml"),
            edited("SoftHSM2", "second"),
        )
        .unwrap();
        let dirs = [first.path().to_path_buf(), second.path().to_path_buf()];
        assert_eq!(
            Profile::load_from("mine", &dirs).unwrap().description,
            "second"
        );
        std::fs::write(first.path().join("mine.toml"), edited("SoftHSM2", "first")).unwrap();
        let p = Profile::load_from("mine", &dirs).unwrap();
        assert_eq!((p.name.as_str(), p.description.as_str()), ("mine", "first"));

        let err = Profile::load_from("nope", &dirs).unwrap_err().to_string();
        assert!(err.contains("no HSM profile named \"nope\""), "{err}");
        assert!(err.contains(&first.path().display().to_string()), "{err}");
        assert!(matches!(
            Profile::load_from("../etc/passwd", &dirs),
            Err(ProfileError::BadName(_))
        ));
    }

    #[test]
    fn a_path_is_loaded_as_given_and_invalid_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("custom.toml");
        std::fs::write(&path, edited("min_length = 4", "min_length = 0")).unwrap();
        let err = Profile::load(path.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("custom.toml"), "{err}");
        assert!(err.contains("min_length 0"), "{err}");
    }

    #[test]
    fn the_command_line_key_label_wins_over_the_profile_default() {
        let p = Profile::from_toml("t", GOOD).unwrap();
        let mut o = Overrides::default();
        assert_eq!(p.key_label(&o), Some("root-key"));
        o.key_label = Some("other".into());
        assert_eq!(p.key_label(&o), Some("other"));
        assert!(p.pin.allows(4) && !p.pin.allows(3) && !p.pin.allows(256));
    }
}
