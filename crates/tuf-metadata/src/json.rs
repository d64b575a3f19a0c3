//! Strict JSON reading into [`Value`], the only tree canonical JSON encodes.
//!
//! serde_json's own maps keep the last of two equal keys and read floats and
//! huge integers silently; TUF metadata is signed over canonical bytes, so a
//! parser that is lax about either lets two readers see two different
//! documents. This reader refuses both, at any depth.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::mode::ReadMode;

/// Largest integer magnitude every JSON peer reads exactly (2^53 - 1):
/// JavaScript clients (tuf-js) would round anything above it.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Default cap on the size of one metadata file (32 MiB); callers that know
/// the role pass a tighter one (see [`crate::Limits`]).
pub const DEFAULT_MAX_BYTES: usize = 32 * 1024 * 1024;

/// An object: keys in code-point order, which is also canonical JSON's order
/// (Rust's `String` ordering is UTF-8 byte order, equal to code-point order).
pub type Object = BTreeMap<String, Value>;

/// A JSON value restricted to what canonical JSON can represent: no floats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer within ±(2^53 - 1).
    Int(i64),
    /// A string (any Unicode scalar values; never normalised).
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object with unique keys.
    Object(Object),
}

impl Value {
    /// A short name of the JSON type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

/// What was wrong with the JSON text itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Not JSON at all, or not UTF-8, or trailing bytes.
    #[error("not valid JSON: {0}")]
    Invalid(String),
    /// The same key twice in one object: readers would disagree on its value.
    #[error("duplicate key {key:?} in one object ({at})")]
    DuplicateKey {
        /// The repeated key.
        key: String,
        /// Line and column.
        at: String,
    },
    /// A float or exponent where canonical JSON allows only integers.
    #[error("number {number} is not an integer ({at}); canonical JSON has no floats")]
    NotAnInteger {
        /// The number as read.
        number: String,
        /// Line and column.
        at: String,
    },
    /// An integer beyond ±(2^53 - 1).
    #[error("integer {number} is out of range ({at}); the limit is ±2^53-1")]
    IntegerOutOfRange {
        /// The number as read.
        number: String,
        /// Line and column.
        at: String,
    },
    /// The input is bigger than the cap for this kind of file.
    #[error("input is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Bytes given.
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// Arrays/objects nested deeper than the parser allows.
    #[error("nesting is too deep ({0})")]
    TooDeep(String),
}

impl JsonError {
    /// Stable machine-readable code (used by tests and scripts).
    pub fn code(&self) -> &'static str {
        match self {
            JsonError::Invalid(_) => "invalid-json",
            JsonError::DuplicateKey { .. } => "duplicate-key",
            JsonError::NotAnInteger { .. } => "not-an-integer",
            JsonError::IntegerOutOfRange { .. } => "integer-out-of-range",
            JsonError::TooLarge { .. } => "too-large",
            JsonError::TooDeep(_) => "too-deep",
        }
    }
}

/// The first semantic problem our visitor saw; serde's error only carries text.
#[derive(Clone, Debug)]
enum Problem {
    DuplicateKey(String),
    NotAnInteger(String),
    OutOfRange(String),
}

/// Parses `bytes` as one strict JSON value, refusing anything over `max_bytes`.
pub fn parse(bytes: &[u8], max_bytes: usize) -> Result<Value, JsonError> {
    parse_in(bytes, max_bytes, ReadMode::Strict)
}

