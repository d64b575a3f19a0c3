//! SoftHSM2 tokens for the PKCS#11 tests: fresh tokens per test, each test
//! in a process of its own.
//!
//! Why a process per test: SoftHSM2 reads `SOFTHSM2_CONF` (which names the
//! token directory) once, at `C_Initialize`, and sees tokens that
//! `softhsm2-util` creates afterwards only after a `C_Finalize` and a new
//! `C_Initialize`. Tests run as threads of one process, so they would share
//! one initialisation, and changing `SOFTHSM2_CONF` inside the process needs
//! `std::env::set_var`, which is `unsafe` (and `unsafe_code` is forbidden
//! here). So each test, as the "parent", makes a temporary token directory,
//! writes a `softhsm2.conf` for it, initialises its tokens with
//! `softhsm2-util`, and runs the test binary again filtered to itself (the
//! "child") with `SOFTHSM2_CONF` set. The child runs the body; the parent
//! checks that exactly one test ran and passed, and shows its output.
//!
//! A machine without SoftHSM2 fails these tests with a message saying how to
//! install it: they never pass without having checked anything.

use std::path::{Path, PathBuf};
use std::process::Command;

use signers::Pin;
use signers::pkcs11::{Access, Module, Token, TokenSelector};
use signers::profile::{Overrides, Profile};
use zeroize::Zeroizing;

/// The user PIN of every test token.
pub const USER_PIN: &str = "123456";
/// The SO PIN of every test token (used by `softhsm2-util` only).
const SO_PIN: &str = "87654321";

/// Set in the child: the name of the test it runs.
const CHILD_ENV: &str = "SIGNERS_SOFTHSM_CHILD";
/// Set in the child: the labels of its tokens, comma-separated.
const LABELS_ENV: &str = "SIGNERS_SOFTHSM_LABELS";

const INSTALL: &str =
    "run `cargo xtask test`, which installs softhsm2 (or `apt-get install softhsm2`)";

/// Defines a SoftHSM2 test: `softhsm_test!(fn name(hsm) { ... })` gives the
/// body a [`SoftHsm`] with one token labelled `"keyholder"`;
/// `softhsm_test!(fn name(hsm) tokens ["a", "b"] { ... })` names the tokens.
/// Attributes (`#[ignore]`, doc comments) go before `fn`.
#[macro_export]
macro_rules! softhsm_test {
    ($(#[$meta:meta])* fn $name:ident($hsm:ident) $body:block) => {
        $crate::softhsm_test!($(#[$meta])* fn $name($hsm) tokens ["keyholder"] $body);
    };
    ($(#[$meta:meta])* fn $name:ident($hsm:ident) tokens [$($label:expr),+] $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            support::run_in_own_process(stringify!($name), &[$($label),+], |$hsm| $body);
        }
    };
}

/// The child's view: its tokens, and helpers to open them.
pub struct SoftHsm {
    /// The token labels this test was given.
    pub labels: Vec<String>,
    /// The `softhsm2` profile.
    pub profile: Profile,
}

impl SoftHsm {
    /// The module, as `ceremony sign --profile softhsm2` would open it.
    pub fn module(&self) -> Module {
        Module::open(&self.profile, &Overrides::default()).expect("SoftHSM2 module opens")
    }

    /// A session on the token labelled `label`, nobody logged in.
    pub fn token(&self, label: &str, access: Access) -> Token {
        self.module()
            .open_token(&TokenSelector::Label(label.into()), access)
            .unwrap_or_else(|e| panic!("token {label:?}: {e}"))
    }

    /// A session on `label` with the user logged in.
    pub fn logged_in(&self, label: &str, access: Access) -> Token {
        let token = self.token(label, access);
        token.login(&pin(USER_PIN)).expect("the right PIN logs in");
        token
    }

    /// The first (often only) token label.
    pub fn label(&self) -> &str {
        &self.labels[0]
    }
}

/// A [`Pin`] holding `text`.
pub fn pin(text: &str) -> Pin {
    Pin::new(Zeroizing::new(text.to_owned()))
}

/// Runs `body` in a child process with fresh tokens labelled `labels`
/// (see the module docs). Called by [`softhsm_test!`].
pub fn run_in_own_process(name: &str, labels: &[&str], body: impl FnOnce(&SoftHsm)) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        let labels = std::env::var(LABELS_ENV).expect("the parent sets the labels");
        let hsm = SoftHsm {
            labels: labels.split(',').map(str::to_owned).collect(),
            profile: softhsm2_profile(),
        };
        body(&hsm);
        return;
    }

    softhsm2_profile();
    let dir = tempfile::tempdir().expect("temporary directory");
    let conf = write_conf(dir.path());
    for label in labels {
        init_token(&conf, label);
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--include-ignored"])
        .args(["--test-threads", "1"])
        .env(CHILD_ENV, name)
        .env(LABELS_ENV, labels.join(","))
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Shown by the test harness when this test fails (or with --nocapture).
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        output.status.success(),
        "{name} failed in its SoftHSM2 process ({})",
        output.status
    );
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{name}: the child process did not run exactly this one test"
    );
}

/// The `softhsm2` profile, failing with the install hint if the module or
/// `softhsm2-util` is missing.
fn softhsm2_profile() -> Profile {
    let profile = Profile::load("softhsm2").expect("hsm-profiles/softhsm2.toml loads");
    if let Err(e) = signers::pkcs11::module_path(&profile, &Overrides::default()) {
        panic!("SoftHSM2 is not installed ({e}): {INSTALL}");
    }
    if Command::new("softhsm2-util")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("softhsm2-util is not on PATH: {INSTALL}");
    }
    profile
}

/// A `softhsm2.conf` keeping tokens in `dir/tokens`, and its path.
fn write_conf(dir: &Path) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir(&tokens).expect("token directory");
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .expect("softhsm2.conf written");
    conf
}

/// `softhsm2-util --init-token --free` with the test PINs.
fn init_token(conf: &Path, label: &str) {
    let output = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", label])
        .args(["--so-pin", SO_PIN, "--pin", USER_PIN])
        .env("SOFTHSM2_CONF", conf)
        .output()
        .unwrap_or_else(|e| panic!("softhsm2-util: {e}: {INSTALL}"));
    assert!(
        output.status.success(),
        "softhsm2-util --init-token --label {label} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
