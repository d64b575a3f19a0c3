//! The one place that decides how strictly metadata is read.
//!
//! What we create or sign is read [`ReadMode::Strict`]: the canonical form
//! this tool writes, nothing a peer could read differently. Metadata that
//! already exists (a client's refresh, `verify`, `verify-root`, `import`, the
//! appliance's trusted history) is read [`ReadMode::Existing`]: whatever the
//! TUF spec and the major clients (python-tuf, tuf-js, go-tuf) accept, with
//! every security check kept (signatures, thresholds of distinct keys,
//! versions, lengths, hashes, expiry). The table of both modes, and which
//! peer does what, is docs/metadata-modes.md.

use crate::common::{Expires, TOP_LEVEL_ROLES, role_name_problem};
use crate::fields::{FormatError, Problem, err};

/// How strictly bytes are read as metadata (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ReadMode {
    /// Metadata we stage, sign or write: the canonical form only.
    #[default]
    Strict,
    /// Metadata that already exists: what the spec and the major clients
    /// read, never fewer security checks.
    Existing,
}

impl ReadMode {
    /// Reads an `expires` value. Strict: `YYYY-MM-DDTHH:MM:SSZ` (fractional
    /// seconds tolerated). Existing: any RFC 3339 time, offsets included
    /// (sigstore's root v1 has `2021-12-18T13:28:12.99008-06:00`), compared
    /// as an instant; the text is kept, so the signed bytes never change.
    pub fn parse_expires(self, text: &str) -> Result<Expires, FormatError> {
        match self {
            ReadMode::Strict => Expires::parse(text),
            ReadMode::Existing => Expires::parse_rfc3339(text),
        }
    }

    /// Why a delegated role name is refused, if it is. Strict: names that
    /// could be unsafe as file names. Existing: the spec allows any string;
    /// only the top-level role names are refused, as python-tuf refuses
    /// them. Names become URLs and file names only percent-encoded
    /// (tuf-client's `names::quote`), which is where that safety lives.
    pub fn delegated_role_name_problem(self, name: &str) -> Option<&'static str> {
        match self {
            ReadMode::Strict => role_name_problem(name),
            ReadMode::Existing => TOP_LEVEL_ROLES
                .contains(&name)
                .then_some("is a top-level role name"),
        }
    }

    /// Why a hash-bin `name_prefix` is refused, if it is: its bins are
    /// delegated role names.
    pub fn bin_prefix_problem(self, name_prefix: &str) -> Option<&'static str> {
        self.delegated_role_name_problem(&format!("{name_prefix}-0"))
    }

    /// Refuses an entry name of snapshot `meta`, if this mode does. Strict:
    /// only `targets.json` and safe delegated role names. Existing: any
    /// name; entries a client does not need are ignored, as python-tuf,
    /// tuf-js and go-tuf ignore them (a legacy `root.json` entry, still in
    /// sigstore's snapshot, included).
    pub(crate) fn check_meta_name(self, name: &str) -> Result<(), FormatError> {
        if self == ReadMode::Existing {
            return Ok(());
        }
        let role = name.strip_suffix(".json").unwrap_or(name);
        match role_name_problem(role) {
            Some(why) if role != "targets" && role != "snapshot" => Err(err(
                name.to_owned(),
                Problem::BadRoleName(name.to_owned(), why),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_mode_reads_any_rfc3339_expiry_as_an_instant() {
        let text = "2021-12-18T13:28:12.99008-06:00";
        assert_eq!(
            ReadMode::Strict.parse_expires(text).unwrap_err().code(),
            "bad-expires"
        );
        let e = ReadMode::Existing.parse_expires(text).unwrap();
        assert_eq!(e.as_str(), text);
        let utc = ReadMode::Existing
            .parse_expires("2021-12-18T19:28:12.99008Z")
            .unwrap();
        assert_eq!(e.time(), utc.time());
        assert!(e.is_expired_at(utc.time()));
        for bad in ["2021-12-18", "2021-12-18 19:28:12Z", "tomorrow", ""] {
            assert!(ReadMode::Existing.parse_expires(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn existing_mode_accepts_any_delegated_name_but_top_level_ones() {
        for name in ["/delegatedrole", "../delegatedrole", "", "."] {
            assert!(
                ReadMode::Strict.delegated_role_name_problem(name).is_some(),
                "{name:?}"
            );
        }
        for name in [
            "/delegatedrole",
            "../delegatedrole",
            "%",
            "a b",
            "ünï/cödé",
            "",
            ".",
            "registry.npmjs.org",
        ] {
            assert_eq!(
                ReadMode::Existing.delegated_role_name_problem(name),
                None,
                "{name:?}"
            );
        }
        for top in TOP_LEVEL_ROLES {
            assert!(
                ReadMode::Existing
                    .delegated_role_name_problem(top)
                    .is_some()
            );
        }
    }

    #[test]
    fn legacy_root_json_in_snapshot_meta_is_a_mode_decision() {
        assert_eq!(
            ReadMode::Strict
                .check_meta_name("root.json")
                .unwrap_err()
                .code(),
            "bad-role-name"
        );
        assert!(ReadMode::Existing.check_meta_name("root.json").is_ok());
        for mode in [ReadMode::Strict, ReadMode::Existing] {
            assert!(mode.check_meta_name("targets.json").is_ok());
            assert!(mode.check_meta_name("registry.npmjs.org.json").is_ok());
        }
    }
}
