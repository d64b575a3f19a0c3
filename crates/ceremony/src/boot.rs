//! Which image the appliance was started from: the boot files on the boot
//! stick's partition, hashed by the image's `/init` at boot, checked against
//! the boot manifest the build wrote there, shown on the clock screen for the
//! witness to compare with the published hashes, and put in the transcript.
//!
//! `/init` writes two files (docs/image.md): `boot-files`, `sha256sum`'s
//! output over the files it found on the partition labelled `TUF-BOOT`, and
//! `boot-manifest`, a copy of the build's `EFI/tuf-ceremony/boot-files.sha256`
//! (the same format). Off the image neither exists and nothing is shown.

use std::fmt;
use std::path::Path;

use tuf_metadata::{escape, sha256_hex};

/// Where the image's `/init` leaves what it hashed.
pub const IMAGE_BOOT_DIR: &str = "/run/tuf-ceremony";

/// Limit on either file: a few lines of hashes.
const MAX_LIST_BYTES: usize = 64 * 1024;

/// One boot file and its SHA-256 (hex), as hashed at boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootFile {
    /// Its path on the boot partition.
    pub name: String,
    /// Hex SHA-256 of its bytes.
    pub sha256: String,
}

/// What the appliance knows about the image it runs from.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum BootCheck {
    /// Not started from the image (a workstation, a test, a drill on the
    /// host): nothing to show.
    #[default]
    NotImage,
    /// The image could not hash its boot files (why, as `/init` wrote it
    /// or as reading its files failed): shown as a warning.
    Unknown(String),
    /// The boot files, the manifest's own hash, and every way the files
    /// differ from the manifest (empty when they match).
    Hashed {
        /// Each file hashed at boot, in the manifest's order.
        files: Vec<BootFile>,
        /// SHA-256 of the boot manifest: the one hash a witness compares
        /// with the published one.
        manifest_sha256: String,
        /// Files missing, extra or different from the manifest.
        mismatches: Vec<String>,
    },
}

impl BootCheck {
    /// Reads what `/init` left in `dir` (see the module comment).
    pub fn read(dir: &Path) -> BootCheck {
        let unverified = dir.join("boot-unverified");
        let files = dir.join("boot-files");
        let manifest = dir.join("boot-manifest");
        if let Ok(why) = metadata_io::read_regular_nofollow(&unverified, MAX_LIST_BYTES) {
            return BootCheck::Unknown(escape(String::from_utf8_lossy(&why).trim()).into_owned());
        }
        if !files.exists() && !manifest.exists() {
            return BootCheck::NotImage;
        }
        let read = |path: &Path| {
            metadata_io::read_regular_nofollow(path, MAX_LIST_BYTES)
                .map_err(|e| format!("{}: {e}", path.display()))
        };
        match (read(&files), read(&manifest)) {
            (Ok(files), Ok(manifest)) => BootCheck::from_lists(&files, &manifest),
            (Err(why), _) | (_, Err(why)) => BootCheck::Unknown(escape(&why).into_owned()),
        }
    }

    /// Compares the hashes taken at boot with the manifest's.
    pub fn from_lists(hashed: &[u8], manifest: &[u8]) -> BootCheck {
        let (found, listed) = match (parse_list(hashed), parse_list(manifest)) {
            (Ok(found), Ok(listed)) => (found, listed),
            (Err(why), _) => return BootCheck::Unknown(format!("boot-files: {why}")),
            (_, Err(why)) => return BootCheck::Unknown(format!("boot manifest: {why}")),
        };
        let mut mismatches = Vec::new();
        for want in &listed {
            match found.iter().find(|f| f.name == want.name) {
                None => mismatches.push(format!("{}: missing from the boot partition", want.name)),
                Some(got) if got.sha256 != want.sha256 => mismatches.push(format!(
                    "{}: differs from the manifest (sha256 {}…)",
                    want.name,
                    &got.sha256[..16]
                )),
                Some(_) => {}
            }
        }
        for got in &found {
            if !listed.iter().any(|w| w.name == got.name) {
                mismatches.push(format!("{}: not in the boot manifest", got.name));
            }
        }
        let mut files = listed
            .iter()
            .filter_map(|w| found.iter().find(|f| f.name == w.name).cloned())
            .collect::<Vec<_>>();
        files.extend(
            found
                .iter()
                .filter(|f| !listed.iter().any(|w| w.name == f.name))
                .cloned(),
        );
        BootCheck::Hashed {
            files,
            manifest_sha256: sha256_hex(manifest),
            mismatches,
        }
    }

