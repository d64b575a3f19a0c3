//! The key file on disk: an age file encrypted to a passphrase (scrypt
//! recipient), binary or ASCII-armored, whose plaintext is the PKCS#8 DER of
//! the private key. Written once, atomically, mode 0600; never overwritten.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use age::armor::ArmoredReader;
use age::secrecy::SecretString;
use age::{DecryptError, Decryptor};
use zeroize::Zeroizing;

use super::SoftwareError;
use crate::Pin;

/// Larger than any age file holding one of our keys (about 300 bytes, or
/// 450 armored): anything bigger is refused before it is read.
const MAX_FILE_BYTES: u64 = 16 * 1024;

/// Larger than any PKCS#8 Ed25519 or P-256 key (at most 138 bytes).
const MAX_PLAINTEXT_BYTES: usize = 1024;

/// The highest scrypt work factor (`N = 2^22`: 4 GiB of memory, several
/// seconds) a key file may ask for. age's calibration makes files of about
/// one second's work (`2^18`..`2^20` on current machines); a file asking for
/// more is refused rather than allowed to exhaust memory.
const MAX_LOG_N: u8 = 22;

/// Encrypts `plaintext` to `passphrase` with age's scrypt recipient, at the
/// work factor age calibrates to about one second on this machine.
///
/// age's writer keeps its plaintext chunk in an ordinary `Vec` that it does
/// not wipe; that copy of the key is freed when this function returns.
pub(super) fn encrypt(plaintext: &[u8], passphrase: &Pin) -> io::Result<Vec<u8>> {
    let recipient = age::scrypt::Recipient::new(secret(passphrase));
    age::encrypt(&recipient, plaintext).map_err(|e| match e {
        age::EncryptError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    })
}

/// Reads and decrypts a key file, telling a wrong passphrase apart from a
/// file that is not a key file or has been damaged.
pub(super) fn read(path: &Path, passphrase: &Pin) -> Result<Zeroizing<Vec<u8>>, SoftwareError> {
    let io_error = |source| SoftwareError::Io {
        path: path.to_owned(),
        source,
    };
    let not_age = |reason: &str| SoftwareError::NotAgeFile {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let damaged = |reason: &str| SoftwareError::Damaged {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };

    let file = File::open(path).map_err(io_error)?;
    let len = file.metadata().map_err(io_error)?.len();
    if len > MAX_FILE_BYTES {
        return Err(not_age(&format!(
            "it is {len} bytes, far larger than a key file"
        )));
    }
    let mut ciphertext = Vec::new();
    file.take(MAX_FILE_BYTES)
        .read_to_end(&mut ciphertext)
        .map_err(io_error)?;
    if !ciphertext.starts_with(b"age-encryption.org/")
        && !ciphertext.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
    {
        return Err(not_age("it does not start with an age header"));
    }

    let decryptor =
        Decryptor::new_buffered(ArmoredReader::new(&ciphertext[..])).map_err(|e| match e {
            DecryptError::UnknownFormat => {
                not_age("it is an age file of a version this tool does not read")
            }
            _ => damaged(&format!("its age header does not parse ({e})")),
        })?;
    if !decryptor.is_scrypt() {
        return Err(not_age(
            "it is encrypted to age recipients (public keys), not to a passphrase",
        ));
    }
    let mut identity = age::scrypt::Identity::new(secret(passphrase));
    identity.set_max_work_factor(MAX_LOG_N);
    let reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            // The passphrase-wrapped file key does not authenticate: a wrong
            // passphrase (or, indistinguishably, a damaged key stanza).
            DecryptError::DecryptionFailed => SoftwareError::WrongPassphrase {
                path: path.to_owned(),
            },
            DecryptError::ExcessiveWork { required, .. } => SoftwareError::TooMuchWork {
                path: path.to_owned(),
                log_n: required,
            },
            DecryptError::InvalidMac => {
                damaged("its age header has been altered (the header MAC does not match)")
            }
            other => damaged(&format!("its age header is invalid ({other})")),
        })?;

    // Room for the largest plaintext allowed, so reading never reallocates
    // and leaves a stray copy of the key in freed memory.
    let mut plaintext = Zeroizing::new(Vec::with_capacity(MAX_PLAINTEXT_BYTES + 1));
    reader
        .take(MAX_PLAINTEXT_BYTES as u64 + 1)
        .read_to_end(&mut plaintext)
        .map_err(|_| {
            damaged("the encrypted key does not authenticate (the file is truncated or altered)")
        })?;
    if plaintext.len() > MAX_PLAINTEXT_BYTES {
        return Err(SoftwareError::UnsupportedKey {
            path: path.to_owned(),
            reason: format!(
                "it decrypts to more than {MAX_PLAINTEXT_BYTES} bytes, larger than any key it could hold"
            ),
        });
    }
    Ok(plaintext)
}

fn secret(passphrase: &Pin) -> SecretString {
    // `SecretString` wipes its copy on drop, like `Pin`.
    SecretString::from(passphrase.expose().to_owned())
}

/// Writes a new file that must not exist yet: a temporary file (mode 0600)
/// in the same directory, fsync, `check` on what was written, then linked
/// into place (which fails if `path` appeared meanwhile) and the directory
/// fsynced. A crash leaves at most a hidden `.NAME.tmp-…` file, never a
/// torn key file.
///
/// On a filesystem without hard links (FAT, some network mounts) the link
/// falls back to `rename` after a second existence check; the window between
/// the two is the only way a file could be overwritten.
pub(super) fn write_new(
    path: &Path,
    contents: &[u8],
    check: impl FnOnce(&Path) -> Result<(), SoftwareError>,
) -> Result<(), SoftwareError> {
    let io_error = |source| SoftwareError::Io {
        path: path.to_owned(),
        source,
    };
    let exists = || SoftwareError::Exists {
        path: path.to_owned(),
    };
    if fs::symlink_metadata(path).is_ok() {
        return Err(exists());
    }
    let name = path.file_name().ok_or_else(|| {
        io_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a file",
        ))
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}-{nanos}", std::process::id()));
    let tmp = TempFile(dir.join(tmp_name));

    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp.0).map_err(io_error)?;
    file.write_all(contents).map_err(io_error)?;
    file.sync_all().map_err(io_error)?;
    drop(file);

    check(&tmp.0)?;

    match fs::hard_link(&tmp.0, path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(exists()),
        Err(_) => {
            if fs::symlink_metadata(path).is_ok() {
                return Err(exists());
            }
            fs::rename(&tmp.0, path).map_err(io_error)?;
        }
    }
    drop(tmp);
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error)
}

/// A temporary file, removed when dropped (after a rename it is gone already).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}
