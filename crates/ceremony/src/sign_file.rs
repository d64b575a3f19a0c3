//! Signing one metadata file in place: read it strictly, find which of the
//! offered keys the role lists, sign the canonical bytes, check, write
//! atomically, read back and check again. Any refusal leaves the file
//! byte-identical.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use signers::{SignError, Signer, SignerIdentity};
use time::OffsetDateTime;
use tuf_metadata::threshold::{KeyStatus, ThresholdReport, short_id};
use tuf_metadata::{KeyId, Limits, Metadata};

use crate::signing::{Anchor, PlanError, RecordError, SigningPlan, board};
use metadata_io::{ReadError, read_regular_nofollow, write_atomically};

/// What one signing run did.
#[derive(Debug)]
pub struct SignOutcome {
    /// Each signer that signed, and the key ids its signature went under.
    pub signed_with: Vec<(SignerIdentity, Vec<KeyId>)>,
    /// The threshold board as read back from the written file.
    pub board: Vec<(String, ThresholdReport)>,
    /// Hex SHA-256 of the canonical signed bytes (what the witness compares).
    pub digest: String,
    /// The signature each signer made, in the order of `signed_with` (for
    /// the transcript).
    pub signatures: Vec<tuf_metadata::Signature>,
    /// Hex SHA-256 of the whole file as written and read back.
    pub file_sha256: String,
}

/// Why a file was not signed (it is unchanged) or the write went wrong.
#[derive(Debug, thiserror::Error)]
pub enum SignFileError {
    /// The file could not be read, or is over the size cap.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The file may not be signed.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// None of the offered keys is one the role lists.
    #[error("none of the offered keys ({offered}) may sign this file: {wanted}")]
    NoKeyInRole {
        /// The offered keys, short ids and labels.
        offered: String,
        /// What the file's key sets list.
        wanted: String,
    },
    /// The signer failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The file refused the signature (checked over other bytes, or by a
    /// key no key set lists).
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The signature did not count under the metadata's key id.
    #[error("the new signature does not count for {0}; nothing written")]
    NotCounted(KeyId),
    /// Writing failed: before the rename the old file is in place, after
    /// it the signed one is (the error says which).
    #[error("{path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed, and which file is in place.
        source: metadata_io::WriteError,
    },
    /// What was read back differs from what was written; the old file was
    /// put back.
    #[error("read-back check failed ({0}); the original file was restored")]
    ReadBack(String),
}

/// Signs `path` in place with every offered signer whose key the file's
/// role lists, the role's keys coming from `anchor`.
pub fn sign_file(
    path: &Path,
    anchor: Anchor<'_>,
    now: OffsetDateTime,
    signers: &mut [&mut dyn Signer],
) -> Result<SignOutcome, SignFileError> {
    // Never through a link, never a FIFO: what is read is what is replaced.
    let original = read_regular_nofollow(path, Limits::ANY.max_bytes)?;
    let plan = SigningPlan::with_anchor(&original, anchor, now)?;
    sign_plan(path, &original, plan, signers)
}

