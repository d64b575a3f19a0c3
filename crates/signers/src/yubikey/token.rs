//! Finding the keyholder's YubiKey among those plugged in, its PIN counter,
//! and the one PIN attempt.

use std::fmt;

use ::yubikey::piv::SlotId;
use ::yubikey::{Serial, YubiKey};
use zeroize::Zeroizing;

use crate::{Backend, Pin, PinError, PinState, SignError, SignerIdentity};

/// PIN attempts a PIV applet allows out of the box (`ykman piv access
/// set-retries` can change it; a counter above this reads as "ready").
pub const DEFAULT_PIN_RETRIES: u8 = 3;

/// A YubiKey seen on the PC/SC bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardSummary {
    /// Its serial number.
    pub serial: u32,
    /// Firmware version, e.g. "5.7.1".
    pub version: String,
    /// The PC/SC reader it sits in.
    pub reader: String,
}

/// Why no YubiKey could be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Nothing answered as a YubiKey.
    #[error("no YubiKey found: plug one in (is pcscd running?)")]
    NoCard,
    /// The serial asked for is not plugged in.
    #[error("no YubiKey with serial {wanted} is plugged in; present: {}", list(.present))]
    NoSuchSerial {
        /// The serial asked for.
        wanted: u32,
        /// The serials that are present.
        present: Vec<u32>,
    },
    /// Several are plugged in and no serial says which.
    #[error("{} YubiKeys are plugged in ({}): choose one with --serial", .present.len(), list(.present))]
    Ambiguous {
        /// The serials that are present.
        present: Vec<u32>,
    },
    /// PC/SC or the card failed.
    #[error("cannot talk to the YubiKey: {0}")]
    Pcsc(String),
}

