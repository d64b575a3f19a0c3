//! The transcript as a witness relies on it: what the appliance appends
//! verifies, and every kind of tampering is refused at the right line.

use std::path::Path;

use time::OffsetDateTime;
use time::macros::datetime;
use tuf_metadata::testing::{TestKey, file_bytes, root, signed};

use crate::*;

const T0: OffsetDateTime = datetime!(2026-11-22 10:00:00 UTC);

fn digest(byte: u8) -> String {
    hex::encode([byte; 32])
}

/// A plausible session: start, clock, media, trusted root, review, a
/// signature, a write, finish.
fn session() -> Vec<Event> {
    vec![
        Event::SessionStarted {
            tool: "ceremony 0.1.0".into(),
            host_clock: "2026-11-22T09:58:12Z".into(),
            boot_files: Vec::new(),
            network_hardware: Vec::new(),
        },
        Event::ClockConfirmed {
            confirmed: "2026-11-22T10:00:00Z".into(),
            host_clock: "2026-11-22T09:58:20Z".into(),
        },
        Event::MediaLoaded {
            media: "/media/CEREMONY".into(),
            layout: "ceremony-bundle".into(),
            files: vec![FileDigest {
                file: "staged/root.json".into(),
                sha256: digest(1),
                size: 1234,
            }],
        },
        Event::TrustedRoot {
            file: "repository/4.root.json".into(),
            version: 4,
            canonical_sha256: digest(2),
            pinned: false,
        },
        Event::ReviewAcknowledged {
            file: "staged/root.json".into(),
            role: "root".into(),
            version: 5,
            canonical_sha256: digest(3),
        },
        Event::Signed {
            file: "staged/root.json".into(),
            role: "root".into(),
            version: 5,
            canonical_sha256: digest(3),
            keyids: vec![digest(4)],
            signer: "softhsm2 token alice key alice-root".into(),
            signature: "ab".repeat(64),
        },
        Event::Written {
            file: "staged/root.json".into(),
            sha256: digest(5),
        },
        Event::SessionFinished {
            summary: vec!["staged/root.json v5: signed by 1 key".into()],
        },
    ]
}

fn at(minutes: i64) -> OffsetDateTime {
    T0 + time::Duration::minutes(minutes)
}

/// Writes `events` to a new transcript at `path` and returns the file bytes.
fn write_session(path: &Path, events: Vec<Event>) -> Vec<u8> {
    let mut transcript = Transcript::open(path, false).unwrap();
    for (i, event) in events.into_iter().enumerate() {
        transcript.append(at(i as i64), event).unwrap();
    }
    std::fs::read(path).unwrap()
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn join(lines: &[String]) -> Vec<u8> {
    let mut out = lines.join("\n").into_bytes();
    out.push(b'\n');
    out
}

/// The line number and problem of a refusal.
fn refused_at(bytes: &[u8]) -> (usize, LineProblem) {
    match verify(bytes) {
        Err(VerifyError::Line { line, problem }) => (line, problem),
        other => panic!("expected a line error, got {other:?}"),
    }
}

fn sample() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = write_session(&dir.path().join("transcript.jsonl"), session());
    (dir, bytes)
}

#[test]
fn a_line_is_exactly_this_text_with_fields_in_the_documented_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let mut transcript = Transcript::open(&path, false).unwrap();
    let time = datetime!(2026-11-22 11:00:00.123456 +01:00);
    transcript.append(time, session().remove(0)).unwrap();
    let expected = concat!(
        r#"{"seq":0,"prev":"0000000000000000000000000000000000000000000000000000000000000000","#,
        r#""time":"2026-11-22T10:00:00Z","drill":false,"event":"session_started","#,
        r#""tool":"ceremony 0.1.0","host_clock":"2026-11-22T09:58:12Z"}"#,
        "\n"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    assert_eq!(
        transcript.head(),
        line_hash(expected.trim_end().as_bytes()),
        "the head is the hash of the line without its newline"
    );
}

#[test]
fn every_event_tag_is_its_documented_name() {
    let mut events = session();
    events.push(Event::Failed {
        step: "sign".into(),
        file: None,
        error: "PIN incorrect".into(),
    });
    events.push(Event::WitnessSignoff {
        name: "Bob".into(),
        statement: "I watched".into(),
        signature: None,
    });
    for event in events {
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(value["event"], event.name(), "{value}");
    }
}

