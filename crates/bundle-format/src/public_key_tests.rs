//! Tests of `public_key.rs`: the writer's files are what the reader reads.

use super::*;
use tuf_metadata::testing::TestKey;

fn token() -> TokenRecord {
    TokenRecord {
        backend: "pkcs11".into(),
        model: "SoftHSM v2".into(),
        serial: "1234".into(),
        token_label: "alice".into(),
        key_label: "alice-root".into(),
        slot: Some(7),
        generated_on_token: Some(true),
    }
}

fn attestation() -> Attestation {
    Attestation {
        certificate: "Y2VydA==".into(),
        intermediate: "aW50ZXI=".into(),
        unrecognized: Object::new(),
    }
}

fn record(bytes: &[u8]) -> Object {
    match json::parse(bytes, PUBLIC_KEY_MAX_BYTES).unwrap() {
        Value::Object(o) => o,
        other => panic!("{other:?}"),
    }
}

#[test]
fn what_the_writer_writes_the_reader_reads_back() {
    let key = TestKey::from_seed(3).key().clone();
    for attested in [None, Some(attestation())] {
        let file = PublicKeyFile::new(key.clone(), &token(), attested);
        let bytes = file.to_bytes();
        let back = PublicKeyFile::parse(&bytes).unwrap();
        assert_eq!(back, file);
        assert_eq!(back.to_bytes(), bytes);
    }
}

#[test]
fn the_written_file_has_the_documented_members() {
    let key = TestKey::from_seed(3).key().clone();
    let bytes = PublicKeyFile::new(key.clone(), &token(), Some(attestation())).to_bytes();
    let record = record(&bytes);
    let names: Vec<&str> = record.keys().map(String::as_str).collect();
    assert_eq!(names, ["attestation", "key", "keyid", "token"]);
    assert_eq!(record["keyid"], Value::String(key.key_id()));
    assert_eq!(record["key"], key.to_value());
    let Value::Object(written) = &record["token"] else {
        panic!("token is an object")
    };
    assert_eq!(written["token_label"], Value::from("alice"));
    assert_eq!(written["slot"], Value::Int(7));
    assert_eq!(written["generated_on_token"], Value::Bool(true));
    let Value::Object(evidence) = &record["attestation"] else {
        panic!("attestation is an object")
    };
    assert_eq!(evidence["certificate"], Value::from("Y2VydA=="));

    let bare = TokenRecord {
        slot: None,
        generated_on_token: None,
        ..token()
    };
    let Value::Object(bare) = bare.to_value() else {
        panic!()
    };
    assert!(!bare.contains_key("slot") && !bare.contains_key("generated_on_token"));
}

#[test]
fn unknown_members_are_kept_and_written_back() {
    let key = TestKey::from_seed(4).key().clone();
    let mut record = record(&PublicKeyFile::new(key, &token(), Some(attestation())).to_bytes());
    record.insert("x-owner".into(), Value::from("@alice"));
    let Some(Value::Object(evidence)) = record.get_mut("attestation") else {
        panic!()
    };
    evidence.insert("x-format".into(), Value::Int(2));
    let bytes = json::to_pretty(&Value::Object(record.clone()));

    let file = PublicKeyFile::parse(&bytes).unwrap();
    assert_eq!(file.unrecognized["x-owner"], Value::from("@alice"));
    assert_eq!(
        file.attestation.as_ref().unwrap().unrecognized["x-format"],
        Value::Int(2)
    );
    assert_eq!(file.to_value(), Value::Object(record));
}

#[test]
fn a_dishonest_or_malformed_key_file_is_refused_saying_why() {
    let key = TestKey::from_seed(5).key().clone();
    let good = record(&PublicKeyFile::new(key.clone(), &token(), None).to_bytes());
    let with = |name: &str, value: Option<Value>| {
        let mut r = good.clone();
        match value {
            Some(v) => r.insert(name.into(), v),
            None => r.remove(name),
        };
        json::to_pretty(&Value::Object(r))
    };
    let mut broken_key = key.to_value();
    if let Value::Object(k) = &mut broken_key {
        k.insert("keyval".into(), Value::Object(Object::new()));
    }
    let mut bad_point = key.clone();
    bad_point.public = "00".repeat(3);
    let bad_point_file = {
        let mut r = good.clone();
        r.insert("keyid".into(), bad_point.key_id().into());
        r.insert("key".into(), bad_point.to_value());
        json::to_pretty(&Value::Object(r))
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"[]".to_vec(), "not a JSON object"),
        (b"{\"keyid\": 1, \"keyid\": 2}".to_vec(), "duplicate"),
        (with("keyid", None), "no \"keyid\" string"),
        (with("keyid", Some(Value::Int(1))), "no \"keyid\" string"),
        (with("key", None), "no \"key\" object"),
        (with("key", Some(broken_key)), "key: "),
        (bad_point_file, "key: "),
        (
            with("keyid", Some(Value::from("00".repeat(32)))),
            "does not match its key",
        ),
        (
            with("attestation", Some(Value::from("x"))),
            "\"attestation\" is not an object",
        ),
        (
            with("attestation", Some(Value::Object(Object::new()))),
            "\"attestation\" has no \"certificate\" string",
        ),
    ];
    for (bytes, needle) in cases {
        let err = PublicKeyFile::parse(&bytes).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
    let err = PublicKeyFile::parse(&with("keyid", Some(Value::from("00".repeat(32))))).unwrap_err();
    assert_eq!(
        err,
        PublicKeyError::KeyIdMismatch {
            listed: "00".repeat(32),
            computed: key.key_id()
        }
    );
    let huge = vec![b' '; PUBLIC_KEY_MAX_BYTES + 1];
    assert!(matches!(
        PublicKeyFile::parse(&huge),
        Err(PublicKeyError::Malformed(_))
    ));
}

#[test]
fn a_key_file_without_token_or_attestation_is_read() {
    let key = TestKey::from_seed(6).key().clone();
    let mut r = Object::new();
    r.insert("keyid".into(), key.key_id().into());
    r.insert("key".into(), key.to_value());
    let file = PublicKeyFile::parse(&json::to_pretty(&Value::Object(r))).unwrap();
    assert_eq!(file.key, key);
    assert_eq!(file.token, None);
    assert_eq!(file.attestation, None);
}
