//! The two rules for a key set we write or sign (a root's `keys`, or a
//! targets file's `delegations.keys`), in one place:
//!
//! - one public key, one key id: a key listed under two ids (two keytype
//!   spellings, PEM and hex, an extra field) counts once for us but twice
//!   for clients that count key ids, so one keyholder could meet a
//!   threshold of two alone;
//! - only encodings every major client (python-tuf, go-tuf, tuf-js, tough)
//!   reads, so no client is left stuck on an old root.
//!
//! Verifying metadata that already exists does not use these rules; it goes
//! on counting distinct decoded keys (`threshold`).

use std::collections::BTreeMap;
use std::fmt;

use crate::keys::{Key, KeyId, PublicKey};
use crate::root::Root;
use crate::targets::{DelegatedRoles, Delegations};
use crate::threshold::short_id;

/// A family of TUF clients whose reading of key objects we track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Client {
    /// python-tuf on securesystemslib 1.x.
    PythonTuf,
    /// go-tuf v2 (`metadata` package).
    GoTuf,
    /// tuf-js (`@tufjs/models`).
    TufJs,
    /// tough (awslabs).
    Tough,
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Client::PythonTuf => "python-tuf",
            Client::GoTuf => "go-tuf",
            Client::TufJs => "tuf-js",
            Client::Tough => "tough",
        })
    }
}

/// One public key listed under two key ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The first id (in key-id order).
    pub first: KeyId,
    /// Another id of the same decoded key.
    pub second: KeyId,
    /// Roles listing either id; empty when neither is used by a role.
    pub roles: Vec<String>,
}

impl fmt::Display for DuplicateKey {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let roles = match self.roles.as_slice() {
            [] => "keys".to_owned(),
            [one] => format!("{one} role"),
            many => format!("roles {}", many.join(", ")),
        };
        write!(
            f,
            "{roles}: key ids {} and {} are one public key; a client counting key ids would count it twice",
            short_id(&self.first),
            short_id(&self.second)
        )
    }
}

/// A key in an encoding some major clients cannot read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonPortableKey {
    /// Its key id.
    pub keyid: KeyId,
    /// What is unusual about it.
    pub encoding: &'static str,
    /// The clients that cannot load it.
    pub unreadable_by: &'static [Client],
}

impl fmt::Display for NonPortableKey {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let clients: Vec<String> = self.unreadable_by.iter().map(|c| c.to_string()).collect();
        write!(
            f,
            "key {} is {}, which {} cannot read",
            short_id(&self.keyid),
            self.encoding,
            clients.join(", ")
        )
    }
}

/// What the two rules found in one key set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyAudit {
    /// Pairs of key ids naming one decoded public key.
    pub duplicates: Vec<DuplicateKey>,
    /// Keys in an encoding not every major client reads.
    pub non_portable: Vec<NonPortableKey>,
}

impl KeyAudit {
    /// True when neither rule found anything.
    pub fn is_clean(&self) -> bool {
        self.duplicates.is_empty() && self.non_portable.is_empty()
    }

    /// The non-portable keys whose id is not in `before` (keys already in
    /// force are flagged, new ones refused).
    pub fn new_non_portable<'a>(
        &'a self,
        before: &'a BTreeMap<KeyId, Key>,
    ) -> impl Iterator<Item = &'a NonPortableKey> + 'a {
        self.non_portable
            .iter()
            .filter(move |k| !before.contains_key(&k.keyid))
    }
}

/// The form every major client reads for P-256: keytype `ecdsa`, scheme
/// `ecdsa-sha2-nistp256`, PEM SPKI (what securesystemslib 1.x writes).
pub const PORTABLE_P256_KEYTYPE: &str = "ecdsa";

const NOT_PYTHON_GO_TOUGH: &[Client] = &[Client::PythonTuf, Client::GoTuf, Client::Tough];
const NOT_TOUGH: &[Client] = &[Client::Tough];
const NOT_GO_JS_TOUGH: &[Client] = &[Client::GoTuf, Client::TufJs, Client::Tough];

/// Whether `key` is in an encoding some major client cannot read: what is
/// unusual about it and who cannot read it. `None` for portable keys and for
/// keys we do not decode at all (those are refused elsewhere).
pub fn portability(key: &Key) -> Option<(&'static str, &'static [Client])> {
    let pem = key.public.trim_start().starts_with("-----BEGIN");
    match (key.keytype.as_str(), key.scheme.as_str()) {
        ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") if !pem => {
            Some(("a P-256 key as a hex point, not PEM", NOT_PYTHON_GO_TOUGH))
        }
        ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => Some((
            "a P-256 key under the deprecated keytype ecdsa-sha2-nistp256",
            NOT_TOUGH,
        )),
        ("rsa", "rsa-pkcs1v15-sha256") => Some((
            "an RSA key with scheme rsa-pkcs1v15-sha256",
            NOT_GO_JS_TOUGH,
        )),
        _ => None,
    }
}

/// The key material alone: an RSA key is one key whatever scheme it lists.
fn material(key: PublicKey) -> PublicKey {
    match key {
        PublicKey::Rsa { der, .. } => PublicKey::Rsa { der, pss: false },
        other => other,
    }
}

/// Audits a key set; `roles` names the roles and the key ids each lists, to
/// say where a duplicate is used.
pub fn audit_keys<'a>(
    keys: &BTreeMap<KeyId, Key>,
    roles: impl IntoIterator<Item = (&'a str, &'a [KeyId])>,
) -> KeyAudit {
    let roles: Vec<(&str, &[KeyId])> = roles.into_iter().collect();
    let mut seen: BTreeMap<PublicKey, &KeyId> = BTreeMap::new();
    let mut audit = KeyAudit::default();
    for (id, key) in keys {
        if let Some((encoding, unreadable_by)) = portability(key) {
            audit.non_portable.push(NonPortableKey {
                keyid: id.clone(),
                encoding,
                unreadable_by,
            });
        }
        let Ok(decoded) = key.public_key() else {
            continue;
        };
        match seen.get(&material(decoded.clone())) {
            Some(first) => audit.duplicates.push(DuplicateKey {
                first: (*first).clone(),
                second: id.clone(),
                roles: roles
                    .iter()
                    .filter(|(_, ids)| ids.contains(first) || ids.contains(id))
                    .map(|(name, _)| (*name).to_owned())
                    .collect(),
            }),
            None => {
                seen.insert(material(decoded), id);
            }
        }
    }
    audit
}

/// Audits a root's `keys`, naming its top-level roles.
pub fn audit_root(root: &Root) -> KeyAudit {
    audit_keys(
        &root.keys,
        root.roles
            .iter()
            .map(|(name, role)| (name.as_str(), role.keyids.as_slice())),
    )
}

/// Audits a targets file's `delegations.keys`, naming the delegated roles.
pub fn audit_delegations(delegations: &Delegations) -> KeyAudit {
    let roles: Vec<(&str, &[KeyId])> = match &delegations.roles {
        DelegatedRoles::Listed(list) => list
            .iter()
            .map(|r| (r.name.as_str(), r.keys.keyids.as_slice()))
            .collect(),
        DelegatedRoles::Succinct(s) => vec![(s.name_prefix.as_str(), s.keys.keyids.as_slice())],
    };
    audit_keys(&delegations.keys, roles)
}

#[cfg(test)]
#[path = "key_audit_tests.rs"]
mod tests;
