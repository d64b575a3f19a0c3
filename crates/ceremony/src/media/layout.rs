//! What is on the stick: which of the layouts we know it follows, which
//! files are to be signed and which form the trusted root history. Only
//! reads; nothing here opens a file for writing.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::MediaError;

/// The layouts the appliance understands. Knowing the layout tells the
/// keyholder's screen where the files came from and which are history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `tuf-repo stage-rotation`'s bundle: `tuf-ceremony/manifest.json`,
    /// `staged/`, `repository/N.root.json`.
    Bundle,
    /// A go-tuf repository: `staged/` and `repository/`.
    GoTuf,
    /// A tuf-on-ci signing event: `metadata/` and `metadata/root_history/`.
    TufOnCi,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Bundle => "tuf-repo bundle",
            Layout::GoTuf => "go-tuf (staged/, repository/)",
            Layout::TufOnCi => "tuf-on-ci (metadata/, metadata/root_history/)",
        })
    }
}

/// A key set the online tool computed when staging: the review screen
/// shows it beside the appliance's own, so a disagreement is visible.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedKeySet {
    /// e.g. "root v4 (trusted)".
    pub label: String,
    /// How many distinct keys must sign.
    pub threshold: u64,
    /// The key ids that may sign.
    pub keyids: Vec<String>,
}

/// A file the keyholder is asked to sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedFile {
    /// Where it is, for reading and writing back.
    pub path: PathBuf,
    /// Its path relative to the stick, for screens and the transcript.
    pub display: String,
    /// `root`, `targets`, … or a delegated role's name.
    pub role: String,
    /// A delegated role's delegating targets file (its keys are there).
    pub delegator: Option<PathBuf>,
    /// Canonical SHA-256 the manifest promises (bundles only).
    pub expected_sha256: Option<String>,
    /// Key sets the manifest lists (bundles only).
    pub expected_key_sets: Vec<ExpectedKeySet>,
}

/// A root of the trusted history on the stick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its path relative to the stick.
    pub display: String,
    /// The version its name gives (checked against its content on load).
    pub version: u64,
}

/// A recognised stick: what to sign, what to trust, where the transcript goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Media {
    /// The directory examined (mount point or `--media <dir>`).
    pub dir: PathBuf,
    /// The layout found.
    pub layout: Layout,
    /// Files to sign, in signing order (roots first).
    pub staged: Vec<StagedFile>,
    /// Trusted roots, by version.
    pub history: Vec<HistoryFile>,
    /// Where the ceremony's transcript is appended.
    pub transcript_path: PathBuf,
    /// Things the keyholder should know (other layouts seen, files skipped).
    pub notes: Vec<String>,
}

/// The bundle manifest's `format`.
pub const BUNDLE_FORMAT: &str = "tuf-ceremony-bundle/1";
/// Cap on a manifest's size (thousands of hash-bin items fit easily).
const MANIFEST_MAX_BYTES: usize = 32 * 1024 * 1024;

/// The manifest as `tuf-repo` writes it (same shape, parsed here so the
/// appliance does not depend on the online tool).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    pub(crate) format: String,
    pub(crate) repository: String,
    pub(crate) created: String,
    pub(crate) items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Item {
    pub(crate) file: String,
    pub(crate) role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) delegator: Option<String>,
    pub(crate) version: u64,
    pub(crate) canonical_sha256: String,
    pub(crate) key_sets: Vec<ExpectedKeySet>,
}

/// `name` is a plain `<stem>.json` file name: no separators, not hidden.
fn plain_json(name: &str) -> bool {
    name.len() > ".json".len()
        && name.ends_with(".json")
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with('.')
}

/// A bundle path under one of `dirs` with a plain name.
fn bundle_path_ok(path: &str, dirs: &[&str]) -> bool {
    dirs.iter().any(|d| {
        path.strip_prefix(d)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(plain_json)
    })
}

fn parse_manifest(bytes: &[u8]) -> Result<Manifest, String> {
    let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if manifest.format != BUNDLE_FORMAT {
        return Err(format!(
            "format {:?} is not {BUNDLE_FORMAT:?}",
            manifest.format
        ));
    }
    for item in &manifest.items {
        if !bundle_path_ok(&item.file, &["staged"]) {
            return Err(format!(
                "item file {:?} is not a staged/<name>.json file",
                item.file
            ));
        }
        if let Some(d) = &item.delegator
            && !bundle_path_ok(d, &["staged", "repository"])
        {
            return Err(format!(
                "delegator {d:?} is not a staged/ or repository/ <name>.json file"
            ));
        }
    }
    Ok(manifest)
}

