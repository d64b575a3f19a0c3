//! The trusted root and the strict load of everything on the stick. Trust
//! starts at the root pinned on the image (or, without one, the oldest
//! root on the stick, checked against its own keys) and moves forward only
//! by verified rotations, one version at a time. Only then is a staged file
//! shown, with the keys that may sign it taken from that chain.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use tuf_metadata::signing::{Anchor, SigningPlan};
use tuf_metadata::{ChainLimits, Limits, Metadata, Root, RootChain, Signed, Targets};

use super::layout::{HistoryFile, Media, StagedFile, display};
use super::published::{PublishedSet, role_of};
use super::{MAX_HISTORY_BYTES, MediaError};

/// The root everything on the stick is checked against: root N.
#[derive(Clone, Debug)]
pub struct TrustedRoot {
    /// N.
    pub version: u64,
    /// Hex SHA-256 of its canonical signed bytes, for the witness.
    pub canonical_sha256: String,
    /// Its file on the stick.
    pub display: String,
    /// Trust started at the root pinned on the image, not at the stick's word.
    pub pinned: bool,
    /// Expired at the confirmed time: still usable to sign its successor
    /// (that is often why the rotation happens), but worth saying.
    pub expired: bool,
    /// The versions verified, from the start of trust to N.
    pub chain: Vec<u64>,
    metadata: Metadata<Root>,
}

impl TrustedRoot {
    /// The parsed root N, for signing plans and the review diff.
    pub fn metadata(&self) -> &Metadata<Root> {
        &self.metadata
    }
}

/// Where the keys allowed to sign a staged file come from, for screens
/// (the session builds the actual [`Anchor`] through [`Loaded::plan`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnchorKind {
    /// No trusted root: only a first root can be signed, by its own keys.
    None,
    /// The trusted root N.
    Trusted,
    /// The root staged in this ceremony (not yet trusted).
    Staged,
    /// The targets metadata that delegates the role.
    Delegator {
        /// Its file on the stick.
        display: String,
        /// e.g. "targets v3 (staged)".
        label: String,
    },
}

/// A staged file as loaded: what the witness compares and the transcript records.
#[derive(Clone, Debug)]
pub struct LoadedFile {
    /// Where it is and what it is.
    pub staged: StagedFile,
    /// Hex SHA-256 of the file's bytes as read.
    pub bytes_sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Hex SHA-256 of the canonical signed bytes: what signatures cover.
    pub canonical_sha256: String,
    /// The metadata's version.
    pub version: u64,
    /// Its `expires`, as written.
    pub expires: String,
    /// Where its signing keys come from.
    pub anchor: AnchorKind,
    /// The version of this role in force, verified against the trusted
    /// chain: what the review diffs the staged file against. `None` for a
    /// root (the trusted root plays that part) and for a role never
    /// published (a first targets, a new delegation): everything is new.
    pub published: Option<PublishedRole>,
}

/// A role's published version as carried in the bundle (`repository/`).
#[derive(Clone, Debug)]
pub struct PublishedRole {
    /// Its file on the stick.
    pub display: String,
    /// The parsed, verified metadata.
    pub metadata: Metadata<Targets>,
}

#[derive(Clone, Debug)]
struct Delegator {
    path: PathBuf,
    targets: Targets,
    label: String,
}

/// The stick, loaded and checked: ready for review and signing.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The recognised stick (its notes extended by the load).
    pub media: Media,
    /// Root N, if the stick has a history.
    pub trusted: Option<TrustedRoot>,
    /// The staged files, in the media's order.
    pub files: Vec<LoadedFile>,
    history_digests: Vec<(String, String, u64)>,
    staged_root: Option<Metadata<Root>>,
    delegators: Vec<Delegator>,
}

/// Reads a file on the stick: never through a link, never a FIFO, device
/// or socket (refused without blocking), at most `limit` bytes.
fn read(path: &Path, file: &str, limit: usize) -> Result<Vec<u8>, MediaError> {
    metadata_io::read_regular_nofollow(path, limit).map_err(|e| MediaError::read(file, e))
}