#[test]
fn an_appended_transcript_verifies_and_its_head_is_the_last_lines_hash() {
    let (_dir, bytes) = sample();
    let entries = verify(&bytes).unwrap();
    assert_eq!(entries.len(), 8);
    assert_eq!(entries[0].prev, GENESIS_PREV);
    let all = lines(&bytes);
    for (i, entry) in entries.iter().enumerate().skip(1) {
        assert_eq!(entry.seq, i as u64);
        assert_eq!(entry.prev, line_hash(all[i - 1].as_bytes()));
    }
    assert_eq!(entries[7].time, "2026-11-22T10:07:00Z");
    assert!(
        verify(b"").unwrap().is_empty(),
        "an empty file has no entries"
    );
}

#[test]
fn an_edited_field_is_refused_at_the_line_after_it() {
    let (_dir, bytes) = sample();
    let mut all = lines(&bytes);
    all[4] = all[4].replace(r#""version":5"#, r#""version":6"#);
    let (line, problem) = refused_at(&join(&all));
    assert_eq!(line, 6, "line 6's prev no longer matches line 5");
    assert!(matches!(problem, LineProblem::Prev { .. }), "{problem}");
    let message = verify(&join(&all)).unwrap_err().to_string();
    assert!(message.starts_with("line 6: prev "), "{message}");
}

#[test]
fn editing_the_last_line_changes_the_head_the_witness_wrote_down() {
    let (_dir, bytes) = sample();
    let mut all = lines(&bytes);
    let head = line_hash(all[7].as_bytes());
    all[7] = all[7].replace("signed by 1 key", "signed by 2 keys");
    verify(&join(&all)).unwrap();
    assert_ne!(line_hash(all[7].as_bytes()), head);
}

#[test]
fn a_removed_line_is_refused() {
    let (_dir, bytes) = sample();
    let mut all = lines(&bytes);
    all.remove(2);
    let (line, problem) = refused_at(&join(&all));
    assert_eq!(line, 3);
    assert_eq!(
        problem,
        LineProblem::Seq {
            found: 3,
            expected: 2
        }
    );
}

#[test]
fn reordered_lines_are_refused() {
    let (_dir, bytes) = sample();
    let mut all = lines(&bytes);
    all.swap(3, 4);
    let (line, problem) = refused_at(&join(&all));
    assert_eq!(line, 4);
    assert!(matches!(
        problem,
        LineProblem::Seq {
            found: 4,
            expected: 3
        }
    ));
}

#[test]
fn changed_whitespace_is_refused() {
    let (_dir, bytes) = sample();
    let mut all = lines(&bytes);
    all[1] = all[1].replacen(r#","prev""#, r#", "prev""#, 1);
    assert_eq!(refused_at(&join(&all)), (2, LineProblem::NotCanonical));
    let mut all = lines(&bytes);
    all[2].push(' ');
    assert_eq!(refused_at(&join(&all)), (3, LineProblem::NotCanonical));
    let mut all = lines(&bytes);
    all[3].push('\r');
    assert_eq!(refused_at(&join(&all)), (4, LineProblem::NotCanonical));
}

#[test]
fn a_duplicate_key_is_refused() {
    let (_dir, bytes) = sample();
    let mut all = lines(&bytes);
    all[1] = all[1].replacen(r#""drill":false,"#, r#""drill":false,"drill":true,"#, 1);
    let (line, problem) = refused_at(&join(&all));
    assert_eq!(line, 2);
    assert!(
        matches!(&problem, LineProblem::Json(e) if e.code() == "duplicate-key"),
        "{problem}"
    );
}

#[test]
fn an_unknown_field_a_float_and_an_unknown_event_are_refused() {
    let (_dir, bytes) = sample();
    let mut all = lines(&bytes);
    all[6] = all[6].replacen('}', r#","note":"x"}"#, 1);
    let (line, problem) = refused_at(&join(&all));
    assert_eq!(line, 7);
    assert!(problem.to_string().contains("unknown field"), "{problem}");

    let mut all = lines(&bytes);
    all[3] = all[3].replacen(r#""version":4"#, r#""version":4.0"#, 1);
    let (line, problem) = refused_at(&join(&all));
    assert_eq!(line, 4);
    assert!(matches!(&problem, LineProblem::Json(e) if e.code() == "not-an-integer"));

    let mut all = lines(&bytes);
    all[6] = all[6].replacen(r#""event":"written""#, r#""event":"erased""#, 1);
    let (line, problem) = refused_at(&join(&all));
    assert_eq!(line, 7);
    assert!(matches!(problem, LineProblem::Shape(_)), "{problem}");
}

#[test]
fn a_torn_last_line_is_refused_and_never_continued() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let bytes = write_session(&path, session());
    let torn = &bytes[..bytes.len() - 10];
    assert_eq!(refused_at(torn), (8, LineProblem::Incomplete));
    let cut = &bytes[..bytes.len() - 1];
    assert_eq!(refused_at(cut), (8, LineProblem::Incomplete));

    std::fs::write(&path, torn).unwrap();
    let err = Transcript::open(&path, false).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("t.jsonl"), "{message}");
    assert!(message.contains("line 8: is incomplete"), "{message}");
    assert!(message.contains("refusing to continue"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), torn, "left untouched");
}

#[test]
fn a_wrong_prev_is_refused() {
    let (_dir, bytes) = sample();
    let mut all = lines(&bytes);
    let real = line_hash(all[0].as_bytes());
    all[1] = all[1].replacen(&real, &digest(9), 1);
    let (line, problem) = refused_at(&join(&all));
    assert_eq!(line, 2);
    assert_eq!(
        problem,
        LineProblem::Prev {
            found: digest(9),
            expected: real
        }
    );
}

#[test]
fn a_seq_gap_is_refused() {
    let (_dir, bytes) = sample();
    let mut all = lines(&bytes);
    all[2] = all[2].replacen(r#"{"seq":2,"#, r#"{"seq":3,"#, 1);
    assert_eq!(
        refused_at(&join(&all)),
        (
            3,
            LineProblem::Seq {
                found: 3,
                expected: 2
            }
        )
    );
}

#[test]
fn an_empty_line_is_refused() {
    let (_dir, bytes) = sample();
    let mut all = lines(&bytes);
    all.insert(3, String::new());
    assert_eq!(refused_at(&join(&all)), (4, LineProblem::Empty));
}

#[test]
fn reopening_continues_the_chain_across_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let first = write_session(&path, session());
    let mut transcript = Transcript::open(&path, true).unwrap();
    assert_eq!(transcript.len(), 8);
    assert_eq!(transcript.head(), line_hash(lines(&first)[7].as_bytes()));
    let entry = transcript
        .append(at(60), session().remove(0))
        .unwrap()
        .clone();
    assert_eq!(entry.seq, 8);
    assert!(entry.drill);
    drop(transcript);

    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(&first), "earlier lines untouched");
    let entries = verify(&bytes).unwrap();
    assert_eq!(entries.len(), 9);
    assert_eq!(entries[8].prev, line_hash(lines(&first)[7].as_bytes()));
}

#[test]
fn the_file_is_created_only_by_the_first_append_and_never_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let mut transcript = Transcript::open(&path, false).unwrap();
    assert!(!path.exists(), "opening alone writes nothing");
    assert_eq!(transcript.path(), Some(path.as_path()));

    // Someone else created the file meanwhile: create_new refuses it.
    std::fs::write(&path, b"").unwrap();
    let err = transcript.append(T0, session().remove(0)).unwrap_err();
    assert!(matches!(err, TranscriptError::Open { .. }), "{err}");
    assert!(err.to_string().contains("was not recorded"), "{err}");
    assert!(transcript.is_empty(), "not kept in memory");
}

#[test]
fn an_entry_that_cannot_be_written_is_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("t.jsonl");
    let mut transcript = Transcript::open(&path, false).unwrap();
    let err = transcript.append(T0, session().remove(0)).unwrap_err();
    assert!(err.to_string().contains("was not recorded"), "{err}");
    assert_eq!(transcript.len(), 0);
    assert_eq!(transcript.head(), GENESIS_PREV);
}

#[test]
fn a_file_changed_behind_the_writers_back_is_not_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    write_session(&path, session());
    let mut transcript = Transcript::open(&path, false).unwrap();
    let mut other = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut other, b"{}\n").unwrap();
    let err = transcript.append(at(9), session().remove(0)).unwrap_err();
    assert!(matches!(err, TranscriptError::Changed { .. }), "{err}");
    assert_eq!(transcript.len(), 8);
}

