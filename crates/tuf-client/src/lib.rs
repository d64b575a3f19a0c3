//! A TUF client (spec section 5, "detailed client workflow"), strict like
//! the metadata core it is built on: what `tuf-repo client` runs, what
//! `tuf-repo publish` re-checks a published copy with, and what the
//! releaser trusts to say a repository works.
//!
//! - [`Fetcher`] ([`HttpFetcher`], [`DirFetcher`]): bytes of a relative
//!   path, never more than the caller's cap.
//! - [`TrustedSet`]: the checks, pure — bytes in, trusted state out (like
//!   python-tuf's `TrustedMetadataSet`); `tuf-repo verify` runs it too.
//! - [`Updater`]: `init` pins a root; `refresh` runs spec 5.3–5.6 (root
//!   rotation, timestamp, snapshot, targets, each with the rollback, freeze,
//!   mix-and-match, length and hash checks); `find_target` walks the
//!   delegations (5.7); `download_target` fetches and checks a file.
//! - [`names`]: the percent-encoding shared with python-tuf.
//!
//! Verification rules (thresholds, root rotation, parsing) come from
//! `tuf-metadata`; this crate adds the order of the workflow and the files.

mod download;
pub mod error;
pub mod fetch;
pub mod listing;
pub mod names;
pub mod trusted;
pub mod updater;

pub use error::ClientError;
pub use fetch::{DirFetcher, FetchError, Fetcher, HttpFetcher};
pub use listing::{ListedTarget, Listing};
pub use trusted::{Accepted, Freshness, TrustedSet};
pub use updater::{TargetInfo, Updater};
