//! The one SHA-256-as-hex helper: file hashes in targets and snapshot
//! metadata, object checksums, hash-bin paths and the digests a witness
//! reads aloud are all this function, so they cannot drift apart.

/// Lower-case hex SHA-256 of `bytes`, as TUF metadata writes hashes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_matches_the_published_test_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
