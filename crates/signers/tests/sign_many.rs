//! `Signer::sign_many` on SoftHSM2 tokens: a batch signs what one call per
//! document would, in order, every signature checked, and a failure lands
//! at the index of the document it concerns.
//!
//! Each test runs in its own process with its own token directory
//! (`support` explains why). They need SoftHSM2; `cargo xtask test`
//! installs it.

mod support;

use std::thread;
use std::time::Duration;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, ObjectClass};
use signers::pkcs11::{Access, KeyKind, Pkcs11Signer, TokenKey};
use signers::profile::Overrides;
use signers::{SignError, Signer};
use support::{SoftHsm, USER_PIN, pin};

/// `count` distinct small documents of different lengths.
fn documents(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|n| {
            let path = format!("packages/p{n}/p{n}.tar.gz").repeat(1 + n % 4);
            format!(
                r#"{{"_type":"targets","targets":{{"{path}":{{}}}},"version":{}}}"#,
                n + 1
            )
            .into_bytes()
        })
        .collect()
}

fn borrowed(documents: &[Vec<u8>]) -> Vec<&[u8]> {
    documents.iter().map(Vec::as_slice).collect()
}

/// A fresh read-only session on the test token, logged in, signing with `key`.
fn signer(hsm: &SoftHsm, key: &TokenKey) -> Pkcs11Signer {
    let token = hsm.token(hsm.label(), Access::ReadOnly);
    token.login(&pin(USER_PIN)).unwrap();
    Pkcs11Signer::new(token, key.clone()).unwrap()
}

softhsm_test! {
    fn a_batch_signs_in_order_and_every_signature_verifies(hsm) {
        let token = hsm.logged_in(hsm.label(), Access::ReadWrite);
        let p256 = token.generate("p256", KeyKind::EcdsaP256).unwrap().key;
        let ed = token.generate("ed", KeyKind::Ed25519).unwrap().key;
        let documents = documents(300);
        let messages = borrowed(&documents);
        for key in [p256, ed] {
            let mut signer = signer(hsm, &key);
            let public = key.key.public_key().unwrap();
            let results = signer.sign_many(&messages);
            assert_eq!(results.len(), messages.len());
            for (index, (message, result)) in messages.iter().zip(results).enumerate() {
                let signature = result.unwrap_or_else(|e| panic!("{}: document {index}: {e}", key.kind));
                assert_eq!(signature.key_id(), &key.key_id);
                public.verify_hex(message, signature.sig()).unwrap();
                // In order: each is its own document's signature, not a
                // neighbour's.
                let next = messages[(index + 1) % messages.len()];
                assert!(public.verify_hex(next, signature.sig()).is_err(), "document {index}");
                if key.kind == KeyKind::Ed25519 {
                    // Ed25519 is deterministic: exactly what `sign` returns.
                    assert_eq!(signature, signer.sign(message).unwrap(), "document {index}");
                }
            }
            assert!(signer.sign_many(&[]).is_empty());
            let one = signer.sign_many(&[b"one"]);
            assert_eq!(one.len(), 1);
            let signature = one.into_iter().next().unwrap().unwrap();
            public.verify_hex(b"one", signature.sig()).unwrap();
        }
    }
}

softhsm_test! {
    /// A real failure in the middle of a batch: the user is logged out (from
    /// another session, as the end of a keyholder's turn does) while the
    /// token signs the one large document of the batch. The documents
    /// before it are signed and checked; the ones after it fail, each with
    /// its own error at its own index.
    fn a_logout_mid_batch_fails_the_documents_after_it_each_at_its_index(hsm) {
        let token = hsm.logged_in(hsm.label(), Access::ReadWrite);
        let key = token.generate("ed", KeyKind::Ed25519).unwrap().key;
        let mut signer = signer(hsm, &key);
        let public = key.key.public_key().unwrap();

        // Ten small documents (well under a millisecond each), one of
        // 128 MiB (SoftHSM2 takes half a second and more on it: EdDSA
        // hashes the message twice), ten small ones: a logout 250 ms in
        // lands while the token works on the large one.
        let small = documents(20);
        let large = vec![b' '; 128 << 20];
        let mut messages = borrowed(&small[..10]);
        messages.push(&large);
        messages.extend(borrowed(&small[10..]));

        let results = thread::scope(|scope| {
            scope.spawn(move || {
                thread::sleep(Duration::from_millis(250));
                token.logout().unwrap();
            });
            signer.sign_many(&messages)
        });

        assert_eq!(results.len(), 21);
        let first_error = results.iter().position(Result::is_err).expect("the logout failed documents");
        // The large one itself may still be signed: its C_Sign had begun.
        println!("the first failure is at document {first_error} of 21");
        assert!((10..=11).contains(&first_error), "first failure at {first_error}");
        for (index, result) in results.iter().enumerate() {
            match result {
                Ok(signature) if index < first_error => {
                    public.verify_hex(messages[index], signature.sig()).unwrap();
                }
                Err(SignError::NotLoggedIn) if index >= first_error => {}
                other => panic!("document {index}: {other:?}"),
            }
        }
    }
}

softhsm_test! {
    /// A key deleted after the signer was made: every `C_Sign` fails, and
    /// every document of the batch gets that failure, none lost or moved.
    fn a_key_gone_from_the_token_fails_every_document_of_the_batch(hsm) {
        let token = hsm.logged_in(hsm.label(), Access::ReadWrite);
        let key = token.generate("p256", KeyKind::EcdsaP256).unwrap().key;
        let mut signer = signer(hsm, &key);
        let documents = documents(50);
        let messages = borrowed(&documents);
        assert!(signer.sign_many(&messages[..5]).iter().all(Result::is_ok));

        // Deleted through a session of its own (the login is shared).
        let module = signers::pkcs11::module_path(&hsm.profile, &Overrides::default()).unwrap();
        let ctx = Pkcs11::new(module).unwrap();
        let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
        let slot = ctx
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| ctx.get_token_info(*s).unwrap().label() == hsm.label())
            .unwrap();
        let session = ctx.open_rw_session(slot).unwrap();
        let private = session
            .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(key.id.clone())])
            .unwrap();
        assert_eq!(private.len(), 1);
        session.destroy_object(private[0]).unwrap();

        let results = signer.sign_many(&messages);
        assert_eq!(results.len(), 50);
        for (index, result) in results.iter().enumerate() {
            match result {
                Err(SignError::KeyNotFound(text)) => {
                    assert!(text.contains("was removed from token"), "document {index}: {text}");
                }
                other => panic!("document {index}: {other:?}"),
            }
        }
        drop(token);
    }
}
