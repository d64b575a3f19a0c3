//! Command APDUs (ISO 7816-4 short form, as the `yubikey` crate and
//! libykpiv send them) and the status words a YubiKey answers with.

/// A parsed command APDU. `data` may hold a PIN or key material, so the
/// `Debug` form shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte; bit `0x10` marks "more of this command follows".
    pub cla: u8,
    /// Instruction.
    pub ins: u8,
    /// First parameter.
    pub p1: u8,
    /// Second parameter.
    pub p2: u8,
    /// Command data (empty when there is no Lc).
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Command {{ cla: {:02X}, ins: {:02X}, p1: {:02X}, p2: {:02X}, data: {} bytes }}",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len()
        )
    }
}

impl Drop for Command {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.data);
    }
}

impl Command {
    /// Parses a short or extended APDU (cases 1 to 4). Le is accepted and
    /// ignored: the card answers at most 256 bytes and chains the rest.
    pub fn parse(bytes: &[u8]) -> Result<Command, Sw> {
        if bytes.len() < 4 {
            return Err(Sw::WRONG_LENGTH);
        }
        let (header, body) = bytes.split_at(4);
        let data = match body.len() {
            // Case 1, or case 2 (Le only).
            0 | 1 => Vec::new(),
            _ if body[0] != 0 => {
                let lc = usize::from(body[0]);
                // Case 3 (`Lc data`) or case 4 (`Lc data Le`).
                if body.len() != 1 + lc && body.len() != 2 + lc {
                    return Err(Sw::WRONG_LENGTH);
                }
                body[1..1 + lc].to_vec()
            }
            // Extended: 00 Lc1 Lc2 data [Le Le], or 00 Le1 Le2.
            3 => Vec::new(),
            _ => {
                let lc = usize::from(body[1]) << 8 | usize::from(body[2]);
                if body.len() != 3 + lc && body.len() != 5 + lc {
                    return Err(Sw::WRONG_LENGTH);
                }
                body[3..3 + lc].to_vec()
            }
        };
        Ok(Command {
            cla: header[0],
            ins: header[1],
            p1: header[2],
            p2: header[3],
            data,
        })
    }

    /// True when the class byte announces command chaining.
    pub fn is_chained(&self) -> bool {
        self.cla & 0x10 != 0
    }
}

/// A status word (SW1 SW2).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sw(pub u16);

impl std::fmt::Debug for Sw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sw({:04X})", self.0)
    }
}

impl Sw {
    /// 9000: success.
    pub const OK: Sw = Sw(0x9000);
    /// 6700: wrong length.
    pub const WRONG_LENGTH: Sw = Sw(0x6700);
    /// 6982: security status not satisfied (no PIN, no management key,
    /// or no touch before the timeout, as a real YubiKey answers).
    pub const SECURITY_STATUS: Sw = Sw(0x6982);
    /// 6983: authentication method blocked (PIN or PUK).
    pub const AUTH_BLOCKED: Sw = Sw(0x6983);
    /// 6984: reference data not usable.
    pub const DATA_INVALID: Sw = Sw(0x6984);
    /// 6985: conditions of use not satisfied.
    pub const CONDITIONS: Sw = Sw(0x6985);
    /// 6A80: incorrect parameters in the data field.
    pub const WRONG_DATA: Sw = Sw(0x6A80);
    /// 6A82: file or application not found.
    pub const NOT_FOUND: Sw = Sw(0x6A82);
    /// 6A86: incorrect P1 or P2.
    pub const WRONG_P1P2: Sw = Sw(0x6A86);
    /// 6A88: referenced data (slot, key) not found.
    pub const REF_NOT_FOUND: Sw = Sw(0x6A88);
    /// 6D00: instruction not supported.
    pub const INS_NOT_SUPPORTED: Sw = Sw(0x6D00);
    /// 6E00: class not supported.
    pub const CLA_NOT_SUPPORTED: Sw = Sw(0x6E00);
    /// 6F00: no precise diagnosis.
    pub const UNKNOWN: Sw = Sw(0x6F00);

    /// 63Cx: verification failed, `retries` attempts left.
    pub fn retries(retries: u8) -> Sw {
        Sw(0x63C0 | u16::from(retries.min(15)))
    }

    /// 61xx: `remaining` more bytes wait for GET RESPONSE (00 means 256 or
    /// more).
    pub fn more(remaining: usize) -> Sw {
        if remaining >= 256 {
            Sw(0x6100)
        } else {
            Sw(0x6100 | remaining as u16)
        }
    }
}

/// A response APDU: data followed by the status word.
pub fn response(data: &[u8], sw: Sw) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 2);
    out.extend_from_slice(data);
    out.extend(sw.0.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_four_cases() {
        let c = Command::parse(&[0x00, 0xFD, 0x00, 0x00]).unwrap();
        assert_eq!((c.ins, c.data.len()), (0xFD, 0));
        let c = Command::parse(&[0x00, 0xF8, 0x00, 0x00, 0x00]).unwrap();
        assert!(c.data.is_empty());
        let c = Command::parse(&[0x00, 0xA4, 0x04, 0x00, 5, 0xA0, 0, 0, 3, 8]).unwrap();
        assert_eq!(c.data, [0xA0, 0, 0, 3, 8]);
        let c = Command::parse(&[0x00, 0xA4, 0x04, 0x00, 5, 0xA0, 0, 0, 3, 8, 0]).unwrap();
        assert_eq!(c.data, [0xA0, 0, 0, 3, 8]);
        let c = Command::parse(&[0x10, 0xDB, 0x3F, 0xFF, 2, 1, 2]).unwrap();
        assert!(c.is_chained());
        assert_eq!(
            Command::parse(&[0x00, 0xA4, 0x04, 0x00, 5, 0xA0]),
            Err(Sw::WRONG_LENGTH)
        );
        assert_eq!(Command::parse(&[0x00, 0xA4]), Err(Sw::WRONG_LENGTH));
    }

    #[test]
    fn extended_length() {
        let mut bytes = vec![0x00, 0xDB, 0x3F, 0xFF, 0x00, 0x01, 0x00];
        bytes.extend([9u8; 256]);
        assert_eq!(Command::parse(&bytes).unwrap().data.len(), 256);
    }

    #[test]
    fn status_words() {
        assert_eq!(Sw::retries(3), Sw(0x63C3));
        assert_eq!(Sw::more(0x10), Sw(0x6110));
        assert_eq!(Sw::more(256), Sw(0x6100));
        assert_eq!(Sw::more(1000), Sw(0x6100));
        assert_eq!(response(&[1, 2], Sw::OK), [1, 2, 0x90, 0x00]);
    }

    #[test]
    fn debug_hides_the_data() {
        let c = Command::parse(&[0x00, 0x20, 0x00, 0x80, 3, b'1', b'2', b'3']).unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("3 bytes"));
        assert!(!shown.contains("49"));
    }
}
