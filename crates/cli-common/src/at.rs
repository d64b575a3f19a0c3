//! `--at <rfc3339>`: the time a command acts as if it were now, and the day
//! counts added to it. One parser for every subcommand of both binaries.

use clap::Args;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The latest year `--at` accepts: any day count up to [`MAX_DAYS`] added
/// to it stays inside the years the time library (and an RFC 3339
/// four-digit year) can hold, so expiry arithmetic never overflows.
pub const MAX_YEAR: i32 = 9000;

/// The largest day count an expiry flag accepts (a little over 100 years).
pub const MAX_DAYS: u32 = 36_600;

/// `--at`, flattened into every command that checks expiry or computes a
/// new one, so the flag has one name, one help text and one parser.
#[derive(Args, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AtArgs {
    /// Act as if it were this time (RFC 3339, e.g. 2030-01-01T00:00:00Z):
    /// expiry is checked against it and new expiries count from it;
    /// default now.
    #[arg(long, value_name = "rfc3339", value_parser = parse_time)]
    pub at: Option<OffsetDateTime>,
}

impl AtArgs {
    /// The time given with `--at`, or the system clock's now.
    pub fn now(&self) -> OffsetDateTime {
        self.at.unwrap_or_else(OffsetDateTime::now_utc)
    }
}

/// clap's parser for `--at`: an RFC 3339 time (any offset, fractional
/// seconds allowed, as before), refused past [`MAX_YEAR`] with one line
/// rather than a panic later in expiry arithmetic.
pub fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    let at =
        OffsetDateTime::parse(text, &Rfc3339).map_err(|e| format!("not an RFC 3339 time: {e}"))?;
    if at.year() > MAX_YEAR {
        return Err(format!(
            "{text}: after the year {MAX_YEAR}, too late to count expiries from"
        ));
    }
    Ok(at)
}

/// clap's parser for a number of days an expiry lies ahead: 0 to
/// [`MAX_DAYS`], so that adding it to any accepted time cannot overflow.
pub fn parse_days(text: &str) -> Result<u32, String> {
    let days: u32 = text
        .parse()
        .map_err(|_| format!("{text}: not a whole number of days"))?;
    if days > MAX_DAYS {
        return Err(format!("{days} days: more than the {MAX_DAYS} allowed"));
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use time::Duration;
    use time::macros::datetime;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        at: AtArgs,
    }

    #[test]
    fn at_parses_rfc3339_with_zulu_or_offset_and_fractions() {
        assert_eq!(
            parse_time("2029-01-01T00:00:00Z").unwrap(),
            datetime!(2029-01-01 00:00:00 UTC)
        );
        assert_eq!(
            parse_time("2029-01-01T02:00:00+02:00").unwrap(),
            datetime!(2029-01-01 00:00:00 UTC)
        );
        assert_eq!(
            parse_time("2029-01-01T00:00:00.5Z").unwrap(),
            datetime!(2029-01-01 00:00:00.5 UTC)
        );
    }

    #[test]
    fn at_refuses_what_is_not_rfc3339() {
        for text in ["2029-01-01", "yesterday", "", "2029-13-01T00:00:00Z"] {
            let err = parse_time(text).unwrap_err();
            assert!(err.starts_with("not an RFC 3339 time"), "{text}: {err}");
        }
    }

    #[test]
    fn at_refuses_a_year_where_expiry_arithmetic_would_overflow() {
        let err = parse_time("9999-12-31T23:59:59Z").unwrap_err();
        assert!(err.contains("after the year 9000"), "{err}");
        let latest = parse_time("9000-12-31T23:59:59Z").unwrap();
        let days = Duration::days(i64::from(MAX_DAYS));
        assert!(latest.checked_add(days).is_some());
    }

    #[test]
    fn days_are_bounded() {
        assert_eq!(parse_days("0").unwrap(), 0);
        assert_eq!(parse_days("365").unwrap(), 365);
        assert_eq!(parse_days(&MAX_DAYS.to_string()).unwrap(), MAX_DAYS);
        assert!(
            parse_days(&(MAX_DAYS + 1).to_string())
                .unwrap_err()
                .contains("more than")
        );
        assert!(parse_days("-1").unwrap_err().contains("not a whole number"));
        assert!(
            parse_days("4294967296")
                .unwrap_err()
                .contains("not a whole number")
        );
    }

    #[test]
    fn flattened_at_is_optional_and_defaults_to_now() {
        let none = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(none.at.at, None);
        let before = OffsetDateTime::now_utc();
        assert!(none.at.now() >= before);
        let given = Cli::try_parse_from(["x", "--at", "2030-06-01T12:00:00Z"]).unwrap();
        assert_eq!(given.at.now(), datetime!(2030-06-01 12:00:00 UTC));
        assert!(Cli::try_parse_from(["x", "--at", "soon"]).is_err());
    }
}
