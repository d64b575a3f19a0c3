//! A practice stick for the appliance: SoftHSM2 tokens with real keys on
//! them, a root v1 they signed, and an unsigned root v2 that rotates one
//! keyholder out — the same bundle `tuf-repo stage-rotation` writes, so a
//! drill rehearses exactly what a real rotation asks of people.
//!
//! Everything a token does happens in child processes (`softhsm2-util` and
//! this binary's `onboard` and `sign`): SoftHSM2 reads `SOFTHSM2_CONF` from
//! the environment, and this process never changes its own environment.
//! Nothing here is secret: drill PINs are fixed on purpose.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bundle_format::layout::{
    BUNDLE_DIR, HISTORY_DIR, MANIFEST_FILE, STAGED_DIR, history_path, staged_path,
};
use bundle_format::{Item, Manifest, PublicKeyFile};
use metadata_io::atomic::write_atomically;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use tuf_metadata::json::{self, Object};
use tuf_metadata::signing::SigningPlan;
use tuf_metadata::threshold::short_id;
use tuf_metadata::{Common, Expires, Key, Metadata, RoleKeys, Root};

/// The security officer PIN of every drill token (fixed: it is a drill).
const SO_PIN: &str = "87654321";

/// Who takes part, with which key type and PIN, and where they sit:
/// carol is in root v1 only, dave joins in v2, alice and bob are in both.
const KEYHOLDERS: [(&str, &str, &str, bool, bool); 4] = [
    ("alice", "ecdsa-p256", "1111", true, true),
    ("bob", "ed25519", "2222", true, true),
    ("carol", "ecdsa-p256", "3333", true, false),
    ("dave", "ed25519", "4444", false, true),
];

/// Root's threshold in both roots.
const ROOT_THRESHOLD: u64 = 2;

/// Why a drill stick could not be staged; each names the step and the file
/// (or command) involved, so a drill leader can fix it without a debugger.
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    /// The output directory already holds something: a drill starts from
    /// nothing and never overwrites tokens or keys.
    #[error("{dir}: not empty: a drill stick is staged into an empty or new directory")]
    NotEmpty {
        /// The directory.
        dir: String,
    },
    /// A file or directory could not be read or written.
    #[error("{step}: {file}: {error}")]
    Io {
        /// What was being done.
        step: String,
        /// The file.
        file: String,
        /// The error.
        error: std::io::Error,
    },
    /// A child process could not start or failed.
    #[error("{step}: `{command}` {why}")]
    Child {
        /// What was being done.
        step: String,
        /// The program and its first arguments.
        command: String,
        /// Why: the exit status and the last line of its stderr.
        why: String,
    },
    /// Metadata or a key file did not have the expected content.
    #[error("{step}: {file}: {why}")]
    Metadata {
        /// What was being done.
        step: String,
        /// The file.
        file: String,
        /// What is wrong.
        why: String,
    },
}

/// One drill participant: what the drill leader hands them (token label and
/// PIN) and which roots list their key, so the leader knows who must sign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DrillKeyholder {
    /// The keyholder's name.
    pub name: String,
    /// The SoftHSM2 token's label (`--token-label`).
    pub token_label: String,
    /// The token's user PIN (also in `<dir>/<name>.pin`).
    pub pin: String,
    /// The full key id of their root key.
    pub keyid: String,
    /// Listed by root v1 (the trusted root on the stick).
    pub in_v1: bool,
    /// Listed by root v2 (the staged root to sign).
    pub in_v2: bool,
}

/// A staged drill: where everything is, for the briefing and for tests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StagedDrill {
    /// The drill's work directory.
    pub dir: PathBuf,
    /// The stick: the directory holding `tuf-ceremony/` (`--media`).
    pub stick: PathBuf,
    /// The SoftHSM2 configuration every token command needs in `SOFTHSM2_CONF`.
    pub softhsm2_conf: PathBuf,
    /// The four keyholders, in drill order.
    pub keyholders: Vec<DrillKeyholder>,
}

/// `drill.json`: the machine-readable briefing.
#[derive(Serialize)]
struct DrillFile<'a> {
    stick: String,
    softhsm2_conf: String,
    keyholders: &'a [DrillKeyholder],
}

