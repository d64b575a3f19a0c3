//! `tuf-repo verify <repo>`: the published repository checked as a TUF
//! client would update from it (TUF spec 5.3–5.7), from `1.root.json` (or a
//! pinned `--trusted` root) through every root, then timestamp, snapshot,
//! targets, every delegated role the targets reach (named and succinct hash
//! bins) and every target file. One line per role checked, a summary at the
//! end; the first failure stops it, naming the file.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use metadata_io::read_capped;
use time::OffsetDateTime;
use tuf_metadata::rotation::check_expiry;
use tuf_metadata::{
    Limits, MetaFile, Metadata, Root, Signed, Targets, ThresholdReport, verify_root_update,
    verify_trusted_root,
};

use crate::clock::{AtArgs, now_or, rfc3339};
use crate::layout::{Repo, load_root};
use crate::online_roles::sha256_hex;
use crate::target_files::published_blob_name;

/// Arguments of `verify`.
#[derive(ClapArgs)]
pub struct Args {
    /// The repository directory (its `repository/` is checked).
    repo: PathBuf,
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

/// How strict [`check`] is about expiry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Every role must be unexpired at `--at` (`verify`, `export`).
    Strict,
    /// The online roles (timestamp and snapshot) may have expired: that is
    /// reported and not an error, since `tuf-repo snapshot` signs both anew
    /// with the online keys (`import`, whose online keys are checked to be
    /// the ones root lists). Root, targets and delegated roles must still
    /// be unexpired.
    OnlineMayHaveExpired,
}

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
    let root = root_chain(repo, trusted, now)?;
    let checker = Checker {
        repo,
        root: root.signed(),
        consistent: root.signed().consistent_snapshot == Some(true),
        now,
    };
    let mut tally = Tally::default();
    let online_expired = |path: &Path, signed: &Signed| -> Result<()> {
        match (checker.unexpired(path, signed), expiry) {
            (Ok(()), _) => Ok(()),
            (Err(e), Expiry::OnlineMayHaveExpired) => {
                println!("{e:#} — allowed: refresh it with `tuf-repo snapshot`");
                Ok(())
            }
            (Err(e), Expiry::Strict) => Err(e),
        }
    };

    let (ts_path, ts_bytes) = checker.read("timestamp.json")?;
    let timestamp = checker.parse(&ts_path, &ts_bytes)?;
    let Signed::Timestamp(ts) = timestamp.signed() else {
        bail!("{}: expected timestamp metadata", ts_path.display());
    };
    checker.require_top(&ts_path, "timestamp", &timestamp)?;
    online_expired(&ts_path, timestamp.signed())?;
    println!(
        "timestamp v{}: ok — {}, expires {}",
        ts.common.version,
        checker.board("timestamp", &timestamp),
        ts.common.expires.as_str()
    );

    let snapshot_name = checker.versioned("snapshot", ts.snapshot.version);
    let (sn_path, sn_bytes) = checker.read(&snapshot_name)?;
    checker.matches_entry(&sn_path, &sn_bytes, &ts.snapshot, "timestamp")?;
    let snapshot = checker.parse(&sn_path, &sn_bytes)?;
    let Signed::Snapshot(sn) = snapshot.signed() else {
        bail!("{}: expected snapshot metadata", sn_path.display());
    };
    checker.version_is(
        &sn_path,
        sn.common.version,
        ts.snapshot.version,
        "timestamp",
    )?;
    checker.require_top(&sn_path, "snapshot", &snapshot)?;
    online_expired(&sn_path, snapshot.signed())?;
    println!(
        "snapshot v{}: ok — {}, expires {}",
        sn.common.version,
        checker.board("snapshot", &snapshot),
        sn.common.expires.as_str()
    );

    let (tg_path, targets) = checker.role_file("targets", sn)?;
    checker.require_top(&tg_path, "targets", &targets)?;
    checker.unexpired_targets(&tg_path, targets.signed())?;
    println!(
        "targets v{}: ok — {}, expires {}, {} target files",
        targets.signed().common.version,
        checker.board("targets", &targets),
        targets.signed().common.expires.as_str(),
        targets.signed().targets.len()
    );
    checker.target_files("targets", targets.signed(), &mut tally)?;

    // Delegated roles, breadth first, at most MAX_DEPTH levels down. Each
    // role is read and walked once; every delegating edge is checked (a
    // role two delegators name must meet both thresholds, as a client may
    // reach it through either).
    let mut loaded: BTreeMap<String, Metadata<Targets>> = BTreeMap::new();
    let mut queue = VecDeque::from([("targets".to_owned(), targets.signed().clone(), 0usize)]);
    while let Some((delegator, parent, depth)) = queue.pop_front() {
        let Some(delegations) = &parent.delegations else {
            continue;
        };
        let ring = tuf_metadata::KeyRing::new(&delegations.keys);
        for name in crate::graph::role_names(delegations) {
            if name == "targets" {
                bail!(
                    "{}: {delegator} delegates to \"targets\", the top-level role",
                    tg_path.display()
                );
            }
            let first = !loaded.contains_key(&name);
            if first {
                if depth + 1 > crate::graph::MAX_DEPTH {
                    bail!(
                        "{}: {delegator} delegates to {name:?} deeper than {} levels",
                        tg_path.display(),
                        crate::graph::MAX_DEPTH
                    );
                }
                let (_, role) = checker.role_file(&name, sn)?;
                loaded.insert(name.clone(), role);
            }
            let role = &loaded[&name];
            let path = checker
                .repo
                .published_file(&checker.versioned(&name, role.signed().common.version));
            let keys = delegations
                .role_keys(&name)
                .expect("the role was listed by this delegation");
            let report = ring.check(keys, role.signed_bytes(), role.signatures());
            met(&path, &name, &format!("{delegator}'s delegation"), &report)?;
            if !first {
                continue;
            }
            checker.unexpired_targets(&path, role.signed())?;
            println!(
                "{name} v{}: ok — delegated by {delegator}, {} of {} keys, {} target files",
                role.signed().common.version,
                report.counted(),
                report.threshold,
                role.signed().targets.len()
            );
            checker.target_files(&name, role.signed(), &mut tally)?;
            tally.delegated += 1;
            queue.push_back((name, role.signed().clone(), depth + 1));
        }
    }
    println!(
        "verified {}: root v{}, timestamp v{}, snapshot v{}, targets v{}, {} delegated roles, {} target files (at {})",
        repo.published().display(),
        root.signed().common.version,
        ts.common.version,
        sn.common.version,
        targets.signed().common.version,
        tally.delegated,
        tally.target_files,
        rfc3339(now)
    );
    Ok(Report {
        root_version: root.signed().common.version,
        snapshot: sn.clone(),
    })
}

