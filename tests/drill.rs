//! `ceremony-scripts/drill`, the practice ceremony `cargo xtask drill`
//! runs, kept working: it must pass end to end on fresh SoftHSM2 tokens.

use std::process::Command;

use tuf_ceremony_e2e::{binary, python, workspace_root};

#[test]
fn the_practice_ceremony_runs_from_nothing_to_a_rotated_root() {
    let ceremony = binary("ceremony");
    let tuf_repo = binary("tuf-repo");
    assert_eq!(ceremony.parent(), tuf_repo.parent());
    let bin_dir = ceremony.parent().unwrap().to_owned();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let output = Command::new(workspace_root().join("ceremony-scripts/drill"))
        .arg(work.path().join("drill"))
        .env("PATH", path)
        .env("TUF_CEREMONY_PYTHON", python())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "drill failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("root v2: ok — root keys 2/2 of v1, 2/2 of v2"),
        "{stdout}"
    );
    assert!(stdout.contains("python-tuf trusts root v2"), "{stdout}");
    assert!(stdout.ends_with(&format!(
        "drill: the practice ceremony passed; everything is in {}\n",
        work.path().join("drill").display()
    )));
}