#[test]
fn an_entry_the_verifier_would_refuse_is_not_written() {
    let mut transcript = Transcript::in_memory(false);
    let err = transcript
        .append(
            T0,
            Event::Written {
                file: "root.json".into(),
                sha256: "ABC".into(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, TranscriptError::Entry { .. }), "{err}");
    assert!(transcript.is_empty());
}

fn witness_signoff(transcript: &Transcript, key: &TestKey) -> Event {
    let sig = hex::encode(key.sign_bytes(transcript.head().as_bytes()));
    Event::WitnessSignoff {
        name: "Bob Witness".into(),
        statement: "I watched every step".into(),
        signature: Some(WitnessSignature::new(key.key(), sig)),
    }
}

#[test]
fn a_witness_signature_over_the_head_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    write_session(&path, session());
    let mut transcript = Transcript::open(&path, false).unwrap();
    let witness = TestKey::from_seed(7);
    transcript
        .append(at(10), witness_signoff(&transcript, &witness))
        .unwrap();
    let entries = verify(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(entries[8].event.name(), "witness_signoff");
}

#[test]
fn a_forged_witness_signature_is_refused() {
    let witness = TestKey::from_seed(7);
    let mut transcript = Transcript::in_memory(false);
    transcript.append(T0, session().remove(0)).unwrap();

    // Signed over something else than the head: the writer refuses it.
    let Event::WitnessSignoff {
        signature: Some(mut forged),
        ..
    } = witness_signoff(&Transcript::in_memory(false), &witness)
    else {
        unreachable!()
    };
    let event = Event::WitnessSignoff {
        name: "Mallory".into(),
        statement: "I watched".into(),
        signature: Some(forged.clone()),
    };
    let err = transcript.append(at(1), event).unwrap_err();
    assert!(
        err.to_string().contains("signature does not verify"),
        "{err}"
    );

    // A key id that is not the key's: refused too.
    let good = witness_signoff(&transcript, &witness);
    let Event::WitnessSignoff {
        signature: Some(good_sig),
        ..
    } = &good
    else {
        unreachable!()
    };
    forged.sig = good_sig.sig.clone();
    forged.keyid = TestKey::from_seed(8).id();
    let event = Event::WitnessSignoff {
        name: "Mallory".into(),
        statement: "I watched".into(),
        signature: Some(forged),
    };
    let err = transcript.append(at(1), event).unwrap_err();
    assert!(err.to_string().contains("does not match its key"), "{err}");

    // In a file: a signature swapped for one over another head is refused
    // at its line.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    write_session(&path, session());
    let mut on_disk = Transcript::open(&path, false).unwrap();
    on_disk.append(at(10), good.clone()).unwrap_err(); // head differs
    let mut on_disk = Transcript::open(&path, false).unwrap();
    let signoff = witness_signoff(&on_disk, &witness);
    on_disk.append(at(10), signoff).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let mut all = lines(&bytes);
    let other_sig = hex::encode(witness.sign_bytes(GENESIS_PREV.as_bytes()));
    let Event::WitnessSignoff {
        signature: Some(real),
        ..
    } = &verify(&bytes).unwrap()[8].event
    else {
        unreachable!()
    };
    all[8] = all[8].replacen(&real.sig, &other_sig, 1);
    let (line, problem) = refused_at(&join(&all));
    assert_eq!(line, 9);
    assert!(matches!(problem, LineProblem::Witness(_)), "{problem}");
}

/// A transcript recording `signatures` (key, sig) of `digest`.
fn signed_entries(digest: &str, signatures: &[(&TestKey, String)]) -> Vec<Entry> {
    let mut transcript = Transcript::in_memory(false);
    transcript.append(T0, session().remove(0)).unwrap();
    for (i, (key, sig)) in signatures.iter().enumerate() {
        let event = Event::Signed {
            file: "staged/root.json".into(),
            role: "root".into(),
            version: 2,
            canonical_sha256: digest.to_owned(),
            keyids: vec![key.id()],
            signer: format!("test key {i}"),
            signature: sig.clone(),
        };
        transcript.append(at(i as i64 + 1), event).unwrap();
    }
    transcript.entries().to_vec()
}

#[test]
fn check_signatures_finds_each_recorded_signature_in_the_metadata() {
    let (a, b) = (TestKey::from_seed(1), TestKey::from_seed(2));
    let metadata = signed(root(2, &[&a, &b], 2, "2030-01-01T00:00:00Z"), &[&a, &b]);
    let bytes = file_bytes(&metadata);
    let sig = |k: &TestKey| k.signature(metadata.signed_bytes()).sig;
    let mut entries = signed_entries(&metadata.signed_digest(), &[(&a, sig(&a)), (&b, sig(&b))]);
    let other = signed_entries(&digest(6), &[(&a, sig(&a))]);
    entries.push(Entry {
        seq: entries.len() as u64,
        ..other[1].clone()
    });
    let check = check_signatures(&entries, "root.json", &bytes).unwrap();
    assert_eq!(
        check,
        SignatureCheck {
            matched: 2,
            recorded_for_other_content: 1,
            superseded: 0,
        }
    );
}

#[test]
fn hash_bins_with_one_content_are_told_apart_by_their_file() {
    // Two empty bins: the same canonical content, each signed on its own
    // (an ECDSA signature differs every time it is made).
    let a = TestKey::from_seed(1);
    let bin = signed(root(2, &[&a], 1, "2030-01-01T00:00:00Z"), &[&a]);
    let digest = bin.signed_digest();
    let sig0 = bin.signatures()[0].sig.clone();
    let sig1 = hex::encode(a.sign_bytes(b"another signature of the same bin"));
    let mut transcript = Transcript::in_memory(false);
    transcript.append(T0, session().remove(0)).unwrap();
    for (i, (file, sig)) in [("staged/bins-0.json", &sig0), ("staged/bins-1.json", &sig1)]
        .into_iter()
        .enumerate()
    {
        let event = Event::Signed {
            file: file.into(),
            role: format!("bins-{i}"),
            version: 2,
            canonical_sha256: digest.clone(),
            keyids: vec![a.id()],
            signer: "test key".into(),
            signature: sig.clone(),
        };
        transcript.append(at(i as i64 + 1), event).unwrap();
    }
    let entries = transcript.entries().to_vec();
    // bins-0's file holds bins-0's signature: no false mismatch with bins-1's.
    let check = check_signatures(
        &entries,
        "/mnt/stick/tuf-ceremony/staged/bins-0.json",
        &file_bytes(&bin),
    )
    .unwrap();
    assert_eq!(
        check,
        SignatureCheck {
            matched: 1,
            recorded_for_other_content: 1,
            superseded: 0,
        }
    );
    assert!(
        unrecorded_signatures(
            &entries,
            "/mnt/stick/tuf-ceremony/staged/bins-0.json",
            &file_bytes(&bin)
        )
        .unwrap()
        .is_empty()
    );
    // A copy under another name (merged, committed) is matched by content
    // alone: with two bins of one content, only the file's own path on the
    // stick tells which signature it must carry.
    let err =
        check_signatures(&entries, "repository/2.bins-0.json", &file_bytes(&bin)).unwrap_err();
    assert!(matches!(err, VerifyError::SignatureDiffers { .. }), "{err}");
}

#[test]
fn check_signatures_refuses_a_file_whose_signature_differs() {
    let (a, b) = (TestKey::from_seed(1), TestKey::from_seed(2));
    let metadata = signed(root(2, &[&a, &b], 2, "2030-01-01T00:00:00Z"), &[&a, &b]);
    let bytes = file_bytes(&metadata);
    let recorded = hex::encode(b.sign_bytes(b"something else"));
    let entries = signed_entries(
        &metadata.signed_digest(),
        &[
            (&a, a.signature(metadata.signed_bytes()).sig),
            (&b, recorded),
        ],
    );
    let err = check_signatures(&entries, "root.json", &bytes).unwrap_err();
    assert_eq!(
        err,
        VerifyError::SignatureDiffers {
            file: "root.json".into(),
            line: 3,
            seq: 2,
            keyid: b.id(),
        }
    );
    assert!(
        err.to_string()
            .starts_with("line 3 (seq 2) records a signature of root.json by key id ")
    );
}

#[test]
fn check_signatures_refuses_a_file_missing_a_recorded_signature() {
    let (a, b) = (TestKey::from_seed(1), TestKey::from_seed(2));
    let metadata = signed(root(2, &[&a, &b], 2, "2030-01-01T00:00:00Z"), &[&a]);
    let sig = b.signature(metadata.signed_bytes()).sig;
    let entries = signed_entries(&metadata.signed_digest(), &[(&b, sig)]);
    let err = check_signatures(&entries, "root.json", &file_bytes(&metadata)).unwrap_err();
    assert!(
        matches!(err, VerifyError::SignatureMissing { line: 2, .. }),
        "{err}"
    );
}

#[test]
fn check_signatures_says_when_the_transcript_never_signed_that_content() {
    let a = TestKey::from_seed(1);
    let metadata = signed(root(2, &[&a], 1, "2030-01-01T00:00:00Z"), &[&a]);
    let entries = signed_entries(&digest(6), &[(&a, "ab".repeat(64))]);
    let err = check_signatures(&entries, "root.json", &file_bytes(&metadata)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the transcript records no signature of root.json (canonical sha256 {})",
            metadata.signed_digest()
        )
    );
    let err = check_signatures(&entries, "root.json", b"{}").unwrap_err();
    assert!(matches!(err, VerifyError::Metadata { .. }), "{err}");
}

