//! The PKCS#11 backend against real SoftHSM2 tokens, step by step as the
//! keyholder runbook goes: onboard a key, log in, pick the key, sign, check.
//!
//! Each test runs in its own process with its own token directory
//! (`support` explains why). They need SoftHSM2; `cargo xtask test`
//! installs it.

mod support;

use std::time::Instant;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, ObjectClass};
use sha2::{Digest, Sha256};
use signers::pkcs11::{
    Access, KeyKind, KeySelector, Module, OpenError, Pkcs11Signer, TokenSelector,
};
use signers::profile::Overrides;
use signers::{Backend, PinError, PinState, SignError, Signer};
use support::{SoftHsm, USER_PIN, pin};

/// Bytes as `ceremony` signs them: canonical JSON of a `signed` object.
const DOCUMENT: &[u8] = br#"{"_type":"root","consistent_snapshot":true,"expires":"2030-01-01T00:00:00Z","keys":{},"roles":{},"spec_version":"1.0.31","version":2}"#;

/// Onboards a `kind` key labelled `label`, then signs `DOCUMENT` with it
/// through a fresh read-only session, as a ceremony would.
fn onboard_then_sign(hsm: &SoftHsm, kind: KeyKind, label: &str) {
    let onboarding = hsm.logged_in(hsm.label(), Access::ReadWrite);
    let generated = onboarding.generate(label, kind).expect("key generated");
    let key = &generated.key;
    assert_eq!(key.label, label);
    assert_eq!(key.kind, kind);
    assert_eq!(key.id.len(), 16);
    assert_eq!(key.key_id, key.key.key_id());
    assert_eq!(
        key.born_on_token,
        Some(true),
        "generated on the token, never extractable"
    );
    assert_eq!(generated.identity.backend, Backend::Pkcs11);
    assert_eq!(generated.identity.key_label, label);
    assert_eq!(generated.identity.token_label, hsm.label());
    assert_eq!(generated.identity.model, "SoftHSM project / SoftHSM v2");
    assert_eq!(generated.identity.serial.len(), 16);
    drop(onboarding);

    let token = hsm.token(hsm.label(), Access::ReadOnly);
    token.login(&pin(USER_PIN)).unwrap();
    let found = token.find_key(&KeySelector::Label(label.into())).unwrap();
    assert_eq!(found, *key);
    let mut signer = Pkcs11Signer::new(token, found).unwrap();
    assert_eq!(signer.identity(), &generated.identity);
    let signature = signer.sign(DOCUMENT).unwrap();
    assert_eq!(signature.key_id(), &key.key_id);

    // Checked again here, independently of the signer's own check.
    let public = key.key.public_key().unwrap();
    public.verify_hex(DOCUMENT, signature.sig()).unwrap();
    assert!(public.verify_hex(b"other bytes", signature.sig()).is_err());
}

softhsm_test! {
    fn a_new_p256_key_on_a_fresh_token_signs_bytes_tuf_metadata_verifies(hsm) {
        onboard_then_sign(hsm, KeyKind::EcdsaP256, "root-p256");
    }
}

softhsm_test! {
    fn a_new_ed25519_key_on_a_fresh_token_signs_bytes_tuf_metadata_verifies(hsm) {
        onboard_then_sign(hsm, KeyKind::Ed25519, "root-ed25519");
    }
}

