//! The batch writers (`metadata_io::BatchWriter`: temp files, one syncfs,
//! renames, one fsync per folder) keep the crash guarantee: `tuf-repo
//! stage` and `merge` of a 64-bin repository, killed (SIGKILL through
//! strace's `inject`) at a spread of renames, syncfs, fsync and write
//! calls, leave every file the old one or the new one; the next command
//! sweeps the temp files, a re-run reaches exactly the state an unkilled
//! run reaches, and `verify` passes.
//!
//! The kill driver is this file's own small one (`killed_at`): it kills at
//! a spread of occurrences of a few syscalls, which the shared driver of
//! `tests/harness/faults.rs` (every write-related call of a clean run)
//! does not enumerate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use tuf_ceremony_e2e::repo_setup::{self, SNAPSHOT_PASS, TIMESTAMP_PASS};
use tuf_ceremony_e2e::{Run, assert_ok, binary, copy_dir, path_str, snapshot_of, workspace_root};

const BINS_PASS: &str = "bins passphrase";
const RENAMES: &str = "rename,renameat,renameat2";
/// The system calls killed at, each at a spread of occurrences.
const KILL_AT: &[&str] = &[RENAMES, "syncfs", "fsync,fdatasync", "write"];
/// How many kill points a sweep must reach: every spread point of four
/// system calls in the full sweep, most of the sample in CI's.
fn min_kill_points() -> usize {
    if std::env::var_os("FAULTS_FULL").is_some() {
        12
    } else {
        6
    }
}

/// The occurrences: 1, 2, 3, 5, 9, 17, 33, 65, 129, … until the command
/// finishes before the call, with `FAULTS_FULL=1` (`cargo xtask faults`);
/// in the ordinary test run a sample of three (1, 5, 33), so that the
/// suite stays within CI's time.
fn spread() -> Box<dyn Iterator<Item = usize>> {
    let all = std::iter::once(1).chain((0..).map(|n| (1usize << n) + 1));
    if std::env::var_os("FAULTS_FULL").is_some() {
        Box::new(all)
    } else {
        Box::new([1, 5, 33].into_iter())
    }
}

/// `bins_bench` (the batch signer of the e2e tests), built next to tuf-repo.
fn bins_bench() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "-p",
            "tuf-repo",
            "--example",
            "bins_bench",
        ])
        .status()
        .expect("cargo build");
    assert!(status.success(), "building bins_bench failed");
    binary("tuf-repo")
        .parent()
        .unwrap()
        .join("examples/bins_bench")
}

/// `tuf-repo argv` under strace, killed at the `when`-th of `syscalls`;
/// `None` when it finished before that call.
fn killed_at(argv: &[&str], syscalls: &str, when: usize) -> Option<Run> {
    let output = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null"])
        .arg("-e")
        .arg(format!("inject={syscalls}:signal=KILL:when={when}"))
        .arg(binary("tuf-repo"))
        .args(argv)
        .env("TUF_SNAPSHOT_PASSPHRASE", SNAPSHOT_PASS)
        .env("TUF_TIMESTAMP_PASSPHRASE", TIMESTAMP_PASS)
        .output()
        .expect("strace (cargo xtask test installs it)");
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    match run.code {
        Some(0) => None,
        None => Some(run),
        Some(_) => panic!("{argv:?}: {syscalls} #{when}: failed instead of being killed: {run:?}"),
    }
}

/// A temp file of a killed writer: `.<name>.tmp-<pid>`.
fn is_temp(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    name.starts_with('.')
        && name
            .rsplit_once(".tmp-")
            .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// The files under `dir` by relative path, without the repository lock.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    if !dir.exists() {
        return BTreeMap::new();
    }
    snapshot_of(dir)
        .into_iter()
        .map(|(path, bytes)| (path.strip_prefix(dir).unwrap().to_owned(), bytes))
        .filter(|(path, _)| path != Path::new(".tuf-repo.lock"))
        .collect()
}

