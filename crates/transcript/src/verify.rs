//! Checking a transcript file ([`verify`]) and matching it against signed
//! metadata ([`check_signatures`]). Both are pure: bytes in, verdict out.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tuf_metadata::{JsonError, Key, Limits, Metadata, ParseError};

use crate::entry::{Entry, Event, WitnessSignature};
use crate::{GENESIS_PREV, MAX_TRANSCRIPT_BYTES, is_sha256_hex, line_hash};

/// Why a transcript, or a metadata file checked against it, is refused.
/// Every problem in the transcript names its line (1-based), so a witness
/// can find it with any text viewer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The file is over [`MAX_TRANSCRIPT_BYTES`].
    #[error("transcript is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Bytes given.
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// A line is wrong.
    #[error("line {line}: {problem}")]
    Line {
        /// 1-based line number (seq + 1 for a well-formed file).
        line: usize,
        /// What is wrong with it.
        problem: LineProblem,
    },
    /// The metadata file given to [`check_signatures`] does not parse.
    #[error("not valid TUF metadata: {error}")]
    Metadata {
        /// The metadata file's name, as given.
        file: String,
        /// The parser's reason.
        error: ParseError,
    },
    /// No `signed` entry concerns this metadata: either the wrong file or
    /// the wrong transcript, or the signature was never made here.
    #[error("the transcript records no signature of {file} (canonical sha256 {digest})")]
    NoSignatureRecorded {
        /// The metadata file's name.
        file: String,
        /// Its canonical digest.
        digest: String,
    },
    /// The transcript says a signature was made that the file does not carry.
    #[error(
        "line {line} (seq {seq}) records a signature of {file} by key id {keyid}, and {file} has no signature by that key id"
    )]
    SignatureMissing {
        /// The metadata file's name.
        file: String,
        /// 1-based line of the `signed` entry.
        line: u64,
        /// Its seq.
        seq: u64,
        /// The key id whose signature is missing.
        keyid: String,
    },
    /// The file carries a different signature than the one recorded.
    #[error(
        "line {line} (seq {seq}) records a signature of {file} by key id {keyid} that differs from the one in {file}"
    )]
    SignatureDiffers {
        /// The metadata file's name.
        file: String,
        /// 1-based line of the `signed` entry.
        line: u64,
        /// Its seq.
        seq: u64,
        /// The key id whose signature differs.
        keyid: String,
    },
}

/// What is wrong with one line of a transcript.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    /// The file does not end with a newline: the last write was cut off.
    #[error(
        "is incomplete (no newline at the end of the file): the transcript was cut off while being written"
    )]
    Incomplete,
    /// Nothing on the line; the appliance never writes one.
    #[error("is empty")]
    Empty,
    /// Not strict JSON (duplicate key, float, not UTF-8, …).
    #[error("is not strict JSON: {0}")]
    Json(JsonError),
    /// JSON, but not an entry (missing or unknown field, unknown event…).
    /// Escaped: the parser quotes the hostile name (an unknown event,
    /// say) and this text reaches a witness's terminal.
    #[error("is not a transcript entry: {}", tuf_metadata::escape(.0))]
    Shape(String),
    /// Parses, but is not byte for byte how the entry serializes.
    #[error(
        "is not exactly what the appliance writes for this entry (whitespace, key order, escaping or an extra field differs)"
    )]
    NotCanonical,
    /// `seq` out of step.
    #[error("seq is {found}, expected {expected}: a line is missing, repeated or out of order")]
    Seq {
        /// seq on the line.
        found: u64,
        /// What it should be.
        expected: u64,
    },
    /// `prev` is not the hash of the line before.
    #[error(
        "prev {} is not the hash of the line before ({expected}): an earlier line was changed, removed or reordered",
        tuf_metadata::escape(found)
    )]
    Prev {
        /// prev on the line.
        found: String,
        /// The hash of the previous line (or the genesis value).
        expected: String,
    },
    /// `time` is not RFC 3339 UTC to the second.
    #[error("time {0:?} is not RFC 3339 UTC to the second (like 2026-11-22T10:00:00Z)")]
    Time(String),
    /// A digest field is not 64 lowercase hex characters.
    #[error("{field} {value:?} is not a SHA-256 digest (64 lowercase hex characters)")]
    Digest {
        /// The field's name.
        field: &'static str,
        /// Its value.
        value: String,
    },
    /// The `signature` of a `signed` entry is not lowercase hex.
    #[error("signature {0:?} is not lowercase hex")]
    SignatureNotHex(String),
    /// A witness signature does not check out.
    #[error("witness signature does not verify: {}", tuf_metadata::escape(.0))]
    Witness(String),
}

