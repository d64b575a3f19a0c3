//! The online keys (snapshot and timestamp): opened from their age files
//! with the passphrase the configuration points at, and used only for the
//! role the root lists them under.

use std::fmt;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use signers::Pin;
use signers::Signer;
use signers::software::SoftwareSigner;
use tuf_metadata::signing::{self, KeySet};
use tuf_metadata::threshold::short_id;
use tuf_metadata::{KeyId, Metadata, Root};
use zeroize::Zeroizing;

use crate::config::OnlineKey;

/// An online role's key, opened.
pub struct OnlineSigner {
    role: &'static str,
    signer: SoftwareSigner,
}

impl OnlineSigner {
    /// Opens the `role` key of the configuration (scrypt: a few seconds).
    pub fn open(repo: &Path, role: &'static str, key: &OnlineKey) -> Result<Self> {
        let passphrase = match (&key.passphrase_env, &key.passphrase_file) {
            (Some(var), _) => match std::env::var(var) {
                Ok(value) if !value.is_empty() => Pin::new(Zeroizing::new(value)),
                _ => bail!("{role} key: the passphrase variable {var} is not set"),
            },
            (None, Some(file)) => {
                Pin::from_file(&repo.join(file)).with_context(|| format!("{role} key"))?
            }
            (None, None) => bail!("{role} key: the configuration names no passphrase"),
        };
        let path = key.age_path(repo);
        let signer = SoftwareSigner::open(&path, &passphrase)
            .with_context(|| format!("{role} key {}", path.display()))?;
        Ok(OnlineSigner { role, signer })
    }

    /// Signs `metadata` under every key id `root` lists this key under for
    /// this role (the signing rule, [`signing::record`]); refuses a key the
    /// root does not list for it.
    pub fn sign<T>(&mut self, root: &Root, metadata: &mut Metadata<T>) -> Result<()> {
        let what = self.signer.path().display().to_string();
        sign_for_role(self.role, &what, &mut self.signer, root, metadata)
    }

    /// The public key, as root lists it: what `import` puts in the root
    /// that hands the online roles to this repository's keys.
    pub fn key(&self) -> tuf_metadata::Key {
        self.signer.public_key().clone()
    }

    /// The key ids `root` lists this key under for its role (the signing
    /// rule, [`signing::keyids_listing`]); refused (naming the key file)
    /// when root does not list it there. `import` checks this before
    /// writing anything.
    pub fn listed_as(&self, root: &Root) -> Result<Vec<KeyId>> {
        let (_, ids) =
            listed_for_role(self.role, &self.signer.path().display(), &self.signer, root)?;
        Ok(ids)
    }
}

/// The key set of `role` in `root` and the ids in it listing `signer`'s
/// key, or why it may not sign for `role` (`what` names the key file).
fn listed_for_role(
    role: &str,
    what: &dyn fmt::Display,
    signer: &dyn Signer,
    root: &Root,
) -> Result<(KeySet, Vec<KeyId>)> {
    let not_listed = || {
        anyhow!(
            "{role} key {what} ({}) is not one root v{} lists for the {role} role",
            short_id(&signer.key_id()),
            root.common.version
        )
    };
    let ours = signer
        .public_key()
        .public_key()
        .with_context(|| format!("{role} key {what}"))?;
    let set = KeySet::of_root_role(root, role).ok_or_else(not_listed)?;
    let ids = signing::keyids_listing(std::slice::from_ref(&set), &ours);
    if ids.is_empty() {
        return Err(not_listed());
    }
    Ok((set, ids))
}

