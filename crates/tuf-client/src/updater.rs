//! The client workflow (TUF spec 5.3–5.7) as python-tuf's ngclient runs
//! it (`updater.py`): which file to fetch or read from the cache, and in
//! what order. Every check of the bytes is the trusted set's
//! ([`crate::trusted`]), including the one deliberate difference from
//! python-tuf: a delegated role is verified against the delegator of the
//! lookup at hand every time it is reached, never trusted because another
//! delegator's keys verified it before (python-tuf and go-tuf keep the
//! first verification).
//!
//! Trusted files live in the metadata directory under unversioned names
//! (`root.json`, `timestamp.json`, `snapshot.json`, `targets.json`,
//! `<percent-encoded role>.json`), each written atomically only after it
//! verified. Cached files are verified again whenever they are loaded: a
//! tampered `root.json` stops the client, a tampered cache of any other
//! role is ignored and fetched anew.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::OffsetDateTime;
use tuf_metadata::files::check_bytes;
use tuf_metadata::{
    ChainLimits, Key, KeyId, Limits, Metadata, Root, Snapshot, TargetSearch, Targets, Timestamp,
};

use crate::download::{local_target_matches, target_url_path};
use crate::error::ClientError;
use crate::fetch::{FetchError, Fetcher};
use crate::names::quote;
use crate::trusted::{Freshness, TrustedSet};

/// Cap on a root file: the strict parser's root limit (1 MiB).
pub const ROOT_MAX_BYTES: u64 = Limits::ROOT.max_bytes as u64;
/// Cap on `timestamp.json` (python-tuf's default): it lists one file.
pub const TIMESTAMP_MAX_BYTES: u64 = 16 * 1024;
/// Cap on the snapshot when the timestamp gives no length (python-tuf's default).
pub const SNAPSHOT_MAX_BYTES: u64 = 2_000_000;
/// Cap on a targets role when the snapshot gives no length (python-tuf's default).
pub const TARGETS_MAX_BYTES: u64 = 5_000_000;
/// Most targets roles visited while searching for one target (spec 5.7,
/// python-tuf's `max_delegations`).
pub const MAX_DELEGATIONS: usize = 32;
/// The longest file name written: longer (percent-encoded) role names are
/// verified and used but not cached on disk; longer target names are refused.
const MAX_FILE_NAME: usize = 255;
/// Upper bound for any metadata file, whatever a snapshot or timestamp says.
const ANY_MAX_BYTES: u64 = Limits::ANY.max_bytes as u64;

/// A target as the trusted targets metadata (or a delegated role) lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetInfo {
    /// The target path as listed.
    pub path: String,
    /// Its length in bytes.
    pub length: u64,
    /// Algorithm → hex digest.
    pub hashes: std::collections::BTreeMap<String, String>,
}

/// A client with its trusted metadata kept in a directory.
///
/// One refresh ([`Updater::refresh`]) brings root, timestamp, snapshot and
/// top-level targets up to date; [`Updater::find_target`] then walks the
/// delegations (refreshing first if that has not happened yet), and
/// [`Updater::download_target`] fetches and checks the file.
pub struct Updater {
    metadata_dir: PathBuf,
    /// What this run trusts; rebuilt from `root.json` at each refresh.
    set: TrustedSet,
    refreshed: bool,
}

impl Updater {
    /// `client init`: stores `trusted_root` (bytes of a root file) as
    /// `<metadata_dir>/root.json` after checking it is a valid root.
    ///
    /// "Valid" is: strictly parsed root metadata signed by a threshold of
    /// its own root keys. Its expiry is not checked here: an expired pinned
    /// root can still rotate to a current one at the first refresh (spec
    /// 5.3.10 checks only the final root). No network is used.
    pub fn init(metadata_dir: &Path, trusted_root: &[u8]) -> Result<(), ClientError> {
        let path = metadata_dir.join("root.json");
        if trusted_root.len() as u64 > ROOT_MAX_BYTES {
            return Err(ClientError::UntrustedRoot {
                path,
                why: format!("longer than the {ROOT_MAX_BYTES} bytes allowed for a root"),
            });
        }
        trusted_set(&path, trusted_root)?;
        std::fs::create_dir_all(metadata_dir)
            .map_err(|e| local(metadata_dir, "cannot create", e))?;
        metadata_io::write_atomically(&path, trusted_root)
            .map_err(|e| local(&path, "write", e.into()))
    }

