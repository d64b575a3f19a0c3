//! The one walk along a chain of root metadata (TUF spec 5.3): trust starts
//! at a root checked by its own threshold, moves to root N+1 only through
//! [`verify_root_update`] (type `root`, version N+1, a threshold of distinct
//! keys of N and of N+1), at most a capped number of times, and only the
//! last root reached must be unexpired at a time the caller gives.
//!
//! Every tool that walks roots (`verify-root`, `verify`, `import`, the
//! client, the trusted history on a stick) uses [`RootChain`], so the rule
//! lives here once. How roots are read (size caps, and the strict or the
//! existing-metadata [`crate::ReadMode`]) is [`ChainLimits`], in one place.

use time::OffsetDateTime;

use crate::keys::{KeyId, keyid_mismatches};
use crate::metadata::{Limits, Metadata, ParseError, Signed};
use crate::root::Root;
use crate::rotation::{VerifyError, check_expiry, verify_root_update, verify_trusted_root};
use crate::threshold::ThresholdReport;

/// How roots are read and how far one walk may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainLimits {
    /// Caps for parsing each root given as bytes.
    pub parse: Limits,
    /// Most rotations (roots after the trusted one) one walk accepts.
    pub max_rotations: u64,
}

impl ChainLimits {
    /// Roots already on this machine (a directory, a stick, command-line
    /// files): every root present is walked, as many as there are.
    pub const LOCAL: ChainLimits = ChainLimits {
        parse: Limits::ROOT,
        max_rotations: u64::MAX,
    };
    /// Roots fetched from a remote: at most 256 rotations per update, as
    /// python-tuf, so a hostile mirror cannot keep a client walking; read
    /// in [`crate::ReadMode::Existing`], as every client reads.
    pub const CLIENT: ChainLimits = ChainLimits {
        parse: Limits::EXISTING_ROOT,
        max_rotations: 256,
    };
    /// Roots that already exist on this machine (`verify`, `verify-root`,
    /// `import`, the appliance's trusted history): [`ChainLimits::LOCAL`]
    /// read in [`crate::ReadMode::Existing`].
    pub const EXISTING: ChainLimits = ChainLimits {
        parse: Limits::EXISTING_ROOT,
        max_rotations: u64::MAX,
    };
}

/// Why a root given as bytes was not accepted into the chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The bytes are not strictly valid root metadata.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Valid metadata, but not a trusted next root (or not trusted itself).
    #[error(transparent)]
    Verify(#[from] VerifyError),
}

impl ChainError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ChainError::Parse(e) => e.code(),
            ChainError::Verify(e) => e.code(),
        }
    }
}

/// What one accepted rotation established, for `ok` lines and the board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootStep {
    /// The version trusted before the step (N).
    pub from: u64,
    /// The version trusted after it (N+1).
    pub version: u64,
    /// Signatures of N+1 counted against N's root keys.
    pub by_trusted: ThresholdReport,
    /// Signatures of N+1 counted against its own root keys.
    pub by_itself: ThresholdReport,
    /// Key ids in N+1 that do not hash to their key: `(listed, computed)`.
    /// Warnings when reading what exists; stage and sign refuse them.
    pub keyid_mismatches: Vec<(KeyId, KeyId)>,
}

/// A chain of trusted roots, reduced to the newest one reached.
#[derive(Clone, Debug)]
pub struct RootChain {
    trusted: Metadata<Root>,
    start: u64,
    limits: ChainLimits,
}

impl RootChain {
    /// Starts trust at `root` (pinned, shipped, or the first of a history),
    /// which must be signed by a threshold of its own root keys, as python-tuf
    /// checks its trusted root on loading.
    pub fn from_trusted(
        root: Metadata<Root>,
        limits: ChainLimits,
    ) -> Result<(Self, ThresholdReport), VerifyError> {
        let report = verify_trusted_root(&root)?;
        let start = root.signed().common.version;
        let chain = RootChain {
            trusted: root,
            start,
            limits,
        };
        Ok((chain, report))
    }

    /// [`RootChain::from_trusted`] for a root given as file bytes, parsed
    /// with `limits.parse`.
    pub fn from_trusted_bytes(
        bytes: &[u8],
        limits: ChainLimits,
    ) -> Result<(Self, ThresholdReport), ChainError> {
        let root = Metadata::parse(bytes, &limits.parse)?
            .into_root()
            .map_err(ParseError::from)?;
        Ok(RootChain::from_trusted(root, limits)?)
    }

    /// Accepts `next` as root N+1, or says why not; on an error the chain
    /// still trusts N. Expiry is not checked here: see
    /// [`RootChain::check_expiry`], for the last root only.
    pub fn advance(&mut self, next: Metadata<Signed>) -> Result<RootStep, VerifyError> {
        if self.remaining() == 0 {
            return Err(VerifyError::TooManyRotations {
                max: self.limits.max_rotations,
            });
        }
        let update = verify_root_update(&self.trusted, next, None)?;
        let step = RootStep {
            from: self.version(),
            version: update.root.signed().common.version,
            by_trusted: update.by_trusted,
            by_itself: update.by_itself,
            keyid_mismatches: update.keyid_mismatches,
        };
        self.trusted = update.root;
        Ok(step)
    }

