//! Where each merged signature came from, for `status`: `merge` records,
//! per staged file (by canonical SHA-256) and key id, the stick it was
//! found on and, when that stick's transcript records the signature, the
//! signer as the appliance named it (token and key). Kept in
//! `.tuf-repo-signature-sources.json` beside `tuf-repo.toml`, outside
//! `staged/`, so no role's staged file can ever share its name; it only
//! informs people — what counts is the signatures in the staged files,
//! which `merge` and `commit` verify.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use metadata_io::read_capped;
use serde::{Deserialize, Serialize};

use crate::layout::Repo;

/// The record's file name, in the repository directory.
pub const FILE_NAME: &str = ".tuf-repo-signature-sources.json";

/// Where an earlier version kept it (`staged/signatures-from.json`), where
/// a delegated role named `signatures-from` would have collided with it;
/// [`migrate_legacy`] moves it.
const LEGACY_STAGED_NAME: &str = "signatures-from.json";

/// Cap on the record (a line per signature).
const MAX_RECORD_BYTES: usize = 64 << 20;

/// One signature's origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The stick (the directory holding `tuf-ceremony/`) given to `merge`.
    pub stick: String,
    /// The signer as the stick's transcript names it, if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}

/// canonical SHA-256 → key id → origin.
pub type Sources = BTreeMap<String, BTreeMap<String, Source>>;

/// A transcript's `signed` entry: (canonical SHA-256, key ids, signer).
type SignedEntry = (String, Vec<String>, String);

/// The record, or an empty one when there is none (or it is unreadable:
/// it is informative only).
pub fn read(repo: &Repo) -> Sources {
    let path = repo.path(FILE_NAME);
    read_capped(&path, MAX_RECORD_BYTES)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// One signature a stick carried: its file's canonical SHA-256, its key
/// id, the stick, and whether this merge put it into the staged file
/// (`false`: the staged file already held it).
pub type Found<'a> = (String, String, &'a Path, bool);

