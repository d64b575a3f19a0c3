//! The fault suite (issue 15): `ceremony sign`, `tuf-repo merge`, `commit`,
//! `publish --to <dir>`, `snapshot` and `timestamp --force`, each killed
//! (SIGKILL) or failed (ENOSPC, EIO) at its calls that write: the files it
//! changes are then the old state or the new one (or, where the command
//! left a journal, the next command makes them so), never a torn mix; and
//! the next run of the same command, then `verify` and python-tuf, accept
//! what it leaves.
//!
//! CI runs a spread sample of the fault points; `FAULTS_FULL=1` (what
//! `cargo xtask faults` sets) runs every point with every fault and prints
//! the table docs/testing.md quotes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use tuf_ceremony_e2e::faults::{
    Fault, FaultPoint, Invocation, fault_points, is_leftover, run_with_fault, spread, state_of,
};
use tuf_ceremony_e2e::repo_setup::{Releaser, SNAPSHOT_PASS, TIMESTAMP_PASS};
use tuf_ceremony_e2e::{Run, assert_ok, binary, copy_dir, path_str, python, workspace_root};

/// Set by `cargo xtask faults`: every point, every fault.
const FULL_ENV: &str = "FAULTS_FULL";

type Files = BTreeMap<PathBuf, Vec<u8>>;

/// What a client (or the next signer) checks once the command has run again.
#[derive(Clone, Copy)]
enum Check {
    /// `tuf-repo verify <world>/repo`, and python-tuf refreshing from its
    /// published directory.
    Repository,
    /// python-tuf refreshing from the publication at `<world>/dest`.
    Destination,
    /// python-tuf verifying the staged root on `<world>/stick`.
    StagedRoot,
}

/// One command and the world (a directory tree) it changes.
struct Scenario {
    name: &'static str,
    /// A template copied afresh for every fault point.
    template: PathBuf,
    /// The part of the world whose files must be old or new.
    state: &'static str,
    check: Check,
    command: Box<dyn Fn(&Path) -> Invocation>,
}

/// Where a faulted run left the world.
#[derive(Debug, PartialEq, Eq)]
enum Class {
    Old,
    New,
    /// Every file is its old or its new version, but not all of one.
    Mixed,
    /// A file that is neither its old nor its new version.
    Torn(PathBuf),
}

fn classify(now: &Files, old: &Files, new: &Files) -> Class {
    if now == old {
        return Class::Old;
    }
    if now == new {
        return Class::New;
    }
    for (path, bytes) in now {
        if old.get(path) != Some(bytes) && new.get(path) != Some(bytes) {
            return Class::Torn(path.clone());
        }
    }
    Class::Mixed
}

/// The paths whose bytes differ between `a` and `b` (or are in one only).
fn differences(a: &Files, b: &Files) -> Vec<PathBuf> {
    a.keys()
        .chain(b.keys())
        .filter(|p| a.get(*p) != b.get(*p))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The tally of one scenario, a row of the table.
#[derive(Default)]
struct Tally {
    points: usize,
    old: usize,
    new: usize,
    /// Of `old` + `new`: left with a journal the next command finished or undid.
    by_journal: usize,
    inconsistent: Vec<String>,
    repaired: usize,
    not_repaired: Vec<String>,
}

struct Sweep<'a> {
    r: &'a Releaser,
    tuf_repo: PathBuf,
    at: String,
}

