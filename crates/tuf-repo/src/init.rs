//! `tuf-repo init`: a new repository directory with its configuration, root
//! v1 and targets v1 staged unsigned. Nothing offline is signed online: the
//! first ceremony signs both.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use cli_common::{AttestationRootArgs, parse_days};
use metadata_io::write_atomically;
use time::OffsetDateTime;
use tuf_metadata::{Common, Metadata, Object, RoleKeys, Root, Targets, json};

use crate::clock::{AtArgs, expires_in_days, now_or};
use crate::config::{self, Config, Expiry, Margin, Online, OnlineKey};
use crate::keys::{add_key, check_key_set, check_signable, read_public_key_file};
use crate::layout::Repo;

/// The spec version new metadata declares.
pub const SPEC_VERSION: &str = "1.0.31";

/// Arguments of `init`.
#[derive(ClapArgs)]
pub struct Args {
    /// The new repository directory (absent or empty).
    repo: PathBuf,
    /// A root key, as `ceremony onboard` wrote it.
    #[arg(long, value_name = "pub.json", required = true)]
    root_key: Vec<PathBuf>,
    /// Distinct root keys that must sign.
    #[arg(long, value_name = "n")]
    root_threshold: u64,
    /// A targets key (default: the root keys).
    #[arg(long, value_name = "pub.json")]
    targets_key: Vec<PathBuf>,
    /// Distinct targets keys that must sign (default: the root threshold).
    #[arg(long, value_name = "n")]
    targets_threshold: Option<u64>,
    /// The online snapshot key's public key file.
    #[arg(long, value_name = "pub.json")]
    snapshot_key: PathBuf,
    /// The online timestamp key's public key file.
    #[arg(long, value_name = "pub.json")]
    timestamp_key: PathBuf,
    /// The snapshot key's age file (default: keys/snapshot.age in the repo).
    #[arg(long, value_name = "file.age")]
    online_snapshot_age: Option<PathBuf>,
    /// The timestamp key's age file (default: keys/timestamp.age in the repo).
    #[arg(long, value_name = "file.age")]
    online_timestamp_age: Option<PathBuf>,
    #[command(flatten)]
    expiry: ExpiryArgs,
    /// The repository's name in ceremony manifests (default: directory name).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    attestation: AttestationRootArgs,
    #[command(flatten)]
    at: AtArgs,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<()> {
    let now = now_or(args.at);
    let dir = args.repo.display().to_string();
    refuse_non_empty(&args.repo)?;
    let config = new_config(
        &args.repo,
        args.name.clone(),
        args.expiry.to_expiry(),
        args.online_snapshot_age.as_deref(),
        args.online_timestamp_age.as_deref(),
    )?;
    let config_text = config.to_toml(&args.repo.join(config::FILE_NAME))?;

    let staged_root = args.repo.join("staged/root.json");
    let root = new_root(args, now, &config.expiry)
        .with_context(|| format!("{}: root v1", staged_root.display()))?;
    let targets = Targets {
        common: Common {
            spec_version: SPEC_VERSION.into(),
            version: 1,
            expires: expires_in_days(now, config.expiry.targets),
        },
        targets: BTreeMap::new(),
        delegations: None,
        unrecognized: Object::new(),
    };

    let repo = Repo::new(&args.repo);
    for sub in [repo.staged(), repo.published()] {
        std::fs::create_dir_all(&sub)
            .with_context(|| format!("{}: cannot create", sub.display()))?;
    }
    let writes = [
        (args.repo.join(config::FILE_NAME), config_text.into_bytes()),
        (
            repo.staged_file("root.json"),
            json::to_pretty(&Metadata::new(root).to_value()),
        ),
        (
            repo.staged_file("targets.json"),
            json::to_pretty(&Metadata::new(targets).to_value()),
        ),
    ];
    for (path, bytes) in writes {
        write_atomically(&path, &bytes).with_context(|| path.display().to_string())?;
    }
    say!(
        "initialised {dir}: staged/root.json (root v1, unsigned), staged/targets.json (targets v1, unsigned)"
    );
    say!("next: tuf-repo stage-rotation {dir} --stick <stick> for the first ceremony");
    Ok(())
}

/// The configuration of a new repository at `dir`: `init`'s, and
/// `import`'s for a repository brought from another layout. Online key
/// files given are made absolute (they live outside the repository);
/// otherwise `keys/<role>.age` inside it. Passphrases come from
/// `TUF_SNAPSHOT_PASSPHRASE` / `TUF_TIMESTAMP_PASSPHRASE`. Checked as the
/// next command will read it.
/// `--{root,targets,snapshot,timestamp}-expires-days`: the validity periods
/// a new repository is configured with (`init` and `import`). The older
/// `--expiry-<role>-days` spellings stay as hidden aliases.
#[derive(ClapArgs)]
pub struct ExpiryArgs {
    /// Days a new root is valid.
    #[arg(
        long = "root-expires-days",
        alias = "expiry-root-days",
        value_name = "days",
        value_parser = parse_days,
        default_value_t = Expiry::default().root
    )]
    pub expiry_root_days: u32,
    /// Days new targets metadata is valid.
    #[arg(
        long = "targets-expires-days",
        alias = "expiry-targets-days",
        value_name = "days",
        value_parser = parse_days,
        default_value_t = Expiry::default().targets
    )]
    pub expiry_targets_days: u32,
    /// Days a new snapshot is valid.
    #[arg(
        long = "snapshot-expires-days",
        alias = "expiry-snapshot-days",
        value_name = "days",
        value_parser = parse_days,
        default_value_t = Expiry::default().snapshot
    )]
    pub expiry_snapshot_days: u32,
    /// Days a new timestamp is valid.
    #[arg(
        long = "timestamp-expires-days",
        alias = "expiry-timestamp-days",
        value_name = "days",
        value_parser = parse_days,
        default_value_t = Expiry::default().timestamp
    )]
    pub expiry_timestamp_days: u32,
}

