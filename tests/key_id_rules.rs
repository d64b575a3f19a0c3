//! Issue 13, points 2 and 3: one public key, one key id, everywhere we
//! write or sign; and only key encodings every major client reads. The
//! hostile inputs are made here: one P-256 key published as keytype
//! `ecdsa` and as `ecdsa-sha2-nistp256` (two key ids), and as PEM and as a
//! hex point. Each command refuses with one `error:` line and leaves every
//! file as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tuf_ceremony_e2e::repo_setup::Releaser;
use tuf_ceremony_e2e::{Run, path_str};
use tuf_metadata::{Key, Metadata, json};

/// One P-256 key (Python `cryptography`, private scalar 0x1234567890abcdef)
/// as a hex point and as the PEM SPKI it writes.
const POINT: &str = "049fad84aeae08bbef7f010014d82cef6a09de2b0cf871b5ce0c4f1d13a59a5934\
07cb45769f1070e2c2470fe5b1bfe63133c0b0cdc64ea4bf3791a8ec2a07fd4f";
const PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEn62Erq4Iu+9/AQAU2CzvagneKwz4\n\
cbXODE8dE6WaWTQHy0V2nxBw4sJHD+Wxv+YxM8CwzcZOpL83kajsKgf9Tw==\n\
-----END PUBLIC KEY-----\n";

fn carol(keytype: &str, public: &str) -> Key {
    Key {
        keytype: keytype.into(),
        scheme: "ecdsa-sha2-nistp256".into(),
        public: public.into(),
        keyval_rest: Default::default(),
        unrecognized: Default::default(),
    }
}

/// A public key file as `ceremony onboard` writes it (without a token).
fn key_file(dir: &Path, name: &str, key: &Key) -> PathBuf {
    let body = String::from_utf8(json::to_pretty(&key.to_value())).unwrap();
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(r#"{{"keyid": "{}", "key": {body}}}"#, key.key_id()),
    )
    .unwrap();
    path
}

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// Exit code 1 and exactly one `error:` line holding every word in `words`.
fn refused(run: &Run, words: &[&str]) {
    assert_eq!(run.code, Some(1), "{run:?}");
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{run:?}");
    for word in words {
        assert!(errors[0].contains(word), "{word:?} not in {:?}", errors[0]);
    }
}

struct Fixture {
    releaser: Releaser,
    repo: PathBuf,
    same: PathBuf,
    again: PathBuf,
    hex: PathBuf,
}

fn fixture() -> Fixture {
    let releaser = Releaser::new(&[("alice", "ed25519")], true);
    let repo = releaser.published_v1("alice");
    let dir = releaser.path("");
    Fixture {
        same: key_file(&dir, "carol.pub.json", &carol("ecdsa", PEM)),
        again: key_file(
            &dir,
            "carol-again.pub.json",
            &carol("ecdsa-sha2-nistp256", PEM),
        ),
        hex: key_file(&dir, "carol-hex.pub.json", &carol("ecdsa", POINT)),
        releaser,
        repo,
    }
}