/// Stages a drill into `dir` (empty or new): SoftHSM2 tokens with keys,
/// root v1 signed by its keyholders, root v2 staged unsigned on the stick
/// `<dir>/stick`, and `drill.json`. `ceremony_exe` is the `ceremony` binary
/// run for `onboard` and `sign` (tests pass the built binary, not their own
/// executable); `now` sets the roots' expiry and the manifest's time.
pub fn stage(
    dir: &Path,
    ceremony_exe: &Path,
    now: OffsetDateTime,
) -> Result<StagedDrill, DrillError> {
    let dir = prepare_dir(dir)?;
    let tokens = dir.join("tokens");
    let conf = dir.join("softhsm2.conf");
    create_dir(&tokens, "creating the token directory")?;
    write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        )
        .as_bytes(),
        "writing the SoftHSM2 configuration",
    )?;

    // Tokens and keys, one keyholder at a time.
    let mut keyholders = Vec::new();
    let mut keys: BTreeMap<&str, Key> = BTreeMap::new();
    for (name, key_type, pin, in_v1, in_v2) in KEYHOLDERS {
        let pin_file = dir.join(format!("{name}.pin"));
        write(
            &pin_file,
            format!("{pin}\n").as_bytes(),
            &format!("writing {name}'s PIN"),
        )?;
        let mut init = Command::new("softhsm2-util");
        init.args(["--init-token", "--free", "--label", name])
            .args(["--so-pin", SO_PIN, "--pin", pin]);
        run_child(init, &conf, &format!("initialising {name}'s token"))?;

        let public = dir.join(format!("{name}.pub.json"));
        let mut onboard = Command::new(ceremony_exe);
        onboard
            .args(["onboard", "--profile", "softhsm2", "--token-label", name])
            .args([
                "--key-label",
                &format!("{name}-root"),
                "--key-type",
                key_type,
            ])
            .arg("--pin-file")
            .arg(&pin_file)
            .arg("--out")
            .arg(&public);
        run_child(onboard, &conf, &format!("generating {name}'s key"))?;
        let key = read_public_key(&public)?;
        keyholders.push(DrillKeyholder {
            name: name.to_owned(),
            token_label: name.to_owned(),
            pin: pin.to_owned(),
            keyid: key.key_id(),
            in_v1,
            in_v2,
        });
        keys.insert(name, key);
    }

    // Drill only: one in-memory Ed25519 key stands in for every online role
    // (targets, snapshot, timestamp) and is thrown away. A real repository
    // has separate online keys; the ceremony signs root only, so a drill
    // needs the roles listed, not the private half.
    let online = online_key()?;
    let expires = Expires::from_time(now + Duration::days(365));
    let root_of = |version: u64, members: &[&str]| -> Root {
        let root_keys: Vec<&Key> = members.iter().map(|m| &keys[m]).collect();
        build_root(version, &root_keys, &online, &expires)
    };
    let v1_members: Vec<&str> = KEYHOLDERS.iter().filter(|k| k.3).map(|k| k.0).collect();
    let v2_members: Vec<&str> = KEYHOLDERS.iter().filter(|k| k.4).map(|k| k.0).collect();

    let stick = dir.join("stick");
    let bundle = stick.join(BUNDLE_DIR);
    for sub in [HISTORY_DIR, STAGED_DIR] {
        create_dir(&bundle.join(sub), "creating the stick's bundle")?;
    }

    // Root v1, signed on each of its keyholders' tokens.
    let v1_path = bundle.join(history_path("1.root.json"));
    let v1_unsigned = Metadata::new(root_of(1, &v1_members));
    write(
        &v1_path,
        &json::to_pretty(&v1_unsigned.to_value()),
        "writing root v1",
    )?;
    for name in &v1_members {
        let mut sign = Command::new(ceremony_exe);
        sign.arg("sign")
            .arg("--metadata")
            .arg(&v1_path)
            .args(["--profile", "softhsm2", "--token-label", name])
            .arg("--pin-file")
            .arg(dir.join(format!("{name}.pin")))
            .args(["--at", Expires::from_time(now).as_str()]);
        run_child(sign, &conf, &format!("signing root v1 as {name}"))?;
    }
    let v1 = read_root(&v1_path, "reading the signed root v1")?;
    tuf_metadata::verify_trusted_root(&v1).map_err(|e| DrillError::Metadata {
        step: "checking the signed root v1".into(),
        file: v1_path.display().to_string(),
        why: e.to_string(),
    })?;

    // Root v2: carol out, dave in; unsigned, for the ceremony.
    let v2_file = staged_path("root.json");
    let v2_path = bundle.join(&v2_file);
    let v2_bytes = json::to_pretty(&Metadata::new(root_of(2, &v2_members)).to_value());
    let plan = SigningPlan::new(&v2_bytes, Some(&v1), now).map_err(|e| DrillError::Metadata {
        step: "planning the signatures of root v2".into(),
        file: v2_path.display().to_string(),
        why: e.to_string(),
    })?;
    write(&v2_path, &v2_bytes, "writing root v2")?;
    let manifest = Manifest::new(
        "drill",
        Expires::from_time(now).as_str(),
        vec![Item::from_plan(&v2_file, &plan)],
    );
    // The manifest last, as tuf-repo writes it: without one the bundle is
    // visibly unfinished.
    write(
        &bundle.join(MANIFEST_FILE),
        &manifest.to_bytes(),
        "writing the bundle manifest",
    )?;

    let staged = StagedDrill {
        dir: dir.clone(),
        stick,
        softhsm2_conf: conf,
        keyholders,
    };
    let drill_file = DrillFile {
        stick: staged.stick.display().to_string(),
        softhsm2_conf: staged.softhsm2_conf.display().to_string(),
        keyholders: &staged.keyholders,
    };
    let mut drill_bytes = serde_json::to_vec_pretty(&drill_file).expect("drill.json serializes");
    drill_bytes.push(b'\n');
    write(
        &dir.join("drill.json"),
        &drill_bytes,
        "writing the drill briefing",
    )?;
    Ok(staged)
}

