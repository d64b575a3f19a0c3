//! The public key file (`pub.json`) `ceremony onboard` writes and the
//! releaser hands to `tuf-repo`:
//!
//! ```json
//! {
//!   "keyid": "<the key's TUF key id>",
//!   "key": { "keytype": …, "scheme": …, "keyval": {"public": …} },
//!   "token": { "backend", "model", "serial", "token_label", "key_label", "slot"?, "generated_on_token"? },
//!   "attestation": { "certificate": "<base64 DER>", "intermediate": "<base64 DER>" }
//! }
//! ```
//!
//! `attestation` is only there for a YubiKey; `token` says where the key
//! lives, for people, and is not interpreted. The key id must be the key's
//! own; other members are kept.

use tuf_metadata::json::{self, Object, Value};
use tuf_metadata::{Key, Limits};

/// Cap on a public key file's size (a root is far larger than any key).
pub const PUBLIC_KEY_MAX_BYTES: usize = Limits::ROOT.max_bytes;

/// Why a public key file is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublicKeyError {
    /// Not a `{"keyid", "key", …}` object holding a usable key.
    #[error("{0}")]
    Malformed(String),
    /// The key id written in the file is not the hash of its key.
    #[error("key id {listed} does not match its key (computed {computed})")]
    KeyIdMismatch {
        /// The id in the file.
        listed: String,
        /// The id the key hashes to.
        computed: String,
    },
    /// The `"attestation"` member is not of the documented shape.
    #[error("{0}")]
    Attestation(String),
}

/// A YubiKey's attestation evidence as stored in the file: the attestation
/// certificate and the f9 intermediate, base64 DER. Checking it (chain and
/// binding to the key) is `signers::yubikey::attestation`'s job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestation {
    /// The slot's attestation certificate, base64 DER.
    pub certificate: String,
    /// The f9 intermediate that signed it, base64 DER.
    pub intermediate: String,
    /// Other members, kept.
    pub unrecognized: Object,
}

impl Attestation {
    /// Reads the `"attestation"` member.
    pub fn from_value(value: Value) -> Result<Self, PublicKeyError> {
        let Value::Object(mut object) = value else {
            return Err(PublicKeyError::Attestation(
                "\"attestation\" is not an object".into(),
            ));
        };
        let mut text = |name: &str| match object.remove(name) {
            Some(Value::String(text)) => Ok(text),
            _ => Err(PublicKeyError::Attestation(format!(
                "\"attestation\" has no \"{name}\" string"
            ))),
        };
        Ok(Attestation {
            certificate: text("certificate")?,
            intermediate: text("intermediate")?,
            unrecognized: object,
        })
    }

    /// The `"attestation"` member.
    pub fn to_value(&self) -> Value {
        let mut object = self.unrecognized.clone();
        object.insert("certificate".into(), self.certificate.clone().into());
        object.insert("intermediate".into(), self.intermediate.clone().into());
        Value::Object(object)
    }
}

/// Where a key lives, as `ceremony onboard` records it (the `"token"`
/// member): shown to people and in transcripts, never trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// `pkcs11`, `yubikey`, `software`, …
    pub backend: String,
    /// The token's model.
    pub model: String,
    /// The token's serial number.
    pub serial: String,
    /// The token's label.
    pub token_label: String,
    /// The key's label on the token.
    pub key_label: String,
    /// The PKCS#11 slot id, when there is one.
    pub slot: Option<u64>,
    /// Whether the token says the key was generated on it (never exportable).
    pub generated_on_token: Option<bool>,
}

impl TokenRecord {
    /// The `"token"` member.
    pub fn to_value(&self) -> Value {
        let mut token = Object::new();
        token.insert("backend".into(), self.backend.clone().into());
        token.insert("model".into(), self.model.clone().into());
        token.insert("serial".into(), self.serial.clone().into());
        token.insert("token_label".into(), self.token_label.clone().into());
        token.insert("key_label".into(), self.key_label.clone().into());
        if let Some(slot) = self.slot {
            token.insert("slot".into(), Value::Int(slot as i64));
        }
        if let Some(born) = self.generated_on_token {
            token.insert("generated_on_token".into(), Value::Bool(born));
        }
        Value::Object(token)
    }
}

/// A parsed public key file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyFile {
    /// The TUF key object, as the releaser puts it into root. Its key id
    /// (written as `"keyid"`) is always computed, never taken on trust.
    pub key: Key,
    /// Where the key lives (`"token"`), kept as written.
    pub token: Option<Value>,
    /// YubiKey attestation evidence, if any.
    pub attestation: Option<Attestation>,
    /// Other members, kept.
    pub unrecognized: Object,
}

impl PublicKeyFile {
    /// The file for `key` made on `token`, with `attestation` if any.
    pub fn new(key: Key, token: &TokenRecord, attestation: Option<Attestation>) -> Self {
        PublicKeyFile {
            key,
            token: Some(token.to_value()),
            attestation,
            unrecognized: Object::new(),
        }
    }

    /// Parses a public key file strictly (duplicate members, floats, absurd
    /// sizes refused), checks that the key is usable and that `"keyid"` is
    /// its key's id.
    pub fn parse(bytes: &[u8]) -> Result<Self, PublicKeyError> {
        let malformed = PublicKeyError::Malformed;
        let Value::Object(mut record) =
            json::parse(bytes, PUBLIC_KEY_MAX_BYTES).map_err(|e| malformed(e.to_string()))?
        else {
            return Err(malformed("not a JSON object".into()));
        };
        let listed = match record.remove("keyid") {
            Some(Value::String(id)) => id,
            _ => return Err(malformed("no \"keyid\" string".into())),
        };
        let key = record
            .remove("key")
            .ok_or_else(|| malformed("no \"key\" object".into()))?;
        let key = Key::from_value(key).map_err(|e| malformed(format!("key: {e}")))?;
        key.public_key()
            .map_err(|e| malformed(format!("key: {e}")))?;
        let computed = key.key_id();
        if listed != computed {
            return Err(PublicKeyError::KeyIdMismatch { listed, computed });
        }
        let token = record.remove("token");
        let attestation = record
            .remove("attestation")
            .map(Attestation::from_value)
            .transpose()?;
        Ok(PublicKeyFile {
            key,
            token,
            attestation,
            unrecognized: record,
        })
    }

    /// The file's JSON object.
    pub fn to_value(&self) -> Value {
        let mut record = self.unrecognized.clone();
        record.insert("keyid".into(), self.key.key_id().into());
        record.insert("key".into(), self.key.to_value());
        if let Some(token) = &self.token {
            record.insert("token".into(), token.clone());
        }
        if let Some(attestation) = &self.attestation {
            record.insert("attestation".into(), attestation.to_value());
        }
        Value::Object(record)
    }

    /// The file's bytes, pretty-printed as the tools write JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        json::to_pretty(&self.to_value())
    }
}

#[cfg(test)]
#[path = "public_key_tests.rs"]
mod tests;
