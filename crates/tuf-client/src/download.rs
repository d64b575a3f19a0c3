//! Target files on disk and on the remote: the name a target is fetched
//! under, and whether a file already downloaded is still the one listed.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use tuf_metadata::files::Hasher;

use crate::names::quote_path;
use crate::updater::TargetInfo;

/// The path a target is fetched under, relative to the targets base: with
/// consistent snapshots `<dir>/<hash>.<basename>`, the hash being the
/// sha256 if listed, else the sha512, else the first listed; each path
/// segment percent-encoded.
pub(crate) fn target_url_path(info: &TargetInfo, consistent: bool) -> String {
    let (dir, base) = match info.path.rsplit_once('/') {
        Some((dir, base)) => (Some(dir), base),
        None => (None, info.path.as_str()),
    };
    let base = if consistent {
        let hash = ["sha256", "sha512"]
            .iter()
            .find_map(|alg| info.hashes.get(*alg))
            .or_else(|| info.hashes.values().next());
        match hash {
            Some(hash) => format!("{hash}.{base}"),
            None => base.to_owned(),
        }
    } else {
        base.to_owned()
    };
    match dir {
        Some(dir) => quote_path(&format!("{dir}/{base}")),
        None => quote_path(&base),
    }
}

/// True if `path` is a regular file of the listed length whose listed
/// hashes pass the one hash rule ([`tuf_metadata::files`]), read as a stream.
pub(crate) fn local_target_matches(path: &Path, info: &TargetInfo) -> bool {
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    match file.metadata() {
        Ok(m) if m.is_file() && m.len() == info.length => {}
        _ => return false,
    }
    let Ok(mut hasher) = Hasher::new(&info.hashes) else {
        return false;
    };
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                total += n as u64;
                if total > info.length {
                    return false;
                }
                hasher.update(&buffer[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    total == info.length && hasher.finish().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(path: &str, hashes: &[(&str, &str)]) -> TargetInfo {
        TargetInfo {
            path: path.into(),
            length: 5,
            hashes: hashes
                .iter()
                .map(|(a, d)| ((*a).to_owned(), (*d).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn consistent_names_prefix_the_basename_with_a_hash() {
        let both = info("a b/c.txt", &[("sha512", "55"), ("sha256", "22")]);
        assert_eq!(target_url_path(&both, true), "a%20b/22.c.txt");
        assert_eq!(target_url_path(&both, false), "a%20b/c.txt");
        let other = info("c.txt", &[("sha384", "33")]);
        assert_eq!(target_url_path(&other, true), "33.c.txt");
    }

    #[test]
    fn a_local_file_matches_only_with_its_length_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, b"hello").unwrap();
        let sha = tuf_metadata::files::sha256_hex(b"hello");
        assert!(local_target_matches(&path, &info("t", &[("sha256", &sha)])));
        assert!(!local_target_matches(
            &path,
            &info("t", &[("sha256", "00")])
        ));
        assert!(!local_target_matches(&path, &info("t", &[("md5", "00")])));
        std::fs::write(&path, b"hello!").unwrap();
        assert!(!local_target_matches(
            &path,
            &info("t", &[("sha256", &sha)])
        ));
        assert!(!local_target_matches(
            &dir.path().join("none"),
            &info("t", &[])
        ));
    }
}