/// What [`check_signatures`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureCheck {
    /// `signed` entries for this metadata whose signatures are in the file.
    pub matched: usize,
    /// `signed` entries for other content (other files, or other versions
    /// of this one): not checked against this file.
    pub recorded_for_other_content: usize,
    /// `signed` entries for this metadata replaced by a later signature
    /// under the same key ids (a re-signing; ECDSA signatures differ each
    /// time), so not expected in the file.
    pub superseded: usize,
}

/// Checks a whole transcript file and returns its entries.
///
/// Refuses, naming the line: a line that is not strict JSON or not exactly
/// the serialization of its entry, a seq out of step, a broken chain, a
/// bad time or digest, a failing witness signature, an empty line, and a
/// last line without its newline. An empty file is a transcript with no
/// entries (the caller decides whether that is acceptable).
pub fn verify(bytes: &[u8]) -> Result<Vec<Entry>, VerifyError> {
    if bytes.len() > MAX_TRANSCRIPT_BYTES {
        return Err(VerifyError::TooLarge {
            size: bytes.len(),
            limit: MAX_TRANSCRIPT_BYTES,
        });
    }
    let mut entries = Vec::new();
    if bytes.is_empty() {
        return Ok(entries);
    }
    let body = match bytes.strip_suffix(b"\n") {
        Some(body) => body,
        None => {
            let line = bytes.split(|&b| b == b'\n').count();
            return Err(line_error(line, LineProblem::Incomplete));
        }
    };
    let mut prev = GENESIS_PREV.to_owned();
    for (index, line) in body.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let entry = check_line(line, index as u64, &prev).map_err(|p| line_error(number, p))?;
        prev = line_hash(line);
        entries.push(entry);
    }
    Ok(entries)
}

fn line_error(line: usize, problem: LineProblem) -> VerifyError {
    VerifyError::Line { line, problem }
}

/// All checks of one line (without its newline) expected at `seq` after a
/// line hashing to `prev`.
pub(crate) fn check_line(line: &[u8], seq: u64, prev: &str) -> Result<Entry, LineProblem> {
    if line.is_empty() {
        return Err(LineProblem::Empty);
    }
    // serde_json alone keeps the last of duplicate keys and reads floats;
    // the strict parser refuses both before serde sees the line.
    tuf_metadata::json::parse(line, MAX_TRANSCRIPT_BYTES).map_err(LineProblem::Json)?;
    let entry: Entry =
        serde_json::from_slice(line).map_err(|e| LineProblem::Shape(e.to_string()))?;
    let again = serde_json::to_string(&entry).map_err(|e| LineProblem::Shape(e.to_string()))?;
    if again.as_bytes() != line {
        return Err(LineProblem::NotCanonical);
    }
    if entry.seq != seq {
        return Err(LineProblem::Seq {
            found: entry.seq,
            expected: seq,
        });
    }
    if entry.prev != prev {
        return Err(LineProblem::Prev {
            found: entry.prev,
            expected: prev.to_owned(),
        });
    }
    check_fields(&entry)?;
    Ok(entry)
}

/// `time` as the writer formats it: UTC, whole seconds, `Z`.
pub(crate) fn format_time(time: OffsetDateTime) -> Option<String> {
    let utc = time
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .ok()?;
    utc.format(&Rfc3339).ok()
}