fn list(serials: &[u32]) -> String {
    if serials.is_empty() {
        return "none".into();
    }
    serials
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every YubiKey on the bus (cards in other readers, or in use elsewhere,
/// are skipped), in reader order.
pub fn list_cards() -> Result<Vec<CardSummary>, OpenError> {
    let mut ctx = ::yubikey::reader::Context::open().map_err(pcsc_error)?;
    let readers = match ctx.iter() {
        Ok(readers) => readers,
        Err(::yubikey::Error::PcscError {
            inner: Some(pcsc::Error::NoReadersAvailable),
        }) => return Ok(Vec::new()),
        Err(e) => return Err(pcsc_error(e)),
    };
    let mut cards = Vec::new();
    for reader in readers {
        if let Ok(yk) = reader.open() {
            cards.push(CardSummary {
                serial: yk.serial().0,
                version: yk.version().to_string(),
                reader: yk.name().to_owned(),
            });
            let _ = yk.disconnect(pcsc::Disposition::LeaveCard);
        }
    }
    Ok(cards)
}

fn pcsc_error(e: ::yubikey::Error) -> OpenError {
    match e {
        ::yubikey::Error::PcscError {
            inner: Some(pcsc::Error::NoService | pcsc::Error::ServiceStopped),
        } => OpenError::Pcsc("pcscd is not running (start the pcscd service)".into()),
        other => OpenError::Pcsc(other.to_string()),
    }
}

/// `9a`, `9c`, `9d` or `9e` (and the retired slots `82`–`95`).
pub fn parse_slot(text: &str) -> Result<SlotId, String> {
    let slot: SlotId = text
        .to_ascii_lowercase()
        .parse()
        .map_err(|_| format!("{text:?} is not a PIV key slot (9a, 9c, 9d, 9e, 82-95)"))?;
    if matches!(slot, SlotId::Attestation | SlotId::Management(_)) {
        return Err(format!("{text:?} cannot hold a signing key"));
    }
    Ok(slot)
}

/// A slot's name as keyholders know it: "9c".
pub fn slot_name(slot: SlotId) -> String {
    format!("{:02x}", u8::from(slot))
}

/// An open YubiKey: serial and firmware read, PIN not yet verified.
pub struct YubiKeyToken {
    pub(crate) yk: YubiKey,
    /// The PIN, kept (zeroizing) only for PIN-policy-always keys, which the
    /// card wants verified again before every signature.
    pub(crate) pin: Option<Zeroizing<String>>,
}

impl fmt::Debug for YubiKeyToken {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("YubiKeyToken")
            .field("serial", &self.serial())
            .field("version", &self.version())
            .field("logged_in", &self.pin.is_some())
            .finish()
    }
}

impl YubiKeyToken {
    /// Opens the YubiKey with `serial`; with `None`, the only one plugged
    /// in. Several and no serial is refused with the serials listed.
    pub fn open(serial: Option<u32>) -> Result<YubiKeyToken, OpenError> {
        let present = || list_cards().map(|c| c.into_iter().map(|c| c.serial).collect());
        let yk = match serial {
            Some(wanted) => match YubiKey::open_by_serial(Serial(wanted)) {
                Ok(yk) => yk,
                Err(::yubikey::Error::NotFound) => {
                    return Err(OpenError::NoSuchSerial {
                        wanted,
                        present: present()?,
                    });
                }
                Err(e) => return Err(OpenError::Pcsc(e.to_string())),
            },
            None => {
                let cards: Vec<u32> = present()?;
                match cards.len() {
                    0 => return Err(OpenError::NoCard),
                    1 => YubiKey::open_by_serial(Serial(cards[0]))
                        .map_err(|e| OpenError::Pcsc(e.to_string()))?,
                    _ => return Err(OpenError::Ambiguous { present: cards }),
                }
            }
        };
        Ok(YubiKeyToken { yk, pin: None })
    }

    /// The card's serial number.
    pub fn serial(&self) -> u32 {
        self.yk.serial().0
    }

    /// The firmware version, e.g. "5.7.1".
    pub fn version(&self) -> String {
        self.yk.version().to_string()
    }

    /// The PC/SC reader name.
    pub fn reader(&self) -> &str {
        self.yk.name()
    }

    /// "YubiKey 5.7.1, serial 12345678": what the keyholder checks against
    /// the sticker on the key.
    pub fn describe(&self) -> String {
        format!("YubiKey {}, serial {}", self.version(), self.serial())
    }

    /// The identity a signer with a key in `slot` records.
    pub fn identity(&self, slot: SlotId) -> SignerIdentity {
        SignerIdentity {
            backend: Backend::YubiKey,
            model: format!("YubiKey {}", self.version()),
            serial: self.serial().to_string(),
            token_label: String::new(),
            key_label: slot_name(slot),
            slot: None,
        }
    }

    /// The PIN counter, read with an empty VERIFY. Call it before
    /// [`YubiKeyToken::login`]: reading it re-selects the applet, which
    /// forgets a verified PIN.
    pub fn pin_state(&mut self) -> Result<PinState, SignError> {
        let tries = self.yk.get_pin_retries().map_err(card_error)?;
        Ok(match tries {
            0 => PinState::Locked,
            1 => PinState::FinalTry,
            n if n < DEFAULT_PIN_RETRIES => PinState::CountLow {
                tries_left: Some(u32::from(n)),
            },
            _ => PinState::Ok,
        })
    }

    /// Verifies the PIN once; a wrong PIN is never retried here.
    pub fn login(&mut self, pin: &Pin) -> Result<(), SignError> {
        match self.yk.verify_pin(pin.expose().as_bytes()) {
            Ok(()) => {
                self.pin = Some(Zeroizing::new(pin.expose().to_owned()));
                Ok(())
            }
            Err(e) => Err(pin_error(e)),
        }
    }
}

/// A VERIFY's failure in PIN words.
pub(crate) fn pin_error(e: ::yubikey::Error) -> SignError {
    match e {
        ::yubikey::Error::WrongPin { tries: 0 } | ::yubikey::Error::PinLocked => {
            SignError::Pin(PinError::Locked)
        }
        ::yubikey::Error::WrongPin { tries } => SignError::Pin(PinError::Wrong {
            tries_left: Some(u32::from(tries)),
        }),
        other => card_error(other),
    }
}

/// Any other card failure: a pulled key, or the crate's own words.
pub(crate) fn card_error(e: ::yubikey::Error) -> SignError {
    match e {
        ::yubikey::Error::PcscError {
            inner:
                Some(
                    pcsc::Error::RemovedCard
                    | pcsc::Error::ResetCard
                    | pcsc::Error::NoSmartcard
                    | pcsc::Error::ReaderUnavailable,
                ),
        } => SignError::TokenRemoved,
        other => SignError::Backend(format!("YubiKey: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_parse_and_print_as_keyholders_write_them() {
        assert_eq!(parse_slot("9c").unwrap(), SlotId::Signature);
        assert_eq!(parse_slot("9C").unwrap(), SlotId::Signature);
        assert_eq!(slot_name(SlotId::Signature), "9c");
        assert_eq!(slot_name(parse_slot("9a").unwrap()), "9a");
        assert!(parse_slot("f9").is_err());
        assert!(parse_slot("zz").is_err());
    }

    #[test]
    fn ambiguity_lists_the_serials() {
        let e = OpenError::Ambiguous {
            present: vec![1, 2],
        };
        assert_eq!(
            e.to_string(),
            "2 YubiKeys are plugged in (1, 2): choose one with --serial"
        );
    }
}
