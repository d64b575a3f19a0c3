//! What a keyholder and a witness read before anything is signed: the
//! change from the trusted version to the staged one, spelled out line by
//! line, and the canonical digest to read aloud. One model for the review
//! screen and for `ceremony inspect`, so the two never say different things.

use std::fmt;

use time::OffsetDateTime;
use tuf_metadata::diff::{FieldChange, RootDiff, diff_roots};
use tuf_metadata::threshold::{KeyStatus, ThresholdReport, short_id};
use tuf_metadata::{
    Key, Metadata, Root, Signed, Targets, Value, audit_delegations, audit_root, escape,
};

mod bins;
mod targets;

/// The hash-bin staging the benchmark reviews, for the tests here and in
/// `tui` (one copy of the generator, shared with `benches/review.rs`).
#[cfg(test)]
#[path = "../../benches/support/bin_staging.rs"]
pub(crate) mod bin_staging;

pub use bins::{BINS_NAMED, BinsSummary, bins_summary};

/// How a review line is meant to be read (the screen colours it; the text
/// carries the same meaning in words and signs, so nothing rests on colour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// A heading.
    Heading,
    /// Plain information.
    Plain,
    /// Something added (a key, a permission).
    Added,
    /// Something taken away.
    Removed,
    /// Something the witness must look at twice.
    Warning,
    /// A digest to read aloud.
    Digest,
}

/// One line of the review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewLine {
    /// How to read it.
    pub tone: Tone,
    /// The words.
    pub text: String,
}

