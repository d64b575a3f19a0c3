//! Public key files (what `ceremony onboard` writes) and editing a root's
//! roles: adding and removing keys, setting thresholds, and refusing a root
//! that could never be signed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bundle_format::{PublicKeyError, PublicKeyFile};
use signers::yubikey::attestation::{self, AttestationEvidence, TrustedRoots, stored};
use tuf_metadata::threshold::short_id;
use tuf_metadata::{DuplicateKey, Key, KeyAudit, KeyId, NonPortableKey, PublicKey, Root};

/// Extra attestation roots (PEM or DER files, separated by `:`) trusted
/// besides Yubico's pinned ones when `init` and `stage-rotation` re-check
/// a key file's evidence: an organisation's own attestation CA, or the
/// emulator's test CA in drills and tests.
pub const ATTESTATION_ROOTS_ENV: &str = "TUF_REPO_ATTESTATION_ROOTS";

/// Cap on a public key file or a certificate (with an attestation chain a
/// key file is a few kilobytes): a device or a huge file is not read.
pub const MAX_KEY_FILE_BYTES: usize = 1024 * 1024;

/// Why a key file or a role change is refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be read.
    #[error("{file}: {error}")]
    Read {
        /// The file.
        file: String,
        /// Why (`cannot open: …`, not a regular file, over the cap).
        error: metadata_io::ReadError,
    },
    /// Not a `{"keyid", "key", …}` object holding a usable key.
    #[error("{file}: {why}")]
    Malformed {
        /// The file.
        file: String,
        /// What is wrong.
        why: String,
    },
    /// The file carries YubiKey attestation evidence that does not verify
    /// (chain, or binding to the key): the key is refused.
    #[error("{file}: the YubiKey attestation does not verify: {why}")]
    Attestation {
        /// The file.
        file: String,
        /// Why.
        why: String,
    },
    /// The key id written in the file is not the hash of its key.
    #[error("{file}: key id {listed} does not match its key (computed {computed})")]
    KeyIdMismatch {
        /// The file.
        file: String,
        /// The id in the file.
        listed: String,
        /// The id the key hashes to.
        computed: String,
    },
}

/// Why a role edit is refused.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// `--remove-…-key` matched nothing or more than one key.
    #[error("{role} role: {what} {id:?}")]
    NoSuchKey {
        /// The role.
        role: String,
        /// "no key matches" / "several keys match".
        what: &'static str,
        /// The id or prefix given.
        id: String,
    },
    /// The key is already in the role.
    #[error("{role} role: key {} is already listed", short_id(.id))]
    AlreadyListed {
        /// The role.
        role: String,
        /// The key id.
        id: KeyId,
    },
    /// A threshold no set of keys can meet, or a role with no keys.
    #[error("{role} role: threshold {threshold} with {keys} distinct key(s) could never be met")]
    Unsignable {
        /// The role.
        role: String,
        /// The threshold.
        threshold: u64,
        /// Distinct public keys listed.
        keys: usize,
    },
}

/// Why a key set is refused when we write it: the two rules of
/// `tuf_metadata::key_audit`, applied to everything `tuf-repo` stages.
#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    /// One public key under two key ids.
    #[error("{0}")]
    Duplicate(DuplicateKey),
    /// A new key in an encoding some major client cannot read.
    #[error(
        "{0}; publish it as every major client reads it (P-256: keytype \"ecdsa\", PEM SPKI; see docs/decisions.md)"
    )]
    NonPortable(NonPortableKey),
}

/// Refuses `audit`'s first duplicate, then any non-portable key not
/// already in force in `before` (those are only reported, on stderr, as
/// warnings).
pub fn check_key_set(audit: KeyAudit, before: &BTreeMap<KeyId, Key>) -> Result<(), KeySetError> {
    if let Some(duplicate) = audit.duplicates.first() {
        return Err(KeySetError::Duplicate(duplicate.clone()));
    }
    if let Some(new) = audit.new_non_portable(before).next() {
        return Err(KeySetError::NonPortable(new.clone()));
    }
    for in_force in &audit.non_portable {
        say_err!("WARNING: {in_force}");
    }
    Ok(())
}

