//! Software keys: an Ed25519 or P-256 private key in an age file encrypted
//! to a passphrase. For online roles (snapshot, timestamp) and drills only:
//! the key is in a file, so anyone who copies the file and learns the
//! passphrase has it. [`Backend::Software`] says so wherever it is shown.
//!
//! The file is what `age -p` makes of the key's PKCS#8 DER, so a key can also
//! be wrapped by hand (`openssl genpkey -algorithm ed25519 -outform DER |
//! age -p -o key.age`) and unwrapped for a backup. The public key is not
//! stored beside it: it comes from the decrypted key.
//!
//! Secrets: the passphrase and the decrypted PKCS#8 live in zeroizing memory.
//! Decryption costs one to three seconds of scrypt by design (age calibrates
//! the work factor to at least a second on the machine that made the file),
//! so [`SoftwareSigner`] decrypts once, in [`SoftwareSigner::open`], and keeps
//! the PKCS#8 bytes (zeroized on drop) for its lifetime. ring's key pairs do
//! not wipe themselves, so each signature builds one from those bytes and
//! drops it before returning: 15 to 30 microseconds, against seconds per
//! signature if the file were decrypted each time.

mod key_file;
mod key_pair;

use std::fmt;
use std::path::{Path, PathBuf};

use tuf_metadata::Key;
use zeroize::Zeroizing;

use crate::{
    Backend, CheckedSignature, KeyKind, Pin, SignError, Signer, SignerIdentity, checked_signature,
};
use key_pair::KeyPair;

/// How a software key file appears in transcripts and onboarding records:
/// labelled as a software key (online roles and drills only), named by file.
pub fn identity_for(path: &Path) -> SignerIdentity {
    SignerIdentity {
        backend: Backend::Software,
        model: "age-encrypted key file".into(),
        serial: String::new(),
        token_label: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        key_label: String::new(),
        slot: None,
    }
}

/// Why a software key file could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum SoftwareError {
    /// The passphrase does not open the file.
    #[error("wrong passphrase for {}", path.display())]
    WrongPassphrase {
        /// The key file.
        path: PathBuf,
    },
    /// The file is not a passphrase-encrypted age file.
    #[error("{} is not a passphrase-encrypted age key file: {reason}", path.display())]
    NotAgeFile {
        /// The file.
        path: PathBuf,
        /// What it is instead.
        reason: String,
    },
    /// The file was an age file but has been truncated or altered.
    #[error("{} is damaged: {reason}; restore it from its backup", path.display())]
    Damaged {
        /// The key file.
        path: PathBuf,
        /// What does not check.
        reason: String,
    },
    /// The file asks for more scrypt work than any key file needs.
    #[error(
        "{} asks for scrypt work factor 2^{log_n}, more than a key file needs (at most 2^22): refused",
        path.display()
    )]
    TooMuchWork {
        /// The file.
        path: PathBuf,
        /// Its work factor.
        log_n: u8,
    },
    /// The file decrypts, but not to a key this backend signs with.
    #[error("{} does not hold an Ed25519 or P-256 private key: {reason}", path.display())]
    UnsupportedKey {
        /// The key file.
        path: PathBuf,
        /// What it holds instead.
        reason: String,
    },
    /// `generate` found the file already there.
    #[error("{} already exists: a key file is never overwritten", path.display())]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// `generate` was given an empty passphrase.
    #[error("the passphrase is empty: a key file is only as safe as its passphrase")]
    EmptyPassphrase,
    /// The system's random number generator failed.
    #[error("the system random number generator failed: no key was made")]
    Random,
    /// Reading or writing the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Makes software key files.
#[derive(Debug)]
pub struct SoftwareKey(());

