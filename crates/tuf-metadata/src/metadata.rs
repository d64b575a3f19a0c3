//! The signed envelope `{"signed": …, "signatures": […]}` and the strict
//! parse of a whole metadata file.

use crate::canonical;
use crate::fields::{Fields, FormatError, Problem, Within, as_string, err, object_with};
use crate::json::{self, JsonError, Object, Value};
use crate::keys::KeyId;
use crate::mode::ReadMode;
use crate::root::{Common, Root};
use crate::signing::{CheckedSignature, RecordError};
use crate::snapshot::{Snapshot, Timestamp};
use crate::targets::Targets;

/// Caps that keep hostile input cheap to refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted, in bytes.
    pub max_bytes: usize,
    /// Most signatures one file may carry.
    pub max_signatures: usize,
    /// Most keys one `keys` object may hold.
    pub max_keys: usize,
    /// Strict for what we write, Existing for what we read as found
    /// ([`ReadMode`], docs/metadata-modes.md).
    pub mode: ReadMode,
}

impl Limits {
    /// For root metadata: 1 MiB (python-tuf's client default is 512 kB).
    pub const ROOT: Limits = Limits {
        max_bytes: 1024 * 1024,
        max_signatures: 256,
        max_keys: 1024,
        mode: ReadMode::Strict,
    };
    /// For any metadata, including large targets files.
    pub const ANY: Limits = Limits {
        max_bytes: json::DEFAULT_MAX_BYTES,
        max_signatures: 256,
        max_keys: 1024,
        mode: ReadMode::Strict,
    };
    /// [`Limits::ROOT`] for a root that already exists (a client, `verify`,
    /// `verify-root`, `import`, the appliance's trusted history).
    pub const EXISTING_ROOT: Limits = Limits::ROOT.existing();
    /// [`Limits::ANY`] for metadata that already exists.
    pub const EXISTING_ANY: Limits = Limits::ANY.existing();

    /// The same caps, reading in [`ReadMode::Existing`].
    pub const fn existing(self) -> Limits {
        Limits {
            mode: ReadMode::Existing,
            ..self
        }
    }
}

/// Why bytes are not acceptable metadata.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The JSON text itself is wrong.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// Valid JSON, but not valid TUF metadata.
    #[error(transparent)]
    Format(#[from] FormatError),
}

impl ParseError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::Json(e) => e.code(),
            ParseError::Format(e) => e.code(),
        }
    }
}

/// One entry of `signatures`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The signing key's id.
    pub keyid: KeyId,
    /// Hex of the signature bytes.
    pub sig: String,
    /// Unknown fields, kept.
    pub unrecognized: Object,
}

impl Signature {
    /// The signature object as published.
    pub fn to_value(&self) -> Value {
        object_with(
            [
                ("keyid", Value::from(self.keyid.as_str())),
                ("sig", Value::from(self.sig.as_str())),
            ],
            &self.unrecognized,
        )
    }
}

/// The `signed` part of any metadata file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signed {
    /// `root`
    Root(Root),
    /// `targets` (top-level or delegated)
    Targets(Targets),
    /// `snapshot`
    Snapshot(Snapshot),
    /// `timestamp`
    Timestamp(Timestamp),
}

impl Signed {
    /// The `_type` value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Signed::Root(_) => Root::TYPE,
            Signed::Targets(_) => Targets::TYPE,
            Signed::Snapshot(_) => Snapshot::TYPE,
            Signed::Timestamp(_) => Timestamp::TYPE,
        }
    }

    /// version, expiry and spec version.
    pub fn common(&self) -> &Common {
        match self {
            Signed::Root(r) => &r.common,
            Signed::Targets(t) => &t.common,
            Signed::Snapshot(s) => &s.common,
            Signed::Timestamp(t) => &t.common,
        }
    }

    /// The `signed` object as it will be encoded and signed.
    pub fn to_value(&self) -> Value {
        match self {
            Signed::Root(r) => r.to_value(),
            Signed::Targets(t) => t.to_value(),
            Signed::Snapshot(s) => s.to_value(),
            Signed::Timestamp(t) => t.to_value(),
        }
    }

    fn from_value(value: Value, limits: &Limits) -> Result<Self, FormatError> {
        let mut fields = Fields::new(value)?;
        let type_name = as_string(fields.take("_type")?).within("_type")?;
        Ok(match type_name.as_str() {
            Root::TYPE => Signed::Root(Root::from_fields(fields, limits)?),
            Targets::TYPE => Signed::Targets(Targets::from_fields(fields, limits)?),
            Snapshot::TYPE => Signed::Snapshot(Snapshot::from_fields(fields, limits.mode)?),
            Timestamp::TYPE => Signed::Timestamp(Timestamp::from_fields(fields, limits.mode)?),
            _ => return Err(err("_type", Problem::UnknownType(type_name))),
        })
    }
}

