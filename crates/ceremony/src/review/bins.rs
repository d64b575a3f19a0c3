//! The summary of a hash-bin staging: thousands of bin files (each a
//! delegated role of one succinct delegation) cannot be read one by one,
//! so the review leads with what changes across all of them — bins
//! staged, bins whose targets change, targets added, removed and changed
//! in total, the bins that change — and keeps each bin's own review one
//! key away. Read once per load: the model caches it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use time::OffsetDateTime;
use tuf_metadata::targets_diff::diff_targets;
use tuf_metadata::{DelegatedRoles, Limits, Metadata, SuccinctRoles, Targets};

use super::{ReviewLine, Tone, days_from, line};
use crate::media::Loaded;

/// How many changing bins the summary names before "… and N more".
pub const BINS_NAMED: usize = 8;

/// The summary of the bin files of a load, and which files it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinsSummary {
    /// The summary, line by line.
    pub lines: Vec<ReviewLine>,
    /// Indexes (into `Loaded::files`) of the bin files it covers, ascending.
    pub files: Vec<usize>,
}

impl BinsSummary {
    /// True if loaded file `index` is one of the bins summarised.
    pub fn covers(&self, index: usize) -> bool {
        self.files.binary_search(&index).is_ok()
    }
}

/// One bin's change, for the totals and the list of changing bins.
struct BinChange {
    role: String,
    previous: Option<u64>,
    version: u64,
    added: usize,
    removed: usize,
    changed: usize,
    other: bool,
}

/// The summary of every staged bin of a succinct delegation on the stick,
/// or `None` when nothing staged is a hash bin. Reads each bin file once.
pub fn bins_summary(loaded: &Loaded, now: OffsetDateTime) -> Option<BinsSummary> {
    // Bin files grouped by the targets file that delegates them.
    let mut by_delegator: BTreeMap<&PathBuf, Vec<usize>> = BTreeMap::new();
    for (index, file) in loaded.files.iter().enumerate() {
        if let Some(path) = &file.staged.delegator {
            by_delegator.entry(path).or_default().push(index);
        }
    }
    let mut lines = Vec::new();
    let mut covered = Vec::new();
    for (path, indexes) in by_delegator {
        let Some(bins) = succinct_of(path) else {
            continue;
        };
        let files: Vec<usize> = indexes
            .into_iter()
            .filter(|&i| bins.is_bin(&loaded.files[i].staged.role))
            .collect();
        if files.is_empty() {
            continue;
        }
        summarise(&mut lines, loaded, &bins, &files, now);
        covered.extend(files);
    }
    if covered.is_empty() {
        return None;
    }
    covered.sort_unstable();
    Some(BinsSummary {
        lines,
        files: covered,
    })
}

/// The succinct delegation in the targets file at `path`, if it has one.
/// Unreadable here means no summary: the per-file review says why.
fn succinct_of(path: &std::path::Path) -> Option<SuccinctRoles> {
    let bytes = metadata_io::read_capped(path, Limits::ANY.max_bytes).ok()?;
    let targets = Metadata::parse(&bytes, &Limits::ANY)
        .ok()?
        .into_targets()
        .ok()?;
    match targets.signed().delegations.as_ref().map(|d| &d.roles) {
        Some(DelegatedRoles::Succinct(s)) => Some(s.clone()),
        _ => None,
    }
}

/// The staged bin as loaded, or why it cannot be read now.
fn staged_bin(loaded: &Loaded, index: usize) -> Result<Targets, String> {
    let file = &loaded.files[index];
    let bytes = metadata_io::read_capped(&file.staged.path, Limits::ANY.max_bytes)
        .map_err(|e| e.to_string())?;
    let metadata = Metadata::parse(&bytes, &Limits::ANY).map_err(|e| e.to_string())?;
    if metadata.signed_digest() != file.canonical_sha256 {
        return Err("changed since the stick was loaded; reload it".into());
    }
    let targets = metadata.into_targets().map_err(|e| e.to_string())?;
    Ok(targets.signed().clone())
}

