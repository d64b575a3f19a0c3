//! The online tool's key sets beside the appliance's own. A bundle's
//! manifest lists, per staged file, the key sets `tuf-repo stage` computed
//! (who it thinks may sign, and how many must). The appliance never trusts
//! them: it computes its own from the trusted root (the threshold board).
//! Showing both, and a WARNING where they differ, tells the witness that
//! the online machine and the appliance disagree about who signs.

use std::collections::BTreeSet;

use tuf_metadata::escape;
use tuf_metadata::signing::KeySet;
use tuf_metadata::threshold::short_id;

use crate::media::{ExpectedKeySet, Layout, Loaded};
use crate::review::{ReviewLine, Tone};

/// [`key_set_lines`] for staged file `index` of `loaded`: its manifest's
/// key sets (when the stick is a bundle) beside `computed`, the key sets
/// of the file's signing plan.
pub fn file_key_set_lines(loaded: &Loaded, index: usize, computed: &[KeySet]) -> Vec<ReviewLine> {
    let listed = loaded
        .files
        .get(index)
        .filter(|_| loaded.media.layout == Layout::Bundle)
        .map(|file| file.staged.expected_key_sets.as_slice());
    key_set_lines(listed, computed)
}

/// The review lines comparing the manifest's key sets (`None`: the stick
/// has no manifest, as in a go-tuf or tuf-on-ci layout, and nothing is
/// shown) with those the appliance computed for the same file. Sets are
/// paired by label; each pair agrees when threshold and key ids (as sets)
/// are equal.
pub fn key_set_lines(manifest: Option<&[ExpectedKeySet]>, computed: &[KeySet]) -> Vec<ReviewLine> {
    let Some(manifest) = manifest else {
        return Vec::new();
    };
    let mut out = vec![line(
        Tone::Heading,
        "key sets: the online tool's manifest beside this appliance's own".to_owned(),
    )];
    for set in computed {
        let own = describe(set.role.threshold, &set.role.keyids);
        match manifest.iter().find(|m| m.label == set.label) {
            Some(listed) if agrees(listed, set) => out.push(line(
                Tone::Plain,
                format!("  = {}: {own}; the manifest agrees", set.label),
            )),
            Some(listed) => out.push(line(
                Tone::Warning,
                format!(
                    "  WARNING {}: the manifest says {}, this appliance computes {own}",
                    set.label,
                    describe(listed.threshold, &listed.keyids)
                ),
            )),
            None => out.push(line(
                Tone::Warning,
                format!(
                    "  WARNING {}: {own} by this appliance; the manifest does not list it",
                    set.label
                ),
            )),
        }
    }
    for listed in manifest
        .iter()
        .filter(|m| !computed.iter().any(|set| set.label == m.label))
    {
        out.push(line(
            Tone::Warning,
            format!(
                "  WARNING {}: {} in the manifest only; this appliance finds no such key set",
                listed.label,
                describe(listed.threshold, &listed.keyids)
            ),
        ));
    }
    if out.iter().any(|l| l.tone == Tone::Warning) {
        out.push(line(
            Tone::Warning,
            "  the online tool and this appliance disagree about who signs: the board counts the appliance's; ask the releaser why".to_owned(),
        ));
    }
    out
}

/// Same threshold, same key ids (order and repeats aside).
fn agrees(listed: &ExpectedKeySet, set: &KeySet) -> bool {
    let theirs: BTreeSet<&str> = listed.keyids.iter().map(String::as_str).collect();
    let ours: BTreeSet<&str> = set.role.keyids.iter().map(String::as_str).collect();
    listed.threshold == set.role.threshold
        && theirs == ours
        && listed.keyids.len() == set.role.keyids.len()
}

/// `2 of 3 key(s) 1df870e4 5a2b…`, ids shortened as on the board.
fn describe(threshold: u64, keyids: &[String]) -> String {
    let ids: Vec<&str> = keyids.iter().map(|id| short_id(id)).collect();
    format!(
        "threshold {threshold} of {} key(s) {}",
        keyids.len(),
        if ids.is_empty() {
            "(none)".to_owned()
        } else {
            ids.join(" ")
        }
    )
}