/// The two trees hold the same files with the same bytes; a failure names
/// the paths that differ, not the bytes.
fn same_files(what: &str, got: &BTreeMap<PathBuf, Vec<u8>>, want: &BTreeMap<PathBuf, Vec<u8>>) {
    // Every file, merge's signature-sources record included: a merge
    // re-run after a kill between two renames attributes the signatures the
    // killed run already put in place, so the record matches too.
    let differ: Vec<String> = got
        .keys()
        .chain(want.keys())
        .filter(|p| got.get(*p) != want.get(*p))
        .map(|p| p.display().to_string())
        .collect();
    assert!(differ.is_empty(), "{what}: these files differ: {differ:?}");
}

/// Every file of `now` is the old or the new one (temp files aside, which
/// are counted); no old file is gone unless the new state drops it.
fn old_or_new(
    what: &str,
    now: &BTreeMap<PathBuf, Vec<u8>>,
    old: &BTreeMap<PathBuf, Vec<u8>>,
    new: &BTreeMap<PathBuf, Vec<u8>>,
) -> usize {
    let mut temps = 0;
    for (path, bytes) in now {
        if is_temp(path) {
            temps += 1;
            continue;
        }
        assert!(
            old.get(path) == Some(bytes) || new.get(path) == Some(bytes),
            "{what}: {} is neither the old file nor the new one",
            path.display()
        );
    }
    for path in old.keys() {
        assert!(
            now.contains_key(path) || !new.contains_key(path),
            "{what}: {} is gone",
            path.display()
        );
    }
    temps
}

/// A published repository with 64 succinct bins delegated to the age key
/// `bins`, staged; the releaser; and a fixed `--at` for reproducible bundles.
fn repository_with_64_bins() -> (repo_setup::Releaser, PathBuf, String) {
    let r = repo_setup::Releaser::new(&[("alice", "ed25519")], true);
    r.onboard_age("bins", BINS_PASS);
    let repo = r.published_v1("alice");
    assert_ok(
        &r.tuf_repo(&[
            "delegate",
            path_str(&repo),
            "--succinct",
            "--bins",
            "64",
            "--name-prefix",
            "bins",
            "--key",
            path_str(&r.path("bins.pub.json")),
            "--threshold",
            "1",
        ]),
        "delegate 64 bins",
    );
    let at = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    (r, repo, at)
}

