//! Drawing: one function per screen, reading the model only (no file,
//! network or clock is read here: `update` did that). Everything
//! fits 80×24 (long content scrolls); a larger terminal shows more of it.
//! Meaning never rests on colour alone: lines carry `+`, `-`, `[x]`,
//! `WARNING`, `MET` in their words too.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use tuf_metadata::escape;

use crate::review::{ReviewLine, Tone, board_lines, grouped_digest};
use crate::session::SessionError;
use crate::session::{Session, Stage};
use crate::tui::app::{App, Severity, show_time};
use crate::tui::keys;
use crate::tui::model::ReviewCache;
use crate::tui::overlay::{MIN_SIZE, draw_confirm, draw_too_small};
use crate::tui::scroll::{offset_for, window, wrap};

/// Draws the whole screen for the current state.
pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        draw_too_small(app, frame);
        return;
    }
    let hint_rows = keys::hint_rows(app.screen(), usize::from(frame.area().width));
    let [header, body, message, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(2),
        Constraint::Length(u16::try_from(hint_rows.len()).unwrap_or(1)),
    ])
    .areas(frame.area());
    draw_header(app, frame, header);
    if app.show_transcript {
        draw_transcript(app, frame, body);
    } else {
        match app.session.stage() {
            Stage::Clock => super::clock_view::draw_clock(app, frame, body),
            Stage::Media => draw_media(app, frame, body),
            Stage::Review { file } => draw_review(app, frame, body, file),
            Stage::Tokens => draw_tokens(app, frame, body),
            Stage::Pin { token, state } => draw_pin(app, frame, body, token, state),
            Stage::Finished => draw_finished(app, frame, body),
            Stage::Done => draw_done(app, frame, body),
            Stage::Stopped(reason) => draw_stopped(frame, body, &reason),
        }
    }
    if let Some(confirm) = &app.confirm {
        draw_confirm(frame, body, confirm);
    }
    draw_message(app, frame, message);
    let hints: Vec<Line> = hint_rows.into_iter().map(Line::raw).collect();
    frame.render_widget(
        Paragraph::new(hints).style(Style::new().add_modifier(Modifier::REVERSED)),
        footer,
    );
}

pub(super) fn style(tone: Tone) -> Style {
    match tone {
        Tone::Heading => Style::new().add_modifier(Modifier::BOLD),
        Tone::Plain => Style::new(),
        Tone::Added => Style::new().fg(Color::Green),
        Tone::Removed => Style::new().fg(Color::Red),
        Tone::Warning => Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        Tone::Digest => Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
    }
}

/// The session's summary, escaped: it names files and keys from the stick.
/// (ratatui drops control characters but not bidi or zero-width ones, and
/// dropping hides them; every text from a stick is shown escaped instead.)
fn summary_lines(app: &App) -> Vec<Line<'static>> {
    app.session
        .summary()
        .into_iter()
        .map(|l| Line::raw(escape(&l).into_owned()))
        .collect()
}

fn lines(review: &[ReviewLine]) -> Vec<Line<'static>> {
    review
        .iter()
        .map(|l| Line::styled(l.text.clone(), style(l.tone)))
        .collect()
}

