//! Fuzzes what the appliance reads from a stick, the way `ceremony inspect`
//! does: the layout (`media::recognise`), the bundle manifest, the strict
//! load of the history and staged files (`media::load`), each file's
//! signing plan and its review. The fuzzed files are written into one
//! scratch stick per process (cleared on every input).
//!
//! Properties: reading never writes (the stick is byte-for-byte the same
//! afterwards); every file the appliance would read or write lies inside
//! the stick and every loaded file is a regular file, not a link; every
//! review line is free of terminal control characters; a manifest that
//! parses re-encodes to the same manifest, naming only plain bundle paths.
//!
//! Sections: `file <path>` (the body at that path under the stick),
//! `link <path>` (a symbolic link at that path to the body, which may
//! point at `../outside/root.json`, a valid root outside the stick), and
//! `pinned` (the root pinned on the image).
#![no_main]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use bundle_format::Manifest;
use bundle_format::layout::{HISTORY_DIR, STAGED_DIR, bundle_path_ok};
use ceremony::key_sets::file_key_set_lines;
use ceremony::media::{load, recognise};
use ceremony::review::{ReviewLine, bins_summary, board_lines, review};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;
use time::macros::datetime;
use tuf_ceremony_fuzz::{scratch_dir, sections, seeds, trusted_root, write_seeds_if_asked};
use tuf_metadata::escape;

const NOW: OffsetDateTime = datetime!(2030-01-01 0:00 UTC);

/// The scratch directory: `stick/` (cleared per input) and `outside/`.
fn base() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch_dir();
        std::fs::create_dir(dir.path().join("outside")).expect("outside/");
        std::fs::write(dir.path().join("outside/root.json"), trusted_root()).expect("outside root");
        dir
    })
    .path()
}

/// `path` as a relative path of at most 4 plain names, else `None`.
fn relative(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let plain = p.components().all(|c| matches!(c, Component::Normal(_)));
    (plain && !path.is_empty() && p.components().count() <= 4 && !path.contains('\0'))
        .then(|| p.to_path_buf())
}

/// Every entry under `dir` (links not followed): path → bytes or link target.
fn snapshot(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_symlink() {
            let target = std::fs::read_link(&path).unwrap_or_default();
            out.insert(path, target.into_os_string().into_encoded_bytes());
        } else if kind.is_dir() {
            out.insert(path.clone(), b"<dir>".to_vec());
            snapshot(&path, out);
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
        }
    }
}

/// `path` is inside `stick` by name, with nothing but plain names below it.
fn inside(stick: &Path, path: &Path) {
    let rest = path
        .strip_prefix(stick)
        .unwrap_or_else(|_| panic!("{} is outside the stick", path.display()));
    assert!(
        rest.components().all(|c| matches!(c, Component::Normal(_))),
        "{} leaves the stick",
        path.display()
    );
}

/// `path` and every folder between it and `stick` are real, not links.
fn regular(stick: &Path, path: &Path) {
    let mut at = path.to_path_buf();
    while at.starts_with(stick) && at != stick {
        let meta = std::fs::symlink_metadata(&at).expect("a loaded file exists");
        assert!(
            !meta.file_type().is_symlink(),
            "{} was read through a link",
            at.display()
        );
        at.pop();
    }
}

fn clean(lines: &[ReviewLine]) {
    for line in lines {
        assert!(
            matches!(escape(&line.text), Cow::Borrowed(_)),
            "a control character reaches the screen: {:?}",
            line.text
        );
    }
}

fuzz_target!(init: write_seeds_if_asked(seeds::bundle::seeds), |data: &[u8]| {
    let stick = base().join("stick");
    let _ = std::fs::remove_dir_all(&stick);
    std::fs::create_dir(&stick).expect("the stick");
    let parts = sections(data);
    for s in &parts {
        let Some(rel) = relative(s.arg) else { continue };
        let path = stick.join(&rel);
        if let Some(parent) = path.parent() && std::fs::create_dir_all(parent).is_err() {
            continue;
        }
        match s.name {
            "file" => {
                let _ = std::fs::write(&path, s.body);
            }
            "link" => {
                let target = String::from_utf8_lossy(s.body);
                let _ = std::os::unix::fs::symlink(target.as_ref(), &path);
            }
            _ => {}
        }
        if s.name == "file" && rel.ends_with("manifest.json") && let Ok(m) = Manifest::parse(s.body) {
            assert_eq!(Manifest::parse(&m.to_bytes()).expect("our own manifest parses"), m);
            for item in &m.items {
                assert!(bundle_path_ok(&item.file, &[STAGED_DIR]));
                let others = item.delegator.iter().chain(&item.published);
                assert!(others.into_iter().all(|p| bundle_path_ok(p, &[STAGED_DIR, HISTORY_DIR])));
            }
        }
    }
    let pinned = parts.iter().find(|s| s.name == "pinned").map(|s| s.body);
    let mut before = BTreeMap::new();
    snapshot(&stick, &mut before);

    if let Ok(media) = recognise(&stick) {
        let staged = media.staged.iter().flat_map(|f| [Some(&f.path), f.delegator.as_ref(), f.published.as_ref()]);
        let history = media.history.iter().map(|h| Some(&h.path));
        for path in staged.chain(history).flatten().chain([&media.transcript_path]) {
            inside(&stick, path);
        }
        if let Ok(loaded) = load(&media, pinned, NOW) {
            for file in &loaded.files {
                regular(&stick, &file.staged.path);
            }
            if let Some(summary) = bins_summary(&loaded, NOW) {
                clean(&summary.lines);
            }
            for (index, file) in loaded.files.iter().enumerate() {
                let Ok((_, plan)) = loaded.read_and_plan(index, NOW) else { continue };
                let compare = (plan.role() == "root").then(|| loaded.trusted.as_ref().map(|t| t.metadata())).flatten();
                let published = file.published.as_ref().map(|p| p.metadata.signed());
                clean(&review(&file.staged.display, plan.metadata(), compare, published, NOW));
                clean(&board_lines(&plan.board()));
                clean(&file_key_set_lines(&loaded, index, plan.key_sets()));
            }
        }
    }
    let mut after = BTreeMap::new();
    snapshot(&stick, &mut after);
    assert!(before == after, "reading the stick changed it");
});
