//! The Rust side of `cargo xtask bench`: times canonical encoding and the
//! parse + verify of a 16,384-role hash-bin tree, on the very files
//! `xtask/bench_python.py` times in python-tuf, and writes the figures in the
//! JSON shape `xtask/src/bench.rs` reads.
//!
//! Why it exists: the goals (encoding ≥ 10× securesystemslib; parse + verify
//! within 1.25× of the bare signature checks and ahead of python-tuf, for
//! Ed25519 and P-256) are ratios, and ratios only mean something when both
//! sides do the same work on the same input in the same run.
//!
//! ```text
//! cargo run --release -p tuf-metadata --example bench_peer -- \
//!     --data target/bench-data --json target/bench-data/rust.json [--limit N]
//! ```
//!
//! `DATA/<keytype>/` is a tree made by `tests/fixtures/make_hashbins.py`
//! (`bench.json`, `targets.json`, `bins/bin-XXXX.json`); the directory name
//! (`ed25519`, `ecdsa`) keys the results. `--limit N` reads only the first N
//! bins, for profiling under valgrind; its figures are not for the xtask.
//!
//! Output (`bench.rs` reads `encode` and `hashbins`; the rest is for people):
//!
//! ```text
//! {"encode": {"bytes": N, "seconds": s},
//!  "hashbins": {"<keytype>": {"bins": n, "parse_verify_seconds": s,
//!                             "bare_verify_seconds": s}},
//!  "splits": {"<keytype>": {"parse_seconds": s, "check_seconds": s,
//!                            "key_decode_seconds": s, "sig_hex_seconds": s}},
//!  "alt_backends": {"<keytype>": {"bins": n, "ring_seconds": s,
//!                   "rustcrypto_seconds": s, "rustcrypto_prepared_key_seconds": s,
//!                   "rustcrypto_crate": "…"}}}
//! ```
//!
//! Every figure is the best of at least 3 runs (encoding repeats until 1 s
//! has passed). Every signature must verify, every count must be the tree's:
//! a benchmark that verifies nothing must not print a figure.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;
use tuf_metadata::json::{self as tjson, Value};
use tuf_metadata::{Delegations, Key, KeyRing, Limits, Metadata, PublicKey, Targets, canonical};

/// Runs per figure; the best counts (the others met interference).
const RUNS: usize = 3;

/// Encoding is quick; it repeats until this much time has passed.
const ENCODE_MIN_TOTAL: Duration = Duration::from_secs(1);

/// The bins a full tree has (bit_length 14), the size PEP 458 plans for.
const FULL_TREE_BINS: usize = 16_384;

/// The key types, as directory names under `--data`, in the order run.
const KEYTYPES: &[&str] = &["ed25519", "ecdsa"];

type Result<T> = std::result::Result<T, String>;

struct Args {
    data: PathBuf,
    json: PathBuf,
    limit: Option<usize>,
}

fn usage() -> String {
    "usage: bench_peer --data DIR --json OUT.json [--limit N]".to_owned()
}

fn parse_args() -> Result<Args> {
    let mut data = None;
    let mut json = None;
    let mut limit = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--data" => data = Some(PathBuf::from(value()?)),
            "--json" => json = Some(PathBuf::from(value()?)),
            "--limit" => {
                let n: usize = value()?
                    .parse()
                    .map_err(|_| "--limit needs a positive number".to_owned())?;
                if n == 0 {
                    return Err("--limit needs a positive number".into());
                }
                limit = Some(n);
            }
            "-h" | "--help" => return Err(usage()),
            other => return Err(format!("unknown argument {other:?}\n{}", usage())),
        }
    }
    Ok(Args {
        data: data.ok_or_else(usage)?,
        json: json.ok_or_else(usage)?,
        limit,
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_peer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args = parse_args()?;
    if cfg!(debug_assertions) {
        eprintln!("bench_peer: warning: a debug build; run with --release for real figures");
    }

    let mut hashbins = serde_json::Map::new();
    let mut splits = serde_json::Map::new();
    let mut alt = serde_json::Map::new();
    let mut summary = Vec::new();

    let ed_tree = Tree::read(&args.data.join("ed25519"), args.limit)?;
    let encode = time_encode(&ed_tree)?;

    for keytype in KEYTYPES {
        let owned;
        let tree = if *keytype == "ed25519" {
            &ed_tree
        } else {
            owned = Tree::read(&args.data.join(keytype), args.limit)?;
            &owned
        };
        let figures = time_tree(tree)?;
        hashbins.insert(
            (*keytype).to_owned(),
            json!({
                "bins": tree.bins.len(),
                "parse_verify_seconds": figures.parse_verify,
                "bare_verify_seconds": figures.bare_ring,
            }),
        );
        splits.insert(
            (*keytype).to_owned(),
            json!({
                "parse_seconds": figures.parse_only,
                "check_seconds": figures.check_only,
                "key_decode_seconds": figures.key_decode,
                "sig_hex_seconds": figures.sig_hex,
            }),
        );
        alt.insert(
            (*keytype).to_owned(),
            json!({
                "bins": tree.bins.len(),
                "ring_seconds": figures.bare_ring,
                "rustcrypto_seconds": figures.bare_rustcrypto,
                "rustcrypto_prepared_key_seconds": figures.bare_rustcrypto_prepared,
                "rustcrypto_crate": figures.rustcrypto_crate,
            }),
        );
        summary.push((*keytype, tree.bins.len(), figures));
    }

    let result = json!({
        "encode": {"bytes": encode.bytes, "seconds": encode.seconds},
        "hashbins": hashbins,
        "splits": splits,
        "alt_backends": alt,
    });
    let text = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())? + "\n";
    fs::write(&args.json, text).map_err(|e| format!("{}: {e}", args.json.display()))?;

    print_summary(&encode, &summary);
    eprintln!("bench_peer: figures written to {}", args.json.display());
    Ok(())
}