/// The DRILL and network badges: on every screen, the too-small one too.
pub(super) fn badges(app: &App) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    if app.session.is_drill() {
        spans.push(Span::styled(
            " DRILL ",
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(short) = &app.network {
        spans.push(Span::styled(
            format!(" {short}: SIGNING REFUSED "),
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
        ));
    }
    spans
}

/// `text` in `area` under a titled block, wrapped to its width and cut to
/// its height from `offset` rows down, with "more above/below" markers.
pub(super) fn scrolled(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    text: Vec<Line<'static>>,
    offset: usize,
) {
    let block = block(title);
    let inner = block.inner(area);
    let rows = window(
        wrap(text, usize::from(inner.width)),
        usize::from(inner.height),
        offset,
    );
    frame.render_widget(Paragraph::new(rows).block(block), area);
}

/// `text` wrapped to `width`, and the row where line `focus` starts then.
fn wrap_keeping(
    text: Vec<Line<'static>>,
    focus: usize,
    width: usize,
) -> (Vec<Line<'static>>, usize) {
    let before = wrap(text[..focus.min(text.len())].to_vec(), width).len();
    (wrap(text, width), before)
}

fn draw_header(app: &App, frame: &mut Frame, area: Rect) {
    let session = &app.session;
    let mut spans = vec![Span::styled(
        " TUF root ceremony ",
        Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
    )];
    spans.extend(badges(app));
    spans.push(Span::raw(format!(" {} ", stage_name(&session.stage()))));
    spans.push(Span::raw(format!(" {}", show_time(app.now))));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn stage_name(stage: &Stage) -> &'static str {
    match stage {
        Stage::Clock => "1 clock",
        Stage::Media => "2 stick",
        Stage::Review { .. } => "3 review",
        Stage::Tokens => "4 sign",
        Stage::Pin { .. } => "4 PIN",
        Stage::Finished => "5 witness",
        Stage::Done => "done",
        Stage::Stopped(_) => "STOPPED",
    }
}

fn block(title: &str) -> Block<'_> {
    Block::new().borders(Borders::TOP).title(title)
}

fn draw_media(app: &App, frame: &mut Frame, area: Rect) {
    let mut text = vec![
        Line::raw("Choose the stick the releaser gave you:"),
        Line::raw(""),
    ];
    if app.media.is_empty() {
        text.push(Line::styled(
            "  no stick found: plug it in and press r",
            style(Tone::Warning),
        ));
    }
    let mut selected_row = 0;
    for (i, dir) in app.media.iter().enumerate() {
        if i == app.selected {
            selected_row = text.len();
        }
        let marker = if i == app.selected { "> " } else { "  " };
        let line = format!("{marker}{}", escape(&dir.display().to_string()));
        text.push(if i == app.selected {
            Line::styled(line, Style::new().add_modifier(Modifier::REVERSED))
        } else {
            Line::raw(line)
        });
    }
    text.push(Line::raw(""));
    text.push(Line::raw(
        "The stick is only read until a signature is written.",
    ));
    let (text, selected_row) = wrap_keeping(text, selected_row, usize::from(area.width));
    let height = usize::from(area.height.saturating_sub(1));
    let offset = offset_for(selected_row, text.len(), height);
    scrolled(frame, area, " Stick ", text, offset);
}

/// The review of file `index` of the loaded stick, or its raw canonical
/// bytes.
fn draw_review(app: &App, frame: &mut Frame, area: Rect, index: usize) {
    let session = &app.session;
    let Some(loaded) = session.loaded() else {
        return;
    };
    let count = loaded.files.len();
    let title = format!(" Review {}/{count} ", index + 1);
    let mut text: Vec<Line<'static>> = Vec::new();
    if app.stick_gone {
        text.push(Line::styled(
            SessionError::StickGone.to_string(),
            style(Tone::Removed).add_modifier(Modifier::BOLD),
        ));
        scrolled(frame, area, &title, text, 0);
        return;
    }
    if let Some(trusted) = &loaded.trusted {
        text.push(Line::raw(format!(
            "trusted: root v{} from {}{}{}",
            trusted.version,
            escape(&trusted.display),
            if trusted.pinned {
                ", PINNED on this image"
            } else {
                ""
            },
            if trusted.expired {
                " (expired: this rotation renews it)"
            } else {
                ""
            },
        )));
        text.push(Line::raw(
            "  its canonical SHA-256 (compare with the published one):",
        ));
        for row in grouped_digest(&trusted.canonical_sha256) {
            text.push(Line::styled(format!("  {row}"), style(Tone::Digest)));
        }
    }
    match app.review.as_ref().filter(|r| r.file == index) {
        Some(ReviewCache {
            content: Ok(content),
            ..
        }) => {
            if app.raw_view {
                text.push(Line::styled(
                    format!("canonical bytes signed ({} bytes):", content.raw.len()),
                    style(Tone::Heading),
                ));
                // Cut at the width, no indent: only the bytes are shown.
                let raw: Vec<char> = escape(&content.raw).chars().collect();
                let width = usize::from(area.width).max(1);
                text.extend(
                    raw.chunks(width)
                        .map(|row| Line::raw(row.iter().collect::<String>())),
                );
            } else {
                text.extend(bins_lines(app, index));
                text.extend(lines(&content.lines));
                text.extend(lines(&board_lines(session.board(index))));
                text.extend(lines(session.key_sets(index)));
            }
        }
        Some(ReviewCache {
            content: Err(why), ..
        }) => text.push(Line::styled(escape(why).into_owned(), style(Tone::Removed))),
        None => {}
    }
    scrolled(frame, area, &title, text, usize::from(app.scroll));
}

/// On a hash bin, unless the keyholder asked for its own review only: the
/// summary of every bin, then a line saying what follows.
fn bins_lines(app: &App, index: usize) -> Vec<Line<'static>> {
    let Some(summary) = app.bins.as_ref().and_then(|b| b.for_file(index)) else {
        return Vec::new();
    };
    if app.bin_detail {
        return vec![Line::raw("(d: the summary of every bin)")];
    }
    let mut text = lines(&summary.lines);
    text.push(Line::styled(
        "this bin's own review (d: it alone):",
        style(Tone::Heading),
    ));
    text
}

