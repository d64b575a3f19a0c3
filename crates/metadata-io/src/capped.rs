//! Reading a file with a size cap: at most `limit + 1` bytes are ever read.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened (missing, not permitted, …). The I/O
    /// error is shown in the message, not chained, so an error chain prints
    /// it once.
    #[error("cannot open: {0}")]
    Open(io::Error),
    /// Reading failed part-way.
    #[error("cannot read: {0}")]
    Read(io::Error),
    /// The file is longer than the cap for this kind of file.
    #[error("file is over the {limit}-byte limit for this metadata")]
    TooLarge {
        /// The cap.
        limit: usize,
    },
}

/// Reads at most `limit` bytes of `path`; a longer file is refused.
pub fn read_capped(path: &Path, limit: usize) -> Result<Vec<u8>, ReadError> {
    let file = File::open(path).map_err(ReadError::Open)?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Read)?;
    if bytes.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_cap_is_refused_and_one_at_the_cap_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_capped(&path, 5).unwrap(), b"12345");
        let err = read_capped(&path, 4).unwrap_err();
        assert_eq!(
            err.to_string(),
            "file is over the 4-byte limit for this metadata"
        );
        let err = read_capped(&dir.path().join("missing"), 4).unwrap_err();
        assert!(err.to_string().starts_with("cannot open: "), "{err}");
        assert!(std::error::Error::source(&err).is_none(), "said once");
    }
}
