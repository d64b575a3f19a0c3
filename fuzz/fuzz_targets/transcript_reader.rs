//! Fuzzes what `tuf-repo transcript verify` and `report` read: the
//! hash-chained transcript, the `--metadata` files checked against it, and
//! the ceremony record made from both. Properties: an accepted transcript
//! is exactly its entries re-serialized (nothing hidden); our writer,
//! given the same events at the same times, writes the same entries and
//! head; every line of the text and HTML record is free of terminal
//! control characters (everything from the file went through `escape`).
//!
//! Input: sections `transcript` (else the whole input is the transcript),
//! `metadata <name>` and `rechain` (when present, each line's `seq` and
//! `prev` are set to what the chain needs before verifying, so mutations
//! reach the checks after the chain).
#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use transcript::report::{self, MetadataInput, Report};
use transcript::{GENESIS_PREV, Transcript, line_hash};
use tuf_ceremony_fuzz::{sections, seeds, write_seeds_if_asked};
use tuf_metadata::escape;

/// Each line's `seq` and `prev` rewritten to continue the chain.
fn rechain(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev = GENESIS_PREV.to_owned();
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    for (seq, line) in body.split(|&b| b == b'\n').enumerate() {
        let mut line = line.to_vec();
        if let Some(rest) = line.strip_prefix(br#"{"seq":"#) {
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let tail = rest[digits..].to_vec();
            line = format!(r#"{{"seq":{seq}"#).into_bytes();
            line.extend_from_slice(&tail);
        }
        let key = br#""prev":""#;
        if let Some(at) = line.windows(key.len()).position(|w| w == key)
            && line.len() >= at + key.len() + 64
        {
            line.splice(at + key.len()..at + key.len() + 64, prev.bytes());
        }
        prev = line_hash(&line);
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
    out
}

fn clean(what: &str, text: &str) {
    for line in text.lines() {
        assert!(
            matches!(escape(line), Cow::Borrowed(_)),
            "{what} shows a control character: {line:?}"
        );
    }
}

fuzz_target!(init: write_seeds_if_asked(seeds::transcript::seeds), |data: &[u8]| {
    let parts = sections(data);
    let mut bytes = parts.iter().find(|s| s.name == "transcript").map_or(data, |s| s.body).to_vec();
    if parts.iter().any(|s| s.name == "rechain") {
        bytes = rechain(&bytes);
    }
    let Ok(entries) = transcript::verify(&bytes) else { return };
    // Nothing hidden: the file is its entries, re-serialized.
    let mut again = Vec::new();
    for entry in &entries {
        again.extend_from_slice(serde_json::to_string(entry).expect("an entry serializes").as_bytes());
        again.push(b'\n');
    }
    assert_eq!(again, bytes);
    let head = bytes.strip_suffix(b"\n").and_then(|b| b.rsplit(|&c| c == b'\n').next()).map_or(GENESIS_PREV.to_owned(), line_hash);
    // The writer agrees with the reader.
    if let Some(first) = entries.first()
        && entries.iter().all(|e| e.drill == first.drill)
    {
        let mut written = Transcript::in_memory(first.drill);
        for entry in &entries {
            let time = OffsetDateTime::parse(&entry.time, &Rfc3339).expect("verify checked the time");
            let got = written.append(time, entry.event.clone()).expect("the writer takes what the reader accepts");
            assert_eq!(got, entry);
        }
        assert_eq!(written.head(), head);
    }
    let _ = (transcript::sessions(&entries), transcript::signoffs(&entries));
    let metadata: Vec<MetadataInput<'_>> = parts
        .iter()
        .filter(|s| s.name == "metadata")
        .map(|s| MetadataInput { name: s.arg, bytes: s.body })
        .collect();
    for m in &metadata {
        let _ = transcript::check_signatures(&entries, m.name, m.bytes);
        let _ = transcript::unrecorded_signatures(&entries, m.name, m.bytes);
    }
    if let Ok(record) = Report::new(&entries, &head, &metadata, vec!["a warning".into()]) {
        clean("the text record", &report::text(&record));
        clean("the HTML record", &report::html(&record));
    }
});
