//! Fuzzes the client's metadata handling: remote roots, timestamp, snapshot,
//! targets and delegated roles (and a cache) against a trusted root, through
//! the real `Updater` over an in-memory `Fetcher`, and the pure `TrustedSet`.
//! Properties: a refused file never changes what is trusted; a second
//! refresh against the same remote reaches the same verdict and versions; a
//! refresh that succeeds leaves a consistent, unexpired set; the cache holds
//! only files that came from the remote (or were there); role names map to
//! file names without `/`, `.` or `..`, and decode back.
//!
//! Sections (`tuf_ceremony_fuzz::sections`): `trusted` (else the built-in
//! root), `root` (2.root.json, 3.root.json, … in order), `timestamp`,
//! `snapshot`, `targets`, `role <name>`, `file` (any target file),
//! `cached <name>` (in the metadata directory before the run), `find <path>`.
//! A header ending in ` resign` has its body signed by the built-in key.
#![no_main]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;
use time::macros::datetime;
use tuf_ceremony_fuzz::{
    Section, resign, scratch_dir, sections, seeds, trusted_root, write_seeds_if_asked,
};
use tuf_client::names::{percent_decode, quote};
use tuf_client::{FetchError, Fetcher, Freshness, TrustedSet, Updater};
use tuf_metadata::files::check_bytes;
use tuf_metadata::{ChainLimits, Metadata};

const NOW: OffsetDateTime = datetime!(2030-01-01 0:00 UTC);

/// The remote: roots by position, every other file by its name without a
/// `<version>.` prefix, and `file` for anything else.
#[derive(Default)]
struct Remote {
    roots: Vec<Vec<u8>>,
    files: BTreeMap<String, Vec<u8>>,
    any: Option<Vec<u8>>,
    served: RefCell<Vec<Vec<u8>>>,
}

