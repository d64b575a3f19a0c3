//! Text from a stick or a repository, made safe to print on a terminal.
//!
//! A staged root, a transcript or an HTTP request can carry characters a
//! terminal acts on instead of showing: ESC starts sequences that move the
//! cursor, repaint lines or set the window title; CR returns to the start of
//! the line so later text overwrites earlier; bidi overrides reorder what is
//! read; zero-width characters hide differences. Every text output of the
//! tools passes what it did not write itself through [`escape`], so what a
//! witness reads is what the bytes say.
//!
//! The convention, chosen for what a witness reads:
//! - Each such character becomes `\u{..}` with its code point in lower-case
//!   hex, as Rust writes it: ESC is `\u{1b}`, a newline `\u{a}`, a tab
//!   `\u{9}`, a right-to-left override `\u{202e}`. One form for all of them,
//!   so there is one thing to recognise.
//! - Everything else is left as it is, including non-ASCII letters and a
//!   literal backslash. Escaping therefore never doubles up: escaping text
//!   that was escaped already (an error message that quotes an escaped field,
//!   wrapped by a binary that escapes its `error:` line) changes nothing.
//!   The price is that a literal `\u{1b}` typed into a field reads the same
//!   as an escaped ESC; both are harmless on screen, and the digest a
//!   witness compares is computed from the bytes, never from this text.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a terminal would act on `c` or show nothing for it, rather than
/// show a glyph: such characters are printed as `\u{..}` instead.
pub fn is_hidden(c: char) -> bool {
    c.is_control() // C0 (incl. tab, CR, LF), DEL and C1 (incl. CSI U+009B)
        || matches!(
            c,
            '\u{ad}'                    // soft hyphen
            | '\u{61c}'                 // Arabic letter mark
            | '\u{180e}'                // Mongolian vowel separator
            | '\u{200b}'..='\u{200f}'   // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{202e}'   // line/paragraph separators, bidi embeddings and overrides
            | '\u{2060}'..='\u{206f}'   // word joiner, invisible operators, bidi isolates, deprecated formats
            | '\u{feff}'                // zero-width no-break space (BOM)
            | '\u{fff9}'..='\u{fffb}'   // interlinear annotation
            | '\u{e0000}'..='\u{e007f}' // tag characters
        )
}

/// `text` with every control, bidi and invisible format character written
/// as `\u{..}` (see the module documentation); borrowed when nothing needed
/// escaping, which is the common case.
pub fn escape(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(is_hidden) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if is_hidden(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Bytes that should be UTF-8 (a file name, a request line) made printable:
/// invalid sequences become U+FFFD, then [`escape`] applies.
pub fn escape_bytes(bytes: &[u8]) -> String {
    escape(&String::from_utf8_lossy(bytes)).into_owned()
}

/// A hex digest in groups of four, eight groups a row (two rows for
/// SHA-256): how every screen, report and command shows a digest, so a
/// witness reads the same shape everywhere and can compare them aloud.
pub fn digest_rows(hex: &str) -> Vec<String> {
    let chars: Vec<char> = hex.chars().collect();
    let groups: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
    groups.chunks(8).map(|row| row.join(" ")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sha256_reads_as_two_rows_of_eight_groups() {
        assert_eq!(
            digest_rows(&"0123456789abcdef".repeat(4)),
            vec![
                "0123 4567 89ab cdef 0123 4567 89ab cdef",
                "0123 4567 89ab cdef 0123 4567 89ab cdef"
            ]
        );
        assert_eq!(digest_rows("abcdef"), vec!["abcd ef"]);
        assert!(digest_rows("").is_empty());
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in [
            "",
            "root: threshold 2 of 3",
            "Zoë signs für Ålesund — 東京 → ok…",
            "targets/π/файл.tar.gz",
            r"C:\keys\a.pub",
        ] {
            assert!(matches!(escape(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn an_ansi_repaint_shows_as_visible_escapes() {
        // Cursor up, erase line, green "threshold MET", reset: the repaint a
        // hostile field name would use to fake the board.
        let hostile = "x-\u{1b}[1A\u{1b}[2K\u{1b}[32mthreshold MET\u{1b}[0m";
        let shown = escape(hostile);
        assert_eq!(
            shown,
            "x-\\u{1b}[1A\\u{1b}[2K\\u{1b}[32mthreshold MET\\u{1b}[0m"
        );
        assert!(!shown.contains('\u{1b}'));
    }

    #[test]
    fn osc_title_and_eight_bit_csi_are_escaped() {
        assert_eq!(
            escape("\u{1b}]0;owned\u{7}"),
            "\\u{1b}]0;owned\\u{7}",
            "OSC ended by BEL"
        );
        assert_eq!(
            escape("\u{1b}]8;;http://x\u{1b}\\y"),
            "\\u{1b}]8;;http://x\\u{1b}\\y",
            "OSC 8 hyperlink ended by ST"
        );
        assert_eq!(escape("a\u{9b}31mb"), "a\\u{9b}31mb", "C1 CSI");
        assert_eq!(escape("\u{85}\u{9c}\u{9d}"), "\\u{85}\\u{9c}\\u{9d}");
    }

    #[test]
    fn line_breaks_tabs_nul_and_del_are_escaped() {
        assert_eq!(
            escape("ok\rFAKE\nnext\tcol\0end\u{7f}"),
            "ok\\u{d}FAKE\\u{a}next\\u{9}col\\u{0}end\\u{7f}"
        );
        assert_eq!(escape("a\u{2028}b\u{2029}c"), "a\\u{2028}b\\u{2029}c");
    }

    #[test]
    fn bidi_overrides_and_isolates_are_escaped() {
        for c in ('\u{202a}'..='\u{202e}').chain('\u{2066}'..='\u{2069}') {
            let shown = escape(&format!("key{c}id")).into_owned();
            assert_eq!(shown, format!("key\\u{{{:x}}}id", u32::from(c)));
        }
        assert_eq!(
            escape("\u{200e}\u{200f}\u{61c}"),
            "\\u{200e}\\u{200f}\\u{61c}"
        );
    }

    #[test]
    fn invisible_format_characters_are_escaped() {
        assert_eq!(
            escape("ab\u{200b}cd\u{feff}e\u{2060}f\u{ad}g\u{e0041}"),
            "ab\\u{200b}cd\\u{feff}e\\u{2060}f\\u{ad}g\\u{e0041}"
        );
    }

    #[test]
    fn escaping_twice_changes_nothing_more() {
        let hostile = "a\u{1b}[31m\\u{1b}\u{202e}z\\";
        let once = escape(hostile).into_owned();
        assert_eq!(escape(&once), once);
        assert!(once.chars().all(|c| !is_hidden(c)));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_shown_as_replacement_characters() {
        assert_eq!(escape_bytes(b"/a\xff\x1b[2J"), "/a\u{fffd}\\u{1b}[2J");
    }
}