/// One hash-bin tree, read into memory before anything is timed.
struct Tree {
    /// The directory, for messages.
    dir: PathBuf,
    /// The delegating role's delegations (succinct hash bins).
    delegations: Delegations,
    /// `(role name, file bytes)` of every bin, in file-name order.
    bins: Vec<(String, Vec<u8>)>,
}

impl Tree {
    fn read(dir: &Path, limit: Option<usize>) -> Result<Self> {
        let at = |p: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", p.display());
        let info_path = dir.join("bench.json");
        let info_bytes = fs::read(&info_path).map_err(|e| {
            format!(
                "{}: {e} (make the tree with tests/fixtures/make_hashbins.py)",
                info_path.display()
            )
        })?;
        let info: serde_json::Value =
            serde_json::from_slice(&info_bytes).map_err(|e| at(&info_path, &e))?;
        let expected_bins = info["bins"]
            .as_u64()
            .ok_or_else(|| at(&info_path, &"no \"bins\" count"))?
            as usize;
        let delegating = dir.join(info["delegating"].as_str().unwrap_or("targets.json"));

        let bytes = fs::read(&delegating).map_err(|e| at(&delegating, &e))?;
        let top: Metadata<Targets> = Metadata::parse(&bytes, &Limits::ANY)
            .map_err(|e| at(&delegating, &e))?
            .into_targets()
            .map_err(|e| at(&delegating, &e))?;
        let delegations = top
            .signed()
            .delegations
            .clone()
            .ok_or_else(|| at(&delegating, &"no delegations"))?;

        let bins_dir = dir.join("bins");
        let mut paths: Vec<PathBuf> = fs::read_dir(&bins_dir)
            .map_err(|e| at(&bins_dir, &e))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .map_err(|e| at(&bins_dir, &e))?;
        paths.retain(|p| p.extension().is_some_and(|x| x == "json"));
        // python sorts the same way (`sorted(glob("*.json"))`): the encoded
        // list must be in the same order on both sides.
        paths.sort();
        if paths.len() != expected_bins {
            return Err(format!(
                "{}: bench.json says {expected_bins} bins, found {}",
                dir.display(),
                paths.len()
            ));
        }
        match limit {
            Some(n) => paths.truncate(n),
            None if paths.len() != FULL_TREE_BINS => {
                return Err(format!(
                    "{}: {} bins, not the {FULL_TREE_BINS} of a full tree (--limit is for partial runs)",
                    dir.display(),
                    paths.len()
                ));
            }
            None => {}
        }
        let bins = paths
            .iter()
            .map(|p| {
                let name = p
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .ok_or_else(|| at(p, &"file name is not UTF-8"))?
                    .to_owned();
                let bytes = fs::read(p).map_err(|e| at(p, &e))?;
                Ok((name, bytes))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Tree {
            dir: dir.to_owned(),
            delegations,
            bins,
        })
    }
}

/// The shortest wall-clock time of `runs` calls of `work`.
fn best_of(runs: usize, mut work: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

struct Encode {
    bytes: usize,
    seconds: f64,
}

/// Canonical encoding of one value: the list of every bin's `signed` object,
/// in file-name order — exactly the value `bench_python.py` hands to
/// securesystemslib's `encode_canonical`, so the byte counts must agree.
fn time_encode(tree: &Tree) -> Result<Encode> {
    let signed = tree
        .bins
        .iter()
        .map(|(name, bytes)| {
            let value = tjson::parse(bytes, tjson::DEFAULT_MAX_BYTES)
                .map_err(|e| format!("{name}: {e}"))?;
            match value {
                Value::Object(mut envelope) => envelope
                    .remove("signed")
                    .ok_or_else(|| format!("{name}: no \"signed\"")),
                _ => Err(format!("{name}: not an object")),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let list = Value::Array(signed);

    let mut out = Vec::new();
    canonical::encode_into(&list, &mut out);
    let bytes = out.len();
    if bytes < tree.bins.len() * 100 {
        return Err(format!("encoding wrote only {bytes} bytes"));
    }

    let mut best = f64::INFINITY;
    let mut total = Duration::ZERO;
    let mut runs = 0;
    while runs < RUNS || total < ENCODE_MIN_TOTAL {
        out.clear();
        let start = Instant::now();
        canonical::encode_into(std::hint::black_box(&list), &mut out);
        let took = start.elapsed();
        std::hint::black_box(&out);
        assert_eq!(out.len(), bytes, "encoding is not deterministic");
        best = best.min(took.as_secs_f64());
        total += took;
        runs += 1;
    }
    Ok(Encode {
        bytes,
        seconds: best,
    })
}

/// Seconds for all bins of one tree.
struct TreeFigures {
    /// What `bench.rs` compares: parse, narrow, look up the role, threshold check.
    parse_verify: f64,
    /// The parse + verify loop again, timed per bin in two parts: this is
    /// `Metadata::parse` + `into_targets`…
    parse_only: f64,
    /// …and this `role_keys` + `KeyRing::check` (same cache state as p+v).
    check_only: f64,
    /// `Key::public_key()` alone, once per bin: what checking a single file
    /// costs in key decoding (a `KeyRing` pays it once per tree).
    key_decode: f64,
    /// `hex::decode` of every bin's signature alone.
    sig_hex: f64,
    /// `PublicKey::verify` (ring) alone: key decoded, signature hex-decoded,
    /// signed bytes computed before timing. The bare cost.
    bare_ring: f64,
    /// The same signature checks in RustCrypto, the public key decoded per
    /// check as ring does.
    bare_rustcrypto: f64,
    /// RustCrypto with the public key decoded once, before timing.
    bare_rustcrypto_prepared: f64,
    /// Which RustCrypto crate.
    rustcrypto_crate: &'static str,
}

/// One signature check, prepared before timing.
struct Check {
    signed_bytes: Vec<u8>,
    signature: Vec<u8>,
    signature_hex: String,
}

fn time_tree(tree: &Tree) -> Result<TreeFigures> {
    let n = tree.bins.len();
    let delegations = &tree.delegations;
    let fail = |what: String| format!("{}: {what}", tree.dir.display());
    let role = |name: &str| {
        delegations
            .role_keys(name)
            .ok_or_else(|| fail(format!("{name} is not delegated")))
    };

    // Bare verification is prepared first, with everything but the
    // signature check itself (key decoding, hex, canonical bytes) done here.
    let mut key_id = None;
    let mut checks = Vec::with_capacity(n);
    for (name, bytes) in &tree.bins {
        let md = Metadata::parse(bytes, &Limits::ANY).map_err(|e| fail(format!("{name}: {e}")))?;
        let role = role(name)?;
        let mut by_role = md
            .signatures()
            .iter()
            .filter(|s| role.keyids.contains(&s.keyid));
        let (Some(signature), None) = (by_role.next(), by_role.next()) else {
            return Err(fail(format!(
                "{name}: not exactly one signature by its role"
            )));
        };
        if *key_id.get_or_insert_with(|| signature.keyid.clone()) != signature.keyid {
            return Err(fail("bins signed by different keys".into()));
        }
        checks.push(Check {
            signed_bytes: md.signed_bytes().to_vec(),
            signature: hex::decode(&signature.sig)
                .map_err(|_| fail(format!("{name}: signature is not hex")))?,
            signature_hex: signature.sig.clone(),
        });
    }
    let key_id = key_id.ok_or_else(|| fail("no bins".into()))?;
    let key: &Key = delegations
        .keys
        .get(&key_id)
        .ok_or_else(|| fail(format!("key {key_id} is not in delegations.keys")))?;
    let public = key
        .public_key()
        .map_err(|e| fail(format!("bin key: {e}")))?;

    // A client decodes the delegation's keys once, then checks every bin.
    let key_ring = KeyRing::new(&delegations.keys);
    // Parse + verify: what a client does with each bin it downloads.
    let parse_verify_once = || -> Result<usize> {
        let mut met = 0;
        for (name, bytes) in &tree.bins {
            let md = Metadata::parse(bytes, &Limits::ANY)
                .map_err(|e| fail(format!("{name}: {e}")))?
                .into_targets()
                .map_err(|e| fail(format!("{name}: {e}")))?;
            let role = role(name)?;
            let report = key_ring.check(role, md.signed_bytes(), md.signatures());
            if !report.is_met() {
                return Err(fail(format!("{name}: threshold not met: {report}")));
            }
            met += 1;
        }
        Ok(met)
    };
    // The same loop with a clock read between its two halves (two clock
    // reads per bin cost well under 1 % of a bin's time).
    let split_once = || -> Result<(f64, f64, usize)> {
        let (mut parse, mut check, mut met) = (Duration::ZERO, Duration::ZERO, 0);
        for (name, bytes) in &tree.bins {
            let t0 = Instant::now();
            let md = Metadata::parse(bytes, &Limits::ANY)
                .map_err(|e| fail(format!("{name}: {e}")))?
                .into_targets()
                .map_err(|e| fail(format!("{name}: {e}")))?;
            let t1 = Instant::now();
            let report = key_ring.check(role(name)?, md.signed_bytes(), md.signatures());
            let t2 = Instant::now();
            met += usize::from(report.is_met());
            parse += t1 - t0;
            check += t2 - t1;
        }
        Ok((parse.as_secs_f64(), check.as_secs_f64(), met))
    };

    // The rounds interleave every measurement, so that a slow spell of the
    // machine hits them all alike; the best of each counts.
    let mut best = [f64::INFINITY; 6];
    for _ in 0..RUNS {
        let start = Instant::now();
        let met = parse_verify_once()?;
        best[0] = best[0].min(start.elapsed().as_secs_f64());
        expect_all(met, n, "parse + verify")?;

        let (parse, check, met) = split_once()?;
        best[1] = best[1].min(parse);
        best[2] = best[2].min(check);
        expect_all(met, n, "parse + verify (split)")?;

        let start = Instant::now();
        let ok = checks
            .iter()
            .filter(|c| public.verify(&c.signed_bytes, &c.signature).is_ok())
            .count();
        best[3] = best[3].min(start.elapsed().as_secs_f64());
        expect_all(ok, n, "ring verify")?;

        let start = Instant::now();
        let ok = (0..n)
            .filter(|_| std::hint::black_box(key).public_key().is_ok())
            .count();
        best[4] = best[4].min(start.elapsed().as_secs_f64());
        expect_all(ok, n, "key decoding")?;

        let start = Instant::now();
        let ok = checks
            .iter()
            .filter(|c| hex::decode(std::hint::black_box(&c.signature_hex)).is_ok())
            .count();
        best[5] = best[5].min(start.elapsed().as_secs_f64());
        expect_all(ok, n, "signature hex decoding")?;
    }
    let [
        parse_verify,
        parse_only,
        check_only,
        bare_ring,
        key_decode,
        sig_hex,
    ] = best;

    let (bare_rustcrypto, bare_rustcrypto_prepared, rustcrypto_crate) =
        rustcrypto::time(&public, &checks).map_err(fail)?;

    Ok(TreeFigures {
        parse_verify,
        parse_only,
        check_only,
        key_decode,
        sig_hex,
        bare_ring,
        bare_rustcrypto,
        bare_rustcrypto_prepared,
        rustcrypto_crate,
    })
}

fn expect_all(got: usize, want: usize, what: &str) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: {got} of {want} bins verified"))
    }
}

/// The RustCrypto verifiers (ed25519-dalek, p256), timed on the same checks.
mod rustcrypto {
    use super::{Check, PublicKey, RUNS, Result, best_of, expect_all};

    // ed25519-dalek and p256 share this trait (the `signature` crate).
    use ed25519_dalek::Verifier as _;

    /// `(per-check key decoding, key decoded once, crate name)`.
    pub(super) fn time(public: &PublicKey, checks: &[Check]) -> Result<(f64, f64, &'static str)> {
        let n = checks.len();
        let mut ok = 0;
        match public {
            PublicKey::Ed25519(raw) => {
                let verify = |key: &ed25519_dalek::VerifyingKey, c: &Check| {
                    let Ok(bytes) = <[u8; 64]>::try_from(c.signature.as_slice()) else {
                        return false;
                    };
                    let sig = ed25519_dalek::Signature::from_bytes(&bytes);
                    key.verify(&c.signed_bytes, &sig).is_ok()
                };
                let fresh = best_of(RUNS, || {
                    ok = checks
                        .iter()
                        .filter(|c| {
                            ed25519_dalek::VerifyingKey::from_bytes(raw)
                                .is_ok_and(|key| verify(&key, c))
                        })
                        .count();
                });
                expect_all(ok, n, "ed25519-dalek verify")?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(raw)
                    .map_err(|e| format!("ed25519-dalek: {e}"))?;
                let prepared = best_of(RUNS, || {
                    ok = checks.iter().filter(|c| verify(&key, c)).count();
                });
                expect_all(ok, n, "ed25519-dalek verify (prepared key)")?;
                Ok((fresh, prepared, "ed25519-dalek 3.0.0"))
            }
            PublicKey::EcdsaP256(point) => {
                let verify = |key: &p256::ecdsa::VerifyingKey, c: &Check| {
                    p256::ecdsa::DerSignature::try_from(c.signature.as_slice())
                        .is_ok_and(|sig| key.verify(&c.signed_bytes, &sig).is_ok())
                };
                let fresh = best_of(RUNS, || {
                    ok = checks
                        .iter()
                        .filter(|c| {
                            p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                                .is_ok_and(|key| verify(&key, c))
                        })
                        .count();
                });
                expect_all(ok, n, "p256 verify")?;
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                    .map_err(|e| format!("p256: {e}"))?;
                let prepared = best_of(RUNS, || {
                    ok = checks.iter().filter(|c| verify(&key, c)).count();
                });
                expect_all(ok, n, "p256 verify (prepared key)")?;
                Ok((fresh, prepared, "p256 0.14 (ecdsa 0.17)"))
            }
            PublicKey::Rsa { .. } => Err("RSA trees are not benchmarked".into()),
        }
    }
}

fn print_summary(encode: &Encode, trees: &[(&str, usize, TreeFigures)]) {
    let us = |seconds: f64, n: usize| seconds / n as f64 * 1e6;
    eprintln!();
    eprintln!(
        "canonical encoding: {} bytes in {:.2} ms = {:.1} MB/s (best of ≥{RUNS} runs)",
        encode.bytes,
        encode.seconds * 1e3,
        encode.bytes as f64 / encode.seconds / 1e6
    );
    eprintln!();
    eprintln!("hash-bin trees, µs per bin (best of {RUNS}):");
    eprintln!(
        "  {:<8} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>10} {:>11}  {:>8}",
        "keytype",
        "bins",
        "p+v",
        "parse",
        "check",
        "key",
        "sighex",
        "ring",
        "RustCrypto",
        "RC prepared",
        "p+v/ring"
    );
    for (keytype, n, f) in trees {
        eprintln!(
            "  {:<8} {:>6} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>10.2} {:>11.2}  {:>7.2}×",
            keytype,
            n,
            us(f.parse_verify, *n),
            us(f.parse_only, *n),
            us(f.check_only, *n),
            us(f.key_decode, *n),
            us(f.sig_hex, *n),
            us(f.bare_ring, *n),
            us(f.bare_rustcrypto, *n),
            us(f.bare_rustcrypto_prepared, *n),
            f.parse_verify / f.bare_ring,
        );
    }
    eprintln!(
        "  p+v    Metadata::parse + into_targets + role_keys + KeyRing::check (what xtask compares)"
    );
    eprintln!("  parse  | the same loop timed in two halves: parse + into_targets,");
    eprintln!("  check  | and role_keys + KeyRing::check");
    eprintln!(
        "  key    Key::public_key() alone (KeyRing decodes it once per tree; shown for scale)"
    );
    eprintln!("  sighex hex::decode of the signature alone");
    eprintln!("  ring   PublicKey::verify alone: the bare cost; goal p+v / ring ≤ 1.25×");
    for (keytype, _, f) in trees {
        eprintln!(
            "  RustCrypto ({keytype}): {}, key decoded per check as ring does; RC prepared: decoded once",
            f.rustcrypto_crate
        );
    }
}
