use super::*;
use crate::testing::{TestKey, root};

/// One P-256 public key (Python `cryptography`, private scalar
/// 0x1234567890abcdef) as a hex point and as the PEM SPKI it writes.
const POINT: &str = "049fad84aeae08bbef7f010014d82cef6a09de2b0cf871b5ce0c4f1d13a59a5934\
07cb45769f1070e2c2470fe5b1bfe63133c0b0cdc64ea4bf3791a8ec2a07fd4f";
const PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEn62Erq4Iu+9/AQAU2CzvagneKwz4\n\
cbXODE8dE6WaWTQHy0V2nxBw4sJHD+Wxv+YxM8CwzcZOpL83kajsKgf9Tw==\n\
-----END PUBLIC KEY-----\n";

fn p256(keytype: &str, public: &str) -> Key {
    Key {
        keytype: keytype.into(),
        scheme: "ecdsa-sha2-nistp256".into(),
        public: public.into(),
        keyval_rest: Default::default(),
        unrecognized: Default::default(),
    }
}

/// Root v2 with `a` plus `extra` keys in the root role, threshold 2.
fn root_listing(extra: &[Key]) -> Root {
    let a = TestKey::from_seed(1);
    let mut root = root(2, &[&a], 2, "2030-01-01T00:00:00Z");
    for key in extra {
        let id = key.key_id();
        root.roles.get_mut("root").unwrap().keyids.push(id.clone());
        root.keys.insert(id, key.clone());
    }
    root
}

#[test]
fn the_same_p256_key_under_two_keytype_spellings_is_one_key_under_two_ids() {
    let carol = p256("ecdsa", PEM);
    let again = p256("ecdsa-sha2-nistp256", PEM);
    assert_ne!(carol.key_id(), again.key_id());
    let audit = audit_root(&root_listing(&[carol.clone(), again.clone()]));
    assert_eq!(audit.duplicates.len(), 1);
    let dup = &audit.duplicates[0];
    let mut ids = [carol.key_id(), again.key_id()];
    ids.sort();
    assert_eq!([dup.first.clone(), dup.second.clone()], ids);
    assert_eq!(dup.roles, ["root"]);
    let words = dup.to_string();
    assert!(words.starts_with("root role: key ids "), "{words}");
    assert!(words.contains("one public key"), "{words}");
}

#[test]
fn a_pem_key_and_its_hex_point_are_one_key_and_the_hex_point_is_not_portable() {
    let pem = p256("ecdsa", PEM);
    let hex = p256("ecdsa", POINT);
    let audit = audit_root(&root_listing(&[pem, hex.clone()]));
    assert_eq!(audit.duplicates.len(), 1);
    assert_eq!(audit.non_portable.len(), 1);
    let flagged = &audit.non_portable[0];
    assert_eq!(flagged.keyid, hex.key_id());
    assert_eq!(
        flagged.unreadable_by,
        [Client::PythonTuf, Client::GoTuf, Client::Tough]
    );
    let words = flagged.to_string();
    assert!(
        words.contains("hex point") && words.contains("python-tuf"),
        "{words}"
    );
}

#[test]
fn the_form_securesystemslib_writes_is_portable_and_distinct_keys_are_clean() {
    let audit = audit_root(&root_listing(&[p256("ecdsa", PEM)]));
    assert!(audit.is_clean(), "{audit:?}");
    let legacy = p256("ecdsa-sha2-nistp256", PEM);
    let audit = audit_root(&root_listing(std::slice::from_ref(&legacy)));
    assert!(audit.duplicates.is_empty());
    assert_eq!(audit.non_portable[0].unreadable_by, [Client::Tough]);
    // Flagged, but only a key new since `before` is for refusing.
    let before: BTreeMap<KeyId, Key> = [(legacy.key_id(), legacy.clone())].into();
    assert_eq!(audit.new_non_portable(&before).count(), 0);
    assert_eq!(audit.new_non_portable(&BTreeMap::new()).count(), 1);
}

#[test]
fn an_extra_field_makes_a_new_id_but_not_a_new_key_in_any_role() {
    let a = TestKey::from_seed(3);
    let mut renamed = a.key().clone();
    renamed
        .unrecognized
        .insert("x-owner".into(), crate::Value::from("@a"));
    let mut root = root(2, &[&a], 1, "2030-01-01T00:00:00Z");
    root.keys.insert(renamed.key_id(), renamed.clone());
    root.roles
        .get_mut("targets")
        .unwrap()
        .keyids
        .push(renamed.key_id());
    let audit = audit_root(&root);
    assert_eq!(audit.duplicates.len(), 1);
    // `a` is in every role; the renamed copy in targets as well.
    assert_eq!(
        audit.duplicates[0].roles,
        ["root", "snapshot", "targets", "timestamp"]
    );
}

#[test]
fn a_signing_plan_refuses_a_root_listing_one_key_under_two_ids() {
    use crate::signing::{PlanError, SigningPlan};
    let root = root_listing(&[p256("ecdsa", PEM), p256("ecdsa-sha2-nistp256", PEM)]);
    let bytes = crate::testing::file_bytes(&crate::Metadata::new(root));
    let now = time::macros::datetime!(2027-01-01 0:00 UTC);
    match SigningPlan::new(&bytes, None, now) {
        Err(PlanError::DuplicateKey(dup)) => assert_eq!(dup.roles, ["root"]),
        other => panic!("{:?}", other.map(|p| p.role().to_owned())),
    }
    let clean = root_listing(&[p256("ecdsa", PEM)]);
    let bytes = crate::testing::file_bytes(&crate::Metadata::new(clean));
    assert!(SigningPlan::new(&bytes, None, now).is_ok());
}
