//! Fuzzes the strict parser and the verifier: no input may panic, and
//! whatever parses must re-encode to the bytes its signatures cover and read
//! back unchanged. Input: `trusted root ‖ 0xFF 0xFE ‖ candidate` (or one
//! file alone).
#![no_main]

use libfuzzer_sys::fuzz_target;
use time::macros::datetime;
use tuf_metadata::{Limits, Metadata, canonical, diff, json, verify_root_update, verify_trusted_root};

fn parse_and_check(bytes: &[u8]) -> Option<Metadata> {
    let md = Metadata::parse(bytes, &Limits::ROOT).ok()?;
    // Round trip: the typed model loses nothing that is signed...
    assert_eq!(canonical::encode(&md.signed().to_value()), md.signed_bytes());
    // ...and a file written from it reads back as the same metadata.
    let text = json::to_pretty(&md.to_value());
    let again = Metadata::parse(&text, &Limits::ANY).expect("our own output parses");
    assert_eq!(again, md);
    Some(md)
}

fuzz_target!(|data: &[u8]| {
    let (first, second) = match data.windows(2).position(|w| w == [0xFF, 0xFE]) {
        Some(i) => (&data[..i], Some(&data[i + 2..])),
        None => (data, None),
    };
    let Some(trusted) = parse_and_check(first) else { return };
    let Ok(trusted) = trusted.into_root() else { return };
    let _ = verify_trusted_root(&trusted);
    let Some(candidate) = second.and_then(parse_and_check) else { return };
    if let Ok(root) = candidate.clone().into_root() {
        let _ = diff::diff_roots(trusted.signed(), root.signed());
    }
    let _ = verify_root_update(&trusted, candidate, Some(datetime!(2026-01-01 0:00 UTC)));
});
