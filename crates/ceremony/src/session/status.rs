//! What the screens ask the session between steps: the manifest's key
//! sets, whether the stick is still there, what a token already signed,
//! the wrong PINs so far and the thresholds still unmet. Nothing here
//! changes the session.

use super::Session;
use super::state::State;
use crate::media::Loaded;
use crate::review::ReviewLine;

impl Session {
    /// The manifest's key sets beside the appliance's own for loaded file
    /// `index` (empty for a stick without a manifest).
    pub fn key_sets(&self, index: usize) -> &[ReviewLine] {
        self.state
            .stick()
            .and_then(|stick| stick.key_sets.get(index))
            .map_or(&[], Vec::as_slice)
    }

    /// Whether the loaded stick is gone (pulled or unmounted): its
    /// directory, or the directory of a staged file, no longer exists. A
    /// read of the disk, for `update` and the session's own steps.
    pub fn stick_gone(&self) -> bool {
        self.loaded().is_some_and(is_gone)
    }

    /// The files token `index` of the last scan already signed in this
    /// ceremony (by the token's description or by one of the key ids it
    /// shows), each once, so a keyholder does not queue up twice.
    pub fn already_signed(&self, index: usize) -> Vec<String> {
        let Some(choice) = self.tokens().0.get(index) else {
            return Vec::new();
        };
        let ids: Vec<String> = choice.keys.iter().map(|k| k.key_id().to_string()).collect();
        let mut files: Vec<String> = Vec::new();
        for turn in &self.turns {
            for (file, keyids) in &turn.signed {
                let same =
                    turn.token == choice.description || keyids.iter().any(|id| ids.contains(id));
                if same && !files.contains(file) {
                    files.push(file.clone());
                }
            }
        }
        files
    }

    /// On the PIN screen: the wrong PINs typed for this token since it was
    /// chosen, and what the token said the last time (so each attempt
    /// visibly changes the screen).
    pub fn pin_failures(&self) -> (u32, Option<&str>) {
        match &self.state {
            State::Pin { failures, .. } => (failures.count, failures.last.as_deref()),
            _ => (0, None),
        }
    }

    /// Every key set of the loaded stick whose threshold is not met yet:
    /// `file: label counted/threshold`, for the confirmation before `f`.
    pub fn unmet_thresholds(&self) -> Vec<String> {
        let Some(loaded) = self.loaded() else {
            return Vec::new();
        };
        let mut unmet = Vec::new();
        for (index, file) in loaded.files.iter().enumerate() {
            for (label, report) in self.board(index) {
                if !report.is_met() {
                    unmet.push(format!("{}: {label} {report}", file.staged.display));
                }
            }
        }
        unmet
    }
}

/// Whether `loaded`'s stick is gone: its directory, or the directory of a
/// staged file, no longer exists (a pulled stick leaves at most an empty
/// mount point).
pub(super) fn is_gone(loaded: &Loaded) -> bool {
    if !loaded.media.dir.is_dir() {
        return true;
    }
    // Thousands of hash bins share a few directories: each is looked at
    // once per run of files in it (this runs on every key and tick).
    let mut last: Option<&std::path::Path> = None;
    for dir in loaded.files.iter().filter_map(|f| f.staged.path.parent()) {
        if last != Some(dir) {
            if !dir.is_dir() {
                return true;
            }
            last = Some(dir);
        }
    }
    false
}
