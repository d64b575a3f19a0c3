//! What is on the stick: which of the layouts we know it follows, which
//! files are to be signed and which form the trusted root history. Only
//! reads; nothing here opens a file for writing.

use std::fmt;
use std::path::{Path, PathBuf};

use bundle_format::Manifest;
use bundle_format::layout::{BUNDLE_DIR, HISTORY_DIR, MANIFEST_FILE, TRANSCRIPT_FILE, plain_json};
use bundle_format::manifest::{FORMAT, MANIFEST_MAX_BYTES};

use super::{MAX_HISTORY_BYTES, MAX_HISTORY_ROOTS, MediaError};

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

/// A key set the online tool computed when staging (the manifest's, in
/// `bundle-format`): the review screen shows it beside the appliance's own,
/// so a disagreement is visible.
pub use bundle_format::KeySetEntry as ExpectedKeySet;

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
    /// The role's published version the manifest names
    /// (`repository/<V>.<role>.json`, bundles only): verified against the
    /// trusted chain on load, then the review's "before".
    pub published: Option<PathBuf>,
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

/// The transcript's name at the top of a go-tuf or tuf-on-ci stick.
const TRANSCRIPT_OTHER: &str = "ceremony-transcript.jsonl";

/// Paths relative to the stick, with `/`, as screens show them.
pub(crate) fn display(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Refuses `path` when it (or a directory on its way) is a link leading
/// outside `dir`, and when a folder between `dir` and `path` is a link,
/// not a folder, or on another file system than `dir` (the stick): the
/// reader ([`metadata_io::read_regular_nofollow`]) then only needs to refuse
/// a link or special file as the last component. A missing path is let
/// through: reading it fails later with its own message.
fn inside(dir: &Path, path: &Path) -> Result<(), MediaError> {
    if let (Ok(base), Ok(real)) = (std::fs::canonicalize(dir), std::fs::canonicalize(path))
        && !real.starts_with(&base)
    {
        return Err(MediaError::Escapes {
            file: display(dir, path),
            target: real.display().to_string(),
        });
    }
    real_folders(dir, path)
}

/// Every folder from `dir` (exclusive) down to `path`'s parent is a real
/// folder on `dir`'s file system; a missing one is left to the read.
fn real_folders(dir: &Path, path: &Path) -> Result<(), MediaError> {
    let Ok(inner) = path.strip_prefix(dir) else {
        return Ok(());
    };
    let Ok(device) = std::fs::metadata(dir).map(|m| std::os::unix::fs::MetadataExt::dev(&m)) else {
        return Ok(());
    };
    let mut folder = dir.to_path_buf();
    let mut parts: Vec<_> = inner.components().collect();
    parts.pop();
    for part in parts {
        folder.push(part);
        match metadata_io::real_directory(&folder, Some(device)) {
            Ok(_) => {}
            Err(metadata_io::ReadError::Open(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(());
            }
            Err(error) => return Err(MediaError::read(&display(dir, &folder), error)),
        }
    }
    Ok(())
}

/// The transcript's place: inside the stick through real folders, and if a
/// file is there already, a regular one (never a link or a FIFO, which
/// would send the appliance's writes elsewhere or block it).
fn transcript_place(dir: &Path, path: &Path) -> Result<(), MediaError> {
    inside(dir, path)?;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(MediaError::read(
            &display(dir, path),
            metadata_io::ReadError::Symlink,
        )),
        Ok(meta) if !meta.is_file() => Err(MediaError::read(
            &display(dir, path),
            metadata_io::ReadError::NotRegular(metadata_io::capped::kind(&meta)),
        )),
        _ => Ok(()),
    }
}

fn is_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// Whether `path` is there and not a folder: a link or a FIFO is listed
/// too, to be refused by name when read rather than silently skipped.
fn is_entry(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_dir())
}

/// Plain `*.json` file names in `dir` (sorted), anything but folders.
fn json_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| plain_json(n) && is_entry(&dir.join(n)))
        .collect();
    names.sort();
    names
}