#[test]
fn a_re_signing_supersedes_the_earlier_signature_by_the_same_key() {
    let a = TestKey::from_seed(1);
    let metadata = signed(root(2, &[&a], 1, "2030-01-01T00:00:00Z"), &[&a]);
    let earlier = hex::encode(a.sign_bytes(b"an earlier, randomized signature"));
    let entries = signed_entries(
        &metadata.signed_digest(),
        &[
            (&a, earlier),
            (&a, a.signature(metadata.signed_bytes()).sig),
        ],
    );
    let check = check_signatures(&entries, "root.json", &file_bytes(&metadata)).unwrap();
    assert_eq!((check.matched, check.superseded), (1, 1));
}

#[test]
fn the_witness_sheet_has_a_line_per_entry_and_ends_with_the_head() {
    let mut transcript = Transcript::in_memory(true);
    for (i, event) in session().into_iter().enumerate() {
        transcript.append(at(i as i64), event).unwrap();
    }
    let sheet = transcript.summary_text();
    let sheet_lines: Vec<&str> = sheet.lines().collect();
    assert_eq!(sheet_lines.len(), 9);
    assert_eq!(
        sheet_lines[0],
        "   0  2026-11-22T10:00:00Z  DRILL session started: ceremony 0.1.0 (host clock 2026-11-22T09:58:12Z)"
    );
    assert!(sheet_lines[5].contains("signed: staged/root.json (root v5)"));
    assert_eq!(sheet_lines[8], format!("head {}", transcript.head()));
}