fn limit_for(role: &str) -> usize {
    if role == "root" {
        Limits::ROOT.max_bytes
    } else {
        Limits::ANY.max_bytes
    }
}

fn history_dir(media: &Media) -> String {
    media.history.first().map_or_else(
        || "history".to_owned(),
        |h| {
            Path::new(&h.display)
                .parent()
                .map_or_else(String::new, |p| format!("{}/", p.display()))
        },
    )
}

/// Establishes root N from the stick's history (starting at `pinned`, the
/// root built into the image, when given) and strictly loads every staged
/// file. `now` is the time the keyholder confirmed.
pub fn load(
    media: &Media,
    pinned: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<Loaded, MediaError> {
    let mut media = media.clone();
    let mut history = History {
        dir: history_dir(&media),
        bytes: 0,
        digests: Vec::new(),
    };
    let trusted = establish(&mut media, &mut history, pinned, now)?;
    let (files, staged_root, delegators) = load_staged(&media, trusted.as_ref())?;
    Ok(Loaded {
        media,
        trusted,
        files,
        history_digests: history.digests,
        staged_root,
        delegators,
    })
}

/// The history as it is read, one root at a time: what was read so far
/// (for the transcript) and how many bytes, against [`MAX_HISTORY_BYTES`].
struct History {
    dir: String,
    bytes: u64,
    digests: Vec<(String, String, u64)>,
}

impl History {
    /// Reads history root `h`, parsed as existing metadata, its name checked against
    /// its version; only then may the caller read the next one.
    fn read(&mut self, h: &HistoryFile) -> Result<(Metadata<Signed>, Metadata<Root>), MediaError> {
        let bytes = read(&h.path, &h.display, Limits::ROOT.max_bytes)?;
        self.bytes = self.bytes.saturating_add(bytes.len() as u64);
        if self.bytes > MAX_HISTORY_BYTES {
            return Err(MediaError::HistoryTooLarge {
                dir: self.dir.clone(),
                cap: MAX_HISTORY_BYTES,
            });
        }
        let parse_error = |error| MediaError::Parse {
            file: h.display.clone(),
            error,
        };
        let signed = Metadata::parse(&bytes, &Limits::EXISTING_ROOT).map_err(parse_error)?;
        let root = signed
            .clone()
            .into_root()
            .map_err(|e| parse_error(e.into()))?;
        let found = root.signed().common.version;
        if found != h.version {
            return Err(MediaError::HistoryName {
                file: h.display.clone(),
                named: h.version,
                found,
            });
        }
        self.digests.push((
            h.display.clone(),
            tuf_metadata::sha256_hex(&bytes),
            bytes.len() as u64,
        ));
        Ok((signed, root))
    }
}

/// Walks the history one root at a time, each verified before the next is
/// read: memory and work stay bounded by one root, and a forged root stops
/// the walk where it is.
fn establish(
    media: &mut Media,
    history: &mut History,
    pinned: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<Option<TrustedRoot>, MediaError> {
    let files = media.history.clone();
    let (start, root, is_pinned) = match pinned {
        Some(bytes) => {
            let root = Metadata::parse_root_existing(bytes).map_err(MediaError::PinnedInvalid)?;
            let version = root.signed().common.version;
            let digest = root.signed_digest();
            let Some(at) = files.iter().position(|h| h.version == version) else {
                return Err(MediaError::PinnedNotOnStick {
                    dir: history.dir.clone(),
                    version,
                    pinned: digest,
                });
            };
            // Roots older than the pinned one are read (for the
            // transcript) and checked for form, one at a time.
            for h in &files[..at] {
                history.read(h)?;
            }
            let stick = history.read(&files[at])?.1.signed_digest();
            if stick != digest {
                return Err(MediaError::PinnedMismatch {
                    file: files[at].display.clone(),
                    version,
                    stick,
                    pinned: digest,
                });
            }
            (at, root, true)
        }
        None => {
            let Some(first) = files.first() else {
                return Ok(None);
            };
            (0, history.read(first)?.1, false)
        }
    };
    let first = &files[start];
    // The pinned root's signatures are its own (the stick's copy need only
    // have the same signed part), so a failure there names the image.
    let start_file = if is_pinned {
        "root pinned on this image".to_owned()
    } else {
        first.display.clone()
    };
    let (mut chain, _) = RootChain::from_trusted(root, ChainLimits::EXISTING).map_err(|error| {
        MediaError::History {
            file: start_file,
            error,
        }
    })?;
    if !is_pinned && first.version > 1 {
        media.notes.push(format!(
            "trust starts at {} (root v{}), the oldest root on the stick, checked only against its own keys",
            first.display, first.version
        ));
    }
    let mut display = first.display.clone();
    for h in files.iter().skip(start + 1) {
        // A missing file is named as such, before its successor is tried.
        let expected = chain.version().saturating_add(1);
        if h.version != expected {
            return Err(MediaError::HistoryGap {
                dir: history.dir.clone(),
                missing: expected,
                next: h.version,
            });
        }
        let (signed, _) = history.read(h)?;
        chain.advance(signed).map_err(|error| MediaError::History {
            file: h.display.clone(),
            error,
        })?;
        display = h.display.clone();
    }
    // Only the newest root's expiry matters, and even then it may still
    // sign its successor.
    let expired = chain.check_expiry(now).is_err();
    let current = chain.trusted();
    if expired {
        media.notes.push(format!(
            "trusted root v{} expired at {}: it may still sign its successor",
            current.signed().common.version,
            current.signed().common.expires.as_str()
        ));
    }
    Ok(Some(TrustedRoot {
        version: chain.version(),
        canonical_sha256: current.signed_digest(),
        display,
        pinned: is_pinned,
        expired,
        chain: (chain.start_version()..=chain.version()).collect(),
        metadata: chain.into_trusted(),
    }))
}

struct Parsed {
    staged: StagedFile,
    bytes: Vec<u8>,
    metadata: Metadata<Signed>,
}

type StagedLoad = (Vec<LoadedFile>, Option<Metadata<Root>>, Vec<Delegator>);

fn load_staged(media: &Media, trusted: Option<&TrustedRoot>) -> Result<StagedLoad, MediaError> {
    let trusted_version = trusted.map_or(0, |t| t.version);
    let mut parsed = Vec::new();
    let mut staged_root: Option<Metadata<Root>> = None;
    for staged in &media.staged {
        let file = staged.display.clone();
        let limit = limit_for(&staged.role);
        let bytes = read(&staged.path, &file, limit)?;
        let limits = if staged.role == "root" {
            Limits::ROOT
        } else {
            Limits::ANY
        };
        let metadata = Metadata::parse(&bytes, &limits).map_err(|error| MediaError::Parse {
            file: file.clone(),
            error,
        })?;
        let actual = metadata.signed_digest();
        if let Some(manifest) = &staged.expected_sha256
            && *manifest != actual
        {
            return Err(MediaError::DigestMismatch {
                file,
                manifest: manifest.clone(),
                actual,
            });
        }
        check_role(&file, &staged.role, metadata.signed())?;
        if let Signed::Root(root) = metadata.signed() {
            let found = root.common.version;
            if Some(found) != trusted_version.checked_add(1) {
                return Err(MediaError::NotSuccessor {
                    file,
                    found,
                    trusted: trusted_version,
                });
            }
            if staged_root.is_some() {
                return Err(MediaError::WrongRole {
                    file,
                    why: "a second staged root; stage one root per ceremony".into(),
                });
            }
            staged_root = Some(
                metadata
                    .clone()
                    .into_root()
                    .map_err(|e| MediaError::Parse {
                        file: staged.display.clone(),
                        error: e.into(),
                    })?,
            );
        }
        parsed.push(Parsed {
            staged: staged.clone(),
            bytes,
            metadata,
        });
    }

    let mut delegators: Vec<Delegator> = Vec::new();
    let mut files = Vec::new();
    let reader = |path: &Path, file: &str, limit: usize| read(path, file, limit);
    let mut published = PublishedSet::new(&media.dir, trusted.map(|t| t.metadata()), &reader);
    for p in &parsed {
        let anchor = match p.metadata.signed() {
            Signed::Root(_) if trusted.is_some() => AnchorKind::Trusted,
            Signed::Root(_) => AnchorKind::None,
            _ if is_top_level(&p.staged.role) => match (&staged_root, trusted) {
                (Some(_), _) => AnchorKind::Staged,
                (None, Some(_)) => AnchorKind::Trusted,
                (None, None) => AnchorKind::None,
            },
            _ => delegator_for(media, &p.staged, &parsed, &mut delegators, &mut published)?,
        };
        let common = p.metadata.signed().common();
        let before = published_version(&p.staged, common.version, &mut published)?;
        files.push(LoadedFile {
            staged: p.staged.clone(),
            bytes_sha256: tuf_metadata::sha256_hex(&p.bytes),
            size: p.bytes.len() as u64,
            canonical_sha256: p.metadata.signed_digest(),
            version: common.version,
            expires: common.expires.as_str().to_owned(),
            anchor,
            published: before,
        });
    }
    Ok((files, staged_root, delegators))
}

fn is_top_level(role: &str) -> bool {
    matches!(role, "root" | "targets" | "snapshot" | "timestamp")
}

/// The file's `_type` must fit the role it is staged as.
fn check_role(file: &str, role: &str, signed: &Signed) -> Result<(), MediaError> {
    let found = signed.type_name();
    let fits = if is_top_level(role) {
        found == role
    } else {
        found == "targets"
    };
    if fits {
        return Ok(());
    }
    let wanted = if is_top_level(role) { role } else { "targets" };
    Err(MediaError::WrongRole {
        file: file.to_owned(),
        why: format!("staged as role {role:?} but holds {found} metadata (expected {wanted})"),
    })
}

/// The published version of `staged`'s role the manifest names, verified
/// against the trusted chain: it must hold that role, at a version below
/// the staged one.
fn published_version(
    staged: &StagedFile,
    version: u64,
    published: &mut PublishedSet<'_>,
) -> Result<Option<PublishedRole>, MediaError> {
    let Some(path) = &staged.published else {
        return Ok(None);
    };
    let fail = |why: String| MediaError::Published {
        file: staged.display.clone(),
        role: staged.role.clone(),
        why,
    };
    if staged.role == "root" {
        return Err(fail(
            "a root has no published version in the manifest; the trusted history plays that part"
                .into(),
        ));
    }
    let verified = published.verified(path)?;
    if verified.role != staged.role {
        return Err(fail(format!(
            "{} holds role {:?}, not the staged role",
            verified.display, verified.role
        )));
    }
    let before = verified.metadata.signed().common.version;
    if version <= before {
        return Err(fail(format!(
            "staged version {version} is not newer than the published version {before} ({})",
            verified.display
        )));
    }
    Ok(Some(PublishedRole {
        display: verified.display.clone(),
        metadata: verified.metadata.clone(),
    }))
}

fn delegator_for(
    media: &Media,
    staged: &StagedFile,
    parsed: &[Parsed],
    delegators: &mut Vec<Delegator>,
    published: &mut PublishedSet<'_>,
) -> Result<AnchorKind, MediaError> {
    let fail = |why: String| MediaError::Delegator {
        file: staged.display.clone(),
        role: staged.role.clone(),
        why,
    };
    let Some(path) = &staged.delegator else {
        return Err(fail("no delegating targets metadata on the stick".into()));
    };
    let shown = display(&media.dir, path);
    if let Some(d) = delegators.iter().find(|d| d.path == *path) {
        return Ok(AnchorKind::Delegator {
            display: shown,
            label: d.label.clone(),
        });
    }
    // A staged delegator is an item of this ceremony, reviewed itself; a
    // published one is trusted only once it verifies against the trusted
    // chain (`targets` against root N, a delegated role against its own
    // published delegator).
    let (targets, is_staged) = match parsed.iter().find(|p| p.staged.path == *path) {
        Some(p) => (
            p.metadata
                .clone()
                .into_targets()
                .map_err(|e| fail(format!("{shown}: {e}")))?
                .signed()
                .clone(),
            true,
        ),
        None => (published.verified(path)?.metadata.signed().clone(), false),
    };
    let version = targets.common.version;
    // The delegator may itself be a delegated role (`targets → claimed →
    // project-x`): named from its file, `<role>.json` or `<V>.<role>.json`,
    // as `tuf-repo stage` labels it in the manifest.
    let role = role_of(path);
    let label = if is_staged {
        format!("{role} v{version} (staged)")
    } else {
        format!("{role} v{version}")
    };
    delegators.push(Delegator {
        path: path.clone(),
        targets,
        label: label.clone(),
    });
    Ok(AnchorKind::Delegator {
        display: shown,
        label,
    })
}

impl Loaded {
    /// The signing plan for staged file `index`, from its bytes on disk now
    /// (signing rewrites the file) and the keys its anchor names. Refused
    /// if its signed content changed since the load.
    pub fn plan(&self, index: usize, now: OffsetDateTime) -> Result<SigningPlan, MediaError> {
        self.read_and_plan(index, now).map(|(_, plan)| plan)
    }

    /// Like [`Loaded::plan`], also returning the bytes the plan was made
    /// from, so the writer can check the file did not change under it.
    pub fn read_and_plan(
        &self,
        index: usize,
        now: OffsetDateTime,
    ) -> Result<(Vec<u8>, SigningPlan), MediaError> {
        let file = self.files.get(index).ok_or(MediaError::NoSuchFile(index))?;
        let staged = &file.staged;
        let bytes = read(&staged.path, &staged.display, limit_for(&staged.role))?;
        let missing = |what: &str| MediaError::WrongRole {
            file: staged.display.clone(),
            why: format!("{what} is no longer loaded; reload the stick"),
        };
        let anchor = match &file.anchor {
            AnchorKind::None => Anchor::None,
            AnchorKind::Trusted => Anchor::Trusted(
                self.trusted
                    .as_ref()
                    .ok_or_else(|| missing("the trusted root"))?
                    .metadata(),
            ),
            AnchorKind::Staged => Anchor::Staged(
                self.staged_root
                    .as_ref()
                    .ok_or_else(|| missing("the staged root"))?,
            ),
            AnchorKind::Delegator { .. } => {
                let path = staged.delegator.as_ref();
                let d = self
                    .delegators
                    .iter()
                    .find(|d| Some(&d.path) == path)
                    .ok_or_else(|| missing("the delegating targets"))?;
                Anchor::Delegator {
                    targets: &d.targets,
                    label: &d.label,
                    role: &staged.role,
                }
            }
        };
        let plan =
            SigningPlan::with_anchor(&bytes, anchor, now).map_err(|error| MediaError::Plan {
                file: staged.display.clone(),
                error,
            })?;
        let digest = plan.metadata().signed_digest();
        if digest != file.canonical_sha256 {
            return Err(MediaError::Changed {
                file: staged.display.clone(),
                loaded: file.canonical_sha256.clone(),
                now: digest,
            });
        }
        Ok((bytes, plan))
    }

    /// Every file read, history first: (path on the stick, SHA-256 of its
    /// bytes, size), so the transcript records exactly what was reviewed.
    pub fn file_digests(&self) -> Vec<(String, String, u64)> {
        let staged = self
            .files
            .iter()
            .map(|f| (f.staged.display.clone(), f.bytes_sha256.clone(), f.size));
        self.history_digests.iter().cloned().chain(staged).collect()
    }
}

#[cfg(test)]
#[path = "trust_tests.rs"]
mod tests;