softhsm_test! {
    fn the_published_keys_are_what_python_tuf_publishes_and_hash_to_their_key_ids(hsm) {
        let token = hsm.logged_in(hsm.label(), Access::ReadWrite);
        let p256 = token.generate("p256", KeyKind::EcdsaP256).unwrap().key;
        let ed = token.generate("ed", KeyKind::Ed25519).unwrap().key;

        let pem = &p256.key.public;
        assert_eq!((p256.key.keytype.as_str(), p256.key.scheme.as_str()), ("ecdsa", "ecdsa-sha2-nistp256"));
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
        assert!(pem.ends_with("-----END PUBLIC KEY-----\n"), "{pem}");
        let body: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        // 91 bytes of SPKI = 124 base64 characters: a 64-character line, then 60.
        assert_eq!(body.iter().map(|l| l.len()).collect::<Vec<_>>(), [64, 60]);
        assert!(!pem.contains('\r'));
        assert!(p256.key.keyval_rest.is_empty() && p256.key.unrecognized.is_empty());

        assert_eq!((ed.key.keytype.as_str(), ed.key.scheme.as_str()), ("ed25519", "ed25519"));
        assert_eq!(ed.key.public.len(), 64);
        assert!(ed.key.public.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));

        // securesystemslib's key id: SHA-256 over the canonical JSON of
        // {keytype, keyval: {public}, scheme}, keys sorted, only `"` and `\`
        // escaped (the PEM's newlines go in raw).
        for key in [&p256, &ed] {
            let canonical = format!(
                r#"{{"keytype":"{}","keyval":{{"public":"{}"}},"scheme":"{}"}}"#,
                key.key.keytype, key.key.public, key.key.scheme
            );
            assert_eq!(key.key_id, hex::encode(Sha256::digest(canonical.as_bytes())));
        }
    }
}

softhsm_test! {
    fn a_second_key_under_a_label_already_taken_is_refused(hsm) {
        let token = hsm.logged_in(hsm.label(), Access::ReadWrite);
        let first = token.generate("root-2026", KeyKind::EcdsaP256).unwrap();
        let err = token.generate("root-2026", KeyKind::Ed25519).unwrap_err().to_string();
        assert!(err.contains("\"root-2026\" is already taken"), "{err}");
        assert!(err.contains("nothing was generated"), "{err}");
        let keys = token.keys().unwrap();
        assert_eq!(keys.usable, vec![first.key]);
        assert!(keys.unusable.is_empty());
    }
}

softhsm_test! {
    fn a_read_only_session_cannot_onboard_a_key(hsm) {
        let token = hsm.logged_in(hsm.label(), Access::ReadOnly);
        let err = token.generate("k", KeyKind::EcdsaP256).unwrap_err().to_string();
        assert!(err.contains("the session is read-only"), "{err}");
    }
}

softhsm_test! {
    fn a_wrong_pin_says_so_and_the_next_attempt_shows_the_counter(hsm) {
        let token = hsm.token(hsm.label(), Access::ReadOnly);
        assert_eq!(token.pin_state().unwrap(), PinState::Ok);

        // Too short for the profile's policy: never sent, no try used.
        let err = token.login(&pin("123")).unwrap_err().to_string();
        assert!(err.contains("not sent to the token, so no try was used"), "{err}");
        assert_eq!(token.pin_state().unwrap(), PinState::Ok);

        let err = token.login(&pin("654321")).unwrap_err();
        assert!(matches!(err, SignError::Pin(PinError::Wrong { tries_left: None })), "{err:?}");
        assert_eq!(err.to_string(), "wrong PIN");
        // What SoftHSM2 2.6.1 really does: COUNT_LOW after a failure (it
        // never sets FINAL_TRY or LOCKED, because it never locks), shown
        // before the next attempt.
        let state = token.pin_state().unwrap();
        assert_eq!(state, PinState::CountLow { tries_left: None });
        assert_eq!(state.to_string(), "earlier PIN attempts failed: few tries left");

        for _ in 0..5 {
            assert!(matches!(token.login(&pin("000000")), Err(SignError::Pin(PinError::Wrong { .. }))));
        }
        assert_eq!(token.pin_state().unwrap(), PinState::CountLow { tries_left: None });

        token.login(&pin(USER_PIN)).unwrap();
        assert_eq!(token.pin_state().unwrap(), PinState::Ok, "a right PIN clears the flag");
    }
}

