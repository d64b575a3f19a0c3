//! Command-line pieces that `tuf-repo` and `ceremony` share, so that a flag
//! is declared once and means the same in both binaries: `--at` and its one
//! RFC 3339 parser, the bounded day counts of the `--<role>-expires-days`
//! flags, the repeatable `--attestation-root`, and `say!`/`say_err!`, which
//! print every line through the one terminal-escaping rule.
//!
//! Naming conventions both binaries follow (checked by their tests):
//! value names are lower case (`<dir>`, `<root.json>`, `<rfc3339>`); the
//! stick is `--stick`; expiry flags are `--<role>-expires-days`. Older
//! spellings stay as hidden aliases so that no script breaks.

mod at;
mod attestation;
mod names;
mod say;

pub use at::{AtArgs, MAX_DAYS, MAX_YEAR, parse_days, parse_time};
pub use attestation::AttestationRootArgs;
pub use names::{lower_case_value_names, value_name_problems};
pub use say::{err_line, finish, out_line, out_text};
/// The one escaping rule, re-exported for [`say!`] and [`say_err!`].
pub use tuf_metadata::escape;
