//! The Rust side of the signing benchmark in `cargo xtask bench`: signatures
//! per second on one SoftHSM2 token, for a P-256 and an Ed25519 key, of
//!
//! - raw: a bare `C_Sign` loop through cryptoki (P-256: SHA-256 on the host
//!   and `CKM_ECDSA`; Ed25519: `CKM_EDDSA`), nothing checked: the token's
//!   own rate, the ceiling;
//! - batch: [`Signer::sign_many`] of [`Pkcs11Signer`] (token and self-check
//!   overlapped on two threads);
//! - sequential: [`Signer::sign`] once per document (token, then check);
//! - check / check pre-decoded: the self-check alone on one thread, through
//!   [`signers::checked_signature`] (decodes the PEM and hashes the key
//!   object every time) and [`signers::checked_signature_with`] (decoded
//!   once), to say which half limits the batch.
//!
//! It generates the keys on the token (`Token::generate`) and the documents
//! (small targets metadata, one target each), writes their canonical bytes
//! to `--documents` (each as a 4-byte big-endian length, then the bytes:
//! `xtask/bench_python_sign.py` reads the same file), reads them back, and
//! writes the figures and what the Python side needs (token, key `CKA_ID`,
//! key id, public key) as JSON to `--json`.
//!
//! `SOFTHSM2_CONF` must name a configuration whose token directory holds the
//! initialised token `--token-label` (`cargo xtask bench` makes one).
//! Build with `--release`: a debug build measures the debug build.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::Session;
use sha2::{Digest, Sha256};
use signers::pkcs11::{Access, KeyKind, Module, Pkcs11Signer, TokenKey, TokenSelector, ecdsa_der};
use signers::profile::{Overrides, Profile};
use signers::{Pin, Signer, checked_signature, checked_signature_with, checking_key};
use tuf_metadata::{Common, Expires, Metadata, TargetFile, Targets};

type Error = Box<dyn std::error::Error>;

struct Args {
    token_label: String,
    pin_file: PathBuf,
    documents: PathBuf,
    json: PathBuf,
    count: usize,
    runs: usize,
}

fn main() -> Result<(), Error> {
    let args = parse_args()?;
    let profile = Profile::load("softhsm2")?;
    let module_path = signers::pkcs11::module_path(&profile, &Overrides::default())?;
    let module = Module::open(&profile, &Overrides::default())?;
    let selector = TokenSelector::Label(args.token_label.clone());
    let pin = Pin::from_file(&args.pin_file)?;

    // The keys, generated on the token as onboarding does.
    let onboarding = module.open_token(&selector, Access::ReadWrite)?;
    onboarding.login(&pin)?;
    let p256 = generate_p256(&onboarding)?;
    let ed25519 = onboarding.generate("bench-ed25519", KeyKind::Ed25519)?.key;
    drop(onboarding);

    write_documents(&args.documents, args.count)?;
    let documents = read_documents(&args.documents)?;
    let borrowed: Vec<&[u8]> = documents.iter().map(Vec::as_slice).collect();
    println!(
        "sign_bench: {} documents, {} to {} bytes of canonical JSON, best of {} runs",
        documents.len(),
        documents.iter().map(Vec::len).min().unwrap_or(0),
        documents.iter().map(Vec::len).max().unwrap_or(0),
        args.runs
    );

    // Raw C_Sign goes through a context of its own on the same module (the
    // library is initialised once per process; the login is shared).
    let raw_ctx = Pkcs11::new(&module_path)?;
    let _ = raw_ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));

    let mut keys = Vec::new();
    for (name, key) in [("p256", p256), ("ed25519", ed25519)] {
        let token = module.open_token(&selector, Access::ReadOnly)?;
        token.login(&pin)?;
        let mut signer = Pkcs11Signer::new(token, key.clone())?;
        let raw_session = raw_session(&raw_ctx, &args.token_label, &key)?;
        let figures = measure(&mut signer, &raw_session, &key, &borrowed, args.runs)?;
        println!("sign_bench: {name} ({}): {}", key.kind, figures.line());
        keys.push(format!(
            "    {}: {{\"label\": {}, \"cka_id\": \"{}\", \"key_id\": \"{}\", \"public\": {}, {}}}",
            json_string(name),
            json_string(&key.label),
            hex::encode(&key.id),
            key.key_id,
            json_string(&key.key.public),
            figures.json()
        ));
    }

    let json = format!(
        "{{\n  \"documents\": {},\n  \"runs\": {},\n  \"module\": {},\n  \"token_label\": {},\n  \"keys\": {{\n{}\n  }}\n}}\n",
        documents.len(),
        args.runs,
        json_string(&module_path.to_string_lossy()),
        json_string(&args.token_label),
        keys.join(",\n")
    );
    fs::write(&args.json, json)?;
    Ok(())
}

