//! Names the client turns into file names and URLs, and the delegation
//! path patterns: each rule here is the one python-tuf applies, so the same
//! repository gives the same file names and the same search results.

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

/// True if `target` matches the delegation pattern `pattern` the way
/// python-tuf decides it: both split at `/`, the same number of segments,
/// and each segment matching with `fnmatch` rules (`*` any run of
/// characters, `?` one character, `[abc]`, `[a-z]`, `[!abc]` classes), so
/// `*` never crosses a `/`. Case-sensitive.
pub fn path_matches(pattern: &str, target: &str) -> bool {
    let pattern_parts: Vec<&str> = pattern.split('/').collect();
    let target_parts: Vec<&str> = target.split('/').collect();
    pattern_parts.len() == target_parts.len()
        && pattern_parts
            .iter()
            .zip(&target_parts)
            .all(|(p, t)| fnmatch(p, t))
}

/// One element of a compiled `fnmatch` pattern.
enum Token {
    Star,
    AnyOne,
    Literal(char),
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

fn compile(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if !matches!(tokens.last(), Some(Token::Star)) {
                    tokens.push(Token::Star);
                }
                i += 1;
            }
            '?' => {
                tokens.push(Token::AnyOne);
                i += 1;
            }
            '[' => match compile_class(&chars, i) {
                Some((token, next)) => {
                    tokens.push(token);
                    i = next;
                }
                None => {
                    // No closing bracket: a literal `[`, as fnmatch does.
                    tokens.push(Token::Literal('['));
                    i += 1;
                }
            },
            c => {
                tokens.push(Token::Literal(c));
                i += 1;
            }
        }
    }
    tokens
}

/// The class starting at `chars[start] == '['`, and the index after it.
fn compile_class(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut i = start + 1;
    let negated = chars.get(i) == Some(&'!');
    if negated {
        i += 1;
    }
    let first = i;
    let mut ranges = Vec::new();
    loop {
        let c = *chars.get(i)?;
        // A `]` right after `[` or `[!` is a literal member.
        if c == ']' && i > first {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&e| e != ']') {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
}

fn token_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Star | Token::AnyOne => true,
        Token::Literal(l) => *l == c,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
        }
    }
}

/// `fnmatch.fnmatchcase` for one segment; linear in pattern × text, so a
/// hostile pattern of many `*` costs no more than any other.
fn fnmatch(pattern: &str, text: &str) -> bool {
    let tokens = compile(pattern);
    let text: Vec<char> = text.chars().collect();
    // matched[j]: the tokens so far match text[..j].
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for token in &tokens {
        let mut next = vec![false; text.len() + 1];
        match token {
            Token::Star => {
                let mut any = false;
                for j in 0..=text.len() {
                    any |= matched[j];
                    next[j] = any;
                }
            }
            _ => {
                for j in 0..text.len() {
                    next[j + 1] = matched[j] && token_matches(token, text[j]);
                }
            }
        }
        matched = next;
    }
    matched[text.len()]
}

pub(crate) use tuf_metadata::sha256_hex;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_is_pythons_quote_with_nothing_safe() {
        assert_eq!(quote("bin-0a_b.c~"), "bin-0a_b.c~");
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

    #[test]
    fn patterns_match_per_segment_like_python_tuf() {
        assert!(path_matches("*", "file.txt"));
        assert!(!path_matches("*", "dir/file.txt"));
        assert!(path_matches("dir/*", "dir/file.txt"));
        assert!(!path_matches("dir/*", "dir/sub/file.txt"));
        assert!(path_matches("dir/*/*.tgz", "dir/sub/a.tgz"));
        assert!(path_matches("file?.txt", "file1.txt"));
        assert!(!path_matches("file?.txt", "file10.txt"));
        assert!(path_matches("[ab]*", "beta"));
        assert!(!path_matches("[!ab]*", "beta"));
        assert!(path_matches("v[0-9].txt", "v7.txt"));
        assert!(path_matches("a[", "a["));
        assert!(path_matches("[]]", "]"));
        assert!(!path_matches("File.txt", "file.txt"));
        assert!(path_matches("", ""));
        let hostile = "*".repeat(500) + "x";
        assert!(!path_matches(&hostile, &"y".repeat(5000)));
    }
}
