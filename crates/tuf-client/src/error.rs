//! What the client refuses, as one error type for the trusted set, the
//! updater and `tuf-repo verify`: every message one sentence naming the
//! file (or target) and the reason.

use std::path::PathBuf;

use tuf_metadata::FileError;

use crate::fetch::FetchError;

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

impl ClientError {
    /// A length or hash check of `file` failed; `by` lists what it should be.
    pub(crate) fn from_file(file: &str, by: &str, e: FileError) -> ClientError {
        let (file, by) = (file.to_owned(), by.to_owned());
        match e {
            FileError::Length { found, expected } => ClientError::LengthMismatch {
                file,
                found,
                expected,
                by,
            },
            FileError::Hash {
                alg,
                found,
                expected,
            } => ClientError::HashMismatch {
                file,
                alg,
                found,
                expected,
                by,
            },
            FileError::NoKnownHash => ClientError::NoKnownHash { file, by },
        }
    }
}
