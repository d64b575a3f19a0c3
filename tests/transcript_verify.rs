//! The witness's check, end to end: the appliance's transcript crate writes
//! a transcript of a signing, and `tuf-repo transcript verify` accepts it
//! together with the signed root it produced, prints the head to compare
//! with the one written down, and refuses a tampered transcript or a root
//! whose signature is not the one recorded (exit 1, one `error:` line), and
//! a wrong command line (exit 2).

use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use time::macros::datetime;
use transcript::{Event, Transcript};
use tuf_ceremony_e2e::{Run, assert_ok, path_str, tuf_repo};
use tuf_metadata::testing::{TestKey, file_bytes, root, signed};

const T0: OffsetDateTime = datetime!(2026-11-22 10:00:00 UTC);

struct Ceremony {
    dir: tempfile::TempDir,
    transcript: PathBuf,
    root: PathBuf,
    head: String,
}

/// Two keyholders sign root v2 and a witness signs off; the transcript
/// records both signatures and the root file carries them.
fn ceremony(drill: bool) -> Ceremony {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (TestKey::from_seed(1), TestKey::from_seed(2));
    let metadata = signed(root(2, &[&a, &b], 2, "2030-01-01T00:00:00Z"), &[&a, &b]);
    let root_path = dir.path().join("root.json");
    std::fs::write(&root_path, file_bytes(&metadata)).unwrap();

    let transcript_path = dir.path().join("transcript.jsonl");
    let mut transcript = Transcript::open(&transcript_path, drill).unwrap();
    let mut events = vec![
        Event::SessionStarted {
            tool: "ceremony 0.1.0".into(),
            host_clock: "2026-11-22T09:58:12Z".into(),
            boot_files: Vec::new(),
            network_hardware: Vec::new(),
        },
        Event::ReviewAcknowledged {
            file: "staged/root.json".into(),
            role: "root".into(),
            version: 2,
            canonical_sha256: metadata.signed_digest(),
        },
    ];
    for (name, key) in [("alice", &a), ("bob", &b)] {
        events.push(Event::Signed {
            file: "staged/root.json".into(),
            role: "root".into(),
            version: 2,
            canonical_sha256: metadata.signed_digest(),
            keyids: vec![key.id()],
            signer: format!("softhsm2 token {name}"),
            signature: key.signature(metadata.signed_bytes()).sig,
        });
    }
    events.push(Event::WitnessSignoff {
        name: "Carol Witness".into(),
        statement: "I watched this ceremony and compared the digests read aloud".into(),
        signature: None,
    });
    events.push(Event::SessionFinished {
        summary: vec!["staged/root.json v2: signed by 2 keys".into()],
    });
    for (i, event) in events.into_iter().enumerate() {
        transcript
            .append(T0 + time::Duration::minutes(i as i64), event)
            .unwrap();
    }
    Ceremony {
        head: transcript.head(),
        dir,
        transcript: transcript_path,
        root: root_path,
    }
}

fn verify(transcript: &Path, metadata: &[&Path]) -> Run {
    let mut args = vec!["transcript", "verify", path_str(transcript)];
    for m in metadata {
        args.extend(["--metadata", path_str(m)]);
    }
    tuf_repo(args)
}

/// Exit 1 with exactly one line on stderr, which is returned.
fn rejected(run: &Run) -> String {
    assert_eq!(run.code, Some(1), "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error line: {run:?}");
    lines[0].to_owned()
}

#[test]
fn a_witness_verifies_the_transcript_and_the_signed_root_it_records() {
    let c = ceremony(false);
    let run = verify(&c.transcript, &[&c.root]);
    assert_ok(&run, "transcript verify");
    assert_eq!(
        run.stdout,
        format!(
            "transcript: ok — 6 entries, 1 session, chain intact, head {}\n\
             witness: Carol Witness (line 5)\n\
             {}: 2 signatures recorded in the transcript are in the file\n",
            c.head,
            c.root.display()
        )
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn a_drill_transcript_says_drill() {
    let c = ceremony(true);
    let run = verify(&c.transcript, &[]);
    assert_ok(&run, "transcript verify");
    assert!(
        run.stdout.starts_with("transcript: ok (DRILL) — 6 entries"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_tampered_transcript_is_rejected_naming_the_line() {
    let c = ceremony(false);
    let text = std::fs::read_to_string(&c.transcript).unwrap();
    let tampered = text.replacen("softhsm2 token alice", "softhsm2 token carol", 1);
    assert_ne!(tampered, text);
    std::fs::write(&c.transcript, tampered).unwrap();
    let run = verify(&c.transcript, &[&c.root]);
    let error = rejected(&run);
    let prefix = format!("error: {}: line 4: prev ", c.transcript.display());
    assert!(error.starts_with(&prefix), "{error}");
    assert_eq!(run.stdout, "", "no ok line for a rejected transcript");

    // Cut off mid-line, as a pulled stick would leave it.
    let text = std::fs::read(&c.transcript).unwrap();
    std::fs::write(&c.transcript, &text[..text.len() - 5]).unwrap();
    let error = rejected(&verify(&c.transcript, &[]));
    assert!(error.contains(": line 6: is incomplete"), "{error}");
}

#[test]
fn a_root_whose_signature_differs_from_the_recorded_one_is_rejected() {
    let c = ceremony(false);
    let (a, b) = (TestKey::from_seed(1), TestKey::from_seed(2));
    let mut metadata = signed(root(2, &[&a, &b], 2, "2030-01-01T00:00:00Z"), &[&a]);
    let mut other = b.signature(b"some other bytes");
    other.keyid = b.id();
    metadata.set_signature(other);
    std::fs::write(&c.root, file_bytes(&metadata)).unwrap();
    let error = rejected(&verify(&c.transcript, &[&c.root]));
    assert_eq!(
        error,
        format!(
            "error: {}: line 4 (seq 3) records a signature of {root} by key id {} that differs from the one in {root}",
            c.transcript.display(),
            b.id(),
            root = c.root.display(),
        )
    );

    // A root the transcript never signed.
    let unrelated = signed(root(3, &[&a], 1, "2030-01-01T00:00:00Z"), &[&a]);
    let path = c.dir.path().join("3.root.json");
    std::fs::write(&path, file_bytes(&unrelated)).unwrap();
    let error = rejected(&verify(&c.transcript, &[&path]));
    assert!(
        error.contains("the transcript records no signature of"),
        "{error}"
    );
}

#[test]
fn a_wrong_command_line_is_a_usage_error() {
    let c = ceremony(false);
    assert_eq!(tuf_repo(["transcript", "verify"]).code, Some(2));
    assert_eq!(
        tuf_repo([
            "transcript",
            "verify",
            path_str(&c.transcript),
            "--metadta",
            "x"
        ])
        .code,
        Some(2)
    );
    assert_eq!(tuf_repo(["transcript"]).code, Some(2));
}
