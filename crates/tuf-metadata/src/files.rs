//! The length and hash rule: whether bytes are the file a snapshot,
//! timestamp or targets entry lists. One rule for every reader — the
//! client, `tuf-repo verify`, import and publish checks.
//!
//! Algorithms computed: `sha256`, `sha384` and `sha512` (the ones the spec
//! examples, python-tuf, go-tuf, tough and tuf-js write). Every listed hash
//! in one of these must match. A name outside them is skipped, and at least
//! one hash in a computed algorithm must be listed, else nothing could be
//! checked and the file is refused ([`FileError::NoKnownHash`]).
//!
//! python-tuf refuses a name `hashlib` does not know; `hashlib` knows more
//! (blake2b, sha3-*) than we compute, so refusing every name we skip would
//! refuse repositories python-tuf accepts. Skipping is safe because a
//! listed sha256/sha384/sha512 must still match: an attacker who can edit
//! the listing can edit any hash in it anyway.

use std::collections::BTreeMap;

use crate::snapshot::MetaFile;
use crate::targets::TargetFile;

/// The hash algorithms this crate computes, in the order they are tried.
pub const HASH_ALGORITHMS: [&str; 3] = ["sha256", "sha384", "sha512"];

/// Why bytes are not the file listed. Each message names what differs;
/// callers add the file and who lists it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The length differs from the listed one.
    #[error("{found} bytes, but {expected} are listed")]
    Length {
        /// Bytes present.
        found: u64,
        /// Bytes listed.
        expected: u64,
    },
    /// A hash differs from the listed one.
    #[error("{alg} {found} differs from the listed {expected}")]
    Hash {
        /// The algorithm (`sha256`, `sha384`, `sha512`).
        alg: String,
        /// The digest computed, lower-case hex.
        found: String,
        /// The digest listed.
        expected: String,
    },
    /// Hashes are listed, but none in an algorithm computed here.
    #[error("no sha256, sha384 or sha512 hash is listed to check it by")]
    NoKnownHash,
}

fn algorithm(name: &str) -> Option<&'static ring::digest::Algorithm> {
    match name {
        "sha256" => Some(&ring::digest::SHA256),
        "sha384" => Some(&ring::digest::SHA384),
        "sha512" => Some(&ring::digest::SHA512),
        _ => None,
    }
}

/// Lower-case hex digest of `bytes` in `alg`, `None` for an algorithm not
/// computed here.
pub fn digest_hex(alg: &str, bytes: &[u8]) -> Option<String> {
    Some(hex::encode(ring::digest::digest(algorithm(alg)?, bytes)))
}

/// Hex SHA-256 of `bytes`: the hash target files are named and binned by
/// (the one helper, in [`crate::digest`]).
pub use crate::digest::sha256_hex;

/// Checks `length` (when listed) and `hashes` (when listed) of `bytes`.
pub fn check_bytes(
    bytes: &[u8],
    length: Option<u64>,
    hashes: Option<&BTreeMap<String, String>>,
) -> Result<(), FileError> {
    check_length(bytes.len() as u64, length)?;
    let Some(hashes) = hashes else {
        return Ok(());
    };
    let mut hasher = Hasher::new(hashes)?;
    hasher.update(bytes);
    hasher.finish()
}

fn check_length(found: u64, expected: Option<u64>) -> Result<(), FileError> {
    match expected {
        Some(expected) if found != expected => Err(FileError::Length { found, expected }),
        _ => Ok(()),
    }
}

/// The listed hashes computed over a stream (a large local target file),
/// checked once the stream ends.
pub struct Hasher<'a> {
    contexts: Vec<(&'a str, &'a str, ring::digest::Context)>,
}

impl<'a> Hasher<'a> {
    /// A hasher for every listed hash in a computed algorithm; refused with
    /// [`FileError::NoKnownHash`] when there is none.
    pub fn new(hashes: &'a BTreeMap<String, String>) -> Result<Self, FileError> {
        let contexts: Vec<_> = hashes
            .iter()
            .filter_map(|(alg, expected)| {
                let context = ring::digest::Context::new(algorithm(alg)?);
                Some((alg.as_str(), expected.as_str(), context))
            })
            .collect();
        if contexts.is_empty() {
            return Err(FileError::NoKnownHash);
        }
        Ok(Hasher { contexts })
    }

    /// Adds the next bytes of the file.
    pub fn update(&mut self, bytes: &[u8]) {
        for (_, _, context) in &mut self.contexts {
            context.update(bytes);
        }
    }

    /// Every hash matches, or the first (by algorithm name) that does not.
    pub fn finish(self) -> Result<(), FileError> {
        for (alg, expected, context) in self.contexts {
            let found = hex::encode(context.finish());
            if found != expected {
                return Err(FileError::Hash {
                    alg: alg.to_owned(),
                    found,
                    expected: expected.to_owned(),
                });
            }
        }
        Ok(())
    }
}

