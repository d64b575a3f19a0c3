//! `tuf-repo digest <file>...`: the canonical SHA-256 of what is signed in
//! any metadata file, printed as the ceremony's review screen prints it
//! (groups of four hex digits, eight groups a line), so a witness compares
//! the screen with the file on the workstation without python-tuf.
//!
//! The digest is [`tuf_metadata::Metadata::signed_digest`], the one the
//! appliance's review and the bundle manifest use: the SHA-256 of the
//! canonical JSON of the parsed `signed` object, never of the file's bytes.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;

use crate::layout::load_any;

/// Arguments of `digest`.
#[derive(ClapArgs)]
pub struct Args {
    /// Metadata files (root, targets, a delegated role, snapshot, timestamp).
    #[arg(required = true, value_name = "file")]
    files: Vec<PathBuf>,
}

/// Runs the command: for each file, its type and version, then the digest.
pub fn run(args: &Args) -> Result<()> {
    for (n, file) in args.files.iter().enumerate() {
        let (_, metadata) = load_any(file)?;
        let signed = metadata.signed();
        if n > 0 {
            say!("");
        }
        say!(
            "{}: {} version {}",
            file.display(),
            signed.type_name(),
            signed.common().version
        );
        say!("canonical SHA-256 of what is signed:");
        for row in grouped(&metadata.signed_digest()) {
            say!("  {row}");
        }
    }
    Ok(())
}

/// A hex digest in groups of four, eight groups a line: the layout of the
/// review screen's digest (`ceremony::review::grouped_digest`; the e2e
/// test `digest_matches_the_review_screen` holds the two together).
pub fn grouped(hex: &str) -> Vec<String> {
    let groups: Vec<&str> = hex
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or("?"))
        .collect();
    groups.chunks(8).map(|row| row.join(" ")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sha256_reads_as_two_rows_of_eight_groups() {
        let hex: String = "0123456789abcdef".repeat(4);
        assert_eq!(
            grouped(&hex),
            vec![
                "0123 4567 89ab cdef 0123 4567 89ab cdef",
                "0123 4567 89ab cdef 0123 4567 89ab cdef"
            ]
        );
    }
}