impl Sweep<'_> {
    fn tuf_repo(&self, args: &[&str]) -> Invocation {
        let mut argv: Vec<&str> = args.to_vec();
        argv.extend(["--at", &self.at]);
        Invocation::new(self.tuf_repo.clone(), &argv)
            .env("TUF_SNAPSHOT_PASSPHRASE", SNAPSHOT_PASS)
            .env("TUF_TIMESTAMP_PASSPHRASE", TIMESTAMP_PASS)
            .env("TUF_REPO_LOCK_WAIT_SECS", "2")
    }

    fn verify(&self, repo: &Path) -> Run {
        self.tuf_repo(&["verify", path_str(repo)]).run()
    }

    /// What the client side says of `world` after the re-run: `Err(why)`
    /// when it refuses.
    fn check(&self, check: Check, world: &Path) -> Result<(), String> {
        let (script, args): (&str, Vec<PathBuf>) = match check {
            Check::Repository => {
                let verify = self.verify(&world.join("repo"));
                if verify.code != Some(0) {
                    return Err(format!("verify: {}", verify.stderr.trim()));
                }
                let published = world.join("repo/repository");
                (
                    "python_refresh.py",
                    vec![published.join("1.root.json"), published],
                )
            }
            Check::Destination => {
                let dest = world.join("dest");
                ("python_refresh.py", vec![dest.join("1.root.json"), dest])
            }
            Check::StagedRoot => (
                "python_verify_root.py",
                vec![world.join("stick/tuf-ceremony/staged/root.json")],
            ),
        };
        let output = Command::new(python())
            .arg(workspace_root().join("tests/fixtures").join(script))
            .args(&args)
            .output()
            .expect("run python");
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "python-tuf refuses: {}{}",
                String::from_utf8_lossy(&output.stdout).trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }
}

/// A run may fail, but as the commands promise: exit 0 or 1, one `error:`
/// line when 1, never a panic.
fn well_behaved(run: &Run) -> Result<(), String> {
    let errors = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .count();
    if run.stderr.contains("panicked") || !matches!(run.code, Some(0 | 1)) {
        return Err(format!("exit {:?}: {}", run.code, run.stderr.trim()));
    }
    if run.code == Some(1) && errors != 1 {
        return Err(format!("{errors} error lines: {}", run.stderr.trim()));
    }
    Ok(())
}

/// The faults to inject, and where: every point with every fault in the
/// full sweep; a spread of points with kills and both errors otherwise.
fn plan(points: &[FaultPoint], full: bool) -> Vec<(FaultPoint, Fault)> {
    let faults = [Fault::Kill, Fault::Error("ENOSPC"), Fault::Error("EIO")];
    if full {
        return points
            .iter()
            .flat_map(|p| faults.iter().map(move |f| (p.clone(), *f)))
            .collect();
    }
    let cycle = [
        Fault::Kill,
        Fault::Error("ENOSPC"),
        Fault::Kill,
        Fault::Error("EIO"),
    ];
    spread(points, 4)
        .into_iter()
        .zip(cycle.iter().cycle())
        .map(|(p, f)| (p, *f))
        .collect()
}

