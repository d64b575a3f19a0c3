//! Root rotation (TUF spec 5.3): root N+1 is trusted only if its version is
//! exactly N+1 and it is signed by a threshold of root N's keys and by a
//! threshold of its own. Expiry is checked against a time the caller passes.
//! This is the rule for one step; [`crate::chain`] walks a chain of them.

use time::OffsetDateTime;

use crate::keys::{KeyId, keyid_mismatches};
use crate::metadata::{Metadata, Signed};
use crate::root::Root;
use crate::threshold::{self, ThresholdReport};

/// Why a root (or a chain of roots) is not trusted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The file is metadata, but not root metadata.
    #[error("expected root metadata, found {0}")]
    UnexpectedType(String),
    /// Not the immediate successor: rollback, replay or skipped version.
    #[error("version {found} does not follow trusted version {trusted} (expected {expected})")]
    VersionNotSuccessor {
        /// Version of the trusted root.
        trusted: u64,
        /// Version required.
        expected: u64,
        /// Version found.
        found: u64,
    },
    /// Too few distinct keys signed.
    #[error("{which} threshold not met: {counted}/{threshold} distinct keys{details}")]
    ThresholdNotMet {
        /// Which key set, e.g. "root v3's root" or "its own root".
        which: String,
        /// Distinct keys with valid signatures.
        counted: u64,
        /// Required.
        threshold: u64,
        /// Why other signatures did not count (`; key …: …`), possibly empty.
        details: String,
    },
    /// Expired at the time given.
    #[error("expired at {expires} (checked at {at})")]
    Expired {
        /// The `expires` text.
        expires: String,
        /// The time checked against, RFC 3339.
        at: String,
    },
    /// The role has no entry in root (cannot happen for parsed roots).
    #[error("root defines no {0} role")]
    MissingRole(String),
    /// A walk reached its cap on rotations (a client's guard against a
    /// mirror that serves roots without end).
    #[error("more than {max} root rotations in one walk; refused")]
    TooManyRotations {
        /// The cap.
        max: u64,
    },
}

impl VerifyError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::UnexpectedType(_) => "unexpected-type",
            VerifyError::VersionNotSuccessor { .. } => "version-not-successor",
            VerifyError::ThresholdNotMet { .. } => "threshold-not-met",
            VerifyError::Expired { .. } => "expired",
            VerifyError::MissingRole(_) => "missing-role",
            VerifyError::TooManyRotations { .. } => "too-many-rotations",
        }
    }
}

/// What a successful root update established, for the `ok` line and the
/// threshold board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootUpdate {
    /// The newly trusted root.
    pub root: Metadata<Root>,
    /// Signatures of the new root counted against the old root's keys.
    pub by_trusted: ThresholdReport,
    /// Signatures of the new root counted against its own keys.
    pub by_itself: ThresholdReport,
    /// Key ids in the new root that do not hash to their key: `(listed, computed)`.
    pub keyid_mismatches: Vec<(KeyId, KeyId)>,
}

/// Counts `metadata`'s signatures against `root`'s `role` role.
pub fn check_role<T>(
    root: &Root,
    role: &str,
    metadata: &Metadata<T>,
) -> Result<ThresholdReport, VerifyError> {
    let keys = root
        .role(role)
        .ok_or_else(|| VerifyError::MissingRole(role.to_owned()))?;
    Ok(threshold::check(
        keys,
        &root.keys,
        metadata.signed_bytes(),
        metadata.signatures(),
    ))
}

fn require(report: ThresholdReport, which: String) -> Result<ThresholdReport, VerifyError> {
    if report.is_met() {
        return Ok(report);
    }
    let details: String = report
        .rejections()
        .iter()
        .map(|r| format!("; {r}"))
        .collect();
    Err(VerifyError::ThresholdNotMet {
        which,
        counted: report.counted(),
        threshold: report.threshold,
        details,
    })
}

/// Checks that a root given as trusted (pinned) is signed by a threshold of
/// its own keys, as python-tuf does on loading its trusted root.
pub fn verify_trusted_root(root: &Metadata<Root>) -> Result<ThresholdReport, VerifyError> {
    let version = root.signed().common.version;
    require(
        check_role(root.signed(), "root", root)?,
        format!("root v{version}'s own"),
    )
}

/// Verifies `next` as the successor of `trusted`. Expiry is checked only when
/// `now` is given: in a chain, only the last root must be unexpired.
pub fn verify_root_update(
    trusted: &Metadata<Root>,
    next: Metadata<Signed>,
    now: Option<OffsetDateTime>,
) -> Result<RootUpdate, VerifyError> {
    let found_type = next.signed().type_name();
    let next = next
        .into_root()
        .map_err(|_| VerifyError::UnexpectedType(found_type.to_owned()))?;
    let trusted_version = trusted.signed().common.version;
    let version = next.signed().common.version;
    if Some(version) != trusted_version.checked_add(1) {
        return Err(VerifyError::VersionNotSuccessor {
            trusted: trusted_version,
            expected: trusted_version.saturating_add(1),
            found: version,
        });
    }
    let by_trusted = require(
        check_role(trusted.signed(), "root", &next)?,
        format!("root v{trusted_version}'s root"),
    )?;
    let by_itself = require(
        check_role(next.signed(), "root", &next)?,
        format!("root v{version}'s own root"),
    )?;
    if let Some(now) = now {
        check_expiry(next.signed(), now)?;
    }
    Ok(RootUpdate {
        keyid_mismatches: keyid_mismatches(&next.signed().keys),
        root: next,
        by_trusted,
        by_itself,
    })
}

/// Refuses a root expired at `now`.
pub fn check_expiry(root: &Root, now: OffsetDateTime) -> Result<(), VerifyError> {
    let expires = &root.common.expires;
    if expires.is_expired_at(now) {
        let at = now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| now.to_string());
        return Err(VerifyError::Expired {
            expires: expires.as_str().to_owned(),
            at,
        });
    }
    Ok(())
}
