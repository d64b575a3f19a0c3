use time::macros::datetime;
use tuf_metadata::testing::TestKey;
use tuf_metadata::{
    Common, DelegatedRole, DelegatedRoles, Delegations, Expires, Metadata, Object, RoleKeys,
    RoleScope, Signed, TargetFile, Targets,
};

use crate::review::{ReviewLine, Tone, review};

const EXP: &str = "2027-06-01T00:00:00Z";

fn file(length: u64, byte: &str) -> TargetFile {
    TargetFile {
        length,
        hashes: [("sha256".to_owned(), byte.repeat(32))].into(),
        unrecognized: Object::new(),
    }
}

fn targets(version: u64, files: &[(&str, TargetFile)]) -> Targets {
    Targets {
        common: Common {
            spec_version: "1.0.31".into(),
            version,
            expires: Expires::parse(EXP).unwrap(),
        },
        targets: files
            .iter()
            .map(|(p, f)| ((*p).to_owned(), f.clone()))
            .collect(),
        delegations: None,
        unrecognized: Object::new(),
    }
}

fn delegate(mut t: Targets, key: &TestKey, paths: &[&str]) -> Targets {
    t.delegations = Some(Delegations {
        keys: [(key.id(), key.key().clone())].into(),
        roles: DelegatedRoles::Listed(vec![DelegatedRole {
            name: "project-x".into(),
            keys: RoleKeys {
                keyids: vec![key.id()],
                threshold: 1,
                unrecognized: Object::new(),
            },
            terminating: false,
            scope: RoleScope::Paths(paths.iter().map(|p| (*p).to_owned()).collect()),
        }]),
        unrecognized: Object::new(),
    });
    t
}

fn lines(published: Option<&Targets>, staged: Targets) -> Vec<ReviewLine> {
    let now = datetime!(2026-11-22 09:30 UTC);
    let metadata = Metadata::new(Signed::Targets(staged));
    review("staged/targets.json", &metadata, None, published, now)
}

fn texts(lines: &[ReviewLine]) -> Vec<&str> {
    lines.iter().map(|l| l.text.as_str()).collect()
}

fn warnings(lines: &[ReviewLine]) -> Vec<&str> {
    lines
        .iter()
        .filter(|l| l.tone == Tone::Warning)
        .map(|l| l.text.as_str())
        .collect()
}

/// v1 as published: two targets, project-x delegated to alice for its own
/// directory.
fn published() -> Targets {
    let alice = TestKey::from_seed(1);
    delegate(
        targets(
            1,
            &[("app.tgz", file(10, "ab")), ("lib.tgz", file(20, "cd"))],
        ),
        &alice,
        &["project-x/*"],
    )
}

#[test]
fn an_honest_release_reads_as_one_added_target_and_nothing_to_look_at_twice() {
    let alice = TestKey::from_seed(1);
    let staged = delegate(
        targets(
            2,
            &[
                ("app.tgz", file(10, "ab")),
                ("lib.tgz", file(20, "cd")),
                ("new.tgz", file(30, "ef")),
            ],
        ),
        &alice,
        &["project-x/*"],
    );
    let lines = lines(Some(&published()), staged);
    let text = texts(&lines);
    assert!(text.contains(&"version 1 → 2"), "{text:#?}");
    assert!(
        text.contains(&"targets: 1 added, 0 removed, 0 changed (3 listed)"),
        "{text:#?}"
    );
    assert!(text.contains(&"  + added   new.tgz"), "{text:#?}");
    assert!(text.contains(&"      length 30"), "{text:#?}");
    assert!(
        text.contains(&"        efef efef efef efef efef efef efef efef"),
        "{text:#?}"
    );
    assert!(
        text.contains(&"delegations: unchanged (1 key(s), 1 role(s))"),
        "{text:#?}"
    );
    assert!(warnings(&lines).is_empty(), "{:#?}", warnings(&lines));
}

#[test]
fn a_swapped_target_hash_is_a_warning_with_both_digests() {
    let alice = TestKey::from_seed(1);
    let staged = delegate(
        targets(
            2,
            &[("app.tgz", file(10, "66")), ("lib.tgz", file(20, "cd"))],
        ),
        &alice,
        &["project-x/*"],
    );
    let lines = lines(Some(&published()), staged);
    let text = texts(&lines);
    let head = lines
        .iter()
        .find(|l| l.text.starts_with("  ~ changed app.tgz"))
        .unwrap_or_else(|| panic!("{text:#?}"));
    assert_eq!(head.tone, Tone::Warning);
    assert!(
        head.text.contains("WARNING: same path, new content"),
        "{head}"
    );
    let was = text.iter().position(|t| *t == "      sha256 was").unwrap();
    assert_eq!(
        text[was + 1],
        "        abab abab abab abab abab abab abab abab"
    );
    assert_eq!(text[was + 3], "      sha256 now");
    assert_eq!(
        text[was + 4],
        "        6666 6666 6666 6666 6666 6666 6666 6666"
    );
    assert_eq!(lines[was + 4].tone, Tone::Warning);
    assert!(
        text.contains(&"      length 10"),
        "the length is shown even if kept"
    );
}

