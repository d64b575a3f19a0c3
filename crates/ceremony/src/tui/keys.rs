//! The one key map: which key does what on which screen, and the words
//! the hint bar shows for it. Dispatch ([`action`]) and the hint bar
//! ([`hints`]) are both read from [`BINDINGS`], so a key cannot work
//! without being shown, nor be shown without working.
//!
//! Ctrl-C is outside the map: it is the terminal's interrupt and leaves
//! from every screen, without the question `q` asks mid-ceremony (the
//! transcript still records the ceremony as abandoned).

use ratatui::crossterm::event::KeyCode;

/// A screen as far as keys are concerned (the transcript overlay and the
/// clock's typing mode take keys differently from the screen under them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// The clock check.
    Clock,
    /// The clock check while network hardware waits for the witness's
    /// acknowledgement (the clock cannot be confirmed yet).
    ClockHardware,
    /// Typing the correct time.
    ClockEditing,
    /// Choosing the stick.
    Media,
    /// Reviewing a staged file.
    Review,
    /// Choosing a token.
    Tokens,
    /// Typing the PIN.
    Pin,
    /// The witness types their name.
    Witness,
    /// Done or stopped: only reading is left.
    End,
    /// The transcript overlay, over any screen.
    Transcript,
    /// A question over the screen (finish with thresholds unmet, quit
    /// mid-ceremony): only yes or no.
    Confirm,
}

impl Screen {
    /// Every screen, for tests and for checking the map.
    pub const ALL: [Screen; 11] = [
        Screen::Clock,
        Screen::ClockHardware,
        Screen::ClockEditing,
        Screen::Media,
        Screen::Review,
        Screen::Tokens,
        Screen::Pin,
        Screen::Witness,
        Screen::End,
        Screen::Transcript,
        Screen::Confirm,
    ];

    /// What typed characters mean here, as the hint bar says it; `None`
    /// where typing is not text.
    pub fn text_entry(self) -> Option<&'static str> {
        match self {
            Screen::ClockEditing => Some("type the time"),
            Screen::Pin => Some("type the PIN"),
            Screen::Witness => Some("type your name"),
            _ => None,
        }
    }
}

/// What a key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Leave the program.
    Quit,
    /// The host clock is right.
    ConfirmHostClock,
    /// Type the correct time instead.
    EditClock,
    /// The witness has seen the network hardware listed.
    AcknowledgeHardware,
    /// Use the typed time.
    ConfirmTypedTime,
    /// Leave the typing mode or the PIN screen without using what was typed.
    Back,
    /// Delete the last typed character.
    Erase,
    /// Highlight the previous row of a list.
    SelectUp,
    /// Highlight the next row of a list.
    SelectDown,
    /// Look again (for sticks or tokens).
    Rescan,
    /// Load the highlighted stick.
    LoadStick,
    /// Show the canonical bytes instead of the change list (or back).
    ToggleRaw,
    /// On a hash bin: the summary of every bin above its review, or only
    /// its own review.
    ToggleBins,
    /// The review of this file was read.
    Acknowledge,
    /// Back to choosing the stick.
    ChangeStick,
    /// Open the transcript overlay.
    OpenTranscript,
    /// Close the transcript overlay.
    CloseTranscript,
    /// Ask for the highlighted token's PIN.
    UseToken,
    /// No more keyholders.
    Finish,
    /// Sign with the typed PIN.
    SignWithPin,
    /// Sign off with the typed name.
    SignOff,
    /// Scroll down one line.
    LineDown,
    /// Scroll up one line.
    LineUp,
    /// Scroll down a page.
    PageDown,
    /// Scroll up a page.
    PageUp,
    /// Scroll to the top.
    Top,
    /// Yes to the question shown.
    Yes,
    /// No to the question shown: back to the screen under it.
    No,
}

/// One row of the key map.
#[derive(Debug)]
pub struct Binding {
    /// The keys and what each does.
    pub keys: &'static [(KeyCode, Action)],
    /// The keys as the hint bar writes them (names every key above).
    pub shown: &'static str,
    /// What the keys do, in the hint bar.
    pub label: &'static str,
    /// Where the binding is active.
    pub screens: &'static [Screen],
}