/// Signs `metadata` with `signer` for `role` of `root`, recording the
/// checked signature under every key id root lists the key under there.
fn sign_for_role<T>(
    role: &str,
    what: &dyn fmt::Display,
    signer: &mut dyn Signer,
    root: &Root,
    metadata: &mut Metadata<T>,
) -> Result<()> {
    let (set, _) = listed_for_role(role, what, signer, root)?;
    let signature = signer
        .sign(metadata.signed_bytes())
        .with_context(|| format!("{role} key {what}"))?;
    signing::record(metadata, &[set], &signature).with_context(|| format!("{role} key {what}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use signers::{Backend, CheckedSignature, SignError, SignerIdentity};
    use tuf_metadata::testing::{TestKey, root};
    use tuf_metadata::{Key, Metadata, Value};

    use super::*;

    struct Online {
        key: TestKey,
        identity: SignerIdentity,
    }

    impl Online {
        fn new(seed: u8) -> Self {
            Online {
                key: TestKey::from_seed(seed),
                identity: SignerIdentity {
                    backend: Backend::Software,
                    model: "test".into(),
                    serial: String::new(),
                    token_label: "snapshot.age".into(),
                    key_label: String::new(),
                    slot: None,
                },
            }
        }
    }

    impl Signer for Online {
        fn public_key(&self) -> &Key {
            self.key.key()
        }
        fn identity(&self) -> &SignerIdentity {
            &self.identity
        }
        fn sign(&mut self, canonical_bytes: &[u8]) -> Result<CheckedSignature, SignError> {
            signers::checked_signature(
                self.key.key(),
                canonical_bytes,
                &self.key.sign_bytes(canonical_bytes),
            )
        }
    }

    /// The case where `online.rs` had its own rule: root lists the online
    /// key twice for the role (once with an `x-` field, so under another
    /// key id). The old rule signed under the first id only; the signing
    /// rule records the signature under every id listing the key.
    #[test]
    fn an_online_key_listed_under_two_ids_is_signed_under_both() {
        let (online, other) = (Online::new(1), TestKey::from_seed(2));
        let mut renamed = online.key.key().clone();
        renamed
            .unrecognized
            .insert("x-rotated-from".into(), Value::from("hsm"));
        let mut v1 = root(1, &[&other], 1, "2030-01-01T00:00:00Z");
        v1.keys.insert(online.key.id(), online.key.key().clone());
        v1.keys.insert(renamed.key_id(), renamed.clone());
        v1.roles.get_mut("snapshot").unwrap().keyids =
            vec![renamed.key_id(), other.id(), online.key.id()];
        let both = vec![renamed.key_id(), online.key.id()];

        let (_, ids) = listed_for_role("snapshot", &"snapshot.age", &online, &v1).unwrap();
        assert_eq!(ids, both);

        let mut snapshot = Metadata::new(root(9, &[&other], 1, "2030-01-01T00:00:00Z"));
        let mut signer = online;
        sign_for_role("snapshot", &"snapshot.age", &mut signer, &v1, &mut snapshot).unwrap();
        let recorded: Vec<&KeyId> = snapshot.signatures().iter().map(|s| &s.keyid).collect();
        assert_eq!(recorded, [&both[0], &both[1]]);
        let report =
            tuf_metadata::rotation::check_role(&v1, "snapshot", &snapshot).expect("root lists it");
        assert!(report.is_met(), "{report}");
    }

    #[test]
    fn a_key_root_does_not_list_for_the_role_signs_nothing() {
        let (mut online, other) = (Online::new(1), TestKey::from_seed(2));
        let mut v1 = root(1, &[&other], 1, "2030-01-01T00:00:00Z");
        v1.keys.insert(online.key.id(), online.key.key().clone());
        v1.roles.get_mut("timestamp").unwrap().keyids = vec![online.key.id()];
        let err = listed_for_role("snapshot", &"snapshot.age", &online, &v1).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "snapshot key snapshot.age ({}) is not one root v1 lists for the snapshot role",
                short_id(&online.key.id())
            )
        );
        let mut snapshot = Metadata::new(root(9, &[&other], 1, "2030-01-01T00:00:00Z"));
        assert!(
            sign_for_role("snapshot", &"snapshot.age", &mut online, &v1, &mut snapshot).is_err()
        );
        assert!(snapshot.signatures().is_empty());
        let (_, ids) = listed_for_role("timestamp", &"timestamp.age", &online, &v1).unwrap();
        assert_eq!(ids, [online.key.id()]);
    }
}
