//! For the session and screen tests: tokens holding deterministic
//! in-memory keys (with a PIN counter that behaves like a token's), and a
//! stick with a rotation staged on it. The real tokens are exercised by the
//! end-to-end tests with SoftHSM2 and the emulated YubiKey.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use signers::{
    Backend, CheckedSignature, Pin, PinError, PinState, SignError, Signer, SignerIdentity,
};
use time::OffsetDateTime;
use time::macros::datetime;
use tuf_metadata::testing::{TestKey, file_bytes, root, signed};
use tuf_metadata::{Key, Metadata};

use crate::session::{Options, Session, TokenChoice, Tokens};

/// The confirmed time of every test.
pub const NOW: OffsetDateTime = datetime!(2026-11-22 09:30 UTC);

/// A signer over a [`TestKey`].
pub struct KeySigner {
    key: TestKey,
    identity: SignerIdentity,
}

impl Signer for KeySigner {
    fn public_key(&self) -> &Key {
        self.key.key()
    }
    fn identity(&self) -> &SignerIdentity {
        &self.identity
    }
    fn sign(&mut self, canonical_bytes: &[u8]) -> Result<CheckedSignature, SignError> {
        signers::checked_signature(
            self.key.key(),
            canonical_bytes,
            &self.key.sign_bytes(canonical_bytes),
        )
    }
}

/// One in-memory token.
pub struct MemoryToken {
    /// Label shown in the list.
    pub label: String,
    /// Its PIN.
    pub pin: String,
    /// Seeds of the keys on it.
    pub seeds: Vec<u8>,
    /// PIN tries left (3 at start; 0 locked).
    pub tries: u32,
    /// Unplugged: every operation fails as a pulled token does.
    pub removed: bool,
    /// What the list says about it in red (old firmware).
    pub warnings: Vec<String>,
}

/// Tokens shared with the test, so it can pull one mid-ceremony.
#[derive(Clone, Default)]
pub struct MemoryTokens(pub Rc<RefCell<Vec<MemoryToken>>>);

impl MemoryTokens {
    /// Tokens named `labels`, PIN `1234`, the key of `seed` on each.
    pub fn with(tokens: &[(&str, u8)]) -> Self {
        MemoryTokens(Rc::new(RefCell::new(
            tokens
                .iter()
                .map(|(label, seed)| MemoryToken {
                    label: (*label).to_owned(),
                    pin: "1234".into(),
                    seeds: vec![*seed],
                    tries: 3,
                    removed: false,
                    warnings: Vec::new(),
                })
                .collect(),
        )))
    }
}

impl Tokens for MemoryTokens {
    fn scan(&mut self) -> (Vec<TokenChoice>, Vec<String>) {
        let tokens = self.0.borrow();
        let list = tokens
            .iter()
            .filter(|t| !t.removed)
            .map(|t| TokenChoice {
                description: format!("memory token {:?}", t.label),
                backend: Backend::Software,
                pin_state: Some(state(t.tries)),
                keys: t
                    .seeds
                    .iter()
                    .map(|seed| TestKey::from_seed(*seed).key().clone())
                    .collect(),
                warnings: t.warnings.clone(),
            })
            .collect();
        (list, vec!["no PKCS#11 module in unit tests".into()])
    }

    fn pin_state(&mut self, index: usize) -> Result<PinState, SignError> {
        let tokens = self.0.borrow();
        match tokens.get(index) {
            Some(t) if !t.removed => Ok(state(t.tries)),
            _ => Err(SignError::TokenRemoved),
        }
    }

    fn unlock(&mut self, index: usize, pin: &Pin) -> Result<Vec<Box<dyn Signer>>, SignError> {
        let mut tokens = self.0.borrow_mut();
        let token = match tokens.get_mut(index) {
            Some(t) if !t.removed => t,
            _ => return Err(SignError::TokenRemoved),
        };
        if token.tries == 0 {
            return Err(SignError::Pin(PinError::Locked));
        }
        if pin.expose() != token.pin {
            token.tries -= 1;
            return Err(SignError::Pin(PinError::Wrong {
                tries_left: Some(token.tries),
            }));
        }
        token.tries = 3;
        let label = token.label.clone();
        Ok(token
            .seeds
            .iter()
            .map(|seed| {
                Box::new(KeySigner {
                    key: TestKey::from_seed(*seed),
                    identity: SignerIdentity {
                        backend: Backend::Software,
                        model: "memory token".into(),
                        serial: String::new(),
                        token_label: label.clone(),
                        key_label: format!("key {seed}"),
                        slot: None,
                    },
                }) as Box<dyn Signer>
            })
            .collect())
    }
}

fn state(tries: u32) -> PinState {
    match tries {
        0 => PinState::Locked,
        1 => PinState::FinalTry,
        3 => PinState::Ok,
        n => PinState::CountLow {
            tries_left: Some(n),
        },
    }
}

/// A stick in go-tuf layout: root v1 (keys 1, 2, 3; threshold 2) in
/// `repository/1.root.json`, root v2 (key 3 replaced by key 4; threshold 2)
/// staged unsigned in `staged/root.json`.
pub fn rotation_stick(dir: &Path) -> PathBuf {
    let [k1, k2, k3, k4] = [1, 2, 3, 4].map(TestKey::from_seed);
    let v1 = signed(
        root(1, &[&k1, &k2, &k3], 2, "2027-06-01T00:00:00Z"),
        &[&k1, &k2],
    );
    let v2: Metadata<_> = Metadata::new(root(2, &[&k1, &k2, &k4], 2, "2027-11-22T00:00:00Z"));
    let stick = dir.join("stick");
    std::fs::create_dir_all(stick.join("repository")).unwrap();
    std::fs::create_dir_all(stick.join("staged")).unwrap();
    std::fs::write(stick.join("repository/1.root.json"), file_bytes(&v1)).unwrap();
    std::fs::write(stick.join("staged/root.json"), file_bytes(&v2)).unwrap();
    stick
}

/// A session as the image starts it: its boot files hashed and network
/// hardware found (otherwise as [`session`]).
pub fn image_session(
    dir: &Path,
    tokens: MemoryTokens,
    boot: crate::boot::BootCheck,
    network_hardware: Vec<String>,
) -> Session {
    let net = dir.join("net");
    fake_interface(&net, "lo", "0x9", "772");
    let options = Options {
        drill: false,
        pinned_root: None,
        sys_class_net: net,
        tool: "ceremony test".into(),
        frozen_clock: true,
        boot,
        network_hardware,
    };
    Session::new(options, NOW, Box::new(tokens))
}

/// A session over `tokens` at [`NOW`], not a drill, with a fake
/// `/sys/class/net` holding only `lo` under `dir`.
pub fn session(dir: &Path, tokens: MemoryTokens, drill: bool) -> Session {
    let net = dir.join("net");
    fake_interface(&net, "lo", "0x9", "772");
    let options = Options {
        drill,
        pinned_root: None,
        sys_class_net: net,
        tool: "ceremony test".into(),
        frozen_clock: true,
        boot: crate::boot::BootCheck::NotImage,
        network_hardware: Vec::new(),
    };
    Session::new(options, NOW, Box::new(tokens))
}

/// Adds an interface to a fake `/sys/class/net`.
pub fn fake_interface(net: &Path, name: &str, flags: &str, kind: &str) {
    let dir = net.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("flags"), format!("{flags}\n")).unwrap();
    std::fs::write(dir.join("type"), format!("{kind}\n")).unwrap();
    std::fs::write(dir.join("operstate"), "unknown\n").unwrap();
}