/// Paths relative to the stick, with `/`, as screens show them.
pub(crate) fn display(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Refuses `path` when it (or a directory on its way) is a link leading
/// outside `dir`. A missing path is let through: reading it fails later
/// with its own message.
fn inside(dir: &Path, path: &Path) -> Result<(), MediaError> {
    let (Ok(base), Ok(real)) = (std::fs::canonicalize(dir), std::fs::canonicalize(path)) else {
        return Ok(());
    };
    if real.starts_with(&base) {
        Ok(())
    } else {
        Err(MediaError::Escapes {
            file: display(dir, path),
            target: real.display().to_string(),
        })
    }
}

fn is_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// Plain `*.json` file names in `dir` (sorted), regular files or links to them.
fn json_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| plain_json(n) && is_file(&dir.join(n)))
        .collect();
    names.sort();
    names
}

/// `N.root.json` files in `folder` as history, sorted by version.
fn history_in(dir: &Path, folder: &Path) -> Result<Vec<HistoryFile>, MediaError> {
    let mut out = Vec::new();
    for name in json_names(folder) {
        let Some(number) = name.strip_suffix(".root.json") else {
            continue;
        };
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(version) = number.parse::<u64>() else {
            continue;
        };
        let path = folder.join(&name);
        inside(dir, &path)?;
        out.push(HistoryFile {
            display: display(dir, &path),
            path,
            version,
        });
    }
    out.sort_by_key(|h| h.version);
    Ok(out)
}

/// Order for signing: root, then targets, then the rest by name, so a
/// staged root and a staged delegator come before what depends on them.
fn signing_order(name: &str) -> (u8, String) {
    let rank = match name {
        "root.json" => 0,
        "targets.json" => 1,
        _ => 2,
    };
    (rank, name.to_owned())
}

/// Staged files of the non-bundle layouts: role from the file name, a
/// delegated role's delegator the staged targets, else `published`.
fn staged_files(
    dir: &Path,
    folder: &Path,
    names: &[String],
    published_targets: &Path,
) -> Result<Vec<StagedFile>, MediaError> {
    let mut names = names.to_vec();
    names.sort_by_key(|n| signing_order(n));
    let staged_targets = names.iter().any(|n| n == "targets.json");
    let delegator = if staged_targets {
        Some(folder.join("targets.json"))
    } else if is_file(published_targets) {
        inside(dir, published_targets)?;
        Some(published_targets.to_path_buf())
    } else {
        None
    };
    let mut out = Vec::new();
    for name in names {
        let path = folder.join(&name);
        inside(dir, &path)?;
        let role = name.strip_suffix(".json").unwrap_or(&name).to_owned();
        let top = matches!(role.as_str(), "root" | "targets" | "snapshot" | "timestamp");
        out.push(StagedFile {
            display: display(dir, &path),
            delegator: if top { None } else { delegator.clone() },
            path,
            role,
            expected_sha256: None,
            expected_key_sets: Vec::new(),
        });
    }
    Ok(out)
}

fn read_manifest(dir: &Path, path: &Path) -> Result<Option<Manifest>, MediaError> {
    inside(dir, path)?;
    let bytes =
        metadata_io::read_capped(path, MANIFEST_MAX_BYTES).map_err(|e| MediaError::Read {
            file: display(dir, path),
            error: e.to_string(),
        })?;
    parse_manifest(&bytes)
        .map(Some)
        .map_err(|why| MediaError::Manifest {
            file: display(dir, path),
            why,
        })
}

fn bundle(dir: &Path, base: &Path, manifest: Manifest) -> Result<Media, MediaError> {
    let mut staged = Vec::new();
    for item in manifest.items {
        let path = base.join(&item.file);
        inside(dir, &path)?;
        let delegator = match &item.delegator {
            Some(d) => {
                let p = base.join(d);
                inside(dir, &p)?;
                Some(p)
            }
            None => None,
        };
        staged.push(StagedFile {
            display: display(dir, &path),
            path,
            role: item.role,
            delegator,
            expected_sha256: Some(item.canonical_sha256),
            expected_key_sets: item.key_sets,
        });
    }
    let mut notes = Vec::new();
    if staged.is_empty() {
        notes.push("the manifest lists no files to sign".to_owned());
    }
    Ok(Media {
        dir: dir.to_path_buf(),
        layout: Layout::Bundle,
        staged,
        history: history_in(dir, &base.join("repository"))?,
        transcript_path: base.join("transcript.jsonl"),
        notes,
    })
}

