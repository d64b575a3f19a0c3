//! `cargo xtask bench`: our code against its peers, on the same inputs, in
//! the same run, printed as ratios. Four sections (`--only` runs one):
//!
//! - `hashbins`: our metadata code against python-tuf. Goals: canonical
//!   encoding ≥ 10× securesystemslib, parse + verify of a hash-bin tree
//!   within 1.25× of the bare signature checks, and ahead of python-tuf.
//!   The Rust side is the `bench_peer` example of tuf-metadata and the
//!   Python side `xtask/bench_python.py`; both write the same JSON shape:
//!   `{"encode": {"bytes", "seconds"}, "hashbins": {<keytype>: {"bins",
//!   "parse_verify_seconds", "bare_verify_seconds"}}}`.
//! - `sign`: 10,000 small targets documents signed on one SoftHSM2 token
//!   (a fresh one in a temporary directory) by our `Pkcs11Signer`
//!   (`sign_many`, and `sign` one at a time), against the token's raw
//!   `C_Sign` rate and securesystemslib's HSMSigner (tuf-on-ci-sign's path).
//!   Goals: batch ≥ 0.9× raw, ≥ 10× HSMSigner. The Rust side is the
//!   `sign_bench` example of signers, the Python side
//!   `xtask/bench_python_sign.py`.
//! - `tui`: `ceremony`'s start to its first frame (goal ≤ 50 ms) and its
//!   RSS (goal < 20 MB), next to trivial programs started the same way in a
//!   pseudo-terminal: see `tui.rs`.
//! - `bins`: the 16,384-bin pipeline (stage, batch sign, merge, commit)
//!   against the floor of writing the same bytes durably, and batch
//!   signing against the raw signing rate: see `bins.rs`. Goals: ≤ 1.5×
//!   floor, ≥ 0.9× raw.
//!
//! Absolute figures depend on the machine; ratios measured side by side do
//! not (much), which is why the goals are stated as ratios.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{cargo, deps, python, step};

mod bins;
mod tui;

/// The sections of `cargo xtask bench`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    /// Canonical encoding and hash-bin parse + verify against python-tuf.
    Hashbins,
    /// PKCS#11 signing on SoftHSM2 against raw C_Sign and HSMSigner.
    Sign,
    /// The terminal UI's start to its first frame, and its RSS.
    Tui,
    /// The 16,384-bin stage, batch sign, merge and commit against their floors.
    Bins,
}

/// Runs every section, or only `only`.
pub fn run(root: &Path, only: Option<Section>) -> Result<()> {
    let wanted = |section| only.is_none_or(|s| s == section);
    if wanted(Section::Hashbins) || wanted(Section::Sign) {
        let python = python::ensure_venv(root)?;
        if wanted(Section::Hashbins) {
            hashbins(root, &python)?;
        }
        if wanted(Section::Sign) {
            sign(root, &python)?;
        }
    }
    if wanted(Section::Tui) {
        tui::run(root)?;
    }
    if wanted(Section::Bins) {
        bins::run(root)?;
    }
    Ok(())
}

/// Where the generated trees and both result files go (under `target/`,
/// so `cargo clean` removes them and git never sees them).
const DATA: &str = "target/bench-data";

/// The key types a hash-bin tree is made for.
const KEYTYPES: &[&str] = &["ed25519", "ecdsa"];

/// The tree generator (python-tuf builds and signs it).
const MAKE_HASHBINS: &str = "tests/fixtures/make_hashbins.py";