    /// [`RootChain::advance`] for root N+1 given as file bytes, parsed with
    /// the chain's `limits.parse`.
    pub fn advance_bytes(&mut self, bytes: &[u8]) -> Result<RootStep, ChainError> {
        if self.remaining() == 0 {
            return Err(VerifyError::TooManyRotations {
                max: self.limits.max_rotations,
            }
            .into());
        }
        let next = Metadata::parse(bytes, &self.limits.parse)?;
        Ok(self.advance(next)?)
    }

    /// Refuses the newest trusted root if it is expired at `at`. Only the
    /// last root of a chain must be unexpired (TUF spec 5.3.10): call this
    /// once the walk is over, never between steps.
    pub fn check_expiry(&self, at: OffsetDateTime) -> Result<(), VerifyError> {
        check_expiry(self.trusted.signed(), at)
    }

    /// The newest trusted root.
    pub fn trusted(&self) -> &Metadata<Root> {
        &self.trusted
    }

    /// The newest trusted root, ending the walk.
    pub fn into_trusted(self) -> Metadata<Root> {
        self.trusted
    }

    /// The newest trusted version (N).
    pub fn version(&self) -> u64 {
        self.trusted.signed().common.version
    }

    /// The version trust started at.
    pub fn start_version(&self) -> u64 {
        self.start
    }

    /// Rotations accepted so far.
    pub fn rotations(&self) -> u64 {
        self.version() - self.start
    }

    /// Rotations still allowed by the cap: a client stops fetching at 0.
    pub fn remaining(&self) -> u64 {
        self.limits.max_rotations.saturating_sub(self.rotations())
    }

    /// Key ids in the newest trusted root that do not hash to their key.
    pub fn keyid_mismatches(&self) -> Vec<(KeyId, KeyId)> {
        keyid_mismatches(&self.trusted.signed().keys)
    }
}

/// A whole walk that succeeded: the chain at its newest root, the starting
/// root's own threshold, and each step with the name its root was given.
#[derive(Clone, Debug)]
pub struct Walk {
    /// The chain, at the last root.
    pub chain: RootChain,
    /// The trusted root counted against its own keys.
    pub start: ThresholdReport,
    /// `(name, step)` for each root after the trusted one, in order.
    pub steps: Vec<(String, RootStep)>,
}

/// Which root of a walk failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failed {
    /// The trusted starting root (its own threshold, or its expiry when no
    /// root follows it).
    Trusted,
    /// The root at `index` (0 = the first after the trusted one).
    Next {
        /// Position among the roots after the trusted one.
        index: usize,
        /// The name it was given (usually its file).
        name: String,
    },
}

/// A walk that stopped: where, why, and the steps accepted before.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {error}", match failed { Failed::Trusted => "trusted root", Failed::Next { name, .. } => name.as_str() })]
pub struct WalkError {
    /// The root that failed.
    pub failed: Failed,
    /// Why (boxed: parse errors are large, and walks fail rarely).
    pub error: Box<ChainError>,
    /// The steps accepted before it, so a caller can still report them.
    pub steps: Vec<(String, RootStep)>,
}

/// Walks from `trusted` through `next` (root N+1, N+2, … as `(name, file
/// bytes)`), then checks the last root reached against `at` when given.
/// For callers that have every root at hand; a client fetching one at a
/// time drives [`RootChain::advance_bytes`] itself.
pub fn walk<N, B>(
    trusted: Metadata<Root>,
    next: impl IntoIterator<Item = (N, B)>,
    limits: ChainLimits,
    at: Option<OffsetDateTime>,
) -> Result<Walk, WalkError>
where
    N: Into<String>,
    B: AsRef<[u8]>,
{
    let (mut chain, start) =
        RootChain::from_trusted(trusted, limits).map_err(|error| WalkError {
            failed: Failed::Trusted,
            error: Box::new(error.into()),
            steps: Vec::new(),
        })?;
    let mut steps: Vec<(String, RootStep)> = Vec::new();
    for (index, (name, bytes)) in next.into_iter().enumerate() {
        let name = name.into();
        match chain.advance_bytes(bytes.as_ref()) {
            Ok(step) => steps.push((name, step)),
            Err(error) => {
                return Err(WalkError {
                    failed: Failed::Next { index, name },
                    error: Box::new(error),
                    steps,
                });
            }
        }
    }
    if let Some(at) = at
        && let Err(error) = chain.check_expiry(at)
    {
        let failed = match steps.last() {
            None => Failed::Trusted,
            Some((name, _)) => Failed::Next {
                index: steps.len() - 1,
                name: name.clone(),
            },
        };
        return Err(WalkError {
            failed,
            error: Box::new(error.into()),
            steps,
        });
    }
    Ok(Walk {
        chain,
        start,
        steps,
    })
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
