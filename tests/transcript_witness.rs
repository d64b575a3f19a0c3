//! What `tuf-repo transcript verify` tells a witness beyond "the chain
//! holds": who signed each session off (names escaped), a warning for a
//! session nobody signed off, and a warning for each signature in a
//! `--metadata` file that the transcript does not record. Warnings leave the
//! exit code at 0; a refusal stays one `error:` line with no warnings.
//! Transcripts holding the new `token_refused` and `stick_error` lines
//! verify like any other.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use time::macros::datetime;
use transcript::{Event, Transcript, WitnessSignature};
use tuf_ceremony_e2e::{Run, assert_ok, path_str, tuf_repo};
use tuf_metadata::testing::{TestKey, file_bytes, root, signed};

const T0: OffsetDateTime = datetime!(2026-11-22 10:00:00 UTC);

/// A transcript being written in a temp dir, one minute per entry.
struct Writer {
    dir: tempfile::TempDir,
    path: PathBuf,
    transcript: Transcript,
    minute: i64,
}

impl Writer {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("transcript.jsonl");
        let transcript = Transcript::open(&path, false).unwrap();
        Writer {
            dir,
            path,
            transcript,
            minute: 0,
        }
    }

    fn add(&mut self, event: Event) -> &mut Self {
        let at = T0 + time::Duration::minutes(self.minute);
        self.minute += 1;
        self.transcript.append(at, event).unwrap();
        self
    }

    fn started(&mut self) -> &mut Self {
        self.add(Event::SessionStarted {
            tool: "ceremony 0.1.0".into(),
            host_clock: "2026-11-22T09:58:12Z".into(),
            boot_files: Vec::new(),
            network_hardware: Vec::new(),
        })
    }

    fn witness(&mut self, name: &str, key: Option<&TestKey>) -> &mut Self {
        let signature = key.map(|key| {
            let sig = hex::encode(key.sign_bytes(self.transcript.head().as_bytes()));
            WitnessSignature::new(key.key(), sig)
        });
        self.add(Event::WitnessSignoff {
            name: name.into(),
            statement: "I watched this ceremony and compared the digests read aloud".into(),
            signature,
        })
    }

    fn finished(&mut self) -> &mut Self {
        self.add(Event::SessionFinished { summary: vec![] })
    }

    fn head(&self) -> String {
        self.transcript.head()
    }
}

fn verify(transcript: &Path, metadata: &[&Path]) -> Run {
    let mut args = vec!["transcript", "verify", path_str(transcript)];
    for m in metadata {
        args.extend(["--metadata", path_str(m)]);
    }
    tuf_repo(args)
}

#[test]
fn verify_names_every_witness_escaped_and_a_signed_sign_off_by_its_key() {
    let witness_key = TestKey::from_seed(7);
    let mut w = Writer::new();
    w.started()
        .witness("Carol \u{1b}[2J\u{202e}Witness", None)
        .finished()
        .started()
        .witness("Dave Witness", Some(&witness_key))
        .finished();
    let run = verify(&w.path, &[]);
    assert_ok(&run, "transcript verify");
    assert_eq!(
        run.stdout,
        format!(
            "transcript: ok — 6 entries, 2 sessions, chain intact, head {}\n\
             witness: Carol \\u{{1b}}[2J\\u{{202e}}Witness (line 2)\n\
             witness: Dave Witness (line 5, signed with key {})\n",
            w.head(),
            witness_key.id()
        )
    );
    assert_eq!(run.stderr, "", "every session was signed off");
}

#[test]
fn a_session_without_a_witness_sign_off_is_a_warning_not_a_refusal() {
    let mut w = Writer::new();
    // Quit before the sign-off; then a session cut off by a pulled stick;
    // then one signed off.
    w.started()
        .add(Event::TokenRefused {
            token: "SoftHSM mallory (serial 42)".into(),
            reason: "this token holds no key of this ceremony; the PIN was not asked for".into(),
        })
        .finished()
        .started()
        .add(Event::StickError {
            file: "staged/root.json".into(),
            error: "cannot open: No such file or directory".into(),
        })
        .started()
        .witness("Erin Witness", None)
        .finished();
    let run = verify(&w.path, &[]);
    assert_ok(&run, "transcript verify");
    assert!(
        run.stdout
            .starts_with("transcript: ok — 8 entries, 3 sessions"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("witness: Erin Witness (line 7)\n"),
        "{}",
        run.stdout
    );
    let name = w.path.display();
    assert_eq!(
        run.stderr,
        format!(
            "warning: {name}: the session starting at line 1 has no witness sign-off before it finished\n\
             warning: {name}: the session starting at line 4 has no witness sign-off (it never finished)\n"
        )
    );
}

/// Root v2 signed by `signers`, written to `dir/root.json`.
fn root_file(dir: &Path, keys: &[&TestKey], signers: &[&TestKey]) -> (PathBuf, String) {
    let metadata = signed(root(2, keys, 2, "2030-01-01T00:00:00Z"), signers);
    let path = dir.join("root.json");
    std::fs::write(&path, file_bytes(&metadata)).unwrap();
    (path, metadata.signed_digest())
}

#[test]
fn a_signature_the_transcript_does_not_record_is_reported() {
    let (a, b) = (TestKey::from_seed(1), TestKey::from_seed(2));
    let mut w = Writer::new();
    let (path, digest) = root_file(w.dir.path(), &[&a, &b], &[&a, &b]);
    let metadata = std::fs::read(&path).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&metadata).unwrap();
    let sig_of = |id: &str| {
        value["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["keyid"] == id)
            .unwrap()["sig"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // The ceremony recorded alice's signature only; bob's came from
    // elsewhere.
    w.started()
        .add(Event::Signed {
            file: "staged/root.json".into(),
            role: "root".into(),
            version: 2,
            canonical_sha256: digest,
            keyids: vec![a.id()],
            signer: "softhsm2 token alice".into(),
            signature: sig_of(&a.id()),
        })
        .witness("Carol Witness", None)
        .finished();
    let run = verify(&w.path, &[&path]);
    assert_ok(&run, "transcript verify");
    assert!(
        run.stdout.ends_with(&format!(
            "{}: 1 signature recorded in the transcript is in the file\n",
            path.display()
        )),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stderr,
        format!(
            "warning: {}: signature by {} is not recorded in the transcript\n",
            path.display(),
            b.id()
        )
    );

    // A refusal stays one error line: no warnings printed with it.
    let other = TestKey::from_seed(3);
    let (path, _) = root_file(w.dir.path(), &[&a, &b], &[&other]);
    let run = verify(&w.path, &[&path]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(run.stderr.starts_with("error: "), "{run:?}");
}
