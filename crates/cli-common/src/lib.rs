//! Command-line pieces that `tuf-repo` and `ceremony` share, so that a flag
//! is declared once and means the same in both binaries: `--at` and its one
//! RFC 3339 parser, the bounded day counts of the `--<role>-expires-days`
//! flags, and the repeatable `--attestation-root`.
//!
//! Naming conventions both binaries follow (checked by their tests):
//! value names are lower case (`<dir>`, `<root.json>`, `<rfc3339>`); the
//! stick is `--stick`; expiry flags are `--<role>-expires-days`. Older
//! spellings stay as hidden aliases so that no script breaks.

mod at;
mod attestation;
mod names;

pub use at::{AtArgs, MAX_DAYS, MAX_YEAR, parse_days, parse_time};
pub use attestation::AttestationRootArgs;
pub use names::{lower_case_value_names, value_name_problems};