#[test]
fn a_64_bin_stage_killed_anywhere_leaves_old_or_new_files_and_the_next_stage_is_whole() {
    let (r, base, at) = repository_with_64_bins();
    let stage = |repo: &Path, stick: &Path| -> Vec<String> {
        [
            "stage",
            path_str(repo),
            "--stick",
            path_str(stick),
            "--at",
            &at,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    // The new state, from a run nobody kills.
    // Every copy is called `repo`, as the base: the manifest carries the name.
    let reference = r.path("reference").join("repo");
    copy_dir(&base, &reference);
    let reference_stick = r.path("reference-stick");
    let argv = stage(&reference, &reference_stick);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    assert_ok(&r.tuf_repo(&argv), "stage, not killed");
    let (old, new) = (files(&base), files(&reference));
    let bundle = files(&reference_stick);
    assert!(bundle.len() > 64, "64 bins and more in the bundle");

    let mut killed = 0;
    for syscalls in KILL_AT {
        for when in spread() {
            let repo = r
                .path(&format!("stage-{}-{when}", &syscalls[..5]))
                .join("repo");
            copy_dir(&base, &repo);
            let stick = r.path(&format!("stick-{}-{when}", &syscalls[..5]));
            let what = format!("stage killed at {syscalls} #{when}");
            let argv = stage(&repo, &stick);
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            if killed_at(&argv, syscalls, when).is_none() {
                assert!(when > 1, "{what}: stage makes no such call");
                break;
            }
            killed += 1;
            old_or_new(&what, &files(&repo), &old, &new);
            // On the stick: each file whole or absent; with the manifest
            // (written last), the whole bundle.
            let on_stick = files(&stick);
            for (path, bytes) in on_stick.iter().filter(|(p, _)| !is_temp(p)) {
                assert!(
                    bundle.get(path) == Some(bytes),
                    "{what}: {} is not the bundle's",
                    path.display()
                );
            }
            if on_stick.contains_key(Path::new("tuf-ceremony/manifest.json")) {
                let whole: Vec<&PathBuf> = on_stick.keys().filter(|p| !is_temp(p)).collect();
                assert_eq!(whole, bundle.keys().collect::<Vec<_>>(), "{what}");
            }
            // The next stage, onto a fresh stick, writes the whole bundle.
            let again = r.path(&format!("stick-again-{}-{when}", &syscalls[..5]));
            let argv = stage(&repo, &again);
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            assert_ok(&r.tuf_repo(&argv), &format!("{what}: stage again"));
            same_files(
                &format!("{what}: the re-run's bundle"),
                &files(&again),
                &bundle,
            );
            same_files(
                &format!("{what}: the re-run's repository"),
                &files(&repo),
                &new,
            );
            assert_ok(
                &r.tuf_repo(&["verify", path_str(&repo)]),
                &format!("{what}: verify"),
            );
            for dir in [repo.parent().unwrap(), &stick, &again] {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
    assert!(
        killed >= min_kill_points(),
        "only {killed} kill points were reached"
    );
    eprintln!("stage: {killed} kill points, each file old or new, each re-run whole");
}

#[test]
fn a_64_bin_merge_killed_anywhere_leaves_old_or_new_files_and_the_next_merge_completes_it() {
    let (r, base, at) = repository_with_64_bins();
    let base_s = path_str(&base);
    let stick = r.path("stick-2");
    assert_ok(
        &r.tuf_repo(&["stage", base_s, "--stick", path_str(&stick), "--at", &at]),
        "stage",
    );
    assert_ok(
        &r.sign(
            &stick,
            "staged/targets.json",
            &["--trusted", "repository/1.root.json"],
            "alice",
        ),
        "sign targets",
    );
    let output = Command::new(bins_bench())
        .arg(&stick)
        .arg(r.path("bins.age"))
        .arg(r.path("bins.pass"))
        .output()
        .expect("run bins_bench");
    assert!(output.status.success(), "batch sign: {output:?}");

    let reference = r.path("reference").join("repo");
    copy_dir(&base, &reference);
    let merge = |repo: &Path| -> Vec<String> {
        [
            "merge",
            path_str(repo),
            "--stick",
            path_str(&stick),
            "--at",
            &at,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let argv = merge(&reference);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    assert_ok(&r.tuf_repo(&argv), "merge, not killed");
    let (old, new) = (files(&base), files(&reference));
    let changed = new.iter().filter(|(p, b)| old.get(*p) != Some(*b)).count();
    assert!(
        changed > 64,
        "merge signs every bin: {changed} files changed"
    );

    let mut killed = 0;
    let mut repaired = None;
    for syscalls in KILL_AT {
        for when in spread() {
            let repo = r
                .path(&format!("merge-{}-{when}", &syscalls[..5]))
                .join("repo");
            copy_dir(&base, &repo);
            let what = format!("merge killed at {syscalls} #{when}");
            let argv = merge(&repo);
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            if killed_at(&argv, syscalls, when).is_none() {
                assert!(when > 1, "{what}: merge makes no such call");
                break;
            }
            killed += 1;
            old_or_new(&what, &files(&repo), &old, &new);
            // The next command (verify) sweeps the temp files.
            assert_ok(
                &r.tuf_repo(&["verify", path_str(&repo)]),
                &format!("{what}: verify"),
            );
            let after = files(&repo);
            assert_eq!(old_or_new(&what, &after, &old, &new), 0, "{what}: swept");
            // Merging again completes it, exactly as an unkilled run.
            let argv = merge(&repo);
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            assert_ok(&r.tuf_repo(&argv), &format!("{what}: merge again"));
            same_files(&format!("{what}: after the re-run"), &files(&repo), &new);
            match repaired {
                None => repaired = Some(repo),
                Some(_) => {
                    let _ = std::fs::remove_dir_all(&repo);
                }
            }
        }
    }
    assert!(
        killed >= min_kill_points(),
        "only {killed} kill points were reached"
    );
    // A repaired repository commits, and what it publishes verifies.
    let repo = repaired.expect("at least one kill");
    assert_ok(&r.tuf_repo(&["commit", path_str(&repo)]), "commit");
    let run = r.tuf_repo(&["verify", path_str(&repo)]);
    assert_ok(&run, "verify after the commit");
    assert!(run.stdout.contains("64 delegated roles"), "{run:?}");
    eprintln!("merge: {killed} kill points, each file old or new, each re-run complete");
}