impl StagedDrill {
    /// What the drill leader reads out and hands round: where the stick and
    /// tokens are, each keyholder's token, PIN and key, who must sign what,
    /// and how to start the appliance on the stick.
    pub fn briefing(&self) -> String {
        let conf = self.softhsm2_conf.display();
        let mut text = format!(
            "drill staged in {}\n\
             stick:          {}\n\
             SOFTHSM2_CONF:  {conf}\n\n\
             keyholder  token label  key id    PIN   listed by\n",
            self.dir.display(),
            self.stick.display(),
        );
        for k in &self.keyholders {
            let listed = match (k.in_v1, k.in_v2) {
                (true, true) => "root v1 and v2",
                (true, false) => "root v1 only (rotated out)",
                (false, true) => "root v2 only (joining)",
                (false, false) => "neither",
            };
            text.push_str(&format!(
                "{:<10} {:<12} {:<9} {:<5} {listed}\n",
                k.name,
                k.token_label,
                short_id(&k.keyid),
                k.pin
            ));
        }
        text.push_str(&format!(
            "\nroot v2 needs {ROOT_THRESHOLD} signatures from root v1's keyholders and \
             {ROOT_THRESHOLD} from root v2's.\n\
             open the appliance on the stick:\n  \
             SOFTHSM2_CONF={conf} ceremony --drill --media {}\n",
            self.stick.display()
        ));
        text
    }
}

/// Refuses a non-empty `dir`, creates it, and returns it absolute (the
/// SoftHSM2 configuration and the briefing need absolute paths).
fn prepare_dir(dir: &Path) -> Result<PathBuf, DrillError> {
    let name = dir.display().to_string();
    let io = |error| DrillError::Io {
        step: "preparing the drill directory".into(),
        file: name.clone(),
        error,
    };
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io)?;
        if entries.next().is_some() {
            return Err(DrillError::NotEmpty { dir: name });
        }
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    std::path::absolute(dir).map_err(io)
}

fn create_dir(path: &Path, step: &str) -> Result<(), DrillError> {
    std::fs::create_dir_all(path).map_err(|error| DrillError::Io {
        step: step.into(),
        file: path.display().to_string(),
        error,
    })
}

fn write(path: &Path, bytes: &[u8], step: &str) -> Result<(), DrillError> {
    write_atomically(path, bytes).map_err(|error| DrillError::Io {
        step: step.into(),
        file: path.display().to_string(),
        error: error.into(),
    })
}