impl Binding {
    /// The hint bar's words for this binding.
    pub fn hint(&self) -> String {
        format!("{} {}", self.shown, self.label)
    }
}

use Action as A;
use KeyCode as K;
use Screen as S;

const SCROLL_KEYS: &[(KeyCode, Action)] = &[
    (K::Up, A::LineUp),
    (K::Down, A::LineDown),
    (K::Char('j'), A::LineDown),
    (K::Char('k'), A::LineUp),
    (K::PageUp, A::PageUp),
    (K::PageDown, A::PageDown),
    (K::Char(' '), A::PageDown),
    (K::Home, A::Top),
];

/// The key map, in the order the hint bar shows it.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[(K::Up, A::SelectUp), (K::Down, A::SelectDown)],
        shown: "↑↓",
        label: "choose",
        screens: &[S::Media, S::Tokens],
    },
    Binding {
        keys: &[
            (K::Enter, A::ConfirmHostClock),
            (K::Char('y'), A::ConfirmHostClock),
        ],
        shown: "Enter/y",
        label: "the clock is right",
        screens: &[S::Clock],
    },
    Binding {
        keys: &[(K::Char('a'), A::AcknowledgeHardware)],
        shown: "a",
        label: "witness: I have seen the hardware listed",
        screens: &[S::ClockHardware],
    },
    Binding {
        keys: &[(K::Char('e'), A::EditClock)],
        shown: "e",
        label: "type the correct time",
        screens: &[S::Clock],
    },
    Binding {
        keys: &[(K::Backspace, A::Erase)],
        shown: "Backspace",
        label: "erase",
        screens: &[S::ClockEditing, S::Pin, S::Witness],
    },
    Binding {
        keys: &[(K::Enter, A::ConfirmTypedTime)],
        shown: "Enter",
        label: "confirm this time",
        screens: &[S::ClockEditing],
    },
    Binding {
        keys: &[(K::Enter, A::LoadStick)],
        shown: "Enter",
        label: "load",
        screens: &[S::Media],
    },
    Binding {
        keys: &[(K::Enter, A::Acknowledge), (K::Char('a'), A::Acknowledge)],
        shown: "Enter/a",
        label: "reviewed, next",
        screens: &[S::Review],
    },
    Binding {
        keys: &[(K::Char('v'), A::ToggleRaw)],
        shown: "v",
        label: "raw bytes",
        screens: &[S::Review],
    },
    Binding {
        keys: SCROLL_KEYS,
        shown: "↑↓ jk PgUp PgDn Space Home",
        label: "scroll",
        screens: &[S::Clock, S::ClockHardware, S::Review, S::End, S::Transcript],
    },
    Binding {
        keys: &[(K::Enter, A::UseToken)],
        shown: "Enter",
        label: "use token",
        screens: &[S::Tokens],
    },
    Binding {
        keys: &[(K::Char('r'), A::Rescan)],
        shown: "r",
        label: "rescan",
        screens: &[S::Media, S::Review, S::Tokens],
    },
    Binding {
        keys: &[(K::Char('f'), A::Finish)],
        shown: "f",
        label: "finish",
        screens: &[S::Tokens],
    },
    Binding {
        keys: &[(K::Enter, A::SignWithPin)],
        shown: "Enter",
        label: "sign",
        screens: &[S::Pin],
    },
    Binding {
        keys: &[(K::Enter, A::SignOff)],
        shown: "Enter",
        label: "sign off",
        screens: &[S::Witness],
    },
    Binding {
        keys: &[(K::Esc, A::Back)],
        shown: "Esc",
        label: "back",
        screens: &[S::ClockEditing, S::Pin],
    },
    Binding {
        keys: &[(K::Char('m'), A::ChangeStick)],
        shown: "m",
        label: "stick",
        screens: &[S::Review, S::Tokens],
    },
    Binding {
        keys: &[(K::Char('t'), A::OpenTranscript)],
        shown: "t",
        label: "transcript",
        screens: &[S::Review, S::Tokens, S::End],
    },
    Binding {
        keys: &[(K::Char('d'), A::ToggleBins)],
        shown: "d",
        label: "bins summary",
        screens: &[S::Review],
    },
    Binding {
        keys: &[
            (K::Char('j'), A::LineDown),
            (K::Char('k'), A::LineUp),
            (K::PageUp, A::PageUp),
            (K::PageDown, A::PageDown),
            (K::Char(' '), A::PageDown),
            (K::Home, A::Top),
        ],
        shown: "jk PgUp PgDn Space Home",
        label: "scroll board",
        screens: &[S::Tokens],
    },
    Binding {
        keys: &[
            (K::Esc, A::CloseTranscript),
            (K::Char('t'), A::CloseTranscript),
        ],
        shown: "Esc/t",
        label: "close",
        screens: &[S::Transcript],
    },
    Binding {
        keys: &[(K::Char('y'), A::Yes)],
        shown: "y",
        label: "yes",
        screens: &[S::Confirm],
    },
    Binding {
        keys: &[(K::Char('n'), A::No), (K::Esc, A::No)],
        shown: "n/Esc",
        label: "no, go back",
        screens: &[S::Confirm],
    },
    Binding {
        keys: &[(K::Char('q'), A::Quit)],
        shown: "q",
        label: "quit",
        screens: &[S::Clock, S::ClockHardware, S::Media, S::Review, S::Tokens],
    },
    Binding {
        keys: &[(K::Char('q'), A::Quit), (K::Esc, A::Quit)],
        shown: "q/Esc",
        label: "quit",
        screens: &[S::End],
    },
];

