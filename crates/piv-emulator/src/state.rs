//! What a card remembers across power cycles: serial, firmware version, PIN,
//! PUK and their counters, the management key, the keys in the slots and the
//! data objects. It can be saved to and loaded from a JSON file so that a
//! drill reuses the same cards.
//!
//! Secrets (PIN, PUK, management key, private keys) live in zeroizing
//! memory and never appear in `Debug` output. The JSON file holds them in
//! hex: it is a test card's state, not a key store.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use p256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{DEFAULT_MGM_KEY, MgmAlgorithm};

/// The factory PIN.
pub const DEFAULT_PIN: &[u8] = b"123456";
/// The factory PUK.
pub const DEFAULT_PUK: &[u8] = b"12345678";
/// Factory retry count of PIN and PUK.
pub const DEFAULT_RETRIES: u8 = 3;

/// PIN policy values as PIV/YubiKey encode them.
pub mod pin_policy {
    /// Never ask for the PIN.
    pub const NEVER: u8 = 1;
    /// The PIN once per session.
    pub const ONCE: u8 = 2;
    /// The PIN before every use of the key.
    pub const ALWAYS: u8 = 3;
}

/// Touch policy values as PIV/YubiKey encode them.
pub mod touch_policy {
    /// No touch.
    pub const NEVER: u8 = 1;
    /// A touch for every use.
    pub const ALWAYS: u8 = 2;
    /// A touch, then no other for 15 seconds.
    pub const CACHED: u8 = 3;
}

/// Where a slot's key came from, as GET METADATA reports it (tag `03`).
pub mod origin {
    /// Generated on the card: ATTEST certifies it.
    pub const GENERATED: u8 = 1;
    /// Imported: ATTEST refuses it, as a YubiKey does, so hosts that take
    /// public keys from attestations (ykcs11) fall back to GET METADATA.
    pub const IMPORTED: u8 = 2;
}

/// PIV algorithm id of P-256 keys.
pub const ALG_P256: u8 = 0x11;

/// A reference data object (PIN or PUK) with its retry counter.
pub struct Secret {
    /// The value, without the `FF` padding.
    pub value: Zeroizing<Vec<u8>>,
    /// Attempts allowed after a success.
    pub total: u8,
    /// Attempts left; 0 means blocked.
    pub remaining: u8,
    /// Still the factory value.
    pub default: bool,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("value", &"<redacted>")
            .field("total", &self.total)
            .field("remaining", &self.remaining)
            .field("default", &self.default)
            .finish()
    }
}

impl Secret {
    fn new(value: &[u8]) -> Secret {
        Secret {
            value: Zeroizing::new(value.to_vec()),
            total: DEFAULT_RETRIES,
            remaining: DEFAULT_RETRIES,
            default: true,
        }
    }

    /// Compares `candidate` with the value in time independent of where they
    /// differ.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let a: &[u8] = &self.value;
        a.len() == candidate.len()
            && a.iter()
                .zip(candidate)
                .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                == 0
    }
}

/// A private key in a slot, with its policies.
pub struct SlotKey {
    /// The P-256 key (zeroized on drop by `p256`).
    pub key: SigningKey,
    /// One of [`pin_policy`].
    pub pin_policy: u8,
    /// One of [`touch_policy`].
    pub touch_policy: u8,
    /// One of [`origin`].
    pub origin: u8,
}

impl std::fmt::Debug for SlotKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotKey")
            .field(
                "public",
                &hex::encode(crate::crypto::public_point(&self.key)),
            )
            .field("pin_policy", &self.pin_policy)
            .field("touch_policy", &self.touch_policy)
            .field("origin", &self.origin)
            .finish()
    }
}

/// The whole persistent state of one card.
#[derive(Debug)]
pub struct CardState {
    /// The serial number GET SERIAL answers.
    pub serial: u32,
    /// Firmware version (major, minor, patch) GET VERSION answers.
    pub version: [u8; 3],
    /// The PIN.
    pub pin: Secret,
    /// The PUK.
    pub puk: Secret,
    /// Management-key algorithm.
    pub mgm_algorithm: MgmAlgorithm,
    /// Management key.
    pub mgm_key: MgmKey,
    /// Whether the management key needs a touch.
    pub mgm_touch: bool,
    /// Keys by slot number (`0x9A`, `0x9C`, …).
    pub slots: BTreeMap<u8, SlotKey>,
    /// Data objects by tag (`0x5FC105`, …): the value inside `53`.
    pub objects: BTreeMap<u32, Vec<u8>>,
    /// The attestation key (slot F9); its certificate is object `5FFF01`.
    pub attestation_key: AttestationKey,
}

/// The tag of the object holding the attestation key's certificate.
pub const ATTESTATION_CERT_TAG: u32 = 0x5FFF01;

/// The card's attestation key (redacted in `Debug`).
pub struct AttestationKey(pub SigningKey);

impl std::fmt::Debug for AttestationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AttestationKey(<redacted>)")
    }
}

