//! The ceremony record says what the transcript says, in both forms, and
//! never lets recorded text act as markup or terminal control.

use time::OffsetDateTime;
use time::macros::datetime;
use tuf_metadata::testing::{TestKey, file_bytes, root, signed};

use super::*;
use crate::{Entry, Event, Transcript};

const T0: OffsetDateTime = datetime!(2026-11-22 10:00:00 UTC);

/// A root rotation 1 → 2: the trusted root, the staged root signed by
/// alice and bob, a refused token and a witness.
struct Ceremony {
    transcript: Transcript,
    old: Vec<u8>,
    new: Vec<u8>,
    new_digest: String,
}

fn ceremony(witness: &str, events_after: Vec<Event>) -> Ceremony {
    let (a, b) = (TestKey::from_seed(1), TestKey::from_seed(2));
    let old = signed(root(1, &[&a], 1, "2030-01-01T00:00:00Z"), &[&a]);
    let new = signed(root(2, &[&a, &b], 2, "2031-01-01T00:00:00Z"), &[&a, &b]);
    let mut t = Transcript::in_memory(false);
    let mut events = vec![
        Event::SessionStarted {
            tool: "ceremony 0.1.0".into(),
            host_clock: "2026-11-22T09:58:12Z".into(),
            boot_files: Vec::new(),
            network_hardware: Vec::new(),
        },
        Event::TrustedRoot {
            file: "repository/1.root.json".into(),
            version: 1,
            canonical_sha256: old.signed_digest(),
            pinned: false,
        },
        Event::ReviewAcknowledged {
            file: "staged/root.json".into(),
            role: "root".into(),
            version: 2,
            canonical_sha256: new.signed_digest(),
        },
        Event::TokenRefused {
            token: "SoftHSM mallory (serial 42)".into(),
            reason: "this token holds no key of this ceremony".into(),
        },
    ];
    for (key, who, serial) in [(&a, "alice", "5e6f"), (&b, "bob", "7a8b")] {
        let sig = new
            .signatures()
            .iter()
            .find(|s| s.keyid == key.id())
            .unwrap()
            .sig
            .clone();
        events.push(Event::Signed {
            file: "staged/root.json".into(),
            role: "root".into(),
            version: 2,
            canonical_sha256: new.signed_digest(),
            keyids: vec![key.id().to_string()],
            signer: format!(
                "PKCS#11 token: SoftHSM project / SoftHSM v2, serial {serial}, token \"{who}\", slot 1, key \"{who}-root\""
            ),
            signature: sig,
        });
    }
    events.push(Event::Written {
        file: "staged/root.json".into(),
        sha256: hex::encode([7u8; 32]),
    });
    events.push(Event::WitnessSignoff {
        name: witness.into(),
        statement: "I watched".into(),
        signature: None,
    });
    events.extend(events_after);
    for (minute, event) in events.into_iter().enumerate() {
        t.append(T0 + time::Duration::minutes(minute as i64), event)
            .unwrap();
    }
    Ceremony {
        new_digest: new.signed_digest(),
        transcript: t,
        old: file_bytes(&old),
        new: file_bytes(&new),
    }
}

fn finished(summary: &str) -> Event {
    Event::SessionFinished {
        summary: vec![summary.into()],
    }
}

fn entries(c: &Ceremony) -> &[Entry] {
    c.transcript.entries()
}

#[test]
fn the_record_names_signers_digests_thresholds_witness_and_head() {
    let c = ceremony(
        "Carol Witness",
        vec![finished("root.json v2: signed by 2 of 2")],
    );
    let metadata = [
        MetadataInput {
            name: "2.root.json",
            bytes: &c.new,
        },
        MetadataInput {
            name: "1.root.json",
            bytes: &c.old,
        },
    ];
    let report = Report::new(entries(&c), &c.transcript.head(), &metadata, vec![]).unwrap();
    assert_eq!(report.signatures.len(), 2);
    assert_eq!(report.signatures[0].keyholder.as_deref(), Some("alice"));
    assert_eq!(report.signatures[1].serial.as_deref(), Some("7a8b"));
    assert_eq!(report.files.len(), 1, "{:?}", report.files);
    assert_eq!(report.files[0].signatures, 2);
    // Before comes first, whatever order the files were given in.
    let stages: Vec<(Stage, &str)> = report
        .thresholds
        .iter()
        .map(|t| (t.stage, t.file.as_str()))
        .collect();
    assert_eq!(
        stages,
        [
            (Stage::Before, "1.root.json"),
            (Stage::After, "2.root.json")
        ]
    );
    assert!(
        report.thresholds[1]
            .roles
            .contains(&("root".to_owned(), 2, 2))
    );
    assert_eq!(report.sessions[0].outcome, Outcome::Finished);
    assert_eq!(report.exceptions.len(), 1, "only the refused token");

    let grouped_digest = grouped(&c.new_digest);
    let grouped_head = grouped(&c.transcript.head());
    for form in [text(&report), html(&report)] {
        for needle in [
            "alice",
            "bob",
            "serial 7a8b",
            "Carol Witness",
            "root: 2 of 2",
            "root: 1 of 1",
            "mallory",
            "Place",
        ] {
            assert!(form.contains(needle), "{needle} missing:\n{form}");
        }
        for row in grouped_digest.iter().chain(&grouped_head) {
            assert!(form.contains(row.as_str()), "{row} missing:\n{form}");
        }
    }
}