#[test]
fn a_refused_token_and_a_stick_error_are_lines_that_verify_and_read_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let mut events = session();
    let finished = events.pop().unwrap();
    events.push(Event::TokenRefused {
        token: "SoftHSM mallory (serial 42)".into(),
        reason: "this token holds no key of this ceremony; the PIN was not asked for".into(),
    });
    events.push(Event::StickError {
        file: "staged/targets.json".into(),
        error: "cannot open: No such file or directory".into(),
    });
    events.push(finished);
    let bytes = write_session(&path, events.clone());
    let all = lines(&bytes);
    assert!(
        all[7].ends_with(concat!(
            r#""drill":false,"event":"token_refused","token":"SoftHSM mallory (serial 42)","#,
            r#""reason":"this token holds no key of this ceremony; the PIN was not asked for"}"#
        )),
        "{}",
        all[7]
    );
    assert!(
        all[8].ends_with(concat!(
            r#""event":"stick_error","file":"staged/targets.json","#,
            r#""error":"cannot open: No such file or directory"}"#
        )),
        "{}",
        all[8]
    );
    let entries = verify(&bytes).unwrap();
    let read: Vec<Event> = entries.into_iter().map(|e| e.event).collect();
    assert_eq!(read, events);
    assert_eq!(read[7].name(), "token_refused");
    assert_eq!(read[8].name(), "stick_error");
    assert_eq!(
        read[7].describe(),
        "REFUSED token SoftHSM mallory (serial 42): this token holds no key of this ceremony; \
         the PIN was not asked for"
    );
    assert_eq!(
        read[8].describe(),
        "STICK ERROR staged/targets.json: cannot open: No such file or directory"
    );
    // Appending continues the chain after the new kinds of line.
    let mut again = Transcript::open(&path, false).unwrap();
    again.append(at(20), session().remove(0)).unwrap();
    assert_eq!(verify(&std::fs::read(&path).unwrap()).unwrap().len(), 11);
}