/// Signs `plan` (made from `original`, the bytes now at `path`) with every
/// offered signer whose key it lists, and writes it back as [`sign_file`]
/// does: for callers that already built the plan (the ceremony session).
pub fn sign_plan(
    path: &Path,
    original: &[u8],
    mut plan: SigningPlan,
    signers: &mut [&mut dyn Signer],
) -> Result<SignOutcome, SignFileError> {
    let mut signed_with = Vec::new();
    let mut signatures = Vec::new();
    for signer in signers.iter_mut() {
        let keyids = plan.keyids_for(signer.public_key());
        if keyids.is_empty() {
            continue;
        }
        let signature = signer.sign(plan.metadata().signed_bytes())?;
        // Recorded under every key id listing the key that signed, which
        // the plan checks is the key the signer published.
        let recorded = plan.apply(&signature)?;
        signatures.push(signature.to_signature());
        signed_with.push((signer.identity().clone(), recorded));
    }
    if signed_with.is_empty() {
        return Err(no_key_in_role(&plan, signers));
    }
    // Nothing is written unless it verifies under the metadata's own key ids.
    let expected: Vec<&KeyId> = signed_with.iter().flat_map(|(_, ids)| ids).collect();
    check_counted(&plan.board(), &expected).map_err(SignFileError::NotCounted)?;

    let bytes = plan.to_file_bytes();
    remove_stale_temp_files(&[path]);
    write_atomically(path, &bytes).map_err(|source| SignFileError::Write {
        path: path.to_owned(),
        source,
    })?;
    match read_back(path, &plan, &expected) {
        Ok(board) => Ok(SignOutcome {
            signed_with,
            board,
            digest: plan.metadata().signed_digest(),
            signatures,
            file_sha256: tuf_metadata::sha256_hex(&bytes),
        }),
        Err(why) => {
            let restored = write_atomically(path, original);
            Err(SignFileError::ReadBack(match restored {
                Ok(()) => why,
                Err(e) => format!("{why}; restoring the original also failed: {e}"),
            }))
        }
    }
}

/// One file of a batch for [`sign_plans`]: where it is, the bytes read
/// there, and the plan made from them.
pub struct BatchFile {
    /// The file, signed in place.
    pub path: PathBuf,
    /// Its bytes as read (restored if the read-back check fails).
    pub original: Vec<u8>,
    /// The plan made from `original`.
    pub plan: SigningPlan,
}

/// Signs many files as [`sign_plan`] signs one, at the disk's speed: each
/// signer signs every file its key may sign in one [`Signer::sign_many`],
/// then every signed file is written in one batch
/// ([`metadata_io::BatchWriter`]: one syncfs, renames, one fsync per
/// folder) and read back. One result per file, in order; a refused file is
/// unchanged, and a write error says whether the signed file is in place.
pub fn sign_plans(
    files: Vec<BatchFile>,
    signers: &mut [&mut dyn Signer],
) -> Vec<Result<SignOutcome, SignFileError>> {
    struct Work {
        file: BatchFile,
        signed_with: Vec<(SignerIdentity, Vec<KeyId>)>,
        signatures: Vec<tuf_metadata::Signature>,
        failed: Option<SignFileError>,
    }
    let mut work: Vec<Work> = files
        .into_iter()
        .map(|file| Work {
            file,
            signed_with: Vec::new(),
            signatures: Vec::new(),
            failed: None,
        })
        .collect();
    for signer in signers.iter_mut() {
        let mine: Vec<usize> = (0..work.len())
            .filter(|&i| {
                work[i].failed.is_none()
                    && !work[i].file.plan.keyids_for(signer.public_key()).is_empty()
            })
            .collect();
        let messages: Vec<&[u8]> = mine
            .iter()
            .map(|&i| work[i].file.plan.metadata().signed_bytes())
            .collect();
        let results = signer.sign_many(&messages);
        drop(messages);
        for (&i, result) in mine.iter().zip(results) {
            let w = &mut work[i];
            let recorded = result
                .map_err(SignFileError::from)
                .and_then(|s| Ok((w.file.plan.apply(&s)?, s)));
            match recorded {
                Ok((keyids, signature)) => {
                    w.signatures.push(signature.to_signature());
                    w.signed_with.push((signer.identity().clone(), keyids));
                }
                Err(e) => w.failed = Some(e),
            }
        }
    }
    // Nothing is written unless it verifies under the metadata's own key ids.
    for w in work.iter_mut().filter(|w| w.failed.is_none()) {
        if w.signed_with.is_empty() {
            w.failed = Some(no_key_in_role(&w.file.plan, signers));
            continue;
        }
        let expected: Vec<&KeyId> = w.signed_with.iter().flat_map(|(_, ids)| ids).collect();
        if let Err(id) = check_counted(&w.file.plan.board(), &expected) {
            w.failed = Some(SignFileError::NotCounted(id));
        }
    }
    let paths: Vec<&Path> = work.iter().map(|w| w.file.path.as_path()).collect();
    remove_stale_temp_files(&paths);
    drop(paths);
    let mut batch = metadata_io::BatchWriter::new();
    let mut written: Vec<usize> = Vec::new();
    let mut bytes: Vec<Option<Vec<u8>>> = vec![None; work.len()];
    for (i, w) in work
        .iter_mut()
        .enumerate()
        .filter(|(_, w)| w.failed.is_none())
    {
        let file_bytes = w.file.plan.to_file_bytes();
        match batch.add(&w.file.path, &file_bytes) {
            Ok(()) => {
                written.push(i);
                bytes[i] = Some(file_bytes);
            }
            Err(e) => w.failed = Some(batch_write_error(&w.file.path, &e, false)),
        }
    }
    if let Err(e) = batch.commit() {
        let in_place = |n: usize| match &e {
            metadata_io::BatchError::PartlyRenamed { renamed, .. } => n < *renamed,
            other => other.replaced(),
        };
        for (n, &i) in written.iter().enumerate() {
            let w = &mut work[i];
            w.failed = Some(batch_write_error(&w.file.path, &e, in_place(n)));
        }
    }
    work.into_iter()
        .zip(bytes)
        .map(|(w, bytes)| {
            if let Some(e) = w.failed {
                return Err(e);
            }
            let bytes = bytes.expect("written when nothing failed");
            let expected: Vec<&KeyId> = w.signed_with.iter().flat_map(|(_, ids)| ids).collect();
            match read_back(&w.file.path, &w.file.plan, &expected) {
                Ok(board) => Ok(SignOutcome {
                    digest: w.file.plan.metadata().signed_digest(),
                    signed_with: w.signed_with,
                    board,
                    signatures: w.signatures,
                    file_sha256: tuf_metadata::sha256_hex(&bytes),
                }),
                Err(why) => {
                    let restored = write_atomically(&w.file.path, &w.file.original);
                    Err(SignFileError::ReadBack(match restored {
                        Ok(()) => why,
                        Err(e) => format!("{why}; restoring the original also failed: {e}"),
                    }))
                }
            }
        })
        .collect()
}