/// Field checks beyond the chain: time, digests, hex, witness signature.
/// The writer runs them too, so it never writes what the verifier refuses.
pub(crate) fn check_fields(entry: &Entry) -> Result<(), LineProblem> {
    let canonical_time = OffsetDateTime::parse(&entry.time, &Rfc3339)
        .ok()
        .and_then(format_time);
    if canonical_time.as_deref() != Some(entry.time.as_str()) {
        return Err(LineProblem::Time(entry.time.clone()));
    }
    let digest = |field: &'static str, value: &str| {
        if is_sha256_hex(value) {
            Ok(())
        } else {
            Err(LineProblem::Digest {
                field,
                value: value.to_owned(),
            })
        }
    };
    match &entry.event {
        Event::MediaLoaded { files, .. } => {
            for f in files {
                digest("sha256", &f.sha256)?;
            }
        }
        Event::TrustedRoot {
            canonical_sha256, ..
        }
        | Event::ReviewAcknowledged {
            canonical_sha256, ..
        } => digest("canonical_sha256", canonical_sha256)?,
        Event::Signed {
            canonical_sha256,
            signature,
            ..
        } => {
            digest("canonical_sha256", canonical_sha256)?;
            let lower_hex = signature
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if signature.is_empty() || signature.len() % 2 != 0 || !lower_hex {
                return Err(LineProblem::SignatureNotHex(signature.clone()));
            }
        }
        Event::Written { sha256, .. } => digest("sha256", sha256)?,
        Event::WitnessSignoff {
            signature: Some(signature),
            ..
        } => check_witness(signature, &entry.prev).map_err(LineProblem::Witness)?,
        Event::SessionStarted { .. }
        | Event::HardwareAcknowledged { .. }
        | Event::ClockConfirmed { .. }
        | Event::Failed { .. }
        | Event::TokenRefused { .. }
        | Event::StickError { .. }
        | Event::WitnessSignoff { .. }
        | Event::SessionFinished { .. } => {}
    }
    Ok(())
}

/// Checks a witness signature over the ASCII bytes of `prev`.
fn check_witness(signature: &WitnessSignature, prev: &str) -> Result<(), String> {
    let text = serde_json::to_vec(&signature.key).map_err(|e| e.to_string())?;
    let value =
        tuf_metadata::json::parse(&text, MAX_TRANSCRIPT_BYTES).map_err(|e| format!("key: {e}"))?;
    let key = Key::from_value(value).map_err(|e| format!("key: {e}"))?;
    let computed = key.key_id();
    if computed != signature.keyid {
        return Err(format!(
            "key id {} does not match its key (computed {computed})",
            signature.keyid
        ));
    }
    let public = key.public_key().map_err(|e| format!("key: {e}"))?;
    public
        .verify_hex(prev.as_bytes(), &signature.sig)
        .map_err(|e| format!("key id {}: {e}", signature.keyid))
}

/// The `signed` entries (indexes) for the file `name` whose canonical
/// content is `digest`. Entries for the same content are narrowed to those
/// recorded for this very file when any is (its path on the stick, e.g.
/// `staged/bins-01.json`, ends `name` component-wise): thousands of empty
/// hash bins share one digest, and each bin carries only its own
/// signature. A file under another name (a merged or committed copy) is
/// matched by content alone.
fn entries_for(entries: &[Entry], digest: &str, name: &str) -> Vec<usize> {
    let same_content: Vec<usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            matches!(&e.event, Event::Signed { canonical_sha256, .. } if canonical_sha256 == digest)
        })
        .map(|(i, _)| i)
        .collect();
    let given: Vec<&str> = name.split('/').filter(|c| !c.is_empty()).collect();
    let this_file: Vec<usize> = same_content
        .iter()
        .copied()
        .filter(|&i| match &entries[i].event {
            Event::Signed { file, .. } => {
                let recorded: Vec<&str> = file.split('/').filter(|c| !c.is_empty()).collect();
                !recorded.is_empty() && given.ends_with(&recorded)
            }
            _ => false,
        })
        .collect();
    if this_file.is_empty() {
        same_content
    } else {
        this_file
    }
}

