//! `tuf-repo verify <repo>`: the published repository checked as a TUF
//! client would update from it (TUF spec 5.3–5.7), from `1.root.json` (or a
//! pinned `--trusted` root) through every root, then timestamp, snapshot,
//! targets, every delegated role the targets reach (named and succinct hash
//! bins) and every target file. One line per role checked, a summary at the
//! end; the first failure stops it, naming the file.
//!
//! Every check of a metadata file is the client's own ([`TrustedSet`]): the
//! same thresholds, rollback, version, expiry, length and hash rules
//! (sha256, sha384, sha512) and role-name encoding. What this adds is the
//! walk over the whole repository rather than one target's search: every
//! delegating edge is checked (a role two delegators name must meet both
//! thresholds, as a client may reach it through either), and every target
//! file against its listing.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use metadata_io::read_capped;
use time::OffsetDateTime;
use tuf_client::names::quote;
use tuf_client::{Freshness, TrustedSet};
use tuf_metadata::{ChainLimits, Expires, Limits, Metadata, Targets};

use crate::clock::{AtArgs, now_or, rfc3339};
use crate::layout::Repo;
use crate::target_files::published_blob_name;

/// Arguments of `verify`.
#[derive(ClapArgs)]
pub struct Args {
    /// The repository directory (its `repository/` is checked).
    pub(crate) repo: PathBuf,
    /// A pinned root to start from instead of `repository/1.root.json`.
    #[arg(long, value_name = "root.json")]
    trusted: Option<PathBuf>,
    #[command(flatten)]
    at: AtArgs,
}

/// What was checked, for the summary.
#[derive(Default)]
struct Tally {
    delegated: u64,
    target_files: u64,
}

/// How strict [`check`] is about expiry: every role unexpired at `--at`
/// (`Strict`: `verify`, `export`), or the online roles (timestamp and
/// snapshot) allowed to have expired, which is reported and not an error,
/// since `tuf-repo snapshot` signs both anew with the online keys
/// (`OnlineMayHaveExpired`: `import`, whose online keys are checked to be
/// the ones root lists). Root, targets and delegated roles must still be
/// unexpired. The client's rule, under the name this crate used first.
pub type Expiry = Freshness;