impl fmt::Display for ReviewLine {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Every review line is escaped here, once: names, ids and values come
/// from the stick, and the screen and `inspect` print these words as is.
fn line(tone: Tone, text: impl Into<String>) -> ReviewLine {
    let text = text.into();
    ReviewLine {
        tone,
        text: escape(&text).into_owned(),
    }
}

/// A hex digest in groups of four, eight groups per line, for reading
/// aloud: the one layout of every screen, report and command.
pub use tuf_metadata::digest_rows as grouped_digest;

/// Days from `now` to `at`, rounded down, as people say it.
pub fn days_from(now: OffsetDateTime, at: OffsetDateTime) -> String {
    // Rounded to the nearest day: a root made "for 365 days" a minute ago
    // reads as 365, not 364.
    let seconds = (at - now).whole_seconds();
    let days = (seconds + seconds.signum() * 43_200) / 86_400;
    match days {
        d if at < now => format!("EXPIRED {} days ago", -d),
        0 => "expires within a day".to_owned(),
        1 => "in 1 day".to_owned(),
        d => format!("in {d} days"),
    }
}

/// The review of one staged file: `trusted` is the root it is compared
/// with (root N for a staged root N+1), `published` the version in force
/// of a staged targets or delegated role (`None`: never published, every
/// target and delegation is new), `now` the witness-confirmed time.
pub fn review(
    display: &str,
    metadata: &Metadata<Signed>,
    trusted: Option<&Metadata<Root>>,
    published: Option<&Targets>,
    now: OffsetDateTime,
) -> Vec<ReviewLine> {
    let signed = metadata.signed();
    let common = signed.common();
    let mut out = vec![line(
        Tone::Heading,
        format!(
            "{display}: {} version {}",
            signed.type_name(),
            common.version
        ),
    )];
    match (signed, trusted) {
        (Signed::Root(new), Some(old)) => root_change(&mut out, old.signed(), new, now),
        (Signed::Root(new), None) => first_root(&mut out, new, now),
        (Signed::Targets(targets), _) => {
            targets::targets_change(&mut out, published, targets, now);
        }
        (_, _) => out.push(expiry(common.expires.time(), common.expires.as_str(), now)),
    }
    key_rule_lines(&mut out, signed);
    out.push(line(Tone::Heading, "canonical SHA-256 of what is signed:"));
    for row in grouped_digest(&metadata.signed_digest()) {
        out.push(line(Tone::Digest, format!("  {row}")));
    }
    out
}

/// The key-set rules (`tuf_metadata::key_audit`) on the file under review:
/// a key under two ids is why it will not be signed (red); a key in an
/// encoding some clients cannot read is named with those clients.
fn key_rule_lines(out: &mut Vec<ReviewLine>, signed: &Signed) {
    let audit = match signed {
        Signed::Root(root) => audit_root(root),
        Signed::Targets(targets) => match &targets.delegations {
            Some(delegations) => audit_delegations(delegations),
            None => return,
        },
        _ => return,
    };
    for duplicate in &audit.duplicates {
        out.push(line(
            Tone::Removed,
            format!("REFUSED, will not be signed: {duplicate}"),
        ));
    }
    for key in &audit.non_portable {
        out.push(line(Tone::Warning, format!("WARNING: {key}")));
    }
}

fn expiry(at: OffsetDateTime, text: &str, now: OffsetDateTime) -> ReviewLine {
    let tone = if at < now { Tone::Warning } else { Tone::Plain };
    line(tone, format!("expires {text} ({})", days_from(now, at)))
}

fn first_root(out: &mut Vec<ReviewLine>, root: &Root, now: OffsetDateTime) {
    out.push(line(
        Tone::Warning,
        "a first root: no trusted root to compare with; every key below is new",
    ));
    out.push(expiry(
        root.common.expires.time(),
        root.common.expires.as_str(),
        now,
    ));
    for (name, role) in &root.roles {
        out.push(line(
            Tone::Plain,
            format!(
                "{name}: threshold {} of {}",
                role.threshold,
                role.keyids.len()
            ),
        ));
        for id in &role.keyids {
            out.push(line(
                Tone::Added,
                format!("  + {}", key_words(id, root.keys.get(id))),
            ));
        }
    }
}

fn root_change(out: &mut Vec<ReviewLine>, old: &Root, new: &Root, now: OffsetDateTime) {
    let diff: RootDiff = diff_roots(old, new);
    out.push(line(
        Tone::Plain,
        format!("version {} → {}", diff.version.old, diff.version.new),
    ));
    out.push(expiry(
        new.common.expires.time(),
        new.common.expires.as_str(),
        now,
    ));
    if let Some(change) = &diff.expires {
        out.push(line(Tone::Plain, format!("  (was {})", change.old)));
    }
    if let Some(change) = &diff.consistent_snapshot {
        out.push(line(
            Tone::Warning,
            format!(
                "consistent_snapshot {} → {}",
                show_opt(change.old),
                show_opt(change.new)
            ),
        ));
    }
    if let Some(change) = &diff.spec_version {
        out.push(line(
            Tone::Plain,
            format!("spec_version {} → {}", change.old, change.new),
        ));
    }
    for role in &diff.roles {
        let after = new.roles.get(&role.role);
        let summary = match (&role.threshold, after) {
            (Some(change), _) => format!(
                "{}: threshold {} → {} (WARNING: changed) of {} key(s)",
                role.role,
                change.old,
                change.new,
                after.map_or(0, |r| r.keyids.len())
            ),
            (None, Some(r)) => format!(
                "{}: threshold {} of {} key(s){}",
                role.role,
                r.threshold,
                r.keyids.len(),
                if role.is_empty() { ", unchanged" } else { "" }
            ),
            (None, None) => format!("{}: role removed", role.role),
        };
        let tone = if role.threshold.is_some() {
            Tone::Warning
        } else {
            Tone::Plain
        };
        out.push(line(tone, summary));
        for id in &role.added {
            out.push(line(
                Tone::Added,
                format!("  + added   {}", key_words(id, new.keys.get(id))),
            ));
        }
        for id in &role.removed {
            out.push(line(
                Tone::Removed,
                format!("  - removed {}", key_words(id, old.keys.get(id))),
            ));
        }
        for (was, now_id) in &role.reencoded {
            out.push(line(
                Tone::Warning,
                format!(
                    "  ~ same key, new id {} (was {})",
                    short_id(now_id),
                    short_id(was)
                ),
            ));
        }
    }
    for id in &diff.keys_changed {
        out.push(line(
            Tone::Warning,
            format!("key {} keeps its id but its content changes", short_id(id)),
        ));
    }
    for change in &diff.unknown_fields {
        out.push(line(
            Tone::Warning,
            format!("field {}", field_words(change)),
        ));
    }
}

/// `path old → new` for a field this tool does not interpret, values in
/// canonical JSON cut at 40 characters.
fn field_words(change: &FieldChange) -> String {
    let show = |v: &Option<Value>| v.as_ref().map_or("(absent)".to_owned(), show_value);
    format!(
        "{} {} → {}",
        change.path,
        show(&change.old),
        show(&change.new)
    )
}

/// A JSON value as canonical text, cut at 40 characters.
fn show_value(value: &Value) -> String {
    truncate(
        &String::from_utf8_lossy(&tuf_metadata::canonical::encode(value)),
        40,
    )
}

fn show_opt(value: Option<bool>) -> String {
    value.map_or("(absent)".to_owned(), |b| b.to_string())
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// `abcd1234 ecdsa-sha2-nistp256`: a key as a witness compares it.
pub fn key_words(id: &str, key: Option<&Key>) -> String {
    match key {
        Some(key) => format!("{} {}", short_id(id), key.scheme),
        None => format!("{} (no key object!)", short_id(id)),
    }
}

/// The threshold board as lines: each key set, each key's state, and
/// whether the threshold is met.
pub fn board_lines(board: &[(String, ThresholdReport)]) -> Vec<ReviewLine> {
    let mut out = Vec::new();
    for (label, report) in board {
        let met = report.is_met();
        out.push(line(
            if met { Tone::Added } else { Tone::Heading },
            format!(
                "{label}: {} of {} needed — {}",
                report.counted(),
                report.threshold,
                if met { "threshold MET" } else { "not yet met" }
            ),
        ));
        for (id, status) in &report.keys {
            let (tone, words) = match status {
                KeyStatus::Counted => (Tone::Added, "[x] signed, verified".to_owned()),
                KeyStatus::SameKeyAs(other) => (
                    Tone::Warning,
                    format!("[=] same key as {}, counted once", short_id(other)),
                ),
                KeyStatus::Rejected(why) => (Tone::Removed, format!("[!] rejected: {why}")),
                KeyStatus::NotSigned => (Tone::Plain, "[ ] not signed yet".to_owned()),
            };
            out.push(line(tone, format!("  {} {words}", short_id(id))));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn days_are_rounded_the_way_people_count_them() {
        let now = datetime!(2026-11-22 09:30 UTC);
        assert_eq!(
            days_from(
                now,
                now + time::Duration::days(365) - time::Duration::minutes(1)
            ),
            "in 365 days"
        );
        assert_eq!(days_from(now, now + time::Duration::hours(30)), "in 1 day");
        assert_eq!(
            days_from(now, now + time::Duration::hours(5)),
            "expires within a day"
        );
        assert_eq!(
            days_from(now, now - time::Duration::days(3)),
            "EXPIRED 3 days ago"
        );
    }

    #[test]
    fn names_from_the_stick_reach_the_screen_escaped() {
        let board = [(
            "root\u{1b}[2K\u{1b}[32m threshold MET\u{202e}".to_owned(),
            ThresholdReport {
                threshold: 1,
                keys: Vec::new(),
                ignored: Vec::new(),
            },
        )];
        let lines = board_lines(&board);
        assert!(
            lines[0]
                .text
                .starts_with("root\\u{1b}[2K\\u{1b}[32m threshold MET\\u{202e}: "),
            "{}",
            lines[0].text
        );
    }
}

#[cfg(test)]
mod key_rule_tests {
    use super::*;
    use time::macros::datetime;
    use tuf_metadata::testing::{TestKey, root};

    /// One P-256 key (private scalar 0x1234567890abcdef) as PEM and as a hex point.
    const PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEn62Erq4Iu+9/AQAU2CzvagneKwz4\n\
        cbXODE8dE6WaWTQHy0V2nxBw4sJHD+Wxv+YxM8CwzcZOpL83kajsKgf9Tw==\n\
        -----END PUBLIC KEY-----\n";
    const POINT: &str = "049fad84aeae08bbef7f010014d82cef6a09de2b0cf871b5ce0c4f1d13a59a5934\
        07cb45769f1070e2c2470fe5b1bfe63133c0b0cdc64ea4bf3791a8ec2a07fd4f";

    fn carol(keytype: &str, public: &str) -> Key {
        Key {
            keytype: keytype.into(),
            scheme: "ecdsa-sha2-nistp256".into(),
            public: public.into(),
            keyval_rest: Default::default(),
            unrecognized: Default::default(),
        }
    }

    fn with_root_keys(version: u64, keys: &[Key]) -> Root {
        let a = TestKey::from_seed(1);
        let mut root = root(version, &[&a], 1, "2030-01-01T00:00:00Z");
        for key in keys {
            root.roles
                .get_mut("root")
                .unwrap()
                .keyids
                .push(key.key_id());
            root.keys.insert(key.key_id(), key.clone());
        }
        root
    }

    fn lines_of(old: Root, new: Root) -> Vec<ReviewLine> {
        let now = datetime!(2027-01-01 0:00 UTC);
        let staged = Metadata::new(Signed::Root(new));
        review(
            "staged/root.json",
            &staged,
            Some(&Metadata::new(old)),
            None,
            now,
        )
    }

    #[test]
    fn one_key_under_two_ids_is_shown_in_red_as_the_reason_it_is_not_signed() {
        let old = with_root_keys(1, &[]);
        let new = with_root_keys(2, &[carol("ecdsa", PEM), carol("ecdsa-sha2-nistp256", PEM)]);
        let lines = lines_of(old, new);
        let refused: Vec<&ReviewLine> = lines
            .iter()
            .filter(|l| l.text.starts_with("REFUSED"))
            .collect();
        assert_eq!(refused.len(), 1, "{lines:#?}");
        assert_eq!(refused[0].tone, Tone::Removed);
        assert!(refused[0].text.contains("root role"), "{}", refused[0]);
        assert!(refused[0].text.contains("one public key"), "{}", refused[0]);
    }

    #[test]
    fn a_key_re_encoded_as_a_hex_point_is_flagged_with_the_clients_that_cannot_read_it() {
        let old = with_root_keys(1, &[carol("ecdsa", PEM)]);
        let new = with_root_keys(2, &[carol("ecdsa", POINT)]);
        let lines = lines_of(old, new);
        let warning = lines
            .iter()
            .find(|l| l.text.contains("hex point"))
            .unwrap_or_else(|| panic!("{lines:#?}"));
        assert_eq!(warning.tone, Tone::Warning);
        assert!(warning.text.contains("python-tuf"), "{warning}");
        assert!(!lines.iter().any(|l| l.text.starts_with("REFUSED")));
    }

    #[test]
    fn a_portable_rotation_has_no_key_rule_lines() {
        let old = with_root_keys(1, &[]);
        let new = with_root_keys(2, &[carol("ecdsa", PEM)]);
        let lines = lines_of(old, new);
        assert!(
            !lines
                .iter()
                .any(|l| l.text.starts_with("REFUSED") || l.text.starts_with("WARNING: key")),
            "{lines:#?}"
        );
    }
}
