//! The review screen of a staged targets role (the diff against the
//! published version) and of a hash-bin staging (the summary above the
//! bin's own review, `d` for the bin alone), drawn into a `TestBackend`.

use std::path::{Path, PathBuf};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tuf_metadata::testing::{TestKey, file_bytes, root, signed};
use tuf_metadata::{
    Common, DelegatedRole, DelegatedRoles, Delegations, Expires, Metadata, Object, RoleKeys,
    RoleScope, TargetFile, Targets,
};

use super::app::App;
use super::model::ReviewContent;
use super::view::view;
use crate::review::{bin_staging, review};
use crate::session::Stage;
use crate::test_support::{MemoryTokens, NOW, session};

fn press(app: &mut App, code: KeyCode) {
    app.update(KeyEvent::new(code, KeyModifiers::NONE));
}

/// The screen at `width`×`height`, without the message line (it names
/// the temporary directory).
fn render(app: &mut App, width: u16, height: u16) -> String {
    app.message = None;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view(app, frame)).unwrap();
    terminal.backend().to_string()
}

fn snapshot(app: &mut App, name: &str) {
    for (width, height) in [(80, 24), (160, 48)] {
        insta::assert_snapshot!(
            format!("{name}_{width}x{height}"),
            render(app, width, height)
        );
    }
}

/// The app past the clock, with the stick at `stick` loaded.
fn loaded_app(dir: &Path, stick: PathBuf) -> App {
    let mut app = App::new(session(dir, MemoryTokens::default(), false), vec![stick]);
    press(&mut app, KeyCode::Enter); // the clock is right
    press(&mut app, KeyCode::Enter); // load the stick
    app
}

fn target(length: u64, byte: &str) -> TargetFile {
    TargetFile {
        length,
        hashes: [("sha256".to_owned(), byte.repeat(32))].into(),
        unrecognized: Object::new(),
    }
}

/// Targets `version` listing `files`, delegating `project-x` to `key` for `paths`.
fn targets(version: u64, files: &[(&str, &str)], key: &TestKey, paths: &[&str]) -> Targets {
    Targets {
        common: Common {
            spec_version: "1.0.31".into(),
            version,
            expires: Expires::parse("2027-06-01T00:00:00Z").unwrap(),
        },
        targets: files
            .iter()
            .map(|(path, byte)| ((*path).to_owned(), target(1024, byte)))
            .collect(),
        delegations: Some(Delegations {
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
        }),
        unrecognized: Object::new(),
    }
}

/// The hostile targets v2 of issue 13: `app.tgz` swapped, `project-x`
/// handed to another key for every path. Returns the stick and v1.
fn hostile_targets_stick(dir: &Path) -> (PathBuf, Targets) {
    let owner = TestKey::from_seed(1);
    let (alice, mallory) = (TestKey::from_seed(2), TestKey::from_seed(9));
    let stick = dir.join("stick");
    std::fs::create_dir_all(stick.join("repository")).unwrap();
    std::fs::create_dir_all(stick.join("staged")).unwrap();
    let root_v1 = signed(root(1, &[&owner], 1, "2027-06-01T00:00:00Z"), &[&owner]);
    std::fs::write(stick.join("repository/1.root.json"), file_bytes(&root_v1)).unwrap();
    let files = [("app.tgz", "ab"), ("lib.tgz", "cd")];
    let v1 = targets(1, &files, &alice, &["project-x/*"]);
    let v2 = targets(2, &[("app.tgz", "66"), ("lib.tgz", "cd")], &mallory, &["*"]);
    std::fs::write(
        stick.join("staged/targets.json"),
        file_bytes(&Metadata::new(v2)),
    )
    .unwrap();
    (stick, v1)
}

#[test]
fn a_targets_review_shows_the_swapped_hash_and_the_re_pointed_delegation() {
    let dir = tempfile::tempdir().unwrap();
    let (stick, v1) = hostile_targets_stick(dir.path());
    let mut app = loaded_app(dir.path(), stick);
    assert_eq!(app.session.stage(), Stage::Review { file: 0 });
    // The bundle load attaches the published version (LoadedFile::published);
    // this stick has none, so the review is made here as the model makes it
    // with one.
    let cache = app.review.as_mut().expect("a review");
    let content = cache.content.as_mut().expect("the file can be signed");
    let staged = app.session.loaded().unwrap().plan(0, NOW).unwrap();
    *content = ReviewContent {
        lines: review(
            "staged/targets.json",
            staged.metadata(),
            None,
            Some(&v1),
            NOW,
        ),
        raw: content.raw.clone(),
    };
    snapshot(&mut app, "targets_review");
    let screen = render(&mut app, 160, 48);
    assert!(
        screen.contains("~ changed app.tgz: WARNING: same path, new content"),
        "{screen}"
    );
    assert!(
        screen.contains("WARNING: signed by other keys now, trusted for more paths"),
        "{screen}"
    );
    // There is no bins summary for a targets file.
    press(&mut app, KeyCode::Char('d'));
    assert!(!app.bin_detail);
}

#[test]
fn a_first_targets_without_a_published_version_lists_everything_as_added() {
    let dir = tempfile::tempdir().unwrap();
    let (stick, _) = hostile_targets_stick(dir.path());
    let mut app = loaded_app(dir.path(), stick);
    let screen = render(&mut app, 160, 48);
    assert!(
        screen.contains("version 2 (none published before)"),
        "{screen}"
    );
    assert!(screen.contains("+ added   app.tgz"), "{screen}");
    assert!(screen.contains("+ role project-x"), "{screen}");
}

#[test]
fn a_bin_review_leads_with_the_summary_and_d_shows_the_bin_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (stick, _) = bin_staging::bin_staging(dir.path(), 4);
    let mut app = loaded_app(dir.path(), stick);
    assert_eq!(app.session.stage(), Stage::Review { file: 0 });
    let summary = app
        .bins
        .as_ref()
        .and_then(|b| b.for_file(0))
        .expect("a summary");
    assert_eq!(summary.files.len(), 16);
    snapshot(&mut app, "bins_summary");
    press(&mut app, KeyCode::Char('d'));
    assert!(app.bin_detail);
    snapshot(&mut app, "bins_detail");
    let screen = render(&mut app, 160, 48);
    assert!(!screen.contains("hash bins bin-*"), "{screen}");
    // The next bin keeps the choice; d brings the summary back.
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.session.stage(), Stage::Review { file: 1 });
    assert!(render(&mut app, 160, 48).contains("staged/bin-1.json"));
    press(&mut app, KeyCode::Char('d'));
    assert!(render(&mut app, 160, 48).contains("hash bins bin-*: 16 of 16 bins staged"));
}
