//! The transcript keeps what did not go to plan, end to end: the real
//! `ceremony` UI under tmux (offline network namespace, SoftHSM2 tokens from
//! `ceremony drill-stage`) with one extra token whose key is no part of the
//! ceremony. Choosing it is refused before its PIN; the refusal is in the
//! transcript on the stick, which `tuf-repo transcript verify` accepts and,
//! since the keyholders quit without a witness sign-off, warns about.

use std::path::{Path, PathBuf};
use std::process::Command;

use tuf_ceremony_e2e::terminal::{Netns, Tmux};
use tuf_ceremony_e2e::{assert_ok, binary, path_str, read_json, tuf_repo};

/// A staged drill: the stick, the SoftHSM2 configuration, PINs by name.
struct Drill {
    dir: tempfile::TempDir,
    stick: PathBuf,
    conf: PathBuf,
    pins: Vec<(String, String)>,
}

impl Drill {
    fn stage() -> Drill {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("drill");
        let output = Command::new(binary("ceremony"))
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
            dir,
        }
    }

    /// A token `label` (PIN `pin`) with a fresh key that no root lists.
    fn add_stranger(&mut self, label: &str, pin: &str) {
        let init = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &self.conf)
            .args(["--init-token", "--free", "--label", label])
            .args(["--so-pin", "12345678", "--pin", pin])
            .output()
            .unwrap();
        assert!(init.status.success(), "{init:?}");
        let pin_file = self.dir.path().join(format!("{label}.pin"));
        std::fs::write(&pin_file, format!("{pin}\n")).unwrap();
        let onboard = Command::new(binary("ceremony"))
            .env("SOFTHSM2_CONF", &self.conf)
            .args(["onboard", "--profile", "softhsm2", "--token-label", label])
            .args(["--key-label", &format!("{label}-root")])
            .arg("--pin-file")
            .arg(&pin_file)
            .arg("--out")
            .arg(self.dir.path().join(format!("{label}.pub.json")))
            .output()
            .unwrap();
        assert!(onboard.status.success(), "{onboard:?}");
        self.pins.push((label.to_owned(), pin.to_owned()));
    }

    fn pin(&self, who: &str) -> &str {
        &self.pins.iter().find(|(n, _)| n == who).unwrap().1
    }

    fn bundle(&self, file: &str) -> PathBuf {
        self.stick.join("tuf-ceremony").join(file)
    }

    /// The shell command that runs the UI in `ns` (no `--drill`).
    fn command(&self, ns: &Netns) -> String {
        format!(
            "ip netns exec {} env SOFTHSM2_CONF={} {} --stick {} --profile softhsm2 --no-yubikey",
            ns.name(),
            path_str(&self.conf),
            path_str(&binary("ceremony")),
            path_str(&self.stick),
        )
    }
}

/// Clock confirmed, stick loaded, the review read to its end and
/// acknowledged.
fn through_review(ui: &Tmux) {
    ui.wait_for("This machine's clock says");
    ui.keys(&["Enter"]);
    ui.wait_for("Choose the stick");
    ui.keys(&["Enter"]);
    ui.wait_for("Review 1/1");
    for _ in 0..20 {
        ui.keys(&["Down"]);
    }
    ui.keys(&["Enter"]);
    ui.wait_for("Next keyholder");
}

/// Highlights the token labelled `who` and presses Enter.
fn choose(ui: &Tmux, who: &str) {
    let screen = ui.wait_for(&format!("token \"{who}\""));
    let tokens: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("token \"") && l.contains("slot"))
        .collect();
    let index = tokens
        .iter()
        .position(|l| l.contains(&format!("token \"{who}\"")))
        .unwrap_or_else(|| panic!("no token {who}:\n{screen}"));
    let selected = tokens
        .iter()
        .position(|l| l.starts_with("> "))
        .unwrap_or_else(|| panic!("nothing selected:\n{screen}"));
    let key = if index >= selected { "Down" } else { "Up" };
    for _ in 0..index.abs_diff(selected) {
        ui.keys(&[key]);
    }
    ui.keys(&["Enter"]);
}

fn transcript_events(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_refused_token_is_in_the_transcript_and_a_session_without_sign_off_is_warned_about() {
    let mut drill = Drill::stage();
    drill.add_stranger("mallory", "2468");
    let ns = Netns::create();
    let ui = Tmux::start(&drill.command(&ns), 100, 40);
    through_review(&ui);

    choose(&ui, "mallory");
    let refused = ui.wait_for("the PIN was not asked for");
    assert!(!refused.contains("Type your PIN"), "{refused}");

    choose(&ui, "alice");
    ui.wait_for("Type your PIN");
    ui.type_text(drill.pin("alice"));
    ui.keys(&["Enter"]);
    ui.wait_until("alice's signature", |s| s.contains("[x] signed, verified"));
    // Mid-ceremony, q asks first (issue 13); the witness confirms.
    ui.keys(&["q"]);
    ui.wait_for("Quit before the witness signs off?");
    ui.keys(&["y"]);
    ui.wait_for("[exited 0]");

    let transcript = drill.bundle("transcript.jsonl");
    let events = transcript_events(&transcript);
    let refusals: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "token_refused")
        .collect();
    assert_eq!(refusals.len(), 1, "{events:#?}");
    let token = refusals[0]["token"].as_str().unwrap();
    assert!(token.contains("mallory"), "{token}");
    assert_eq!(
        refusals[0]["reason"],
        "this token holds no key of this ceremony; the PIN was not asked for"
    );
    // Recorded in order: refused before alice signed.
    let position = |name: &str| events.iter().position(|e| e["event"] == name).unwrap();
    assert!(position("token_refused") < position("signed"));

    let checked = tuf_repo([
        "transcript".as_ref(),
        "verify".as_ref(),
        transcript.as_os_str(),
        "--metadata".as_ref(),
        drill.bundle("staged/root.json").as_os_str(),
    ]);
    assert_ok(&checked, "transcript verify");
    assert!(
        !checked.stdout.contains("witness:"),
        "nobody signed off: {}",
        checked.stdout
    );
    // Quit mid-ceremony: whether or not a `session_finished` was written on
    // the way out, no witness signed the session off.
    let warnings: Vec<&str> = checked.stderr.lines().collect();
    let expected = format!(
        "warning: {}: the session starting at line 1 has no witness sign-off",
        transcript.display()
    );
    assert_eq!(warnings.len(), 1, "{checked:?}");
    assert!(warnings[0].starts_with(&expected), "{checked:?}");
}
