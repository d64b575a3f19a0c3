//! Reading typed fields out of a parsed [`Value`] with errors that name the
//! field, and keeping whatever is left over so it is written back unchanged.

use crate::json::{Object, Value};

/// Why a well-formed JSON document is not acceptable TUF metadata.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {problem}", field.escape_debug())]
pub struct FormatError {
    /// Dotted path of the offending field, e.g. `signed.roles.root.threshold`.
    pub field: String,
    /// What is wrong with it.
    pub problem: Problem,
}

/// The kinds of format problem, each with a stable code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A field has the wrong JSON type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the field must be.
        expected: &'static str,
        /// What it was.
        found: &'static str,
    },
    /// A required field is absent.
    #[error("required field is missing")]
    Missing,
    /// A count, length, version or threshold below zero.
    #[error("must not be negative, found {0}")]
    Negative(i64),
    /// More signatures than any sane metadata carries.
    #[error("{count} signatures, over the limit of {limit}")]
    TooManySignatures {
        /// How many were given.
        count: usize,
        /// The cap.
        limit: usize,
    },
    /// More keys than any sane metadata carries.
    #[error("{count} keys, over the limit of {limit}")]
    TooManyKeys {
        /// How many were given.
        count: usize,
        /// The cap.
        limit: usize,
    },
    /// Two signatures under one key id: a replayed signature.
    #[error("key id {0} signs twice")]
    DuplicateSignatureKeyId(String),
    /// One key id listed twice for a role.
    #[error("key id {0} is listed twice")]
    DuplicateKeyId(String),
    /// `_type` names no TUF role type.
    #[error("unknown metadata type {0:?}")]
    UnknownType(String),
    /// A valid type, but not the one this place needs.
    #[error("expected {expected} metadata, found {found}")]
    UnexpectedType {
        /// The type required here.
        expected: String,
        /// The type in the file.
        found: String,
    },
    /// A spec major version we do not implement.
    #[error("unsupported spec_version {0:?} (this tool reads 1.x)")]
    UnsupportedSpecVersion(String),
    /// A role name that could escape a directory or confuse a file system.
    #[error("role name {0:?} is not allowed: {1}")]
    BadRoleName(String, &'static str),
    /// A target path that could escape a directory.
    #[error("target path {0:?} is not allowed: {1}")]
    BadTargetPath(String, &'static str),
    /// Threshold 0 lets anyone sign.
    #[error("threshold must be at least 1, found {0}")]
    ThresholdBelowOne(u64),
    /// A role names a key id that `keys` does not hold.
    #[error("key id {0} is not in the keys of this metadata")]
    RoleKeyMissing(String),
    /// An expiry that is not `YYYY-MM-DDTHH:MM:SSZ`.
    #[error("{0:?} is not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ")]
    BadExpires(String),
    /// A key object carries private key material: it must never be published.
    #[error("key object holds private key material")]
    PrivateKeyMaterial,
    /// A delegation that breaks a structural rule (e.g. both `paths` and
    /// `path_hash_prefixes`).
    #[error("{0}")]
    BadDelegation(String),
    /// A value outside its allowed range (e.g. hash-bin `bit_length`).
    #[error("{0}")]
    OutOfRange(String),
}

impl FormatError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self.problem {
            Problem::WrongType { .. } => "wrong-type",
            Problem::Missing => "missing-field",
            Problem::Negative(_) => "negative-number",
            Problem::TooManySignatures { .. } => "too-many-signatures",
            Problem::TooManyKeys { .. } => "too-many-keys",
            Problem::DuplicateSignatureKeyId(_) => "duplicate-signature-keyid",
            Problem::DuplicateKeyId(_) => "duplicate-keyid",
            Problem::UnknownType(_) => "unknown-type",
            Problem::UnexpectedType { .. } => "unexpected-type",
            Problem::UnsupportedSpecVersion(_) => "unsupported-spec-version",
            Problem::BadRoleName(..) => "bad-role-name",
            Problem::BadTargetPath(..) => "bad-target-path",
            Problem::ThresholdBelowOne(_) => "threshold-below-one",
            Problem::RoleKeyMissing(_) => "role-key-missing",
            Problem::BadExpires(_) => "bad-expires",
            Problem::PrivateKeyMaterial => "private-key-material",
            Problem::BadDelegation(_) => "bad-delegation",
            Problem::OutOfRange(_) => "out-of-range",
        }
    }
}

