//! The bundle's `manifest.json`: what is to be signed, its canonical
//! digest, and the key sets that may sign it — derived from
//! [`SigningPlan`], so the online tool's manifest and the appliance agree.
//!
//! Fields this version does not know are kept in `unknown` (at the top
//! level, in items and in key sets) and written back unchanged.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tuf_metadata::signing::SigningPlan;

use crate::layout::{HISTORY_DIR, STAGED_DIR, bundle_path_ok};

/// The `format` value this crate writes and reads.
pub const FORMAT: &str = "tuf-ceremony-bundle/1";

/// Cap on a manifest's size (thousands of hash-bin items fit easily).
pub const MANIFEST_MAX_BYTES: usize = 32 * 1024 * 1024;

/// Fields of a newer format revision this version does not know: kept so a
/// re-written manifest still carries them.
pub type Unknown = serde_json::Map<String, serde_json::Value>;

/// Why the manifest's content cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON of the manifest's shape (a missing or mistyped field).
    #[error("{0}")]
    Json(String),
    /// Another format, or a version of ours this tool does not read.
    #[error("format {found:?} is not {FORMAT:?}")]
    Format {
        /// The `format` found.
        found: String,
    },
    /// An item names a file outside the bundle's `staged/`.
    #[error("item file {file:?} is not a staged/<name>.json file")]
    ItemFile {
        /// The `file` found.
        file: String,
    },
    /// An item's delegator is outside the bundle's `staged/` and `repository/`.
    #[error("delegator {delegator:?} is not a staged/ or repository/ <name>.json file")]
    Delegator {
        /// The `delegator` found.
        delegator: String,
    },
    /// An item's published version is not a `repository/<name>.json` file.
    #[error("published {published:?} is not a repository/<name>.json file")]
    Published {
        /// The `published` found.
        published: String,
    },
    /// Two items name the same file or the same role: each file is
    /// reviewed and signed once, so a repeated item is refused, not shown
    /// (and signed) again.
    #[error("{what} {name:?} is listed by more than one item")]
    Duplicate {
        /// `file` or `role`.
        what: &'static str,
        /// The repeated file or role.
        name: String,
    },
}

/// Why a manifest file cannot be used; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ManifestFileError {
    /// The file could not be read.
    #[error("{file}: cannot read: {error}")]
    Read {
        /// The file.
        file: String,
        /// The error.
        error: std::io::Error,
    },
    /// Larger than [`MANIFEST_MAX_BYTES`].
    #[error("{file}: larger than {MANIFEST_MAX_BYTES} bytes")]
    TooLarge {
        /// The file.
        file: String,
    },
    /// Not a manifest of our format.
    #[error("{file}: {why}")]
    Malformed {
        /// The file.
        file: String,
        /// What is wrong.
        why: ManifestError,
    },
}

/// The whole manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The repository's name.
    pub repository: String,
    /// When the bundle was made, RFC 3339.
    pub created: String,
    /// The files to sign.
    pub items: Vec<Item>,
    /// Fields this version does not know, kept.
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// One file to sign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Path inside the bundle, e.g. `staged/root.json`.
    pub file: String,
    /// The role (`_type` for top-level roles, the name for delegated ones).
    pub role: String,
    /// For a delegated role: the bundle path of the targets metadata that
    /// delegates it (its keys and threshold are there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegator: Option<String>,
    /// The bundle path (`repository/<V>.<name>.json`) of the role's version
    /// in force, when one is published: the appliance verifies it against
    /// the trusted root chain and reviews the staged file as a diff against
    /// it. Absent for a root, a first targets and a new delegated role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// The metadata's version.
    pub version: u64,
    /// Hex SHA-256 of the canonical signed bytes.
    pub canonical_sha256: String,
    /// Key sets whose thresholds the file must meet.
    pub key_sets: Vec<KeySetEntry>,
    /// Fields this version does not know, kept.
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// One key set as the online tool computed it: the review screen shows it
/// beside the appliance's own, so a disagreement is visible.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySetEntry {
    /// e.g. "root v4 (trusted)".
    pub label: String,
    /// How many distinct keys must sign.
    pub threshold: u64,
    /// The key ids that may sign, in the role's order.
    pub keyids: Vec<String>,
    /// Fields this version does not know, kept.
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl KeySetEntry {
    /// A key set of this version's fields only.
    pub fn new(label: &str, threshold: u64, keyids: Vec<String>) -> Self {
        KeySetEntry {
            label: label.to_owned(),
            threshold,
            keyids,
            unknown: Unknown::new(),
        }
    }
}