fn draw_tokens(app: &App, frame: &mut Frame, area: Rect) {
    let session = &app.session;
    let (tokens, problems) = session.tokens();
    let [board_area, list_area] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    scrolled(
        frame,
        board_area,
        " Threshold board ",
        board_text(session),
        usize::from(app.scroll),
    );
    let mut text = Vec::new();
    let mut selected_row = 0;
    if app.stick_gone {
        text.push(Line::styled(
            SessionError::StickGone.to_string(),
            style(Tone::Removed).add_modifier(Modifier::BOLD),
        ));
    }
    if tokens.is_empty() {
        text.push(Line::styled(
            "no token found: plug in your YubiKey or token and press r",
            style(Tone::Warning),
        ));
    }
    for (i, token) in tokens.iter().enumerate() {
        let marker = if i == app.selected { "> " } else { "  " };
        let pin = token
            .pin_state
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        let signed = session.already_signed(i);
        let done = if signed.is_empty() {
            ""
        } else {
            " [already signed]"
        };
        let line = format!("{marker}{}{pin}{done}", escape(&token.description));
        if i == app.selected {
            selected_row = text.len();
        }
        text.push(if i == app.selected {
            Line::styled(line, Style::new().add_modifier(Modifier::REVERSED))
        } else {
            Line::raw(line)
        });
        text.extend(
            token
                .warnings
                .iter()
                .map(|w| Line::styled(format!("    WARNING: {}", escape(w)), style(Tone::Removed))),
        );
        if !signed.is_empty() {
            text.push(Line::styled(
                format!(
                    "    already signed in this ceremony: {}",
                    escape(&signed.join(", "))
                ),
                style(Tone::Digest),
            ));
        }
        match session.token_roles(i) {
            Some(roles) if roles.is_empty() => text.push(Line::styled(
                "    this token holds no key of this ceremony",
                style(Tone::Warning),
            )),
            Some(roles) => {
                // Wrapped by hand (the list scrolls by line): a keyholder
                // must see every key set their key signs for.
                let width = usize::from(list_area.width).max(20);
                for role in roles {
                    for row in wrap_indented(&role, width, "    ", "      ") {
                        text.push(Line::styled(row, style(Tone::Added)));
                    }
                }
            }
            None if app.stick_gone => text.push(Line::styled(
                "    (what it may sign is shown once the stick is back)",
                style(Tone::Warning),
            )),
            None => text.push(Line::raw("    (keys shown after the PIN)")),
        }
    }
    for problem in problems {
        text.push(Line::styled(
            escape(&format!("  ({problem})")).into_owned(),
            style(Tone::Plain),
        ));
    }
    // Keep the highlighted token and the line under it in view.
    let (text, selected_row) = wrap_keeping(text, selected_row, usize::from(list_area.width));
    let visible = usize::from(list_area.height.saturating_sub(1));
    let offset = offset_for(selected_row, text.len(), visible);
    scrolled(
        frame,
        list_area,
        " Next keyholder: choose your token ",
        text,
        offset,
    );
}

