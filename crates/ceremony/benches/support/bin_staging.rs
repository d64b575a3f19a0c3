//! A hash-bin staging on a go-tuf stick, built in code for the review
//! benchmark (`benches/review.rs`) and the bins screen test
//! (`src/tui/bins_tests.rs`): root v1, targets v1 delegating to
//! 2^bit_length succinct bins, and every bin staged at v2.

use std::path::{Path, PathBuf};

use tuf_metadata::testing::{TestKey, file_bytes, root, signed};
use tuf_metadata::{
    Common, DelegatedRoles, Delegations, Expires, Metadata, Object, RoleKeys, SuccinctRoles,
    TargetFile, Targets,
};

/// The staged bins expire here; the published ones a year earlier.
const STAGED_EXPIRY: &str = "2027-06-01T00:00:00Z";
const PUBLISHED_EXPIRY: &str = "2026-12-01T00:00:00Z";

/// Every `CHANGE_EVERY`th bin gets a new target in v2; the others are
/// only renewed. Bin 0 also has its target's content swapped.
pub const CHANGE_EVERY: u64 = 64;

fn targets(version: u64, expires: &str, files: Vec<(String, TargetFile)>) -> Targets {
    Targets {
        common: Common {
            spec_version: "1.0.31".into(),
            version,
            expires: Expires::parse(expires).expect("a fixed expiry"),
        },
        targets: files.into_iter().collect(),
        delegations: None,
        unrecognized: Object::new(),
    }
}

fn file(length: u64, n: u64) -> TargetFile {
    TargetFile {
        length,
        hashes: [("sha256".to_owned(), format!("{n:064x}"))].into(),
        unrecognized: Object::new(),
    }
}

/// The stick's directory (`<dir>/stick`) and each bin's published v1, in
/// bin order (for `LoadedFile::published`).
pub fn bin_staging(dir: &Path, bit_length: u32) -> (PathBuf, Vec<Targets>) {
    let owner = TestKey::from_seed(1);
    let bin_key = TestKey::from_seed(7);
    let stick = dir.join("stick");
    std::fs::create_dir_all(stick.join("repository")).expect("create repository/");
    std::fs::create_dir_all(stick.join("staged")).expect("create staged/");
    let root_v1 = signed(root(1, &[&owner], 1, "2027-06-01T00:00:00Z"), &[&owner]);
    std::fs::write(stick.join("repository/1.root.json"), file_bytes(&root_v1))
        .expect("write the root");
    let bins = SuccinctRoles {
        keys: RoleKeys {
            keyids: vec![bin_key.id()],
            threshold: 1,
            unrecognized: Object::new(),
        },
        bit_length,
        name_prefix: "bin".into(),
    };
    let mut top = targets(1, STAGED_EXPIRY, Vec::new());
    top.delegations = Some(Delegations {
        keys: [(bin_key.id(), bin_key.key().clone())].into(),
        roles: DelegatedRoles::Succinct(bins.clone()),
        unrecognized: Object::new(),
    });
    std::fs::write(
        stick.join("repository/targets.json"),
        file_bytes(&signed(top, &[&owner])),
    )
    .expect("write targets");
    let mut published = Vec::new();
    for n in 0..bins.bin_count() {
        let path = format!("files/{n}.tgz");
        let v1 = targets(1, PUBLISHED_EXPIRY, vec![(path.clone(), file(100 + n, n))]);
        let mut files = vec![(path, file(100 + n, if n == 0 { u64::MAX } else { n }))];
        if n % CHANGE_EVERY == 0 {
            files.push((format!("files/{n}-new.tgz"), file(n, n + 1)));
        }
        let v2 = Metadata::new(targets(2, STAGED_EXPIRY, files));
        let name = format!("staged/{}.json", bins.bin_name(n));
        std::fs::write(stick.join(name), file_bytes(&v2)).expect("write a bin");
        published.push(v1);
    }
    (stick, published)
}
