//! The online keys (snapshot and timestamp): opened from their age files
//! with the passphrase the configuration points at, and used only for the
//! role the root lists them under.

use std::path::Path;

use anyhow::{Context, Result, bail};
use signers::Pin;
use signers::Signer;
use signers::software::SoftwareSigner;
use tuf_metadata::threshold::short_id;
use tuf_metadata::{Metadata, Root, Signature};
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

    /// Signs `metadata` under the key id `root` lists this key under for
    /// this role; refuses a key the root does not list for it.
    pub fn sign<T>(&mut self, root: &Root, metadata: &mut Metadata<T>) -> Result<()> {
        let keyid = self.listed_as(root)?;
        let role = self.role;
        let signature = self
            .signer
            .sign(metadata.signed_bytes())
            .with_context(|| format!("{role} key {}", self.signer.path().display()))?;
        metadata.set_signature(Signature {
            keyid,
            sig: signature.sig,
            unrecognized: Default::default(),
        });
        Ok(())
    }

    /// The key id `root` lists this key under for its role; refused (naming
    /// the key file) when root does not list it there. `import` checks this
    /// before writing anything.
    pub fn listed_as(&self, root: &Root) -> Result<tuf_metadata::KeyId> {
        let role = self.role;
        let ours = self.signer.public_key().public_key()?;
        let listed = root
            .role(role)
            .into_iter()
            .flat_map(|r| r.keyids.iter())
            .find(|id| {
                root.keys
                    .get(*id)
                    .and_then(|k| k.public_key().ok())
                    .is_some_and(|k| k == ours)
            });
        let Some(keyid) = listed.cloned() else {
            bail!(
                "{role} key {} ({}) is not one root v{} lists for the {role} role",
                self.signer.path().display(),
                short_id(&self.signer.key_id()),
                root.common.version
            );
        };
        Ok(keyid)
    }
}