impl Item {
    /// The item for the bundle path `file` as the appliance will see it:
    /// role, version, canonical digest and key sets from `plan`; no delegator.
    pub fn from_plan(file: &str, plan: &SigningPlan) -> Self {
        let signed = plan.metadata().signed();
        Item {
            file: file.to_owned(),
            role: plan.role().to_owned(),
            delegator: None,
            published: None,
            version: signed.common().version,
            canonical_sha256: plan.metadata().signed_digest(),
            key_sets: plan
                .key_sets()
                .iter()
                .map(|set| {
                    KeySetEntry::new(&set.label, set.role.threshold, set.role.keyids.clone())
                })
                .collect(),
            unknown: Unknown::new(),
        }
    }
}

impl Manifest {
    /// A manifest of `items`, in [`FORMAT`].
    pub fn new(repository: &str, created: &str, items: Vec<Item>) -> Self {
        Manifest {
            format: FORMAT.to_owned(),
            repository: repository.to_owned(),
            created: created.to_owned(),
            items,
            unknown: Unknown::new(),
        }
    }

    /// Pretty JSON, one trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("the manifest serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Parses and checks a manifest: our format, item files directly in the
    /// bundle's `staged/`, delegators directly in `staged/` or
    /// `repository/`, published versions directly in `repository/` —
    /// nothing that could lead outside the bundle — and no file or role
    /// listed twice.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
        if manifest.format != FORMAT {
            return Err(ManifestError::Format {
                found: manifest.format,
            });
        }
        let mut files = std::collections::HashSet::new();
        let mut roles = std::collections::HashSet::new();
        for item in &manifest.items {
            if !bundle_path_ok(&item.file, &[STAGED_DIR]) {
                return Err(ManifestError::ItemFile {
                    file: item.file.clone(),
                });
            }
            if let Some(d) = &item.delegator
                && !bundle_path_ok(d, &[STAGED_DIR, HISTORY_DIR])
            {
                return Err(ManifestError::Delegator {
                    delegator: d.clone(),
                });
            }
            if let Some(p) = &item.published
                && !bundle_path_ok(p, &[HISTORY_DIR])
            {
                return Err(ManifestError::Published {
                    published: p.clone(),
                });
            }
            if !files.insert(item.file.as_str()) {
                return Err(ManifestError::Duplicate {
                    what: "file",
                    name: item.file.clone(),
                });
            }
            if !roles.insert(item.role.as_str()) {
                return Err(ManifestError::Duplicate {
                    what: "role",
                    name: item.role.clone(),
                });
            }
        }
        Ok(manifest)
    }

    /// Reads (at most [`MANIFEST_MAX_BYTES`]) and [`parse`](Self::parse)s
    /// the manifest at `path`; errors name the file.
    pub fn read(path: &Path) -> Result<Self, ManifestFileError> {
        let file = path.display().to_string();
        let read = |error| ManifestFileError::Read {
            file: file.clone(),
            error,
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .map_err(read)?
            .take(MANIFEST_MAX_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(read)?;
        if bytes.len() > MANIFEST_MAX_BYTES {
            return Err(ManifestFileError::TooLarge { file });
        }
        Self::parse(&bytes).map_err(|why| ManifestFileError::Malformed { file, why })
    }
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