/// A JSON string literal (the few values written here are labels and
/// paths; control characters are escaped all the same).
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn parse_args() -> Result<Args, Error> {
    let mut named = BTreeMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        named.insert(flag, value);
    }
    let mut take = |flag: &str| named.remove(flag);
    let need = |v: Option<String>, flag: &str| v.ok_or(format!("{flag} is required"));
    let args = Args {
        token_label: need(take("--token-label"), "--token-label")?,
        pin_file: need(take("--pin-file"), "--pin-file")?.into(),
        documents: need(take("--documents"), "--documents")?.into(),
        json: need(take("--json"), "--json")?.into(),
        count: take("--count").map_or(Ok(10_000), |v| v.parse())?,
        runs: take("--runs").map_or(Ok(5), |v| v.parse())?,
    };
    if let Some(flag) = named.keys().next() {
        return Err(format!(
            "unknown option {flag}; usage: sign_bench --token-label L --pin-file P \
             --documents FILE --json FILE [--count N] [--runs R]"
        )
        .into());
    }
    Ok(args)
}

/// A P-256 key whose `CKA_ID` securesystemslib's HSMSigner can name: it
/// addresses keys by an integer, written big-endian without leading zero
/// bytes, so a random `CKA_ID` starting with `00` (one in 256) cannot be
/// reached. Such a key is left unused and another made.
fn generate_p256(token: &signers::pkcs11::Token) -> Result<TokenKey, Error> {
    for attempt in 1..=8 {
        let key = token
            .generate(&format!("bench-p256-{attempt}"), KeyKind::EcdsaP256)?
            .key;
        if key.id.first().is_some_and(|b| *b != 0) {
            return Ok(key);
        }
    }
    Err("eight P-256 keys in a row got a CKA_ID starting with 00".into())
}

/// `count` small targets metadata, one target each, as canonical bytes:
/// 4-byte big-endian length, then the bytes, one after another.
fn write_documents(path: &PathBuf, count: usize) -> Result<(), Error> {
    let expires = Expires::parse("2030-01-01T00:00:00Z")?;
    let mut out = Vec::new();
    for n in 0..count {
        let path = format!("packages/example-{n:05}/example-{n:05}-1.0.tar.gz");
        let file = TargetFile {
            length: 4096 + n as u64,
            hashes: [(
                "sha256".to_owned(),
                hex::encode(Sha256::digest(path.as_bytes())),
            )]
            .into(),
            unrecognized: Default::default(),
        };
        let targets = Targets {
            common: Common {
                spec_version: "1.0.31".into(),
                version: 1 + n as u64 % 7,
                expires: expires.clone(),
            },
            targets: [(path, file)].into(),
            delegations: None,
            unrecognized: Default::default(),
        };
        let bytes = Metadata::new(targets).signed_bytes().to_vec();
        out.extend(u32::try_from(bytes.len())?.to_be_bytes());
        out.extend(bytes);
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, out)?;
    Ok(())
}

fn read_documents(path: &PathBuf) -> Result<Vec<Vec<u8>>, Error> {
    let bytes = fs::read(path)?;
    let mut rest = &bytes[..];
    let mut documents = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_at_checked(4).ok_or("truncated length")?;
        let len = u32::from_be_bytes(len.try_into()?) as usize;
        let (document, tail) = tail.split_at_checked(len).ok_or("truncated document")?;
        documents.push(document.to_vec());
        rest = tail;
    }
    Ok(documents)
}

