use tuf_metadata::Metadata;

use super::*;
use crate::media::{PublishedRole, load, recognise};
use crate::test_support::NOW;

use crate::review::bin_staging::{CHANGE_EVERY, bin_staging};

/// 256 bins staged, each with its published v1 attached as the bundle
/// load attaches it.
fn loaded_bins(dir: &std::path::Path, with_published: bool) -> Loaded {
    let (stick, published) = bin_staging(dir, 8);
    let mut loaded = load(&recognise(&stick).unwrap(), None, NOW).unwrap();
    assert_eq!(loaded.files.len(), 256);
    if with_published {
        for (file, v1) in loaded.files.iter_mut().zip(published) {
            file.published = Some(PublishedRole {
                display: format!("repository/{}.json", file.staged.role),
                metadata: Metadata::new(v1),
            });
        }
    }
    loaded
}

fn texts(summary: &BinsSummary) -> Vec<&str> {
    summary.lines.iter().map(|l| l.text.as_str()).collect()
}

#[test]
fn the_summary_counts_the_bins_that_change_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = loaded_bins(dir.path(), true);
    let summary = bins_summary(&loaded, NOW).expect("bins are staged");
    assert_eq!(summary.files, (0..256).collect::<Vec<_>>());
    assert!(summary.covers(255) && !summary.covers(256));
    let text = texts(&summary);
    let changing = 256 / CHANGE_EVERY;
    assert_eq!(
        text[0], "hash bins bin-*: 256 of 256 bins staged",
        "{text:#?}"
    );
    assert_eq!(
        text[1],
        format!(
            "  {changing} change, {} only renewed (new version and expiry, same targets)",
            256 - changing
        )
    );
    assert_eq!(
        text[2],
        format!(
            "  targets: {changing} added, 0 removed, 1 changed (WARNING: same path, new content)"
        )
    );
    assert_eq!(summary.lines[2].tone, Tone::Warning);
    assert!(text.contains(&"  bins that change:"), "{text:#?}");
    assert!(
        text.contains(&"    bin-00: +1 -0 ~1 targets, version 1 → 2"),
        "{text:#?}"
    );
    assert!(text.contains(&"    bin-40: +1 -0 ~0 targets, version 1 → 2"));
    assert!(!text.iter().any(|t| t.contains("never published")));
}

#[test]
fn many_changing_bins_are_cut_after_the_first_few() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing published: every bin is new, so every bin changes.
    let loaded = loaded_bins(dir.path(), false);
    let summary = bins_summary(&loaded, NOW).unwrap();
    let text = texts(&summary);
    assert!(
        text.contains(&"  256 never published before: everything in them is new"),
        "{text:#?}"
    );
    let named = text.iter().filter(|t| t.starts_with("    bin-")).count();
    assert_eq!(named, BINS_NAMED);
    assert_eq!(
        *text.last().unwrap(),
        format!("    … and {} more", 256 - BINS_NAMED)
    );
}

#[test]
fn a_bin_rolled_back_is_red_in_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let mut loaded = loaded_bins(dir.path(), true);
    let published = loaded.files[3].published.as_mut().unwrap();
    let mut newer = published.metadata.signed().clone();
    newer.common.version = 7;
    published.metadata = Metadata::new(newer);
    let summary = bins_summary(&loaded, NOW).unwrap();
    let line = summary
        .lines
        .iter()
        .find(|l| l.text.contains("NOT NEWER"))
        .unwrap_or_else(|| panic!("{:#?}", texts(&summary)));
    assert_eq!(line.tone, Tone::Removed);
    assert!(
        summary
            .lines
            .iter()
            .any(|l| l.text.starts_with("    bin-03:") && l.tone == Tone::Removed)
    );
}

#[test]
fn a_stick_without_bins_has_no_summary() {
    let dir = tempfile::tempdir().unwrap();
    let stick = crate::test_support::rotation_stick(dir.path());
    let loaded = load(&recognise(&stick).unwrap(), None, NOW).unwrap();
    assert_eq!(bins_summary(&loaded, NOW), None);
}