/// Makes the trees if missing, runs both sides, prints the comparison.
fn hashbins(root: &Path, python: &Path) -> Result<()> {
    for keytype in KEYTYPES {
        let tree = format!("{DATA}/{keytype}");
        if root.join(&tree).join("bench.json").is_file() {
            println!("present: {tree} (hash-bin tree)");
            continue;
        }
        if !root.join(MAKE_HASHBINS).is_file() {
            bail!("{MAKE_HASHBINS} is missing: it makes the hash-bin trees the benchmark reads");
        }
        step(
            &format!("making the {keytype} hash-bin tree"),
            Command::new(python).current_dir(root).args([
                MAKE_HASHBINS,
                &tree,
                "--keytype",
                keytype,
            ]),
        )?;
    }

    let rust_json = format!("{DATA}/rust.json");
    let python_json = format!("{DATA}/python.json");
    // Old results must never be printed as this run's.
    for old in [&rust_json, &python_json] {
        let _ = fs::remove_file(root.join(old));
    }
    step(
        "Rust side (tuf-metadata example bench_peer)",
        cargo().current_dir(root).args([
            "run",
            "--release",
            "-p",
            "tuf-metadata",
            "--example",
            "bench_peer",
            "--",
            "--data",
            DATA,
            "--json",
            &rust_json,
        ]),
    )?;
    step(
        "python-tuf side (xtask/bench_python.py)",
        Command::new(python).current_dir(root).args([
            "xtask/bench_python.py",
            "--data",
            DATA,
            "--json",
            &python_json,
        ]),
    )?;

    let ours = Figures::read(&root.join(&rust_json))?;
    let theirs = Figures::read(&root.join(&python_json))?;
    print_comparison(&ours, &theirs)
}

/// One side's results.
struct Figures {
    encode_bytes: f64,
    encode_seconds: f64,
    hashbins: BTreeMap<String, Bins>,
}

/// One hash-bin tree's results: seconds for all bins together.
struct Bins {
    bins: f64,
    parse_verify_seconds: f64,
    bare_verify_seconds: f64,
}

impl Figures {
    fn read(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("no results in {}", path.display()))?;
        let json: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let at = |keys: &[&str]| -> Result<f64> {
            let mut v = &json;
            for k in keys {
                v = &v[k];
            }
            v.as_f64().filter(|n| *n > 0.0).with_context(|| {
                format!(
                    "{}: no positive number at {}",
                    path.display(),
                    keys.join(".")
                )
            })
        };
        let mut hashbins = BTreeMap::new();
        for keytype in json["hashbins"]
            .as_object()
            .into_iter()
            .flat_map(|o| o.keys())
        {
            let bins = Bins {
                bins: at(&["hashbins", keytype, "bins"])?,
                parse_verify_seconds: at(&["hashbins", keytype, "parse_verify_seconds"])?,
                bare_verify_seconds: at(&["hashbins", keytype, "bare_verify_seconds"])?,
            };
            hashbins.insert(keytype.clone(), bins);
        }
        Ok(Self {
            encode_bytes: at(&["encode", "bytes"])?,
            encode_seconds: at(&["encode", "seconds"])?,
            hashbins,
        })
    }

    fn encode_mb_per_s(&self) -> f64 {
        self.encode_bytes / self.encode_seconds / 1e6
    }
}

impl Bins {
    fn parse_verify_us(&self) -> f64 {
        self.parse_verify_seconds / self.bins * 1e6
    }

    fn bare_verify_us(&self) -> f64 {
        self.bare_verify_seconds / self.bins * 1e6
    }
}