/// The batch's error as one file's [`SignFileError::Write`], saying
/// whether that file's signed version is in place.
fn batch_write_error(
    path: &Path,
    error: &metadata_io::BatchError,
    in_place: bool,
) -> SignFileError {
    let io = std::io::Error::other(error.to_string());
    SignFileError::Write {
        path: path.to_owned(),
        source: if in_place {
            metadata_io::WriteError::NotSynced(io)
        } else {
            metadata_io::WriteError::NotWritten(io)
        },
    }
}

/// Removes the `.<name>.tmp-<pid>` files beside each of `paths` that a
/// write killed mid-way left (their process is gone; the names are
/// metadata-io's writers'): without this, a stick keeps them after every
/// later signing. One listing per directory, however many files. Best
/// effort: what cannot be removed is left as it was.
fn remove_stale_temp_files(paths: &[&Path]) {
    let mut by_dir: BTreeMap<&Path, BTreeSet<&std::ffi::OsStr>> = BTreeMap::new();
    for path in paths {
        let Some(name) = path.file_name() else {
            continue;
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        by_dir.entry(dir).or_default().insert(name);
    }
    for (dir, names) in by_dir {
        metadata_io::remove_stale_temp_files(dir, |name| {
            names.contains(std::ffi::OsStr::new(name))
        });
    }
}

fn read_back(
    path: &Path,
    plan: &SigningPlan,
    expected: &[&KeyId],
) -> Result<Vec<(String, ThresholdReport)>, String> {
    let bytes = read_regular_nofollow(path, Limits::ANY.max_bytes)
        .map_err(|e| format!("cannot read back: {e}"))?;
    let written = Metadata::parse(&bytes, &Limits::ANY).map_err(|e| e.to_string())?;
    if written.signed_bytes() != plan.metadata().signed_bytes() {
        return Err("the signed content changed on the way to the disk".into());
    }
    let board = board(plan.key_sets(), &written);
    check_counted(&board, expected).map_err(|id| format!("signature {id} does not count"))?;
    Ok(board)
}

/// Every expected key id must count (or be the same key as one that does)
/// in at least one key set.
fn check_counted(board: &[(String, ThresholdReport)], expected: &[&KeyId]) -> Result<(), KeyId> {
    for id in expected {
        let counts = board.iter().any(|(_, report)| {
            report.keys.iter().any(|(k, status)| {
                k == *id && matches!(status, KeyStatus::Counted | KeyStatus::SameKeyAs(_))
            })
        });
        if !counts {
            return Err((*id).clone());
        }
    }
    Ok(())
}

fn no_key_in_role(plan: &SigningPlan, signers: &[&mut dyn Signer]) -> SignFileError {
    let offered = signers
        .iter()
        .map(|s| {
            let label = &s.identity().key_label;
            if label.is_empty() {
                short_id(&s.key_id()).to_owned()
            } else {
                format!("{} {label:?}", short_id(&s.key_id()))
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let wanted = plan
        .key_sets()
        .iter()
        .map(|set| {
            let ids: Vec<&str> = set.role.keyids.iter().map(|id| short_id(id)).collect();
            format!("{} lists {}", set.label, ids.join(" "))
        })
        .collect::<Vec<_>>()
        .join("; ");
    SignFileError::NoKeyInRole {
        offered: if offered.is_empty() {
            "none".into()
        } else {
            offered
        },
        wanted,
    }
}

#[cfg(test)]
mod tests {
    use signers::{Backend, CheckedSignature};
    use time::macros::datetime;
    use tuf_metadata::Key;
    use tuf_metadata::testing::{TestKey, file_bytes, root, signed};

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-22 09:30 UTC);

    /// A signer whose signature is properly self-checked, but over the
    /// bytes it chooses: `other` set, over bytes that are not the file's.
    struct Lying {
        key: TestKey,
        identity: SignerIdentity,
        other: Option<Vec<u8>>,
    }

    impl Lying {
        fn new(seed: u8, other: Option<&[u8]>) -> Self {
            Lying {
                key: TestKey::from_seed(seed),
                identity: SignerIdentity {
                    backend: Backend::Software,
                    model: "test".into(),
                    serial: String::new(),
                    token_label: String::new(),
                    key_label: format!("key {seed}"),
                    slot: None,
                },
                other: other.map(<[u8]>::to_vec),
            }
        }
    }

    impl Signer for Lying {
        fn public_key(&self) -> &Key {
            self.key.key()
        }
        fn identity(&self) -> &SignerIdentity {
            &self.identity
        }
        fn sign(&mut self, canonical_bytes: &[u8]) -> Result<CheckedSignature, SignError> {
            let bytes = self.other.as_deref().unwrap_or(canonical_bytes);
            signers::checked_signature(self.key.key(), bytes, &self.key.sign_bytes(bytes))
        }
    }

    /// Trusted root v1 (key 1) and a stick file holding staged v2.
    fn staged(dir: &Path) -> (Metadata<tuf_metadata::Root>, PathBuf) {
        let k1 = TestKey::from_seed(1);
        let v1 = signed(root(1, &[&k1], 1, "2030-01-01T00:00:00Z"), &[&k1]);
        let v2 = Metadata::new(root(2, &[&k1], 1, "2030-01-01T00:00:00Z"));
        let path = dir.join("root.json");
        std::fs::write(&path, file_bytes(&v2)).unwrap();
        (v1, path)
    }

    #[test]
    fn a_signature_checked_over_other_bytes_is_refused_and_the_file_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let (v1, path) = staged(dir.path());
        let before = std::fs::read(&path).unwrap();
        let mut liar = Lying::new(1, Some(b"{\"_type\":\"root\",\"version\":99}"));
        let err = sign_file(&path, Anchor::Trusted(&v1), NOW, &mut [&mut liar]).unwrap_err();
        assert!(
            matches!(err, SignFileError::Record(RecordError::OtherBytes { .. })),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);

        let mut honest = Lying::new(1, None);
        let outcome = sign_file(&path, Anchor::Trusted(&v1), NOW, &mut [&mut honest]).unwrap();
        let id = TestKey::from_seed(1).id();
        assert_eq!(outcome.signed_with[0].1, vec![id.clone()]);
        assert_eq!(outcome.signatures[0].keyid, id);
        assert!(outcome.board.iter().all(|(_, report)| report.is_met()));
    }

    #[test]
    fn a_batch_signs_the_files_its_key_may_sign_and_refuses_the_others_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let (v1, first) = staged(dir.path());
        let second = dir.path().join("sub/root.json");
        std::fs::create_dir_all(second.parent().unwrap()).unwrap();
        std::fs::copy(&first, &second).unwrap();
        // A third file: root v2 of another chain, where only key 2 signs.
        let k2 = TestKey::from_seed(2);
        let v2_of_other = signed(root(1, &[&k2], 1, "2030-01-01T00:00:00Z"), &[&k2]);
        let third = dir.path().join("other.json");
        let other = Metadata::new(root(2, &[&k2], 1, "2030-01-01T00:00:00Z"));
        std::fs::write(&third, file_bytes(&other)).unwrap();
        let before_third = std::fs::read(&third).unwrap();
        let file = |path: &Path, anchor: &Metadata<tuf_metadata::Root>| {
            let original = std::fs::read(path).unwrap();
            let plan = SigningPlan::with_anchor(&original, Anchor::Trusted(anchor), NOW).unwrap();
            BatchFile {
                path: path.to_owned(),
                original,
                plan,
            }
        };
        let files = vec![
            file(&first, &v1),
            file(&third, &v2_of_other),
            file(&second, &v1),
        ];
        let mut honest = Lying::new(1, None);
        let results = sign_plans(files, &mut [&mut honest]);
        assert_eq!(results.len(), 3);
        let id = TestKey::from_seed(1).id();
        for (index, path) in [(0, &first), (2, &second)] {
            let outcome = results[index].as_ref().unwrap();
            assert_eq!(outcome.signed_with[0].1, vec![id.clone()]);
            assert!(outcome.board.iter().all(|(_, report)| report.is_met()));
            let written = std::fs::read(path).unwrap();
            assert_eq!(outcome.file_sha256, tuf_metadata::sha256_hex(&written));
        }
        assert!(
            matches!(results[1], Err(SignFileError::NoKeyInRole { .. })),
            "{:?}",
            results[1]
        );
        assert_eq!(std::fs::read(&third).unwrap(), before_third);
        let leftovers = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".tmp-")
            })
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn a_staged_file_that_is_a_link_is_neither_read_nor_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let (v1, target) = staged(dir.path());
        let before = std::fs::read(&target).unwrap();
        let link = dir.path().join("linked.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut honest = Lying::new(1, None);
        let err = sign_file(&link, Anchor::Trusted(&v1), NOW, &mut [&mut honest]).unwrap_err();
        assert!(
            matches!(err, SignFileError::Read(ReadError::Symlink)),
            "{err}"
        );
        assert_eq!(std::fs::read(&target).unwrap(), before);
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    }

    #[test]
    fn temp_files_of_killed_writes_of_this_file_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.json");
        let gone = dir.path().join(".root.json.tmp-999999999");
        let live = dir
            .path()
            .join(format!(".root.json.tmp-{}", std::process::id()));
        let other = dir.path().join(".targets.json.tmp-999999999");
        for file in [&path, &gone, &live, &other] {
            std::fs::write(file, b"x").unwrap();
        }
        remove_stale_temp_files(&[&path]);
        assert!(!gone.exists());
        assert!(path.exists() && live.exists() && other.exists());
    }
}
