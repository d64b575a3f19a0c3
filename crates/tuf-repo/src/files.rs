//! Reading metadata files with a size cap, so a hostile multi-gigabyte file
//! is refused without being read into memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Reads at most `limit` bytes of `path`; a longer file is an error.
pub fn read_capped(path: &Path, limit: usize) -> Result<Vec<u8>> {
    let file = File::open(path).context("cannot open")?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .context("cannot read")?;
    if bytes.len() > limit {
        bail!("file is over the {limit}-byte limit for this metadata");
    }
    Ok(bytes)
}
