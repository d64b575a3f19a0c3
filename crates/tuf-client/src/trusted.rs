//! The trusted metadata of one client run (TUF spec 5.3–5.7) as a pure
//! state machine: bytes in, trusted state out, like python-tuf's
//! `TrustedMetadataSet`. No files, no network, no clock: [`crate::Updater`]
//! fetches and caches, `tuf-repo verify` reads a local directory, and both
//! hand the bytes here, so a repository is judged by one set of rules.
//!
//! Each `update_*` checks, in python-tuf's order: length and hashes as the
//! referring metadata lists them, strict parsing and type, a threshold of
//! distinct keys of whoever delegates the role, rollback against what is
//! trusted, the version the referring metadata lists, and expiry at the
//! time given. Nothing is trusted until every check passed, except that an
//! expired timestamp or snapshot is kept under
//! [`Freshness::OnlineMayHaveExpired`].
//!
//! A delegated role is verified against the delegator of the lookup at hand
//! every time it is reached ([`TrustedSet::recheck_targets`]), never
//! trusted because another delegator's keys verified it before.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tuf_metadata::{
    ChainError, ChainLimits, Expires, Key, KeyId, KeyRing, Limits, MetaFile, Metadata, RoleKeys,
    Root, RootChain, RootStep, Signed, Snapshot, Targets, ThresholdReport, Timestamp,
};

use crate::error::ClientError;

/// How expiry of the online roles (timestamp, snapshot) is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Every role must be unexpired (a client; `tuf-repo verify`).
    Strict,
    /// An expired timestamp or snapshot is trusted and reported
    /// ([`Accepted::expired`]) rather than refused: `tuf-repo import` reads
    /// repositories whose online roles it signs anew. Root, targets and
    /// delegated roles must still be unexpired.
    OnlineMayHaveExpired,
}

/// What an accepted timestamp, snapshot or targets role was signed by.
#[derive(Clone, Debug)]
pub struct Accepted {
    /// The threshold of distinct keys that verified it.
    pub report: ThresholdReport,
    /// True if it has expired and was kept only because of
    /// [`Freshness::OnlineMayHaveExpired`].
    pub expired: bool,
}

/// A targets role now trusted, and the threshold of keys that signed it.
pub type TrustedTargets = (Arc<Metadata<Targets>>, ThresholdReport);

/// The metadata trusted so far in one run, and the rules to extend it.
pub struct TrustedSet {
    chain: RootChain,
    timestamp: Option<Timestamp>,
    snapshot: Option<Snapshot>,
    roles: BTreeMap<String, Arc<Metadata<Targets>>>,
    freshness: Freshness,
}

/// Whose keys must sign a file, and how to name them in messages.
struct Authority {
    keys: BTreeMap<KeyId, Key>,
    role: RoleKeys,
    name: String,
}

