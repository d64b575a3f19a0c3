//! The USB stick: finding it among the mounts ([`discover`]), recognising
//! what the releaser put on it ([`layout`]), and establishing the root the
//! ceremony trusts before anything is shown for signing ([`trust`]).
//!
//! Every error names the file, as a path relative to the stick, so a
//! keyholder can read it aloud and the releaser can find it.

pub mod discover;
pub mod layout;
mod published;
pub mod trust;
pub mod writable;

pub use discover::{Medium, discover};
pub use layout::{ExpectedKeySet, HistoryFile, Layout, Media, StagedFile, recognise};
pub use trust::{AnchorKind, Loaded, LoadedFile, PublishedRole, TrustedRoot, load};

use tuf_metadata::signing::PlanError;
use tuf_metadata::{ParseError, VerifyError};

/// Why the stick cannot be used as it is. Each message is one line that
/// names the file (relative to the stick) and says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// No known layout in the directory.
    #[error("{}: no ceremony files recognised; looked for {}", dir.display(), looked_for.join(", "))]
    Unrecognised {
        /// The directory examined.
        dir: std::path::PathBuf,
        /// What would have been recognised.
        looked_for: Vec<String>,
    },
    /// A symlink (or a path through one) that leads off the stick.
    #[error("{file}: leads outside the stick (to {target}); refused — remove the link")]
    Escapes {
        /// The file, relative to the stick.
        file: String,
        /// Where it really leads.
        target: String,
    },
    /// The file cannot be read, or is over the size limit.
    #[error("{file}: {error}")]
    Read {
        /// The file, relative to the stick.
        file: String,
        /// What went wrong (from `metadata_io`).
        error: String,
    },
    /// The bundle manifest is not one our online tool writes.
    #[error("{file}: not a usable ceremony manifest: {why}; stage the bundle again")]
    Manifest {
        /// The manifest, relative to the stick.
        file: String,
        /// What is wrong.
        why: String,
    },
    /// The file is not strictly valid TUF metadata.
    #[error("{file}: not valid TUF metadata: {error}")]
    Parse {
        /// The file, relative to the stick.
        file: String,
        /// The strict parser's reason.
        error: ParseError,
    },
    /// A root of the history does not verify (signatures, version).
    #[error("{file}: trusted history broken: {error}; do not sign, ask the releaser")]
    History {
        /// The root file, relative to the stick.
        file: String,
        /// Why it does not verify.
        error: VerifyError,
    },
    /// A version is missing from the history.
    #[error(
        "{dir}: root v{missing} is missing from the trusted history (next present is v{next}); copy it onto the stick"
    )]
    HistoryGap {
        /// The history folder, relative to the stick.
        dir: String,
        /// The first missing version.
        missing: u64,
        /// The version found after the gap.
        next: u64,
    },
    /// A history file's name and content disagree on the version.
    #[error("{file}: named as root v{named} but holds root v{found}; the history is corrupt")]
    HistoryName {
        /// The file, relative to the stick.
        file: String,
        /// Version in the file name.
        named: u64,
        /// Version inside.
        found: u64,
    },
    /// The root pinned on the image is not valid root metadata.
    #[error("root pinned on this image: not valid TUF root metadata: {0}; the image is broken")]
    PinnedInvalid(ParseError),
    /// The stick's root of the pinned version differs from the pinned one.
    #[error(
        "{file}: the stick's root v{version} (sha256 {stick}) is not the root pinned on this image (sha256 {pinned}); do not sign"
    )]
    PinnedMismatch {
        /// The stick's root file of that version.
        file: String,
        /// The pinned version.
        version: u64,
        /// Canonical digest of the stick's root.
        stick: String,
        /// Canonical digest of the pinned root.
        pinned: String,
    },
    /// The stick's history does not reach the pinned root's version.
    #[error(
        "{dir}: holds no root v{version}, the root pinned on this image (sha256 {pinned}); the stick is older than the image or from another repository"
    )]
    PinnedNotOnStick {
        /// The history folder, relative to the stick.
        dir: String,
        /// The pinned version.
        version: u64,
        /// Canonical digest of the pinned root.
        pinned: String,
    },
    /// A staged root that is not the trusted root's immediate successor.
    #[error("{file}: staged root is version {found} but the stick's trusted root is version {trusted}: only {} may be signed", trusted.saturating_add(1))]
    NotSuccessor {
        /// The staged root, relative to the stick.
        file: String,
        /// Its version.
        found: u64,
        /// The trusted root's version (0: no history).
        trusted: u64,
    },
    /// The staged file is not what the manifest says was staged.
    #[error(
        "{file}: canonical sha256 {actual} differs from the manifest's {manifest}: changed since staging; do not sign"
    )]
    DigestMismatch {
        /// The staged file, relative to the stick.
        file: String,
        /// The digest the manifest lists.
        manifest: String,
        /// The digest of the file on the stick.
        actual: String,
    },
    /// A staged file whose type does not fit its role.
    #[error("{file}: {why}")]
    WrongRole {
        /// The staged file, relative to the stick.
        file: String,
        /// What does not fit.
        why: String,
    },
    /// A delegated role's delegating targets metadata is missing or unusable.
    #[error("{file}: delegated role {role:?}: {why}")]
    Delegator {
        /// The delegated role's file, relative to the stick.
        file: String,
        /// The role.
        role: String,
        /// What is wrong with its delegator.
        why: String,
    },
    /// A published version the bundle carries (a staged role's, or a
    /// delegator's) does not verify against the trusted chain, or does not
    /// fit the staged role.
    #[error("{file}: published {role:?}: {why}")]
    Published {
        /// The published file, relative to the stick.
        file: String,
        /// The role.
        role: String,
        /// Why it cannot be trusted.
        why: String,
    },
    /// The staged file's signed content changed since it was loaded.
    #[error(
        "{file}: its content changed since the stick was loaded (canonical sha256 {loaded} → {now}); load the stick again and review it"
    )]
    Changed {
        /// The staged file, relative to the stick.
        file: String,
        /// Canonical digest when loaded.
        loaded: String,
        /// Canonical digest now.
        now: String,
    },
    /// The signing rules refuse the file.
    #[error("{file}: cannot be signed: {error}")]
    Plan {
        /// The staged file, relative to the stick.
        file: String,
        /// The signing rule's reason.
        error: PlanError,
    },
    /// An index past the staged files.
    #[error("no staged file number {0} on this stick")]
    NoSuchFile(usize),
}

impl MediaError {
    /// Whether the stick's trust does not hold (pinned root mismatch, broken
    /// history, a staged root that is not N+1, a file changed since staging,
    /// a link off the stick): the ceremony stops rather than offer another
    /// stick, since the witness must see why. An unrecognised or unreadable
    /// stick (or a single unsignable file) does not stop it.
    pub fn stops_the_ceremony(&self) -> bool {
        match self {
            MediaError::Escapes { .. }
            | MediaError::History { .. }
            | MediaError::HistoryGap { .. }
            | MediaError::HistoryName { .. }
            | MediaError::PinnedInvalid(_)
            | MediaError::PinnedMismatch { .. }
            | MediaError::PinnedNotOnStick { .. }
            | MediaError::NotSuccessor { .. }
            | MediaError::DigestMismatch { .. }
            | MediaError::Published { .. }
            | MediaError::Changed { .. } => true,
            MediaError::Unrecognised { .. }
            | MediaError::Read { .. }
            | MediaError::Manifest { .. }
            | MediaError::Parse { .. }
            | MediaError::WrongRole { .. }
            | MediaError::Delegator { .. }
            | MediaError::Plan { .. }
            | MediaError::NoSuchFile(_) => false,
        }
    }
}
