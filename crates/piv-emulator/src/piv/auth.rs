//! PIN, PUK and management key: VERIFY, CHANGE REFERENCE, RESET RETRY,
//! SET PIN RETRIES, SET MANAGEMENT KEY, RESET, and the management key's
//! mutual authentication.

use zeroize::Zeroizing;

use super::{Card, Reply, SLOT_MGM, Session, dyn_auth};
use crate::apdu::{Command, Sw};
use crate::crypto::{self, MgmAlgorithm};
use crate::state::{CardState, Secret};

impl Card {
    pub(super) fn verify(&mut self, cmd: &Command) -> Reply {
        if cmd.p2 != 0x80 {
            return Err(Sw::REF_NOT_FOUND);
        }
        match (cmd.p1, cmd.data.is_empty()) {
            // Reset the verification status.
            (0xFF, true) => {
                self.session.pin_verified = false;
                self.session.pin_fresh = false;
                return Ok(Vec::new());
            }
            (0x00, _) => {}
            _ => return Err(Sw::WRONG_P1P2),
        }
        if cmd.data.is_empty() {
            return if self.state.pin.remaining == 0 {
                Err(Sw::AUTH_BLOCKED)
            } else if self.session.pin_verified {
                Ok(Vec::new())
            } else {
                Err(Sw::retries(self.state.pin.remaining))
            };
        }
        if cmd.data.len() != 8 {
            return Err(Sw::WRONG_DATA);
        }
        let ok = check(&mut self.state.pin, &cmd.data);
        self.session.pin_verified = ok.is_ok();
        self.session.pin_fresh = ok.is_ok();
        ok.map(|()| Vec::new())
    }

    pub(super) fn change_reference(&mut self, cmd: &Command) -> Reply {
        if cmd.p1 != 0 {
            return Err(Sw::WRONG_P1P2);
        }
        let (old, new) = split_pair(&cmd.data)?;
        let secret = match cmd.p2 {
            0x80 => &mut self.state.pin,
            0x81 => &mut self.state.puk,
            _ => return Err(Sw::REF_NOT_FOUND),
        };
        check(secret, &old)?;
        if !(6..=8).contains(&new.len()) {
            return Err(Sw::WRONG_DATA);
        }
        secret.value = new;
        secret.default = false;
        if cmd.p2 == 0x80 {
            self.session.pin_verified = true;
        }
        Ok(Vec::new())
    }

    pub(super) fn reset_retry(&mut self, cmd: &Command) -> Reply {
        if (cmd.p1, cmd.p2) != (0x00, 0x80) {
            return Err(Sw::WRONG_P1P2);
        }
        let (puk, new_pin) = split_pair(&cmd.data)?;
        check(&mut self.state.puk, &puk)?;
        if !(6..=8).contains(&new_pin.len()) {
            return Err(Sw::WRONG_DATA);
        }
        let pin = &mut self.state.pin;
        pin.value = new_pin;
        pin.remaining = pin.total;
        pin.default = false;
        Ok(Vec::new())
    }

    pub(super) fn set_pin_retries(&mut self, cmd: &Command) -> Reply {
        if !self.session.mgm_authenticated || !self.session.pin_verified {
            return Err(Sw::SECURITY_STATUS);
        }
        if !(1..=15).contains(&cmd.p1) || !(1..=15).contains(&cmd.p2) {
            return Err(Sw::WRONG_P1P2);
        }
        // As on a YubiKey: new counts, and PIN and PUK back to the defaults.
        let (serial, version) = (self.state.serial, self.state.version);
        let fresh = CardState::new(serial, version);
        self.state.pin = fresh.pin;
        self.state.puk = fresh.puk;
        self.state.pin.total = cmd.p1;
        self.state.pin.remaining = cmd.p1;
        self.state.puk.total = cmd.p2;
        self.state.puk.remaining = cmd.p2;
        Ok(Vec::new())
    }