impl SoftwareKey {
    /// Makes a new `kind` key, encrypts it to `passphrase` into `path` (a new
    /// file, mode 0600, written atomically and decrypted again from disk
    /// before it is put in place) and returns its public key object.
    /// Refuses to overwrite an existing file, and an empty passphrase.
    pub fn generate(kind: KeyKind, path: &Path, passphrase: &Pin) -> Result<Key, SoftwareError> {
        if passphrase.expose().is_empty() {
            return Err(SoftwareError::EmptyPassphrase);
        }
        if std::fs::symlink_metadata(path).is_ok() {
            // Checked first to spare the scrypt work; `write_new` checks again.
            return Err(SoftwareError::Exists {
                path: path.to_owned(),
            });
        }
        let pkcs8 = key_pair::generate(kind).map_err(|_| SoftwareError::Random)?;
        let key = KeyPair::from_pkcs8(&pkcs8)
            .expect("ring reads the keys it makes")
            .public_key_object();
        let encrypted =
            key_file::encrypt(&pkcs8, passphrase).map_err(|source| SoftwareError::Io {
                path: path.to_owned(),
                source,
            })?;
        drop(pkcs8);
        key_file::write_new(path, &encrypted, |written| {
            let back = SoftwareSigner::open(written, passphrase)?;
            if back.key == key {
                Ok(())
            } else {
                Err(SoftwareError::Damaged {
                    path: path.to_owned(),
                    reason: "the file written did not read back as the key just made".into(),
                })
            }
        })?;
        Ok(key)
    }
}

/// A [`Signer`] over a software key file, decrypted once when opened.
pub struct SoftwareSigner {
    path: PathBuf,
    kind: KeyKind,
    key: Key,
    identity: SignerIdentity,
    /// The private key, PKCS#8 DER: wiped on drop, never shown.
    pkcs8: Zeroizing<Vec<u8>>,
}

impl SoftwareSigner {
    /// Decrypts the key file at `path` with `passphrase` (one to three
    /// seconds of scrypt work) and holds the key until dropped.
    pub fn open(path: &Path, passphrase: &Pin) -> Result<Self, SoftwareError> {
        let pkcs8 = key_file::read(path, passphrase)?;
        let (kind, key) = {
            // Dropped at the end of this block: ring does not wipe it (module doc).
            let pair =
                KeyPair::from_pkcs8(&pkcs8).map_err(|reason| SoftwareError::UnsupportedKey {
                    path: path.to_owned(),
                    reason,
                })?;
            (pair.kind(), pair.public_key_object())
        };
        let identity = identity_for(path);
        Ok(SoftwareSigner {
            path: path.to_owned(),
            kind,
            key,
            identity,
            pkcs8,
        })
    }

    /// The key file this signer was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The kind of key it holds.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }
}

impl Signer for SoftwareSigner {
    fn public_key(&self) -> &Key {
        &self.key
    }

    fn identity(&self) -> &SignerIdentity {
        &self.identity
    }

    fn sign(&mut self, canonical_bytes: &[u8]) -> Result<CheckedSignature, SignError> {
        let signature = {
            // Lives for this block only: ring does not wipe it (module doc).
            let pair = KeyPair::from_pkcs8(&self.pkcs8).map_err(SignError::Backend)?;
            pair.sign(canonical_bytes)
                .map_err(|_| SignError::Backend(format!("{} signing failed", self.kind)))?
        };
        checked_signature(&self.key, canonical_bytes, &signature)
    }

    /// The same signatures and checks as [`Signer::sign`] one at a time,
    /// with the private and the public key decoded once for the batch
    /// (hash-bin batches sign thousands of files).
    fn sign_many(&mut self, messages: &[&[u8]]) -> Vec<Result<CheckedSignature, SignError>> {
        let pair = match KeyPair::from_pkcs8(&self.pkcs8) {
            Ok(pair) => pair,
            Err(e) => {
                return messages
                    .iter()
                    .map(|_| Err(SignError::Backend(e.clone())))
                    .collect();
            }
        };
        let checking = match crate::checking_key(&self.key) {
            Ok(checking) => checking,
            Err(e) => {
                let e = e.to_string();
                return messages
                    .iter()
                    .map(|_| Err(SignError::Backend(e.clone())))
                    .collect();
            }
        };
        messages
            .iter()
            .map(|message| {
                let signature = pair
                    .sign(message)
                    .map_err(|_| SignError::Backend(format!("{} signing failed", self.kind)))?;
                crate::checked_signature_with(&checking, message, &signature)
            })
            .collect()
    }
}

impl fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("key_id", &self.key.key_id())
            .field("private_key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests;