/// What [`check`] found: the versions in force and the snapshot.
pub struct Report {
    /// The latest root's version.
    pub root_version: u64,
    /// The snapshot the timestamp names.
    pub snapshot: tuf_metadata::Snapshot,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<()> {
    let now = now_or(args.at);
    let repo = Repo::new(&args.repo);
    check(&repo, args.trusted.as_deref(), now, Expiry::Strict).map(|_| ())
}

/// The whole check, printing one line per role and a summary; the first
/// failure is the error, naming the file.
pub fn check(
    repo: &Repo,
    trusted: Option<&Path>,
    now: OffsetDateTime,
    expiry: Expiry,
) -> Result<Report> {
    let mut set = root_chain(repo, trusted, now, expiry)?;
    let root_version = set.root().signed().common.version;
    let reader = Reader {
        repo,
        consistent: set.consistent_snapshot(),
    };
    let mut tally = Tally::default();

    let (ts_file, ts_bytes) = reader.read("timestamp.json")?;
    let accepted = set
        .update_timestamp(&ts_file, &ts_bytes, now)?
        .expect("a new trusted set trusts no timestamp yet");
    let ts = set.timestamp().expect("just trusted").clone();
    if accepted.expired {
        allowed(
            &ts_file,
            "timestamp",
            ts.common.version,
            &ts.common.expires,
            now,
        );
    }
    say!(
        "timestamp v{}: ok — {} of {} keys, expires {}",
        ts.common.version,
        accepted.report.counted(),
        accepted.report.threshold,
        ts.common.expires.as_str()
    );

    let (sn_file, sn_bytes) = reader.read(&reader.versioned("snapshot", ts.snapshot.version))?;
    let accepted = set.update_snapshot(&sn_file, &sn_bytes, now)?;
    let sn = set.snapshot().expect("just trusted").clone();
    if accepted.expired {
        allowed(
            &sn_file,
            "snapshot",
            sn.common.version,
            &sn.common.expires,
            now,
        );
    }
    say!(
        "snapshot v{}: ok — {} of {} keys, expires {}",
        sn.common.version,
        accepted.report.counted(),
        accepted.report.threshold,
        sn.common.expires.as_str()
    );

    let (_, targets, report) = reader.role(&mut set, &sn_file, "targets", None, now)?;
    say!(
        "targets v{}: ok — {} of {} keys, expires {}, {} target files",
        targets.signed().common.version,
        report.counted(),
        report.threshold,
        targets.signed().common.expires.as_str(),
        targets.signed().targets.len()
    );
    reader.target_files("targets", targets.signed(), &mut tally)?;

    // Delegated roles, breadth first, at most MAX_DEPTH levels down. Each
    // role is read and walked once; every delegating edge is checked.
    let targets_version = targets.signed().common.version;
    let tg_file = reader.path(&reader.versioned("targets", targets_version));
    let mut loaded: BTreeMap<String, Arc<Metadata<Targets>>> = BTreeMap::new();
    let mut queue = VecDeque::from([("targets".to_owned(), targets, 0usize)]);
    while let Some((delegator, parent, depth)) = queue.pop_front() {
        let Some(delegations) = &parent.signed().delegations else {
            continue;
        };
        for name in crate::graph::role_names(delegations) {
            if name == "targets" {
                bail!("{tg_file}: {delegator} delegates to \"targets\", the top-level role");
            }
            if let Some(role) = loaded.get(&name) {
                // Reached before through another delegator: this one's
                // keys and threshold must sign it too.
                let file = reader.path(&reader.versioned(&name, role.signed().common.version));
                set.recheck_targets(&file, &name, Some(&delegator))
                    .expect("trusted when first reached")?;
                continue;
            }
            if depth + 1 > crate::graph::MAX_DEPTH {
                bail!(
                    "{tg_file}: {delegator} delegates to {name:?} deeper than {} levels",
                    crate::graph::MAX_DEPTH
                );
            }
            let (_, role, report) =
                reader.role(&mut set, &sn_file, &name, Some(&delegator), now)?;
            say!(
                "{name} v{}: ok — delegated by {delegator}, {} of {} keys, {} target files",
                role.signed().common.version,
                report.counted(),
                report.threshold,
                role.signed().targets.len()
            );
            reader.target_files(&name, role.signed(), &mut tally)?;
            tally.delegated += 1;
            loaded.insert(name.clone(), role.clone());
            queue.push_back((name, role, depth + 1));
        }
    }
    say!(
        "verified {}: root v{}, timestamp v{}, snapshot v{}, targets v{}, {} delegated roles, {} target files (at {})",
        repo.published().display(),
        root_version,
        ts.common.version,
        sn.common.version,
        targets_version,
        tally.delegated,
        tally.target_files,
        rfc3339(now)
    );
    Ok(Report {
        root_version,
        snapshot: sn,
    })
}

/// The line for an online role that expired and is allowed to have.
fn allowed(file: &str, role: &str, version: u64, expires: &Expires, now: OffsetDateTime) {
    say!(
        "{file}: {role} v{version} expired at {} (checked at {}) — allowed: refresh it with `tuf-repo snapshot`",
        expires.as_str(),
        rfc3339(now)
    );
}

/// The root chain from 1 (the oldest root published, in an imported
/// checkout; or the pinned root) through the latest N, each
/// step the client's ([`TrustedSet::update_root`], one
/// [`tuf_metadata::RootChain`] step, every local root walked and read as
/// existing metadata: [`ChainLimits::EXISTING`]), only the last root
/// required unexpired (TUF
/// spec 5.3.10). The trusted set it returns goes on to timestamp,
/// snapshot and targets.
/// Reads the root trust starts from as existing metadata
/// ([`tuf_metadata::ReadMode::Existing`]), as the client reads it.
fn load_existing_root(path: &Path) -> Result<Metadata<tuf_metadata::Root>> {
    let name = path.display().to_string();
    let bytes = read_capped(path, Limits::ROOT.max_bytes).with_context(|| name.clone())?;
    Metadata::parse_root_existing(&bytes).with_context(|| name)
}

fn root_chain(
    repo: &Repo,
    trusted: Option<&Path>,
    now: OffsetDateTime,
    expiry: Expiry,
) -> Result<TrustedSet> {
    let start = match trusted {
        Some(path) => path.to_path_buf(),
        None => repo.first_root_file()?,
    };
    let file = start.display().to_string();
    let root = load_existing_root(&start)?;
    let (mut set, report) = TrustedSet::new(&start, root, expiry, ChainLimits::EXISTING)?;
    say!(
        "root v{}: ok — starting point, root keys {report}",
        set.root().signed().common.version
    );
    let Some(latest) = repo.latest_version("root")? else {
        bail!(
            "{}: no N.root.json is published",
            repo.published().display()
        );
    };
    let first = set.root().signed().common.version + 1;
    // The line of the last step waits for the expiry check of its root.
    let mut last_step: Option<String> = None;
    let mut last_file = file.clone();
    for n in first..=latest {
        let path = repo.published_file(&format!("{n}.root.json"));
        let file = path.display().to_string();
        let bytes = read_capped(&path, Limits::ROOT.max_bytes).with_context(|| file.clone())?;
        let step = set.update_root(&file, &bytes)?;
        last_file = file;
        let line = format!(
            "root v{}: ok — root keys {} of v{}, {} of v{}",
            step.version, step.by_trusted, step.from, step.by_itself, step.version
        );
        if let Some(line) = last_step.replace(line) {
            say!("{line}");
        }
    }
    set.check_root_expiry(&last_file, now)?;
    if let Some(line) = last_step {
        say!("{line}");
    }
    let version = set.root().signed().common.version;
    if version < latest {
        bail!("{file}: the pinned root v{version} is older than the published root v{latest}");
    }
    // Clients that start without a pinned root read root.json.
    let plain = repo.published_file("root.json");
    let newest = repo.published_file(&format!("{latest}.root.json"));
    if std::fs::read(&plain).ok() != std::fs::read(&newest).ok() {
        bail!("{}: is not the same as {latest}.root.json", plain.display());
    }
    Ok(set)
}

/// Reads files of the published directory for the trusted set.
struct Reader<'a> {
    repo: &'a Repo,
    consistent: bool,
}

