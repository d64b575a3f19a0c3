//! The built-in repository as seeds: every file signed by the built-in
//! key, with lengths and hashes, one delegated role, and a rotation.

use std::collections::BTreeMap;

use crate::{encode, key};
use tuf_metadata::testing::{file_bytes, root, signed};
use tuf_metadata::{
    Common, DelegatedRole, DelegatedRoles, Delegations, Expires, MetaFile, Object, RoleKeys,
    RoleScope, Snapshot, TargetFile, Targets, Timestamp,
};

fn common(version: u64) -> Common {
    Common {
        spec_version: "1.0.31".into(),
        version,
        expires: Expires::parse("2100-01-01T00:00:00Z").unwrap(),
    }
}

fn entry(version: u64, bytes: &[u8]) -> MetaFile {
    let sha = tuf_metadata::files::digest_hex("sha256", bytes).unwrap();
    MetaFile {
        version,
        length: Some(bytes.len() as u64),
        hashes: Some(BTreeMap::from([("sha256".into(), sha)])),
        unrecognized: Object::new(),
    }
}

fn targets(version: u64, path: &str, delegate: Option<&str>) -> Vec<u8> {
    let content = b"fuzz target file";
    let file = TargetFile {
        length: content.len() as u64,
        hashes: BTreeMap::from([("sha256".into(), tuf_metadata::sha256_hex(content))]),
        unrecognized: Object::new(),
    };
    let delegations = delegate.map(|name| Delegations {
        keys: BTreeMap::from([(key().id(), key().key().clone())]),
        roles: DelegatedRoles::Listed(vec![DelegatedRole {
            name: name.into(),
            keys: RoleKeys {
                keyids: vec![key().id()],
                threshold: 1,
                unrecognized: Object::new(),
            },
            terminating: true,
            scope: RoleScope::Paths(vec!["delegated/*".into()]),
        }]),
        unrecognized: Object::new(),
    });
    let part = Targets {
        common: common(version),
        targets: BTreeMap::from([(path.into(), file)]),
        delegations,
        unrecognized: Object::new(),
    };
    file_bytes(&signed(part, &[key()]))
}

/// The seeds, by file name.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let role = targets(1, "delegated/a.txt", None);
    let top = targets(2, "a.txt", Some("a b/../%"));
    let snapshot = Snapshot {
        common: common(3),
        meta: BTreeMap::from([
            ("targets.json".into(), entry(2, &top)),
            ("a b/../%.json".into(), entry(1, &role)),
        ]),
        unrecognized: Object::new(),
    };
    let snapshot = file_bytes(&signed(snapshot, &[key()]));
    let timestamp = Timestamp {
        common: common(4),
        snapshot: entry(3, &snapshot),
        unrecognized: Object::new(),
    };
    let timestamp = file_bytes(&signed(timestamp, &[key()]));
    let root2 = file_bytes(&signed(
        root(2, &[key()], 1, "2100-01-01T00:00:00Z"),
        &[key()],
    ));
    let full = encode(&[
        ("root", &root2),
        ("timestamp", &timestamp),
        ("snapshot", &snapshot),
        ("targets", &top),
        ("role a b/../%", &role),
        ("file", b"fuzz target file"),
        ("find delegated/a.txt", b""),
    ]);
    let cached = encode(&[
        ("cached timestamp.json", &timestamp),
        ("cached snapshot.json", &snapshot),
        ("timestamp", &timestamp),
        ("snapshot", &snapshot),
        ("targets", &top),
        ("find a.txt", b""),
    ]);
    let resigned = encode(&[
        ("timestamp resign", &timestamp),
        ("snapshot resign", &snapshot),
        ("targets resign", &top),
    ]);
    vec![
        ("own-full", full),
        ("own-cached", cached),
        ("own-resign", resigned),
    ]
}
