//! Long content in a short area, without hiding that it is long: lines are
//! wrapped here (so rows can be counted), and the rows that do not fit are
//! announced by "▲ N more above" / "▼ N more below" in place of the first
//! or last row shown. Every list and text that can overflow is drawn
//! through [`window`].

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

/// The marker style: visible without colour.
fn marker_style() -> Style {
    Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
}

/// The rows of `text` that fit `height`, starting `offset` rows down
/// (clamped so the last page is full), with a marker row first when rows
/// are hidden above and last when rows are hidden below.
pub fn window(text: Vec<Line<'static>>, height: usize, offset: usize) -> Vec<Line<'static>> {
    let total = text.len();
    if total <= height {
        return text;
    }
    if height < 2 {
        // No room even for a marker (the too-small screen is shown then).
        return text.into_iter().take(height).collect();
    }
    // The furthest start: the top marker row, then the last lines.
    let start = offset.min(total - (height - 1));
    let above = usize::from(start > 0);
    let room = height - above;
    let shown = if total - start > room { room - 1 } else { room };
    let below = total - start - shown;
    let mut out = Vec::with_capacity(height);
    if start > 0 {
        out.push(Line::styled(
            format!("▲ {start} more above"),
            marker_style(),
        ));
    }
    out.extend(text.into_iter().skip(start).take(shown));
    if below > 0 {
        out.push(Line::styled(
            format!("▼ {below} more below"),
            marker_style(),
        ));
    }
    out
}

/// The offset at which row `focus` and the row after it are in view in a
/// [`window`] of `height` (a highlighted list entry and its first detail).
pub fn offset_for(focus: usize, total: usize, height: usize) -> usize {
    if total <= height {
        0
    } else {
        (focus + 4).saturating_sub(height).min(focus)
    }
}

/// `lines` broken into rows of at most `width` characters: at spaces
/// where possible (a longer word is cut), continuation rows indented two
/// more than the line's own indent. Each row keeps its line's style.
pub fn wrap(lines: Vec<Line<'static>>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(8);
    let mut out = Vec::new();
    for line in lines {
        let style = line
            .spans
            .first()
            .map_or(line.style, |s| line.style.patch(s.style));
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        if text.chars().count() <= width {
            out.push(line);
            continue;
        }
        for row in wrap_text(&text, width) {
            out.push(Line::from(Span::styled(row, style)));
        }
    }
    out
}

/// `text` broken into rows of at most `width` characters (see [`wrap`]).
/// Runs of spaces inside a row are kept (columns stay aligned); a break
/// drops the spaces it falls on.
pub fn wrap_text(text: &str, width: usize) -> Vec<String> {
    let indent = text.chars().take_while(|c| *c == ' ').count();
    let rest = " ".repeat((indent + 2).min(width / 2));
    // Each word with the spaces before it.
    let mut words: Vec<(usize, Vec<char>)> = Vec::new();
    let mut gap = 0;
    for part in text[indent..].split(' ') {
        if part.is_empty() {
            gap += 1;
        } else {
            words.push((gap, part.chars().collect()));
            gap = 1;
        }
    }
    let mut rows = Vec::new();
    let mut row = " ".repeat(indent.min(width / 2));
    let mut has_word = false;
    for (gap, mut word) in words {
        loop {
            let used = row.chars().count();
            let gap = if has_word { gap } else { 0 };
            if used + gap + word.len() <= width {
                row.extend(std::iter::repeat_n(' ', gap));
                row.extend(word.iter());
                has_word = true;
                break;
            }
            if has_word {
                // The word starts the next row.
                rows.push(std::mem::replace(&mut row, rest.clone()));
                has_word = false;
                continue;
            }
            // A word longer than a row: cut it.
            let room = width.saturating_sub(used).max(1);
            let tail = word.split_off(room.min(word.len()));
            row.extend(word.iter());
            rows.push(std::mem::replace(&mut row, rest.clone()));
            word = tail;
            if word.is_empty() {
                break;
            }
        }
    }
    if has_word || rows.is_empty() {
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    fn numbered(n: usize) -> Vec<Line<'static>> {
        (1..=n).map(|i| Line::raw(format!("line {i}"))).collect()
    }

    #[test]
    fn content_that_fits_has_no_marker() {
        assert_eq!(
            rows(&window(numbered(3), 5, 0)),
            ["line 1", "line 2", "line 3"]
        );
        assert_eq!(rows(&window(numbered(3), 5, 7)).len(), 3);
    }

    #[test]
    fn hidden_rows_are_counted_above_and_below() {
        assert_eq!(
            rows(&window(numbered(10), 4, 0)),
            ["line 1", "line 2", "line 3", "▼ 7 more below"]
        );
        assert_eq!(
            rows(&window(numbered(10), 4, 3)),
            ["▲ 3 more above", "line 4", "line 5", "▼ 5 more below"]
        );
        // Scrolled past the end: the last page, nothing below.
        assert_eq!(
            rows(&window(numbered(10), 4, 99)),
            ["▲ 7 more above", "line 8", "line 9", "line 10"]
        );
        // Every line is either shown or counted.
        for offset in 0..12 {
            let shown = window(numbered(10), 4, offset);
            let counted: usize = rows(&shown)
                .iter()
                .map(|r| {
                    r.split(' ')
                        .nth(1)
                        .filter(|_| r.contains("more"))
                        .map_or(1, |n| n.parse().unwrap())
                })
                .sum();
            assert_eq!(counted, 10, "offset {offset}: {:?}", rows(&shown));
        }
    }

    #[test]
    fn the_focused_row_and_the_next_stay_in_view() {
        for focus in 0..9 {
            let offset = offset_for(focus, 10, 5);
            let shown = rows(&window(numbered(10), 5, offset));
            assert!(
                shown.contains(&format!("line {}", focus + 1)),
                "{focus}: {shown:?}"
            );
            assert!(
                shown.contains(&format!("line {}", focus + 2)),
                "{focus}: {shown:?}"
            );
        }
    }

    #[test]
    fn long_lines_wrap_at_spaces_and_long_words_are_cut() {
        assert_eq!(
            wrap_text("  key 1df870e4 may sign staged/root.json", 20),
            ["  key 1df870e4 may", "    sign", "    staged/root.json"]
        );
        assert_eq!(wrap_text("abcdefghijkl", 8), ["abcdefgh", "  ijkl"]);
        assert_eq!(wrap_text("short", 8), ["short"]);
        assert_eq!(
            wrap_text("   5  2026-11-22  signed: a b", 20),
            ["   5  2026-11-22", "     signed: a b"]
        );
        for row in wrap_text(&"{\"signed\":".repeat(30), 40) {
            assert!(row.chars().count() <= 40, "{row}");
        }
    }
}
