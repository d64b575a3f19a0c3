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

use tuf_metadata::digest_rows as grouped;

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
