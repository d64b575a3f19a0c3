//! The ceremony bundle's `manifest.json`: what is to be signed, its
//! canonical digest, and the key sets that may sign it — derived from
//! `tuf_metadata::signing::SigningPlan`, so the manifest and the appliance agree.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tuf_metadata::signing::SigningPlan;

/// The `format` value this tool writes and reads.
pub const FORMAT: &str = "tuf-ceremony-bundle/1";

/// Why a manifest cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("{file}: cannot read: {error}")]
    Read {
        /// The file.
        file: String,
        /// The error.
        error: std::io::Error,
    },
    /// Not a manifest of our format.
    #[error("{file}: {why}")]
    Malformed {
        /// The file.
        file: String,
        /// What is wrong.
        why: String,
    },
}

/// The whole manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The repository's name.
    pub repository: String,
    /// When the bundle was made, RFC 3339.
    pub created: String,
    /// The files to sign.
    pub items: Vec<Item>,
}

/// One file to sign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Path inside the bundle, e.g. `staged/root.json`.
    pub file: String,
    /// The role (`_type` for top-level roles, the name for delegated ones).
    pub role: String,
    /// For a delegated role: the bundle path of the targets metadata that
    /// delegates it (its keys and threshold are there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegator: Option<String>,
    /// The metadata's version.
    pub version: u64,
    /// Hex SHA-256 of the canonical signed bytes.
    pub canonical_sha256: String,
    /// Key sets whose thresholds the file must meet.
    pub key_sets: Vec<KeySetEntry>,
}

/// One key set, as the review screen shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySetEntry {
    /// e.g. "root v4 (trusted)".
    pub label: String,
    /// How many distinct keys must sign.
    pub threshold: u64,
    /// The key ids that may sign, in the role's order.
    pub keyids: Vec<String>,
}

impl Item {
    /// The item for `file` as the appliance will see it.
    pub fn from_plan(file: &str, plan: &SigningPlan) -> Self {
        let signed = plan.metadata().signed();
        Item {
            file: file.to_owned(),
            role: plan.role().to_owned(),
            delegator: None,
            version: signed.common().version,
            canonical_sha256: plan.metadata().signed_digest(),
            key_sets: plan
                .key_sets()
                .iter()
                .map(|set| KeySetEntry {
                    label: set.label.clone(),
                    threshold: set.role.threshold,
                    keyids: set.role.keyids.clone(),
                })
                .collect(),
        }
    }
}

impl Manifest {
    /// A manifest of `items`.
    pub fn new(repository: &str, created: &str, items: Vec<Item>) -> Self {
        Manifest {
            format: FORMAT.to_owned(),
            repository: repository.to_owned(),
            created: created.to_owned(),
            items,
        }
    }

    /// Pretty JSON, one trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("the manifest serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Reads and checks a manifest: our format, and item files that stay
    /// inside the bundle's `staged/`.
    pub fn read(path: &Path) -> Result<Self, ManifestError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|error| ManifestError::Read {
            file: file.clone(),
            error,
        })?;
        Self::parse(&bytes).map_err(|why| ManifestError::Malformed { file, why })
    }

    fn parse(bytes: &[u8]) -> Result<Self, String> {
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if manifest.format != FORMAT {
            return Err(format!("format {:?} is not {FORMAT:?}", manifest.format));
        }
        for item in &manifest.items {
            let name = item.file.strip_prefix("staged/").unwrap_or("");
            let plain = !name.is_empty()
                && name.ends_with(".json")
                && !name.contains(['/', '\\', '\0'])
                && !name.starts_with('.');
            if !plain {
                return Err(format!(
                    "item file {:?} is not a staged/<name>.json file",
                    item.file
                ));
            }
        }
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Manifest {
        Manifest::new(
            "demo",
            "2026-11-21T12:00:00Z",
            vec![Item {
                file: "staged/root.json".into(),
                role: "root".into(),
                delegator: None,
                version: 5,
                canonical_sha256: "ab".repeat(32),
                key_sets: vec![KeySetEntry {
                    label: "root v4 (trusted)".into(),
                    threshold: 2,
                    keyids: vec!["cd".repeat(32)],
                }],
            }],
        )
    }

    #[test]
    fn a_manifest_round_trips_in_the_documented_shape() {
        let manifest = example();
        let bytes = manifest.to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["format"], "tuf-ceremony-bundle/1");
        assert_eq!(value["items"][0]["key_sets"][0]["threshold"], 2);
        assert_eq!(Manifest::parse(&bytes).unwrap(), manifest);
    }

    #[test]
    fn a_foreign_or_escaping_manifest_is_refused() {
        let text = String::from_utf8(example().to_bytes()).unwrap();
        for (bad, needle) in [
            (text.replace("bundle/1", "bundle/2"), "format"),
            (
                text.replace("staged/root.json", "../root.json"),
                "../root.json",
            ),
            (
                text.replace("staged/root.json", "staged/a/b.json"),
                "staged/a/b.json",
            ),
            (text.replace("\"role\"", "\"rolle\""), "rolle"),
        ] {
            let err = Manifest::parse(bad.as_bytes()).unwrap_err();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }
}