fn run_scenario(sweep: &Sweep, scenario: &Scenario, scratch: &Path, full: bool) -> Tally {
    let name = scenario.name.replace(' ', "-");
    let state = |world: &Path| state_of(&world.join(scenario.state));
    let old = state(&scenario.template);

    // A clean traced run finds the points and makes the new state; a
    // second, untraced, shows the new state does not depend on the run.
    let clean = scratch.join(format!("{name}-clean"));
    copy_dir(&scenario.template, &clean);
    let points = fault_points(&(scenario.command)(&clean), &[&clean]);
    let new = state(&clean);
    assert_ne!(old, new, "{}: the clean run changed nothing", scenario.name);
    let again = scratch.join(format!("{name}-again"));
    copy_dir(&scenario.template, &again);
    assert_ok(&(scenario.command)(&again).run(), scenario.name);
    assert_eq!(
        state(&again),
        new,
        "{}: two clean runs differ",
        scenario.name
    );
    assert!(!points.is_empty(), "{}: no write calls", scenario.name);
    eprintln!(
        "{}: {} write calls in a clean run",
        scenario.name,
        points.len()
    );

    let mut tally = Tally::default();
    // `FAULTS_POINT=fsync#10` runs only that call's faults (to debug one).
    let only_point = std::env::var("FAULTS_POINT").ok();
    let mut planned = plan(&points, full);
    if let Some(only) = &only_point {
        planned = points
            .iter()
            .filter(|p| &format!("{}#{}", p.syscall, p.when) == only)
            .flat_map(|p| plan(std::slice::from_ref(p), true))
            .collect();
    }
    for (i, (point, fault)) in planned.into_iter().enumerate() {
        let what = format!(
            "{} {} at {} #{} ({})",
            scenario.name,
            fault.label(),
            point.syscall,
            point.when,
            point.call
        );
        let world = scratch.join(format!("{name}-{i}"));
        copy_dir(&scenario.template, &world);
        let command = (scenario.command)(&world);
        let faulted = run_with_fault(&command, &point.syscall, point.when, fault);
        tally.points += 1;
        if fault == Fault::Kill && faulted.code.is_some() {
            tally
                .inconsistent
                .push(format!("{what}: not killed: {faulted:?}"));
            continue;
        }
        if fault != Fault::Kill
            && let Err(why) = well_behaved(&faulted)
        {
            tally.inconsistent.push(format!("{what}: {why}"));
            continue;
        }
        // A journal left in the repository is the transaction's to finish
        // (past its commit point) or undo (before it): the next command
        // does that first, so the state is judged after it.
        let journal = world.join("repo/.tuf-repo-journal");
        if journal.exists() {
            let next = sweep.verify(&world.join("repo"));
            tally.by_journal += 1;
            if journal.exists() {
                tally.inconsistent.push(format!(
                    "{what}: the journal survives the next command: {next:?}"
                ));
                continue;
            }
        }
        let mut class = classify(&state(&world), &old, &new);
        if class == Class::Mixed && matches!(scenario.check, Check::Destination) {
            // Files are put in the order a client reads them backwards:
            // the destination serves whichever timestamp.json it has.
            if let Err(why) = sweep.check(Check::Destination, &world) {
                tally
                    .inconsistent
                    .push(format!("{what}: mid-way publication: {why}"));
                continue;
            }
            let ts = Path::new("timestamp.json");
            class = if state(&world).get(ts) == new.get(ts) {
                Class::New
            } else {
                Class::Old
            };
        }
        match class {
            Class::Old => tally.old += 1,
            Class::New => tally.new += 1,
            other => {
                tally.inconsistent.push(format!("{what}: {other:?}"));
                continue;
            }
        }

        // The same command again, then the client side.
        let ended_old = class == Class::Old;
        let rerun = command.run();
        let repaired = well_behaved(&rerun)
            .and_then(|()| {
                if ended_old && rerun.code != Some(0) {
                    return Err(format!("re-run refused: {}", rerun.stderr.trim()));
                }
                let now = state(&world);
                if ended_old && now != new {
                    return Err(format!(
                        "the re-run did not reach the new state: {:?} differ; faulted run: {}; re-run: {}",
                        differences(&now, &new),
                        faulted.stderr.trim(),
                        rerun.stderr.trim()
                    ));
                }
                sweep.check(scenario.check, &world)
            })
            .and_then(|()| leftovers(&world));
        match repaired {
            Ok(()) => tally.repaired += 1,
            Err(why) => tally.not_repaired.push(format!("{what}: {why}")),
        }
        // Keep the disk for the next point.
        std::fs::remove_dir_all(&world).ok();
    }
    tally
}

/// Journal and temp files still there after the re-run (the lock file
/// stays: it is the lock).
fn leftovers(world: &Path) -> Result<(), String> {
    let left: Vec<PathBuf> = tuf_ceremony_e2e::snapshot_of(world)
        .into_keys()
        .map(|p| p.strip_prefix(world).unwrap().to_owned())
        .filter(|p| {
            is_leftover(p.strip_prefix("repo").unwrap_or(p))
                && p.file_name().is_some_and(|n| n != ".tuf-repo.lock")
        })
        .collect();
    if left.is_empty() {
        Ok(())
    } else {
        Err(format!("left behind after the re-run: {left:?}"))
    }
}

