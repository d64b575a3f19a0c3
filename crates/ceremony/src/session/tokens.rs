//! The tokens a keyholder can pick from, behind one small trait so the
//! session is tested with in-memory keys and run with real ones
//! (PKCS#11 profiles and YubiKeys, `crate::hardware`).

use signers::{Backend, Pin, PinState, SignError, Signer};
use tuf_metadata::Key;

/// One token as the choosing screen lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenChoice {
    /// Model, serial, label: what the keyholder recognises.
    pub description: String,
    /// What kind of token it is (a YubiKey asks for a touch).
    pub backend: Backend,
    /// The PIN counter, read before any attempt, where the token tells.
    pub pin_state: Option<PinState>,
    /// The public keys the token shows before a login (empty when it shows
    /// none): which key of the ceremony it holds is known before the PIN.
    pub keys: Vec<Key>,
    /// What the keyholder and witness must know before using it (a
    /// YubiKey firmware under a security advisory), shown in red.
    pub warnings: Vec<String>,
}

/// Where tokens come from.
pub trait Tokens {
    /// Looks for tokens now: the tokens found, and one line per place that
    /// could not be searched (a module missing, pcscd not running).
    fn scan(&mut self) -> (Vec<TokenChoice>, Vec<String>);

    /// The PIN counter of token `index` (of the last scan), read again just
    /// before the keyholder types.
    fn pin_state(&mut self, index: usize) -> Result<PinState, SignError>;

    /// Logs in to token `index` with `pin` and returns a signer for each
    /// key on it that can sign TUF metadata. A wrong PIN is an error whose
    /// words say how many tries are left, where the token tells.
    fn unlock(&mut self, index: usize, pin: &Pin) -> Result<Vec<Box<dyn Signer>>, SignError>;
}