/// The root chain from 1 (or the pinned root) through the latest N: each
/// update verified, only the last one required unexpired (TUF spec 5.3.10).
fn root_chain(repo: &Repo, trusted: Option<&Path>, now: OffsetDateTime) -> Result<Metadata<Root>> {
    let start = trusted.map_or_else(|| repo.published_file("1.root.json"), Path::to_path_buf);
    let file = start.display().to_string();
    let mut root = load_root(&start)?;
    let report = verify_trusted_root(&root)
        .with_context(|| format!("{file}: the starting root is not signed by its own keys"))?;
    println!(
        "root v{}: ok — starting point, root keys {report}",
        root.signed().common.version
    );
    let Some(latest) = repo.latest_version("root")? else {
        bail!(
            "{}: no N.root.json is published",
            repo.published().display()
        );
    };
    let first = root.signed().common.version + 1;
    for n in first..=latest {
        let path = repo.published_file(&format!("{n}.root.json"));
        let file = path.display().to_string();
        let bytes = read_capped(&path, Limits::ROOT.max_bytes).with_context(|| file.clone())?;
        let next = Metadata::parse(&bytes, &Limits::ROOT).with_context(|| file.clone())?;
        let at = (n == latest).then_some(now);
        let update = verify_root_update(&root, next, at).with_context(|| file.clone())?;
        println!(
            "root v{n}: ok — root keys {} of v{}, {} of v{n}",
            update.by_trusted,
            n - 1,
            update.by_itself
        );
        root = update.root;
    }
    if first > latest {
        check_expiry(root.signed(), now).with_context(|| file.clone())?;
    }
    let version = root.signed().common.version;
    if version < latest {
        bail!("{file}: the pinned root v{version} is older than the published root v{latest}");
    }
    // Clients that start without a pinned root read root.json.
    let plain = repo.published_file("root.json");
    let newest = repo.published_file(&format!("{latest}.root.json"));
    if std::fs::read(&plain).ok() != std::fs::read(&newest).ok() {
        bail!("{}: is not the same as {latest}.root.json", plain.display());
    }
    Ok(root)
}

/// Checks files of the published directory against the trusted root.
struct Checker<'a> {
    repo: &'a Repo,
    root: &'a Root,
    consistent: bool,
    now: OffsetDateTime,
}