/// Every staged file's board, compactly.
fn board_text(session: &Session) -> Vec<Line<'static>> {
    let mut text = Vec::new();
    let Some(loaded) = session.loaded() else {
        return text;
    };
    for (index, file) in loaded.files.iter().enumerate() {
        text.push(Line::styled(
            format!(
                "{} ({} v{})",
                escape(&file.staged.display),
                escape(&file.staged.role),
                file.version
            ),
            style(Tone::Heading),
        ));
        text.extend(lines(&board_lines(session.board(index))));
    }
    text
}

fn draw_pin(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    token: usize,
    state: Option<signers::PinState>,
) {
    let (tokens, _) = app.session.tokens();
    let description = tokens.get(token).map_or("?", |t| t.description.as_str());
    let mut text = vec![
        Line::raw(format!("Token: {}", escape(description))),
        Line::raw(""),
    ];
    if app.stick_gone {
        text.push(Line::styled(
            format!("{} (Esc first)", SessionError::StickGone),
            style(Tone::Removed).add_modifier(Modifier::BOLD),
        ));
    }
    let (failures, last) = app.session.pin_failures();
    if failures > 0 {
        text.push(Line::styled(
            format!(
                "WRONG PIN {failures} time(s) on this token since it was chosen; last: {}",
                escape(last.unwrap_or("?"))
            ),
            style(Tone::Removed).add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(state) = state {
        let tone = match state {
            signers::PinState::Ok => Tone::Plain,
            _ => Tone::Warning,
        };
        text.push(Line::styled(format!("PIN counter: {state}"), style(tone)));
    }
    text.push(Line::raw(""));
    text.push(Line::raw(
        "Type your PIN (nobody else should see the keyboard):",
    ));
    text.push(Line::styled(
        format!("    {}_", "•".repeat(app.input.chars().count())),
        style(Tone::Heading),
    ));
    text.push(Line::raw(""));
    if let Some(progress) = app.progress {
        text.push(Line::styled(
            format!(
                "Signing {}/{} … if your YubiKey blinks, touch it now",
                progress.done, progress.total
            ),
            style(Tone::Warning),
        ));
    } else {
        text.push(Line::raw(
            "Every file this token's key may sign is signed with this one PIN;",
        ));
        text.push(Line::raw(
            "each signature is verified before it is written.",
        ));
    }
    scrolled(frame, area, " PIN ", text, 0);
}

fn draw_finished(app: &App, frame: &mut Frame, area: Rect) {
    let mut text: Vec<Line> = summary_lines(app);
    text.push(Line::raw(""));
    text.push(Line::raw(
        "Witness: type your name to sign off the transcript:",
    ));
    text.push(Line::styled(
        format!("    {}_", app.input.as_str()),
        style(Tone::Heading),
    ));
    // The name being typed stays in view: the end is shown.
    scrolled(frame, area, " Witness sign-off ", text, usize::MAX);
}

fn draw_done(app: &App, frame: &mut Frame, area: Rect) {
    let mut text: Vec<Line> = Vec::new();
    if let Some(why) = app.session.still_writable() {
        text.push(Line::styled(
            escape(&format!(
                "WARNING: the stick is {why}; unmount it (or shut down) before you pull it"
            ))
            .into_owned(),
            style(Tone::Warning),
        ));
        text.push(Line::raw(""));
    }
    text.extend(summary_lines(app));
    // Each staged file's canonical SHA-256, as its review showed it: the
    // witness copies it and later compares with `tuf-repo digest <file>`.
    if let Some(loaded) = app.session.loaded() {
        for file in &loaded.files {
            text.push(Line::raw(""));
            text.push(Line::raw(
                escape(&format!(
                    "{} ({} v{}): canonical SHA-256 (as reviewed):",
                    file.staged.display, file.staged.role, file.version
                ))
                .into_owned(),
            ));
            for row in grouped_digest(&file.canonical_sha256) {
                text.push(Line::styled(format!("  {row}"), style(Tone::Digest)));
            }
        }
    }
    if let Some(transcript) = app.session.transcript() {
        text.push(Line::raw(""));
        text.push(Line::raw(format!(
            "transcript: {} entries on the stick; last entry's SHA-256:",
            transcript.len()
        )));
        for row in grouped_digest(&transcript.head()) {
            text.push(Line::styled(format!("  {row}"), style(Tone::Digest)));
        }
    }
    scrolled(
        frame,
        area,
        " Ceremony complete: copy this onto the witness sheet ",
        text,
        usize::from(app.scroll),
    );
}

fn draw_stopped(frame: &mut Frame, area: Rect, reason: &str) {
    let text = vec![
        Line::styled(
            "THE CEREMONY CANNOT GO ON",
            style(Tone::Removed).add_modifier(Modifier::BOLD),
        ),
        Line::raw(""),
        Line::styled(escape(reason).into_owned(), style(Tone::Removed)),
        Line::raw(""),
        Line::raw("Nothing was signed or written. Tell the releaser what this says."),
    ];
    frame.render_widget(
        Paragraph::new(text)
            .block(
                Block::new()
                    .borders(Borders::ALL)
                    .border_style(Style::new().fg(Color::Red))
                    .title(" Stopped "),
            )
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn draw_transcript(app: &App, frame: &mut Frame, area: Rect) {
    let text: Vec<Line> = app
        .session
        .transcript_lines()
        .into_iter()
        .map(Line::raw)
        .collect();
    scrolled(frame, area, " Transcript ", text, usize::from(app.scroll));
}

fn draw_message(app: &App, frame: &mut Frame, area: Rect) {
    if let Some((severity, text)) = &app.message {
        let style = match severity {
            Severity::Info => Style::new().fg(Color::Green),
            Severity::Error => Style::new().fg(Color::White).bg(Color::Red),
        };
        let prefix = match severity {
            Severity::Info => "",
            Severity::Error => "error: ",
        };
        frame.render_widget(
            Paragraph::new(format!("{prefix}{}", escape(text)))
                .style(style)
                .wrap(Wrap { trim: true }),
            area,
        );
    }
}

/// The frame shown while a batch is being signed: the session is busy, so
/// this draws from the progress numbers alone.
pub fn progress_frame(frame: &mut Frame, progress: crate::session::Progress) {
    let text = vec![
        Line::raw(""),
        Line::styled(
            format!("Signing file {} of {} …", progress.done + 1, progress.total),
            style(Tone::Heading),
        ),
        Line::raw(""),
        Line::styled(
            "If your YubiKey blinks, touch it now.",
            style(Tone::Warning),
        ),
        Line::raw("Do not pull the stick or the token."),
        Line::raw("Each signature is verified, written, and read back."),
    ];
    frame.render_widget(
        Paragraph::new(text).block(Block::new().borders(Borders::ALL).title(" Signing ")),
        frame.area(),
    );
}

/// `text` broken at spaces into rows of at most `width` characters (a
/// longer word gets a row of its own), the first row starting with
/// `first`, the others with `rest`.
fn wrap_indented(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut rows = Vec::new();
    let mut row = String::from(first);
    let mut has_word = false;
    for word in text.split_whitespace() {
        let needed = word.chars().count() + usize::from(has_word);
        if has_word && row.chars().count() + needed > width {
            rows.push(std::mem::replace(&mut row, String::from(rest)));
            has_word = false;
        }
        if has_word {
            row.push(' ');
        }
        row.push_str(word);
        has_word = true;
    }
    rows.push(row);
    rows
}

#[cfg(test)]
mod wrap_tests {
    use super::wrap_indented;

    #[test]
    fn long_lines_wrap_at_spaces_under_an_indent() {
        let rows = wrap_indented(
            "key 1df870e4 may sign a/b (root v1 (trusted), root v2 (new))",
            30,
            "    ",
            "      ",
        );
        assert_eq!(
            rows,
            [
                "    key 1df870e4 may sign a/b",
                "      (root v1 (trusted), root",
                "      v2 (new))"
            ]
        );
        assert!(rows.iter().all(|r| r.chars().count() <= 30));
        assert_eq!(wrap_indented("short", 30, "  ", "    "), ["  short"]);
    }
}
