//! Names the client turns into file names and URLs: each rule here is the
//! one python-tuf applies, so the same repository gives the same file
//! names. (The delegation path patterns are `tuf_metadata::delegation`'s.)

/// Percent-encodes `text` as python's `urllib.parse.quote(text, safe="")`:
/// every byte except the unreserved `A-Z a-z 0-9 - . _ ~` becomes `%XX`
/// (upper-case hex). Role names in metadata file names and target paths as
/// local file names are encoded this way, so a `/` never survives into a
/// file name.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A target path as a URL path: each `/`-separated segment [`quote`]d,
/// the slashes kept.
pub fn quote_path(path: &str) -> String {
    path.split('/').map(quote).collect::<Vec<_>>().join("/")
}

/// Decodes `%XX` escapes, as a web server does with a URL path (and as
/// [`crate::DirFetcher`] and `file://` URLs need); `None` for a malformed
/// escape or a result that is not UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_is_pythons_quote_with_nothing_safe() {
        assert_eq!(quote("bin-0a_b.c~"), "bin-0a_b.c~");
        assert_eq!(quote("bin-3fff"), "bin-3fff");
        assert_eq!(quote("a/b c"), "a%2Fb%20c");
        assert_eq!(quote("%2e%2e"), "%252e%252e");
        assert_eq!(quote("é"), "%C3%A9");
        assert_eq!(quote_path("dir/a b/c"), "dir/a%20b/c");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb%20c").unwrap(), "a/b c");
        assert_eq!(percent_decode(&quote("é/x")).unwrap(), "é/x");
        assert!(percent_decode("%4").is_none());
        assert!(percent_decode("%ff").is_none());
    }
}
