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

use metadata_io::ReadError;
use tuf_metadata::signing::PlanError;
use tuf_metadata::{ParseError, VerifyError};

/// Most roots a stick's trusted history may hold. Real histories are short
/// (sigstore's, among the longest, has about 15 roots after five years);
/// a thousand leaves decades of room and bounds the walk.
pub const MAX_HISTORY_ROOTS: usize = 1_000;

/// Most bytes the trusted history may hold in all. Real roots are a few
/// kilobytes (sigstore's 15 take about 100 KB); 64 MiB is over 500 times
/// that, and a sixteenth of the smallest sticks sold, so a stick stuffed
/// with forged megabyte roots is refused before it is read.
pub const MAX_HISTORY_BYTES: u64 = 64 * 1024 * 1024;

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
    /// A link, FIFO, device, socket or other file system where the stick
    /// must hold a plain file or folder: a hostile stick, whose file could
    /// lead anywhere on the appliance or block it.
    #[error("{file}: {why}; the stick must hold plain files and folders only")]
    NotPlain {
        /// The file or folder, relative to the stick.
        file: String,
        /// What it is (from `metadata_io`).
        why: String,
    },
    /// The history holds more roots than [`MAX_HISTORY_ROOTS`].
    #[error(
        "{dir}: {count} roots in the trusted history, over the cap of {cap}; refused, ask the releaser"
    )]
    HistoryTooLong {
        /// The history folder, relative to the stick.
        dir: String,
        /// Roots found.
        count: usize,
        /// The cap.
        cap: usize,
    },
    /// The history's roots take more than [`MAX_HISTORY_BYTES`].
    #[error(
        "{dir}: the trusted history is over the cap of {cap} bytes in all; refused, ask the releaser"
    )]
    HistoryTooLarge {
        /// The history folder, relative to the stick.
        dir: String,
        /// The cap.
        cap: u64,
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
    /// The error for `file` (relative to the stick) that `metadata_io`
    /// would not read: a link or a non-regular file is [`MediaError::NotPlain`].
    pub fn read(file: &str, error: ReadError) -> Self {
        match error {
            ReadError::Symlink
            | ReadError::NotRegular(_)
            | ReadError::NotDirectory(_)
            | ReadError::OtherFileSystem => MediaError::NotPlain {
                file: file.to_owned(),
                why: error.to_string(),
            },
            ReadError::Open(_) | ReadError::Read(_) | ReadError::TooLarge { .. } => {
                MediaError::Read {
                    file: file.to_owned(),
                    error: error.to_string(),
                }
            }
        }
    }

    /// Whether the stick's trust does not hold (pinned root mismatch, broken
    /// history, a staged root that is not N+1, a file changed since staging,
    /// a link off the stick, a link or FIFO on it, a history over its caps):
    /// the ceremony stops rather than offer another
    /// stick, since the witness must see why. An unrecognised or unreadable
    /// stick (or a single unsignable file) does not stop it.
    pub fn stops_the_ceremony(&self) -> bool {
        match self {
            MediaError::Escapes { .. }
            | MediaError::NotPlain { .. }
            | MediaError::HistoryTooLong { .. }
            | MediaError::HistoryTooLarge { .. }
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

#[cfg(test)]
mod stick_tests;
