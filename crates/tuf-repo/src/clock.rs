//! Times on the command line: `--at` to pretend a time (tests, dry runs),
//! and expiries computed from it. The flag and its parser live in
//! `cli-common`, shared with `ceremony`.

use time::{Duration, OffsetDateTime};
use tuf_metadata::Expires;

pub use cli_common::AtArgs;

/// `--at`, or now.
pub fn now_or(at: AtArgs) -> OffsetDateTime {
    at.now()
}

/// The expiry `days` after `now`, to the second.
pub fn expires_in_days(now: OffsetDateTime, days: u32) -> Expires {
    Expires::from_time(now + Duration::days(i64::from(days)))
}

/// `now` as RFC 3339 text in UTC, to the second.
pub fn rfc3339(now: OffsetDateTime) -> String {
    Expires::from_time(now).as_str().to_owned()
}