impl MetaFile {
    /// True if `bytes` are the metadata file this entry lists: its length
    /// and hashes, where the entry gives them (spec 5.5.2, 5.6.2). The
    /// version is checked once the file is parsed.
    pub fn check(&self, bytes: &[u8]) -> Result<(), FileError> {
        check_bytes(bytes, self.length, self.hashes.as_ref())
    }
}

impl TargetFile {
    /// True if `bytes` are this target: its length and its hashes
    /// (spec 5.7.4).
    pub fn check(&self, bytes: &[u8]) -> Result<(), FileError> {
        check_bytes(bytes, Some(self.length), Some(&self.hashes))
    }

    /// Checks a length found before reading (a file's size on disk).
    pub fn check_length(&self, found: u64) -> Result<(), FileError> {
        check_length(found, Some(self.length))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Object;

    fn target(hashes: &[(&str, String)]) -> TargetFile {
        TargetFile {
            length: 5,
            hashes: hashes
                .iter()
                .map(|(a, d)| ((*a).to_owned(), d.clone()))
                .collect(),
            unrecognized: Object::new(),
        }
    }

    #[test]
    fn every_spec_algorithm_is_computed_and_checked() {
        let bytes = b"hello";
        for alg in HASH_ALGORITHMS {
            let good = digest_hex(alg, bytes).unwrap();
            assert!(target(&[(alg, good.clone())]).check(bytes).is_ok(), "{alg}");
            let mut bad = good.clone();
            bad.replace_range(0..1, if bad.starts_with('0') { "1" } else { "0" });
            let err = target(&[(alg, bad.clone())]).check(bytes).unwrap_err();
            assert_eq!(
                err,
                FileError::Hash {
                    alg: alg.to_owned(),
                    found: good,
                    expected: bad
                }
            );
            assert!(err.to_string().starts_with(alg), "{err}");
        }
        assert_eq!(
            digest_hex("sha256", b"").unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(sha256_hex(b""), digest_hex("sha256", b"").unwrap());
    }

    #[test]
    fn one_wrong_hash_among_good_ones_is_refused() {
        let bytes = b"hello";
        let file = target(&[
            ("sha256", digest_hex("sha256", bytes).unwrap()),
            ("sha384", "00".repeat(48)),
            ("sha512", digest_hex("sha512", bytes).unwrap()),
        ]);
        assert!(matches!(
            file.check(bytes),
            Err(FileError::Hash { alg, .. }) if alg == "sha384"
        ));
    }

    #[test]
    fn unknown_algorithms_are_skipped_but_one_known_is_required() {
        let bytes = b"hello";
        let mixed = target(&[
            ("blake2b-256", "ab".into()),
            ("sha512", digest_hex("sha512", bytes).unwrap()),
        ]);
        assert_eq!(mixed.check(bytes), Ok(()));
        let unknown = target(&[("md5", "5d41402abc4b2a76b9719d911017c592".into())]);
        assert_eq!(unknown.check(bytes), Err(FileError::NoKnownHash));
    }

    #[test]
    fn length_is_checked_before_hashes() {
        let file = target(&[("sha256", digest_hex("sha256", b"hello").unwrap())]);
        assert_eq!(
            file.check(b"hello!"),
            Err(FileError::Length {
                found: 6,
                expected: 5
            })
        );
        assert_eq!(file.check_length(5), Ok(()));
        assert!(file.check_length(4).is_err());
    }

    #[test]
    fn a_meta_entry_checks_only_what_it_lists() {
        let bytes = b"{}";
        let bare = MetaFile {
            version: 3,
            length: None,
            hashes: None,
            unrecognized: Object::new(),
        };
        assert_eq!(bare.check(b"anything"), Ok(()));
        let full = MetaFile {
            length: Some(2),
            hashes: Some(BTreeMap::from([(
                "sha384".to_owned(),
                digest_hex("sha384", bytes).unwrap(),
            )])),
            ..bare.clone()
        };
        assert_eq!(full.check(bytes), Ok(()));
        assert!(matches!(full.check(b"[]"), Err(FileError::Hash { .. })));
        assert!(matches!(full.check(b"{} "), Err(FileError::Length { .. })));
        let empty = MetaFile {
            hashes: Some(BTreeMap::new()),
            ..bare
        };
        assert_eq!(empty.check(bytes), Err(FileError::NoKnownHash));
    }

    #[test]
    fn a_stream_is_hashed_as_the_whole() {
        let bytes = b"hello world";
        let hashes = BTreeMap::from([("sha256".to_owned(), sha256_hex(bytes))]);
        let mut hasher = Hasher::new(&hashes).unwrap();
        hasher.update(b"hello ");
        hasher.update(b"world");
        assert_eq!(hasher.finish(), Ok(()));
    }
}