impl FormatError {
    /// Puts the error's field under `parent` (an object key or `[i]`), so
    /// paths are built only when something is wrong, never on the hot path.
    pub(crate) fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

/// [`FormatError::within`] for results.
pub(crate) trait Within {
    /// Prefixes the error's field with `parent`.
    fn within(self, parent: &str) -> Self;
}

impl<T> Within for Result<T, FormatError> {
    fn within(self, parent: &str) -> Self {
        self.map_err(|e| e.within(parent))
    }
}

/// Builds a [`FormatError`] for `field` (relative to the object being read).
pub(crate) fn err(field: impl Into<String>, problem: Problem) -> FormatError {
    FormatError {
        field: field.into(),
        problem,
    }
}

/// An object being taken apart field by field; what remains is "unrecognized"
/// and is kept verbatim. Errors name fields relative to this object.
pub(crate) struct Fields {
    map: Object,
}

impl Fields {
    /// Starts reading `value`, which must be an object.
    pub fn new(value: Value) -> Result<Self, FormatError> {
        match value {
            Value::Object(map) => Ok(Fields { map }),
            other => Err(wrong_type("object", &other)),
        }
    }

    pub fn take(&mut self, name: &str) -> Result<Value, FormatError> {
        self.map
            .remove(name)
            .ok_or_else(|| err(name, Problem::Missing))
    }

    pub fn take_opt(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name)
    }

    pub fn string(&mut self, name: &str) -> Result<String, FormatError> {
        as_string(self.take(name)?).within(name)
    }

    pub fn count(&mut self, name: &str) -> Result<u64, FormatError> {
        as_count(&self.take(name)?).within(name)
    }

    pub fn opt_bool(&mut self, name: &str) -> Result<Option<bool>, FormatError> {
        match self.take_opt(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(wrong_type("boolean", &other).within(name)),
        }
    }

    pub fn string_list(&mut self, name: &str) -> Result<Vec<String>, FormatError> {
        as_string_list(self.take(name)?).within(name)
    }

    /// What no reader claimed: written back unchanged.
    pub fn rest(self) -> Object {
        self.map
    }
}

/// A wrong-type error about the value itself.
pub(crate) fn wrong_type(expected: &'static str, found: &Value) -> FormatError {
    err(
        "",
        Problem::WrongType {
            expected,
            found: found.type_name(),
        },
    )
}

pub(crate) fn as_string(value: Value) -> Result<String, FormatError> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(wrong_type("string", &other)),
    }
}

pub(crate) fn as_object(value: Value) -> Result<Object, FormatError> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(wrong_type("object", &other)),
    }
}

pub(crate) fn as_count(value: &Value) -> Result<u64, FormatError> {
    match value {
        Value::Int(n) if *n < 0 => Err(err("", Problem::Negative(*n))),
        Value::Int(n) => Ok(*n as u64),
        other => Err(wrong_type("integer", other)),
    }
}

pub(crate) fn as_string_list(value: Value) -> Result<Vec<String>, FormatError> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| as_string(item).map_err(|e| e.within(&format!("[{i}]"))))
            .collect(),
        other => Err(wrong_type("array", &other)),
    }
}

/// Refuses a list of key ids with a repeat (python-tuf does the same).
/// Roles list a handful of key ids, so a scan beats a set; hostile long
/// lists get the set.
pub(crate) fn unique_keyids(keyids: &[String]) -> Result<(), FormatError> {
    let repeat = if keyids.len() <= 32 {
        keyids
            .iter()
            .enumerate()
            .find(|(i, id)| keyids[..*i].contains(id))
            .map(|(_, id)| id)
    } else {
        let mut seen = std::collections::BTreeSet::new();
        keyids.iter().find(|id| !seen.insert(id.as_str()))
    };
    match repeat {
        Some(id) => Err(err("", Problem::DuplicateKeyId(id.clone()))),
        None => Ok(()),
    }
}

/// Puts `fields` and then the unrecognized rest into one object value.
pub(crate) fn object_with(
    fields: impl IntoIterator<Item = (&'static str, Value)>,
    rest: &Object,
) -> Value {
    let mut map = rest.clone();
    for (name, value) in fields {
        map.insert(name.to_owned(), value);
    }
    Value::Object(map)
}

/// A list of strings as a JSON array.
pub(crate) fn string_array(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::String(s.clone())).collect())
}

/// A count as a JSON integer (counts were read within ±2^53, so this is exact).
pub(crate) fn int(n: u64) -> Value {
    Value::Int(n as i64)
}
