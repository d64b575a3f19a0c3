//! Metadata shaped as real repositories publish it (sigstore's, read by
//! python-tuf, tuf-js and go-tuf) through both read modes: Existing reads
//! it without giving up a security check, Strict still refuses it.

use crate::json::{self, Object, Value};
use crate::metadata::{Limits, Metadata};
use crate::testing::{TestKey, file_bytes, root, signed};
use crate::{canonical, verify_trusted_root};

/// An envelope around `signed`, signed by `key` under each of `ids`.
fn envelope(signed: &Value, key: &TestKey, ids: &[&str]) -> Vec<u8> {
    let bytes = canonical::encode(signed);
    let signatures = ids
        .iter()
        .map(|id| {
            Value::Object(Object::from([
                ("keyid".to_owned(), Value::from(*id)),
                (
                    "sig".to_owned(),
                    Value::from(hex::encode(key.sign_bytes(&bytes))),
                ),
            ]))
        })
        .collect();
    json::to_pretty(&Value::Object(Object::from([
        ("signatures".to_owned(), Value::Array(signatures)),
        ("signed".to_owned(), signed.clone()),
    ])))
}

fn object(value: &mut Value) -> &mut Object {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other:?}"),
    }
}

/// A root v1 whose `expires` carries an offset, and whose one key is
/// listed twice: under its id and under an id that does not match it.
fn sigstore_shaped_root(key: &TestKey, threshold: u64) -> Value {
    let mut value = root(1, &[key], 1, "2040-01-01T00:00:00Z").to_value();
    let wrong_id = "ab".repeat(32);
    let signed = object(&mut value);
    signed.insert(
        "expires".into(),
        Value::from("2040-12-18T13:28:12.99008-06:00"),
    );
    object(signed.get_mut("keys").unwrap()).insert(wrong_id.clone(), key.key().to_value());
    let role = object(
        object(signed.get_mut("roles").unwrap())
            .get_mut("root")
            .unwrap(),
    );
    role.insert(
        "keyids".into(),
        Value::Array(vec![Value::from(key.id()), Value::from(wrong_id)]),
    );
    role.insert("threshold".into(), Value::Int(threshold as i64));
    value
}

#[test]
fn an_old_root_is_read_as_found_and_one_key_under_two_ids_counts_once() {
    let key = TestKey::from_seed(7);
    let wrong_id = "ab".repeat(32);
    for (threshold, met) in [(1, true), (2, false)] {
        let signed = sigstore_shaped_root(&key, threshold);
        let bytes = envelope(&signed, &key, &[&key.id(), &wrong_id]);
        let strict = Metadata::parse(&bytes, &Limits::ROOT).unwrap_err();
        assert_eq!(strict.code(), "bad-expires");
        let root = Metadata::parse_root_existing(&bytes).unwrap();
        // The signed bytes are the file's signed object, offset and all.
        assert_eq!(root.signed_bytes(), canonical::encode(&signed));
        assert_eq!(
            root.signed().common.expires.as_str(),
            "2040-12-18T13:28:12.99008-06:00"
        );
        let report = verify_trusted_root(&root);
        assert_eq!(report.is_ok(), met, "threshold {threshold}: {report:?}");
    }
}

#[test]
fn a_legacy_snapshot_and_unusual_role_names_are_read_only_as_existing() {
    let key = TestKey::from_seed(9);
    let mut snapshot = signed(
        crate::Snapshot {
            common: root(1, &[&key], 1, "2040-01-01T00:00:00Z").common,
            meta: Default::default(),
            unrecognized: Object::new(),
        },
        &[&key],
    )
    .signed()
    .to_value();
    let meta = object(object(&mut snapshot).get_mut("meta").unwrap());
    for name in [
        "root.json",
        "targets.json",
        "registry.npmjs.org.json",
        "/delegatedrole.json",
        "../delegatedrole.json",
        "%.json",
        "a b.json",
        "ünï.json",
    ] {
        meta.insert(
            name.into(),
            Value::Object(Object::from([("version".to_owned(), Value::Int(1))])),
        );
    }
    let bytes = envelope(&snapshot, &key, &[&key.id()]);
    assert_eq!(
        Metadata::parse(&bytes, &Limits::ANY).unwrap_err().code(),
        "bad-role-name"
    );
    let read = Metadata::parse(&bytes, &Limits::EXISTING_ANY).unwrap();
    assert_eq!(read.signed_bytes(), canonical::encode(&snapshot));
    let crate::Signed::Snapshot(s) = read.signed() else {
        panic!("a snapshot");
    };
    assert_eq!(s.meta.len(), 8);
}

#[test]
fn delegated_names_are_any_string_but_a_top_level_name() {
    let key = TestKey::from_seed(11);
    let targets_with = |name: &str| {
        let text = format!(
            r#"{{"_type":"targets","spec_version":"1.0.31","version":1,
            "expires":"2040-01-01T00:00:00.5+01:00","targets":{{}},
            "delegations":{{"keys":{{"{id}":{key}}},"roles":[{{"name":{name},
            "keyids":["{id}"],"threshold":1,"terminating":false,"paths":["*"]}}]}}}}"#,
            id = key.id(),
            key = String::from_utf8(canonical::encode(&key.key().to_value())).unwrap(),
            name = String::from_utf8(canonical::encode(&Value::from(name))).unwrap(),
        );
        envelope(
            &json::parse(text.as_bytes(), 1 << 16).unwrap(),
            &key,
            &[&key.id()],
        )
    };
    for name in ["/delegatedrole", "../delegatedrole", "%", "a b", "ünï"] {
        let bytes = targets_with(name);
        assert!(Metadata::parse(&bytes, &Limits::ANY).is_err(), "{name}");
        let md = Metadata::parse(&bytes, &Limits::EXISTING_ANY)
            .unwrap()
            .into_targets()
            .unwrap();
        let delegations = md.signed().delegations.as_ref().unwrap();
        assert!(delegations.role_keys(name).is_some(), "{name}");
    }
    for top in ["targets", "root", "snapshot", "timestamp"] {
        let e = Metadata::parse(&targets_with(top), &Limits::EXISTING_ANY).unwrap_err();
        assert_eq!(e.code(), "bad-role-name", "{top}");
    }
}

#[test]
fn strict_reads_exactly_what_it_read_before() {
    let key = TestKey::from_seed(13);
    let md = signed(root(1, &[&key], 1, "2040-01-01T00:00:00Z"), &[&key]);
    let bytes = file_bytes(&md);
    let strict = Metadata::parse(&bytes, &Limits::ROOT).unwrap();
    let existing = Metadata::parse(&bytes, &Limits::EXISTING_ROOT).unwrap();
    assert_eq!(strict, existing);
    assert_eq!(
        Metadata::parse_root(&bytes).unwrap(),
        strict.into_root().unwrap()
    );
}
