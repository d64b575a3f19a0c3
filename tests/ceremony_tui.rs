//! The real `ceremony` binary driven under tmux, as keyholders and a witness
//! use it: a rotation staged by `ceremony drill-stage` (SoftHSM2 tokens),
//! run in a network namespace that has only loopback, so the appliance's
//! offline rule is in force (no `--drill`). Two keyholders sign at 80×24;
//! python-tuf accepts the result and `tuf-repo transcript verify` checks the
//! transcript. Then a stick that fails during the write, and an interface
//! that comes up.

use std::path::{Path, PathBuf};

use tuf_ceremony_e2e::terminal::{Netns, Tmux};
use tuf_ceremony_e2e::{assert_ok, binary, path_str, read_json, run_fixture_script, tuf_repo};

/// A staged drill: the stick, the SoftHSM2 configuration, PINs by name.
struct Drill {
    _dir: tempfile::TempDir,
    stick: PathBuf,
    conf: PathBuf,
    pins: Vec<(String, String)>,
}

impl Drill {
    fn stage() -> Drill {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("drill");
        let output = std::process::Command::new(binary("ceremony"))
            .arg("drill-stage")
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "drill-stage: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let briefing = read_json(&out.join("drill.json"));
        let pins = briefing["keyholders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["token_label"].as_str().unwrap().to_owned(),
                    k["pin"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        Drill {
            stick: PathBuf::from(briefing["stick"].as_str().unwrap()),
            conf: PathBuf::from(briefing["softhsm2_conf"].as_str().unwrap()),
            pins,
            _dir: dir,
        }
    }

    fn pin(&self, who: &str) -> &str {
        &self.pins.iter().find(|(n, _)| n == who).unwrap().1
    }

    fn bundle(&self, file: &str) -> PathBuf {
        self.stick.join("tuf-ceremony").join(file)
    }

    /// The shell command that runs the UI in `ns`, optionally under
    /// `wrapper` (e.g. strace fault injection), with `extra` flags.
    fn command(&self, ns: &Netns, wrapper: &str, extra: &str) -> String {
        format!(
            "ip netns exec {} env SOFTHSM2_CONF={} {wrapper} {} --stick {} --profile softhsm2 --no-yubikey {extra}",
            ns.name(),
            path_str(&self.conf),
            path_str(&binary("ceremony")),
            path_str(&self.stick),
        )
    }
}

/// Clock confirmed, stick loaded, review checked and acknowledged.
fn through_review(ui: &Tmux, drill: &Drill) {
    ui.wait_for("This machine's clock says");
    ui.keys(&["Enter"]);
    ui.wait_for("Choose the stick");
    ui.keys(&["Enter"]);
    let review = ui.wait_for("Review 1/1");
    assert!(review.contains("version 1 → 2"), "{review}");
    assert!(review.contains("+ added"), "{review}");
    assert!(review.contains("- removed"), "{review}");
    // The digest the witness reads aloud is the manifest's, grouped by four.
    let manifest = read_json(&drill.bundle("manifest.json"));
    let digest = manifest["items"][0]["canonical_sha256"].as_str().unwrap();
    let first_group: Vec<&str> = (0..8).map(|i| &digest[i * 4..i * 4 + 4]).collect();
    let mut seen = review.clone();
    // On 24 rows the digest may sit below the fold: scroll to it.
    for _ in 0..20 {
        if seen.contains(&first_group.join(" ")) {
            break;
        }
        ui.keys(&["Down"]);
        std::thread::sleep(std::time::Duration::from_millis(50));
        seen = ui.screen();
    }
    assert!(
        seen.contains(&first_group.join(" ")),
        "digest {digest} not shown:\n{seen}"
    );
    ui.keys(&["Enter"]);
    ui.wait_for("Next keyholder");
}

/// Highlights the token labelled `who` and types its PIN. The list scrolls
/// (entries below the fold are announced by "▼ N more below"), so the
/// highlight is moved down until it is on `who`'s token.
fn sign_as(ui: &Tmux, drill: &Drill, who: &str) {
    let target = format!("token \"{who}\"");
    let on_target = |s: &str| {
        s.lines()
            .any(|l| l.starts_with("> ") && l.contains(&target))
    };
    let mut screen = ui.wait_for("Next keyholder");
    for _ in 0..10 {
        if on_target(&screen) {
            break;
        }
        let highlighted = |s: &str| s.lines().find(|l| l.starts_with("> ")).map(str::to_owned);
        let before = highlighted(&screen);
        ui.keys(&["Down"]);
        screen = ui.wait_until("the highlight to move", |s| highlighted(s) != before);
    }
    assert!(on_target(&screen), "{target} not reached:\n{screen}");
    ui.keys(&["Enter"]);
    ui.wait_for("Type your PIN");
    ui.type_text(drill.pin(who));
    ui.keys(&["Enter"]);
}

#[test]
fn two_keyholders_sign_a_rotation_offline_and_the_witness_signs_off() {
    let drill = Drill::stage();
    let ns = Netns::create();
    let ui = Tmux::start(&drill.command(&ns, "", ""), 80, 24);
    through_review(&ui, &drill);

    sign_as(&ui, &drill, "alice");
    let screen = ui.wait_until("alice's signature", |s| s.contains("signed 1 file(s)"));
    assert_eq!(screen.matches("1 of 2 needed").count(), 2, "{screen}");
    assert!(!screen.contains("DRILL"), "{screen}");

    sign_as(&ui, &drill, "bob");
    let screen = ui.wait_until("bob's signature", |s| {
        s.matches("threshold MET").count() == 2
    });
    assert!(screen.contains("token \"bob\""), "{screen}");

    ui.keys(&["f"]);
    ui.wait_for("type your name");
    ui.type_text("Wanda Witness");
    ui.keys(&["Enter"]);
    let done = ui.wait_for("Ceremony complete");
    assert!(done.contains("root v1 (trusted) 2/2 met"), "{done}");
    assert!(done.contains("root v2 (new) 2/2 met"), "{done}");
    ui.keys(&["q"]);
    ui.wait_for("[exited 0]");

    // python-tuf accepts the signed root as meeting its own threshold.
    let staged = drill.bundle("staged/root.json");
    let output = run_fixture_script("python_verify_root.py", &[staged.as_os_str()]);
    assert!(
        output.status.success(),
        "python-tuf refused the signed root: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    // Our verifier: a valid rotation from the stick's root v1.
    let verified = tuf_repo([
        "verify-root".as_ref(),
        "--trusted".as_ref(),
        drill.bundle("repository/1.root.json").as_os_str(),
        staged.as_os_str(),
    ]);
    assert_ok(&verified, "verify-root");
    assert!(
        verified.stdout.contains("root v2: ok"),
        "{}",
        verified.stdout
    );
    // The transcript chain holds and records exactly these signatures.
    let transcript = drill.bundle("transcript.jsonl");
    let checked = tuf_repo([
        "transcript".as_ref(),
        "verify".as_ref(),
        transcript.as_os_str(),
        "--metadata".as_ref(),
        staged.as_os_str(),
    ]);
    assert_ok(&checked, "transcript verify");
    assert!(
        checked.stdout.contains("2 signatures"),
        "{}",
        checked.stdout
    );
    assert!(!checked.stdout.contains("DRILL"), "{}", checked.stdout);
}

/// Files in the bundle's `staged/` (a failed write must leave no temp file).
fn staged_files(drill: &Drill) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(drill.bundle("staged"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_stick_that_fails_during_the_write_keeps_the_old_file() {
    let drill = Drill::stage();
    let staged = drill.bundle("staged/root.json");
    let before = std::fs::read(&staged).unwrap();
    let ns = Netns::create();
    // The stick dies at the moment the new file would replace the old one:
    // every rename fails with EIO, as on a pulled USB stick.
    let strace = "strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
                  -e inject=rename,renameat,renameat2:error=EIO";
    let ui = Tmux::start(&drill.command(&ns, strace, ""), 80, 24);
    through_review(&ui, &drill);
    sign_as(&ui, &drill, "alice");
    let screen = ui.wait_for("FAILED");
    assert!(screen.contains("unchanged"), "{screen}");
    assert_eq!(
        std::fs::read(&staged).unwrap(),
        before,
        "the old file is intact"
    );
    assert_eq!(
        staged_files(&drill),
        ["root.json"],
        "no temp file left behind"
    );
    assert!(screen.contains("0 of 2 needed"), "{screen}");
    // Mid-ceremony, q asks first (issue 13); the witness confirms.
    ui.keys(&["q"]);
    ui.wait_for("Quit before the witness signs off?");
    ui.keys(&["y"]);
    ui.wait_for("[exited 0]");
    // The failure is in the transcript, whose chain still holds.
    let transcript = drill.bundle("transcript.jsonl");
    let text = std::fs::read_to_string(&transcript).unwrap();
    assert!(text.contains("\"event\":\"failed\""), "{text}");
    assert!(text.contains("ABANDONED"), "the quit is recorded: {text}");
    let checked = tuf_repo([
        "transcript".as_ref(),
        "verify".as_ref(),
        transcript.as_os_str(),
    ]);
    assert_ok(&checked, "transcript verify");
}

#[test]
fn an_interface_that_is_up_stops_signing_unless_drilling() {
    let drill = Drill::stage();
    let ns = Netns::create();
    ns.add_interface_up("dummy0");

    let ui = Tmux::start(&drill.command(&ns, "", ""), 80, 24);
    let first = ui.wait_for("This machine's clock says");
    assert!(first.contains("NETWORK UP (dummy0)"), "{first}");
    ui.keys(&["Enter"]);
    ui.wait_for("Choose the stick");
    ui.keys(&["Enter", "Enter"]);
    ui.wait_for("Next keyholder");
    ui.keys(&["Enter"]);
    let refused = ui.wait_for("dummy0 is up");
    assert!(!refused.contains("Type your PIN"), "{refused}");
    // Mid-ceremony, q asks first (issue 13); the witness confirms.
    ui.keys(&["q"]);
    ui.wait_for("Quit before the witness signs off?");
    ui.keys(&["y"]);
    ui.wait_for("[exited 0]");
    assert_unsigned(&drill.bundle("staged/root.json"));

    // A drill goes on, and says so everywhere.
    let ui = Tmux::start(&drill.command(&ns, "", "--drill"), 80, 24);
    let first = ui.wait_for("This machine's clock says");
    assert!(first.contains("DRILL"), "{first}");
    through_review(&ui, &drill);
    sign_as(&ui, &drill, "alice");
    ui.wait_until("alice's signature", |s| s.contains("signed 1 file(s)"));
    // Mid-ceremony, q asks first (issue 13); the witness confirms.
    ui.keys(&["q"]);
    ui.wait_for("Quit before the witness signs off?");
    ui.keys(&["y"]);
    ui.wait_for("[exited 0]");
    let checked = tuf_repo([
        "transcript".as_ref(),
        "verify".as_ref(),
        drill.bundle("transcript.jsonl").as_os_str(),
    ]);
    assert_ok(&checked, "transcript verify");
    assert!(checked.stdout.contains("DRILL"), "{}", checked.stdout);
}

fn assert_unsigned(path: &Path) {
    let root = read_json(path);
    let signatures = root["signatures"].as_array().unwrap();
    assert!(signatures.is_empty(), "{signatures:?}");
}