/// The binding `code` triggers on `screen`, if any.
pub fn binding(screen: Screen, code: KeyCode) -> Option<(&'static Binding, Action)> {
    BINDINGS
        .iter()
        .filter(|b| b.screens.contains(&screen))
        .find_map(|b| {
            b.keys
                .iter()
                .find(|(key, _)| *key == code)
                .map(|(_, action)| (b, *action))
        })
}

/// What `code` does on `screen`, if anything (typed text aside).
pub fn action(screen: Screen, code: KeyCode) -> Option<Action> {
    binding(screen, code).map(|(_, action)| action)
}

/// The hint bar's items for `screen`: what typing means there, then
/// every binding active there, in the map's order.
pub fn hints(screen: Screen) -> Vec<String> {
    screen
        .text_entry()
        .map(str::to_owned)
        .into_iter()
        .chain(
            BINDINGS
                .iter()
                .filter(|b| b.screens.contains(&screen))
                .map(Binding::hint),
        )
        .collect()
}

/// The hint items packed into rows of at most `width` columns (an item is
/// never split; one wider than a row gets a row of its own).
pub fn hint_rows(screen: Screen, width: usize) -> Vec<String> {
    let mut rows: Vec<String> = Vec::new();
    let mut row = String::new();
    for item in hints(screen) {
        let needed = 2 + item.chars().count();
        if !row.is_empty() && row.chars().count() + needed > width {
            rows.push(std::mem::take(&mut row));
        }
        if row.is_empty() {
            row.push(' ');
        } else {
            row.push_str("  ");
        }
        row.push_str(&item);
    }
    rows.push(row);
    rows
}

