//! A TUF repository in memory for the client tests, in the spirit of
//! python-tuf's `RepositorySimulator`: the signed parts of every role are
//! plain fields a test edits, `publish*` signs them with `tuf_metadata`'s
//! deterministic test keys into served files, and the [`Fetcher`] impl
//! serves those files, logging every request with the cap it was given.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::macros::datetime;
use tuf_client::names::{quote, quote_path};
use tuf_client::{FetchError, Fetcher};
use tuf_metadata::metadata::SignedPart;
use tuf_metadata::testing::{self, TestKey, file_bytes, signed};
use tuf_metadata::{
    Common, DelegatedRole, DelegatedRoles, Delegations, Expires, MetaFile, Object, RoleKeys,
    RoleScope, Root, Snapshot, SuccinctRoles, TargetFile, Targets, Timestamp,
};

/// The time tests check at.
pub const NOW: OffsetDateTime = datetime!(2030-01-01 0:00 UTC);
/// An expiry long after [`NOW`].
pub const FAR: &str = "2100-01-01T00:00:00Z";
/// An expiry before [`NOW`].
pub const PAST: &str = "2020-01-01T00:00:00Z";

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

pub fn common(version: u64, expires: &str) -> Common {
    Common {
        spec_version: "1.0.31".into(),
        version,
        expires: Expires::parse(expires).unwrap(),
    }
}

pub fn role_keys(seeds: &[u8], threshold: u64) -> RoleKeys {
    RoleKeys {
        keyids: seeds.iter().map(|s| TestKey::from_seed(*s).id()).collect(),
        threshold,
        unrecognized: Object::new(),
    }
}

pub fn empty_targets(version: u64) -> Targets {
    Targets {
        common: common(version, FAR),
        targets: BTreeMap::new(),
        delegations: None,
        unrecognized: Object::new(),
    }
}

/// The signed file bytes of `part` signed by the keys of `seeds`.
pub fn sign<T: SignedPart>(part: T, seeds: &[u8]) -> Vec<u8> {
    let keys: Vec<TestKey> = seeds.iter().map(|s| TestKey::from_seed(*s)).collect();
    let refs: Vec<&TestKey> = keys.iter().collect();
    file_bytes(&signed(part, &refs))
}

fn meta_file(version: u64) -> MetaFile {
    MetaFile {
        version,
        length: None,
        hashes: None,
        unrecognized: Object::new(),
    }
}

pub struct Sim {
    pub root: Root,
    /// Seeds of the keys signing each role (top-level and delegated).
    pub signers: BTreeMap<String, Vec<u8>>,
    pub targets: Targets,
    pub delegated: BTreeMap<String, Targets>,
    pub snapshot: Snapshot,
    pub timestamp: Timestamp,
    /// List length and sha256 in the timestamp's and snapshot's meta.
    pub meta_hashes: bool,
    pub files: RefCell<BTreeMap<String, Vec<u8>>>,
    pub log: RefCell<Vec<(String, u64)>>,
}

impl Sim {
    /// Root v1 (root key seed 1, targets 2, snapshot 3, timestamp 4, all
    /// threshold 1, consistent snapshots), targets, snapshot and timestamp
    /// v1, all published.
    pub fn new() -> Sim {
        let root = testing::root(1, &[&TestKey::from_seed(1)], 1, FAR);
        let mut sim = Sim {
            root,
            signers: BTreeMap::new(),
            targets: empty_targets(1),
            delegated: BTreeMap::new(),
            snapshot: Snapshot {
                common: common(1, FAR),
                meta: BTreeMap::new(),
                unrecognized: Object::new(),
            },
            timestamp: Timestamp {
                common: common(1, FAR),
                snapshot: meta_file(1),
                unrecognized: Object::new(),
            },
            meta_hashes: false,
            files: RefCell::new(BTreeMap::new()),
            log: RefCell::new(Vec::new()),
        };
        for (role, seed) in [
            ("root", 1),
            ("targets", 2),
            ("snapshot", 3),
            ("timestamp", 4),
        ] {
            sim.set_role(role, &[seed], 1);
        }
        sim.publish_root();
        sim.publish();
        sim
    }

