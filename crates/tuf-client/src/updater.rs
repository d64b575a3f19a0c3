//! The client workflow (TUF spec 5.3–5.7), check for check in the order
//! python-tuf's ngclient applies them (`trusted_metadata_set.py`,
//! `updater.py`), with one deliberate difference: a delegated role is
//! verified against the delegator of the lookup at hand every time it is
//! reached, never trusted because another delegator's keys verified it
//! before (python-tuf and go-tuf keep the first verification).
//!
//! Trusted files live in the metadata directory under unversioned names
//! (`root.json`, `timestamp.json`, `snapshot.json`, `targets.json`,
//! `<percent-encoded role>.json`), each written atomically only after it
//! verified. Cached files are verified again whenever they are loaded: a
//! tampered `root.json` stops the client, a tampered cache of any other
//! role is ignored and fetched anew.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tuf_metadata::rotation::{check_expiry, verify_root_update, verify_trusted_root};
use tuf_metadata::{
    DelegatedRoles, Delegations, Key, KeyId, KeyRing, Limits, MetaFile, Metadata, RoleKeys,
    RoleScope, Root, Signed, Snapshot, Targets, Timestamp,
};

use crate::fetch::{FetchError, Fetcher};
use crate::names::{path_matches, quote, quote_path, sha256_hex};

/// Most new roots accepted in one refresh: python-tuf's and tuf-js's 256,
/// so a client pinned to an old root updates as theirs do, while an
/// endless chain still ends.
pub const MAX_ROOT_ROTATIONS: u32 = 256;
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

/// Why an update or download was refused. Every message is one sentence
/// naming the file (or target) and the reason, for `error:` lines.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A local file or directory could not be read or written.
    #[error("{path}: {why}")]
    Local {
        /// The local path.
        path: PathBuf,
        /// What failed.
        why: String,
    },
    /// The trusted root in the metadata directory is missing, unreadable or
    /// not signed by a threshold of its own root keys (tampered).
    #[error("{path}: the trusted root cannot be used: {why}")]
    UntrustedRoot {
        /// `<metadata dir>/root.json` (or the file given to `init`).
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A remote file could not be fetched.
    #[error("cannot fetch {file}: {cause}")]
    Fetch {
        /// The file asked for (`3.root.json`, `timestamp.json`, a target path).
        file: String,
        /// What the fetcher said.
        cause: FetchError,
    },
    /// The bytes are not valid TUF metadata.
    #[error("{file}: not valid TUF metadata: {why}")]
    Invalid {
        /// The file.
        file: String,
        /// The parser's message.
        why: String,
    },
    /// Valid metadata of the wrong type (a snapshot served as timestamp).
    #[error("{file}: expected {expected} metadata, found {found}")]
    WrongType {
        /// The file.
        file: String,
        /// The type required.
        expected: &'static str,
        /// The type found.
        found: &'static str,
    },
    /// The next root is not a valid successor (version, either threshold).
    #[error("{file}: not trusted as the next root: {why}")]
    RootUpdate {
        /// The file (`N.root.json`).
        file: String,
        /// Why, from `tuf_metadata::rotation`.
        why: String,
    },
    /// Too few distinct keys of the role signed.
    #[error("{file}: threshold of {by} not met: {counted}/{threshold} distinct keys{details}")]
    Threshold {
        /// The file.
        file: String,
        /// Whose keys (`root v3's timestamp role`, `role a's delegation to b`).
        by: String,
        /// Distinct keys whose signatures verified.
        counted: u64,
        /// Required.
        threshold: u64,
        /// Why other signatures did not count (`; key …: …`), maybe empty.
        details: String,
    },
    /// A version went down compared with what the client trusts.
    #[error(
        "{file}: {what} version {found} is below the trusted version {trusted} (rollback refused)"
    )]
    Rollback {
        /// The file.
        file: String,
        /// Whose version (`timestamp`, `snapshot as listed by the timestamp`, `a.json`).
        what: String,
        /// The trusted version.
        trusted: u64,
        /// The version offered.
        found: u64,
    },
    /// A new snapshot no longer lists a role the trusted one lists.
    #[error("{file}: {role} is listed by the trusted snapshot but missing from the new one")]
    RoleDropped {
        /// The snapshot file.
        file: String,
        /// The `<role>.json` entry.
        role: String,
    },
    /// The version differs from the one the referring metadata lists
    /// (mix-and-match).
    #[error("{file}: version {found}, but {by} lists version {expected}")]
    VersionMismatch {
        /// The file.
        file: String,
        /// The version in the file.
        found: u64,
        /// The version listed.
        expected: u64,
        /// Who lists it (`timestamp v5`, `snapshot v7`).
        by: String,
    },
    /// Expired at the time checked (freeze attack, or a stale repository).
    #[error("{file}: expired at {expires} (checked at {at})")]
    Expired {
        /// The file.
        file: String,
        /// The `expires` text.
        expires: String,
        /// The time checked, RFC 3339.
        at: String,
    },
    /// The length differs from the one listed.
    #[error("{file}: {found} bytes, but {by} lists {expected}")]
    LengthMismatch {
        /// The file.
        file: String,
        /// Bytes received.
        found: u64,
        /// Bytes listed.
        expected: u64,
        /// Who lists it.
        by: String,
    },
    /// A hash differs from the one listed.
    #[error("{file}: {alg} {found} differs from the {expected} {by} lists")]
    HashMismatch {
        /// The file.
        file: String,
        /// The algorithm.
        alg: String,
        /// The digest computed.
        found: String,
        /// The digest listed.
        expected: String,
        /// Who lists it.
        by: String,
    },
    /// Hashes are listed, but none in an algorithm this client computes
    /// (sha256, sha384, sha512): nothing could be checked.
    #[error("{file}: {by} lists no sha256, sha384 or sha512 hash to check it by")]
    NoKnownHash {
        /// The file.
        file: String,
        /// Who lists the hashes.
        by: String,
    },
    /// Metadata the workflow needs is not listed where it must be.
    #[error("{by} does not list {file}")]
    NotListed {
        /// The missing entry (`targets.json`, `a.json`).
        file: String,
        /// Who should list it.
        by: String,
    },
    /// No trusted targets role lists the target.
    #[error("target {path}: {why}")]
    TargetNotFound {
        /// The target path searched for.
        path: String,
        /// Why the search ended without it.
        why: String,
    },
    /// A name cannot be made into a safe local file name.
    #[error("{name:?}: cannot be used as a local file name: {why}")]
    UnsafeName {
        /// The target path or role name.
        name: String,
        /// Why.
        why: &'static str,
    },
}

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