impl Checker<'_> {
    /// `<V>.<role>.json` with consistent snapshots, `<role>.json` without.
    fn versioned(&self, role: &str, version: u64) -> String {
        let encoded = encode_role_name(role);
        if self.consistent {
            format!("{version}.{encoded}.json")
        } else {
            format!("{encoded}.json")
        }
    }

    fn read(&self, name: &str) -> Result<(PathBuf, Vec<u8>)> {
        let path = self.repo.published_file(name);
        let bytes = read_capped(&path, Limits::ANY.max_bytes)
            .with_context(|| path.display().to_string())?;
        Ok((path, bytes))
    }

    fn parse(&self, path: &Path, bytes: &[u8]) -> Result<Metadata> {
        Metadata::parse(bytes, &Limits::ANY).with_context(|| path.display().to_string())
    }

    /// A targets role file as snapshot lists it: length, hashes, version.
    fn role_file(
        &self,
        role: &str,
        snapshot: &tuf_metadata::Snapshot,
    ) -> Result<(PathBuf, Metadata<Targets>)> {
        let Some(entry) = snapshot.meta.get(&format!("{role}.json")) else {
            let version = snapshot.common.version;
            bail!(
                "{}: snapshot v{version} lists no {role}.json, so the {role} role cannot be checked",
                self.repo
                    .published_file(&self.versioned("snapshot", version))
                    .display()
            );
        };
        let (path, bytes) = self.read(&self.versioned(role, entry.version))?;
        self.matches_entry(&path, &bytes, entry, "snapshot")?;
        let file = path.display().to_string();
        let targets = self
            .parse(&path, &bytes)?
            .into_targets()
            .with_context(|| file.clone())?;
        self.version_is(
            &path,
            targets.signed().common.version,
            entry.version,
            "snapshot",
        )?;
        Ok((path, targets))
    }

    /// Length and hashes as the referring metadata lists them (when it does).
    fn matches_entry(&self, path: &Path, bytes: &[u8], entry: &MetaFile, by: &str) -> Result<()> {
        let file = path.display().to_string();
        if let Some(length) = entry.length
            && length != bytes.len() as u64
        {
            bail!("{file}: {} bytes, but {by} says {length}", bytes.len());
        }
        if let Some(hashes) = &entry.hashes {
            check_hashes(&file, bytes, hashes, by)?;
        }
        Ok(())
    }

    fn version_is(&self, path: &Path, found: u64, expected: u64, by: &str) -> Result<()> {
        if found != expected {
            bail!(
                "{}: version {found}, but {by} says {expected}",
                path.display()
            );
        }
        Ok(())
    }

    fn require_top<T>(&self, path: &Path, role: &str, metadata: &Metadata<T>) -> Result<()> {
        let report = tuf_metadata::rotation::check_role(self.root, role, metadata)
            .with_context(|| path.display().to_string())?;
        met(
            path,
            role,
            &format!("root v{}'s", self.root.common.version),
            &report,
        )
    }

    fn board<T>(&self, role: &str, metadata: &Metadata<T>) -> String {
        match tuf_metadata::rotation::check_role(self.root, role, metadata) {
            Ok(report) => format!("{} of {} keys", report.counted(), report.threshold),
            Err(e) => e.to_string(),
        }
    }

    fn unexpired(&self, path: &Path, signed: &Signed) -> Result<()> {
        let common = signed.common();
        if common.expires.is_expired_at(self.now) {
            bail!(
                "{}: {} v{} expired at {} (checked at {})",
                path.display(),
                signed.type_name(),
                common.version,
                common.expires.as_str(),
                rfc3339(self.now)
            );
        }
        Ok(())
    }

    fn unexpired_targets(&self, path: &Path, targets: &Targets) -> Result<()> {
        let common = &targets.common;
        if common.expires.is_expired_at(self.now) {
            bail!(
                "{}: targets v{} expired at {} (checked at {})",
                path.display(),
                common.version,
                common.expires.as_str(),
                rfc3339(self.now)
            );
        }
        Ok(())
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
            if bytes.len() as u64 != file.length {
                bail!(
                    "{shown}: target {target}: {} bytes, but {role} says {}",
                    bytes.len(),
                    file.length
                );
            }
            check_hashes(&shown, &bytes, &file.hashes, role)
                .with_context(|| format!("target {target}"))?;
            tally.target_files += 1;
        }
        Ok(())
    }
}

fn met(path: &Path, role: &str, whose: &str, report: &ThresholdReport) -> Result<()> {
    if report.is_met() {
        return Ok(());
    }
    let mut details = report.rejections().join("; ");
    if !details.is_empty() {
        details.insert_str(0, "; ");
    }
    bail!(
        "{}: {role} role: threshold of {whose} keys not met: {report} distinct keys{details}",
        path.display()
    )
}

/// sha256 and sha512 are checked; at least one of them must be listed.
fn check_hashes(
    file: &str,
    bytes: &[u8],
    hashes: &std::collections::BTreeMap<String, String>,
    by: &str,
) -> Result<()> {
    let mut checked = 0;
    for (alg, expected) in hashes {
        let actual = match alg.as_str() {
            "sha256" => sha256_hex(bytes),
            "sha512" => hex::encode(ring::digest::digest(&ring::digest::SHA512, bytes)),
            _ => continue,
        };
        if actual != *expected {
            bail!("{file}: {alg} {actual} differs from the {expected} {by} lists");
        }
        checked += 1;
    }
    if checked == 0 {
        bail!("{file}: {by} lists no sha256 or sha512 hash to check it by");
    }
    Ok(())
}

/// A role name as a file name: percent-encoded as python-tuf's client
/// (`urllib.parse.quote(name, "")`) asks for it.
pub fn encode_role_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
    fn role_names_are_percent_encoded_like_python_tufs_client() {
        assert_eq!(encode_role_name("bin-3fff"), "bin-3fff");
        assert_eq!(encode_role_name("a/b c"), "a%2Fb%20c");
        assert_eq!(encode_role_name("é"), "%C3%A9");
    }
}
