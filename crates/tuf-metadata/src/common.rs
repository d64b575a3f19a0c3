//! Fields every role shares (`spec_version`, `version`, `expires`) and the
//! rules for names that end up as file names on disk.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::fields::{FormatError, Problem, err};

/// An expiry time, kept with the exact text it was read from so that
/// re-encoding never changes signed bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expires {
    text: String,
    at: OffsetDateTime,
}

impl Expires {
    /// Reads `YYYY-MM-DDTHH:MM:SSZ` (fractional seconds tolerated, as go-tuf
    /// may write them; any offset other than `Z` refused, as python-tuf does).
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        let bad = || err("", Problem::BadExpires(text.to_owned()));
        let well_shaped = text.len() >= 20
            && text.ends_with('Z')
            && text.as_bytes().get(10) == Some(&b'T')
            && text.is_ascii();
        if !well_shaped {
            return Err(bad());
        }
        let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| bad())?;
        Ok(Expires {
            text: text.to_owned(),
            at,
        })
    }

    /// Reads any RFC 3339 date-time (`Z` or a numeric offset, fractional
    /// seconds), as existing metadata may carry ([`crate::ReadMode::Existing`]).
    /// The instant is compared; the text is kept as found.
    pub fn parse_rfc3339(text: &str) -> Result<Self, FormatError> {
        let bad = || err("", Problem::BadExpires(text.to_owned()));
        if !text.is_ascii()
            || text
                .as_bytes()
                .get(10)
                .is_none_or(|b| !b.eq_ignore_ascii_case(&b'T'))
        {
            return Err(bad());
        }
        let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| bad())?;
        Ok(Expires {
            text: text.to_owned(),
            at,
        })
    }

    /// An expiry at `at`, written in the canonical second-precision form.
    pub fn from_time(at: OffsetDateTime) -> Self {
        let at = at
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .expect("0 ns is valid");
        let text = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        );
        Expires { text, at }
    }

    /// The instant.
    pub fn time(&self) -> OffsetDateTime {
        self.at
    }

    /// The text as it appears in the metadata.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True if the metadata is expired at `now` (expiry is exclusive: valid
    /// strictly before `expires`, as python-tuf checks `now >= expires`).
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        now >= self.at
    }
}

/// Refuses a spec_version whose major version is not 1.
pub(crate) fn check_spec_version(version: &str) -> Result<(), FormatError> {
    let parts: Vec<&str> = version.split('.').collect();
    let numeric = parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if (parts.len() == 2 || parts.len() == 3) && numeric && parts[0] == "1" {
        Ok(())
    } else {
        Err(err("", Problem::UnsupportedSpecVersion(version.to_owned())))
    }
}

/// The top-level role names, which a delegation may not reuse.
pub const TOP_LEVEL_ROLES: [&str; 4] = ["root", "targets", "snapshot", "timestamp"];

/// Why a delegated role name is unsafe, if it is: names become file names.
pub fn role_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty")
    } else if name.contains('\0') {
        Some("contains NUL")
    } else if name.starts_with('/') {
        Some("starts with /")
    } else if name.contains('\\') {
        Some("contains a backslash")
    } else if name.split('/').any(|part| part == ".." || part == ".") {
        Some("has a . or .. path component")
    } else if TOP_LEVEL_ROLES.contains(&name) {
        Some("is a top-level role name")
    } else {
        None
    }
}

/// Why a target path is unsafe, if it is: clients join it onto a directory.
pub fn target_path_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        Some("empty")
    } else if path.contains('\0') {
        Some("contains NUL")
    } else if path.starts_with('/') {
        Some("starts with /")
    } else if path.split(['/', '\\']).any(|part| part == "..") {
        Some("has a .. path component")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_accepts_the_tuf_form_and_refuses_others() {
        let e = Expires::parse("2040-01-01T00:00:00Z").unwrap();
        assert_eq!(e.as_str(), "2040-01-01T00:00:00Z");
        assert!(Expires::parse("2040-01-01T00:00:00.5Z").is_ok());
        for bad in [
            "2040-13-45T00:00:00Z",
            "2040-01-01T00:00:00+01:00",
            "2040-01-01 00:00:00Z",
            "2040-01-01",
            "tomorrow",
        ] {
            let e = Expires::parse(bad).unwrap_err();
            assert_eq!(e.code(), "bad-expires", "{bad}");
            let e = e.within("expires").within("signed");
            assert!(e.to_string().starts_with("signed.expires:"), "{e}");
        }
    }

    #[test]
    fn expiry_is_exclusive() {
        let e = Expires::parse("2030-01-01T00:00:00Z").unwrap();
        assert!(e.is_expired_at(e.time()));
        assert!(!e.is_expired_at(e.time() - time::Duration::SECOND));
        assert_eq!(Expires::from_time(e.time()), e);
    }

    #[test]
    fn unsafe_names_are_refused() {
        for bad in [
            "../x", "a/../b", "/abs", "a\0b", "", "targets", "a\\b", "./a",
        ] {
            assert!(role_name_problem(bad).is_some(), "{bad:?}");
        }
        for good in ["bin-0a", "project/team", "a..b"] {
            assert_eq!(role_name_problem(good), None, "{good:?}");
        }
        for bad in ["../../etc/shadow", "/etc/passwd", "a\0", "x/..", "..\\x"] {
            assert!(target_path_problem(bad).is_some(), "{bad:?}");
        }
        assert_eq!(target_path_problem("dir/file..tar.gz"), None);
    }

    #[test]
    fn spec_versions() {
        for ok in ["1.0", "1.0.31", "1.20.0"] {
            assert!(check_spec_version(ok).is_ok());
        }
        for bad in ["2.0.0", "0.9", "1", "1.0.x", ""] {
            assert!(check_spec_version(bad).is_err(), "{bad}");
        }
    }
}