impl Fetcher for Remote {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        let (prefix, rest) = path.split_once('.').unwrap_or(("", path));
        let bytes = match (prefix.parse::<usize>(), rest) {
            (Ok(n), "root.json") => n.checked_sub(2).and_then(|i| self.roots.get(i)),
            (Ok(_), _) => self.files.get(rest),
            _ if path.ends_with(".json") => self.files.get(path),
            _ => self.any.as_ref(),
        };
        let bytes = bytes.ok_or(FetchError::NotFound(path.into()))?;
        if bytes.len() as u64 > max_len {
            return Err(FetchError::TooLong {
                url: path.into(),
                max: max_len,
            });
        }
        self.served.borrow_mut().push(bytes.clone());
        Ok(bytes.clone())
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

/// A header's argument without its ` resign` flag, and whether it had it.
fn flagged(arg: &str) -> (&str, bool) {
    match arg.strip_suffix("resign") {
        Some("") => ("", true),
        Some(rest) if rest.ends_with(' ') => (&rest[..rest.len() - 1], true),
        _ => (arg, false),
    }
}

/// A section's body, signed again by the built-in key if flagged so.
fn body(s: &Section<'_>) -> Vec<u8> {
    if flagged(s.arg).1 {
        resign(s.body)
    } else {
        s.body.to_vec()
    }
}

/// What is trusted, as versions: (root, timestamp, snapshot).
fn versions(set: &TrustedSet) -> (u64, Option<u64>, Option<u64>) {
    let root = set.root().signed().common.version;
    (
        root,
        set.timestamp().map(|t| t.common.version),
        set.snapshot().map(|s| s.common.version),
    )
}

fn check_name(role: &str) {
    let name = format!("{}.json", quote(role));
    assert!(
        !name.contains('/') && name != "." && name != "..",
        "{role:?} → {name:?}"
    );
    assert_eq!(percent_decode(&quote(role)).as_deref(), Some(role));
}

/// The pure set, file by file: a refused file leaves the trusted versions as they were.
fn trusted_set(trusted: &[u8], parts: &[Section<'_>]) {
    let Ok(root) = Metadata::parse_root_existing(trusted) else {
        return;
    };
    let Ok((mut set, _)) = TrustedSet::new(
        Path::new("root.json"),
        root,
        Freshness::Strict,
        ChainLimits::CLIENT,
    ) else {
        return;
    };
    for s in parts {
        let bytes = body(s);
        let before = versions(&set);
        let refused = match s.name {
            "root" => set.update_root("root", &bytes).is_err(),
            "timestamp" => set.update_timestamp("timestamp", &bytes, NOW).is_err(),
            "snapshot" => set.update_snapshot("snapshot", &bytes, NOW).is_err(),
            "targets" => set
                .update_targets("targets", &bytes, "targets", None, NOW)
                .is_err(),
            "role" => {
                let role = flagged(s.arg).0;
                set.update_targets(role, &bytes, role, Some("targets"), NOW)
                    .is_err()
            }
            _ => false,
        };
        if refused {
            assert_eq!(
                versions(&set),
                before,
                "refused {} changed the trusted set",
                s.name
            );
        }
    }
}

/// The scratch directory: `metadata/` and `targets/`, emptied per input.
fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(scratch_dir).path()
}

/// `dir` (under the scratch directory), empty.
fn emptied(name: &str) -> std::path::PathBuf {
    let dir = scratch().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("a scratch folder");
    dir
}

/// Every file in `dir`, by name.
fn listing(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("the metadata directory")
        .map(|e| {
            let e = e.expect("a directory entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect()
}

fuzz_target!(init: write_seeds_if_asked(seeds::client::seeds), |data: &[u8]| {
    let parts = sections(data);
    let trusted = parts.iter().find(|s| s.name == "trusted").map_or_else(trusted_root, body);
    trusted_set(&trusted, &parts);

    let mut remote = Remote::default();
    let (dir, downloads) = (&emptied("metadata"), &emptied("targets"));
    let mut find = None;
    for s in &parts {
        let arg = flagged(s.arg).0;
        match s.name {
            "root" => remote.roots.push(body(s)),
            "timestamp" | "snapshot" | "targets" => {
                remote.files.insert(format!("{}.json", s.name), body(s));
            }
            "role" => {
                check_name(arg);
                remote.files.insert(format!("{}.json", quote(arg)), body(s));
            }
            "file" => remote.any = Some(s.body.to_vec()),
            "cached" if matches!(arg, "timestamp.json" | "snapshot.json" | "targets.json") => {
                std::fs::write(dir.join(arg), body(s)).expect("cached file written");
            }
            "find" => find = Some(arg),
            _ => {}
        }
    }
    if Updater::init(dir, &trusted).is_err() {
        return;
    }
    let before = listing(dir);
    let Ok(mut updater) = Updater::open(dir) else { return };
    let first = updater.refresh(&remote, NOW);
    let trusted_now = |u: &Updater| {
        let root = u.trusted_root().signed().common.version;
        (root, u.trusted_timestamp().map(|t| t.common.version), u.trusted_snapshot().map(|s| s.common.version))
    };
    let first_versions = trusted_now(&updater);
    if first.is_ok() {
        let (timestamp, snapshot) = (updater.trusted_timestamp().unwrap(), updater.trusted_snapshot().unwrap());
        assert_eq!(timestamp.snapshot.version, snapshot.common.version);
        assert!(!timestamp.common.expires.is_expired_at(NOW));
        assert!(!snapshot.common.expires.is_expired_at(NOW));
        assert!(!updater.trusted_root().signed().common.expires.is_expired_at(NOW));
    }
    // Nothing is cached that the remote did not serve or that was not there.
    let served = remote.served.borrow().clone();
    for (name, bytes) in listing(dir) {
        assert!(before.get(&name) == Some(&bytes) || served.contains(&bytes), "{name} was never served");
    }
    // The cache is consistent: a second run reaches the same verdict.
    let second = updater.refresh(&remote, NOW);
    assert_eq!(first.is_ok(), second.is_ok(), "first {first:?}, then {second:?}");
    if second.is_ok() {
        assert_eq!(trusted_now(&updater), first_versions);
        if let Some(path) = find
            && let Ok(info) = updater.find_target(&remote, path, NOW)
        {
            assert_eq!(info.path, path);
            // A download lands inside the target folder, as listed.
            if let Ok(file) = updater.download_target(&info, &remote, downloads) {
                assert_eq!(file.parent(), Some(downloads.as_path()));
                let bytes = std::fs::read(&file).expect("the downloaded file");
                check_bytes(&bytes, Some(info.length), Some(&info.hashes)).expect("as listed");
            }
        }
    }
});