softhsm_test! {
    fn a_key_that_is_not_on_the_token_is_key_not_found(hsm) {
        let token = hsm.logged_in(hsm.label(), Access::ReadWrite);
        let there = token.generate("present", KeyKind::EcdsaP256).unwrap().key;
        for selector in [
            KeySelector::Label("absent".into()),
            KeySelector::Id(vec![0xde, 0xad]),
            KeySelector::KeyId("00".repeat(32)),
        ] {
            let err = token.find_key(&selector).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, SignError::KeyNotFound(_)), "{text}");
            assert!(text.contains(&selector.to_string()), "{text}");
            assert!(text.contains("\"present\" (ECDSA P-256"), "{text}");
        }
        // The key that is there is found by each of its names.
        for selector in [
            KeySelector::Label("present".into()),
            KeySelector::Id(there.id.clone()),
            KeySelector::KeyId(there.key_id.clone()),
            KeySelector::Only,
        ] {
            assert_eq!(token.find_key(&selector).unwrap(), there);
        }
    }
}

softhsm_test! {
    fn after_logout_keys_are_hidden_and_signing_says_not_logged_in(hsm) {
        let token = hsm.logged_in(hsm.label(), Access::ReadWrite);
        let key = token.generate("k", KeyKind::Ed25519).unwrap().key;
        let mut signer =
            Pkcs11Signer::new(hsm.token(hsm.label(), Access::ReadOnly), key).unwrap();
        signer.sign(DOCUMENT).unwrap();

        token.logout().unwrap();
        let err = signer.sign(DOCUMENT).unwrap_err();
        assert!(matches!(err, SignError::NotLoggedIn), "{err:?}");
        let err = token.find_key(&KeySelector::Label("k".into())).unwrap_err().to_string();
        assert!(err.contains("it has no signing keys (is the user logged in?)"), "{err}");
        token.logout().unwrap();
    }
}