/// Adds `found` to the record, keeping only the digests in `current` (the
/// staged files of the last bundle). A signature this merge added is
/// attributed to its stick; one the staged file already held keeps an
/// attribution it has and gets this stick's otherwise — so a merge re-run
/// after a kill that left the files merged but not the record still
/// records every stick. The record's path and its new bytes, for writing
/// in the same batch as the merged files it describes.
pub fn updated(
    repo: &Repo,
    found: &[Found<'_>],
    current: &[&str],
) -> Result<(std::path::PathBuf, Vec<u8>)> {
    let mut sources = read(repo);
    sources.retain(|digest, _| current.contains(&digest.as_str()));
    let mut signers: BTreeMap<&Path, Vec<SignedEntry>> = BTreeMap::new();
    for (digest, keyid, stick, added) in found {
        let known = sources
            .get(digest)
            .is_some_and(|ids| ids.contains_key(keyid));
        if known && !added {
            continue;
        }
        let signed = signers
            .entry(stick)
            .or_insert_with(|| signed_on_stick(stick));
        let signer = signed
            .iter()
            .find(|(d, ids, _)| d == digest && ids.contains(keyid))
            .map(|(_, _, signer)| signer.clone());
        sources.entry(digest.clone()).or_default().insert(
            keyid.clone(),
            Source {
                stick: stick.display().to_string(),
                signer,
            },
        );
    }
    let path = repo.path(FILE_NAME);
    let bytes = serde_json::to_vec_pretty(&sources).context("signature sources")?;
    Ok((path, bytes))
}

/// Moves a record an earlier version left at `staged/signatures-from.json`
/// to [`FILE_NAME`], when that file is such a record and not a role's
/// metadata (which has a `signed` object). Run by every locked command's
/// recovery, so the old name is never read as metadata again.
pub fn migrate_legacy(repo: &Repo) -> Result<bool> {
    let legacy = repo.staged_file(LEGACY_STAGED_NAME);
    let Ok(bytes) = read_capped(&legacy, MAX_RECORD_BYTES) else {
        return Ok(false);
    };
    if serde_json::from_slice::<Sources>(&bytes).is_err() {
        return Ok(false);
    }
    let new = repo.path(FILE_NAME);
    if new.exists() {
        std::fs::remove_file(&legacy)
            .with_context(|| format!("{}: cannot remove", legacy.display()))?;
    } else {
        std::fs::rename(&legacy, &new)
            .with_context(|| format!("{}: cannot move to {}", legacy.display(), new.display()))?;
    }
    let (staged, top) = (repo.staged(), repo.path(""));
    metadata_io::sync_dirs([staged.as_path(), top.as_path()])
        .with_context(|| format!("{}: cannot sync", top.display()))?;
    Ok(true)
}

/// The `signed` entries of the stick's transcript, (canonical SHA-256,
/// key ids, signer); none when it has no transcript or it does not verify.
fn signed_on_stick(stick: &Path) -> Vec<SignedEntry> {
    let path = stick
        .join(bundle_format::layout::BUNDLE_DIR)
        .join(bundle_format::layout::TRANSCRIPT_FILE);
    let Ok(bytes) = read_capped(&path, transcript::MAX_TRANSCRIPT_BYTES) else {
        return Vec::new();
    };
    let Ok(entries) = transcript::verify(&bytes) else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter_map(|entry| match entry.event {
            transcript::Event::Signed {
                canonical_sha256,
                keyids,
                signer,
                ..
            } => Some((canonical_sha256, keyids, signer)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes the record as merge does (in its batch, here alone).
    fn record(repo: &Repo, found: &[Found<'_>], current: &[&str]) -> Result<()> {
        let (path, bytes) = updated(repo, found, current)?;
        metadata_io::write_atomically(&path, &bytes)?;
        Ok(())
    }

    fn signed(digest: &str, keyid: &str, signer: &str) -> transcript::Event {
        transcript::Event::Signed {
            file: "staged/targets.json".into(),
            role: "targets".into(),
            version: 2,
            canonical_sha256: digest.into(),
            keyids: vec![keyid.into()],
            signer: signer.into(),
            signature: "00".into(),
        }
    }

    #[test]
    fn each_signature_is_recorded_with_its_stick_and_the_signer_its_transcript_names() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(&dir.path().join("repo"));
        std::fs::create_dir_all(repo.staged()).unwrap();
        let (with, without) = (dir.path().join("s1"), dir.path().join("s2"));
        let bundle = with.join(bundle_format::layout::BUNDLE_DIR);
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::create_dir_all(&without).unwrap();
        let mut log = transcript::Transcript::open(
            &bundle.join(bundle_format::layout::TRANSCRIPT_FILE),
            false,
        )
        .unwrap();
        let t0 = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        log.append(
            t0,
            transcript::Event::SessionStarted {
                tool: "ceremony 0.1.0".into(),
                host_clock: "2024-10-04T00:00:00Z".into(),
                boot_files: Vec::new(),
                network_hardware: Vec::new(),
            },
        )
        .unwrap();
        let (d1, d2) = ("a".repeat(64), "b".repeat(64));
        let (k1, k2) = ("1".repeat(64), "2".repeat(64));
        log.append(t0, signed(&d1, &k1, "SoftHSM2 alice / alice-root"))
            .unwrap();
        record(
            &repo,
            &[
                (d1.clone(), k1.clone(), with.as_path(), true),
                (d1.clone(), k2.clone(), without.as_path(), true),
                (d2.clone(), k1.clone(), without.as_path(), true),
            ],
            &[&d1, &d2],
        )
        .unwrap();
        let sources = read(&repo);
        let first = &sources[&d1][&k1];
        assert_eq!(first.stick, with.display().to_string());
        assert_eq!(first.signer.as_deref(), Some("SoftHSM2 alice / alice-root"));
        assert_eq!(sources[&d1][&k2].signer, None);
        // A later merge for another bundle drops what no longer applies.
        record(&repo, &[], &[&d2]).unwrap();
        let sources = read(&repo);
        assert!(!sources.contains_key(&d1));
        assert_eq!(sources[&d2][&k1].stick, without.display().to_string());
    }

    #[test]
    fn a_signature_already_merged_keeps_its_stick_and_one_unrecorded_gets_one() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(dir.path());
        std::fs::create_dir_all(repo.staged()).unwrap();
        let (first, second) = (dir.path().join("s1"), dir.path().join("s2"));
        let d = "c".repeat(64);
        let (k1, k2) = ("1".repeat(64), "2".repeat(64));
        record(
            &repo,
            &[(d.clone(), k1.clone(), first.as_path(), true)],
            &[&d],
        )
        .unwrap();
        // A second merge sees k1 already in the file (and records nothing
        // new for it) and k2, which a killed merge had put in the file
        // without recording it.
        record(
            &repo,
            &[
                (d.clone(), k1.clone(), second.as_path(), false),
                (d.clone(), k2.clone(), second.as_path(), false),
            ],
            &[&d],
        )
        .unwrap();
        let sources = read(&repo);
        assert_eq!(sources[&d][&k1].stick, first.display().to_string());
        assert_eq!(sources[&d][&k2].stick, second.display().to_string());
    }

    #[test]
    fn a_record_at_the_old_staged_name_is_moved_and_a_role_of_that_name_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(dir.path());
        std::fs::create_dir_all(repo.staged()).unwrap();
        let legacy = repo.staged_file(LEGACY_STAGED_NAME);
        let old = r#"{"aaaa":{"1111":{"stick":"/media/s1"}}}"#;
        std::fs::write(&legacy, old).unwrap();
        assert!(migrate_legacy(&repo).unwrap());
        assert!(!legacy.exists());
        assert_eq!(read(&repo)["aaaa"]["1111"].stick, "/media/s1");
        // A delegated role's staged file of that name stays where it is.
        let role = r#"{"signed":{"_type":"targets"},"signatures":[]}"#;
        std::fs::write(&legacy, role).unwrap();
        assert!(!migrate_legacy(&repo).unwrap());
        assert_eq!(std::fs::read_to_string(&legacy).unwrap(), role);
    }
}