/// A review line, escaped: labels and key ids come from the stick.
fn line(tone: Tone, text: String) -> ReviewLine {
    ReviewLine {
        tone,
        text: escape(&text).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use bundle_format::Item;
    use tuf_metadata::Metadata;
    use tuf_metadata::signing::SigningPlan;
    use tuf_metadata::testing::{TestKey, file_bytes, root};

    use super::*;
    use crate::test_support::NOW;

    /// A plan for root v2 (keys 1, 2, 4; threshold 2) over root v1 (keys
    /// 1, 2, 3; threshold 2), and the manifest entries `tuf-repo stage`
    /// would write for it.
    fn plan_and_manifest() -> (SigningPlan, Vec<ExpectedKeySet>) {
        let [k1, k2, k3, k4] = [1, 2, 3, 4].map(TestKey::from_seed);
        let mut v1 = Metadata::new(root(1, &[&k1, &k2, &k3], 2, "2027-06-01T00:00:00Z"));
        k1.sign(&mut v1);
        k2.sign(&mut v1);
        let v2 = Metadata::new(root(2, &[&k1, &k2, &k4], 2, "2027-11-22T00:00:00Z"));
        let plan = SigningPlan::new(&file_bytes(&v2), Some(&v1), NOW).unwrap();
        let manifest = Item::from_plan("staged/root.json", &plan).key_sets;
        (plan, manifest)
    }

    fn texts(lines: &[ReviewLine]) -> String {
        lines
            .iter()
            .map(|l| format!("{:?} {}", l.tone, l.text))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn an_honest_manifest_agrees_line_by_line_without_a_warning() {
        let (plan, manifest) = plan_and_manifest();
        let lines = key_set_lines(Some(&manifest), plan.key_sets());
        assert_eq!(lines.len(), 1 + plan.key_sets().len(), "{}", texts(&lines));
        assert!(lines.iter().all(|l| l.tone != Tone::Warning));
        assert!(
            lines[1]
                .text
                .starts_with("  = root v1 (trusted): threshold 2 of 3 key(s) "),
            "{}",
            texts(&lines)
        );
        assert!(lines[1].text.ends_with("; the manifest agrees"));
    }

    #[test]
    fn a_manifest_that_disagrees_is_a_warning_naming_both_sides() {
        let (plan, mut manifest) = plan_and_manifest();
        // The online tool claims a threshold of 1 for the new root, and
        // lists a key set the appliance does not know.
        manifest[1].threshold = 1;
        manifest.push(ExpectedKeySet::new(
            "targets (root v2)",
            1,
            vec!["\u{1b}[2Jab".repeat(8)],
        ));
        let lines = key_set_lines(Some(&manifest), plan.key_sets());
        let all = texts(&lines);
        assert!(
            all.contains(
                "Warning   WARNING root v2 (new): the manifest says threshold 1 of 3 key(s)"
            ),
            "{all}"
        );
        assert!(
            all.contains("this appliance computes threshold 2 of 3 key(s)"),
            "{all}"
        );
        assert!(
            all.contains("WARNING targets (root v2): threshold 1 of 1 key(s) \\u{1b}[2J"),
            "{all}"
        );
        assert!(!all.contains('\u{1b}'), "escaped: {all}");
        assert!(all.contains("disagree about who signs"), "{all}");
    }

    #[test]
    fn a_key_set_missing_from_the_manifest_is_a_warning() {
        let (plan, manifest) = plan_and_manifest();
        let lines = key_set_lines(Some(&manifest[..1]), plan.key_sets());
        let all = texts(&lines);
        assert!(
            all.contains("WARNING root v2 (new): threshold 2 of 3 key(s)")
                && all.contains("the manifest does not list it"),
            "{all}"
        );
        // Swapped key ids with the same threshold disagree too.
        let (plan, mut manifest) = plan_and_manifest();
        manifest[0].keyids[2] = "cd".repeat(32);
        let lines = key_set_lines(Some(&manifest), plan.key_sets());
        assert_eq!(lines[1].tone, Tone::Warning, "{}", texts(&lines));
    }

    #[test]
    fn a_stick_without_a_manifest_shows_no_key_set_lines() {
        let (plan, _) = plan_and_manifest();
        assert!(key_set_lines(None, plan.key_sets()).is_empty());
    }
}