#[test]
fn an_abandoned_session_is_an_exception_and_the_page_has_no_script_or_outside_resource() {
    let c = ceremony(
        "Carol",
        vec![finished("ABANDONED: quit before the witness sign-off")],
    );
    let report = Report::new(
        entries(&c),
        &c.transcript.head(),
        &[],
        vec!["t.jsonl: the session starting at line 1 has no witness sign-off".into()],
    )
    .unwrap();
    assert_eq!(report.sessions[0].outcome, Outcome::Abandoned);
    let kinds: Vec<&str> = report.exceptions.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["token refused", "abandoned"]);
    let page = html(&report);
    assert!(page.contains("ABANDONED: quit before"), "{page}");
    assert!(page.contains("has no witness sign-off"), "{page}");
    assert!(page.contains("@page { size: A4"), "{page}");
    for forbidden in [
        "<script", "<link", "<img", "src=", "href=", "url(", "@import",
    ] {
        assert!(!page.contains(forbidden), "{forbidden} in:\n{page}");
    }
}

#[test]
fn hostile_recorded_text_is_html_escaped_in_the_page_and_terminal_escaped_in_both() {
    let name = "<script>alert(1)</script>\u{1b}[2J\u{202e}Eve & \"Mallory\"";
    let c = ceremony(name, vec![]);
    let report = Report::new(entries(&c), &c.transcript.head(), &[], vec![]).unwrap();
    let page = html(&report);
    assert!(!page.contains("<script"), "{page}");
    assert!(
        page.contains(
            "&lt;script&gt;alert(1)&lt;/script&gt;\\u{1b}[2J\\u{202e}Eve &amp; &quot;Mallory&quot;"
        ),
        "{page}"
    );
    let plain = text(&report);
    assert!(
        plain.contains("<script>alert(1)</script>\\u{1b}[2J\\u{202e}Eve"),
        "{plain}"
    );
    for form in [&page, &plain] {
        assert!(!form.contains('\u{1b}') && !form.contains('\u{202e}'));
    }
}

#[test]
fn metadata_the_transcript_neither_signed_nor_trusted_is_refused() {
    let c = ceremony("Carol", vec![]);
    let k = TestKey::from_seed(9);
    let other = file_bytes(&signed(root(7, &[&k], 1, "2030-01-01T00:00:00Z"), &[&k]));
    let err = Report::new(
        entries(&c),
        &c.transcript.head(),
        &[MetadataInput {
            name: "7.root.json",
            bytes: &other,
        }],
        vec![],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("7.root.json: the transcript records neither"),
        "{err}"
    );
}

#[test]
fn network_hardware_and_its_acknowledgement_are_listed_as_exceptions() {
    let device = "PCI 0000:00:14.3 8086:a0f0 network controller";
    let mut t = Transcript::in_memory(false);
    for event in [
        Event::SessionStarted {
            tool: "ceremony 0.1.0".into(),
            host_clock: "2026-11-22T09:58:12Z".into(),
            boot_files: Vec::new(),
            network_hardware: vec![device.into()],
        },
        Event::HardwareAcknowledged {
            devices: vec![device.into()],
        },
    ] {
        t.append(T0, event).unwrap();
    }
    let report = Report::new(t.entries(), &t.head(), &[], Vec::new()).unwrap();
    let rows: Vec<(&str, &str)> = report
        .exceptions
        .iter()
        .map(|e| (e.kind, e.text.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("network hardware present", device),
            ("hardware acknowledged by the witness", device)
        ]
    );
}