    /// Opens a client whose metadata dir was initialised.
    ///
    /// `root.json` there is verified again (its own root threshold): a
    /// tampered trusted root is refused, never trusted.
    pub fn open(metadata_dir: &Path) -> Result<Updater, ClientError> {
        Ok(Updater {
            set: load_trusted_set(metadata_dir)?,
            metadata_dir: metadata_dir.to_path_buf(),
            refreshed: false,
        })
    }

    /// The trusted root: after a refresh, the newest one the chain reached.
    pub fn trusted_root(&self) -> &Metadata<Root> {
        self.set.root()
    }

    /// The trusted timestamp, once a refresh got that far.
    pub fn trusted_timestamp(&self) -> Option<&Timestamp> {
        self.set.timestamp()
    }

    /// The trusted snapshot, once a refresh got that far.
    pub fn trusted_snapshot(&self) -> Option<&Snapshot> {
        self.set.snapshot()
    }

    /// Spec 5.3–5.6: root rotation, timestamp, snapshot, targets; trusted
    /// files stored under non-versioned names in the metadata dir.
    ///
    /// The trusted root is read from disk and verified again first, so two
    /// refreshes of one `Updater` behave as two client runs would.
    pub fn refresh(
        &mut self,
        remote: &dyn Fetcher,
        now: OffsetDateTime,
    ) -> Result<(), ClientError> {
        self.refreshed = false;
        self.set = load_trusted_set(&self.metadata_dir)?;
        self.update_root(remote, now)?;
        self.update_timestamp(remote, now)?;
        self.update_snapshot(remote, now)?;
        self.load_role(remote, "targets", None, now)?;
        self.refreshed = true;
        Ok(())
    }

    /// Spec 5.7: the target's info, searching delegations in order.
    ///
    /// Pre-order depth-first from the top-level targets, each role visited
    /// at most once and at most [`MAX_DELEGATIONS`] roles in all; a
    /// terminating role that matches the path ends the search below it
    /// (succinct hash bins always do, TAP 15) — the rule is
    /// [`TargetSearch`]. Each delegated role is verified against the keys
    /// and threshold of the role delegating to it on this path, even if it
    /// was verified through another delegator before.
    pub fn find_target(
        &mut self,
        remote: &dyn Fetcher,
        path: &str,
        now: OffsetDateTime,
    ) -> Result<TargetInfo, ClientError> {
        if !self.refreshed {
            self.refresh(remote, now)?;
        }
        let mut search = TargetSearch::new(path, MAX_DELEGATIONS);
        while let Some(next) = search.next_role() {
            let visit = next.map_err(|e| ClientError::TargetNotFound {
                path: path.to_owned(),
                why: e.to_string(),
            })?;
            let metadata = self.load_role(remote, &visit.role, visit.delegator.as_deref(), now)?;
            if let Some(file) = metadata.signed().targets.get(path) {
                return Ok(TargetInfo {
                    path: path.to_owned(),
                    length: file.length,
                    hashes: file.hashes.clone(),
                });
            }
            search.descend(&visit.role, metadata.signed().delegations.as_ref());
        }
        Err(ClientError::TargetNotFound {
            path: path.to_owned(),
            why: "no trusted targets role lists it".into(),
        })
    }

    /// Downloads (or finds already in `target_dir`, hashes matching) the
    /// target, verifying length and hashes; returns the local file.
    ///
    /// The local file name is the target path percent-encoded as a whole
    /// ([`quote`]: `a/b.txt` → `a%2Fb.txt`), so it never leaves
    /// `target_dir`. With consistent snapshots the file is fetched as
    /// `<dir>/<hash>.<basename>`, the hash being the sha256 if listed, else
    /// the sha512, else the first listed; each path segment percent-encoded.
    /// Every listed sha256/sha384/sha512 must match; a target listing only
    /// other algorithms is refused.
    pub fn download_target(
        &self,
        info: &TargetInfo,
        targets: &dyn Fetcher,
        target_dir: &Path,
    ) -> Result<PathBuf, ClientError> {
        let name = quote(&info.path);
        if name.is_empty() || name == "." || name == ".." {
            return Err(ClientError::UnsafeName {
                name: info.path.clone(),
                why: "empty, . or ..",
            });
        }
        if name.len() > MAX_FILE_NAME {
            return Err(ClientError::UnsafeName {
                name: info.path.clone(),
                why: "longer than 255 bytes once percent-encoded",
            });
        }
        let destination = target_dir.join(&name);
        if local_target_matches(&destination, info) {
            return Ok(destination);
        }
        let remote_path = target_url_path(info, self.set.consistent_snapshot());
        let bytes =
            targets
                .fetch(&remote_path, info.length)
                .map_err(|cause| ClientError::Fetch {
                    file: remote_path.clone(),
                    cause,
                })?;
        check_bytes(&bytes, Some(info.length), Some(&info.hashes))
            .map_err(|e| ClientError::from_file(&info.path, "the trusted targets metadata", e))?;
        std::fs::create_dir_all(target_dir).map_err(|e| local(target_dir, "cannot create", e))?;
        metadata_io::write_atomically(&destination, &bytes)
            .map_err(|e| local(&destination, "write", e.into()))?;
        Ok(destination)
    }