/// Runs `command` with `SOFTHSM2_CONF=conf`; a failure carries the exit
/// status and the last line of the child's stderr.
fn run_child(mut command: Command, conf: &Path, step: &str) -> Result<(), DrillError> {
    let program = command.get_program().to_string_lossy().into_owned();
    let first = command
        .get_args()
        .next()
        .map(|a| format!(" {}", a.to_string_lossy()))
        .unwrap_or_default();
    let shown = format!("{program}{first}");
    let output = command
        .env("SOFTHSM2_CONF", conf)
        .output()
        .map_err(|e| DrillError::Child {
            step: step.into(),
            command: shown.clone(),
            why: format!("cannot start: {e}"),
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no stderr)")
        .trim();
    Err(DrillError::Child {
        step: step.into(),
        command: shown,
        why: format!("failed ({}): {last}", output.status),
    })
}

/// The TUF key object out of the public key file `ceremony onboard`
/// wrote (read as `tuf-repo` reads it: the key id must be the key's).
fn read_public_key(path: &Path) -> Result<Key, DrillError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| DrillError::Io {
        step: "reading a public key".into(),
        file: file.clone(),
        error,
    })?;
    PublicKeyFile::parse(&bytes)
        .map(|parsed| parsed.key)
        .map_err(|e| DrillError::Metadata {
            step: "reading a public key".into(),
            file,
            why: e.to_string(),
        })
}

/// A fresh random Ed25519 public key; the private half is dropped.
fn online_key() -> Result<Key, DrillError> {
    let bad = |why: &str| DrillError::Metadata {
        step: "making the drill's online-role key".into(),
        file: "(in memory)".into(),
        why: why.into(),
    };
    let pkcs8 =
        Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| bad("no randomness"))?;
    let pair =
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| bad("generated key unreadable"))?;
    Ok(Key {
        keytype: "ed25519".into(),
        scheme: "ed25519".into(),
        public: hex::encode(pair.public_key()),
        keyval_rest: Object::new(),
        unrecognized: Object::new(),
    })
}

/// A root of `version` whose root role lists `root_keys` (threshold 2) and
/// whose online roles list `online` (threshold 1).
fn build_root(version: u64, root_keys: &[&Key], online: &Key, expires: &Expires) -> Root {
    let role = |ids: Vec<String>, threshold| RoleKeys {
        keyids: ids,
        threshold,
        unrecognized: Object::new(),
    };
    let mut keys: BTreeMap<String, Key> = root_keys
        .iter()
        .map(|k| (k.key_id(), (*k).clone()))
        .collect();
    keys.insert(online.key_id(), online.clone());
    let mut roles = BTreeMap::new();
    roles.insert(
        "root".to_owned(),
        role(
            root_keys.iter().map(|k| k.key_id()).collect(),
            ROOT_THRESHOLD,
        ),
    );
    for name in ["targets", "snapshot", "timestamp"] {
        roles.insert(name.to_owned(), role(vec![online.key_id()], 1));
    }
    Root {
        common: Common {
            spec_version: "1.0.31".into(),
            version,
            expires: expires.clone(),
        },
        consistent_snapshot: Some(true),
        keys,
        roles,
        unrecognized: Object::new(),
    }
}

fn read_root(path: &Path, step: &str) -> Result<Metadata<Root>, DrillError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| DrillError::Io {
        step: step.into(),
        file: file.clone(),
        error,
    })?;
    Metadata::parse_root(&bytes).map_err(|e| DrillError::Metadata {
        step: step.into(),
        file,
        why: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_child_is_named_with_its_step_and_last_stderr_line() {
        let tmp = tempfile::tempdir().unwrap();
        // `sh onboard …` fails at once, complaining on stderr about the file.
        let err = stage(
            &tmp.path().join("d"),
            Path::new("/bin/sh"),
            OffsetDateTime::now_utc(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("generating alice's key: `/bin/sh onboard` failed"),
            "{err}"
        );
        assert!(err.contains("onboard"), "{err}");
    }

    #[test]
    fn a_non_empty_directory_is_refused_before_anything_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("keep"), "x").unwrap();
        let err = stage(
            tmp.path(),
            Path::new("/nonexistent"),
            OffsetDateTime::now_utc(),
        )
        .unwrap_err();
        assert!(matches!(err, DrillError::NotEmpty { .. }), "{err}");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }
}
