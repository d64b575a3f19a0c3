//! The terminal UI keyholders and witnesses use: a view over the session
//! (model → message → update → view). `run` owns the terminal; everything
//! else is drawn and tested without one.

pub mod app;
mod clock_view;
pub mod keys;
pub mod model;
mod overlay;
pub mod scroll;
pub mod view;

use std::io;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event};
use ratatui::{DefaultTerminal, Frame};

pub use app::{App, Effect, Message};

/// Runs the UI until the user quits, restoring the terminal afterwards
/// (also on panic: ratatui's `try_init` installs that hook). With
/// `first_frame_only`, returns once the first frame is drawn (the start-up
/// benchmark). Without a terminal (output to a pipe or a file) it is an
/// error, not a panic.
pub fn run(app: &mut App, first_frame_only: bool) -> io::Result<()> {
    let mut terminal = match ratatui::try_init() {
        Ok(terminal) => terminal,
        Err(e) => {
            // Undo whatever part of the set-up succeeded, quietly: the
            // error says what happened.
            let _ = ratatui::try_restore();
            return Err(e);
        }
    };
    let result = if first_frame_only {
        terminal.draw(|frame| view::view(app, frame)).map(drop)
    } else {
        event_loop(&mut terminal, app)
    };
    ratatui::restore();
    result
}

fn event_loop(terminal: &mut DefaultTerminal, app: &mut App) -> io::Result<()> {
    terminal.draw(|frame: &mut Frame| view::view(app, frame))?;
    while !app.quit {
        // A tick once a second (the clock in the header, the network and
        // the file under review are read again), else on input.
        let message = if event::poll(Duration::from_secs(1))? {
            match event::read()? {
                Event::Key(key) => Some(Message::Key(key)),
                Event::Resize(_, _) => None,
                _ => continue,
            }
        } else {
            Some(Message::Tick)
        };
        if let Some(message) = message
            && let Some(Effect::Sign) = app.update(message)
        {
            perform_sign(terminal, app)?;
        }
        terminal.draw(|frame| view::view(app, frame))?;
    }
    Ok(())
}

/// Signs with progress frames drawn between files (the token blocks the
/// thread while it signs, and a YubiKey waits for its touch).
fn perform_sign(terminal: &mut DefaultTerminal, app: &mut App) -> io::Result<()> {
    let mut draw_error = None;
    // The closure cannot borrow `app` (the session is signing): it draws a
    // progress frame from the numbers it is given.
    app.progress = Some(crate::session::Progress { done: 0, total: 0 });
    terminal.draw(|frame| view::view(app, frame))?;
    app.sign(&mut |progress| {
        if let Err(e) = terminal.draw(|frame| view::progress_frame(frame, progress)) {
            draw_error = Some(e);
        }
    });
    match draw_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod bins_tests;
#[cfg(test)]
mod clock_tests;
#[cfg(test)]
mod tests;