#[test]
fn a_delegation_re_pointed_to_another_key_with_paths_star_reads_differently() {
    let mallory = TestKey::from_seed(9);
    let staged = delegate(
        targets(
            2,
            &[("app.tgz", file(10, "ab")), ("lib.tgz", file(20, "cd"))],
        ),
        &mallory,
        &["*"],
    );
    let lines = lines(Some(&published()), staged);
    let text = texts(&lines);
    assert!(
        text.contains(&"delegations: keys 1 added, 1 removed; roles 0 added, 0 removed, 1 changed"),
        "{text:#?}"
    );
    let role = lines
        .iter()
        .find(|l| l.text.starts_with("  ~ role project-x"))
        .unwrap_or_else(|| panic!("{text:#?}"));
    assert_eq!(role.tone, Tone::Warning);
    assert!(
        role.text
            .ends_with("WARNING: signed by other keys now, trusted for more paths"),
        "{role}"
    );
    let short = &mallory.id()[..8];
    let warned = warnings(&lines);
    assert!(
        warned.contains(&format!("      + key {short} ed25519").as_str()),
        "{warned:#?}"
    );
    assert!(warned.contains(&"      + paths *"), "{warned:#?}");
    assert!(
        warned.contains(&"      WARNING: \"*\" makes it trusted for every target at its depth"),
        "{warned:#?}"
    );
    assert!(text.contains(&"      - paths project-x/*"), "{text:#?}");
    assert!(
        text.contains(&format!("  + key {short} ed25519").as_str()),
        "{text:#?}"
    );
}

#[test]
fn a_first_targets_shows_everything_as_added() {
    let alice = TestKey::from_seed(1);
    let lines = lines(None, published());
    let text = texts(&lines);
    assert!(
        text.contains(&"version 1 (none published before)"),
        "{text:#?}"
    );
    assert!(
        warnings(&lines)[0].starts_with("a first version"),
        "{text:#?}"
    );
    assert!(
        text.contains(&"targets: 2 added, 0 removed, 0 changed (2 listed)"),
        "{text:#?}"
    );
    assert!(text.contains(&"  + added   app.tgz"));
    assert!(text.contains(&"  + added   lib.tgz"));
    assert!(text.contains(&"  + role project-x: threshold 1 of 1 key(s), terminating false"));
    assert!(text.contains(&format!("      key {} ed25519", &alice.id()[..8]).as_str()));
    assert!(text.contains(&"      paths project-x/*"));
    assert!(!lines.iter().any(|l| l.tone == Tone::Removed), "{text:#?}");
}

#[test]
fn a_later_version_without_its_published_one_says_the_change_cannot_be_shown() {
    let mut staged = published();
    staged.common.version = 5;
    let later = lines(None, staged);
    let warned = warnings(&later);
    assert!(
        warned
            .iter()
            .any(|w| w.starts_with("WARNING: version 5 follows a version the stick does not carry")),
        "{warned:#?}"
    );
    // A real first version has no such line.
    let first = lines(None, published());
    assert!(
        !warnings(&first)
            .iter()
            .any(|w| w.contains("does not carry")),
        "{:#?}",
        texts(&first)
    );
}

#[test]
fn a_version_rollback_is_red() {
    let lines = lines(Some(&published()), {
        let mut t = published();
        t.common.version = 1;
        t
    });
    let rollback = lines
        .iter()
        .find(|l| l.text.starts_with("version 1 → 1"))
        .unwrap_or_else(|| panic!("{:#?}", texts(&lines)));
    assert_eq!(rollback.tone, Tone::Removed);
    assert!(rollback.text.contains("NOT NEWER"), "{rollback}");
}

#[test]
fn target_paths_and_custom_values_from_the_stick_are_escaped() {
    let mut evil = file(1, "00");
    evil.unrecognized
        .insert("custom".into(), tuf_metadata::Value::from("\u{1b}[2Kok"));
    let lines = lines(None, targets(1, &[("a\u{202e}b", evil)]));
    let text = texts(&lines);
    assert!(text.contains(&"  + added   a\\u{202e}b"), "{text:#?}");
    assert!(
        lines
            .iter()
            .all(|l| !l.text.contains('\u{1b}') && !l.text.contains('\u{202e}')),
        "{text:#?}"
    );
}

#[test]
fn hash_bins_handed_to_another_key_and_resized_are_warnings() {
    let (old_key, new_key) = (TestKey::from_seed(3), TestKey::from_seed(4));
    let bins = |key: &TestKey, bit_length: u32| {
        let mut t = targets(1, &[]);
        t.delegations = Some(Delegations {
            keys: [(key.id(), key.key().clone())].into(),
            roles: DelegatedRoles::Succinct(tuf_metadata::SuccinctRoles {
                keys: RoleKeys {
                    keyids: vec![key.id()],
                    threshold: 1,
                    unrecognized: Object::new(),
                },
                bit_length,
                name_prefix: "bin".into(),
            }),
            unrecognized: Object::new(),
        });
        t
    };
    let mut staged = bins(&new_key, 10);
    staged.common.version = 2;
    let lines = lines(Some(&bins(&old_key, 8)), staged);
    let text = texts(&lines);
    let head = lines
        .iter()
        .find(|l| l.text.starts_with("  ~ hash bins bin-*"))
        .unwrap_or_else(|| panic!("{text:#?}"));
    assert_eq!(head.tone, Tone::Warning);
    assert_eq!(
        head.text,
        "  ~ hash bins bin-* (1024 bins, bit_length 10), threshold 1 of 1 key(s): WARNING: signed by other keys now"
    );
    let warned = warnings(&lines);
    assert!(
        warned.contains(&"      bit_length 8 → 10 (256 → 1024 bins)"),
        "{warned:#?}"
    );
    assert!(
        warned.contains(&format!("      + key {} ed25519", &new_key.id()[..8]).as_str()),
        "{warned:#?}"
    );
    assert!(text.contains(&format!("      - key {} ed25519", &old_key.id()[..8]).as_str()));
}
