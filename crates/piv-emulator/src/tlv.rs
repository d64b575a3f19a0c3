//! BER-TLV as PIV uses it: one- or two-byte tags (a first byte whose low
//! five bits are all set announces a second tag byte, as in `5F C1 05` or
//! `7F 49`) and definite lengths in the short form or the `81`/`82` long
//! forms.

/// One parsed TLV: its tag (one or two bytes, big-endian) and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag, e.g. `0x7C` or `0x7F49`.
    pub tag: u16,
    /// The value bytes.
    pub value: &'a [u8],
}

/// Why a byte string is not a well-formed TLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlvError {
    /// The input ended inside the tag, the length or the value.
    Truncated,
    /// A length form PIV does not use (indefinite, or more than two bytes).
    BadLength,
}

/// Parses one TLV at the start of `input`; returns it and the rest.
pub fn parse(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let (&first, mut rest) = input.split_first().ok_or(TlvError::Truncated)?;
    let mut tag = u16::from(first);
    if first & 0x1F == 0x1F {
        let (&second, r) = rest.split_first().ok_or(TlvError::Truncated)?;
        tag = (tag << 8) | u16::from(second);
        rest = r;
    }
    let (&len0, r) = rest.split_first().ok_or(TlvError::Truncated)?;
    rest = r;
    let len = match len0 {
        0..=0x7F => usize::from(len0),
        0x81 => {
            let (&l, r) = rest.split_first().ok_or(TlvError::Truncated)?;
            rest = r;
            usize::from(l)
        }
        0x82 => {
            if rest.len() < 2 {
                return Err(TlvError::Truncated);
            }
            let l = usize::from(rest[0]) << 8 | usize::from(rest[1]);
            rest = &rest[2..];
            l
        }
        _ => return Err(TlvError::BadLength),
    };
    if rest.len() < len {
        return Err(TlvError::Truncated);
    }
    let (value, rest) = rest.split_at(len);
    Ok((Tlv { tag, value }, rest))
}

/// Parses a whole byte string as a sequence of TLVs.
pub fn parse_all(mut input: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (tlv, rest) = parse(input)?;
        out.push(tlv);
        input = rest;
    }
    Ok(out)
}

/// Finds the first TLV with `tag` in a sequence.
pub fn find(input: &[u8], tag: u16) -> Result<Option<&[u8]>, TlvError> {
    Ok(parse_all(input)?
        .into_iter()
        .find(|t| t.tag == tag)
        .map(|t| t.value))
}

/// Appends the BER encoding of `len` to `out`.
pub fn push_len(out: &mut Vec<u8>, len: usize) {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend([0x81, len as u8]),
        _ => {
            assert!(len <= 0xFFFF, "TLV value too long: {len} bytes");
            out.extend([0x82, (len >> 8) as u8, len as u8]);
        }
    }
}

/// Appends one TLV (`tag` of one byte, or two when above 0xFF) to `out`.
pub fn push(out: &mut Vec<u8>, tag: u16, value: &[u8]) {
    if tag > 0xFF {
        out.extend(tag.to_be_bytes());
    } else {
        out.push(tag as u8);
    }
    push_len(out, value.len());
    out.extend_from_slice(value);
}

/// One TLV as a new vector.
pub fn encode(tag: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 5);
    push(&mut out, tag, value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths_round_trip() {
        for len in [0usize, 1, 0x7F, 0x80, 0xFF, 0x100, 0x1234] {
            let value = vec![0xAB; len];
            let bytes = encode(0x53, &value);
            let (tlv, rest) = parse(&bytes).unwrap();
            assert_eq!(tlv.tag, 0x53);
            assert_eq!(tlv.value, &value[..]);
            assert!(rest.is_empty());
        }
        assert_eq!(encode(0x53, &[0; 0x80])[..2], [0x53, 0x81]);
        assert_eq!(encode(0x53, &[0; 0x100])[..4], [0x53, 0x82, 0x01, 0x00]);
    }

    #[test]
    fn two_byte_tags() {
        let bytes = [0x5C, 0x03, 0x5F, 0xC1, 0x05, 0x7F, 0x49, 0x02, 0x86, 0x00];
        let all = parse_all(&bytes).unwrap();
        assert_eq!(all[0].tag, 0x5C);
        assert_eq!(all[0].value, [0x5F, 0xC1, 0x05]);
        assert_eq!(all[1].tag, 0x7F49);
        assert_eq!(all[1].value, [0x86, 0x00]);
        assert_eq!(encode(0x7F49, &[1])[..3], [0x7F, 0x49, 0x01]);
    }

    #[test]
    fn the_sign_request_the_yubikey_crate_sends() {
        // 7C 24 82 00 81 20 <32-byte digest>
        let mut req = vec![0x7C, 0x24, 0x82, 0x00, 0x81, 0x20];
        req.extend([7u8; 32]);
        let (outer, rest) = parse(&req).unwrap();
        assert!(rest.is_empty());
        assert_eq!(outer.tag, 0x7C);
        assert_eq!(find(outer.value, 0x82).unwrap(), Some(&[][..]));
        assert_eq!(find(outer.value, 0x81).unwrap(), Some(&[7u8; 32][..]));
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert_eq!(parse(&[]), Err(TlvError::Truncated));
        assert_eq!(parse(&[0x53]), Err(TlvError::Truncated));
        assert_eq!(parse(&[0x53, 0x05, 1, 2]), Err(TlvError::Truncated));
        assert_eq!(parse(&[0x53, 0x83, 0, 0, 1]), Err(TlvError::BadLength));
        assert_eq!(parse(&[0x53, 0x80]), Err(TlvError::BadLength));
        assert_eq!(parse(&[0x5F]), Err(TlvError::Truncated));
    }
}