/// Whose keys must sign a file, and how to name them in messages.
struct Authority {
    keys: BTreeMap<KeyId, Key>,
    role: RoleKeys,
    name: String,
}

impl Authority {
    fn require<T>(&self, file: &str, metadata: &Metadata<T>) -> Result<(), ClientError> {
        let report = KeyRing::new(&self.keys).check(
            &self.role,
            metadata.signed_bytes(),
            metadata.signatures(),
        );
        if report.is_met() {
            return Ok(());
        }
        let details: String = report
            .rejections()
            .iter()
            .map(|r| format!("; {r}"))
            .collect();
        Err(ClientError::Threshold {
            file: file.to_owned(),
            by: self.name.clone(),
            counted: report.counted(),
            threshold: report.threshold,
            details,
        })
    }
}

/// A client with its trusted metadata kept in a directory.
///
/// One refresh ([`Updater::refresh`]) brings root, timestamp, snapshot and
/// top-level targets up to date; [`Updater::find_target`] then walks the
/// delegations (refreshing first if that has not happened yet), and
/// [`Updater::download_target`] fetches and checks the file.
pub struct Updater {
    metadata_dir: PathBuf,
    root: Metadata<Root>,
    timestamp: Option<Timestamp>,
    snapshot: Option<Snapshot>,
    /// Targets roles verified during this refresh, by role name. Reaching
    /// one again re-checks its signatures against the delegator at hand.
    roles: BTreeMap<String, Arc<Metadata<Targets>>>,
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
        let untrusted = |why: String| ClientError::UntrustedRoot {
            path: path.clone(),
            why,
        };
        if trusted_root.len() as u64 > ROOT_MAX_BYTES {
            return Err(untrusted(format!(
                "longer than the {ROOT_MAX_BYTES} bytes allowed for a root"
            )));
        }
        let root = Metadata::parse_root(trusted_root).map_err(|e| untrusted(e.to_string()))?;
        verify_trusted_root(&root).map_err(|e| untrusted(e.to_string()))?;
        std::fs::create_dir_all(metadata_dir)
            .map_err(|e| local(metadata_dir, "cannot create", e))?;
        metadata_io::write_atomically(&path, trusted_root)
            .map_err(|e| local(&path, "cannot write", e))
    }

    /// Opens a client whose metadata dir was initialised.
    ///
    /// `root.json` there is verified again (its own root threshold): a
    /// tampered trusted root is refused, never trusted.
    pub fn open(metadata_dir: &Path) -> Result<Updater, ClientError> {
        Ok(Updater {
            root: load_trusted_root(metadata_dir)?,
            metadata_dir: metadata_dir.to_path_buf(),
            timestamp: None,
            snapshot: None,
            roles: BTreeMap::new(),
            refreshed: false,
        })
    }

    /// The trusted root: after a refresh, the newest one the chain reached.
    pub fn trusted_root(&self) -> &Metadata<Root> {
        &self.root
    }

    /// The trusted timestamp, once a refresh got that far.
    pub fn trusted_timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref()
    }

    /// The trusted snapshot, once a refresh got that far.
    pub fn trusted_snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
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
        self.root = load_trusted_root(&self.metadata_dir)?;
        self.timestamp = None;
        self.snapshot = None;
        self.roles.clear();
        self.refreshed = false;
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
    /// (succinct hash bins always do, TAP 15). Each delegated role is
    /// verified against the keys and threshold of the role delegating to it
    /// on this path, even if it was verified through another delegator
    /// before.
    pub fn find_target(
        &mut self,
        remote: &dyn Fetcher,
        path: &str,
        now: OffsetDateTime,
    ) -> Result<TargetInfo, ClientError> {
        if !self.refreshed {
            self.refresh(remote, now)?;
        }
        // (role, the role delegating to it; None for the top-level targets)
        let mut to_visit: Vec<(String, Option<String>)> = vec![("targets".into(), None)];
        let mut visited = BTreeSet::new();
        while let Some((role, delegator)) = to_visit.pop() {
            if visited.contains(&role) {
                continue;
            }
            if visited.len() >= MAX_DELEGATIONS {
                return Err(ClientError::TargetNotFound {
                    path: path.to_owned(),
                    why: format!("not found within the first {MAX_DELEGATIONS} roles searched"),
                });
            }
            let metadata = self.load_role(remote, &role, delegator.as_deref(), now)?;
            if let Some(file) = metadata.signed().targets.get(path) {
                return Ok(TargetInfo {
                    path: path.to_owned(),
                    length: file.length,
                    hashes: file.hashes.clone(),
                });
            }
            visited.insert(role.clone());
            if let Some(delegations) = &metadata.signed().delegations {
                let mut children = Vec::new();
                for (child, terminating) in roles_for_target(delegations, path) {
                    children.push((child, Some(role.clone())));
                    if terminating {
                        to_visit.clear();
                        break;
                    }
                }
                to_visit.extend(children.into_iter().rev());
            }
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
        let consistent = self.root.signed().consistent_snapshot == Some(true);
        let remote_path = target_url_path(info, consistent);
        let bytes =
            targets
                .fetch(&remote_path, info.length)
                .map_err(|cause| ClientError::Fetch {
                    file: remote_path.clone(),
                    cause,
                })?;
        let by = "the trusted targets metadata";
        check_length_and_hashes(
            &info.path,
            &bytes,
            Some(info.length),
            Some(&info.hashes),
            by,
        )?;
        std::fs::create_dir_all(target_dir).map_err(|e| local(target_dir, "cannot create", e))?;
        metadata_io::write_atomically(&destination, &bytes)
            .map_err(|e| local(&destination, "cannot write", e))?;
        Ok(destination)
    }

    /// Spec 5.3: N+1.root.json while there is one, each verified by the
    /// trusted root's threshold and its own, persisted as soon as trusted.
    fn update_root(
        &mut self,
        remote: &dyn Fetcher,
        now: OffsetDateTime,
    ) -> Result<(), ClientError> {
        let before = self.root.signed().clone();
        for _ in 0..MAX_ROOT_ROTATIONS {
            let Some(next) = self.root.signed().common.version.checked_add(1) else {
                break;
            };
            let file = format!("{next}.root.json");
            let bytes = match remote.fetch(&file, ROOT_MAX_BYTES) {
                Ok(bytes) => bytes,
                Err(FetchError::NotFound(_)) => break,
                Err(cause) => return Err(ClientError::Fetch { file, cause }),
            };
            let metadata = parse(&file, &bytes, &Limits::ROOT)?;
            let update = verify_root_update(&self.root, metadata, None).map_err(|e| {
                ClientError::RootUpdate {
                    file: file.clone(),
                    why: e.to_string(),
                }
            })?;
            let path = self.metadata_dir.join("root.json");
            metadata_io::write_atomically(&path, &bytes)
                .map_err(|e| local(&path, "cannot write", e))?;
            self.root = update.root;
        }
        let root = self.root.signed();
        check_expiry(root, now).map_err(|_| ClientError::Expired {
            file: format!("root.json (v{})", root.common.version),
            expires: root.common.expires.as_str().to_owned(),
            at: rfc3339(now),
        })?;
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

    fn top_level_authority(&self, role: &str) -> Result<Authority, ClientError> {
        let root = self.root.signed();
        let keys = root.role(role).ok_or_else(|| ClientError::NotListed {
            file: format!("the {role} role"),
            by: format!("root v{}", root.common.version),
        })?;
        Ok(Authority {
            keys: root.keys.clone(),
            role: keys.clone(),
            name: format!("root v{}'s {role} role", root.common.version),
        })
    }

    /// Spec 5.4.
    fn update_timestamp(
        &mut self,
        remote: &dyn Fetcher,
        now: OffsetDateTime,
    ) -> Result<(), ClientError> {
        let authority = self.top_level_authority("timestamp")?;
        let verify = |file: &str, bytes: &[u8]| -> Result<Timestamp, ClientError> {
            let metadata = parse(file, bytes, &Limits::ANY)?;
            authority.require(file, &metadata)?;
            match metadata.signed() {
                Signed::Timestamp(t) => Ok(t.clone()),
                other => Err(wrong_type(file, Timestamp::TYPE, other)),
            }
        };
        // A cached timestamp that verifies under the current root is kept,
        // expired or not: it is what rollback is checked against.
        self.timestamp = self
            .read_local("timestamp.json", TIMESTAMP_MAX_BYTES)
            .and_then(|bytes| verify("timestamp.json (cached)", &bytes).ok());
        let file = "timestamp.json";
        let bytes = fetch(remote, file, TIMESTAMP_MAX_BYTES)?;
        let new = verify(file, &bytes)?;
        if let Some(old) = &self.timestamp {
            if new.common.version < old.common.version {
                return Err(ClientError::Rollback {
                    file: file.into(),
                    what: "timestamp".into(),
                    trusted: old.common.version,
                    found: new.common.version,
                });
            }
            if new.common.version == old.common.version {
                // Keep the trusted one; it must still be current (freeze).
                return check_not_expired(file, &old.common.expires, now);
            }
            if new.snapshot.version < old.snapshot.version {
                return Err(ClientError::Rollback {
                    file: file.into(),
                    what: "snapshot (as the timestamp lists it)".into(),
                    trusted: old.snapshot.version,
                    found: new.snapshot.version,
                });
            }
        }
        check_not_expired(file, &new.common.expires, now)?;
        self.persist(file, &bytes)?;
        self.timestamp = Some(new);
        Ok(())
    }

    /// Spec 5.5.
    fn update_snapshot(
        &mut self,
        remote: &dyn Fetcher,
        now: OffsetDateTime,
    ) -> Result<(), ClientError> {
        let Some(timestamp) = self.timestamp.clone() else {
            return Err(ClientError::NotListed {
                file: "snapshot.json".into(),
                by: "no trusted timestamp".into(),
            });
        };
        let meta = &timestamp.snapshot;
        let listed_by = format!("timestamp v{}", timestamp.common.version);
        let authority = self.top_level_authority("snapshot")?;
        let verify = |file: &str, bytes: &[u8]| -> Result<Snapshot, ClientError> {
            let metadata = parse(file, bytes, &Limits::ANY)?;
            authority.require(file, &metadata)?;
            match metadata.signed() {
                Signed::Snapshot(s) => Ok(s.clone()),
                other => Err(wrong_type(file, Snapshot::TYPE, other)),
            }
        };
        let is_final = |file: &str, snapshot: &Snapshot| -> Result<(), ClientError> {
            check_not_expired(file, &snapshot.common.expires, now)?;
            if snapshot.common.version != meta.version {
                return Err(ClientError::VersionMismatch {
                    file: file.to_owned(),
                    found: snapshot.common.version,
                    expected: meta.version,
                    by: listed_by.clone(),
                });
            }
            Ok(())
        };
        // A cached snapshot that verifies is the rollback reference; if it
        // is also the one the timestamp names, and current, it is used as is.
        self.snapshot = self
            .read_local("snapshot.json", ANY_MAX_BYTES)
            .and_then(|bytes| verify("snapshot.json (cached)", &bytes).ok());
        if let Some(cached) = &self.snapshot
            && is_final("snapshot.json (cached)", cached).is_ok()
        {
            return Ok(());
        }
        let file = if self.root.signed().consistent_snapshot == Some(true) {
            format!("{}.snapshot.json", meta.version)
        } else {
            "snapshot.json".to_owned()
        };
        let cap = meta.length.unwrap_or(SNAPSHOT_MAX_BYTES).min(ANY_MAX_BYTES);
        let bytes = fetch(remote, &file, cap)?;
        check_length_and_hashes(&file, &bytes, meta.length, meta.hashes.as_ref(), &listed_by)?;
        let new = verify(&file, &bytes)?;
        if let Some(old) = &self.snapshot {
            for (name, old_meta) in &old.meta {
                let Some(new_meta) = new.meta.get(name) else {
                    return Err(ClientError::RoleDropped {
                        file,
                        role: name.clone(),
                    });
                };
                if new_meta.version < old_meta.version {
                    return Err(ClientError::Rollback {
                        file,
                        what: name.clone(),
                        trusted: old_meta.version,
                        found: new_meta.version,
                    });
                }
            }
        }
        is_final(&file, &new)?;
        self.persist("snapshot.json", &bytes)?;
        self.snapshot = Some(new);
        Ok(())
    }

    /// Spec 5.6 (top-level targets, `delegator` None) and 5.7.3 (a
    /// delegated role): from this refresh's memory, the cache or the
    /// remote, whichever first verifies against the delegator given.
    fn load_role(
        &mut self,
        remote: &dyn Fetcher,
        role: &str,
        delegator: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Arc<Metadata<Targets>>, ClientError> {
        let authority = match delegator {
            None => self.top_level_authority("targets")?,
            Some(delegator) => self.delegated_authority(delegator, role)?,
        };
        let snapshot = self
            .snapshot
            .as_ref()
            .ok_or_else(|| ClientError::NotListed {
                file: format!("{role}.json"),
                by: "no trusted snapshot".into(),
            })?;
        let listed_by = format!("snapshot v{}", snapshot.common.version);
        let meta = snapshot
            .meta
            .get(&format!("{role}.json"))
            .cloned()
            .ok_or_else(|| ClientError::NotListed {
                file: format!("{role}.json"),
                by: listed_by.clone(),
            })?;
        // Verified earlier in this refresh (version, hashes, expiry checked
        // then): only who signed it must be checked again, for this delegator.
        if let Some(known) = self.roles.get(role)
            && authority.require(role, known).is_ok()
        {
            return Ok(known.clone());
        }
        let encoded = quote(role);
        let local_name = format!("{encoded}.json");
        let cached = self
            .read_local(&local_name, ANY_MAX_BYTES)
            .and_then(|bytes| {
                verify_targets(&local_name, &bytes, &meta, &listed_by, &authority, now).ok()
            });
        let metadata = match cached {
            Some(metadata) => metadata,
            None => {
                let file = if self.root.signed().consistent_snapshot == Some(true) {
                    format!("{}.{encoded}.json", meta.version)
                } else {
                    local_name.clone()
                };
                let cap = meta.length.unwrap_or(TARGETS_MAX_BYTES).min(ANY_MAX_BYTES);
                let bytes = fetch(remote, &file, cap)?;
                let metadata = verify_targets(&file, &bytes, &meta, &listed_by, &authority, now)?;
                self.persist(&local_name, &bytes)?;
                metadata
            }
        };
        let metadata = Arc::new(metadata);
        self.roles.insert(role.to_owned(), metadata.clone());
        Ok(metadata)
    }

    fn delegated_authority(&self, delegator: &str, role: &str) -> Result<Authority, ClientError> {
        let not_delegated = || ClientError::NotListed {
            file: role.to_owned(),
            by: format!("the delegations of {delegator}"),
        };
        let metadata = self.roles.get(delegator).ok_or_else(not_delegated)?;
        let delegations = metadata
            .signed()
            .delegations
            .as_ref()
            .ok_or_else(not_delegated)?;
        let keys = delegations.role_keys(role).ok_or_else(not_delegated)?;
        Ok(Authority {
            keys: delegations.keys.clone(),
            role: keys.clone(),
            name: format!("{delegator}'s delegation to {role}"),
        })
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
        metadata_io::write_atomically(&path, bytes).map_err(|e| local(&path, "cannot write", e))
    }
}

/// Spec 5.6.2–5.6.5 / 5.7.3: length and hashes as the snapshot lists
/// them, type, threshold, version, expiry.
fn verify_targets(
    file: &str,
    bytes: &[u8],
    meta: &MetaFile,
    listed_by: &str,
    authority: &Authority,
    now: OffsetDateTime,
) -> Result<Metadata<Targets>, ClientError> {
    check_length_and_hashes(file, bytes, meta.length, meta.hashes.as_ref(), listed_by)?;
    let metadata = parse(file, bytes, &Limits::ANY)?;
    let found = metadata.signed().type_name();
    let metadata = metadata
        .into_targets()
        .map_err(|_| ClientError::WrongType {
            file: file.to_owned(),
            expected: Targets::TYPE,
            found,
        })?;
    authority.require(file, &metadata)?;
    let common = &metadata.signed().common;
    if common.version != meta.version {
        return Err(ClientError::VersionMismatch {
            file: file.to_owned(),
            found: common.version,
            expected: meta.version,
            by: listed_by.to_owned(),
        });
    }
    check_not_expired(file, &common.expires, now)?;
    Ok(metadata)
}

/// The roles of `delegations` trusted for `path`, in order, with whether
/// each is terminating.
fn roles_for_target(delegations: &Delegations, path: &str) -> Vec<(String, bool)> {
    match &delegations.roles {
        DelegatedRoles::Listed(roles) => {
            let mut path_hash = None;
            roles
                .iter()
                .filter(|role| match &role.scope {
                    RoleScope::Paths(patterns) => patterns.iter().any(|p| path_matches(p, path)),
                    RoleScope::HashPrefixes(prefixes) => {
                        let hash = path_hash.get_or_insert_with(|| sha256_hex(path.as_bytes()));
                        prefixes.iter().any(|p| hash.starts_with(p.as_str()))
                    }
                })
                .map(|role| (role.name.clone(), role.terminating))
                .collect()
        }
        // TAP 15: exactly one bin is responsible, and it is terminating.
        DelegatedRoles::Succinct(bins) => vec![(bins.bin_for_target(path), true)],
    }
}

/// The path a target is fetched under, relative to the targets base.
fn target_url_path(info: &TargetInfo, consistent: bool) -> String {
    let (dir, base) = match info.path.rsplit_once('/') {
        Some((dir, base)) => (Some(dir), base),
        None => (None, info.path.as_str()),
    };
    let base = if consistent {
        let hash = ["sha256", "sha512"]
            .iter()
            .find_map(|alg| info.hashes.get(*alg))
            .or_else(|| info.hashes.values().next());
        match hash {
            Some(hash) => format!("{hash}.{base}"),
            None => base.to_owned(),
        }
    } else {
        base.to_owned()
    };
    match dir {
        Some(dir) => quote_path(&format!("{dir}/{base}")),
        None => quote_path(&base),
    }
}

fn digest_algorithm(name: &str) -> Option<&'static ring::digest::Algorithm> {
    match name {
        "sha256" => Some(&ring::digest::SHA256),
        "sha384" => Some(&ring::digest::SHA384),
        "sha512" => Some(&ring::digest::SHA512),
        _ => None,
    }
}

/// Checks `length` and every listed hash this client can compute; hashes
/// listed only in unknown algorithms check nothing and are refused.
fn check_length_and_hashes(
    file: &str,
    bytes: &[u8],
    length: Option<u64>,
    hashes: Option<&BTreeMap<String, String>>,
    by: &str,
) -> Result<(), ClientError> {
    if let Some(expected) = length
        && bytes.len() as u64 != expected
    {
        return Err(ClientError::LengthMismatch {
            file: file.to_owned(),
            found: bytes.len() as u64,
            expected,
            by: by.to_owned(),
        });
    }
    let Some(hashes) = hashes else {
        return Ok(());
    };
    let mut checked = 0;
    for (alg, expected) in hashes {
        let Some(algorithm) = digest_algorithm(alg) else {
            continue;
        };
        let found = hex::encode(ring::digest::digest(algorithm, bytes));
        if found != *expected {
            return Err(ClientError::HashMismatch {
                file: file.to_owned(),
                alg: alg.clone(),
                found,
                expected: expected.clone(),
                by: by.to_owned(),
            });
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(ClientError::NoKnownHash {
            file: file.to_owned(),
            by: by.to_owned(),
        });
    }
    Ok(())
}

/// True if `path` is a regular file of the listed length whose listed
/// (known) hashes all match, read as a stream.
fn local_target_matches(path: &Path, info: &TargetInfo) -> bool {
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    match file.metadata() {
        Ok(m) if m.is_file() && m.len() == info.length => {}
        _ => return false,
    }
    let mut contexts: Vec<(&String, ring::digest::Context)> = info
        .hashes
        .iter()
        .filter_map(|(alg, digest)| {
            Some((digest, ring::digest::Context::new(digest_algorithm(alg)?)))
        })
        .collect();
    if contexts.is_empty() {
        return false;
    }
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                total += n as u64;
                if total > info.length {
                    return false;
                }
                for (_, context) in &mut contexts {
                    context.update(&buffer[..n]);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    total == info.length
        && contexts
            .into_iter()
            .all(|(expected, context)| hex::encode(context.finish()) == *expected)
}

fn load_trusted_root(metadata_dir: &Path) -> Result<Metadata<Root>, ClientError> {
    let path = metadata_dir.join("root.json");
    let untrusted = |why: String| ClientError::UntrustedRoot {
        path: path.clone(),
        why,
    };
    let bytes = metadata_io::read_capped(&path, Limits::ROOT.max_bytes)
        .map_err(|e| untrusted(e.to_string()))?;
    let root = Metadata::parse_root(&bytes).map_err(|e| untrusted(e.to_string()))?;
    verify_trusted_root(&root).map_err(|e| untrusted(e.to_string()))?;
    Ok(root)
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

fn parse(file: &str, bytes: &[u8], limits: &Limits) -> Result<Metadata<Signed>, ClientError> {
    Metadata::parse(bytes, limits).map_err(|e| ClientError::Invalid {
        file: file.to_owned(),
        why: e.to_string(),
    })
}

fn fetch(remote: &dyn Fetcher, file: &str, cap: u64) -> Result<Vec<u8>, ClientError> {
    remote.fetch(file, cap).map_err(|cause| ClientError::Fetch {
        file: file.to_owned(),
        cause,
    })
}

fn wrong_type(file: &str, expected: &'static str, found: &Signed) -> ClientError {
    ClientError::WrongType {
        file: file.to_owned(),
        expected,
        found: found.type_name(),
    }
}

fn check_not_expired(
    file: &str,
    expires: &tuf_metadata::Expires,
    now: OffsetDateTime,
) -> Result<(), ClientError> {
    if expires.is_expired_at(now) {
        return Err(ClientError::Expired {
            file: file.to_owned(),
            expires: expires.as_str().to_owned(),
            at: rfc3339(now),
        });
    }
    Ok(())
}

fn rfc3339(now: OffsetDateTime) -> String {
    now.format(&Rfc3339).unwrap_or_else(|_| now.to_string())
}

fn local(path: &Path, what: &str, e: io::Error) -> ClientError {
    ClientError::Local {
        path: path.to_path_buf(),
        why: format!("{what}: {e}"),
    }
}