/// [`parse`] in `mode`. [`ReadMode::Existing`] also reads what every JSON
/// peer reads as one value: `-0` as the integer 0 (python's `json` does; a
/// float such as `-0.0` is still refused), and a lone UTF-16 surrogate
/// escape (`\ud800`) as U+FFFD, as tuf-js and go-tuf decode it (python-tuf
/// reads it but cannot encode it to verify a signature). Both rewrites keep
/// the text's length, so error positions stay true.
pub fn parse_in(bytes: &[u8], max_bytes: usize, mode: ReadMode) -> Result<Value, JsonError> {
    if bytes.len() > max_bytes {
        return Err(JsonError::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    match mode {
        ReadMode::Strict => parse_text(bytes),
        ReadMode::Existing => match as_peers_read(bytes) {
            Some(rewritten) => parse_text(&rewritten),
            None => parse_text(bytes),
        },
    }
}

/// The text with `-0` written ` 0` and each lone surrogate escape written
/// `\ufffd`, or `None` when it has neither (the common case: no copy).
fn as_peers_read(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut edit = |at: usize, with: &[u8]| {
        out.get_or_insert_with(|| bytes.to_vec())[at..at + with.len()].copy_from_slice(with);
    };
    let hex4 = |at: usize| -> Option<u16> {
        let text = std::str::from_utf8(bytes.get(at..at + 4)?).ok()?;
        u16::from_str_radix(text, 16).ok()
    };
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match (in_string, bytes[i]) {
            (false, b'"') | (true, b'"') => in_string = !in_string,
            (false, b'-') => {
                let zero = bytes.get(i + 1) == Some(&b'0');
                let ends = !matches!(bytes.get(i + 2), Some(b'0'..=b'9' | b'.' | b'e' | b'E'));
                if zero && ends {
                    edit(i, b" ");
                }
            }
            (true, b'\\') => {
                if bytes.get(i + 1) == Some(&b'u')
                    && let Some(unit) = hex4(i + 2)
                {
                    let high = (0xD800..0xDC00).contains(&unit);
                    let low = (0xDC00..0xE000).contains(&unit);
                    let paired = high
                        && bytes.get(i + 6..i + 8) == Some(b"\\u")
                        && hex4(i + 8).is_some_and(|u| (0xDC00..0xE000).contains(&u));
                    if paired {
                        i += 12;
                        continue;
                    }
                    if high || low {
                        edit(i + 2, b"fffd");
                    }
                    i += 6;
                    continue;
                }
                i += 2;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn parse_text(bytes: &[u8]) -> Result<Value, JsonError> {
    let problem = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = StrictSeed { problem: &problem }
        .deserialize(&mut de)
        .and_then(|value| de.end().map(|()| value));
    result.map_err(|err| {
        let at = format!("line {} column {}", err.line(), err.column());
        match problem.into_inner() {
            Some(Problem::DuplicateKey(key)) => JsonError::DuplicateKey { key, at },
            Some(Problem::NotAnInteger(number)) => JsonError::NotAnInteger { number, at },
            Some(Problem::OutOfRange(number)) => JsonError::IntegerOutOfRange { number, at },
            None if err.to_string().starts_with("recursion limit exceeded") => {
                JsonError::TooDeep(at)
            }
            None => JsonError::Invalid(err.to_string()),
        }
    })
}

/// Writes `value` as JSON text for a file: keys sorted, one-space indent as
/// python-tuf writes it, control characters escaped (canonical JSON leaves
/// them raw, which is not valid JSON text, so files never use it directly).
pub fn to_pretty(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    write_pretty(value, 0, &mut out);
    out.push(b'\n');
    out
}

fn write_pretty(value: &Value, depth: usize, out: &mut Vec<u8>) {
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.resize(out.len() + depth, b' ');
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, depth + 1);
                write_pretty(item, depth + 1, out);
            }
            newline(out, depth);
            out.push(b']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, depth + 1);
                write_escaped(key, out);
                out.extend_from_slice(b": ");
                write_pretty(item, depth + 1, out);
            }
            newline(out, depth);
            out.push(b'}');
        }
        Value::String(s) => write_escaped(s, out),
        other => crate::canonical::encode_into(other, out),
    }
}

fn write_escaped(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for ch in s.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[derive(Clone, Copy)]
struct StrictSeed<'p> {
    problem: &'p RefCell<Option<Problem>>,
}

impl StrictSeed<'_> {
    fn fail<E: de::Error>(&self, problem: Problem) -> E {
        let text = match &problem {
            Problem::DuplicateKey(k) => format!("duplicate key {k:?}"),
            Problem::NotAnInteger(n) | Problem::OutOfRange(n) => format!("bad number {n}"),
        };
        self.problem.borrow_mut().get_or_insert(problem);
        E::custom(text)
    }

    fn int<E: de::Error>(&self, n: i128) -> Result<Value, E> {
        if n.unsigned_abs() > MAX_SAFE_INTEGER as u128 {
            return Err(self.fail(Problem::OutOfRange(n.to_string())));
        }
        Ok(Value::Int(n as i64))
    }
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        self.int(n.into())
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        self.int(n.into())
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        // serde_json hands integers beyond u64/i64 over as floats too.
        let problem = if n.fract() == 0.0 && n.abs() > MAX_SAFE_INTEGER as f64 {
            Problem::OutOfRange(format!("{n:e}"))
        } else {
            Problem::NotAnInteger(format!("{n:?}"))
        };
        Err(self.fail(problem))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Object::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(self.fail(Problem::DuplicateKey(key)));
            }
            let value = map.next_value_seed(self)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> &'static str {
        parse(text.as_bytes(), DEFAULT_MAX_BYTES)
            .unwrap_err()
            .code()
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert_eq!(code(r#"{"a":1,"a":2}"#), "duplicate-key");
        assert_eq!(code(r#"{"x":[{"b":{"c":1,"c":1}}]}"#), "duplicate-key");
        let err = parse(br#"{"roles":{"root":1,"root":2}}"#, 100).unwrap_err();
        assert!(err.to_string().contains("\"root\""), "{err}");
    }

    #[test]
    fn floats_and_huge_integers_are_refused() {
        assert_eq!(code(r#"{"version":2.0}"#), "not-an-integer");
        assert_eq!(code(r#"{"version":1e3}"#), "not-an-integer");
        assert_eq!(code("[9007199254740992]"), "integer-out-of-range");
        assert_eq!(code("[-9007199254740992]"), "integer-out-of-range");
        assert_eq!(code("[18446744073709551616]"), "integer-out-of-range");
        assert_eq!(
            parse(b"[9007199254740991,-9007199254740991]", 100).unwrap(),
            Value::Array(vec![
                Value::Int(MAX_SAFE_INTEGER),
                Value::Int(-MAX_SAFE_INTEGER)
            ])
        );
    }

    #[test]
    fn malformed_text_is_invalid_json() {
        for bad in [
            "{",
            "{} {}",
            "[1,]",
            "NaN",
            "[\"\\ud800\"]",
            "[01]",
            "{\"a\":\"\x01\"}",
        ] {
            assert_eq!(code(bad), "invalid-json", "{bad:?}");
        }
        assert_eq!(
            parse(b"[\"\xff\"]", 100).unwrap_err().code(),
            "invalid-json"
        );
    }

    #[test]
    fn pretty_text_reads_back_to_the_same_value() {
        let text = br#"{"b":[1,{"c":"\u0001\n\"\\\u00e9\u007f"}],"a":{},"e":[]}"#;
        let value = parse(text, 1 << 10).unwrap();
        let pretty = to_pretty(&value);
        assert_eq!(parse(&pretty, 1 << 10).unwrap(), value);
        assert!(
            std::str::from_utf8(&pretty)
                .unwrap()
                .starts_with("{\n \"a\": {},")
        );
    }

    #[test]
    fn minus_zero_and_lone_surrogates_are_a_mode_decision() {
        let existing = |text: &str| parse_in(text.as_bytes(), 1 << 10, ReadMode::Existing);
        assert_eq!(code("[-0]"), "not-an-integer");
        assert_eq!(
            existing("[-0, -0 ,{\"a\":-0}]").unwrap(),
            parse(b"[0,0,{\"a\":0}]", 100).unwrap()
        );
        for still_bad in ["[-0.0]", "[-0e1]", "[-01]", "[-0E1]"] {
            assert!(existing(still_bad).is_err(), "{still_bad}");
        }
        // Inside strings nothing changes but lone surrogates.
        assert_eq!(
            existing(r#"["-0", "\ud800 \udc00x", "\ud83d\ude00", "\\ud800"]"#).unwrap(),
            Value::Array(vec![
                Value::from("-0"),
                Value::from("\u{fffd} \u{fffd}x"),
                Value::from("\u{1f600}"),
                Value::from("\\ud800"),
            ])
        );
        assert_eq!(code(r#"["\ud800"]"#), "invalid-json");
        assert_eq!(
            existing(r#"["\ud800\ud800"]"#).unwrap(),
            Value::Array(vec![Value::from("\u{fffd}\u{fffd}")])
        );
    }

    #[test]
    fn size_and_depth_caps_hold() {
        assert_eq!(parse(b"[1, 2]", 3).unwrap_err().code(), "too-large");
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(code(&deep), "too-deep");
    }
}