/// A parsed metadata file: the typed `signed` part, its signatures, and the
/// canonical bytes that those signatures cover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata<T = Signed> {
    signed: T,
    signed_bytes: Vec<u8>,
    signatures: Vec<Signature>,
    unrecognized: Object,
}

impl Metadata<Signed> {
    /// Parses a metadata file of any type, in `limits.mode` (strictly with
    /// [`Limits::ROOT`] and [`Limits::ANY`]).
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Self, ParseError> {
        let value = json::parse_in(bytes, limits.max_bytes, limits.mode)?;
        let mut envelope = Fields::new(value)?;
        let signatures =
            read_signatures(envelope.take("signatures")?, limits).within("signatures")?;
        let signed_value = envelope.take("signed")?;
        // The bytes signed are those of the parsed value, never the file's.
        let signed_bytes = canonical::encode(&signed_value);
        let signed = Signed::from_value(signed_value, limits).within("signed")?;
        debug_assert_eq!(canonical::encode(&signed.to_value()), signed_bytes);
        Ok(Metadata {
            signed,
            signed_bytes,
            signatures,
            unrecognized: envelope.rest(),
        })
    }

    /// Narrows to root metadata, or says what type it is instead.
    pub fn into_root(self) -> Result<Metadata<Root>, FormatError> {
        self.narrow(Root::TYPE, |s| match s {
            Signed::Root(r) => Some(r),
            _ => None,
        })
    }

    /// Narrows to targets metadata, or says what type it is instead.
    pub fn into_targets(self) -> Result<Metadata<Targets>, FormatError> {
        self.narrow(Targets::TYPE, |s| match s {
            Signed::Targets(t) => Some(t),
            _ => None,
        })
    }

    fn narrow<T>(
        self,
        expected: &str,
        pick: impl FnOnce(Signed) -> Option<T>,
    ) -> Result<Metadata<T>, FormatError> {
        let found = self.signed.type_name();
        match pick(self.signed) {
            Some(signed) => Ok(Metadata {
                signed,
                signed_bytes: self.signed_bytes,
                signatures: self.signatures,
                unrecognized: self.unrecognized,
            }),
            None => Err(err(
                "signed._type",
                Problem::UnexpectedType {
                    expected: expected.to_owned(),
                    found: found.to_owned(),
                },
            )),
        }
    }
}

impl Metadata<Root> {
    /// Strictly parses a root metadata file (with root's size limits).
    pub fn parse_root(bytes: &[u8]) -> Result<Self, ParseError> {
        Ok(Metadata::parse(bytes, &Limits::ROOT)?.into_root()?)
    }

    /// Parses a root metadata file that already exists (a history, a
    /// client's trusted root) in [`ReadMode::Existing`].
    pub fn parse_root_existing(bytes: &[u8]) -> Result<Self, ParseError> {
        Ok(Metadata::parse(bytes, &Limits::EXISTING_ROOT)?.into_root()?)
    }
}

/// A `signed` payload that can be encoded: what [`Metadata::new`] signs over.
pub trait SignedPart {
    /// The `signed` object as it will be encoded and signed.
    fn to_value(&self) -> Value;
}

macro_rules! signed_part {
    ($($t:ty),*) => {$(
        impl SignedPart for $t {
            fn to_value(&self) -> Value {
                <$t>::to_value(self)
            }
        }
    )*};
}
signed_part!(Signed, Root, Targets, Snapshot, Timestamp);

