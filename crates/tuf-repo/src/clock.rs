//! Times on the command line: `--at` to pretend a time (tests, dry runs),
//! and expiries computed from it.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use tuf_metadata::Expires;

/// clap's parser for `--at <RFC3339>`.
pub fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| format!("not an RFC 3339 time: {e}"))
}

/// `--at`, or now.
pub fn now_or(at: Option<OffsetDateTime>) -> OffsetDateTime {
    at.unwrap_or_else(OffsetDateTime::now_utc)
}

/// The expiry `days` after `now`, to the second.
pub fn expires_in_days(now: OffsetDateTime, days: u32) -> Expires {
    Expires::from_time(now + Duration::days(i64::from(days)))
}

/// `now` as RFC 3339 text in UTC, to the second.
pub fn rfc3339(now: OffsetDateTime) -> String {
    Expires::from_time(now).as_str().to_owned()
}