/// `N.root.json` files in `folder` as history, sorted by version; more
/// than [`MAX_HISTORY_ROOTS`] of them, or more than [`MAX_HISTORY_BYTES`] in
/// all (by size, before any is read), is refused.
fn history_in(dir: &Path, folder: &Path) -> Result<Vec<HistoryFile>, MediaError> {
    let mut out = Vec::new();
    let mut bytes: u64 = 0;
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
        if out.len() == MAX_HISTORY_ROOTS {
            return Err(MediaError::HistoryTooLong {
                dir: display(dir, folder),
                count: out.len() + 1,
                cap: MAX_HISTORY_ROOTS,
            });
        }
        let path = folder.join(&name);
        inside(dir, &path)?;
        bytes = bytes.saturating_add(std::fs::symlink_metadata(&path).map_or(0, |m| m.len()));
        if bytes > MAX_HISTORY_BYTES {
            return Err(MediaError::HistoryTooLarge {
                dir: display(dir, folder),
                cap: MAX_HISTORY_BYTES,
            });
        }
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
            published: None,
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
    let bytes = metadata_io::read_regular_nofollow(path, MANIFEST_MAX_BYTES)
        .map_err(|e| MediaError::read(&display(dir, path), e))?;
    Manifest::parse(&bytes)
        .map(Some)
        .map_err(|why| MediaError::Manifest {
            file: display(dir, path),
            why: why.to_string(),
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
        let published = match &item.published {
            Some(p) => {
                let p = base.join(p);
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
            published,
            expected_sha256: Some(item.canonical_sha256),
            expected_key_sets: item.key_sets,
        });
    }
    let mut notes = Vec::new();
    if staged.is_empty() {
        notes.push("the manifest lists no files to sign".to_owned());
    }
    transcript_place(dir, &base.join(TRANSCRIPT_FILE))?;
    Ok(Media {
        dir: dir.to_path_buf(),
        layout: Layout::Bundle,
        staged,
        history: history_in(dir, &base.join(HISTORY_DIR))?,
        transcript_path: base.join(TRANSCRIPT_FILE),
        notes,
    })
}

fn go_tuf(dir: &Path, names: Vec<String>) -> Result<Media, MediaError> {
    let mut notes = Vec::new();
    let mut keep = Vec::new();
    for name in names {
        // A `tuf-repo` repository's `staged/` also holds the last bundle's manifest.
        if matches!(name.as_str(), "snapshot.json" | "timestamp.json") || name == MANIFEST_FILE {
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
    transcript_place(dir, &dir.join(TRANSCRIPT_OTHER))?;
    Ok(Media {
        dir: dir.to_path_buf(),
        layout: Layout::GoTuf,
        staged,
        history,
        transcript_path: dir.join(TRANSCRIPT_OTHER),
        notes,
    })
}

fn root_version(dir: &Path, path: &Path) -> Result<u64, MediaError> {
    let file = display(dir, path);
    let bytes = metadata_io::read_regular_nofollow(path, tuf_metadata::Limits::ROOT.max_bytes)
        .map_err(|e| MediaError::read(&file, e))?;
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
    transcript_place(dir, &dir.join(TRANSCRIPT_OTHER))?;
    Ok(Media {
        dir: dir.to_path_buf(),
        layout: Layout::TufOnCi,
        staged,
        history,
        transcript_path: dir.join(TRANSCRIPT_OTHER),
        notes,
    })
}

/// What [`recognise`] looks for, for the "unrecognised" message.
fn looked_for() -> Vec<String> {
    vec![
        format!("{BUNDLE_DIR}/{MANIFEST_FILE} (tuf-repo bundle)"),
        format!("{MANIFEST_FILE} of format {FORMAT} (the bundle itself)"),
        "staged/*.json (go-tuf)".to_owned(),
        "metadata/root.json (tuf-on-ci)".to_owned(),
    ]
}

/// Recognises the layout of `dir` (a mount point or any directory) and
/// lists what is to be signed and what is trusted history.
pub fn recognise(dir: &Path) -> Result<Media, MediaError> {
    let go_tuf_names: Vec<String> = json_names(&dir.join("staged"));
    let is_go_tuf = !go_tuf_names.is_empty();
    let is_tuf_on_ci = is_file(&dir.join("metadata/root.json"));

    let nested = dir.join(BUNDLE_DIR).join(MANIFEST_FILE);
    let own = dir.join(MANIFEST_FILE);
    // Our own folder's manifest, even as a link or FIFO: refused by name.
    let bundle_found = if is_entry(&nested) {
        read_manifest(dir, &nested)?.map(|m| (dir.join(BUNDLE_DIR), m))
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
        looked_for: looked_for(),
    })
}

#[cfg(test)]
#[path = "layout_tests.rs"]
pub(crate) mod tests;