impl Reader<'_> {
    /// `<V>.<role>.json` with consistent snapshots, `<role>.json` without,
    /// the role name percent-encoded as the client asks for it.
    fn versioned(&self, role: &str, version: u64) -> String {
        let encoded = quote(role);
        if self.consistent {
            format!("{version}.{encoded}.json")
        } else {
            format!("{encoded}.json")
        }
    }

    /// The published file `name`, as messages name it.
    fn path(&self, name: &str) -> String {
        self.repo.published_file(name).display().to_string()
    }

    fn read(&self, name: &str) -> Result<(String, Vec<u8>)> {
        let path = self.repo.published_file(name);
        let file = path.display().to_string();
        let bytes = read_capped(&path, Limits::ANY.max_bytes).with_context(|| file.clone())?;
        Ok((file, bytes))
    }

    /// A targets role as the trusted snapshot (the file `snapshot_file`)
    /// lists it, trusted through `delegator` (`None`: root).
    fn role(
        &self,
        set: &mut TrustedSet,
        snapshot_file: &str,
        role: &str,
        delegator: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(
        String,
        Arc<Metadata<Targets>>,
        tuf_metadata::ThresholdReport,
    )> {
        let (meta, _) = set
            .role_meta(role, delegator)
            .with_context(|| format!("{snapshot_file}: the {role} role cannot be checked"))?;
        let (file, bytes) = self.read(&self.versioned(role, meta.version))?;
        let (metadata, report) = set.update_targets(&file, &bytes, role, delegator, now)?;
        Ok((file, metadata, report))
    }

    /// Every target file of `role`: present under its (consistent) name,
    /// with the length and hashes the role lists.
    fn target_files(&self, role: &str, targets: &Targets, tally: &mut Tally) -> Result<()> {
        for (target, file) in &targets.targets {
            let name = match (self.consistent, file.hashes.get("sha256")) {
                (true, Some(sha256)) => published_blob_name(target, sha256),
                (true, None) => bail!(
                    "{role}: target {target} has no sha256 hash, which this tool names files by"
                ),
                (false, _) => format!("targets/{target}"),
            };
            let path = self.repo.published_file(&name);
            let shown = path.display().to_string();
            let bytes = std::fs::read(&path)
                .with_context(|| format!("{shown}: target {target} of {role}: cannot read"))?;
            file.check(&bytes)
                .with_context(|| format!("{shown}: target {target}, as {role} lists it"))?;
            tally.target_files += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ring::signature::{Ed25519KeyPair, KeyPair};
    use time::macros::datetime;
    use tuf_metadata::{
        Common, DelegatedRole, DelegatedRoles, Delegations, Expires, Key, Object, RoleKeys,
        RoleScope, Signature, Snapshot, SuccinctRoles, TargetFile, Timestamp, json,
    };

    use tuf_metadata::files::sha256_hex;
    use tuf_metadata::{MetaFile, Root};

    use super::*;

    const NOW: OffsetDateTime = datetime!(2030-01-01 0:00 UTC);

    /// One Ed25519 key that holds every role, top-level and delegated.
    struct TestKey(Ed25519KeyPair);

    impl TestKey {
        fn new() -> Self {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
            TestKey(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
        }
        fn key(&self) -> Key {
            Key {
                keytype: "ed25519".into(),
                scheme: "ed25519".into(),
                public: hex::encode(self.0.public_key()),
                keyval_rest: Object::new(),
                unrecognized: Object::new(),
            }
        }
        fn role(&self) -> RoleKeys {
            RoleKeys {
                keyids: vec![self.key().key_id()],
                threshold: 1,
                unrecognized: Object::new(),
            }
        }
        fn keys(&self) -> BTreeMap<String, Key> {
            BTreeMap::from([(self.key().key_id(), self.key())])
        }
        fn write<T: tuf_metadata::metadata::SignedPart>(&self, dir: &Path, name: &str, signed: T) {
            let mut md = Metadata::new(signed);
            let sig = hex::encode(self.0.sign(md.signed_bytes()));
            md.set_signature(Signature {
                keyid: self.key().key_id(),
                sig,
                unrecognized: Object::new(),
            });
            std::fs::write(dir.join(name), json::to_pretty(&md.to_value())).unwrap();
        }
    }

    fn common(version: u64) -> Common {
        Common {
            spec_version: "1.0.31".into(),
            version,
            expires: Expires::parse("2031-01-01T00:00:00Z").unwrap(),
        }
    }

    fn targets(files: BTreeMap<String, TargetFile>, delegations: Option<Delegations>) -> Targets {
        Targets {
            common: common(1),
            targets: files,
            delegations,
            unrecognized: Object::new(),
        }
    }

    /// targets → "team" (named) → 4 hash bins, one holding `team/a.txt`.
    fn repository(dir: &Path, k: &TestKey) {
        let published = dir.join("repository");
        std::fs::create_dir_all(published.join("targets/team")).unwrap();
        let root = Root {
            common: common(1),
            consistent_snapshot: Some(true),
            keys: k.keys(),
            roles: ["root", "targets", "snapshot", "timestamp"]
                .into_iter()
                .map(|r| (r.to_owned(), k.role()))
                .collect(),
            unrecognized: Object::new(),
        };
        k.write(&published, "1.root.json", root);
        std::fs::copy(published.join("1.root.json"), published.join("root.json")).unwrap();
        let named = Delegations {
            keys: k.keys(),
            roles: DelegatedRoles::Listed(vec![DelegatedRole {
                name: "team".into(),
                keys: k.role(),
                terminating: true,
                scope: RoleScope::Paths(vec!["team/*".into()]),
            }]),
            unrecognized: Object::new(),
        };
        k.write(
            &published,
            "1.targets.json",
            targets(BTreeMap::new(), Some(named)),
        );
        let bins = SuccinctRoles {
            keys: k.role(),
            bit_length: 2,
            name_prefix: "bin".into(),
        };
        let holder = bins.bin_for_target("team/a.txt");
        let succinct = Delegations {
            keys: k.keys(),
            roles: DelegatedRoles::Succinct(bins.clone()),
            unrecognized: Object::new(),
        };
        k.write(
            &published,
            "1.team.json",
            targets(BTreeMap::new(), Some(succinct)),
        );
        let content = b"hello".as_slice();
        let sha256 = sha256_hex(content);
        std::fs::write(
            published.join(published_blob_name("team/a.txt", &sha256)),
            content,
        )
        .unwrap();
        let mut meta = BTreeMap::new();
        for name in ["targets", "team"] {
            meta.insert(format!("{name}.json"), entry(1, None));
        }
        for n in 0..bins.bin_count() {
            let name = bins.bin_name(n);
            let mut files = BTreeMap::new();
            if name == holder {
                files.insert(
                    "team/a.txt".to_owned(),
                    TargetFile {
                        length: content.len() as u64,
                        hashes: BTreeMap::from([("sha256".to_owned(), sha256.clone())]),
                        unrecognized: Object::new(),
                    },
                );
            }
            k.write(&published, &format!("1.{name}.json"), targets(files, None));
            meta.insert(format!("{name}.json"), entry(1, None));
        }
        let snapshot = Snapshot {
            common: common(1),
            meta,
            unrecognized: Object::new(),
        };
        k.write(&published, "1.snapshot.json", snapshot);
        let bytes = std::fs::read(published.join("1.snapshot.json")).unwrap();
        let timestamp = Timestamp {
            common: common(1),
            snapshot: entry(1, Some(&bytes)),
            unrecognized: Object::new(),
        };
        k.write(&published, "timestamp.json", timestamp);
    }

    fn entry(version: u64, bytes: Option<&[u8]>) -> MetaFile {
        MetaFile {
            version,
            length: bytes.map(|b| b.len() as u64),
            hashes: bytes.map(|b| BTreeMap::from([("sha256".to_owned(), sha256_hex(b))])),
            unrecognized: Object::new(),
        }
    }

    fn verify(dir: &Path) -> Result<()> {
        run(&Args {
            repo: dir.to_owned(),
            trusted: None,
            at: AtArgs { at: Some(NOW) },
        })
    }

    #[test]
    fn named_delegations_and_hash_bins_are_checked_against_their_delegators_keys() {
        let dir = tempfile::tempdir().unwrap();
        let k = TestKey::new();
        repository(dir.path(), &k);
        verify(dir.path()).unwrap();

        // A bin signed by a key its delegator does not list.
        let other = TestKey::new();
        let published = dir.path().join("repository");
        other.write(&published, "1.bin-2.json", targets(BTreeMap::new(), None));
        let err = format!("{:#}", verify(dir.path()).unwrap_err());
        assert!(err.contains("1.bin-2.json"), "{err}");
        assert!(err.contains("team's delegation"), "{err}");
        assert!(err.contains("0/1"), "{err}");
    }

    #[test]
    fn an_expired_or_missing_hash_bin_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let k = TestKey::new();
        repository(dir.path(), &k);
        let published = dir.path().join("repository");
        let mut short = targets(BTreeMap::new(), None);
        short.common.expires = Expires::parse("2030-06-01T00:00:00Z").unwrap();
        k.write(&published, "1.bin-1.json", short);
        verify(dir.path()).unwrap();
        let err = run(&Args {
            repo: dir.path().to_owned(),
            trusted: None,
            at: AtArgs {
                at: Some(datetime!(2030-07-01 0:00 UTC)),
            },
        })
        .unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains("1.bin-1.json") && err.contains("expired"),
            "{err}"
        );
        std::fs::remove_file(published.join("1.bin-1.json")).unwrap();
        let err = format!("{:#}", verify(dir.path()).unwrap_err());
        assert!(err.contains("1.bin-1.json"), "{err}");
    }

    #[test]
    fn a_snapshot_listed_by_sha384_alone_is_checked_by_it() {
        let dir = tempfile::tempdir().unwrap();
        let k = TestKey::new();
        repository(dir.path(), &k);
        let published = dir.path().join("repository");
        let bytes = std::fs::read(published.join("1.snapshot.json")).unwrap();
        let listed = |digest: String| Timestamp {
            common: common(1),
            snapshot: MetaFile {
                version: 1,
                length: Some(bytes.len() as u64),
                hashes: Some(BTreeMap::from([("sha384".to_owned(), digest)])),
                unrecognized: Object::new(),
            },
            unrecognized: Object::new(),
        };
        // The client's rule: sha384 is checked (this tool once refused an
        // entry without sha256 or sha512 that clients accept).
        let good = tuf_metadata::files::digest_hex("sha384", &bytes).unwrap();
        k.write(&published, "timestamp.json", listed(good));
        verify(dir.path()).unwrap();
        k.write(&published, "timestamp.json", listed("00".repeat(48)));
        let err = format!("{:#}", verify(dir.path()).unwrap_err());
        assert!(
            err.contains("1.snapshot.json") && err.contains("sha384"),
            "{err}"
        );
    }
}