    /// Gives top-level `role` the keys of `seeds` in the root (not published).
    pub fn set_role(&mut self, role: &str, seeds: &[u8], threshold: u64) {
        for seed in seeds {
            let key = TestKey::from_seed(*seed);
            self.root.keys.insert(key.id(), key.key().clone());
        }
        self.root
            .roles
            .insert(role.to_owned(), role_keys(seeds, threshold));
        self.signers.insert(role.to_owned(), seeds.to_vec());
    }

    pub fn root_bytes(&self, version: u64) -> Vec<u8> {
        self.files.borrow()[&format!("{version}.root.json")].clone()
    }

    /// Publishes the current root signed by its own root signers.
    pub fn publish_root(&self) {
        let seeds = self.signers["root"].clone();
        self.publish_root_signed_by(&seeds);
    }

    pub fn publish_root_signed_by(&self, seeds: &[u8]) {
        let bytes = sign(self.root.clone(), seeds);
        self.serve(&format!("{}.root.json", self.root.common.version), bytes);
    }

    /// Root N+1 with `change` applied, signed by N's and N+1's root keys.
    pub fn rotate_root(&mut self, change: impl FnOnce(&mut Sim)) {
        let mut seeds = self.signers["root"].clone();
        self.root.common.version += 1;
        change(self);
        seeds.extend(self.signers["root"].iter().copied());
        seeds.sort_unstable();
        seeds.dedup();
        self.publish_root_signed_by(&seeds);
    }

    pub fn serve(&self, path: &str, bytes: Vec<u8>) {
        self.files.borrow_mut().insert(path.to_owned(), bytes);
    }

    pub fn file(&self, path: &str) -> Vec<u8> {
        self.files.borrow()[path].clone()
    }

    /// `V.targets.json` and every delegated `V.<role>.json`.
    pub fn publish_targets(&self) {
        let v = self.targets.common.version;
        self.serve(
            &format!("{v}.targets.json"),
            sign(self.targets.clone(), &self.signers["targets"]),
        );
        for (name, role) in &self.delegated {
            let seeds = self.signers.get(name).cloned().unwrap_or_default();
            self.serve(
                &format!("{}.{}.json", role.common.version, quote(name)),
                sign(role.clone(), &seeds),
            );
        }
    }

    fn entry(&self, version: u64, file: &str) -> MetaFile {
        let mut meta = meta_file(version);
        if self.meta_hashes {
            let bytes = self.file(file);
            meta.length = Some(bytes.len() as u64);
            meta.hashes = Some(BTreeMap::from([("sha256".to_owned(), sha256(&bytes))]));
        }
        meta
    }

    /// The snapshot's meta from the current targets roles.
    pub fn snapshot_meta(&mut self) {
        let mut meta = BTreeMap::new();
        let v = self.targets.common.version;
        meta.insert(
            "targets.json".to_owned(),
            self.entry(v, &format!("{v}.targets.json")),
        );
        for (name, role) in &self.delegated {
            let v = role.common.version;
            meta.insert(
                format!("{name}.json"),
                self.entry(v, &format!("{v}.{}.json", quote(name))),
            );
        }
        self.snapshot.meta = meta;
    }

    pub fn publish_snapshot(&self) {
        self.serve(
            &format!("{}.snapshot.json", self.snapshot.common.version),
            sign(self.snapshot.clone(), &self.signers["snapshot"]),
        );
    }

    /// The timestamp naming the current snapshot, published.
    pub fn publish_timestamp(&mut self) {
        let v = self.snapshot.common.version;
        self.timestamp.snapshot = self.entry(v, &format!("{v}.snapshot.json"));
        self.serve(
            "timestamp.json",
            sign(self.timestamp.clone(), &self.signers["timestamp"]),
        );
    }

    /// Targets roles, snapshot and timestamp as they are now.
    pub fn publish(&mut self) {
        self.publish_targets();
        self.snapshot_meta();
        self.publish_snapshot();
        self.publish_timestamp();
    }

    /// Snapshot and timestamp versions up by one, then [`Self::publish`].
    pub fn bump(&mut self) {
        self.snapshot.common.version += 1;
        self.timestamp.common.version += 1;
        self.publish();
    }

    fn role_mut(&mut self, role: &str) -> &mut Targets {
        if role == "targets" {
            &mut self.targets
        } else {
            self.delegated.get_mut(role).expect("delegated role")
        }
    }