fn print_comparison(ours: &Figures, theirs: &Figures) -> Result<()> {
    if ours.encode_bytes != theirs.encode_bytes {
        bail!(
            "the two sides encoded different values ({} vs {} bytes): the comparison would mean nothing",
            ours.encode_bytes,
            theirs.encode_bytes
        );
    }
    let ratio = ours.encode_mb_per_s() / theirs.encode_mb_per_s();
    println!();
    println!(
        "Canonical JSON encoding ({} bytes of output)",
        ours.encode_bytes
    );
    println!("  Rust        {:10.1} MB/s", ours.encode_mb_per_s());
    println!("  python-tuf  {:10.1} MB/s", theirs.encode_mb_per_s());
    println!(
        "  Rust / python-tuf {ratio:.1}×  (goal ≥ 10×: {})",
        verdict(ratio >= 10.0)
    );

    println!();
    println!("Hash-bin trees, µs per bin (best of 3); p+v = parse + verify");
    println!(
        "  {:<8} {:>6} {:>11} {:>11} {:>11} {:>12}  {:<16} python / Rust",
        "keytype", "bins", "Rust p+v", "Rust bare", "python p+v", "python bare", "Rust p+v / bare"
    );
    for (keytype, rust) in &ours.hashbins {
        let Some(py) = theirs.hashbins.get(keytype) else {
            bail!("{keytype}: python-tuf has no figures for this tree");
        };
        if rust.bins != py.bins {
            bail!(
                "{keytype}: the two sides read different bin counts ({} vs {})",
                rust.bins,
                py.bins
            );
        }
        let overhead = rust.parse_verify_seconds / rust.bare_verify_seconds;
        let overhead = format!("{overhead:.2}× {}", verdict(overhead <= 1.25));
        let ahead = py.parse_verify_seconds / rust.parse_verify_seconds;
        println!(
            "  {:<8} {:>6} {:>11.1} {:>11.1} {:>11.1} {:>12.1}  {overhead:<16} {ahead:.1}× {}",
            keytype,
            rust.bins,
            rust.parse_verify_us(),
            rust.bare_verify_us(),
            py.parse_verify_us(),
            py.bare_verify_us(),
            verdict(ahead > 1.0),
        );
    }
    println!("  goals: Rust p+v / bare ≤ 1.25×; python / Rust > 1× (ahead of python-tuf)");
    Ok(())
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// Where the signing section's documents and results go.
const SIGN_DATA: &str = "target/bench-data/sign";

/// How many documents are signed.
const SIGN_DOCUMENTS: usize = 10_000;

/// The benchmark token's label and PINs (a throw-away SoftHSM2 token).
const SIGN_TOKEN: &str = "tuf-bench";
const SIGN_USER_PIN: &str = "246810";
const SIGN_SO_PIN: &str = "13579111";

/// A directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!("{what}-{}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path)
                .with_context(|| format!("could not remove {}", path.display()))?;
        }
        fs::create_dir_all(&path)
            .with_context(|| format!("could not create {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A fresh SoftHSM2 token in a temporary directory, both sides' runs on it,
/// the comparison printed.
fn sign(root: &Path, python: &Path) -> Result<()> {
    deps::ensure_apt_packages()?;
    let dir = TempDir::new("tuf-ceremony-sign-bench")?;
    let tokens = dir.0.join("tokens");
    fs::create_dir(&tokens)?;
    let conf = dir.0.join("softhsm2.conf");
    fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )?;
    let pin_file = dir.0.join("user.pin");
    fs::write(&pin_file, format!("{SIGN_USER_PIN}\n"))?;
    step(
        "SoftHSM2 token for the signing benchmark",
        Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", SIGN_TOKEN])
            .args(["--so-pin", SIGN_SO_PIN, "--pin", SIGN_USER_PIN]),
    )?;

    fs::create_dir_all(root.join(SIGN_DATA))?;
    let documents = format!("{SIGN_DATA}/documents.bin");
    let rust_json = format!("{SIGN_DATA}/rust.json");
    let python_json = format!("{SIGN_DATA}/python.json");
    for old in [&documents, &rust_json, &python_json] {
        let _ = fs::remove_file(root.join(old));
    }
    step(
        "Rust side (signers example sign_bench)",
        cargo()
            .current_dir(root)
            .env("SOFTHSM2_CONF", &conf)
            .args([
                "run",
                "--release",
                "-p",
                "signers",
                "--example",
                "sign_bench",
            ])
            .args(["--", "--token-label", SIGN_TOKEN, "--pin-file"])
            .arg(&pin_file)
            .args(["--documents", &documents, "--json", &rust_json])
            .args(["--count", &SIGN_DOCUMENTS.to_string()]),
    )?;
    let ours = read_json(&root.join(&rust_json))?;
    let text = |keys: &[&str]| -> Result<String> {
        let mut v = &ours;
        for k in keys {
            v = &v[k];
        }
        v.as_str()
            .map(str::to_owned)
            .with_context(|| format!("{rust_json}: no string at {}", keys.join(".")))
    };
    step(
        "securesystemslib HSMSigner side (xtask/bench_python_sign.py)",
        Command::new(python)
            .current_dir(root)
            .env("SOFTHSM2_CONF", &conf)
            .arg("xtask/bench_python_sign.py")
            .args(["--module", &text(&["module"])?])
            .args(["--token-label", SIGN_TOKEN, "--pin-file"])
            .arg(&pin_file)
            .args(["--p256-cka-id", &text(&["keys", "p256", "cka_id"])?])
            .args(["--p256-keyid", &text(&["keys", "p256", "key_id"])?])
            .args(["--ed25519-cka-id", &text(&["keys", "ed25519", "cka_id"])?])
            .args(["--ed25519-keyid", &text(&["keys", "ed25519", "key_id"])?])
            .args(["--ed25519-public", &text(&["keys", "ed25519", "public"])?])
            .args(["--documents", &documents, "--json", &python_json]),
    )?;
    let theirs = read_json(&root.join(&python_json))?;
    print_signing(&ours, &theirs)
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        fs::read_to_string(path).with_context(|| format!("no results in {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// A positive number at `keys`, or an error naming where it was missing.
fn number(json: &Value, keys: &[&str]) -> Result<f64> {
    let mut v = json;
    for k in keys {
        v = &v[k];
    }
    v.as_f64()
        .filter(|n| *n > 0.0)
        .with_context(|| format!("no positive number at {}", keys.join(".")))
}

fn print_signing(ours: &Value, theirs: &Value) -> Result<()> {
    let documents = number(ours, &["documents"])?;
    let signed = number(theirs, &["p256", "documents"])?;
    if documents != signed {
        bail!("the two sides signed different numbers of documents ({documents} vs {signed})");
    }
    let runs = number(ours, &["runs"])?;
    println!();
    println!(
        "Signing {documents} small targets documents on one SoftHSM2 token, signatures/s \
         (Rust: best of {runs}); batch = sign_many, seq. = sign one at a time"
    );
    println!(
        "  {:<8} {:>9} {:>9} {:>9} {:>11}  {:<20} batch / HSMSigner",
        "key", "raw", "batch", "seq.", "HSMSigner", "batch / raw"
    );
    for (name, shown) in [("p256", "P-256"), ("ed25519", "Ed25519")] {
        let raw = number(ours, &["keys", name, "raw_per_s"])?;
        let batch = number(ours, &["keys", name, "batch_per_s"])?;
        let sequential = number(ours, &["keys", name, "sequential_per_s"])?;
        let of_raw = batch / raw;
        let of_raw = format!("{of_raw:.3}× {}", verdict(of_raw >= 0.9));
        let (python, of_python) = match number(theirs, &[name, "per_s"]) {
            Ok(per_s) => {
                let ratio = batch / per_s;
                (
                    format!("{per_s:.0}"),
                    format!("{ratio:.1}× {}", verdict(ratio >= 10.0)),
                )
            }
            Err(_) => ("unsupported".to_owned(), "-".to_owned()),
        };
        println!(
            "  {shown:<8} {raw:>9.0} {batch:>9.0} {sequential:>9.0} {python:>11}  {of_raw:<20} {of_python}"
        );
    }
    println!("  goals: batch / raw ≥ 0.9×; batch / HSMSigner ≥ 10×");
    // sign_many runs on two threads: the token's thread and one checking
    // worker, which the token's thread helps when it falls behind. However
    // well the work is shared, two threads cannot beat the token alone,
    // nor finish the token's work plus the checks faster than in half the
    // time both take on one core.
    println!(
        "  the self-check alone, on one core (checked_signature; with the key decoded once), \
         and the batch's ceiling on two threads, min(raw, 2 / (1/raw + 1/check)):"
    );
    for (name, shown) in [("p256", "P-256"), ("ed25519", "Ed25519")] {
        let raw = number(ours, &["keys", name, "raw_per_s"])?;
        let check = number(ours, &["keys", name, "check_predecoded_per_s"])?;
        let ceiling = raw.min(2.0 / (1.0 / raw + 1.0 / check));
        println!(
            "    {shown:<8} {:>7.0}/s; {check:>7.0}/s; ceiling {ceiling:.0}/s ({:.2}× raw)",
            number(ours, &["keys", name, "check_per_s"])?,
            ceiling / raw
        );
    }
    if let Some(reason) = theirs["ed25519"]["reason"].as_str() {
        println!("  HSMSigner and Ed25519: {reason}");
    }
    Ok(())
}
