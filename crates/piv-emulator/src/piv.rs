//! The PIV applet: turns command APDUs into responses the way a YubiKey 5
//! does, over a [`CardState`].
//!
//! Answered: SELECT (PIV AID), GET VERSION (`FD`), GET SERIAL (`F8`),
//! VERIFY (`20`, with retry counter, blocking and the empty form that
//! reports retries), CHANGE REFERENCE (`24`), RESET RETRY (`2C`, PUK
//! unblock), SET PIN RETRIES (`FA`), SET MANAGEMENT KEY (`FF`), RESET
//! (`FB`), GENERAL AUTHENTICATE (`87`: management-key mutual authentication
//! and P-256 signing), GENERATE ASYMMETRIC (`47`, P-256 with PIN and touch
//! policy), IMPORT KEY (`FE`, P-256), GET DATA / PUT DATA (`CB`/`DB`), GET METADATA (`F7`), ATTEST
//! (`F9`), command chaining (CLA `10`) and response chaining (`61xx`, GET
//! RESPONSE `C0`).
//!
//! Not answered: the management and OTP applets (SELECT answers `6A82`),
//! other instructions (`6D00`), and algorithms other than P-256 for slot
//! keys (`6A80`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::apdu::{Command, Sw, response};
use crate::crypto;
use crate::state::{ALG_P256, CardState, pin_policy, touch_policy};
use crate::tlv;

/// The PIV application identifier (the prefix hosts select with).
pub const PIV_AID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x08];

/// The slot number of the management key.
pub const SLOT_MGM: u8 = 0x9B;

/// How long a cached touch lasts.
const TOUCH_CACHE: Duration = Duration::from_secs(15);

/// Most data one response carries; the rest waits for GET RESPONSE.
const MAX_RESPONSE: usize = 256;

/// How the card learns that someone touched it.
#[derive(Debug, Clone)]
pub enum Touch {
    /// Every touch request is granted at once (a keyholder who always
    /// touches).
    Auto,
    /// A touch is the appearance of this file, which the card then deletes;
    /// without it, the operation fails after the timeout with `6982`, as a
    /// YubiKey does when nobody touches it.
    File {
        /// The file whose creation counts as a touch.
        path: PathBuf,
        /// How long to wait for it.
        timeout: Duration,
    },
}

/// What the card forgets when it loses power or is reset.
#[derive(Default)]
struct Session {
    pin_verified: bool,
    /// Set by a successful VERIFY, used up by a PIN-always key.
    pin_fresh: bool,
    mgm_authenticated: bool,
    /// The witness of a mutual authentication in progress.
    witness: Option<Zeroizing<Vec<u8>>>,
    /// (INS, P1, P2, data so far) of a chained command.
    chain: Option<(u8, u8, u8, Zeroizing<Vec<u8>>)>,
    /// Response bytes still to fetch with GET RESPONSE.
    pending: Zeroizing<Vec<u8>>,
    last_touch: Option<Instant>,
}

/// An emulated card: persistent state, session state, touch source.
pub struct Card {
    state: CardState,
    session: Session,
    touch: Touch,
    state_path: Option<PathBuf>,
    trace: bool,
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Card")
            .field("serial", &self.state.serial)
            .field("version", &self.state.version)
            .field("touch", &self.touch)
            .finish_non_exhaustive()
    }
}

type Reply = Result<Vec<u8>, Sw>;

impl Card {
    /// A card over `state`; when `state_path` is given, every change is
    /// saved there.
    pub fn new(state: CardState, touch: Touch, state_path: Option<PathBuf>) -> Card {
        Card {
            state,
            session: Session::default(),
            touch,
            state_path,
            trace: false,
        }
    }

    /// Logs every command's header and length and the status word to
    /// stderr; never the data (it carries PINs and keys).
    pub fn with_trace(mut self, trace: bool) -> Card {
        self.trace = trace;
        self
    }

    /// The persistent state (for tests and logs).
    pub fn state(&self) -> &CardState {
        &self.state
    }

    /// Power off, power on or reset: the session is forgotten.
    pub fn reset(&mut self) {
        self.session = Session::default();
    }