    /// Spec 5.3: N+1.root.json while there is one, each verified by the
    /// trusted root's threshold and its own, persisted as soon as trusted.
    /// At most [`ChainLimits::CLIENT`]'s rotations per refresh (python-tuf's
    /// and tuf-js's 256), so a client pinned to an old root updates as
    /// theirs do, while an endless chain still ends.
    fn update_root(
        &mut self,
        remote: &dyn Fetcher,
        now: OffsetDateTime,
    ) -> Result<(), ClientError> {
        let before = self.set.root().signed().clone();
        while self.set.root_rotations_left() > 0 {
            let Some(next) = self.set.root().signed().common.version.checked_add(1) else {
                break;
            };
            let file = format!("{next}.root.json");
            let bytes = match remote.fetch(&file, ROOT_MAX_BYTES) {
                Ok(bytes) => bytes,
                Err(FetchError::NotFound(_)) => break,
                Err(cause) => return Err(ClientError::Fetch { file, cause }),
            };
            self.set.update_root(&file, &bytes)?;
            let path = self.metadata_dir.join("root.json");
            metadata_io::write_atomically(&path, &bytes)
                .map_err(|e| local(&path, "write", e.into()))?;
        }
        let root = self.set.root().signed();
        self.set
            .check_root_expiry(&format!("root.json (v{})", root.common.version), now)?;
        // Spec 5.3.11: new timestamp or snapshot keys make the cached
        // files useless for rollback checks (they may carry versions an
        // attacker fast-forwarded); start those two afresh.
        if role_key_set(&before, "timestamp") != role_key_set(root, "timestamp")
            || role_key_set(&before, "snapshot") != role_key_set(root, "snapshot")
        {
            for name in ["timestamp.json", "snapshot.json"] {
                let path = self.metadata_dir.join(name);
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(local(&path, "cannot remove", e)),
                }
            }
        }
        Ok(())
    }

    /// Spec 5.4. A cached timestamp that verifies under the current root is
    /// kept, expired or not: it is what rollback is checked against.
    fn update_timestamp(
        &mut self,
        remote: &dyn Fetcher,
        now: OffsetDateTime,
    ) -> Result<(), ClientError> {
        if let Some(bytes) = self.read_local("timestamp.json", TIMESTAMP_MAX_BYTES) {
            // A cache that does not verify is no reference: ignored.
            let _ = self
                .set
                .load_cached_timestamp("timestamp.json (cached)", &bytes);
        }
        let file = "timestamp.json";
        let bytes = fetch(remote, file, TIMESTAMP_MAX_BYTES)?;
        if self.set.update_timestamp(file, &bytes, now)?.is_some() {
            self.persist(file, &bytes)?;
        }
        Ok(())
    }

    /// Spec 5.5. A cached snapshot that verifies is the rollback reference;
    /// if it is also the one the timestamp names, and current, it is used
    /// as is.
    fn update_snapshot(
        &mut self,
        remote: &dyn Fetcher,
        now: OffsetDateTime,
    ) -> Result<(), ClientError> {
        let (meta, _) = self.set.snapshot_meta()?;
        let cached = "snapshot.json (cached)";
        if let Some(bytes) = self.read_local("snapshot.json", ANY_MAX_BYTES)
            && self.set.load_cached_snapshot(cached, &bytes).is_ok()
            && self.set.check_snapshot_is_final(cached, now).is_ok()
        {
            return Ok(());
        }
        let file = if self.set.consistent_snapshot() {
            format!("{}.snapshot.json", meta.version)
        } else {
            "snapshot.json".to_owned()
        };
        let cap = meta.length.unwrap_or(SNAPSHOT_MAX_BYTES).min(ANY_MAX_BYTES);
        let bytes = fetch(remote, &file, cap)?;
        self.set.update_snapshot(&file, &bytes, now)?;
        self.persist("snapshot.json", &bytes)
    }

    /// Spec 5.6 (top-level targets, `delegator` None) and 5.7.3 (a
    /// delegated role): from this refresh's memory, the cache or the
    /// remote, whichever first verifies against the delegator given.
    pub(crate) fn load_role(
        &mut self,
        remote: &dyn Fetcher,
        role: &str,
        delegator: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Arc<Metadata<Targets>>, ClientError> {
        let (meta, _) = self.set.role_meta(role, delegator)?;
        // Verified earlier in this refresh (version, hashes, expiry checked
        // then): only who signed it must be checked again, for this delegator.
        if let Some(Ok((known, _))) = self.set.recheck_targets(role, role, delegator) {
            return Ok(known);
        }
        let encoded = quote(role);
        let local_name = format!("{encoded}.json");
        if let Some(bytes) = self.read_local(&local_name, ANY_MAX_BYTES)
            && let Ok((metadata, _)) =
                self.set
                    .update_targets(&local_name, &bytes, role, delegator, now)
        {
            return Ok(metadata);
        }
        let file = if self.set.consistent_snapshot() {
            format!("{}.{encoded}.json", meta.version)
        } else {
            local_name.clone()
        };
        let cap = meta.length.unwrap_or(TARGETS_MAX_BYTES).min(ANY_MAX_BYTES);
        let bytes = fetch(remote, &file, cap)?;
        let (metadata, _) = self
            .set
            .update_targets(&file, &bytes, role, delegator, now)?;
        self.persist(&local_name, &bytes)?;
        Ok(metadata)
    }

    /// The file `name` in the metadata dir, `None` if its name is too long
    /// to be a file name.
    fn local_path(&self, name: &str) -> Option<PathBuf> {
        (name.len() <= MAX_FILE_NAME).then(|| self.metadata_dir.join(name))
    }

    /// A cached file, if present and under `cap`; unreadable means absent.
    fn read_local(&self, name: &str, cap: u64) -> Option<Vec<u8>> {
        let cap = usize::try_from(cap).unwrap_or(usize::MAX - 1);
        metadata_io::read_capped(&self.local_path(name)?, cap).ok()
    }

    fn persist(&self, name: &str, bytes: &[u8]) -> Result<(), ClientError> {
        let Some(path) = self.local_path(name) else {
            // Used for this run, not cached: the name cannot be a file name.
            return Ok(());
        };
        metadata_io::write_atomically(&path, bytes).map_err(|e| local(&path, "write", e.into()))
    }
}

