//! The keys in the slots: GENERATE ASYMMETRIC, IMPORT KEY, signing through
//! GENERAL AUTHENTICATE (with PIN and touch policy), ATTEST.

use std::time::{Duration, Instant};

use super::{Card, Reply, TOUCH_CACHE, Touch, dyn_auth, is_key_slot};
use crate::apdu::{Command, Sw};
use crate::attest;
use crate::crypto;
use crate::state::{ALG_P256, ATTESTATION_CERT_TAG, SlotKey, origin, pin_policy, touch_policy};
use crate::tlv;

impl Card {
    pub(super) fn sign(&mut self, alg: u8, slot: u8, digest: &[u8]) -> Reply {
        let key = self.state.slots.get(&slot).ok_or(Sw::REF_NOT_FOUND)?;
        if alg != ALG_P256 {
            return Err(Sw::WRONG_P1P2);
        }
        if digest.len() > 32 {
            return Err(Sw::WRONG_DATA);
        }
        let pin_ok = match key.pin_policy {
            pin_policy::NEVER => true,
            pin_policy::ALWAYS => self.session.pin_verified && self.session.pin_fresh,
            _ => self.session.pin_verified,
        };
        if !pin_ok {
            return Err(Sw::SECURITY_STATUS);
        }
        let touch = key.touch_policy;
        if touch != touch_policy::NEVER {
            self.wait_for_touch(touch == touch_policy::CACHED)?;
        }
        let key = &self.state.slots[&slot];
        if key.pin_policy == pin_policy::ALWAYS {
            self.session.pin_fresh = false;
        }
        let der = crypto::sign_digest(&key.key, digest).ok_or(Sw::UNKNOWN)?;
        Ok(dyn_auth(0x82, &der))
    }

    /// Waits for a touch; `Err(6982)` when none comes in time.
    pub(super) fn wait_for_touch(&mut self, cached_ok: bool) -> Result<(), Sw> {
        if cached_ok
            && self
                .session
                .last_touch
                .is_some_and(|t| t.elapsed() < TOUCH_CACHE)
        {
            return Ok(());
        }
        match &self.touch {
            Touch::Auto => {}
            Touch::File { path, timeout } => {
                let deadline = Instant::now() + *timeout;
                loop {
                    if std::fs::remove_file(path).is_ok() {
                        break;
                    }
                    if Instant::now() >= deadline {
                        return Err(Sw::SECURITY_STATUS);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        self.session.last_touch = Some(Instant::now());
        Ok(())
    }

    pub(super) fn generate(&mut self, cmd: &Command) -> Reply {
        if !self.session.mgm_authenticated {
            return Err(Sw::SECURITY_STATUS);
        }
        let slot = cmd.p2;
        if cmd.p1 != 0 || !is_key_slot(slot) {
            return Err(Sw::WRONG_P1P2);
        }
        let (outer, _) = tlv::parse(&cmd.data).map_err(|_| Sw::WRONG_DATA)?;
        if outer.tag != 0xAC {
            return Err(Sw::WRONG_DATA);
        }
        let items = tlv::parse_all(outer.value).map_err(|_| Sw::WRONG_DATA)?;
        if one(&items, 0x80)? != Some(ALG_P256) {
            return Err(Sw::WRONG_DATA);
        }
        let (pin, touch) = policies(&items, slot)?;
        let key = crypto::generate_p256();
        let point = crypto::public_point(&key);
        self.state.slots.insert(
            slot,
            SlotKey {
                key,
                pin_policy: pin,
                touch_policy: touch,
                origin: origin::GENERATED,
            },
        );
        Ok(tlv::encode(0x7F49, &tlv::encode(0x86, &point)))
    }

    /// IMPORT KEY (`FE`, P1 algorithm, P2 slot): a P-256 private scalar in
    /// tag `06`, then the optional policies `AA` and `AB`.
    pub(super) fn import_key(&mut self, cmd: &Command) -> Reply {
        if !self.session.mgm_authenticated {
            return Err(Sw::SECURITY_STATUS);
        }
        let slot = cmd.p2;
        if cmd.p1 != ALG_P256 || !is_key_slot(slot) {
            return Err(Sw::WRONG_P1P2);
        }
        let items = tlv::parse_all(&cmd.data).map_err(|_| Sw::WRONG_DATA)?;
        let scalar = items
            .iter()
            .find(|t| t.tag == 0x06)
            .map(|t| t.value)
            .ok_or(Sw::WRONG_DATA)?;
        let key = p256::ecdsa::SigningKey::from_slice(scalar).map_err(|_| Sw::WRONG_DATA)?;
        let (pin, touch) = policies(&items, slot)?;
        self.state.slots.insert(
            slot,
            SlotKey {
                key,
                pin_policy: pin,
                touch_policy: touch,
                origin: origin::IMPORTED,
            },
        );
        Ok(Vec::new())
    }

    /// ATTEST: a certificate for a key generated in slot P1, signed by the
    /// attestation key. Imported keys cannot be attested (`6A80`).
    pub(super) fn attest(&mut self, cmd: &Command) -> Reply {
        let slot = cmd.p1;
        if !is_key_slot(slot) {
            return Err(Sw::WRONG_P1P2);
        }
        let key = self.state.slots.get(&slot).ok_or(Sw::REF_NOT_FOUND)?;
        if key.origin != origin::GENERATED {
            return Err(Sw::WRONG_DATA);
        }
        let object = self
            .state
            .objects
            .get(&ATTESTATION_CERT_TAG)
            .ok_or(Sw::REF_NOT_FOUND)?;
        let cert = tlv::find(object, 0x70)
            .ok()
            .flatten()
            .ok_or(Sw::REF_NOT_FOUND)?;
        let facts = attest::Facts {
            slot,
            firmware: self.state.version,
            serial: self.state.serial,
            pin_policy: key.pin_policy,
            touch_policy: key.touch_policy,
        };
        let point = crypto::public_point(&key.key);
        attest::attest(&self.state.attestation_key.0, cert, &point, facts).map_err(|_| Sw::UNKNOWN)
    }
}

/// The one-byte value of `tag` among `items`, if present.
fn one(items: &[tlv::Tlv<'_>], tag: u16) -> Result<Option<u8>, Sw> {
    match items.iter().find(|t| t.tag == tag).map(|t| t.value) {
        None => Ok(None),
        Some([v]) => Ok(Some(*v)),
        Some(_) => Err(Sw::WRONG_DATA),
    }
}

/// PIN policy (`AA`) and touch policy (`AB`) of a new key, with the
/// YubiKey's defaults: PIN always for 9C, never for 9E, once elsewhere; no
/// touch.
fn policies(items: &[tlv::Tlv<'_>], slot: u8) -> Result<(u8, u8), Sw> {
    let pin = match one(items, 0xAA)? {
        None | Some(0) => match slot {
            0x9C => pin_policy::ALWAYS,
            0x9E => pin_policy::NEVER,
            _ => pin_policy::ONCE,
        },
        Some(p @ 1..=3) => p,
        Some(_) => return Err(Sw::WRONG_DATA),
    };
    let touch = match one(items, 0xAB)? {
        None | Some(0) => touch_policy::NEVER,
        Some(t @ 1..=3) => t,
        Some(_) => return Err(Sw::WRONG_DATA),
    };
    Ok((pin, touch))
}