    /// Answers one command APDU with `data ‖ SW1 SW2`.
    pub fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let reply = self.transmit_inner(apdu);
        if self.trace {
            let header: Vec<String> = apdu.iter().take(4).map(|b| format!("{b:02X}")).collect();
            let n = reply.len();
            eprintln!(
                "piv-emulator {}: {} Lc={} -> {:02X}{:02X} ({} bytes)",
                self.state.serial,
                header.join(" "),
                apdu.len().saturating_sub(5),
                reply[n - 2],
                reply[n - 1],
                n - 2
            );
        }
        reply
    }

    fn transmit_inner(&mut self, apdu: &[u8]) -> Vec<u8> {
        let cmd = match Command::parse(apdu) {
            Ok(cmd) => cmd,
            Err(sw) => return response(&[], sw),
        };
        if cmd.ins == 0xC0 {
            return self.get_response();
        }
        self.session.pending = Zeroizing::new(Vec::new());
        let cmd = match self.chain(cmd) {
            Some(cmd) => cmd,
            None => return response(&[], Sw::OK),
        };
        let before = self.state_fingerprint();
        let reply = self.dispatch(&cmd);
        if before != self.state_fingerprint() {
            self.persist();
        }
        match reply {
            Ok(data) => self.chunk(data),
            Err(sw) => response(&[], sw),
        }
    }

    /// Command chaining: returns the complete command once its last part
    /// has arrived, `None` while parts are still coming.
    fn chain(&mut self, cmd: Command) -> Option<Command> {
        let prefix = match self.session.chain.take() {
            Some((ins, p1, p2, data)) if (ins, p1, p2) == (cmd.ins, cmd.p1, cmd.p2) => data,
            _ => Zeroizing::new(Vec::new()),
        };
        let mut data = prefix;
        data.extend_from_slice(&cmd.data);
        if cmd.is_chained() {
            self.session.chain = Some((cmd.ins, cmd.p1, cmd.p2, data));
            return None;
        }
        Some(Command {
            cla: cmd.cla,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data: std::mem::take(&mut *data),
        })
    }

    /// Response chaining: the first 256 bytes now, `61xx` for the rest.
    fn chunk(&mut self, data: Vec<u8>) -> Vec<u8> {
        let data = Zeroizing::new(data);
        if data.len() <= MAX_RESPONSE {
            return response(&data, Sw::OK);
        }
        let (now, later) = data.split_at(MAX_RESPONSE);
        self.session.pending = Zeroizing::new(later.to_vec());
        response(now, Sw::more(later.len()))
    }

    fn get_response(&mut self) -> Vec<u8> {
        if self.session.pending.is_empty() {
            return response(&[], Sw::CONDITIONS);
        }
        let pending = std::mem::take(&mut *self.session.pending);
        self.chunk(pending)
    }

    fn dispatch(&mut self, cmd: &Command) -> Reply {
        if cmd.cla & !0x10 != 0 {
            return Err(Sw::CLA_NOT_SUPPORTED);
        }
        match cmd.ins {
            0xA4 => self.select(cmd),
            0xFD => Ok(self.state.version.to_vec()),
            0xF8 => Ok(self.state.serial.to_be_bytes().to_vec()),
            0x20 => self.verify(cmd),
            0x24 => self.change_reference(cmd),
            0x2C => self.reset_retry(cmd),
            0xFA => self.set_pin_retries(cmd),
            0xFF => self.set_mgm_key(cmd),
            0xFB => self.factory_reset(),
            0x87 => self.general_authenticate(cmd),
            0x47 => self.generate(cmd),
            0xCB => self.get_data(cmd),
            0xDB => self.put_data(cmd),
            0xF7 => self.metadata(cmd),
            0xF9 => self.attest(cmd),
            0xFE => self.import_key(cmd),
            _ => Err(Sw::INS_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, cmd: &Command) -> Reply {
        if cmd.p1 != 0x04 {
            return Err(Sw::WRONG_P1P2);
        }
        if cmd.data.len() < PIV_AID.len() || cmd.data[..PIV_AID.len()] != PIV_AID {
            return Err(Sw::NOT_FOUND);
        }
        self.session = Session::default();
        // Application property template: the full AID and its authority.
        Ok(vec![
            0x61, 0x11, 0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x79, 0x07, 0x4F, 0x05,
            0xA0, 0x00, 0x00, 0x03, 0x08,
        ])
    }

    fn general_authenticate(&mut self, cmd: &Command) -> Reply {
        let (outer, rest) = tlv::parse(&cmd.data).map_err(|_| Sw::WRONG_DATA)?;
        if outer.tag != 0x7C || !rest.is_empty() {
            return Err(Sw::WRONG_DATA);
        }
        let items = tlv::parse_all(outer.value).map_err(|_| Sw::WRONG_DATA)?;
        let get = |tag| items.iter().find(|t| t.tag == tag).map(|t| t.value);
        if cmd.p2 == SLOT_MGM {
            return self.mgm_authenticate(cmd.p1, get(0x80), get(0x81));
        }
        match (get(0x82), get(0x81)) {
            (Some([]), Some(challenge)) => self.sign(cmd.p1, cmd.p2, challenge),
            _ => Err(Sw::WRONG_DATA),
        }
    }

    fn object_tag(data: &[u8]) -> Result<(u32, &[u8]), Sw> {
        let (t, rest) = tlv::parse(data).map_err(|_| Sw::WRONG_DATA)?;
        if t.tag != 0x5C || t.value.is_empty() || t.value.len() > 3 {
            return Err(Sw::WRONG_DATA);
        }
        let tag = t.value.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b));
        Ok((tag, rest))
    }

    fn get_data(&mut self, cmd: &Command) -> Reply {
        if (cmd.p1, cmd.p2) != (0x3F, 0xFF) {
            return Err(Sw::WRONG_P1P2);
        }
        let (tag, _) = Self::object_tag(&cmd.data)?;
        // The discovery object: PIV AID, PIN usage policy (PIV PIN only).
        if tag == 0x7E {
            let mut inner = tlv::encode(0x4F, &[0xA0, 0, 0, 3, 8, 0, 0, 0x10, 0, 1, 0]);
            tlv::push(&mut inner, 0x5F2F, &[0x40, 0x00]);
            return Ok(tlv::encode(0x7E, &inner));
        }
        // Printed information needs the PIN, as on a YubiKey.
        if tag == 0x5FC109 && !self.session.pin_verified {
            return Err(Sw::SECURITY_STATUS);
        }
        let value = self.state.objects.get(&tag).ok_or(Sw::NOT_FOUND)?;
        Ok(tlv::encode(0x53, value))
    }

    fn put_data(&mut self, cmd: &Command) -> Reply {
        if (cmd.p1, cmd.p2) != (0x3F, 0xFF) {
            return Err(Sw::WRONG_P1P2);
        }
        if !self.session.mgm_authenticated {
            return Err(Sw::SECURITY_STATUS);
        }
        let (tag, rest) = Self::object_tag(&cmd.data)?;
        let (obj, end) = tlv::parse(rest).map_err(|_| Sw::WRONG_DATA)?;
        if obj.tag != 0x53 || !end.is_empty() || !(0x5FC101..=0x5FFFFF).contains(&tag) {
            return Err(Sw::WRONG_DATA);
        }
        if obj.value.is_empty() {
            self.state.objects.remove(&tag);
        } else {
            self.state.objects.insert(tag, obj.value.to_vec());
        }
        Ok(Vec::new())
    }

    fn metadata(&mut self, cmd: &Command) -> Reply {
        let mut out = Vec::new();
        match cmd.p2 {
            0x80 | 0x81 => {
                let s = if cmd.p2 == 0x80 {
                    &self.state.pin
                } else {
                    &self.state.puk
                };
                tlv::push(&mut out, 0x01, &[0xFF]);
                tlv::push(&mut out, 0x05, &[u8::from(s.default)]);
                tlv::push(&mut out, 0x06, &[s.total, s.remaining]);
            }
            SLOT_MGM => {
                tlv::push(&mut out, 0x01, &[self.state.mgm_algorithm.id()]);
                let touch = if self.state.mgm_touch {
                    touch_policy::ALWAYS
                } else {
                    touch_policy::NEVER
                };
                tlv::push(&mut out, 0x02, &[0x00, touch]);
                tlv::push(&mut out, 0x05, &[u8::from(self.state.mgm_key.is_default())]);
            }
            0xF9 => {
                let key = &self.state.attestation_key.0;
                tlv::push(&mut out, 0x01, &[ALG_P256]);
                tlv::push(&mut out, 0x02, &[pin_policy::NEVER, touch_policy::NEVER]);
                tlv::push(&mut out, 0x03, &[2]);
                tlv::push(
                    &mut out,
                    0x04,
                    &tlv::encode(0x86, &crypto::public_point(key)),
                );
            }
            slot if is_key_slot(slot) => {
                let key = self.state.slots.get(&slot).ok_or(Sw::REF_NOT_FOUND)?;
                tlv::push(&mut out, 0x01, &[ALG_P256]);
                tlv::push(&mut out, 0x02, &[key.pin_policy, key.touch_policy]);
                tlv::push(&mut out, 0x03, &[key.origin]);
                let point = crypto::public_point(&key.key);
                tlv::push(&mut out, 0x04, &tlv::encode(0x86, &point));
            }
            _ => return Err(Sw::REF_NOT_FOUND),
        }
        Ok(out)
    }

    /// A cheap check of whether a command changed what is persisted.
    fn state_fingerprint(&self) -> Zeroizing<Vec<u8>> {
        let s = &self.state;
        let mut f = Zeroizing::new(vec![
            s.pin.remaining,
            s.puk.remaining,
            s.pin.total,
            s.puk.total,
        ]);
        f.extend(s.pin.value.iter());
        f.extend(s.puk.value.iter());
        f.extend(s.mgm_key.0.iter());
        f.push(s.mgm_algorithm.id());
        f.push(u8::from(s.mgm_touch));
        for (slot, k) in &s.slots {
            f.push(*slot);
            f.extend(k.key.to_bytes());
            f.extend([k.pin_policy, k.touch_policy, k.origin]);
        }
        for (tag, v) in &s.objects {
            f.extend(tag.to_be_bytes());
            f.extend(v.len().to_be_bytes());
            f.extend(v);
        }
        f
    }

    fn persist(&self) {
        if let Some(path) = &self.state_path
            && let Err(e) = self.state.save(path)
        {
            eprintln!("piv-emulator: cannot save state: {e:#}");
        }
    }
}

/// The slots that hold asymmetric keys: 9A, 9C, 9D, 9E and the retired
/// key-management slots 82–95.
pub fn is_key_slot(slot: u8) -> bool {
    matches!(slot, 0x9A | 0x9C | 0x9D | 0x9E | 0x82..=0x95)
}

/// `7C len <tag> len value`.
fn dyn_auth(tag: u16, value: &[u8]) -> Vec<u8> {
    tlv::encode(0x7C, &tlv::encode(tag, value))
}

mod auth;
mod keys;
#[cfg(test)]
mod tests;
