//! `cargo bench -p tuf-metadata`: canonical encoding throughput, and the
//! parse + verify of one hash-bin role against the bare signature check, for
//! Ed25519 and P-256.
//!
//! Why it exists: the same questions `cargo xtask bench` answers against
//! python-tuf on a 16,384-bin tree (is encoding fast, does parsing add little
//! to the signature check), asked without python, so that a change to the
//! parser or encoder can be measured on its own with criterion's statistics
//! and its comparison with the previous run. The tree is made here, in Rust,
//! the way `tests/fixtures/make_hashbins.py` makes it: a succinct hash-bin
//! delegation, four made-up targets per bin, one key for all bins (ecdsa keys
//! published as PEM, as python-tuf publishes them), files written by
//! `json::to_pretty` as python-tuf writes them.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ring::rand::SystemRandom;
use ring::signature::{self as sig, KeyPair as _};
use tuf_metadata::json::{self, Object, Value};
use tuf_metadata::signing::{self, CheckedSignature, CheckingKey, KeySet};
use tuf_metadata::{
    Common, DelegatedRoles, Delegations, Expires, Key, KeyRing, Limits, Metadata, PublicKey,
    RoleKeys, SuccinctRoles, TargetFile, Targets, canonical,
};

/// 2^6 = 64 bins: enough distinct files for the encoding figure, quick to sign.
const BIT_LENGTH: u32 = 6;

/// As in `make_hashbins.py`.
const TARGETS_PER_BIN: usize = 4;

/// The key types of `cargo xtask bench` (its directory names).
#[derive(Clone, Copy)]
enum KeyType {
    Ed25519,
    Ecdsa,
}

impl KeyType {
    fn name(self) -> &'static str {
        match self {
            KeyType::Ed25519 => "ed25519",
            KeyType::Ecdsa => "ecdsa",
        }
    }
}

/// A bin signing key made by ring.
enum Signer {
    Ed25519(sig::Ed25519KeyPair),
    Ecdsa(sig::EcdsaKeyPair),
}

impl Signer {
    fn generate(keytype: KeyType, rng: &SystemRandom) -> Self {
        match keytype {
            KeyType::Ed25519 => {
                let pkcs8 = sig::Ed25519KeyPair::generate_pkcs8(rng).expect("ed25519 key");
                Signer::Ed25519(sig::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("pkcs8"))
            }
            KeyType::Ecdsa => {
                let alg = &sig::ECDSA_P256_SHA256_ASN1_SIGNING;
                let pkcs8 = sig::EcdsaKeyPair::generate_pkcs8(alg, rng).expect("p-256 key");
                Signer::Ecdsa(
                    sig::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), rng).expect("pkcs8"),
                )
            }
        }
    }

    /// The public key object as python-tuf publishes it.
    fn key(&self) -> Key {
        let (keytype, scheme, public) = match self {
            Signer::Ed25519(pair) => ("ed25519", "ed25519", hex::encode(pair.public_key())),
            Signer::Ecdsa(pair) => ("ecdsa", "ecdsa-sha2-nistp256", p256_pem(pair.public_key())),
        };
        Key {
            keytype: keytype.into(),
            scheme: scheme.into(),
            public,
            keyval_rest: Object::new(),
            unrecognized: Object::new(),
        }
    }

    fn sign(&self, message: &[u8], rng: &SystemRandom) -> Vec<u8> {
        match self {
            Signer::Ed25519(pair) => pair.sign(message).as_ref().to_vec(),
            Signer::Ecdsa(pair) => pair.sign(rng, message).expect("sign").as_ref().to_vec(),
        }
    }
}

/// A P-256 public key (uncompressed SEC1 point) as an SPKI PEM.
fn p256_pem(point: &impl AsRef<[u8]>) -> String {
    // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (66 bytes) }
    const SPKI_PREFIX: &str = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
    let mut der = hex::decode(SPKI_PREFIX).expect("hex");
    der.extend_from_slice(point.as_ref());
    let b64 = base64(&der);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("ascii"));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

/// Standard base64 with padding (only for the PEM above).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One small hash-bin tree, signed and written out as files.
struct Tree {
    /// The delegating role's delegations.
    delegations: Delegations,
    /// `(role name, file bytes)` of every bin.
    bins: Vec<(String, Vec<u8>)>,
    /// The bins' key, decoded.
    public: PublicKey,
}