impl Authority {
    fn require<T>(
        &self,
        file: &str,
        metadata: &Metadata<T>,
    ) -> Result<ThresholdReport, ClientError> {
        let report = KeyRing::new(&self.keys).check(
            &self.role,
            metadata.signed_bytes(),
            metadata.signatures(),
        );
        if report.is_met() {
            return Ok(report);
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

impl TrustedSet {
    /// Starts from `root`, read from `path` (the pinned or cached trusted
    /// root): trusted if signed by a threshold of its own root keys. Its
    /// expiry is not checked here: an expired pinned root can still rotate
    /// to a current one (spec 5.3.10 checks only the final root).
    ///
    /// `limits` caps the root chain walked from it: [`ChainLimits::CLIENT`]
    /// for roots fetched from a remote, [`ChainLimits::EXISTING`] for a
    /// repository directory read in full. Every other file is read as
    /// existing metadata ([`tuf_metadata::ReadMode::Existing`]).
    pub fn new(
        path: &Path,
        root: Metadata<Root>,
        freshness: Freshness,
        limits: ChainLimits,
    ) -> Result<(TrustedSet, ThresholdReport), ClientError> {
        let (chain, report) =
            RootChain::from_trusted(root, limits).map_err(|e| ClientError::UntrustedRoot {
                path: path.to_path_buf(),
                why: e.to_string(),
            })?;
        let set = TrustedSet {
            chain,
            timestamp: None,
            snapshot: None,
            roles: BTreeMap::new(),
            freshness,
        };
        Ok((set, report))
    }

    /// The trusted root: the newest one the chain reached so far.
    pub fn root(&self) -> &Metadata<Root> {
        self.chain.trusted()
    }

    /// How many more roots this set may still accept ([`ChainLimits`]): a
    /// client stops fetching `N+1.root.json` at 0.
    pub fn root_rotations_left(&self) -> u64 {
        self.chain.remaining()
    }

    /// True if the trusted root asks for consistent snapshots (versioned
    /// metadata file names, hash-prefixed target names).
    pub fn consistent_snapshot(&self) -> bool {
        self.root().signed().consistent_snapshot == Some(true)
    }

    /// The trusted timestamp, once one was accepted.
    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref()
    }

    /// The trusted snapshot, once one was accepted.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// A targets role trusted in this run (through some delegator).
    pub fn targets(&self, role: &str) -> Option<&Arc<Metadata<Targets>>> {
        self.roles.get(role)
    }

    /// Spec 5.3.4–5.3.8, one step of the root chain ([`RootChain`]):
    /// `bytes` (the file `file`) becomes the trusted root if it is root N+1
    /// signed by a threshold of root N's root keys and of its own, within
    /// the set's [`ChainLimits`]. Its expiry is checked once the chain ends
    /// ([`TrustedSet::check_root_expiry`]).
    ///
    /// Trusted timestamp, snapshot and targets are dropped: they were
    /// verified with the old root's keys.
    pub fn update_root(&mut self, file: &str, bytes: &[u8]) -> Result<RootStep, ClientError> {
        let step = self.chain.advance_bytes(bytes).map_err(|e| match e {
            ChainError::Parse(e) => ClientError::Invalid {
                file: file.to_owned(),
                why: e.to_string(),
            },
            ChainError::Verify(e) => ClientError::RootUpdate {
                file: file.to_owned(),
                why: e.to_string(),
            },
        })?;
        self.timestamp = None;
        self.snapshot = None;
        self.roles.clear();
        Ok(step)
    }

    /// Spec 5.3.10: the final root must be unexpired at `now`. `file`
    /// names it in the error.
    pub fn check_root_expiry(&self, file: &str, now: OffsetDateTime) -> Result<(), ClientError> {
        self.chain
            .check_expiry(now)
            .map_err(|_| expired(file, &self.root().signed().common.expires, now))
    }

    /// A timestamp kept from an earlier run: trusted as the reference for
    /// rollback checks if the current root's timestamp keys signed it,
    /// expired or not (spec 5.4.3 compares with it).
    pub fn load_cached_timestamp(&mut self, file: &str, bytes: &[u8]) -> Result<(), ClientError> {
        let (timestamp, _) = self.verify_timestamp(file, bytes)?;
        self.timestamp = Some(timestamp);
        Ok(())
    }

    /// Spec 5.4: a new timestamp. Refused if its version, or the snapshot
    /// version it lists, is below the trusted one's (rollback). The same
    /// version as the trusted one keeps the trusted one, which must still
    /// be unexpired (freeze); `Ok(None)` says nothing new was trusted.
    pub fn update_timestamp(
        &mut self,
        file: &str,
        bytes: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<Accepted>, ClientError> {
        let (new, report) = self.verify_timestamp(file, bytes)?;
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
                self.online_fresh(file, &old.common.expires, now)?;
                return Ok(None);
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
        let expired = self.online_fresh(file, &new.common.expires, now)?;
        self.timestamp = Some(new);
        Ok(Some(Accepted { report, expired }))
    }

    /// A snapshot kept from an earlier run: trusted as the reference for
    /// rollback checks if the current root's snapshot keys signed it.
    /// Whether it is also the one to use is
    /// [`TrustedSet::check_snapshot_is_final`].
    pub fn load_cached_snapshot(&mut self, file: &str, bytes: &[u8]) -> Result<(), ClientError> {
        let (snapshot, _) = self.verify_snapshot(file, bytes)?;
        self.snapshot = Some(snapshot);
        Ok(())
    }

    /// True (`Ok`) if the trusted snapshot is current and the version the
    /// trusted timestamp lists (spec 5.5.6, 5.5.7).
    pub fn check_snapshot_is_final(
        &self,
        file: &str,
        now: OffsetDateTime,
    ) -> Result<(), ClientError> {
        let snapshot = self
            .snapshot
            .as_ref()
            .ok_or_else(|| ClientError::NotListed {
                file: "snapshot.json".into(),
                by: "no trusted snapshot".into(),
            })?;
        let (meta, listed_by) = self.snapshot_meta()?;
        check_not_expired(file, &snapshot.common.expires, now)?;
        version_is(file, snapshot.common.version, meta.version, &listed_by)
    }

    /// The snapshot entry of the trusted timestamp, and who lists it.
    pub fn snapshot_meta(&self) -> Result<(MetaFile, String), ClientError> {
        let timestamp = self
            .timestamp
            .as_ref()
            .ok_or_else(|| ClientError::NotListed {
                file: "snapshot.json".into(),
                by: "no trusted timestamp".into(),
            })?;
        let listed_by = format!("timestamp v{}", timestamp.common.version);
        Ok((timestamp.snapshot.clone(), listed_by))
    }

    /// Spec 5.5: a new snapshot: length and hashes as the timestamp lists
    /// them, the snapshot keys' threshold, no role the trusted snapshot
    /// lists dropped or with a lower version (rollback), unexpired, and
    /// the version the timestamp lists.
    pub fn update_snapshot(
        &mut self,
        file: &str,
        bytes: &[u8],
        now: OffsetDateTime,
    ) -> Result<Accepted, ClientError> {
        let (meta, listed_by) = self.snapshot_meta()?;
        meta.check(bytes)
            .map_err(|e| ClientError::from_file(file, &listed_by, e))?;
        let (new, report) = self.verify_snapshot(file, bytes)?;
        if let Some(old) = &self.snapshot {
            for (name, old_meta) in &old.meta {
                let Some(new_meta) = new.meta.get(name) else {
                    return Err(ClientError::RoleDropped {
                        file: file.to_owned(),
                        role: name.clone(),
                    });
                };
                if new_meta.version < old_meta.version {
                    return Err(ClientError::Rollback {
                        file: file.to_owned(),
                        what: name.clone(),
                        trusted: old_meta.version,
                        found: new_meta.version,
                    });
                }
            }
        }
        // Expiry is reported before a wrong version, as the spec orders them.
        let fresh = self.online_fresh(file, &new.common.expires, now);
        let version = version_is(file, new.common.version, meta.version, &listed_by);
        let expired = match (fresh, version) {
            (Err(e), _) | (Ok(_), Err(e)) => return Err(e),
            (Ok(expired), Ok(())) => expired,
        };
        self.snapshot = Some(new);
        self.roles.clear();
        Ok(Accepted { report, expired })
    }

    /// The trusted snapshot's entry for targets role `role`, and who lists
    /// it; refused first if `delegator` (`None`: root) does not delegate
    /// `role` in this run.
    pub fn role_meta(
        &self,
        role: &str,
        delegator: Option<&str>,
    ) -> Result<(MetaFile, String), ClientError> {
        self.authority_for(role, delegator)?;
        self.listed(role)
    }

    fn listed(&self, role: &str) -> Result<(MetaFile, String), ClientError> {
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
        Ok((meta, listed_by))
    }

    /// A role trusted earlier in this run, checked again against the keys
    /// and threshold `delegator` gives it (`None`: the top-level targets,
    /// root's targets keys); `None` if it was not trusted yet. Version,
    /// hashes and expiry were checked when it was first trusted.
    pub fn recheck_targets(
        &self,
        file: &str,
        role: &str,
        delegator: Option<&str>,
    ) -> Option<Result<TrustedTargets, ClientError>> {
        let known = self.roles.get(role)?;
        Some(
            self.authority_for(role, delegator)
                .and_then(|authority| authority.require(file, known))
                .map(|report| (known.clone(), report)),
        )
    }

    /// Spec 5.6 (`delegator` None: the top-level targets) and 5.7.3 (a role
    /// `delegator`, itself trusted in this run, delegates to): length and
    /// hashes as the snapshot lists them, type, the delegator's threshold
    /// for it, the version the snapshot lists, and expiry at `now`.
    pub fn update_targets(
        &mut self,
        file: &str,
        bytes: &[u8],
        role: &str,
        delegator: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<TrustedTargets, ClientError> {
        let authority = self.authority_for(role, delegator)?;
        let (meta, listed_by) = self.listed(role)?;
        meta.check(bytes)
            .map_err(|e| ClientError::from_file(file, &listed_by, e))?;
        let metadata = parse(file, bytes, &Limits::EXISTING_ANY)?;
        let found = metadata.signed().type_name();
        let metadata = metadata
            .into_targets()
            .map_err(|_| ClientError::WrongType {
                file: file.to_owned(),
                expected: Targets::TYPE,
                found,
            })?;
        let report = authority.require(file, &metadata)?;
        let common = &metadata.signed().common;
        version_is(file, common.version, meta.version, &listed_by)?;
        check_not_expired(file, &common.expires, now)?;
        let metadata = Arc::new(metadata);
        self.roles.insert(role.to_owned(), metadata.clone());
        Ok((metadata, report))
    }

    fn verify_timestamp(
        &self,
        file: &str,
        bytes: &[u8],
    ) -> Result<(Timestamp, ThresholdReport), ClientError> {
        let authority = self.top_level_authority("timestamp")?;
        let metadata = parse(file, bytes, &Limits::EXISTING_ANY)?;
        let report = authority.require(file, &metadata)?;
        match metadata.signed() {
            Signed::Timestamp(t) => Ok((t.clone(), report)),
            other => Err(wrong_type(file, Timestamp::TYPE, other)),
        }
    }

    fn verify_snapshot(
        &self,
        file: &str,
        bytes: &[u8],
    ) -> Result<(Snapshot, ThresholdReport), ClientError> {
        let authority = self.top_level_authority("snapshot")?;
        let metadata = parse(file, bytes, &Limits::EXISTING_ANY)?;
        let report = authority.require(file, &metadata)?;
        match metadata.signed() {
            Signed::Snapshot(s) => Ok((s.clone(), report)),
            other => Err(wrong_type(file, Snapshot::TYPE, other)),
        }
    }

    /// `Ok(false)` if unexpired, `Ok(true)` if expired but allowed.
    fn online_fresh(
        &self,
        file: &str,
        expires: &Expires,
        now: OffsetDateTime,
    ) -> Result<bool, ClientError> {
        match (check_not_expired(file, expires, now), self.freshness) {
            (Ok(()), _) => Ok(false),
            (Err(_), Freshness::OnlineMayHaveExpired) => Ok(true),
            (Err(e), Freshness::Strict) => Err(e),
        }
    }

    fn authority_for(&self, role: &str, delegator: Option<&str>) -> Result<Authority, ClientError> {
        match delegator {
            None => self.top_level_authority("targets"),
            Some(delegator) => self.delegated_authority(delegator, role),
        }
    }

    fn top_level_authority(&self, role: &str) -> Result<Authority, ClientError> {
        let root = self.root().signed();
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
}

fn parse(file: &str, bytes: &[u8], limits: &Limits) -> Result<Metadata<Signed>, ClientError> {
    Metadata::parse(bytes, limits).map_err(|e| ClientError::Invalid {
        file: file.to_owned(),
        why: e.to_string(),
    })
}

fn wrong_type(file: &str, expected: &'static str, found: &Signed) -> ClientError {
    ClientError::WrongType {
        file: file.to_owned(),
        expected,
        found: found.type_name(),
    }
}

fn version_is(file: &str, found: u64, expected: u64, by: &str) -> Result<(), ClientError> {
    if found != expected {
        return Err(ClientError::VersionMismatch {
            file: file.to_owned(),
            found,
            expected,
            by: by.to_owned(),
        });
    }
    Ok(())
}

fn check_not_expired(
    file: &str,
    expires: &Expires,
    now: OffsetDateTime,
) -> Result<(), ClientError> {
    if expires.is_expired_at(now) {
        return Err(expired(file, expires, now));
    }
    Ok(())
}

fn expired(file: &str, expires: &Expires, now: OffsetDateTime) -> ClientError {
    ClientError::Expired {
        file: file.to_owned(),
        expires: expires.as_str().to_owned(),
        at: rfc3339(now),
    }
}

/// `now` as RFC 3339 text, for messages.
pub(crate) fn rfc3339(now: OffsetDateTime) -> String {
    now.format(&Rfc3339).unwrap_or_else(|_| now.to_string())
}

#[cfg(test)]
mod tests;
