//! Runbook-style tests of rotation, thresholds, round trips and the diff,
//! with keys made by `ring` (python-tuf-made fixtures are in `tests/`).

use ring::rand::SystemRandom;
use ring::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use spki::der::pem::LineEnding;
use spki::der::{Decode, EncodePem};
use time::macros::datetime;

use crate::diff::diff_roots;
use crate::json::{Object, Value};
use crate::metadata::{Limits, Metadata, Signature, Signed};
use crate::root::{Common, RoleKeys, Root};
use crate::{Expires, Key, verify_root_update, verify_trusted_root};

enum Pair {
    Ed(Ed25519KeyPair),
    P256(EcdsaKeyPair),
}

/// A test signer: a ring key pair and the TUF key object published for it.
struct TestKey {
    pair: Pair,
    key: Key,
}

impl TestKey {
    fn ed25519() -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let key = key_object("ed25519", "ed25519", hex::encode(pair.public_key()));
        TestKey {
            pair: Pair::Ed(pair),
            key,
        }
    }

    fn p256(pem: bool) -> Self {
        let alg = &sig::ECDSA_P256_SHA256_ASN1_SIGNING;
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let key = if pem {
            key_object("ecdsa", "ecdsa-sha2-nistp256", p256_pem(&point))
        } else {
            key_object(
                "ecdsa-sha2-nistp256",
                "ecdsa-sha2-nistp256",
                hex::encode(&point),
            )
        };
        TestKey {
            pair: Pair::P256(pair),
            key,
        }
    }

    fn id(&self) -> String {
        self.key.key_id()
    }

    fn sign_as(&self, keyid: &str, message: &[u8]) -> Signature {
        let raw = match &self.pair {
            Pair::Ed(p) => p.sign(message).as_ref().to_vec(),
            Pair::P256(p) => p
                .sign(&SystemRandom::new(), message)
                .unwrap()
                .as_ref()
                .to_vec(),
        };
        Signature {
            keyid: keyid.to_owned(),
            sig: hex::encode(raw),
            unrecognized: Object::new(),
        }
    }
}

fn key_object(keytype: &str, scheme: &str, public: String) -> Key {
    Key {
        keytype: keytype.into(),
        scheme: scheme.into(),
        public,
        keyval_rest: Object::new(),
        unrecognized: Object::new(),
    }
}

fn p256_pem(point: &[u8]) -> String {
    let mut der = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
    der.extend_from_slice(point);
    spki::SubjectPublicKeyInfoOwned::from_der(&der)
        .unwrap()
        .to_pem(LineEnding::LF)
        .unwrap()
}

/// A root whose every role uses `root_keys` (by their honest key ids).
fn root(version: u64, root_keys: &[&TestKey], threshold: u64) -> Root {
    let mut keys = std::collections::BTreeMap::new();
    for k in root_keys {
        keys.insert(k.id(), k.key.clone());
    }
    let role = RoleKeys {
        keyids: root_keys.iter().map(|k| k.id()).collect(),
        threshold,
        unrecognized: Object::new(),
    };
    let roles = ["root", "targets", "snapshot", "timestamp"]
        .into_iter()
        .map(|n| (n.to_owned(), role.clone()))
        .collect();
    Root {
        common: Common {
            spec_version: "1.0.31".into(),
            version,
            expires: Expires::parse("2040-01-01T00:00:00Z").unwrap(),
        },
        consistent_snapshot: Some(true),
        keys,
        roles,
        unrecognized: Object::new(),
    }
}

fn signed(root: Root, signers: &[&TestKey]) -> Metadata<Root> {
    let mut md = Metadata::new(root);
    for k in signers {
        let s = k.sign_as(&k.id(), md.signed_bytes());
        md.add_signature(s).unwrap();
    }
    md
}

/// Writes and re-reads, as a file would travel.
fn reread(md: &Metadata<Root>) -> Metadata<Signed> {
    let text = crate::json::to_pretty(&md.to_value());
    Metadata::parse(&text, &Limits::ROOT).unwrap()
}

const NOW: time::OffsetDateTime = datetime!(2026-11-21 00:00 UTC);