#[test]
fn signatures_in_the_file_that_the_transcript_does_not_record_are_listed() {
    let (a, b, c) = (
        TestKey::from_seed(1),
        TestKey::from_seed(2),
        TestKey::from_seed(3),
    );
    let metadata = signed(
        root(2, &[&a, &b, &c], 2, "2030-01-01T00:00:00Z"),
        &[&a, &b, &c],
    );
    let bytes = file_bytes(&metadata);
    let sig = |k: &TestKey| k.signature(metadata.signed_bytes()).sig;
    // The transcript records a's signature of this content, and b's of
    // other content: only a is accounted for.
    let mut entries = signed_entries(&metadata.signed_digest(), &[(&a, sig(&a))]);
    let other = signed_entries(&digest(6), &[(&b, sig(&b))]);
    entries.push(Entry {
        seq: entries.len() as u64,
        ..other[1].clone()
    });
    let mut expected = vec![b.id(), c.id()];
    expected.sort_by_key(|id| {
        metadata
            .signatures()
            .iter()
            .position(|s| s.keyid == *id)
            .unwrap()
    });
    assert_eq!(
        unrecorded_signatures(&entries, "root.json", &bytes).unwrap(),
        expected
    );
    let all = signed_entries(
        &metadata.signed_digest(),
        &[(&a, sig(&a)), (&b, sig(&b)), (&c, sig(&c))],
    );
    assert!(
        unrecorded_signatures(&all, "root.json", &bytes)
            .unwrap()
            .is_empty()
    );
    let err = unrecorded_signatures(&all, "root.json", b"{}").unwrap_err();
    assert!(matches!(err, VerifyError::Metadata { .. }), "{err}");
}