impl<T: SignedPart> Metadata<T> {
    /// Unsigned metadata around `signed`; its canonical bytes are computed here.
    pub fn new(signed: T) -> Self {
        Metadata {
            signed_bytes: canonical::encode(&signed.to_value()),
            signed,
            signatures: Vec::new(),
            unrecognized: Object::new(),
        }
    }

    /// The whole file as a JSON value (`signatures` and `signed`).
    pub fn to_value(&self) -> Value {
        let signatures = Value::Array(self.signatures.iter().map(Signature::to_value).collect());
        object_with(
            [
                ("signatures", signatures),
                ("signed", self.signed.to_value()),
            ],
            &self.unrecognized,
        )
    }
}

impl<T> Metadata<T> {
    /// Records a checked signature under `keyid`, in place of the one under
    /// that key id (an empty placeholder, a stale or a broken one), keeping
    /// its position, or appended. Refuses a signature checked over other
    /// bytes than this file's canonical `signed`. Which key ids a key goes
    /// under is the signing rule's business ([`crate::signing::record`]),
    /// the only caller.
    pub(crate) fn record_signature(
        &mut self,
        keyid: &KeyId,
        signature: &CheckedSignature,
    ) -> Result<(), RecordError> {
        if !signature.covers(&self.signed_bytes) {
            return Err(RecordError::OtherBytes {
                key_id: signature.key_id().clone(),
                covers: signature.covers_digest(),
                file: self.signed_digest(),
            });
        }
        self.put_signature(signature.signature_as(keyid));
        Ok(())
    }

    fn put_signature(&mut self, signature: Signature) {
        match self
            .signatures
            .iter_mut()
            .find(|s| s.keyid == signature.keyid)
        {
            Some(existing) => {
                existing.sig = signature.sig;
            }
            None => self.signatures.push(signature),
        }
    }

    /// Test support: puts a raw, unchecked `signature` in place of the one
    /// under the same key id, or appends it, so tests can build metadata
    /// and forge bad signatures. Tools record signatures only as
    /// [`CheckedSignature`]s ([`crate::signing::record`]).
    #[cfg(any(test, feature = "testing"))]
    pub fn set_signature(&mut self, signature: Signature) {
        self.put_signature(signature);
    }

    /// Test support: adds a raw, unchecked signature; a second signature
    /// under the same key id is refused, as the parser refuses it.
    #[cfg(any(test, feature = "testing"))]
    pub fn add_signature(&mut self, signature: Signature) -> Result<(), FormatError> {
        if self.signatures.iter().any(|s| s.keyid == signature.keyid) {
            return Err(err(
                "signatures",
                Problem::DuplicateSignatureKeyId(signature.keyid),
            ));
        }
        self.signatures.push(signature);
        Ok(())
    }
}

impl<T> Metadata<T> {
    /// The typed `signed` part.
    pub fn signed(&self) -> &T {
        &self.signed
    }

    /// The canonical JSON of `signed`: what every signature covers.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.signed_bytes
    }

    /// The signatures, in file order, key ids unique.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// Hex SHA-256 of [`Self::signed_bytes`], what a witness reads aloud.
    pub fn signed_digest(&self) -> String {
        crate::digest::sha256_hex(&self.signed_bytes)
    }
}

fn read_signatures(value: Value, limits: &Limits) -> Result<Vec<Signature>, FormatError> {
    let Value::Array(items) = value else {
        return Err(crate::fields::wrong_type("array", &value));
    };
    if items.len() > limits.max_signatures {
        return Err(err(
            "",
            Problem::TooManySignatures {
                count: items.len(),
                limit: limits.max_signatures,
            },
        ));
    }
    let mut signatures: Vec<Signature> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let read = |item: Value| -> Result<Signature, FormatError> {
            let mut fields = Fields::new(item)?;
            let keyid = fields.string("keyid")?;
            let sig = fields.string("sig")?;
            if signatures.iter().any(|s| s.keyid == keyid) {
                return Err(err("keyid", Problem::DuplicateSignatureKeyId(keyid)));
            }
            Ok(Signature {
                keyid,
                sig,
                unrecognized: fields.rest(),
            })
        };
        let signature = read(item).map_err(|e| e.within(&format!("[{i}]")))?;
        signatures.push(signature);
    }
    Ok(signatures)
}