#[test]
fn one_public_key_under_two_key_ids_is_refused_everywhere_we_write_or_sign() {
    let f = fixture();
    let repo = path_str(&f.repo);
    let (id, again_id) = (
        carol("ecdsa", PEM).key_id(),
        carol("ecdsa-sha2-nistp256", PEM).key_id(),
    );
    let (first, second) = if id < again_id {
        (&id, &again_id)
    } else {
        (&again_id, &id)
    };
    let before = tree(&f.repo);

    // stage-rotation: nothing staged, no bundle on the stick.
    let stick = f.releaser.path("stick-dup");
    let run = f.releaser.tuf_repo(&[
        "stage-rotation",
        repo,
        "--out",
        path_str(&stick),
        "--add-root-key",
        path_str(&f.same),
        "--add-root-key",
        path_str(&f.again),
        "--root-threshold",
        "2",
    ]);
    refused(
        &run,
        &[
            "root.json",
            "root role",
            &first[..8],
            &second[..8],
            "one public key",
        ],
    );
    assert_eq!(
        tree(&f.repo),
        before,
        "stage-rotation wrote into the repository"
    );
    assert!(tree(&stick).is_empty(), "stage-rotation wrote a bundle");

    // delegate: the delegator is byte-identical, no role staged.
    let run = f.releaser.tuf_repo(&[
        "delegate",
        repo,
        "--name",
        "team",
        "--key",
        path_str(&f.same),
        "--key",
        path_str(&f.again),
        "--threshold",
        "1",
        "--paths",
        "team/*",
    ]);
    refused(&run, &["targets", "team role", "one public key"]);
    assert_eq!(tree(&f.repo), before, "delegate wrote into the repository");

    // init: the new repository stays empty.
    let fresh = f.releaser.path("fresh");
    let run = f.releaser.tuf_repo(&[
        "init",
        path_str(&fresh),
        "--root-key",
        path_str(&f.same),
        "--root-key",
        path_str(&f.again),
        "--root-threshold",
        "1",
        "--snapshot-key",
        path_str(&f.releaser.path("snapshot.pub.json")),
        "--timestamp-key",
        path_str(&f.releaser.path("timestamp.pub.json")),
        "--online-snapshot-age",
        path_str(&f.releaser.path("snapshot.age")),
        "--online-timestamp-age",
        path_str(&f.releaser.path("timestamp.age")),
    ]);
    // The targets role defaults to the root keys: both roles list them.
    refused(
        &run,
        &["root.json", "roles root, targets", "one public key"],
    );
    assert!(
        tree(&fresh).is_empty(),
        "init wrote {:?}",
        tree(&fresh).keys()
    );

    // ceremony sign: a root v2 listing carol twice, staged by hand, is not
    // signed and the file is unchanged.
    let trusted = f.repo.join("repository/1.root.json");
    let trusted_root =
        Metadata::<tuf_metadata::Root>::parse_root(&std::fs::read(&trusted).unwrap()).unwrap();
    let mut root = trusted_root.signed().clone();
    root.common.version += 1;
    for key in [carol("ecdsa", PEM), carol("ecdsa-sha2-nistp256", PEM)] {
        root.roles
            .get_mut("root")
            .unwrap()
            .keyids
            .push(key.key_id());
        root.keys.insert(key.key_id(), key);
    }
    let hostile = f.releaser.path("stick-hand/tuf-ceremony/staged/root.json");
    std::fs::create_dir_all(hostile.parent().unwrap()).unwrap();
    let bytes = json::to_pretty(&Metadata::new(root).to_value());
    std::fs::write(&hostile, &bytes).unwrap();
    std::fs::copy(
        &trusted,
        f.releaser.path("stick-hand/tuf-ceremony/trusted.json"),
    )
    .unwrap();
    let run = f.releaser.sign(
        &f.releaser.path("stick-hand"),
        "staged/root.json",
        &["--trusted", "trusted.json"],
        "alice",
    );
    refused(&run, &["root role", &first[..8], "one public key"]);
    assert_eq!(
        std::fs::read(&hostile).unwrap(),
        bytes,
        "ceremony sign wrote"
    );
}

#[test]
fn a_new_key_only_some_clients_can_read_is_refused_naming_them() {
    let f = fixture();
    let repo = path_str(&f.repo);
    let before = tree(&f.repo);
    let stick = f.releaser.path("stick-hex");
    let run = f.releaser.tuf_repo(&[
        "stage-rotation",
        repo,
        "--out",
        path_str(&stick),
        "--add-root-key",
        path_str(&f.hex),
    ]);
    refused(&run, &["root.json", "hex point", "python-tuf", "tough"]);
    assert_eq!(tree(&f.repo), before);
    assert!(tree(&stick).is_empty());

    // The portable form of the same key is staged.
    let stick = f.releaser.path("stick-pem");
    let run = f.releaser.tuf_repo(&[
        "stage-rotation",
        repo,
        "--out",
        path_str(&stick),
        "--add-root-key",
        path_str(&f.same),
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");

    // merge: the repository's staged root, edited by hand to list carol a
    // second time, is refused and nothing is merged or written.
    let staged = f.repo.join("staged/root.json");
    let mut root = Metadata::<tuf_metadata::Root>::parse_root(&std::fs::read(&staged).unwrap())
        .unwrap()
        .signed()
        .clone();
    let again = carol("ecdsa-sha2-nistp256", PEM);
    root.roles
        .get_mut("root")
        .unwrap()
        .keyids
        .push(again.key_id());
    root.keys.insert(again.key_id(), again);
    std::fs::write(&staged, json::to_pretty(&Metadata::new(root).to_value())).unwrap();
    let before = tree(&f.repo);
    let run = f.releaser.tuf_repo(&["merge", repo, path_str(&stick)]);
    refused(&run, &["root.json", "root role", "one public key"]);
    assert_eq!(tree(&f.repo), before, "merge wrote into the repository");
}
