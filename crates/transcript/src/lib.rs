//! The ceremony transcript: an append-only, hash-chained record of what the
//! offline appliance did, written to the USB stick as it happens and checked
//! by a witness with `tuf-repo transcript verify`.
//!
//! # Format
//!
//! JSON lines, UTF-8: one JSON object per line, each line terminated by
//! `\n`, no empty lines. Each line is exactly `serde_json::to_string(&entry)`
//! of an [`Entry`]: a flat object whose fields come in this order:
//!
//! | field | meaning |
//! |---|---|
//! | `seq` | 0, 1, 2, … for the whole file (it continues across sessions) |
//! | `prev` | lowercase hex SHA-256 of the previous line's bytes without its newline; 64 `0`s on the first line |
//! | `time` | the ceremony's confirmed clock, RFC 3339 UTC to the second (`2026-11-22T10:00:00Z`) |
//! | `drill` | `true` for drill entries |
//! | `event` | the [`Event`] tag in snake_case, followed by that event's fields |
//!
//! ```text
//! {"seq":0,"prev":"0000000000000000000000000000000000000000000000000000000000000000","time":"2026-11-22T10:00:00Z","drill":false,"event":"session_started","tool":"ceremony 0.1.0","host_clock":"2026-11-22T09:58:12Z"}
//! ```
//!
//! The hash of a line is SHA-256 over its bytes without the newline; the
//! *head* is the hash of the last line. A witness who writes the head down
//! at the end of a ceremony can later tell whether anything up to it was
//! changed: every line commits to all lines before it.
//!
//! [`verify`] accepts a file only if every line parses strictly (no
//! duplicate keys, no floats: [`tuf_metadata::json::parse`]), re-serializes
//! to exactly its own bytes (nothing hidden in whitespace, key order or
//! escaping, no unknown fields), `seq` counts up from 0, every `prev`
//! chains, times are RFC 3339 UTC, digests are 64 lowercase hex characters,
//! the file ends with `\n`, and every witness signature verifies.
//! [`sessions`] then says which sessions a witness signed off, and
//! [`unrecorded_signatures`] which signatures in a metadata file the
//! transcript does not account for.
//!
//! Writing ([`Transcript`]) appends each line with one `write` on a file
//! opened with `O_APPEND`, then `fsync`s: a pulled stick leaves at most one
//! torn last line, which [`verify`] (and [`Transcript::open`]) refuse by
//! line number rather than silently continuing a broken chain.

mod chain;
mod entry;
pub mod report;
mod sessions;
mod verify;

#[cfg(test)]
mod tests;

pub use chain::{Transcript, TranscriptError};
pub use entry::{BootFileDigest, Entry, Event, FileDigest, WitnessSignature};
pub use sessions::{SessionRecord, Signoff, sessions, signoffs};
pub use verify::{
    LineProblem, SignatureCheck, VerifyError, check_signatures, unrecorded_signatures, verify,
};

/// Largest transcript read or written (16 MiB): thousands of ceremonies'
/// worth, and small enough that reading a hostile file is cheap.
pub const MAX_TRANSCRIPT_BYTES: usize = 16 * 1024 * 1024;

/// The `prev` of the first line: 64 `0`s (no line before it).
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Lowercase hex SHA-256 of one line's bytes (without its newline): what the
/// next line's `prev` must be.
pub fn line_hash(line: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, line))
}

/// True for 64 lowercase hex characters: the only form digests take here.
pub(crate) fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