    pub(super) fn set_mgm_key(&mut self, cmd: &Command) -> Reply {
        if !self.session.mgm_authenticated {
            return Err(Sw::SECURITY_STATUS);
        }
        if cmd.p1 != 0xFF || !matches!(cmd.p2, 0xFE | 0xFF) {
            return Err(Sw::WRONG_P1P2);
        }
        let d = &cmd.data;
        let alg = d.first().and_then(|&id| MgmAlgorithm::from_id(id));
        match alg {
            Some(alg)
                if d.len() == 3 + alg.key_len()
                    && d[1] == SLOT_MGM
                    && usize::from(d[2]) == alg.key_len() =>
            {
                self.state.mgm_algorithm = alg;
                self.state.mgm_key.0 = Zeroizing::new(d[3..].to_vec());
                self.state.mgm_touch = cmd.p2 == 0xFE;
                Ok(Vec::new())
            }
            _ => Err(Sw::WRONG_DATA),
        }
    }

    pub(super) fn factory_reset(&mut self) -> Reply {
        if self.state.pin.remaining != 0 || self.state.puk.remaining != 0 {
            return Err(Sw::CONDITIONS);
        }
        self.state.factory_reset();
        self.session = Session::default();
        Ok(Vec::new())
    }

    /// Mutual authentication with the management key, the way the yubikey
    /// crate and libykpiv run it: `7C 02 80 00` asks for a witness, answered
    /// `7C .. 80 n E(witness)`; then `7C .. 80 n witness 81 n challenge`
    /// is answered `7C .. 82 n E(challenge)`.
    pub(super) fn mgm_authenticate(
        &mut self,
        alg: u8,
        witness: Option<&[u8]>,
        challenge: Option<&[u8]>,
    ) -> Reply {
        let algorithm = self.state.mgm_algorithm;
        if alg != algorithm.id() {
            return Err(Sw::WRONG_P1P2);
        }
        let n = algorithm.block_len();
        match (witness, challenge) {
            (Some([]), None) => {
                self.session.mgm_authenticated = false;
                let plain = crypto::random(n);
                let mut enc = Zeroizing::new(plain.to_vec());
                algorithm
                    .encrypt(&self.state.mgm_key.0, &mut enc)
                    .map_err(|_| Sw::UNKNOWN)?;
                self.session.witness = Some(plain);
                Ok(dyn_auth(0x80, &enc))
            }
            (Some(answer), Some(challenge)) => {
                let expected = self.session.witness.take().ok_or(Sw::CONDITIONS)?;
                if answer.len() != n || challenge.len() != n {
                    return Err(Sw::WRONG_DATA);
                }
                let same = answer
                    .iter()
                    .zip(expected.iter())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0;
                if !same {
                    return Err(Sw::SECURITY_STATUS);
                }
                if self.state.mgm_touch {
                    self.wait_for_touch(false)?;
                }
                let mut enc = challenge.to_vec();
                algorithm
                    .encrypt(&self.state.mgm_key.0, &mut enc)
                    .map_err(|_| Sw::UNKNOWN)?;
                self.session.mgm_authenticated = true;
                Ok(dyn_auth(0x82, &enc))
            }
            _ => Err(Sw::WRONG_DATA),
        }
    }
}

/// Checks a PIN or PUK attempt against its counter: resets the counter on
/// success, counts down on failure (`63Cx`), `6983` once blocked.
fn check(secret: &mut Secret, padded: &[u8]) -> Result<(), Sw> {
    if secret.remaining == 0 {
        return Err(Sw::AUTH_BLOCKED);
    }
    if secret.matches(unpad(padded)) {
        secret.remaining = secret.total;
        Ok(())
    } else {
        // The attempt that blocks answers 63C0; later ones 6983.
        secret.remaining -= 1;
        Err(Sw::retries(secret.remaining))
    }
}

/// A PIN as sent: up to 8 bytes, padded with `FF`.
fn unpad(padded: &[u8]) -> &[u8] {
    let end = padded
        .iter()
        .position(|&b| b == 0xFF)
        .unwrap_or(padded.len());
    &padded[..end]
}

/// A PIN or PUK value on its way in.
type PinBytes = Zeroizing<Vec<u8>>;

/// Splits the 16 bytes of CHANGE REFERENCE / RESET RETRY into the two
/// padded 8-byte halves, unpadded.
fn split_pair(data: &[u8]) -> Result<(PinBytes, PinBytes), Sw> {
    if data.len() != 16 {
        return Err(Sw::WRONG_DATA);
    }
    Ok((
        Zeroizing::new(unpad(&data[..8]).to_vec()),
        Zeroizing::new(unpad(&data[8..]).to_vec()),
    ))
}