fn go_tuf(dir: &Path, names: Vec<String>) -> Result<Media, MediaError> {
    let mut notes = Vec::new();
    let mut keep = Vec::new();
    for name in names {
        if matches!(
            name.as_str(),
            "snapshot.json" | "timestamp.json" | "manifest.json"
        ) {
            notes.push(format!("staged/{name}: skipped (not signed offline)"));
        } else {
            keep.push(name);
        }
    }
    let staged_dir = dir.join("staged");
    let repo = dir.join("repository");
    let staged = staged_files(dir, &staged_dir, &keep, &repo.join("targets.json"))?;
    let mut history = history_in(dir, &repo)?;
    let plain_root = repo.join("root.json");
    if history.is_empty() && is_file(&plain_root) {
        inside(dir, &plain_root)?;
        let version = root_version(dir, &plain_root)?;
        history.push(HistoryFile {
            display: display(dir, &plain_root),
            path: plain_root,
            version,
        });
        notes.push("history: only repository/root.json (no N.root.json files)".to_owned());
    }
    Ok(Media {
        dir: dir.to_path_buf(),
        layout: Layout::GoTuf,
        staged,
        history,
        transcript_path: dir.join("ceremony-transcript.jsonl"),
        notes,
    })
}

fn root_version(dir: &Path, path: &Path) -> Result<u64, MediaError> {
    let file = display(dir, path);
    let bytes =
        metadata_io::read_capped(path, tuf_metadata::Limits::ROOT.max_bytes).map_err(|e| {
            MediaError::Read {
                file: file.clone(),
                error: e.to_string(),
            }
        })?;
    let root = tuf_metadata::Metadata::parse_root(&bytes)
        .map_err(|error| MediaError::Parse { file, error })?;
    Ok(root.signed().common.version)
}

fn tuf_on_ci(dir: &Path) -> Result<Media, MediaError> {
    let metadata = dir.join("metadata");
    let history = history_in(dir, &metadata.join("root_history"))?;
    let mut notes = Vec::new();
    let mut names = Vec::new();
    for name in json_names(&metadata) {
        match name.as_str() {
            "timestamp.json" | "snapshot.json" => {
                notes.push(format!("metadata/{name}: skipped (online role)"));
            }
            "root.json" => {
                let version = root_version(dir, &metadata.join(&name))?;
                let newest = history.last().map_or(0, |h| h.version);
                if version > newest {
                    names.push(name);
                } else {
                    notes.push(format!(
                        "metadata/root.json: v{version} is already in root_history; nothing to sign for root"
                    ));
                }
            }
            _ => names.push(name),
        }
    }
    let staged = staged_files(dir, &metadata, &names, &metadata.join("targets.json"))?;
    Ok(Media {
        dir: dir.to_path_buf(),
        layout: Layout::TufOnCi,
        staged,
        history,
        transcript_path: dir.join("ceremony-transcript.jsonl"),
        notes,
    })
}

/// What [`recognise`] looks for, for the "unrecognised" message.
const LOOKED_FOR: [&str; 4] = [
    "tuf-ceremony/manifest.json (tuf-repo bundle)",
    "manifest.json of format tuf-ceremony-bundle/1 (the bundle itself)",
    "staged/*.json (go-tuf)",
    "metadata/root.json (tuf-on-ci)",
];

/// Recognises the layout of `dir` (a mount point or any directory) and
/// lists what is to be signed and what is trusted history.
pub fn recognise(dir: &Path) -> Result<Media, MediaError> {
    let go_tuf_names: Vec<String> = json_names(&dir.join("staged"));
    let is_go_tuf = !go_tuf_names.is_empty();
    let is_tuf_on_ci = is_file(&dir.join("metadata/root.json"));

    let nested = dir.join("tuf-ceremony/manifest.json");
    let own = dir.join("manifest.json");
    let bundle_found = if is_file(&nested) {
        read_manifest(dir, &nested)?.map(|m| (dir.join("tuf-ceremony"), m))
    } else if is_file(&own) {
        // Only ours: another tool's manifest.json is not a bundle.
        read_manifest(dir, &own)
            .ok()
            .flatten()
            .map(|m| (dir.to_path_buf(), m))
    } else {
        None
    };

    if let Some((base, manifest)) = bundle_found {
        let mut media = bundle(dir, &base, manifest)?;
        // A bundle has go-tuf's shape; only a second tree beside it is news.
        if is_go_tuf && base != dir {
            media.notes.push(format!(
                "also found {}: ignored, the bundle is used",
                Layout::GoTuf
            ));
        }
        if is_tuf_on_ci {
            media.notes.push(format!(
                "also found {}: ignored, the bundle is used",
                Layout::TufOnCi
            ));
        }
        return Ok(media);
    }
    if is_go_tuf {
        let mut media = go_tuf(dir, go_tuf_names)?;
        if is_tuf_on_ci {
            media.notes.push(format!(
                "also found {}: ignored, go-tuf is used",
                Layout::TufOnCi
            ));
        }
        return Ok(media);
    }
    if is_tuf_on_ci {
        return tuf_on_ci(dir);
    }
    Err(MediaError::Unrecognised {
        dir: dir.to_path_buf(),
        looked_for: LOOKED_FOR.iter().map(|s| (*s).to_owned()).collect(),
    })
}

#[cfg(test)]
#[path = "layout_tests.rs"]
pub(crate) mod tests;
