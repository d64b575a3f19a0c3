//! Deterministic keys and roots for other crates' tests (feature
//! `testing`): one place that builds signed metadata with `ring`, so tests
//! across the workspace do not each grow their own helper. Never used by a
//! binary.

use std::collections::BTreeMap;

use ring::signature::{Ed25519KeyPair, KeyPair};

use crate::json::Object;
use crate::metadata::{Metadata, Signature, SignedPart};
use crate::root::{Common, RoleKeys, Root};
use crate::{Expires, Key, KeyId};

/// An Ed25519 key made from a fixed seed, so signatures (and screens that
/// show them) are the same on every run.
pub struct TestKey {
    pair: Ed25519KeyPair,
    key: Key,
}

impl TestKey {
    /// The key whose 32-byte seed is `seed` repeated.
    pub fn from_seed(seed: u8) -> Self {
        let pair =
            Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).expect("any 32 bytes are a seed");
        let key = Key {
            keytype: "ed25519".into(),
            scheme: "ed25519".into(),
            public: hex::encode(pair.public_key()),
            keyval_rest: Object::new(),
            unrecognized: Object::new(),
        };
        TestKey { pair, key }
    }

    /// The TUF key object.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Its key id.
    pub fn id(&self) -> KeyId {
        self.key.key_id()
    }

    /// The raw signature of `message`.
    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }

    /// A TUF signature of `message` under this key's id.
    pub fn signature(&self, message: &[u8]) -> Signature {
        Signature {
            keyid: self.id(),
            sig: hex::encode(self.sign_bytes(message)),
            unrecognized: Object::new(),
        }
    }

    /// Signs `metadata` (replacing an earlier signature by this key).
    pub fn sign<T>(&self, metadata: &mut Metadata<T>) {
        let signature = self.signature(metadata.signed_bytes());
        metadata.set_signature(signature);
    }
}

/// A root of `version` expiring at `expires` (RFC 3339) whose four
/// top-level roles all list `keys` with `threshold`.
pub fn root(version: u64, keys: &[&TestKey], threshold: u64, expires: &str) -> Root {
    let role = RoleKeys {
        keyids: keys.iter().map(|k| k.id()).collect(),
        threshold,
        unrecognized: Object::new(),
    };
    Root {
        common: Common {
            spec_version: "1.0.31".into(),
            version,
            expires: Expires::parse(expires).expect("a test expiry parses"),
        },
        consistent_snapshot: Some(true),
        keys: keys.iter().map(|k| (k.id(), k.key().clone())).collect(),
        roles: ["root", "targets", "snapshot", "timestamp"]
            .into_iter()
            .map(|n| (n.to_owned(), role.clone()))
            .collect::<BTreeMap<_, _>>(),
        unrecognized: Object::new(),
    }
}

/// `signed` wrapped as metadata and signed by each of `signers`.
pub fn signed<T: SignedPart>(signed: T, signers: &[&TestKey]) -> Metadata<T> {
    let mut metadata = Metadata::new(signed);
    for key in signers {
        key.sign(&mut metadata);
    }
    metadata
}

/// The file bytes of `metadata`, as our tools write them.
pub fn file_bytes<T: SignedPart>(metadata: &Metadata<T>) -> Vec<u8> {
    crate::json::to_pretty(&metadata.to_value())
}