#[test]
fn boot_files_and_network_hardware_are_recorded_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let events = vec![
        Event::SessionStarted {
            tool: "ceremony 0.1.0".into(),
            host_clock: "2026-11-22T09:58:12Z".into(),
            boot_files: vec![crate::BootFileDigest {
                file: "vmlinuz".into(),
                sha256: digest(7),
            }],
            network_hardware: vec!["PCI 0000:00:03.0 8086:100e network controller".into()],
        },
        Event::HardwareAcknowledged {
            devices: vec!["PCI 0000:00:03.0 8086:100e network controller".into()],
        },
    ];
    let bytes = write_session(&path, events.clone());
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains(r#""boot_files":[{"file":"vmlinuz","sha256":"#),
        "{text}"
    );
    assert!(
        text.contains(r#""event":"hardware_acknowledged""#),
        "{text}"
    );
    let entries = verify(&bytes).unwrap();
    assert_eq!(entries[0].event, events[0]);
    assert_eq!(entries[1].event, events[1]);
    assert!(events[0].describe().contains("NETWORK HARDWARE PRESENT: 1"));
    assert_eq!(events[1].name(), "hardware_acknowledged");
}

#[test]
fn a_session_started_line_without_boot_fields_still_reads() {
    // Transcripts written before the image hashed its boot files have no
    // such fields; they read as empty lists, and re-encode unchanged.
    let (_dir, bytes) = sample();
    let entries = verify(&bytes).unwrap();
    match &entries[0].event {
        Event::SessionStarted {
            boot_files,
            network_hardware,
            ..
        } => assert!(boot_files.is_empty() && network_hardware.is_empty()),
        other => panic!("{other:?}"),
    }
    assert!(!lines(&bytes)[0].contains("boot_files"));
}
