//! The ceremony record: `tuf-repo transcript report` turns a verified
//! transcript into a page people can read, file and publish, as IANA does
//! for its root key ceremonies: who signed what with which token, each
//! file's canonical digest in groups of four, thresholds before and after,
//! what went wrong, the witnesses, the head hash, and blank lines for
//! initials and signatures.
//!
//! Pure: [`Report::new`] gathers the rows from entries [`crate::verify`]
//! accepted; [`html`] lays them out as one self-contained page (inline CSS,
//! no scripts, nothing fetched, A4), [`text`] as plain text for the paper
//! file. Every string from the transcript or a metadata file is
//! HTML-escaped in the page and goes through [`tuf_metadata::escape`] in
//! both forms, so neither a browser nor a terminal takes it as markup or
//! control.

mod html;
mod model;
mod text;

pub use html::html;
pub use model::{
    ExceptionRow, FileRow, MetadataInput, Outcome, Report, ReportError, SessionRow, SignatureRow,
    Stage, ThresholdTable, TrustedRootRow, WitnessRow,
};
pub use text::text;

/// The digest layout of every screen (one definition, in tuf-metadata).
pub use tuf_metadata::digest_rows as grouped;

/// Text from the transcript or a metadata file, made printable.
fn shown(text: &str) -> String {
    tuf_metadata::escape(text).into_owned()
}

/// The date part of an RFC 3339 time (`2026-11-22`), or the whole text.
fn date_of(time: &str) -> &str {
    time.split_once('T').map_or(time, |(date, _)| date)
}

/// `one` for 1, else `many`.
fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests;