fn summarise(
    out: &mut Vec<ReviewLine>,
    loaded: &Loaded,
    bins: &SuccinctRoles,
    files: &[usize],
    now: OffsetDateTime,
) {
    let mut changes = Vec::new();
    let mut problems = Vec::new();
    let mut renewed = 0;
    let mut earliest: Option<(OffsetDateTime, String)> = None;
    for &index in files {
        let file = &loaded.files[index];
        let staged = match staged_bin(loaded, index) {
            Ok(staged) => staged,
            Err(why) => {
                problems.push(format!("{}: {why}", file.staged.display));
                continue;
            }
        };
        let expires = staged.common.expires.time();
        if earliest.as_ref().is_none_or(|(at, _)| expires < *at) {
            earliest = Some((expires, staged.common.expires.as_str().to_owned()));
        }
        let published = file.published.as_ref().map(|p| p.metadata.signed());
        let diff = diff_targets(published, &staged);
        if diff.only_renewed() && !diff.is_rollback() && diff.previous.is_some() {
            renewed += 1;
            continue;
        }
        let (added, removed, changed) = diff.target_counts();
        changes.push(BinChange {
            role: file.staged.role.clone(),
            previous: diff.previous,
            version: diff.version,
            added,
            removed,
            changed,
            other: diff.delegations.is_some()
                || !diff.unknown_fields.is_empty()
                || diff.spec_version.is_some(),
        });
    }
    out.push(line(
        Tone::Heading,
        format!(
            "hash bins {}-*: {} of {} bins staged",
            bins.name_prefix,
            files.len(),
            bins.bin_count()
        ),
    ));
    out.push(line(
        Tone::Plain,
        format!(
            "  {} change, {renewed} only renewed (new version and expiry, same targets)",
            changes.len()
        ),
    ));
    let total = changes.iter().fold((0, 0, 0), |(a, r, c), b| {
        (a + b.added, r + b.removed, c + b.changed)
    });
    out.push(line(
        if total.2 > 0 {
            Tone::Warning
        } else {
            Tone::Plain
        },
        format!(
            "  targets: {} added, {} removed, {} changed{}",
            total.0,
            total.1,
            total.2,
            if total.2 > 0 {
                " (WARNING: same path, new content)"
            } else {
                ""
            }
        ),
    ));
    if let Some((at, text)) = earliest {
        let tone = if at < now { Tone::Warning } else { Tone::Plain };
        out.push(line(
            tone,
            format!("  earliest expiry {text} ({})", days_from(now, at)),
        ));
    }
    let first = changes.iter().filter(|b| b.previous.is_none()).count();
    if first > 0 {
        out.push(line(
            Tone::Warning,
            format!("  {first} never published before: everything in them is new"),
        ));
    }
    let rollbacks = changes
        .iter()
        .filter(|b| b.previous.is_some_and(|old| b.version <= old))
        .count();
    if rollbacks > 0 {
        out.push(line(
            Tone::Removed,
            format!("  {rollbacks} NOT NEWER than their published version (a rollback or replay)"),
        ));
    }
    for why in &problems {
        out.push(line(Tone::Removed, format!("  cannot be read: {why}")));
    }
    if !changes.is_empty() {
        out.push(line(Tone::Heading, "  bins that change:"));
    }
    for bin in changes.iter().take(BINS_NAMED) {
        let version = match bin.previous {
            Some(old) => format!("version {old} → {}", bin.version),
            None => format!("version {} (first)", bin.version),
        };
        let tone = if bin.previous.is_some_and(|old| bin.version <= old) {
            Tone::Removed
        } else if bin.changed > 0 || bin.other {
            Tone::Warning
        } else {
            Tone::Plain
        };
        out.push(line(
            tone,
            format!(
                "    {}: +{} -{} ~{} targets, {version}{}",
                bin.role,
                bin.added,
                bin.removed,
                bin.changed,
                if bin.other {
                    ", other fields change"
                } else {
                    ""
                }
            ),
        ));
    }
    if changes.len() > BINS_NAMED {
        out.push(line(
            Tone::Plain,
            format!("    … and {} more", changes.len() - BINS_NAMED),
        ));
    }
}

#[cfg(test)]
#[path = "bins_tests.rs"]
mod tests;
