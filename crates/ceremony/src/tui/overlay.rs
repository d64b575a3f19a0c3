//! What is drawn over or instead of a screen: the yes/no question before
//! finishing with thresholds unmet or quitting mid-ceremony, and the
//! request for a larger terminal, which keeps the DRILL and network
//! badges (they must never be what disappears).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use tuf_metadata::escape;

use crate::review::Tone;
use crate::tui::app::{App, Confirm};
use crate::tui::scroll::{window, wrap};
use crate::tui::view::{badges, style};

/// The smallest terminal the screens are laid out for (the appliance's
/// console); below it only the badges and a request to enlarge are shown.
pub const MIN_SIZE: (u16, u16) = (80, 24);

/// A terminal smaller than [`MIN_SIZE`]: the badges first (they must never
/// be what disappears), then what size is needed.
pub(super) fn draw_too_small(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let mut text: Vec<Line> = badges(app).into_iter().map(Line::from).collect();
    text.push(Line::styled(
        format!(
            "terminal too small (need {}x{}, have {}x{})",
            MIN_SIZE.0, MIN_SIZE.1, area.width, area.height
        ),
        style(Tone::Warning),
    ));
    text.push(Line::raw(
        "enlarge it or use a smaller font; the ceremony is as it was",
    ));
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), area);
}

/// The question over the screen: yes or no, and what each means.
pub(super) fn draw_confirm(frame: &mut Frame, area: Rect, confirm: &Confirm) {
    let mut text: Vec<Line<'static>> = Vec::new();
    let title = match confirm {
        Confirm::Finish { unmet } => {
            text.push(Line::styled(
                "Finish with these thresholds NOT met?",
                style(Tone::Warning),
            ));
            for item in unmet {
                text.push(Line::styled(
                    format!("  {}", escape(item)),
                    style(Tone::Removed),
                ));
            }
            text.push(Line::raw(
                "After this no keyholder can sign in this session; the witness signs off.",
            ));
            " Finish? "
        }
        Confirm::Quit => {
            text.push(Line::styled(
                "Quit before the witness signs off?",
                style(Tone::Warning),
            ));
            text.push(Line::raw(
                "The ceremony ends here; the transcript records that it was abandoned.",
            ));
            " Quit? "
        }
    };
    text.push(Line::styled(
        "y yes   n/Esc no, go back",
        style(Tone::Heading),
    ));
    let inner_width = usize::from(area.width.saturating_sub(6)).max(8);
    let wrapped = wrap(text, inner_width);
    let height = u16::try_from(wrapped.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let popup = Rect {
        x: area.x + 2,
        y: area.y + (area.height - height) / 2,
        width: area.width.saturating_sub(4),
        height,
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(style(Tone::Warning))
        .title(title);
    let rows = window(wrapped, usize::from(block.inner(popup).height), 0);
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(rows).block(block), popup);
}