/// Reads a public key file: `{"keyid", "key", "token"}` as `ceremony onboard`
/// writes it, refusing a key id that is not its key's hash. When the file
/// carries YubiKey attestation evidence it must verify (against Yubico's
/// pinned roots and any in `$TUF_REPO_ATTESTATION_ROOTS`) and certify this
/// very key, else the key is refused; the attested serial is printed.
/// `extra_roots` are trusted too (`--attestation-root`).
pub fn read_public_key_file(path: &Path, extra_roots: &[PathBuf]) -> Result<Key, KeyFileError> {
    let roots = roots_with(extra_roots).map_err(|why| KeyFileError::Attestation {
        file: path.display().to_string(),
        why,
    })?;
    let (key, evidence) = read_key_and_evidence(path, &roots)?;
    if let Some(evidence) = evidence {
        say_err!(
            "{}: attested on YubiKey serial {} (firmware {}, PIN {}, touch {})",
            path.display(),
            evidence.serial,
            evidence.firmware_string(),
            evidence.pin_policy,
            evidence.touch_policy
        );
        for warning in evidence.warnings() {
            say_err!("WARNING: {}: {warning}", path.display());
        }
    }
    Ok(key)
}

/// Yubico's pinned roots plus those named by [`ATTESTATION_ROOTS_ENV`].
pub fn roots_from_env() -> Result<TrustedRoots, String> {
    let mut roots = TrustedRoots::yubico();
    if let Some(list) = std::env::var_os(ATTESTATION_ROOTS_ENV) {
        for path in std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()) {
            add_root_file(&mut roots, &path)?;
        }
    }
    Ok(roots)
}

/// [`roots_from_env`] plus the files in `extra` (`--attestation-root`).
pub fn roots_with(extra: &[PathBuf]) -> Result<TrustedRoots, String> {
    let mut roots = roots_from_env()?;
    for path in extra {
        add_root_file(&mut roots, path)?;
    }
    Ok(roots)
}