    /// The digests for the transcript's first entry: each file, then the
    /// manifest as `boot manifest`.
    pub fn transcript_digests(&self) -> Vec<transcript::BootFileDigest> {
        match self {
            BootCheck::Hashed {
                files,
                manifest_sha256,
                ..
            } => files
                .iter()
                .map(|f| transcript::BootFileDigest {
                    file: f.name.clone(),
                    sha256: f.sha256.clone(),
                })
                .chain(std::iter::once(transcript::BootFileDigest {
                    file: "boot manifest".into(),
                    sha256: manifest_sha256.clone(),
                }))
                .collect(),
            BootCheck::NotImage | BootCheck::Unknown(_) => Vec::new(),
        }
    }
}

/// Why a hash list line is not `<64 hex>  <name>`.
#[derive(Debug)]
struct ListError(String);

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads `sha256sum` output: `<hex>  <name>` (or `<hex> *<name>`), names
/// kept escaped for the screen.
fn parse_list(bytes: &[u8]) -> Result<Vec<BootFile>, ListError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ListError("not UTF-8 text".into()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || ListError(format!("line {} is not `<sha256>  <file>`", n + 1));
        let (hash, rest) = line.split_once(' ').ok_or_else(bad)?;
        let name = rest
            .strip_prefix(' ')
            .or_else(|| rest.strip_prefix('*'))
            .ok_or_else(bad)?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) || name.is_empty() {
            return Err(bad());
        }
        out.push(BootFile {
            name: escape(name.trim_start_matches("./")).into_owned(),
            sha256: hash.to_ascii_lowercase(),
        });
    }
    if out.is_empty() {
        return Err(ListError("no files listed".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn list(entries: &[(&str, &str)]) -> Vec<u8> {
        entries
            .iter()
            .map(|(h, n)| format!("{h}  {n}\n"))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn matching_files_give_the_manifest_hash_and_no_mismatch() {
        let manifest = list(&[("vmlinuz", A), ("initrd.img", B)].map(|(n, h)| (h, n)));
        let check = BootCheck::from_lists(&manifest, &manifest);
        match &check {
            BootCheck::Hashed {
                files,
                manifest_sha256,
                mismatches,
            } => {
                assert_eq!(files.len(), 2);
                assert_eq!(files[0].name, "vmlinuz");
                assert_eq!(*manifest_sha256, sha256_hex(&manifest));
                assert!(mismatches.is_empty(), "{mismatches:?}");
            }
            other => panic!("{other:?}"),
        }
        let digests = check.transcript_digests();
        assert_eq!(digests.len(), 3);
        assert_eq!(digests[2].file, "boot manifest");
    }

    #[test]
    fn a_changed_missing_or_extra_file_is_a_mismatch() {
        let manifest = list(&[(A, "vmlinuz"), (A, "initrd.img")]);
        let hashed = list(&[(B, "vmlinuz"), (A, "EFI/BOOT/extra.efi")]);
        let BootCheck::Hashed { mismatches, .. } = BootCheck::from_lists(&hashed, &manifest) else {
            panic!("hashed")
        };
        assert_eq!(mismatches.len(), 3, "{mismatches:?}");
        assert!(mismatches[0].starts_with("vmlinuz: differs from the manifest (sha256 bbbb"));
        assert!(mismatches[1].contains("initrd.img: missing"));
        assert!(mismatches[2].contains("extra.efi: not in the boot manifest"));
    }

    #[test]
    fn malformed_lists_are_unknown_not_a_panic() {
        for bad in [&b""[..], b"xyz  vmlinuz\n", b"\xff\xfe", b"aaaa\n"] {
            assert!(
                matches!(
                    BootCheck::from_lists(bad, &list(&[(A, "v")])),
                    BootCheck::Unknown(_)
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names_are_escaped_for_the_screen() {
        let hashed = list(&[(A, "evil\x1b[2Jname")]);
        let BootCheck::Hashed { files, .. } = BootCheck::from_lists(&hashed, &hashed) else {
            panic!("hashed")
        };
        assert!(!files[0].name.contains('\x1b'), "{:?}", files[0].name);
    }

    #[test]
    fn reading_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(BootCheck::read(dir.path()), BootCheck::NotImage);
        std::fs::write(dir.path().join("boot-files"), list(&[(A, "vmlinuz")])).unwrap();
        std::fs::write(dir.path().join("boot-manifest"), list(&[(A, "vmlinuz")])).unwrap();
        assert!(matches!(
            BootCheck::read(dir.path()),
            BootCheck::Hashed { ref mismatches, .. } if mismatches.is_empty()
        ));
        std::fs::write(
            dir.path().join("boot-unverified"),
            "no partition labelled TUF-BOOT (direct kernel boot?)\n",
        )
        .unwrap();
        assert_eq!(
            BootCheck::read(dir.path()),
            BootCheck::Unknown("no partition labelled TUF-BOOT (direct kernel boot?)".into())
        );
    }
}