softhsm_test! {
    fn signing_one_hundred_documents_through_one_session_all_verify(hsm) {
        let token = hsm.logged_in(hsm.label(), Access::ReadWrite);
        let p256 = token.generate("p256", KeyKind::EcdsaP256).unwrap().key;
        let ed = token.generate("ed", KeyKind::Ed25519).unwrap().key;
        drop(token);
        for key in [p256, ed] {
            // Dropping the last session logged the user out (PKCS#11 does
            // that), so this is a fresh login, as in a ceremony.
            let token = hsm.logged_in(hsm.label(), Access::ReadOnly);
            let mut signer = Pkcs11Signer::new(token, key.clone()).unwrap();
            let public = key.key.public_key().unwrap();
            for n in 0..100 {
                let document = format!(r#"{{"_type":"targets","version":{n}}}"#);
                let signature = signer.sign(document.as_bytes()).unwrap();
                public.verify_hex(document.as_bytes(), signature.sig()).unwrap();
            }
        }
    }
}

softhsm_test! {
    fn the_token_is_chosen_by_label_or_serial_and_an_unclear_choice_lists_the_tokens(hsm)
        tokens ["alpha", "beta"]
    {
        let module = hsm.module();
        let tokens = module.tokens().unwrap();
        let labels: Vec<&str> = tokens.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels.len(), 2, "uninitialised slots are not listed: {labels:?}");
        assert!(labels.contains(&"alpha") && labels.contains(&"beta"));

        let err = module.open_token(&TokenSelector::Only, Access::ReadOnly).err().unwrap();
        assert!(matches!(err, OpenError::SeveralTokensMatch { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("token \"alpha\"") && text.contains("token \"beta\""), "{text}");

        let err = module
            .open_token(&TokenSelector::Label("gamma".into()), Access::ReadOnly)
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("no token with label \"gamma\" is present"), "{err}");
        assert!(err.contains("token \"alpha\""), "{err}");

        let beta = tokens.iter().find(|t| t.label == "beta").unwrap();
        let overrides = Overrides { serial: Some(beta.serial.clone()), ..Overrides::default() };
        let selector = TokenSelector::resolve(&hsm.profile, &overrides).unwrap();
        let token = module.open_token(&selector, Access::ReadOnly).unwrap();
        assert_eq!(token.summary(), beta);
        assert_eq!(token.identity().slot, Some(beta.slot));
    }
}

softhsm_test! {
    fn a_profile_without_eddsa_refuses_an_ed25519_key_before_signing(hsm) {
        let token = hsm.logged_in(hsm.label(), Access::ReadWrite);
        let key = token.generate("ed", KeyKind::Ed25519).unwrap().key;
        drop(token);
        let mut profile = hsm.profile.clone();
        profile.mechanisms.eddsa = false;
        let module = Module::open(&profile, &Overrides::default()).unwrap();
        let token = module
            .open_token(&TokenSelector::Label(hsm.label().into()), Access::ReadOnly)
            .unwrap();
        let err = Pkcs11Signer::new(token, key).err().unwrap();
        assert!(matches!(err, SignError::MechanismUnsupported(_)), "{err}");

        // And a profile claiming CKM_ECDSA_SHA256, which SoftHSM2 lacks.
        let token = hsm.logged_in(hsm.label(), Access::ReadWrite);
        let key = token.generate("p256", KeyKind::EcdsaP256).unwrap().key;
        let mut profile = hsm.profile.clone();
        profile.mechanisms.ecdsa_sha256 = true;
        let module = Module::open(&profile, &Overrides::default()).unwrap();
        let token = module
            .open_token(&TokenSelector::Label(hsm.label().into()), Access::ReadOnly)
            .unwrap();
        let err = Pkcs11Signer::new(token, key).err().unwrap().to_string();
        assert!(err.contains("CKM_ECDSA_SHA256") && err.contains("mechanism list"), "{err}");
    }
}

softhsm_test! {
    /// Not a correctness test: prints signatures per second through one
    /// session, ours (hash, sign, DER, self-check) against bare `C_Sign`.
    /// `cargo test --release -p signers --test softhsm -- --ignored --nocapture signing_rate`
    #[ignore = "a measurement, run by hand"]
    fn signing_rate_through_one_session(hsm) {
        const N: u32 = 1000;
        let token = hsm.logged_in(hsm.label(), Access::ReadWrite);
        let p256 = token.generate("p256", KeyKind::EcdsaP256).unwrap().key;
        let ed = token.generate("ed", KeyKind::Ed25519).unwrap().key;
        drop(token);
        for key in [p256, ed] {
            let token = hsm.logged_in(hsm.label(), Access::ReadOnly);
            let mut signer = Pkcs11Signer::new(token, key.clone()).unwrap();
            let start = Instant::now();
            for _ in 0..N {
                signer.sign(DOCUMENT).unwrap();
            }
            let ours = f64::from(N) / start.elapsed().as_secs_f64();

            // The self-check alone (every signature pays it).
            let signature = hex::decode(signer.sign(DOCUMENT).unwrap().sig()).unwrap();
            let start = Instant::now();
            for _ in 0..N {
                signers::checked_signature(&key.key, DOCUMENT, &signature).unwrap();
            }
            let check = f64::from(N) / start.elapsed().as_secs_f64();

            // Bare cryptoki on the same module (already initialised and
            // logged in: PKCS#11 login state is per process).
            let module = signers::pkcs11::module_path(&hsm.profile, &Overrides::default()).unwrap();
            let ctx = Pkcs11::new(module).unwrap();
            let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
            let slot = ctx
                .get_slots_with_token()
                .unwrap()
                .into_iter()
                .find(|s| ctx.get_token_info(*s).unwrap().label() == hsm.label())
                .unwrap();
            let session = ctx.open_ro_session(slot).unwrap();
            let private = session
                .find_objects(&[
                    Attribute::Class(ObjectClass::PRIVATE_KEY),
                    Attribute::Label(key.label.clone().into_bytes()),
                ])
                .unwrap()[0];
            let digest = Sha256::digest(DOCUMENT);
            let start = Instant::now();
            for _ in 0..N {
                match key.kind {
                    KeyKind::EcdsaP256 => session.sign(&Mechanism::Ecdsa, private, &digest),
                    KeyKind::Ed25519 => session.sign(
                        &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                        private,
                        DOCUMENT,
                    ),
                }
                .unwrap();
            }
            let raw = f64::from(N) / start.elapsed().as_secs_f64();
            println!(
                "{}: ours {ours:.0}/s, raw C_Sign {raw:.0}/s ({:.0}% of raw), self-check alone {check:.0}/s, {N} signatures",
                key.kind,
                100.0 * ours / raw
            );
        }
    }
}