/// The worlds: a first-ceremony stick for `sign`, then one repository
/// carried through merge, commit, snapshot, timestamp and publish.
fn scenarios(sweep: &Sweep) -> Vec<Scenario> {
    let r = sweep.r;
    let world = |name: &str| r.path(&format!("template-{name}"));

    // sign: root v1 of a new repository, staged on a stick.
    let sign_repo = r.init_repo("sign-repo", &["alice"], 1);
    let sign_world = world("sign");
    assert_ok(
        &r.tuf_repo(&[
            "stage-rotation",
            path_str(&sign_repo),
            "--stick",
            path_str(&sign_world.join("stick")),
        ]),
        "stage v1 for sign",
    );
    let ceremony = binary("ceremony");
    let (conf, pin, at) = (
        r.path("softhsm2.conf"),
        r.path("alice.pin"),
        sweep.at.clone(),
    );
    let sign = move |w: &Path| {
        let metadata = w.join("stick/tuf-ceremony/staged/root.json");
        let mut args: Vec<std::ffi::OsString> = vec!["sign".into(), "--metadata".into()];
        args.push(metadata.into());
        for arg in [
            "--profile",
            "softhsm2",
            "--token-label",
            "alice",
            "--pin-file",
        ] {
            args.push(arg.into());
        }
        args.extend([pin.clone().into(), "--at".into(), at.clone().into()]);
        Invocation::new(ceremony.clone(), &args).env("SOFTHSM2_CONF", &conf)
    };

    // One repository: v1 published (and copied to a destination), then
    // targets v2 staged and signed, ready to merge.
    let repo = r.published_v1("alice");
    let repo_s = path_str(&repo);
    let dest_v1 = r.path("dest-v1");
    assert_ok(
        &r.tuf_repo(&["publish", repo_s, "--to", path_str(&dest_v1)]),
        "publish v1",
    );
    let file = r.path("service-map.json");
    std::fs::write(&file, br#"{"api": "https://example.invalid"}"#).unwrap();
    assert_ok(
        &r.tuf_repo(&["add-target", repo_s, path_str(&file)]),
        "add-target",
    );
    let stick = r.path("stick-2");
    assert_ok(
        &r.tuf_repo(&["stage", repo_s, "--stick", path_str(&stick)]),
        "stage v2",
    );
    let trusted = ["--trusted", "repository/1.root.json"];
    assert_ok(
        &r.sign(&stick, "staged/targets.json", &trusted, "alice"),
        "sign targets v2",
    );
    let template = |name: &str, with_stick: bool| {
        let w = world(name);
        copy_dir(&repo, &w.join("repo"));
        if with_stick {
            copy_dir(&stick, &w.join("stick"));
        }
        std::fs::create_dir(w.join("tmp")).unwrap();
        w
    };
    let merge_world = template("merge", true);
    let ran = |args: &[&str]| assert_ok(&sweep.tuf_repo(args).run(), args[0]);
    ran(&["merge", repo_s, "--stick", path_str(&stick)]);
    let commit_world = template("commit", false);
    ran(&["commit", repo_s]);
    let snapshot_world = template("snapshot", false);
    let timestamp_world = template("timestamp", false);
    let publish_world = template("publish", false);
    copy_dir(&dest_v1, &publish_world.join("dest"));

    let tr = |args: fn(&Path) -> Vec<String>| {
        let base = sweep.tuf_repo(&[]);
        move |w: &Path| {
            let mut inv = base.clone();
            let extra: Vec<std::ffi::OsString> = args(w).into_iter().map(Into::into).collect();
            inv.args.splice(0..0, extra);
            inv.env("TMPDIR", w.join("tmp"))
        }
    };
    vec![
        Scenario {
            name: "ceremony sign",
            template: sign_world,
            state: "stick",
            check: Check::StagedRoot,
            command: Box::new(sign),
        },
        Scenario {
            name: "tuf-repo merge",
            template: merge_world,
            state: "repo",
            check: Check::Repository,
            command: Box::new(tr(|w| {
                vec![
                    "merge".into(),
                    w.join("repo").display().to_string(),
                    "--stick".into(),
                    w.join("stick").display().to_string(),
                ]
            })),
        },
        Scenario {
            name: "tuf-repo commit",
            template: commit_world,
            state: "repo",
            check: Check::Repository,
            command: Box::new(tr(|w| {
                vec!["commit".into(), w.join("repo").display().to_string()]
            })),
        },
        Scenario {
            name: "tuf-repo publish",
            template: publish_world,
            state: "dest",
            check: Check::Destination,
            command: Box::new(tr(|w| {
                vec![
                    "publish".into(),
                    w.join("repo").display().to_string(),
                    "--to".into(),
                    w.join("dest").display().to_string(),
                ]
            })),
        },
        Scenario {
            name: "tuf-repo snapshot",
            template: snapshot_world,
            state: "repo",
            check: Check::Repository,
            command: Box::new(tr(|w| {
                vec!["snapshot".into(), w.join("repo").display().to_string()]
            })),
        },
        Scenario {
            name: "tuf-repo timestamp",
            template: timestamp_world,
            state: "repo",
            check: Check::Repository,
            command: Box::new(tr(|w| {
                vec![
                    "timestamp".into(),
                    w.join("repo").display().to_string(),
                    "--force".into(),
                ]
            })),
        },
    ]
}

#[test]
fn every_write_of_sign_merge_commit_publish_snapshot_and_timestamp_survives_a_fault() {
    let full = std::env::var_os(FULL_ENV).is_some_and(|v| v == "1");
    let only = std::env::var("FAULTS_ONLY").ok();
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let sweep = Sweep {
        r: &r,
        tuf_repo: binary("tuf-repo"),
        at: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap(),
    };
    let scratch = r.path("sweep");
    std::fs::create_dir(&scratch).unwrap();

    let mut rows = Vec::new();
    for scenario in scenarios(&sweep) {
        // `FAULTS_ONLY=merge,publish`: the commands whose name holds one.
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|o| scenario.name.contains(o)))
        {
            continue;
        }
        let started = std::time::Instant::now();
        let tally = run_scenario(&sweep, &scenario, &scratch, full);
        eprintln!(
            "{}: {} faults in {:.0?}",
            scenario.name,
            tally.points,
            started.elapsed()
        );
        rows.push((scenario.name, tally));
    }

    println!(
        "{:<20} {:>6} {:>6} {:>6} {:>8} {:>12} {:>8}",
        "command", "faults", "old", "new", "journal", "inconsistent", "repaired"
    );
    for (name, t) in &rows {
        println!(
            "{:<20} {:>6} {:>6} {:>6} {:>8} {:>12} {:>8}",
            name,
            t.points,
            t.old,
            t.new,
            t.by_journal,
            t.inconsistent.len(),
            format!("{}/{}", t.repaired, t.points)
        );
    }
    let problems: Vec<&String> = rows
        .iter()
        .flat_map(|(_, t)| t.inconsistent.iter().chain(&t.not_repaired))
        .collect();
    assert!(
        problems.is_empty(),
        "{} faults went wrong:\n{}",
        problems.len(),
        problems
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A publication whose own local copy cannot be made (its temp directory
/// is not a directory) says so and leaves the destination as it was; a
/// destination that does not verify after the copy is told as that.
#[test]
fn publish_tells_a_local_failure_from_a_destination_that_does_not_verify() {
    let r = Releaser::new(&[("alice", "ed25519")], true);
    let repo = r.published_v1("alice");
    let repo_s = path_str(&repo);
    let dest = r.path("dest");
    let publish = |tmpdir: &Path| {
        Invocation::new(
            binary("tuf-repo"),
            &["publish", repo_s, "--to", path_str(&dest)],
        )
        .env("TMPDIR", tmpdir)
        .run()
    };
    let one_error_line = |run: &Run| {
        assert_eq!(run.code, Some(1), "{run:?}");
        let errors: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{run:?}");
        errors[0].to_owned()
    };

    let not_a_dir = r.path("not-a-directory");
    std::fs::write(&not_a_dir, b"a file where the temp directory should be").unwrap();
    let run = publish(&not_a_dir);
    let error = one_error_line(&run);
    assert!(
        error.contains("could not prepare the local copy")
            && error.contains("the destination is unchanged")
            && !error.contains("does not verify"),
        "{error}"
    );
    assert!(!dest.exists(), "nothing was written: {run:?}");

    let tmp = r.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    assert_ok(&publish(&tmp), "publish");
    // A root v2 that is not ours at the destination: the client follows it
    // and refuses the publication.
    std::fs::copy(dest.join("1.root.json"), dest.join("2.root.json")).unwrap();
    let error = one_error_line(&publish(&tmp));
    assert!(
        error.contains("does not verify")
            && error.contains("2.root.json")
            && !error.contains("local copy"),
        "{error}"
    );
}