#[test]
fn rotation_with_one_key_replaced_needs_both_thresholds() {
    let [a, b, c, d] = [(); 4].map(|()| TestKey::ed25519());
    let v1 = signed(root(1, &[&a, &b, &c], 2), &[&a, &b]);
    verify_trusted_root(&v1).unwrap();
    let v2 = root(2, &[&a, &b, &d], 2);

    // Old keys alone (a, c): v1's threshold met, v2's own only 1/2.
    let err =
        verify_root_update(&v1, reread(&signed(v2.clone(), &[&a, &c])), Some(NOW)).unwrap_err();
    assert_eq!(err.code(), "threshold-not-met");
    assert!(
        err.to_string()
            .contains("root v2's own root threshold not met: 1/2"),
        "{err}"
    );

    // b (in both) and d (new only): v2 2/2, but v1 only 1/2.
    let err =
        verify_root_update(&v1, reread(&signed(v2.clone(), &[&d, &b])), Some(NOW)).unwrap_err();
    assert!(
        err.to_string()
            .contains("root v1's root threshold not met: 1/2"),
        "{err}"
    );

    let ok = verify_root_update(&v1, reread(&signed(v2, &[&a, &b, &d])), Some(NOW)).unwrap();
    assert_eq!((ok.by_trusted.counted(), ok.by_itself.counted()), (2, 3));
    assert!(ok.keyid_mismatches.is_empty());
}

#[test]
fn one_key_under_two_keyids_counts_once() {
    let [a, b] = [(); 2].map(|()| TestKey::ed25519());
    let mut twin = a.key.clone();
    twin.unrecognized.insert("x-dup".into(), Value::Int(1));
    let twin_id = twin.key_id();
    let mut v1 = root(1, &[&a, &b], 2);
    v1.keys.insert(twin_id.clone(), twin);
    v1.roles
        .get_mut("root")
        .unwrap()
        .keyids
        .push(twin_id.clone());
    let v1 = signed(v1.clone(), &[&a, &b]);
    let mut v2 = v1.signed().clone();
    v2.common.version = 2;
    let mut md = Metadata::new(v2);
    let s1 = a.sign_as(&a.id(), md.signed_bytes());
    let s2 = a.sign_as(&twin_id, md.signed_bytes());
    md.add_signature(s1).unwrap();
    md.add_signature(s2).unwrap();
    let err = verify_root_update(&v1, reread(&md), Some(NOW)).unwrap_err();
    assert_eq!(err.code(), "threshold-not-met");
    assert!(err.to_string().contains("1/2"), "{err}");
    assert!(err.to_string().contains("counted once"), "{err}");
}

#[test]
fn one_p256_key_as_pem_and_as_hex_counts_once() {
    let pem = TestKey::p256(true);
    let hex_key = key_object("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", {
        let Pair::P256(p) = &pem.pair else {
            unreachable!()
        };
        hex::encode(p.public_key().as_ref())
    });
    assert_eq!(pem.key.public_key().unwrap(), hex_key.public_key().unwrap());
    let other = TestKey::p256(false);
    let mut r = root(1, &[&pem, &other], 2);
    r.keys.insert(hex_key.key_id(), hex_key.clone());
    r.roles
        .get_mut("root")
        .unwrap()
        .keyids
        .push(hex_key.key_id());
    let mut md = Metadata::new(r);
    let s1 = pem.sign_as(&pem.id(), md.signed_bytes());
    let s2 = pem.sign_as(&hex_key.key_id(), md.signed_bytes());
    md.add_signature(s1).unwrap();
    md.add_signature(s2).unwrap();
    let err = verify_trusted_root(&reread(&md).into_root().unwrap()).unwrap_err();
    assert!(err.to_string().contains("1/2"), "{err}");
}

#[test]
fn rollback_replay_and_skip_are_refused() {
    let [a, b] = [(); 2].map(|()| TestKey::ed25519());
    let v2 = signed(root(2, &[&a, &b], 1), &[&a]);
    for version in [1, 2, 4] {
        let next = reread(&signed(root(version, &[&a, &b], 1), &[&a, &b]));
        let err = verify_root_update(&v2, next, Some(NOW)).unwrap_err();
        assert_eq!(err.code(), "version-not-successor", "v{version}");
    }
}

#[test]
fn expiry_is_checked_only_when_a_time_is_given() {
    let a = TestKey::p256(true);
    let v1 = signed(root(1, &[&a], 1), &[&a]);
    let mut v2 = root(2, &[&a], 1);
    v2.common.expires = Expires::parse("2020-01-01T00:00:00Z").unwrap();
    let v2 = signed(v2, &[&a]);
    assert!(verify_root_update(&v1, reread(&v2), None).is_ok());
    let err = verify_root_update(&v1, reread(&v2), Some(NOW)).unwrap_err();
    assert_eq!(err.code(), "expired");
}

#[test]
fn a_signature_over_other_bytes_does_not_count() {
    let a = TestKey::ed25519();
    let v1 = signed(root(1, &[&a], 1), &[&a]);
    let mut v2 = Metadata::new(root(2, &[&a], 1));
    let pretty = b"{\n \"_type\": \"root\"\n}".to_vec();
    v2.add_signature(a.sign_as(&a.id(), &pretty)).unwrap();
    let err = verify_root_update(&v1, reread(&v2), Some(NOW)).unwrap_err();
    assert!(
        err.to_string().contains("signature does not verify"),
        "{err}"
    );
}

