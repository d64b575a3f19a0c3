//! The negative corpus (`tests/fixtures/make_attacks.py`): one fixture per
//! known attack on TUF clients, each refused for the right reason by the
//! library and by `tuf-repo verify-root` (exit 1, one `error:` line naming
//! the file), and a control fixture that must be accepted.

use std::path::Path;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tuf_ceremony_e2e::{fixtures, read_json, tuf_repo};
use tuf_metadata::{Limits, Metadata, verify_root_update, verify_trusted_root};

/// The time the fixtures are built for (`REFERENCE_TIME` in `_tufgen.py`).
const AT: &str = "2030-01-01T00:00:00Z";

struct Fixture {
    name: String,
    stage: String,
    error: String,
    mentions: Option<String>,
    /// A shape the strict parser refuses but readers of existing metadata
    /// (`verify-root` among them) accept: docs/metadata-modes.md.
    existing_accepts: bool,
}

fn corpus() -> (std::path::PathBuf, Vec<Fixture>) {
    let dir = fixtures("make_attacks.py");
    let expected = read_json(&dir.join("expected.json"));
    let list = expected
        .as_array()
        .expect("expected.json is a list")
        .iter()
        .map(|e| Fixture {
            name: e["name"].as_str().unwrap().to_owned(),
            stage: e["stage"].as_str().unwrap().to_owned(),
            error: e["error"].as_str().unwrap().to_owned(),
            mentions: e["mentions"].as_str().map(str::to_owned),
            existing_accepts: e["existing"] == "accepts",
        })
        .collect();
    (dir, list)
}

/// The library's verdict on one fixture: `Ok(())` or the error's code and text.
fn library_verdict(dir: &Path, stage: &str) -> Result<(), (String, String)> {
    let at = OffsetDateTime::parse(AT, &Rfc3339).unwrap();
    let candidate_bytes = std::fs::read(dir.join("candidate.json")).unwrap();
    let trusted = Metadata::parse_root(&std::fs::read(dir.join("trusted.root.json")).unwrap())
        .expect("every fixture's trusted root parses");
    verify_trusted_root(&trusted).expect("every fixture's trusted root is self-signed");
    let candidate = Metadata::parse(&candidate_bytes, &Limits::ROOT)
        .map_err(|e| (e.code().to_owned(), e.to_string()))?;
    if stage == "parse" {
        // Parse-stage fixtures must not get this far.
        return Ok(());
    }
    verify_root_update(&trusted, candidate, Some(at))
        .map(|_| ())
        .map_err(|e| (e.code().to_owned(), e.to_string()))
}

/// `tuf-repo verify-root` on a fixture's trusted root and candidate.
fn verify_root_cli(dir: &Path) -> tuf_ceremony_e2e::Run {
    tuf_repo([
        "verify-root".as_ref(),
        "--trusted".as_ref(),
        dir.join("trusted.root.json").as_os_str(),
        "--at".as_ref(),
        AT.as_ref(),
        dir.join("candidate.json").as_os_str(),
    ])
}

#[test]
fn every_attack_is_refused_for_the_right_reason() {
    let (root, fixtures) = corpus();
    assert!(fixtures.len() >= 30, "corpus too small: {}", fixtures.len());
    let mut wrong = Vec::new();
    for f in &fixtures {
        match library_verdict(&root.join(&f.name), &f.stage) {
            Ok(()) => wrong.push(format!("{}: accepted (expected {})", f.name, f.error)),
            Err((code, text)) => {
                let mentions_ok = f
                    .mentions
                    .as_ref()
                    .is_none_or(|m| text.to_lowercase().contains(m));
                if code != f.error || !mentions_ok {
                    wrong.push(format!(
                        "{}: got {code} ({text}), expected {} mentioning {:?}",
                        f.name, f.error, f.mentions
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_control_candidate_is_accepted() {
    let (root, _) = corpus();
    library_verdict(&root.join("control"), "verify-root").expect("control verifies");
    let run = verify_root_cli(&root.join("control"));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout.starts_with("root v2: ok — root keys "),
        "{run:?}"
    );
}

#[test]
fn verify_root_refuses_every_attack_with_one_error_line_naming_the_file() {
    let (root, fixtures) = corpus();
    for f in &fixtures {
        let dir = root.join(&f.name);
        let candidate = dir.join("candidate.json");
        let run = verify_root_cli(&dir);
        if f.existing_accepts {
            // Read as existing metadata, as tuf-js and go-tuf read it.
            assert_eq!(run.code, Some(0), "{}: {run:?}", f.name);
            assert!(run.stdout.starts_with("root v2: ok"), "{}: {run:?}", f.name);
            continue;
        }
        assert_eq!(run.code, Some(1), "{}: {run:?}", f.name);
        assert!(run.stdout.is_empty(), "{}: {run:?}", f.name);
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| !l.starts_with("warning:"))
            .collect();
        assert_eq!(lines.len(), 1, "{}: {run:?}", f.name);
        let expected_prefix = format!("error: {}: ", candidate.display());
        assert!(
            lines[0].starts_with(&expected_prefix),
            "{}: {run:?}",
            f.name
        );
    }
}
