//! A bundle made with our own manifest writer: history roots 1 and 2,
//! a staged root 3 and a staged first targets, and a link to a root
//! outside the stick.
use crate::{encode, key};
use bundle_format::{Item, KeySetEntry, Manifest};
use tuf_metadata::testing::{TestKey, file_bytes, root, signed};
use tuf_metadata::{Common, Expires, Object, Targets};

fn item(file: &str, role: &str, version: u64, digest: &str) -> Item {
    Item {
        file: file.into(),
        role: role.into(),
        delegator: None,
        published: None,
        version,
        canonical_sha256: digest.into(),
        key_sets: vec![KeySetEntry::new(
            "root v2 (trusted)",
            1,
            vec![key().id().to_string()],
        )],
        unknown: Default::default(),
    }
}

/// The seeds, by file name.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let later = "2100-01-01T00:00:00Z";
    let next = TestKey::from_seed(8);
    let v1 = file_bytes(&signed(root(1, &[key()], 1, later), &[key()]));
    let v2 = file_bytes(&signed(root(2, &[key()], 1, later), &[key()]));
    let v3 = signed(root(3, &[key(), &next], 1, later), &[]);
    let targets = signed(
        Targets {
            common: Common {
                spec_version: "1.0.31".into(),
                version: 1,
                expires: Expires::parse(later).unwrap(),
            },
            targets: Default::default(),
            delegations: None,
            unrecognized: Object::new(),
        },
        &[],
    );
    let manifest = Manifest::new(
        "fuzz",
        "2030-01-01T00:00:00Z",
        vec![
            item("staged/root.json", "root", 3, &v3.signed_digest()),
            item(
                "staged/targets.json",
                "targets",
                1,
                &targets.signed_digest(),
            ),
        ],
    )
    .to_bytes();
    let bundle = encode(&[
        ("file tuf-ceremony/manifest.json", &manifest),
        ("file tuf-ceremony/repository/1.root.json", &v1),
        ("file tuf-ceremony/repository/2.root.json", &v2),
        ("file tuf-ceremony/staged/root.json", &file_bytes(&v3)),
        (
            "file tuf-ceremony/staged/targets.json",
            &file_bytes(&targets),
        ),
    ]);
    let linked = encode(&[
        ("file tuf-ceremony/manifest.json", &manifest),
        (
            "link tuf-ceremony/repository/1.root.json",
            b"../../../outside/root.json",
        ),
        ("file tuf-ceremony/staged/root.json", &file_bytes(&v3)),
    ]);
    let go_tuf = encode(&[
        ("file repository/1.root.json", &v1),
        ("file repository/2.root.json", &v2),
        ("file staged/root.json", &file_bytes(&v3)),
        ("file staged/targets.json", &file_bytes(&targets)),
    ]);
    let pinned = encode(&[
        ("pinned", &v1),
        ("file metadata/root.json", &file_bytes(&v3)),
        ("file metadata/root_history/1.root.json", &v1),
        ("file metadata/root_history/2.root.json", &v2),
    ]);
    vec![
        ("own-bundle", bundle),
        ("own-linked", linked),
        ("own-go-tuf", go_tuf),
        ("own-tuf-on-ci-pinned", pinned),
    ]
}