/// Adds the certificate in `path` (PEM or DER) to `roots`.
pub fn add_root_file(roots: &mut TrustedRoots, path: &Path) -> Result<(), String> {
    let bytes = metadata_io::read_capped(path, MAX_KEY_FILE_BYTES)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    roots
        .add_root(&bytes)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// [`read_public_key_file`] without printing: the key, and the verified
/// evidence when the file has an `"attestation"` member. The file's format
/// (and the key id check) is `bundle_format::public_key`'s.
pub fn read_key_and_evidence(
    path: &Path,
    roots: &TrustedRoots,
) -> Result<(Key, Option<AttestationEvidence>), KeyFileError> {
    let file = path.display().to_string();
    let bytes =
        metadata_io::read_capped(path, MAX_KEY_FILE_BYTES).map_err(|error| KeyFileError::Read {
            file: file.clone(),
            error,
        })?;
    let refuse = |why: String| KeyFileError::Attestation {
        file: file.clone(),
        why,
    };
    let parsed = PublicKeyFile::parse(&bytes).map_err(|e| match e {
        PublicKeyError::Malformed(why) => KeyFileError::Malformed {
            file: file.clone(),
            why,
        },
        PublicKeyError::KeyIdMismatch { listed, computed } => KeyFileError::KeyIdMismatch {
            file: file.clone(),
            listed,
            computed,
        },
        PublicKeyError::Attestation(why) => refuse(why),
    })?;
    let key = parsed.key;
    let Some(evidence) = parsed.attestation else {
        return Ok((key, None));
    };
    let der = |name: &str, text: &str| {
        stored::decode(text).map_err(|e| refuse(format!("\"{name}\": {e}")))
    };
    let certificate = der("certificate", &evidence.certificate)?;
    let intermediate = der("intermediate", &evidence.intermediate)?;
    let evidence = attestation::verify_evidence(&certificate, &intermediate, roots)
        .and_then(|evidence| {
            evidence.check_binding(&key, &file)?;
            Ok(evidence)
        })
        .map_err(|e| refuse(e.to_string()))?;
    Ok((key, Some(evidence)))
}

/// Adds `key` to `role` (and to `keys`).
pub fn add_key(root: &mut Root, role: &str, key: Key) -> Result<(), RoleError> {
    let id = key.key_id();
    let keys = root.roles.get_mut(role).expect("a top-level role");
    if keys.keyids.contains(&id) {
        return Err(RoleError::AlreadyListed {
            role: role.into(),
            id,
        });
    }
    keys.keyids.push(id.clone());
    root.keys.insert(id, key);
    Ok(())
}

/// Replaces every key id `root` lists that is not its key's own id (TUF
/// clients read such roots, and one of sigstore's had one; we never write
/// one) by the key's id, in `keys` and in every role; returns `(listed,
/// corrected)`. The key itself is unchanged: signing this root records its
/// signature under both ids, so the root before it (which knows only the
/// listed id) and this one (the key's own) each count it.
pub fn correct_key_ids(root: &mut Root) -> Vec<(KeyId, KeyId)> {
    let wrong = tuf_metadata::keys::keyid_mismatches(&root.keys);
    for (listed, actual) in &wrong {
        if let Some(key) = root.keys.remove(listed) {
            root.keys.entry(actual.clone()).or_insert(key);
        }
        for role in root.roles.values_mut() {
            if role.keyids.contains(actual) {
                role.keyids.retain(|id| id != listed);
            } else {
                for id in role.keyids.iter_mut().filter(|id| *id == listed) {
                    *id = actual.clone();
                }
            }
        }
    }
    wrong
}

/// Removes the key whose id is `id_or_prefix` (or starts with it) from
/// `role`, and from `keys` when no other role lists it.
pub fn remove_key(root: &mut Root, role: &str, id_or_prefix: &str) -> Result<KeyId, RoleError> {
    let keys = root.roles.get_mut(role).expect("a top-level role");
    let matches: Vec<KeyId> = keys
        .keyids
        .iter()
        .filter(|id| !id_or_prefix.is_empty() && id.starts_with(id_or_prefix))
        .cloned()
        .collect();
    let id = match matches.as_slice() {
        [one] => one.clone(),
        [] | [_, _, ..] => {
            return Err(RoleError::NoSuchKey {
                role: role.into(),
                what: if matches.is_empty() {
                    "no key matches"
                } else {
                    "several keys match"
                },
                id: id_or_prefix.into(),
            });
        }
    };
    keys.keyids.retain(|k| *k != id);
    if !root.roles.values().any(|r| r.keyids.contains(&id)) {
        root.keys.remove(&id);
    }
    Ok(id)
}

/// Refuses any role of `root` whose threshold its distinct keys cannot meet.
pub fn check_signable(root: &Root) -> Result<(), RoleError> {
    for (name, role) in &root.roles {
        let distinct: BTreeSet<PublicKey> = role
            .keyids
            .iter()
            .filter_map(|id| root.keys.get(id).and_then(|k| k.public_key().ok()))
            .collect();
        if role.threshold == 0 || role.threshold > distinct.len() as u64 {
            return Err(RoleError::Unsignable {
                role: name.clone(),
                threshold: role.threshold,
                keys: distinct.len(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_as_a_key_file_is_refused_at_once() {
        let err = read_key_and_evidence(Path::new("/dev/zero"), &TrustedRoots::empty())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/dev/zero: "), "{err}");
        assert!(err.contains("not a regular file"), "{err}");
    }
    use tuf_metadata::{Value, json};

    const ED: &str = "a5cd7c8b5a6f4b0e4d0e3a2c1f1d6a1c3e4b5a6f7d8c9b0a1e2f3d4c5b6a7980";

    fn key(public: &str) -> Key {
        Key {
            keytype: "ed25519".into(),
            scheme: "ed25519".into(),
            public: public.into(),
            keyval_rest: Default::default(),
            unrecognized: Default::default(),
        }
    }

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_key_file_is_read_and_a_dishonest_key_id_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let k = key(ED);
        let body = String::from_utf8(json::to_pretty(&k.to_value())).unwrap();
        let good = write(
            dir.path(),
            "good.pub.json",
            &format!(
                r#"{{"keyid": "{}", "key": {body}, "token": {{}}}}"#,
                k.key_id()
            ),
        );
        assert_eq!(read_public_key_file(&good, &[]).unwrap(), k);
        let liar = write(
            dir.path(),
            "liar.pub.json",
            &format!(r#"{{"keyid": "{}", "key": {body}}}"#, "00".repeat(32)),
        );
        let err = read_public_key_file(&liar, &[]).unwrap_err().to_string();
        assert!(
            err.contains("liar.pub.json") && err.contains("does not match"),
            "{err}"
        );
        let junk = write(dir.path(), "junk.pub.json", "[]");
        let err = read_public_key_file(&junk, &[]).unwrap_err().to_string();
        assert!(err.starts_with(&junk.display().to_string()), "{err}");
    }

    fn root_with(keys: &[&Key], threshold: u64) -> Root {
        let role = tuf_metadata::RoleKeys {
            keyids: keys.iter().map(|k| k.key_id()).collect(),
            threshold,
            unrecognized: Default::default(),
        };
        Root {
            common: tuf_metadata::Common {
                spec_version: "1.0.31".into(),
                version: 1,
                expires: tuf_metadata::Expires::parse("2040-01-01T00:00:00Z").unwrap(),
            },
            consistent_snapshot: Some(true),
            keys: keys.iter().map(|k| (k.key_id(), (*k).clone())).collect(),
            roles: ["root", "targets", "snapshot", "timestamp"]
                .into_iter()
                .map(|n| (n.to_owned(), role.clone()))
                .collect(),
            unrecognized: Default::default(),
        }
    }

    #[test]
    fn removing_a_root_key_keeps_it_for_the_roles_that_still_list_it() {
        let (a, b) = (key(ED), key(&ED.replace('a', "b")));
        let mut root = root_with(&[&a, &b], 1);
        let removed = remove_key(&mut root, "root", &a.key_id()[..10]).unwrap();
        assert_eq!(removed, a.key_id());
        assert!(!root.roles["root"].keyids.contains(&a.key_id()));
        assert!(
            root.keys.contains_key(&a.key_id()),
            "targets still lists it"
        );
        for role in ["targets", "snapshot", "timestamp"] {
            remove_key(&mut root, role, &a.key_id()).unwrap();
        }
        assert!(!root.keys.contains_key(&a.key_id()), "no role lists it now");
        let err = remove_key(&mut root, "root", "").unwrap_err().to_string();
        assert!(err.contains("no key matches"), "{err}");
        let err = add_key(&mut root, "root", b.clone())
            .unwrap_err()
            .to_string();
        assert!(err.contains("already listed"), "{err}");
    }

    #[test]
    fn a_threshold_counts_distinct_keys_not_key_ids() {
        let a = key(ED);
        let mut renamed = a.clone();
        renamed
            .unrecognized
            .insert("x-owner".into(), Value::from("@a"));
        let root = root_with(&[&a, &renamed], 2);
        let err = check_signable(&root).unwrap_err().to_string();
        assert!(err.contains("threshold 2 with 1 distinct key(s)"), "{err}");
        assert!(check_signable(&root_with(&[&a, &renamed], 1)).is_ok());
        let err = check_signable(&root_with(&[], 1)).unwrap_err().to_string();
        assert!(err.contains("with 0 distinct key(s)"), "{err}");
    }
}
