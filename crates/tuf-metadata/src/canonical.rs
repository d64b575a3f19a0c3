//! OLPC canonical JSON exactly as securesystemslib's `encode_canonical`
//! writes it, because those are the bytes every TUF peer signs.
//!
//! The rules, from securesystemslib: object keys sorted by code point (not by
//! their escaped form), no whitespace, integers only, and in strings only `\`
//! and `"` are escaped; everything else — control bytes, newlines, non-ASCII —
//! is written as raw UTF-8, with no Unicode normalisation. `olpc-cjson` differs
//! on ordering and normalisation, so we own this encoder and test it against
//! python-tuf.

use crate::json::Value;

/// The canonical bytes of `value`.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    encode_into(value, &mut out);
    out
}

/// Appends the canonical bytes of `value` to `out` (lets callers reuse one buffer).
pub fn encode_into(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(n) => write_int(*n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                encode_into(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            // BTreeMap<String, _> iterates in UTF-8 byte order == code-point order.
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                encode_into(item, out);
            }
            out.push(b'}');
        }
    }
}

fn write_int(n: i64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut rest = n.unsigned_abs();
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[start..]);
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut plain_from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'"' || b == b'\\' {
            out.extend_from_slice(&bytes[plain_from..i]);
            out.push(b'\\');
            out.push(b);
            plain_from = i + 1;
        }
    }
    out.extend_from_slice(&bytes[plain_from..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{Object, parse};

    fn canon(text: &str) -> String {
        String::from_utf8(encode(&parse(text.as_bytes(), 1 << 20).unwrap())).unwrap()
    }

    #[test]
    fn keys_sort_by_code_point_not_by_escaped_form() {
        // Escaping `"` as `\"` would sort `a"` after `a\`; code points say otherwise.
        assert_eq!(canon(r#"{"a\\":1,"a\"":2}"#), r#"{"a\"":2,"a\\":1}"#);
        assert_eq!(
            canon(r#"{"a!":1,"a ":2,"a":3,"b":4}"#),
            r#"{"a":3,"a ":2,"a!":1,"b":4}"#
        );
        // U+FFFD sorts after U+00E9 and before an astral character.
        assert_eq!(
            canon("{\"\u{1F600}\":1,\"\u{FFFD}\":2,\"\u{e9}\":3}"),
            "{\"\u{e9}\":3,\"\u{FFFD}\":2,\"\u{1F600}\":1}"
        );
    }

    #[test]
    fn only_quote_and_backslash_are_escaped() {
        assert_eq!(
            canon(r#"["\n\t\u0001\u007f\"\\/é"]"#),
            "[\"\n\t\u{1}\u{7f}\\\"\\\\/\u{e9}\"]"
        );
    }

    #[test]
    fn unicode_is_not_normalised() {
        let decomposed = canon(r#"["e\u0301"]"#);
        assert_eq!(decomposed.as_bytes(), b"[\"e\xcc\x81\"]");
    }

    #[test]
    fn integers_and_literals() {
        assert_eq!(
            canon("[0,-1,9007199254740991,-9007199254740991,true,false,null]"),
            "[0,-1,9007199254740991,-9007199254740991,true,false,null]"
        );
        // `-0` is not a canonical number; refusing it keeps one spelling per value.
        assert!(parse(b"[-0]", 16).is_err());
        assert_eq!(canon("{ \"x\" : [ ] , \"y\" : { } }"), r#"{"x":[],"y":{}}"#);
        assert_eq!(encode(&Value::Object(Object::new())), b"{}");
    }
}
