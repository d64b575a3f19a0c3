//! A transcript written by our own writer: one session with every kind
//! of entry, a real signature of the built-in root and a signed witness
//! sign-off; with that root as `--metadata`.
use crate::{encode, key, trusted_root};
use time::macros::datetime;
use transcript::{Event, FileDigest, Transcript, WitnessSignature};
use tuf_metadata::{Limits, Metadata};

/// The seeds, by file name.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let root_file = trusted_root();
    let root = Metadata::parse(&root_file, &Limits::ANY).expect("the built-in root parses");
    let digest = root.signed_digest();
    let sig = root.signatures()[0].sig.clone();
    let at = datetime!(2030-01-01 10:00 UTC);
    let mut t = Transcript::in_memory(false);
    let file = "tuf-ceremony/staged/root.json".to_owned();
    let events = vec![
        Event::SessionStarted {
            tool: "ceremony 0.1.0".into(),
            host_clock: "2030-01-01T09:58:00Z".into(),
            boot_files: vec![],
            network_hardware: vec!["eth0 (e1000e)".into()],
        },
        Event::HardwareAcknowledged {
            devices: vec!["eth0 (e1000e)".into()],
        },
        Event::ClockConfirmed {
            confirmed: "2030-01-01T10:00:00Z".into(),
            host_clock: "2030-01-01T09:58:00Z".into(),
        },
        Event::MediaLoaded {
            media: "/media/STICK".into(),
            layout: "tuf-repo bundle".into(),
            files: vec![FileDigest {
                file: file.clone(),
                sha256: tuf_metadata::sha256_hex(&root_file),
                size: root_file.len() as u64,
            }],
        },
        Event::TrustedRoot {
            file: file.clone(),
            version: 1,
            canonical_sha256: digest.clone(),
            pinned: false,
        },
        Event::ReviewAcknowledged {
            file: file.clone(),
            role: "root".into(),
            version: 1,
            canonical_sha256: digest.clone(),
        },
        Event::TokenRefused {
            token: "SoftHSM stranger".into(),
            reason: "holds no key of this ceremony".into(),
        },
        Event::Signed {
            file: file.clone(),
            role: "root".into(),
            version: 1,
            canonical_sha256: digest,
            keyids: vec![key().id()],
            signer: "softhsm2 alice".into(),
            signature: sig,
        },
        Event::Written {
            file: file.clone(),
            sha256: tuf_metadata::sha256_hex(&root_file),
        },
        Event::Failed {
            step: "write".into(),
            file: Some(file.clone()),
            error: "no space left".into(),
        },
        Event::StickError {
            file,
            error: "pulled".into(),
        },
    ];
    for event in events {
        t.append(at, event).expect("a seed entry is valid");
    }
    let prev = t.head();
    let witness =
        WitnessSignature::new(key().key(), hex_encode(&key().sign_bytes(prev.as_bytes())));
    t.append(
        at,
        Event::WitnessSignoff {
            name: "Wendy Witness".into(),
            statement: "I watched every step".into(),
            signature: Some(witness),
        },
    )
    .expect("a sign-off");
    t.append(
        at,
        Event::SessionFinished {
            summary: vec!["root.json v1: signed by 1 of 1".into()],
        },
    )
    .expect("the end");
    let mut text = Vec::new();
    for entry in t.entries() {
        text.extend_from_slice(serde_json::to_string(entry).expect("serializes").as_bytes());
        text.push(b'\n');
    }
    let with_metadata = encode(&[("transcript", &text), ("metadata root.json", &root_file)]);
    let rechained = encode(&[
        ("rechain", b""),
        ("transcript", &text),
        ("metadata root.json", &root_file),
    ]);
    vec![
        ("own-transcript", text),
        ("own-with-metadata", with_metadata),
        ("own-rechain", rechained),
    ]
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
