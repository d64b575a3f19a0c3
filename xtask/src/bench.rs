//! `cargo xtask bench`: our metadata code against python-tuf, on the same
//! inputs, in the same run, printed as ratios.
//!
//! Absolute figures depend on the machine; ratios measured side by side do
//! not (much), which is why the goals are stated as ratios: canonical
//! encoding ≥ 10× securesystemslib, parse + verify of a hash-bin tree within
//! 1.25× of the bare signature checks, and ahead of python-tuf.
//!
//! The Rust side is the `bench_peer` example of tuf-metadata and the Python
//! side `xtask/bench_python.py`; both write the same JSON shape:
//! `{"encode": {"bytes", "seconds"}, "hashbins": {<keytype>: {"bins",
//! "parse_verify_seconds", "bare_verify_seconds"}}}`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::{cargo, python, step};

/// Where the generated trees and both result files go (under `target/`,
/// so `cargo clean` removes them and git never sees them).
const DATA: &str = "target/bench-data";

/// The key types a hash-bin tree is made for.
const KEYTYPES: &[&str] = &["ed25519", "ecdsa"];

/// The tree generator (python-tuf builds and signs it).
const MAKE_HASHBINS: &str = "tests/fixtures/make_hashbins.py";

/// Makes the trees if missing, runs both sides, prints the comparison.
pub fn run(root: &Path) -> Result<()> {
    let python = python::ensure_venv(root)?;
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
            Command::new(&python).current_dir(root).args([
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
        Command::new(&python).current_dir(root).args([
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