/// A new attestation key for `serial` with its certificate object.
fn new_attestation(serial: u32) -> (AttestationKey, Vec<u8>) {
    let (key, cert) =
        crate::attest::new_attestation_key(serial).expect("a certificate from fixed, valid inputs");
    (AttestationKey(key), certificate_object(&cert))
}

/// A certificate as PIV stores it in a data object: `70` the DER
/// certificate, `71` compression info (none), `FE` error detection (empty).
pub fn certificate_object(der: &[u8]) -> Vec<u8> {
    let mut out = crate::tlv::encode(0x70, der);
    crate::tlv::push(&mut out, 0x71, &[0x00]);
    crate::tlv::push(&mut out, 0xFE, &[]);
    out
}

/// A management key (redacted in `Debug`).
pub struct MgmKey(pub Zeroizing<Vec<u8>>);

impl std::fmt::Debug for MgmKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MgmKey(<redacted>)")
    }
}

impl MgmKey {
    /// True while the key is the factory default.
    pub fn is_default(&self) -> bool {
        self.0[..] == DEFAULT_MGM_KEY[..]
    }
}

impl CardState {
    /// A factory-fresh card: default PIN, PUK and management key (3DES
    /// before firmware 5.7, AES-192 from 5.7), no keys, no objects.
    pub fn new(serial: u32, version: [u8; 3]) -> CardState {
        let mgm_algorithm = if version >= [5, 7, 0] {
            MgmAlgorithm::Aes192
        } else {
            MgmAlgorithm::Tdes
        };
        let (attestation_key, cert) = new_attestation(serial);
        CardState {
            serial,
            version,
            pin: Secret::new(DEFAULT_PIN),
            puk: Secret::new(DEFAULT_PUK),
            mgm_algorithm,
            mgm_key: MgmKey(Zeroizing::new(DEFAULT_MGM_KEY.to_vec())),
            mgm_touch: false,
            slots: BTreeMap::new(),
            objects: BTreeMap::from([(ATTESTATION_CERT_TAG, cert)]),
            attestation_key,
        }
    }

    /// Back to the factory state, keeping serial, version and the
    /// attestation key and certificate (PIV RESET).
    pub fn factory_reset(&mut self) {
        let mut fresh = CardState::new(self.serial, self.version);
        std::mem::swap(&mut fresh.attestation_key, &mut self.attestation_key);
        if let Some(cert) = self.objects.remove(&ATTESTATION_CERT_TAG) {
            fresh.objects.insert(ATTESTATION_CERT_TAG, cert);
        }
        *self = fresh;
    }

    /// Loads a state file written by [`CardState::save`].
    pub fn load(path: &Path) -> Result<CardState> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read card state {}", path.display()))?,
        );
        let file: StateFile = serde_json::from_str(&text)
            .with_context(|| format!("card state {} is not valid", path.display()))?;
        file.into_state()
            .with_context(|| format!("card state {} is not valid", path.display()))
    }

    /// Writes the state to `path` (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = Zeroizing::new(serde_json::to_string_pretty(&StateFile::from_state(self))?);
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text.as_bytes())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot rename {} into place", tmp.display()))?;
        Ok(())
    }
}

/// The JSON form of [`CardState`].
#[derive(Serialize, Deserialize)]
struct StateFile {
    serial: u32,
    version: [u8; 3],
    pin: SecretFile,
    puk: SecretFile,
    mgm_algorithm: MgmAlgorithm,
    mgm_key: String,
    mgm_touch: bool,
    slots: BTreeMap<String, SlotFile>,
    objects: BTreeMap<String, String>,
    /// Absent in files from before ATTEST: a new key is made on load.
    #[serde(default)]
    attestation_key: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct SecretFile {
    value: String,
    total: u8,
    remaining: u8,
    default: bool,
}

#[derive(Serialize, Deserialize)]
struct SlotFile {
    private_key: String,
    pin_policy: u8,
    touch_policy: u8,
    origin: u8,
}

impl SecretFile {
    fn from_secret(s: &Secret) -> SecretFile {
        SecretFile {
            value: hex::encode(&*s.value),
            total: s.total,
            remaining: s.remaining,
            default: s.default,
        }
    }

    fn to_secret(&self) -> Result<Secret> {
        Ok(Secret {
            value: Zeroizing::new(hex::decode(&self.value)?),
            total: self.total,
            remaining: self.remaining.min(self.total),
            default: self.default,
        })
    }
}

impl Drop for StateFile {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.mgm_key.zeroize();
        self.pin.value.zeroize();
        self.puk.value.zeroize();
        for slot in self.slots.values_mut() {
            slot.private_key.zeroize();
        }
        if let Some(k) = &mut self.attestation_key {
            k.zeroize();
        }
    }
}