/// A key as the hint bar names it.
pub fn key_name(code: KeyCode) -> String {
    match code {
        K::Up => "↑".into(),
        K::Down => "↓".into(),
        K::PageUp => "PgUp".into(),
        K::PageDown => "PgDn".into(),
        K::Home => "Home".into(),
        K::Enter => "Enter".into(),
        K::Esc => "Esc".into(),
        K::Backspace => "Backspace".into(),
        K::Char(' ') => "Space".into(),
        K::Char(c) => c.to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key a test could press: letters, digits and the named keys.
    fn candidate_keys() -> Vec<KeyCode> {
        let mut keys: Vec<KeyCode> = ('a'..='z').chain('0'..='9').map(K::Char).collect();
        keys.extend(" -:".chars().map(K::Char));
        keys.extend([
            K::Enter,
            K::Esc,
            K::Backspace,
            K::Up,
            K::Down,
            K::Left,
            K::Right,
            K::PageUp,
            K::PageDown,
            K::Home,
            K::End,
            K::Tab,
        ]);
        keys
    }

    #[test]
    fn every_key_that_works_on_a_screen_is_named_in_its_hint_bar() {
        for screen in Screen::ALL {
            let bar = hints(screen).join("  ");
            for code in candidate_keys() {
                let Some((binding, _)) = binding(screen, code) else {
                    continue;
                };
                assert!(
                    bar.contains(&binding.hint()),
                    "{screen:?}: {code:?} works but {:?} is not in {bar:?}",
                    binding.hint()
                );
                assert!(
                    binding.shown.contains(&key_name(code)),
                    "{screen:?}: {code:?} works but {:?} does not name it",
                    binding.shown
                );
            }
        }
    }

    #[test]
    fn the_keys_once_missing_from_the_bar_are_shown_where_they_work() {
        assert_eq!(action(S::Review, K::Char('a')), Some(A::Acknowledge));
        assert!(hints(S::Review).contains(&"Enter/a reviewed, next".to_owned()));
        assert_eq!(action(S::Review, K::Char('j')), Some(A::LineDown));
        assert_eq!(action(S::Tokens, K::Char('k')), Some(A::LineUp));
        assert!(hints(S::Review).iter().any(|h| h.contains("jk")));
        assert_eq!(action(S::End, K::Esc), Some(A::Quit));
        assert!(hints(S::End).iter().any(|h| h.contains("Esc")));
        assert_eq!(action(S::Pin, K::Esc), Some(A::Back));
        assert!(hints(S::Pin).contains(&"Esc back".to_owned()));
    }

    #[test]
    fn a_question_takes_only_yes_or_no() {
        assert_eq!(action(S::Confirm, K::Char('y')), Some(A::Yes));
        assert_eq!(action(S::Confirm, K::Char('n')), Some(A::No));
        assert_eq!(action(S::Confirm, K::Esc), Some(A::No));
        assert_eq!(action(S::Confirm, K::Enter), None, "Enter is no answer");
        assert_eq!(action(S::Confirm, K::Char('q')), None);
        assert_eq!(hints(S::Confirm), ["y yes", "n/Esc no, go back"]);
        // A pulled stick is plugged back in and `r` pressed on the review.
        assert_eq!(action(S::Review, K::Char('r')), Some(A::Rescan));
    }

    #[test]
    fn no_key_means_two_things_on_one_screen() {
        for screen in Screen::ALL {
            for code in candidate_keys() {
                let actions: Vec<Action> = BINDINGS
                    .iter()
                    .filter(|b| b.screens.contains(&screen))
                    .flat_map(|b| b.keys.iter().filter(|(k, _)| *k == code))
                    .map(|(_, a)| *a)
                    .collect();
                assert!(actions.len() <= 1, "{screen:?} {code:?}: {actions:?}");
            }
        }
    }

    #[test]
    fn typing_screens_bind_no_printable_key() {
        // A PIN or a name may contain any letter: none may be a command.
        for screen in Screen::ALL.into_iter().filter(|s| s.text_entry().is_some()) {
            for c in (' '..='~').map(K::Char) {
                assert_eq!(action(screen, c), None, "{screen:?} binds {c:?}");
            }
        }
    }

    #[test]
    fn hints_wrap_between_items_not_inside_them() {
        let rows = hint_rows(S::Review, 80);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows.iter().all(|r| r.chars().count() <= 80), "{rows:?}");
        let items: Vec<&str> = rows.iter().map(|r| r.trim_start()).collect();
        assert_eq!(items.join("  "), hints(S::Review).join("  "));
        assert_eq!(hint_rows(S::Review, 160).len(), 1);
        assert_eq!(
            hint_rows(S::Media, 80),
            [" ↑↓ choose  Enter load  r rescan  q quit"]
        );
    }
}