    /// Lists `path` with `content` in `role` and serves the file under its
    /// consistent-snapshot name (not published).
    pub fn add_target(&mut self, role: &str, path: &str, content: &[u8]) {
        let hash = sha256(content);
        self.role_mut(role).targets.insert(
            path.to_owned(),
            TargetFile {
                length: content.len() as u64,
                hashes: BTreeMap::from([("sha256".to_owned(), hash.clone())]),
                unrecognized: Object::new(),
            },
        );
        let hashed = match path.rsplit_once('/') {
            Some((dir, base)) => format!("{dir}/{hash}.{base}"),
            None => format!("{hash}.{path}"),
        };
        self.serve(
            &format!("targets/{}", quote_path(&hashed)),
            content.to_vec(),
        );
    }

    fn delegations_mut(&mut self, from: &str) -> &mut Delegations {
        self.role_mut(from)
            .delegations
            .get_or_insert_with(|| Delegations {
                keys: BTreeMap::new(),
                roles: DelegatedRoles::Listed(Vec::new()),
                unrecognized: Object::new(),
            })
    }

    /// `from` delegates `name` (keys of `seeds`, `threshold`) for `scope`;
    /// `name` starts as empty targets v1 signed by `seeds` (not published).
    pub fn delegate(
        &mut self,
        from: &str,
        name: &str,
        seeds: &[u8],
        threshold: u64,
        scope: RoleScope,
        terminating: bool,
    ) {
        let delegations = self.delegations_mut(from);
        for seed in seeds {
            let key = TestKey::from_seed(*seed);
            delegations.keys.insert(key.id(), key.key().clone());
        }
        let DelegatedRoles::Listed(roles) = &mut delegations.roles else {
            panic!("listed roles");
        };
        roles.push(DelegatedRole {
            name: name.to_owned(),
            keys: role_keys(seeds, threshold),
            terminating,
            scope,
        });
        self.signers
            .entry(name.to_owned())
            .or_insert_with(|| seeds.to_vec());
        self.delegated
            .entry(name.to_owned())
            .or_insert_with(|| empty_targets(1));
    }

    /// `from` delegates to 2^bit_length hash bins `<prefix>-<hex>`, every
    /// bin created empty and signed by `seeds` (not published).
    pub fn delegate_bins(&mut self, from: &str, prefix: &str, bit_length: u32, seeds: &[u8]) {
        let bins = SuccinctRoles {
            keys: role_keys(seeds, 1),
            bit_length,
            name_prefix: prefix.to_owned(),
        };
        let delegations = self.delegations_mut(from);
        for seed in seeds {
            let key = TestKey::from_seed(*seed);
            delegations.keys.insert(key.id(), key.key().clone());
        }
        delegations.roles = DelegatedRoles::Succinct(bins.clone());
        for n in 0..bins.bin_count() {
            let name = bins.bin_name(n);
            self.signers.insert(name.clone(), seeds.to_vec());
            self.delegated.insert(name, empty_targets(1));
        }
    }

    /// The requests made so far, paths only.
    pub fn requests(&self) -> Vec<String> {
        self.log.borrow().iter().map(|(p, _)| p.clone()).collect()
    }

    pub fn clear_log(&self) {
        self.log.borrow_mut().clear();
    }

    /// The target files, as a fetcher rooted at `targets/`.
    pub fn target_base(&self) -> TargetBase<'_> {
        TargetBase(self)
    }
}

impl Fetcher for Sim {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        self.log.borrow_mut().push((path.to_owned(), max_len));
        match self.files.borrow().get(path) {
            None => Err(FetchError::NotFound(path.to_owned())),
            // The cap is enforced here as a real fetcher does: the client
            // must ask with the right one.
            Some(bytes) if bytes.len() as u64 > max_len => Err(FetchError::TooLong {
                url: path.to_owned(),
                max: max_len,
            }),
            Some(bytes) => Ok(bytes.clone()),
        }
    }

    fn describe(&self) -> String {
        "simulator".into()
    }
}

/// [`Sim`]'s target files.
pub struct TargetBase<'a>(&'a Sim);

impl Fetcher for TargetBase<'_> {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        self.0.fetch(&format!("targets/{path}"), max_len)
    }

    fn describe(&self) -> String {
        "simulator targets".into()
    }
}