impl StateFile {
    fn from_state(s: &CardState) -> StateFile {
        StateFile {
            serial: s.serial,
            version: s.version,
            pin: SecretFile::from_secret(&s.pin),
            puk: SecretFile::from_secret(&s.puk),
            mgm_algorithm: s.mgm_algorithm,
            mgm_key: hex::encode(&*s.mgm_key.0),
            mgm_touch: s.mgm_touch,
            slots: s
                .slots
                .iter()
                .map(|(slot, k)| {
                    (
                        format!("{slot:02x}"),
                        SlotFile {
                            private_key: hex::encode(k.key.to_bytes()),
                            pin_policy: k.pin_policy,
                            touch_policy: k.touch_policy,
                            origin: k.origin,
                        },
                    )
                })
                .collect(),
            objects: s
                .objects
                .iter()
                .map(|(tag, v)| (format!("{tag:06x}"), hex::encode(v)))
                .collect(),
            attestation_key: Some(hex::encode(s.attestation_key.0.to_bytes())),
        }
    }

    fn into_state(mut self) -> Result<CardState> {
        let mgm_key = Zeroizing::new(hex::decode(&self.mgm_key)?);
        if mgm_key.len() != self.mgm_algorithm.key_len() {
            bail!("the management key does not fit its algorithm");
        }
        let mut slots = BTreeMap::new();
        for (slot, k) in std::mem::take(&mut self.slots) {
            let slot = u8::from_str_radix(&slot, 16).context("slot")?;
            let bytes = Zeroizing::new(hex::decode(&k.private_key)?);
            let key = SigningKey::from_slice(&bytes)
                .map_err(|_| anyhow::anyhow!("slot {slot:02x}: not a P-256 key"))?;
            slots.insert(
                slot,
                SlotKey {
                    key,
                    pin_policy: k.pin_policy,
                    touch_policy: k.touch_policy,
                    origin: k.origin,
                },
            );
        }
        let mut objects = BTreeMap::new();
        for (tag, value) in std::mem::take(&mut self.objects) {
            objects.insert(u32::from_str_radix(&tag, 16)?, hex::decode(value)?);
        }
        let attestation_key = match &self.attestation_key {
            Some(k) => {
                let bytes = Zeroizing::new(hex::decode(k)?);
                AttestationKey(
                    SigningKey::from_slice(&bytes)
                        .map_err(|_| anyhow::anyhow!("attestation key: not a P-256 key"))?,
                )
            }
            None => {
                let (key, cert) = new_attestation(self.serial);
                objects.insert(ATTESTATION_CERT_TAG, cert);
                key
            }
        };
        Ok(CardState {
            serial: self.serial,
            version: self.version,
            pin: self.pin.to_secret()?,
            puk: self.puk.to_secret()?,
            mgm_algorithm: self.mgm_algorithm,
            mgm_key: MgmKey(mgm_key),
            mgm_touch: self.mgm_touch,
            slots,
            objects,
            attestation_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_management_key_algorithm_follows_firmware() {
        assert_eq!(
            CardState::new(1, [5, 4, 3]).mgm_algorithm,
            MgmAlgorithm::Tdes
        );
        assert_eq!(
            CardState::new(1, [5, 7, 0]).mgm_algorithm,
            MgmAlgorithm::Aes192
        );
        assert_eq!(
            CardState::new(1, [5, 7, 4]).mgm_algorithm,
            MgmAlgorithm::Aes192
        );
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = std::env::temp_dir().join(format!("piv-emulator-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("card.json");
        let mut s = CardState::new(12345678, [5, 7, 1]);
        s.pin.remaining = 2;
        s.slots.insert(
            0x9C,
            SlotKey {
                key: crate::crypto::generate_p256(),
                pin_policy: pin_policy::ALWAYS,
                touch_policy: touch_policy::CACHED,
                origin: 1,
            },
        );
        s.objects.insert(0x5FC10A, vec![1, 2, 3]);
        s.save(&path).unwrap();
        let t = CardState::load(&path).unwrap();
        assert_eq!((t.serial, t.version), (12345678, [5, 7, 1]));
        assert_eq!(t.pin.remaining, 2);
        assert!(t.pin.matches(DEFAULT_PIN));
        assert!(t.puk.matches(DEFAULT_PUK));
        assert!(t.mgm_key.is_default());
        let (a, b) = (&s.slots[&0x9C], &t.slots[&0x9C]);
        assert_eq!(a.key.to_bytes(), b.key.to_bytes());
        assert_eq!(b.touch_policy, touch_policy::CACHED);
        assert_eq!(t.objects[&0x5FC10A], vec![1, 2, 3]);
        assert_eq!(
            t.objects[&ATTESTATION_CERT_TAG],
            s.objects[&ATTESTATION_CERT_TAG]
        );
        assert_eq!(
            t.attestation_key.0.to_bytes(),
            s.attestation_key.0.to_bytes()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn debug_shows_no_secret() {
        let mut s = CardState::new(1, [5, 4, 3]);
        let key = crate::crypto::generate_p256();
        let private = hex::encode(key.to_bytes());
        s.slots.insert(
            0x9A,
            SlotKey {
                key,
                pin_policy: 2,
                touch_policy: 1,
                origin: 1,
            },
        );
        let shown = format!("{s:?}");
        assert!(!shown.contains(&private));
        assert!(!shown.contains("0102030405060708"));
        assert!(!shown.contains("123456"));
    }
}
