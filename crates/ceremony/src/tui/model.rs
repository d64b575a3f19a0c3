//! What `update` works out for the screens, so that drawing only reads:
//! the review of the file on screen (read, parsed and verified once, and
//! again only when the file's bytes change), the hash-bin summary (once
//! per load), and the network state.

use std::path::Path;

use ring::digest::{SHA256, digest};
use time::OffsetDateTime;
use tuf_metadata::Limits;

use crate::media::MediaError;
use crate::review::{BinsSummary, ReviewLine, bins_summary, review};
use crate::safety::OfflineCheck;
use crate::session::{Session, SessionError};

/// The review of one staged file, as last read from the stick.
pub struct ReviewCache {
    /// Which loaded file.
    pub file: usize,
    /// SHA-256 of the file's bytes when this was made (`None`: unreadable),
    /// to notice a file that changes under the review.
    seen: Option<Vec<u8>>,
    /// The review, or why the file cannot be signed.
    pub content: Result<ReviewContent, String>,
}

/// A review that could be made.
pub struct ReviewContent {
    /// The change list and digest, line by line.
    pub lines: Vec<ReviewLine>,
    /// The canonical bytes that would be signed.
    pub raw: String,
}

/// SHA-256 of the file at `path` now, or `None` if it cannot be read.
fn fingerprint(path: &Path) -> Option<Vec<u8>> {
    let bytes = metadata_io::read_regular_nofollow(path, Limits::ANY.max_bytes).ok()?;
    Some(digest(&SHA256, &bytes).as_ref().to_vec())
}

impl ReviewCache {
    /// Reads, parses and verifies loaded file `file` of `session` as of
    /// `now`. `None` when no stick is loaded.
    pub fn make(session: &Session, file: usize, now: OffsetDateTime) -> Option<Self> {
        let loaded = session.loaded()?;
        let item = loaded.files.get(file)?;
        let seen = fingerprint(&item.staged.path);
        let content = match loaded.read_and_plan(file, now) {
            Ok((_, plan)) => {
                let trusted = loaded.trusted.as_ref().map(|t| t.metadata());
                let compare = if plan.role() == "root" { trusted } else { None };
                let published = item.published.as_ref().map(|p| p.metadata.signed());
                Ok(ReviewContent {
                    lines: review(
                        &item.staged.display,
                        plan.metadata(),
                        compare,
                        published,
                        now,
                    ),
                    raw: String::from_utf8_lossy(plan.metadata().signed_bytes()).into_owned(),
                })
            }
            Err(_) if session.stick_gone() => Err(SessionError::StickGone.to_string()),
            // The plan's refusal already says "cannot be signed": once.
            Err(e @ MediaError::Plan { .. }) => Err(e.to_string()),
            Err(e) => Err(format!("cannot be signed: {e}")),
        };
        Some(ReviewCache {
            file,
            seen,
            content,
        })
    }

    /// Whether the file's bytes on the stick differ from those reviewed.
    pub fn is_stale(&self, session: &Session) -> bool {
        let Some(item) = session.loaded().and_then(|l| l.files.get(self.file)) else {
            return true;
        };
        fingerprint(&item.staged.path) != self.seen
    }
}

/// The hash-bin summary of the loaded stick, made once per load: reading
/// thousands of bin files is not done per frame nor per file shown.
pub struct BinsCache {
    /// The summary, `None` when no staged file is a hash bin.
    pub summary: Option<BinsSummary>,
}

impl BinsCache {
    /// Makes the summary when a stick is loaded and none is cached; drops
    /// it when no stick is loaded (so a reload makes a new one).
    pub fn sync(cache: &mut Option<BinsCache>, session: &Session, now: OffsetDateTime) {
        match session.loaded() {
            None => *cache = None,
            Some(loaded) if cache.is_none() => {
                *cache = Some(BinsCache {
                    summary: bins_summary(loaded, now),
                });
            }
            Some(_) => {}
        }
    }

    /// The summary to show above the review of loaded file `index`, if it
    /// is a hash bin.
    pub fn for_file(&self, index: usize) -> Option<&BinsSummary> {
        self.summary.as_ref().filter(|s| s.covers(index))
    }
}

/// The header's network warning: `Some(words)` when signing would be
/// refused (never in a drill).
pub fn network_warning(session: &Session) -> Option<String> {
    if session.is_drill() {
        return None;
    }
    match session.network_state() {
        OfflineCheck::Offline => None,
        OfflineCheck::Online { up } => Some(format!("NETWORK UP ({})", up.join(", "))),
        OfflineCheck::Unknown(_) => Some("NETWORK STATE UNKNOWN".to_owned()),
    }
}