#[test]
fn a_targets_file_is_not_a_root() {
    let a = TestKey::ed25519();
    let v1 = signed(root(1, &[&a], 1), &[&a]);
    let text = br#"{"signatures":[],"signed":{"_type":"targets","spec_version":"1.0","version":2,
        "expires":"2040-01-01T00:00:00Z","targets":{}}}"#;
    let md = Metadata::parse(text, &Limits::ANY).unwrap();
    let err = verify_root_update(&v1, md, Some(NOW)).unwrap_err();
    assert_eq!(err.code(), "unexpected-type");
}

#[test]
fn unknown_fields_survive_a_round_trip_everywhere() {
    let text = br#"{"signatures":[{"keyid":"aa","sig":"bb","x-s":1}],"x-top":[1],
      "signed":{"_type":"targets","spec_version":"1.0.31","version":3,"x-signed":{"k":"v"},
      "expires":"2040-01-01T00:00:00Z","targets":{"a/b.txt":{"length":1,"hashes":{"sha256":"00"},
      "custom":{"z":null}}},"delegations":{"keys":{"k1":{"keytype":"ed25519","scheme":"ed25519",
      "keyval":{"public":"00","x-kv":true},"keyid_hash_algorithms":["sha256","sha512"]}},
      "succinct_roles":{"keyids":["k1"],"threshold":1,"bit_length":14,"name_prefix":"bin","x-r":0},
      "x-d":"d"}}}"#;
    let parsed = crate::json::parse(text, 1 << 20).unwrap();
    let md = Metadata::parse(text, &Limits::ANY).unwrap();
    assert_eq!(md.to_value(), parsed);
    assert_eq!(
        md.signed_bytes(),
        crate::canonical::encode(&md.signed().to_value())
    );
    let Signed::Targets(t) = md.signed() else {
        panic!("targets")
    };
    let d = t.delegations.as_ref().unwrap();
    assert_eq!(d.role_keys("bin-3fff").unwrap().threshold, 1);
    assert!(d.role_keys("bin-4000").is_none());
}

#[test]
fn diff_spells_out_a_rotation() {
    let [a, b, c] = [(); 3].map(|()| TestKey::ed25519());
    let ecdsa = TestKey::p256(true);
    let old = root(1, &[&a, &b, &ecdsa], 2);
    let mut new = root(2, &[&a, &c], 1);
    // The same P-256 key, now published as a hex point under a new key id.
    let Pair::P256(p) = &ecdsa.pair else {
        unreachable!()
    };
    let hex_key = key_object(
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp256",
        hex::encode(p.public_key().as_ref()),
    );
    new.keys.insert(hex_key.key_id(), hex_key.clone());
    new.roles
        .get_mut("root")
        .unwrap()
        .keyids
        .push(hex_key.key_id());
    new.common.expires = Expires::parse("2041-01-01T00:00:00Z").unwrap();
    new.unrecognized.insert("x-note".into(), "hello".into());
    let d = diff_roots(&old, &new);
    assert_eq!((d.version.old, d.version.new), (1, 2));
    assert_eq!(d.expires.as_ref().unwrap().new, "2041-01-01T00:00:00Z");
    let root_diff = d.roles.iter().find(|r| r.role == "root").unwrap();
    assert_eq!(root_diff.added, vec![c.id()]);
    assert_eq!(root_diff.removed, vec![b.id()]);
    assert_eq!(root_diff.reencoded, vec![(ecdsa.id(), hex_key.key_id())]);
    assert_eq!(
        root_diff.threshold.as_ref().map(|t| (t.old, t.new)),
        Some((2, 1))
    );
    assert_eq!(d.unknown_fields.len(), 1);
    assert_eq!(d.unknown_fields[0].path, "signed.x-note");
    assert!(d.consistent_snapshot.is_none());
}

#[test]
fn an_empty_placeholder_signature_is_not_signed_rather_than_invalid() {
    let [a, b] = [(); 2].map(|()| TestKey::ed25519());
    let mut md = Metadata::new(root(1, &[&a, &b], 1));
    let s = a.sign_as(&a.id(), md.signed_bytes());
    md.add_signature(s).unwrap();
    md.add_signature(Signature {
        keyid: b.id(),
        sig: String::new(),
        unrecognized: Object::new(),
    })
    .unwrap();
    let report = verify_trusted_root(&reread(&md).into_root().unwrap()).unwrap();
    assert_eq!(
        report.keys,
        vec![
            (a.id(), crate::KeyStatus::Counted),
            (b.id(), crate::KeyStatus::NotSigned)
        ]
    );
}