/// Checks that every signature the transcript records over the content of
/// a metadata file is in that file, byte for byte.
///
/// `entries` are those [`verify`] returned (line = seq + 1). The metadata is
/// matched by the SHA-256 of its canonical `signed` bytes, so a file that
/// was merged with other keyholders' signatures still matches. When the
/// same key id signed the same content twice, only the later signature is
/// expected in the file (it replaced the earlier one). No `signed` entry
/// for this content at all is an error: the witness was handed the wrong
/// file or the wrong transcript.
pub fn check_signatures(
    entries: &[Entry],
    metadata_file_name: &str,
    metadata_bytes: &[u8],
) -> Result<SignatureCheck, VerifyError> {
    let metadata =
        Metadata::parse(metadata_bytes, &Limits::ANY).map_err(|error| VerifyError::Metadata {
            file: metadata_file_name.to_owned(),
            error,
        })?;
    let digest = metadata.signed_digest();
    let chosen = entries_for(entries, &digest, metadata_file_name);
    let in_file: BTreeMap<&str, &str> = metadata
        .signatures()
        .iter()
        .map(|s| (s.keyid.as_str(), s.sig.as_str()))
        .collect();
    // The last entry per key id for this content; earlier ones are superseded.
    let mut latest: BTreeMap<&str, usize> = BTreeMap::new();
    let mut other = 0;
    let mut ours = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        if let Event::Signed { keyids, .. } = &entry.event {
            if chosen.contains(&index) {
                for keyid in keyids {
                    latest.insert(keyid, index);
                }
                ours.push(index);
            } else {
                other += 1;
            }
        }
    }
    if ours.is_empty() {
        return Err(VerifyError::NoSignatureRecorded {
            file: metadata_file_name.to_owned(),
            digest,
        });
    }
    let mut check = SignatureCheck {
        matched: 0,
        recorded_for_other_content: other,
        superseded: 0,
    };
    for index in ours {
        let entry = &entries[index];
        let Event::Signed {
            keyids, signature, ..
        } = &entry.event
        else {
            continue;
        };
        let current: Vec<&String> = keyids
            .iter()
            .filter(|k| latest.get(k.as_str()) == Some(&index))
            .collect();
        if current.is_empty() {
            check.superseded += 1;
            continue;
        }
        for keyid in current {
            let at = (entry.seq.saturating_add(1), entry.seq);
            match in_file.get(keyid.as_str()) {
                None => {
                    return Err(VerifyError::SignatureMissing {
                        file: metadata_file_name.to_owned(),
                        line: at.0,
                        seq: at.1,
                        keyid: keyid.clone(),
                    });
                }
                Some(sig) if *sig != signature.as_str() => {
                    return Err(VerifyError::SignatureDiffers {
                        file: metadata_file_name.to_owned(),
                        line: at.0,
                        seq: at.1,
                        keyid: keyid.clone(),
                    });
                }
                Some(_) => {}
            }
        }
        check.matched += 1;
    }
    Ok(check)
}

/// The key ids of signatures in a metadata file that no `signed` entry of
/// the transcript records for that file's content (its canonical digest),
/// in the file's order.
///
/// [`check_signatures`] proves the transcript's signatures are in the file;
/// this is the other direction. A signature made elsewhere (another stick,
/// another session's transcript, or added by the online machine) is not
/// wrong in itself, so callers warn rather than refuse: the witness should
/// know which signatures this ceremony does not vouch for.
pub fn unrecorded_signatures(
    entries: &[Entry],
    metadata_file_name: &str,
    metadata_bytes: &[u8],
) -> Result<Vec<String>, VerifyError> {
    let metadata =
        Metadata::parse(metadata_bytes, &Limits::ANY).map_err(|error| VerifyError::Metadata {
            file: metadata_file_name.to_owned(),
            error,
        })?;
    let digest = metadata.signed_digest();
    let recorded: std::collections::BTreeSet<&str> =
        entries_for(entries, &digest, metadata_file_name)
            .into_iter()
            .filter_map(|index| match &entries[index].event {
                Event::Signed { keyids, .. } => Some(keyids),
                _ => None,
            })
            .flatten()
            .map(String::as_str)
            .collect();
    Ok(metadata
        .signatures()
        .iter()
        .filter(|s| !recorded.contains(s.keyid.as_str()))
        .map(|s| s.keyid.clone())
        .collect())
}
