//! Batch-signs the delegated roles of a ceremony bundle with one software
//! key, the way a batch `ceremony sign` would on the appliance: every item
//! the manifest marks as delegated is checked with the same
//! `SigningPlan` (anchored on the delegating role the bundle carries, the
//! top-level targets or a delegated role such as PEP 480's `claimed`),
//! those this key may sign go to one `Signer::sign_many` call (the rest are
//! left for another key's run), and each file is written back atomically. A drill and benchmark harness, not a ceremony
//! tool: offline roles are signed on the appliance.
//!
//! ```text
//! cargo run --release -p tuf-repo --example bins_bench -- <stick dir> <key.age> <passphrase file> [--json <file>]
//! ```
//!
//! With `--json`, it also measures the raw rate (the same payloads signed
//! and self-checked in memory, key decoded once, nothing read or written)
//! and writes the phases' seconds for `cargo xtask bench --only bins`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use metadata_io::BatchWriter;
use signers::Signer;
use signers::software::SoftwareSigner;
use time::OffsetDateTime;
use tuf_metadata::signing::{Anchor, SigningPlan};
use tuf_metadata::{Limits, Metadata, Targets};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (stick, age, pass, json) = match argv.as_slice() {
        [stick, age, pass] => (stick, age, pass, None),
        [stick, age, pass, flag, json] if flag == "--json" => {
            (stick, age, pass, Some(Path::new(json)))
        }
        _ => {
            eprintln!("usage: bins_bench <stick dir> <key.age> <passphrase file> [--json <file>]");
            return ExitCode::from(2);
        }
    };
    match run(Path::new(stick), Path::new(age), Path::new(pass), json) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("error: {why}");
            ExitCode::from(1)
        }
    }
}

fn run(stick: &Path, age: &Path, pass: &Path, json: Option<&Path>) -> Result<(), String> {
    let now = OffsetDateTime::now_utc();
    let bundle = stick.join(bundle_format::layout::BUNDLE_DIR);
    let manifest_path = bundle.join(bundle_format::layout::MANIFEST_FILE);
    let manifest = bundle_format::Manifest::read(&manifest_path).map_err(|e| e.to_string())?;

    let started = Instant::now();
    let passphrase = signers::Pin::from_file(pass).map_err(|e| e.to_string())?;
    let mut signer = SoftwareSigner::open(age, &passphrase).map_err(|e| e.to_string())?;
    let opened = started.elapsed();

    // Plans: each delegated item against its delegator, as the appliance would.
    let started = Instant::now();
    let mut delegators: Vec<(String, Targets, String)> = Vec::new();
    let mut plans: Vec<(PathBuf, SigningPlan)> = Vec::new();
    let mut skipped = 0usize;
    for item in &manifest.items {
        let Some(delegator) = item.delegator.as_deref() else {
            continue;
        };
        let (role, file) = (item.role.as_str(), item.file.as_str());
        if !delegators.iter().any(|(p, _, _)| p == delegator) {
            let path = bundle.join(delegator);
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let targets = Metadata::parse(&bytes, &Limits::ANY)
                .and_then(|m| Ok(m.into_targets()?))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let label = format!("targets v{}", targets.signed().common.version);
            delegators.push((delegator.to_owned(), targets.signed().clone(), label));
        }
        let (_, targets, label) = delegators
            .iter()
            .find(|(p, _, _)| p == delegator)
            .expect("loaded above");
        let path = bundle.join(file);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let anchor = Anchor::Delegator {
            targets,
            label,
            role,
        };
        let plan = SigningPlan::with_anchor(&bytes, anchor, now)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if plan.metadata().signed_digest() != item.canonical_sha256 {
            return Err(format!("{}: not what the manifest lists", path.display()));
        }
        // Items this key may not sign are left for another key's batch.
        if plan.keyids_for(signer.public_key()).is_empty() {
            skipped += 1;
            continue;
        }
        plans.push((path, plan));
    }
    let planned = started.elapsed();
    if plans.is_empty() {
        return Err(format!(
            "{}: key {} may sign none of the delegated roles",
            manifest_path.display(),
            signer.public_key().key_id()
        ));
    }

    let started = Instant::now();
    let messages: Vec<&[u8]> = plans
        .iter()
        .map(|(_, plan)| plan.metadata().signed_bytes())
        .collect();
    let signatures = signer.sign_many(&messages);
    let signed = started.elapsed();

    // The raw rate, before the plans are used up: the same payloads signed
    // and checked in memory, the key decoded once.
    let raw = match json {
        Some(_) => {
            let started = Instant::now();
            let again = signer.sign_many(&messages);
            let raw = started.elapsed();
            if let Some(Err(e)) = again.into_iter().find(Result::is_err) {
                return Err(format!("raw signing: {e}"));
            }
            Some(raw)
        }
        None => None,
    };
    drop(messages);

    let started = Instant::now();
    let key = signer.public_key().clone();
    let mut count = 0;
    // One batch: every signed file made durable together (one syncfs, one
    // fsync per folder); killed anywhere, each file is unsigned or signed.
    let mut batch = BatchWriter::new();
    for ((path, mut plan), signature) in plans.into_iter().zip(signatures) {
        let signature = signature.map_err(|e| format!("{}: {e}", path.display()))?;
        plan.apply(&signature)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        batch
            .add(&path, &plan.to_file_bytes())
            .map_err(|e| e.to_string())?;
        count += 1;
    }
    batch.commit().map_err(|e| e.to_string())?;
    let written = started.elapsed();
    println!(
        "signed {count} delegated roles with key {} ({skipped} left for other keys): open {opened:.2?}, plan {planned:.2?}, sign_many {signed:.2?}, write {written:.2?}",
        key.key_id()
    );
    if let (Some(path), Some(raw)) = (json, raw) {
        let figures = serde_json::json!({
            "count": count,
            "open_s": opened.as_secs_f64(),
            "plan_s": planned.as_secs_f64(),
            "sign_s": signed.as_secs_f64(),
            "write_s": written.as_secs_f64(),
            "raw_s": raw.as_secs_f64(),
        });
        std::fs::write(path, figures.to_string())
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    }
    Ok(())
}