/// The trusted set starting from the root file `path` holds (`bytes`).
fn trusted_set(path: &Path, bytes: &[u8]) -> Result<TrustedSet, ClientError> {
    let root = Metadata::parse_root_existing(bytes).map_err(|e| ClientError::UntrustedRoot {
        path: path.to_path_buf(),
        why: e.to_string(),
    })?;
    let (set, _) = TrustedSet::new(path, root, Freshness::Strict, ChainLimits::CLIENT)?;
    Ok(set)
}

fn load_trusted_set(metadata_dir: &Path) -> Result<TrustedSet, ClientError> {
    let path = metadata_dir.join("root.json");
    let bytes = metadata_io::read_capped(&path, Limits::ROOT.max_bytes).map_err(|e| {
        ClientError::UntrustedRoot {
            path: path.clone(),
            why: e.to_string(),
        }
    })?;
    trusted_set(&path, &bytes)
}

/// The keys (id and key object) of a top-level role, to tell a rotation.
fn role_key_set(root: &Root, role: &str) -> BTreeMap<KeyId, Option<Key>> {
    root.role(role)
        .map(|r| {
            r.keyids
                .iter()
                .map(|id| (id.clone(), root.keys.get(id).cloned()))
                .collect()
        })
        .unwrap_or_default()
}

fn fetch(remote: &dyn Fetcher, file: &str, cap: u64) -> Result<Vec<u8>, ClientError> {
    remote.fetch(file, cap).map_err(|cause| ClientError::Fetch {
        file: file.to_owned(),
        cause,
    })
}

fn local(path: &Path, what: &str, e: io::Error) -> ClientError {
    ClientError::Local {
        path: path.to_path_buf(),
        why: format!("{what}: {e}"),
    }
}
