//! The bundle's fixed names (see `docs/repository-layout.md`):
//!
//! ```text
//! <stick>/tuf-ceremony/
//!   manifest.json              what to sign
//!   staged/<name>.json         the files to sign, signed in place
//!   repository/N.root.json     the trusted history, read-only input
//!   transcript.jsonl           the appliance's hash-chained transcript
//! ```

/// The bundle directory on a stick.
pub const BUNDLE_DIR: &str = "tuf-ceremony";
/// The manifest, in the bundle directory (and in a repository's `staged/`).
pub const MANIFEST_FILE: &str = "manifest.json";
/// The files to sign, inside the bundle.
pub const STAGED_DIR: &str = "staged";
/// The trusted history (and published delegators), inside the bundle.
pub const HISTORY_DIR: &str = "repository";
/// The appliance's transcript, inside the bundle.
pub const TRANSCRIPT_FILE: &str = "transcript.jsonl";

/// `name` is a plain `<stem>.json` file name: a non-empty stem, no path
/// separators or NUL, not hidden. Every file a manifest names must be one,
/// so a stick cannot point the appliance outside its bundle.
pub fn plain_json(name: &str) -> bool {
    name.len() > ".json".len()
        && name.ends_with(".json")
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with('.')
}

/// `path` is `<dir>/<plain name>.json` for one of `dirs` (e.g. [`STAGED_DIR`]).
pub fn bundle_path_ok(path: &str, dirs: &[&str]) -> bool {
    dirs.iter().any(|d| {
        path.strip_prefix(d)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(plain_json)
    })
}

/// The bundle path of the staged file `name` (`staged/<name>`).
pub fn staged_path(name: &str) -> String {
    format!("{STAGED_DIR}/{name}")
}

/// The bundle path of the history file `name` (`repository/<name>`).
pub fn history_path(name: &str) -> String {
    format!("{HISTORY_DIR}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_json_names_are_plain() {
        for good in ["root.json", "bins-3ff.json", "1.root.json", "a.json"] {
            assert!(plain_json(good), "{good}");
        }
        for bad in [
            ".json",
            ".hidden.json",
            "a/b.json",
            "a\\b.json",
            "a\0.json",
            "root.txt",
            "",
            "..json",
        ] {
            assert!(!plain_json(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_bundle_path_must_be_a_plain_name_directly_in_an_allowed_dir() {
        let both = [STAGED_DIR, HISTORY_DIR];
        assert!(bundle_path_ok(&staged_path("root.json"), &[STAGED_DIR]));
        assert!(bundle_path_ok(&history_path("4.targets.json"), &both));
        for bad in [
            "repository/1.root.json",
            "../root.json",
            "staged/../root.json",
            "staged/a/b.json",
            "staged/.json",
            "staged//root.json",
            "stagedroot.json",
            "/staged/root.json",
        ] {
            assert!(!bundle_path_ok(bad, &[STAGED_DIR]), "{bad}");
        }
        assert!(!bundle_path_ok("tuf-ceremony/staged/root.json", &both));
    }
}