impl ExpiryArgs {
    /// The configuration's `[expiry]` table.
    pub fn to_expiry(&self) -> Expiry {
        Expiry {
            root: self.expiry_root_days,
            targets: self.expiry_targets_days,
            snapshot: self.expiry_snapshot_days,
            timestamp: self.expiry_timestamp_days,
        }
    }
}

pub fn new_config(
    dir: &Path,
    name: Option<String>,
    expiry: Expiry,
    snapshot_age: Option<&Path>,
    timestamp_age: Option<&Path>,
) -> Result<Config> {
    let config = Config {
        name,
        expiry,
        margin: Margin::default(),
        online: Online {
            snapshot: online_key(snapshot_age, "snapshot")?,
            timestamp: online_key(timestamp_age, "timestamp")?,
            held_elsewhere_until_root: None,
        },
    };
    let path = dir.join(config::FILE_NAME);
    Config::parse(&config.to_toml(&path)?, &path)?;
    Ok(config)
}

/// Refuses a directory that exists and is not empty: `init` and `import`
/// make new repositories only.
pub fn refuse_non_empty(dir: &Path) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!(
                    "{}: exists and is not empty; a new repository is made only in an absent or empty directory",
                    dir.display()
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("{}: cannot read", dir.display())),
    }
}

fn online_key(age: Option<&Path>, role: &str) -> Result<OnlineKey> {
    let age = match age {
        Some(path) if !path.is_file() => {
            bail!("{}: the {role} key file does not exist", path.display())
        }
        Some(path) => std::path::absolute(path)
            .with_context(|| format!("{}: {role} key file", path.display()))?,
        None => PathBuf::from(format!("keys/{role}.age")),
    };
    let env = format!("TUF_{}_PASSPHRASE", role.to_uppercase());
    Ok(OnlineKey::with_env(age, &env))
}

fn new_root(args: &Args, now: OffsetDateTime, expiry: &Expiry) -> Result<Root> {
    let role = |threshold| RoleKeys {
        keyids: Vec::new(),
        threshold,
        unrecognized: Object::new(),
    };
    let targets_threshold = args.targets_threshold.unwrap_or(args.root_threshold);
    let mut root = Root {
        common: Common {
            spec_version: SPEC_VERSION.into(),
            version: 1,
            expires: expires_in_days(now, expiry.root),
        },
        consistent_snapshot: Some(true),
        keys: BTreeMap::new(),
        roles: [
            ("root", role(args.root_threshold)),
            ("targets", role(targets_threshold)),
            ("snapshot", role(1)),
            ("timestamp", role(1)),
        ]
        .into_iter()
        .map(|(n, r)| (n.to_owned(), r))
        .collect(),
        unrecognized: Object::new(),
    };
    let targets_keys = if args.targets_key.is_empty() {
        &args.root_key
    } else {
        &args.targets_key
    };
    for (role, files) in [
        ("root", args.root_key.as_slice()),
        ("targets", targets_keys.as_slice()),
        ("snapshot", std::slice::from_ref(&args.snapshot_key)),
        ("timestamp", std::slice::from_ref(&args.timestamp_key)),
    ] {
        for file in files {
            let key = read_public_key_file(file, &args.attestation.roots)?;
            add_key(&mut root, role, key).with_context(|| format!("{}", file.display()))?;
        }
    }
    check_key_set(tuf_metadata::audit_root(&root), &BTreeMap::new())?;
    check_signable(&root)?;
    Ok(root)
}