fn make_tree(keytype: KeyType) -> Tree {
    let rng = SystemRandom::new();
    let signer = Signer::generate(keytype, &rng);
    let key = signer.key();
    let key_id = key.key_id();
    let succinct = SuccinctRoles {
        keys: RoleKeys {
            keyids: vec![key_id.clone()],
            threshold: 1,
            unrecognized: Object::new(),
        },
        bit_length: BIT_LENGTH,
        name_prefix: "bin".into(),
    };
    let checking = CheckingKey::new(&key).expect("the key decodes");
    let key_set = [KeySet {
        label: "bins".into(),
        role: succinct.keys.clone(),
        keys: BTreeMap::from([(key_id.clone(), key.clone())]),
    }];
    let common = Common {
        spec_version: "1.0.31".into(),
        version: 1,
        expires: Expires::parse("2040-01-01T00:00:00Z").expect("expiry"),
    };

    // Made-up target paths, TARGETS_PER_BIN of them hashing into each bin.
    let count = succinct.bin_count() as usize;
    let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut missing = count * TARGETS_PER_BIN;
    let mut i = 0;
    while missing > 0 {
        let path = format!("packages/{:02x}/pkg-{i}-1.0.tar.gz", i % 251);
        i += 1;
        let bin = paths.entry(succinct.bin_for_target(&path)).or_default();
        if bin.len() < TARGETS_PER_BIN {
            bin.push(path);
            missing -= 1;
        }
    }

    let mut n = 0;
    let bins = (0..count as u64)
        .map(|b| {
            let name = succinct.bin_name(b);
            let mut targets = BTreeMap::new();
            for path in &paths[&name] {
                let content = format!("made-up content of {path}\n").repeat(1 + n % 7);
                n += 1;
                let digest = ring::digest::digest(&ring::digest::SHA256, content.as_bytes());
                let hashes = BTreeMap::from([("sha256".to_owned(), hex::encode(digest))]);
                let file = TargetFile {
                    length: content.len() as u64,
                    hashes,
                    unrecognized: Object::new(),
                };
                targets.insert(path.clone(), file);
            }
            let mut md = Metadata::new(Targets {
                common: common.clone(),
                targets,
                delegations: None,
                unrecognized: Object::new(),
            });
            let signature = signer.sign(md.signed_bytes(), &rng);
            let checked = CheckedSignature::check(&checking, md.signed_bytes(), &signature)
                .expect("the signature verifies");
            signing::record(&mut md, &key_set, &checked).expect("one signature");
            (name, json::to_pretty(&md.to_value()))
        })
        .collect();

    let public = key.public_key().expect("the key decodes");
    Tree {
        delegations: Delegations {
            keys: BTreeMap::from([(key_id, key)]),
            roles: DelegatedRoles::Succinct(succinct),
            unrecognized: Object::new(),
        },
        bins,
        public,
    }
}

/// What a client does with one downloaded bin; true if its threshold is met.
fn parse_verify(tree: &Tree, name: &str, bytes: &[u8]) -> bool {
    let Ok(md) = Metadata::parse(bytes, &Limits::ANY).and_then(|m| Ok(m.into_targets()?)) else {
        return false;
    };
    let Some(role) = tree.delegations.role_keys(name) else {
        return false;
    };
    KeyRing::new(&tree.delegations.keys)
        .check(role, md.signed_bytes(), md.signatures())
        .is_met()
}

fn encoding(c: &mut Criterion) {
    // The list of every bin's `signed` object: what `cargo xtask bench`
    // encodes on both sides.
    let tree = make_tree(KeyType::Ed25519);
    let list = Value::Array(
        tree.bins
            .iter()
            .map(
                |(_, bytes)| match json::parse(bytes, json::DEFAULT_MAX_BYTES) {
                    Ok(Value::Object(mut envelope)) => envelope.remove("signed").expect("signed"),
                    other => panic!("not a metadata file: {other:?}"),
                },
            )
            .collect(),
    );
    let mut out = Vec::new();
    canonical::encode_into(&list, &mut out);
    let mut group = c.benchmark_group("canonical_encode");
    group.throughput(Throughput::Bytes(out.len() as u64));
    group.bench_function("hashbin_signed_list", |b| {
        b.iter(|| {
            out.clear();
            canonical::encode_into(black_box(&list), &mut out);
            out.len()
        })
    });
    group.bench_function("hashbin_signed_list_fresh_vec", |b| {
        b.iter(|| canonical::encode(black_box(&list)))
    });
    group.finish();
}

fn hashbins(c: &mut Criterion) {
    for keytype in [KeyType::Ed25519, KeyType::Ecdsa] {
        let tree = make_tree(keytype);
        for (name, bytes) in &tree.bins {
            assert!(parse_verify(&tree, name, bytes), "{name} does not verify");
        }
        let (name, bytes) = &tree.bins[0];
        let md = Metadata::parse(bytes, &Limits::ANY).expect("parses");
        let signed_bytes = md.signed_bytes().to_vec();
        let signature = hex::decode(&md.signatures()[0].sig).expect("hex");
        assert!(tree.public.verify(&signed_bytes, &signature).is_ok());

        let mut group = c.benchmark_group(format!("hashbin_{}", keytype.name()));
        group.bench_function("parse_verify", |b| {
            b.iter(|| assert!(parse_verify(&tree, black_box(name), black_box(bytes))))
        });
        group.bench_function("parse", |b| {
            b.iter(|| Metadata::parse(black_box(bytes), &Limits::ANY).map(|m| m.into_targets()))
        });
        group.bench_function("bare_verify_ring", |b| {
            b.iter(|| {
                assert!(
                    tree.public
                        .verify(black_box(&signed_bytes), black_box(&signature))
                        .is_ok()
                )
            })
        });
        group.bench_function("bare_verify_rustcrypto", |b| {
            b.iter(|| assert!(rustcrypto_verify(&tree.public, &signed_bytes, &signature)))
        });
        group.finish();
    }
}

/// The same check with ed25519-dalek / p256, the key decoded per check as
/// ring does.
fn rustcrypto_verify(public: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
    use ed25519_dalek::Verifier as _;
    match black_box(public) {
        PublicKey::Ed25519(raw) => {
            let Ok(signature) = <[u8; 64]>::try_from(signature) else {
                return false;
            };
            ed25519_dalek::VerifyingKey::from_bytes(raw).is_ok_and(|key| {
                key.verify(message, &ed25519_dalek::Signature::from_bytes(&signature))
                    .is_ok()
            })
        }
        PublicKey::EcdsaP256(point) => {
            let Ok(signature) = p256::ecdsa::DerSignature::try_from(signature) else {
                return false;
            };
            p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .is_ok_and(|key| key.verify(message, &signature).is_ok())
        }
        PublicKey::Rsa { .. } => false,
    }
}

criterion_group!(benches, encoding, hashbins);
criterion_main!(benches);