/// A session of its own on the token, and the key's private handle.
fn raw_session(
    ctx: &Pkcs11,
    label: &str,
    key: &TokenKey,
) -> Result<(Session, cryptoki::object::ObjectHandle), Error> {
    let slot = ctx
        .get_slots_with_token()?
        .into_iter()
        .find(|s| ctx.get_token_info(*s).is_ok_and(|i| i.label() == label))
        .ok_or("the token is not in any slot")?;
    let session = ctx.open_ro_session(slot)?;
    let found = session.find_objects(&[
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::Id(key.id.clone()),
    ])?;
    let [private] = found[..] else {
        return Err(format!("{} private keys with CKA_ID of {}", found.len(), key.name()).into());
    };
    Ok((session, private))
}

/// Signatures per second of each way, best of `runs`.
struct Figures {
    raw: f64,
    batch: f64,
    sequential: f64,
    check: f64,
    check_predecoded: f64,
}

impl Figures {
    fn line(&self) -> String {
        format!(
            "raw C_Sign {:.0}/s, batch {:.0}/s ({:.2}× raw), sequential {:.0}/s, \
             self-check alone {:.0}/s (pre-decoded key {:.0}/s)",
            self.raw,
            self.batch,
            self.batch / self.raw,
            self.sequential,
            self.check,
            self.check_predecoded
        )
    }

    fn json(&self) -> String {
        format!(
            "\"raw_per_s\": {:.1}, \"batch_per_s\": {:.1}, \"sequential_per_s\": {:.1}, \
             \"check_per_s\": {:.1}, \"check_predecoded_per_s\": {:.1}",
            self.raw, self.batch, self.sequential, self.check, self.check_predecoded
        )
    }
}

fn measure(
    signer: &mut Pkcs11Signer,
    (session, private): &(Session, cryptoki::object::ObjectHandle),
    key: &TokenKey,
    documents: &[&[u8]],
    runs: usize,
) -> Result<Figures, Error> {
    let n = documents.len() as f64;
    let rate = |start: Instant| n / start.elapsed().as_secs_f64();
    let public = key.key.public_key()?;
    let mut best = Figures {
        raw: 0.0,
        batch: 0.0,
        sequential: 0.0,
        check: 0.0,
        check_predecoded: 0.0,
    };
    let eddsa = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
    let mut raw_signatures = Vec::with_capacity(documents.len());
    for _ in 0..runs {
        // Raw: what the token does, and nothing else.
        raw_signatures.clear();
        let start = Instant::now();
        for document in documents {
            let signature = match key.kind {
                KeyKind::EcdsaP256 => {
                    session.sign(&Mechanism::Ecdsa, *private, &Sha256::digest(document))?
                }
                KeyKind::Ed25519 => session.sign(&eddsa, *private, document)?,
            };
            raw_signatures.push(signature);
        }
        best.raw = best.raw.max(rate(start));

        // Ours, in a batch: every signature checked before it is returned.
        let start = Instant::now();
        let results = signer.sign_many(documents);
        best.batch = best.batch.max(rate(start));
        // Checked again, outside the timing: a figure for signatures that
        // do not verify would mean nothing.
        for (document, result) in documents.iter().zip(results) {
            public.verify_hex(document, result?.sig())?;
        }

        // Ours, one at a time.
        let start = Instant::now();
        for document in documents {
            signer.sign(document)?;
        }
        best.sequential = best.sequential.max(rate(start));
    }

    // The self-check alone, on the raw signatures in the form TUF keeps.
    let published: Vec<Vec<u8>> = match key.kind {
        KeyKind::EcdsaP256 => raw_signatures
            .iter()
            .map(|s| ecdsa_der(s))
            .collect::<Result<_, _>>()?,
        KeyKind::Ed25519 => raw_signatures,
    };
    let checking = checking_key(&key.key)?;
    for _ in 0..runs {
        let start = Instant::now();
        for (document, signature) in documents.iter().zip(&published) {
            checked_signature(&key.key, document, signature)?;
        }
        best.check = best.check.max(rate(start));
        let start = Instant::now();
        for (document, signature) in documents.iter().zip(&published) {
            checked_signature_with(&checking, document, signature)?;
        }
        best.check_predecoded = best.check_predecoded.max(rate(start));
    }
    Ok(best)
}
