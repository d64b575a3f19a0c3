//! The client workflow against an in-memory repository: the runbooks
//! (first refresh, key rotations, delegations) and the attacks of the TUF
//! spec (rollback, freeze, mix-and-match, endless data, wrong hashes,
//! hostile names, tampered caches).

mod simulator;

use std::path::Path;

use simulator::{FAR, NOW, PAST, Sim, common, sha256, sign};
use tempfile::TempDir;
use time::macros::datetime;
use tuf_client::updater::{ROOT_MAX_BYTES, TIMESTAMP_MAX_BYTES};
use tuf_client::{ClientError, FetchError, TargetInfo, Updater};
use tuf_metadata::{Expires, Object, RoleScope, Value};

/// A client initialised with the simulator's root v1.
fn client(sim: &Sim) -> (TempDir, Updater) {
    let dir = tempfile::tempdir().unwrap();
    Updater::init(dir.path(), &sim.root_bytes(1)).unwrap();
    let updater = Updater::open(dir.path()).unwrap();
    (dir, updater)
}

fn refreshed(sim: &Sim) -> (TempDir, Updater) {
    let (dir, mut updater) = client(sim);
    updater.refresh(sim, NOW).unwrap();
    (dir, updater)
}

fn paths(scope: &[&str]) -> RoleScope {
    RoleScope::Paths(scope.iter().map(|s| s.to_string()).collect())
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn trusted_version(dir: &Path, name: &str) -> u64 {
    let bytes = std::fs::read(dir.join(name)).unwrap();
    tuf_metadata::Metadata::parse(&bytes, &tuf_metadata::Limits::ANY)
        .unwrap()
        .signed()
        .common()
        .version
}

// ---------------------------------------------------------------- runbooks

#[test]
fn fresh_init_and_refresh_then_download_once() {
    let mut sim = Sim::new();
    sim.add_target("targets", "dir/file.txt", b"hello");
    sim.targets.common.version = 2;
    sim.bump();
    let (dir, mut updater) = refreshed(&sim);
    assert_eq!(
        files_in(dir.path()),
        [
            "root.json",
            "snapshot.json",
            "targets.json",
            "timestamp.json"
        ]
    );
    assert_eq!(trusted_version(dir.path(), "targets.json"), 2);
    let info = updater.find_target(&sim, "dir/file.txt", NOW).unwrap();
    assert_eq!(info.length, 5);
    let out = tempfile::tempdir().unwrap();
    sim.clear_log();
    let file = updater
        .download_target(&info, &sim.target_base(), out.path())
        .unwrap();
    assert_eq!(file, out.path().join("dir%2Ffile.txt"));
    assert_eq!(std::fs::read(&file).unwrap(), b"hello");
    assert_eq!(
        sim.requests(),
        [format!("targets/dir/{}.file.txt", sha256(b"hello"))]
    );
    // Already there with the right hashes: not fetched again.
    sim.clear_log();
    updater
        .download_target(&info, &sim.target_base(), out.path())
        .unwrap();
    assert!(sim.requests().is_empty());
    // A corrupted local copy is replaced.
    std::fs::write(&file, b"HELLO").unwrap();
    updater
        .download_target(&info, &sim.target_base(), out.path())
        .unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"hello");
    assert_eq!(files_in(out.path()), ["dir%2Ffile.txt"]);
}

#[test]
fn find_target_refreshes_first_and_a_missing_target_is_an_error() {
    let sim = Sim::new();
    let (_dir, mut updater) = client(&sim);
    let err = updater.find_target(&sim, "nope", NOW).unwrap_err();
    assert!(matches!(err, ClientError::TargetNotFound { .. }), "{err}");
    assert!(sim.requests().contains(&"timestamp.json".to_owned()));
    assert_eq!(
        err.to_string(),
        "target nope: no trusted targets role lists it"
    );
}

#[test]
fn non_consistent_snapshot_repositories_use_plain_names() {
    let mut sim = Sim::new();
    sim.root.consistent_snapshot = Some(false);
    sim.publish_root();
    sim.add_target("targets", "a.txt", b"abc");
    sim.publish();
    // The same bytes under unversioned names.
    let targets = sim.file("1.targets.json");
    sim.serve("targets.json", targets);
    let snapshot = sim.file("1.snapshot.json");
    sim.serve("snapshot.json", snapshot);
    sim.serve("targets/a.txt", b"abc".to_vec());
    let (_dir, mut updater) = refreshed(&sim);
    let info = updater.find_target(&sim, "a.txt", NOW).unwrap();
    let out = tempfile::tempdir().unwrap();
    updater
        .download_target(&info, &sim.target_base(), out.path())
        .unwrap();
    let requests = sim.requests();
    assert!(
        requests.contains(&"snapshot.json".to_owned()),
        "{requests:?}"
    );
    assert!(
        requests.contains(&"targets.json".to_owned()),
        "{requests:?}"
    );
    assert!(
        requests.contains(&"targets/a.txt".to_owned()),
        "{requests:?}"
    );
}

#[test]
fn rotating_every_roles_keys_is_followed() {
    let mut sim = Sim::new();
    let (dir, mut updater) = refreshed(&sim);
    sim.rotate_root(|s| {
        s.set_role("root", &[11, 12], 2);
        s.set_role("targets", &[13], 1);
        s.set_role("snapshot", &[14], 1);
        s.set_role("timestamp", &[15], 1);
    });
    sim.targets.common.version += 1;
    sim.bump();
    updater.refresh(&sim, NOW).unwrap();
    assert_eq!(updater.trusted_root().signed().common.version, 2);
    assert_eq!(trusted_version(dir.path(), "root.json"), 2);
    assert_eq!(trusted_version(dir.path(), "targets.json"), 2);
    // A fresh process trusts root v2 from disk.
    let again = Updater::open(dir.path()).unwrap();
    assert_eq!(again.trusted_root().signed().common.version, 2);
}

#[test]
fn a_rotation_chain_1_2_3_is_followed_in_one_refresh() {
    let mut sim = Sim::new();
    let (dir, mut updater) = client(&sim);
    sim.rotate_root(|s| s.set_role("root", &[21], 1));
    sim.rotate_root(|s| s.set_role("root", &[22], 1));
    updater.refresh(&sim, NOW).unwrap();
    assert_eq!(trusted_version(dir.path(), "root.json"), 3);
    let requests = sim.requests();
    assert_eq!(
        requests[..3],
        ["2.root.json", "3.root.json", "4.root.json"],
        "{requests:?}"
    );
    assert_eq!(sim.log.borrow()[0].1, ROOT_MAX_BYTES);
}

#[test]
fn a_next_root_missing_the_old_threshold_is_refused() {
    let mut sim = Sim::new();
    let (dir, mut updater) = client(&sim);
    sim.root.common.version = 2;
    sim.set_role("root", &[31], 1);
    sim.publish_root(); // signed by the new key only
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert!(matches!(err, ClientError::RootUpdate { .. }), "{err}");
    assert!(
        err.to_string().starts_with("2.root.json: not trusted"),
        "{err}"
    );
    assert_eq!(trusted_version(dir.path(), "root.json"), 1);
}

#[test]
fn a_root_skipping_a_version_is_refused() {
    let mut sim = Sim::new();
    let (_dir, mut updater) = client(&sim);
    sim.root.common.version = 3;
    let bytes = sign(sim.root.clone(), &[1]);
    sim.serve("2.root.json", bytes);
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert!(err.to_string().contains("does not follow"), "{err}");
}

#[test]
fn an_expired_final_root_is_refused_but_an_expired_intermediate_one_is_not() {
    let mut sim = Sim::new();
    let (dir, mut updater) = client(&sim);
    sim.rotate_root(|s| s.root.common.expires = Expires::parse(PAST).unwrap());
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert!(matches!(err, ClientError::Expired { .. }), "{err}");
    assert!(
        err.to_string().starts_with("root.json (v2): expired"),
        "{err}"
    );
    // v2 was trusted (both thresholds) and kept, as the spec says.
    assert_eq!(trusted_version(dir.path(), "root.json"), 2);
    sim.rotate_root(|s| s.root.common.expires = Expires::parse(FAR).unwrap());
    updater.refresh(&sim, NOW).unwrap();
    assert_eq!(trusted_version(dir.path(), "root.json"), 3);
}

#[test]
fn timestamp_key_rotation_clears_the_cache_so_a_fast_forward_is_recovered() {
    let mut sim = Sim::new();
    // An attacker with the old timestamp key fast-forwarded clients.
    sim.timestamp.common.version = 100;
    sim.publish_timestamp();
    let (dir, mut updater) = refreshed(&sim);
    assert_eq!(trusted_version(dir.path(), "timestamp.json"), 100);
    // Without a key rotation, the repository cannot go back.
    sim.timestamp.common.version = 2;
    sim.publish_timestamp();
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert!(matches!(err, ClientError::Rollback { .. }), "{err}");
    // The timestamp key is rotated: the cached timestamp is discarded.
    sim.rotate_root(|s| s.set_role("timestamp", &[41], 1));
    sim.publish_timestamp();
    updater.refresh(&sim, NOW).unwrap();
    assert_eq!(updater.trusted_timestamp().unwrap().common.version, 2);
    assert_eq!(trusted_version(dir.path(), "timestamp.json"), 2);
}

#[test]
fn snapshot_key_rotation_clears_the_cache_so_a_fast_forward_is_recovered() {
    let mut sim = Sim::new();
    sim.snapshot.common.version = 100;
    sim.timestamp.common.version = 2;
    sim.publish();
    let (dir, mut updater) = refreshed(&sim);
    assert_eq!(trusted_version(dir.path(), "snapshot.json"), 100);
    sim.snapshot.common.version = 3;
    sim.timestamp.common.version = 3;
    sim.publish();
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert!(
        err.to_string().contains(
            "snapshot (as the timestamp lists it) version 3 is below the trusted version 100"
        ),
        "{err}"
    );
    sim.rotate_root(|s| s.set_role("snapshot", &[42], 1));
    sim.timestamp.common.version = 4;
    sim.publish();
    updater.refresh(&sim, NOW).unwrap();
    assert_eq!(trusted_version(dir.path(), "snapshot.json"), 3);
}

// ---------------------------------------------------------------- attacks

#[test]
fn a_timestamp_rollback_is_refused() {
    let mut sim = Sim::new();
    sim.bump();
    sim.bump();
    let (dir, mut updater) = refreshed(&sim);
    sim.timestamp.common.version = 2;
    sim.publish_timestamp();
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert_eq!(
        err.to_string(),
        "timestamp.json: timestamp version 2 is below the trusted version 3 (rollback refused)"
    );
    assert_eq!(trusted_version(dir.path(), "timestamp.json"), 3);
}

#[test]
fn a_snapshot_rollback_in_the_timestamp_is_refused() {
    let mut sim = Sim::new();
    sim.bump();
    sim.bump();
    let (_dir, mut updater) = refreshed(&sim);
    sim.snapshot.common.version = 2;
    sim.timestamp.common.version = 4;
    sim.publish();
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert!(matches!(err, ClientError::Rollback { .. }), "{err}");
}

#[test]
fn a_targets_rollback_in_the_snapshot_is_refused() {
    let mut sim = Sim::new();
    sim.targets.common.version = 2;
    sim.bump();
    let (_dir, mut updater) = refreshed(&sim);
    sim.targets.common.version = 1;
    sim.bump();
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert_eq!(
        err.to_string(),
        "3.snapshot.json: targets.json version 1 is below the trusted version 2 (rollback refused)"
    );
}

#[test]
fn a_snapshot_dropping_a_role_is_refused() {
    let mut sim = Sim::new();
    sim.delegate("targets", "a", &[50], 1, paths(&["*"]), false);
    sim.targets.common.version = 2;
    sim.bump();
    let (_dir, mut updater) = refreshed(&sim);
    sim.snapshot.common.version += 1;
    sim.timestamp.common.version += 1;
    sim.snapshot.meta.remove("a.json");
    sim.publish_snapshot();
    sim.publish_timestamp();
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert!(matches!(err, ClientError::RoleDropped { .. }), "{err}");
}

#[test]
fn freeze_an_expired_timestamp_is_refused_even_at_the_same_version() {
    let mut sim = Sim::new();
    sim.timestamp.common.expires = Expires::parse("2030-01-02T00:00:00Z").unwrap();
    sim.publish_timestamp();
    let (dir, mut updater) = refreshed(&sim);
    // The repository (or an attacker) keeps serving the same timestamp.
    let later = datetime!(2030-01-03 0:00 UTC);
    let err = updater.refresh(&sim, later).unwrap_err();
    assert!(matches!(err, ClientError::Expired { .. }), "{err}");
    // A newer but expired timestamp is refused and not kept.
    sim.timestamp.common.version = 2;
    sim.publish_timestamp();
    let err = updater.refresh(&sim, later).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("timestamp.json: expired at 2030-01-02T00:00:00Z"),
        "{err}"
    );
    assert_eq!(trusted_version(dir.path(), "timestamp.json"), 1);
}

#[test]
fn expired_snapshot_and_targets_are_refused() {
    let mut sim = Sim::new();
    sim.snapshot.common.expires = Expires::parse(PAST).unwrap();
    sim.publish();
    let (_dir, mut updater) = client(&sim);
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert!(
        err.to_string().starts_with("1.snapshot.json: expired"),
        "{err}"
    );

    let mut sim = Sim::new();
    sim.targets.common.expires = Expires::parse(PAST).unwrap();
    sim.publish();
    let (_dir, mut updater) = client(&sim);
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert!(
        err.to_string().starts_with("1.targets.json: expired"),
        "{err}"
    );
}

#[test]
fn mix_and_match_versions_that_differ_from_the_listed_ones_are_refused() {
    // timestamp lists snapshot v2, but 2.snapshot.json holds v1.
    let mut sim = Sim::new();
    let old = sim.file("1.snapshot.json");
    sim.bump();
    sim.serve("2.snapshot.json", old);
    let (_dir, mut updater) = client(&sim);
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert_eq!(
        err.to_string(),
        "2.snapshot.json: version 1, but timestamp v2 lists version 2"
    );
    // snapshot lists targets v2, but 2.targets.json holds v1.
    let mut sim = Sim::new();
    let old = sim.file("1.targets.json");
    sim.targets.common.version = 2;
    sim.bump();
    sim.serve("2.targets.json", old);
    let (_dir, mut updater) = client(&sim);
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert!(matches!(err, ClientError::VersionMismatch { .. }), "{err}");
}

/// The same JSON with one space turned into a newline: same length, same
/// canonical form (signatures still verify), different hash.
fn same_length_other_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    let i = bytes.windows(2).position(|w| w == b": ").unwrap() + 1;
    bytes[i] = b'\n';
    bytes
}

#[test]
fn wrong_length_or_hashes_of_snapshot_and_targets_are_refused() {
    for file in ["1.snapshot.json", "1.targets.json"] {
        let mut sim = Sim::new();
        sim.meta_hashes = true;
        sim.publish();
        let good = sim.file(file);
        let mut longer = good.clone();
        longer.push(b'\n');
        sim.serve(file, longer);
        let (_dir, mut updater) = client(&sim);
        let err = updater.refresh(&sim, NOW).unwrap_err();
        // The listed length is the cap: one byte more is never read.
        assert!(
            matches!(
                err,
                ClientError::Fetch {
                    cause: FetchError::TooLong { .. },
                    ..
                }
            ),
            "{file}: {err}"
        );
        let mut shorter = good.clone();
        shorter.pop();
        sim.serve(file, shorter);
        let err = updater.refresh(&sim, NOW).unwrap_err();
        assert!(
            matches!(err, ClientError::LengthMismatch { .. }),
            "{file}: {err}"
        );
        sim.serve(file, same_length_other_bytes(&good));
        let err = updater.refresh(&sim, NOW).unwrap_err();
        assert!(
            matches!(err, ClientError::HashMismatch { .. }),
            "{file}: {err}"
        );
        sim.serve(file, good);
        updater.refresh(&sim, NOW).unwrap();
    }
}

#[test]
fn wrong_length_or_hashes_of_a_target_file_are_refused() {
    let mut sim = Sim::new();
    sim.add_target("targets", "t.bin", b"0123456789");
    sim.publish();
    let (_dir, mut updater) = refreshed(&sim);
    let info = updater.find_target(&sim, "t.bin", NOW).unwrap();
    let served = format!("targets/{}.t.bin", sha256(b"0123456789"));
    let out = tempfile::tempdir().unwrap();
    for (bytes, expect) in [
        (&b"0123456789!"[..], "TooLong"),
        (&b"012345678"[..], "LengthMismatch"),
        (&b"9876543210"[..], "HashMismatch"),
    ] {
        sim.serve(&served, bytes.to_vec());
        let err = updater
            .download_target(&info, &sim.target_base(), out.path())
            .unwrap_err();
        let ok = match expect {
            "TooLong" => matches!(
                err,
                ClientError::Fetch {
                    cause: FetchError::TooLong { max: 10, .. },
                    ..
                }
            ),
            "LengthMismatch" => matches!(err, ClientError::LengthMismatch { .. }),
            _ => matches!(err, ClientError::HashMismatch { .. }),
        };
        assert!(ok, "{expect}: {err}");
        assert!(files_in(out.path()).is_empty(), "nothing written");
    }
    // Only unknown hash algorithms: nothing to check by, refused.
    let unknown = TargetInfo {
        path: "t.bin".into(),
        length: 10,
        hashes: [("md5".to_owned(), "00".to_owned())].into(),
    };
    sim.serve("targets/00.t.bin", b"0123456789".to_vec());
    let err = updater
        .download_target(&unknown, &sim.target_base(), out.path())
        .unwrap_err();
    assert!(matches!(err, ClientError::NoKnownHash { .. }), "{err}");
}

#[test]
fn metadata_signed_by_the_wrong_key_is_refused() {
    let mut sim = Sim::new();
    sim.signers.insert("timestamp".into(), vec![99]);
    sim.publish();
    let (_dir, mut updater) = client(&sim);
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("timestamp.json: threshold of root v1's timestamp role not met: 0/1"),
        "{err}"
    );
    // A snapshot served where the timestamp belongs.
    let mut sim = Sim::new();
    sim.signers.insert("snapshot".into(), vec![4]);
    sim.publish();
    let snapshot = sim.file("1.snapshot.json");
    sim.serve("timestamp.json", snapshot);
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected timestamp metadata, found snapshot"),
        "{err}"
    );
}

#[test]
fn oversize_metadata_is_refused_at_the_cap() {
    let mut sim = Sim::new();
    sim.timestamp
        .unrecognized
        .insert("x-pad".into(), Value::from("x".repeat(20_000).as_str()));
    sim.publish_timestamp();
    let (_dir, mut updater) = client(&sim);
    let err = updater.refresh(&sim, NOW).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Fetch {
                cause: FetchError::TooLong {
                    max: TIMESTAMP_MAX_BYTES,
                    ..
                },
                ..
            }
        ),
        "{err}"
    );
    for (path, cap) in sim.log.borrow().iter() {
        let expected = if path.ends_with(".root.json") {
            ROOT_MAX_BYTES
        } else {
            TIMESTAMP_MAX_BYTES
        };
        assert_eq!(*cap, expected, "{path}");
    }
}

#[test]
fn a_tampered_cached_root_is_not_trusted() {
    let sim = Sim::new();
    let (dir, _updater) = refreshed(&sim);
    let path = dir.path().join("root.json");
    let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
    std::fs::write(&path, text.replace(FAR, "2101-01-01T00:00:00Z")).unwrap();
    let err = Updater::open(dir.path()).err().unwrap();
    assert!(matches!(err, ClientError::UntrustedRoot { .. }), "{err}");
    assert!(err.to_string().contains("threshold not met"), "{err}");
    // Nor is a root that is not signed by its own keys given to init.
    let bad = text.replace(FAR, "2101-01-01T00:00:00Z");
    let other = tempfile::tempdir().unwrap();
    assert!(Updater::init(other.path(), bad.as_bytes()).is_err());
    assert!(files_in(other.path()).is_empty());
}

#[test]
fn tampered_cached_timestamp_snapshot_and_targets_are_ignored_and_fetched_again() {
    let sim = Sim::new();
    let (dir, mut updater) = refreshed(&sim);
    for name in ["timestamp.json", "snapshot.json", "targets.json"] {
        std::fs::write(dir.path().join(name), b"{\"signed\": 1}").unwrap();
    }
    sim.clear_log();
    updater.refresh(&sim, NOW).unwrap();
    assert_eq!(
        sim.requests(),
        [
            "2.root.json",
            "timestamp.json",
            "1.snapshot.json",
            "1.targets.json"
        ]
    );
    // Valid caches are used as they are.
    sim.clear_log();
    updater.refresh(&sim, NOW).unwrap();
    assert_eq!(sim.requests(), ["2.root.json", "timestamp.json"]);
}

// ---------------------------------------------------------------- delegations

#[test]
fn delegations_are_searched_in_order() {
    let mut sim = Sim::new();
    sim.delegate("targets", "a", &[50], 1, paths(&["*.txt"]), false);
    sim.delegate("targets", "b", &[51], 1, paths(&["*"]), false);
    sim.add_target("a", "f.txt", b"from a");
    sim.add_target("b", "f.txt", b"from b, longer");
    sim.add_target("b", "g.txt", b"only b");
    sim.publish();
    let (_dir, mut updater) = refreshed(&sim);
    assert_eq!(updater.find_target(&sim, "f.txt", NOW).unwrap().length, 6);
    assert_eq!(updater.find_target(&sim, "g.txt", NOW).unwrap().length, 6);
    // `*` does not cross a `/`: neither role is trusted for sub/f.txt.
    sim.clear_log();
    let err = updater.find_target(&sim, "sub/f.txt", NOW).unwrap_err();
    assert!(matches!(err, ClientError::TargetNotFound { .. }), "{err}");
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[test]
fn a_terminating_role_stops_the_search() {
    for terminating in [true, false] {
        let mut sim = Sim::new();
        sim.delegate("targets", "a", &[50], 1, paths(&["*.txt"]), terminating);
        sim.delegate("targets", "b", &[51], 1, paths(&["*"]), false);
        sim.add_target("b", "f.txt", b"from b");
        sim.publish();
        let (_dir, mut updater) = refreshed(&sim);
        let found = updater.find_target(&sim, "f.txt", NOW);
        assert_eq!(found.is_ok(), !terminating, "{found:?}");
    }
}

#[test]
fn a_delegated_role_needs_its_threshold_of_distinct_keys() {
    let mut sim = Sim::new();
    sim.delegate("targets", "m", &[60, 61, 62], 2, paths(&["*"]), false);
    sim.add_target("m", "f", b"x");
    sim.signers.insert("m".into(), vec![60]);
    sim.publish();
    let (_dir, mut updater) = refreshed(&sim);
    let err = updater.find_target(&sim, "f", NOW).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("1.m.json: threshold of targets's delegation to m not met: 1/2"),
        "{err}"
    );
    sim.signers.insert("m".into(), vec![60, 62]);
    sim.publish();
    updater.find_target(&sim, "f", NOW).unwrap();
}

#[test]
fn path_hash_prefixes_pick_the_roles() {
    let target = "pkg/file.tgz";
    let hash = sha256(target.as_bytes());
    let other = if hash.starts_with('0') { "1" } else { "0" };
    let mut sim = Sim::new();
    sim.delegate(
        "targets",
        "other",
        &[50],
        1,
        RoleScope::HashPrefixes(vec![other.into()]),
        false,
    );
    sim.delegate(
        "targets",
        "mine",
        &[51],
        1,
        RoleScope::HashPrefixes(vec![hash[..2].into()]),
        false,
    );
    sim.add_target("mine", target, b"bytes");
    sim.publish();
    let (_dir, mut updater) = refreshed(&sim);
    sim.clear_log();
    updater.find_target(&sim, target, NOW).unwrap();
    assert_eq!(sim.requests(), ["1.mine.json"]);
}

#[test]
fn succinct_hash_bins_fetch_only_the_targets_bin() {
    let mut sim = Sim::new();
    sim.delegate_bins("targets", "bin", 3, &[70]);
    let bins = match &sim.targets.delegations.as_ref().unwrap().roles {
        tuf_metadata::DelegatedRoles::Succinct(s) => s.clone(),
        _ => unreachable!(),
    };
    let target = "some/target.whl";
    let bin = bins.bin_for_target(target);
    sim.add_target(&bin, target, b"wheel");
    sim.publish();
    let (_dir, mut updater) = refreshed(&sim);
    sim.clear_log();
    let info = updater.find_target(&sim, target, NOW).unwrap();
    assert_eq!(info.length, 5);
    assert_eq!(sim.requests(), [format!("1.{bin}.json")]);
    // A target in the wrong bin is not trusted.
    let elsewhere = "another/target";
    let wrong = (0..8)
        .map(|n| bins.bin_name(n))
        .find(|b| *b != bins.bin_for_target(elsewhere))
        .unwrap();
    sim.add_target(&wrong, elsewhere, b"x");
    sim.delegated.get_mut(&wrong).unwrap().common.version = 2;
    sim.bump();
    let (_dir, mut updater) = refreshed(&sim);
    assert!(updater.find_target(&sim, elsewhere, NOW).is_err());
}

/// targets delegates `one/*` to `a` and `two/*` to `c`; both delegate `b`,
/// `a` with key 81 and `c` with key 82. `b` is signed by key 81 only.
fn two_delegators_of_b() -> Sim {
    let mut sim = Sim::new();
    sim.delegate("targets", "a", &[80], 1, paths(&["one/*"]), false);
    sim.delegate("targets", "c", &[83], 1, paths(&["two/*"]), false);
    sim.delegate("a", "b", &[81], 1, paths(&["*/*"]), false);
    sim.delegate("c", "b", &[82], 1, paths(&["*/*"]), false);
    sim.signers.insert("b".into(), vec![81]);
    sim.add_target("b", "one/f", b"one");
    sim.add_target("b", "two/f", b"two");
    sim.publish();
    sim
}

#[test]
fn a_role_verified_through_one_delegator_is_verified_again_through_another() {
    let sim = two_delegators_of_b();
    let (dir, mut updater) = refreshed(&sim);
    updater.find_target(&sim, "one/f", NOW).unwrap();
    assert!(dir.path().join("b.json").exists());
    // Same updater (b in memory), then a fresh one (b cached on disk).
    let err = updater.find_target(&sim, "two/f", NOW).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("1.b.json: threshold of c's delegation to b not met: 0/1"),
        "{err}"
    );
    let mut fresh = Updater::open(dir.path()).unwrap();
    assert!(fresh.find_target(&sim, "two/f", NOW).is_err());
    // And the other way round: first via c (refused), then via a (fine).
    let (_dir, mut updater) = refreshed(&sim);
    assert!(updater.find_target(&sim, "two/f", NOW).is_err());
    updater.find_target(&sim, "one/f", NOW).unwrap();
}

#[test]
fn a_role_signed_for_both_delegators_is_found_through_both() {
    let mut sim = two_delegators_of_b();
    sim.signers.insert("b".into(), vec![81, 82]);
    sim.publish();
    let (_dir, mut updater) = refreshed(&sim);
    updater.find_target(&sim, "one/f", NOW).unwrap();
    updater.find_target(&sim, "two/f", NOW).unwrap();
}

#[test]
fn the_search_visits_at_most_32_roles_and_survives_cycles() {
    let mut sim = Sim::new();
    let mut from = "targets".to_owned();
    for n in 0..40 {
        let name = format!("r{n}");
        sim.delegate(&from, &name, &[90], 1, paths(&["*"]), false);
        from = name;
    }
    sim.add_target("r35", "deep", b"x");
    sim.add_target("r20", "shallow", b"y");
    // A cycle back to the top of the chain.
    sim.delegate("r39", "r0", &[90], 1, paths(&["*"]), false);
    sim.publish();
    let (_dir, mut updater) = refreshed(&sim);
    updater.find_target(&sim, "shallow", NOW).unwrap();
    let err = updater.find_target(&sim, "deep", NOW).unwrap_err();
    assert!(err.to_string().contains("first 32 roles"), "{err}");
    assert!(updater.find_target(&sim, "nowhere", NOW).is_err());
}

// ---------------------------------------------------------------- hostile names

#[test]
fn hostile_role_and_target_names_stay_inside_their_directories() {
    let mut sim = Sim::new();
    let long = "r".repeat(300);
    sim.delegate("targets", "%2e%2e", &[50], 1, paths(&["*", "*/*"]), false);
    sim.delegate("targets", "team/sub", &[51], 1, paths(&["x"]), false);
    sim.delegate("targets", &long, &[52], 1, paths(&["long"]), false);
    sim.add_target("%2e%2e", "%2e%2e/evil", b"evil");
    sim.add_target("%2e%2e", "..%2Fup", b"up");
    sim.add_target("team/sub", "x", b"x");
    sim.add_target(&long, "long", b"l");
    let long_target = "t".repeat(300);
    sim.add_target("targets", &long_target, b"t");
    sim.publish();
    let base = tempfile::tempdir().unwrap();
    let meta = base.path().join("meta");
    let out = base.path().join("out");
    Updater::init(&meta, &sim.root_bytes(1)).unwrap();
    let mut updater = Updater::open(&meta).unwrap();
    for target in ["%2e%2e/evil", "..%2Fup", "x", "long"] {
        let info = updater.find_target(&sim, target, NOW).unwrap();
        updater
            .download_target(&info, &sim.target_base(), &out)
            .unwrap();
    }
    let info = updater.find_target(&sim, &long_target, NOW).unwrap();
    let err = updater
        .download_target(&info, &sim.target_base(), &out)
        .unwrap_err();
    assert!(matches!(err, ClientError::UnsafeName { .. }), "{err}");
    assert_eq!(files_in(base.path()), ["meta", "out"]);
    assert_eq!(
        files_in(&meta),
        [
            "%252e%252e.json",
            "root.json",
            "snapshot.json",
            "targets.json",
            "team%2Fsub.json",
            "timestamp.json"
        ]
    );
    assert_eq!(
        files_in(&out),
        ["%252e%252e%2Fevil", "..%252Fup", "long", "x"]
    );
    let requests = sim.requests();
    assert!(
        requests.contains(&"1.%252e%252e.json".to_owned()),
        "{requests:?}"
    );
    assert!(
        requests.contains(&"1.team%2Fsub.json".to_owned()),
        "{requests:?}"
    );
}

#[test]
fn unusual_role_names_are_fetched_percent_encoded_and_cached_inside_the_metadata_dir() {
    // The spec allows any string as a delegated role name (python-tuf's
    // client tests serve these): the client requests and caches
    // `urllib.parse.quote(name, "")`, so no name is ever a path.
    let names = ["../evil", "/delegatedrole", "%", "a b", "ünï"];
    let mut sim = Sim::new();
    for (i, name) in names.iter().enumerate() {
        let seed = 50 + i as u8;
        sim.delegate(
            "targets",
            name,
            &[seed],
            1,
            paths(&[&format!("t{i}")]),
            false,
        );
        sim.add_target(name, &format!("t{i}"), name.as_bytes());
    }
    sim.publish();
    let base = tempfile::tempdir().unwrap();
    let meta = base.path().join("meta");
    Updater::init(&meta, &sim.root_bytes(1)).unwrap();
    let mut updater = Updater::open(&meta).unwrap();
    for (i, name) in names.iter().enumerate() {
        let info = updater.find_target(&sim, &format!("t{i}"), NOW).unwrap();
        assert_eq!(info.length, name.len() as u64);
    }
    let encoded = [
        "..%2Fevil",
        "%2Fdelegatedrole",
        "%25",
        "a%20b",
        "%C3%BCn%C3%AF",
    ];
    let requests = sim.requests();
    for name in encoded {
        let request = format!("1.{name}.json");
        assert!(requests.contains(&request), "{request}: {requests:?}");
    }
    assert_eq!(files_in(base.path()), ["meta"]);
    let mut expected: Vec<String> = encoded.iter().map(|n| format!("{n}.json")).collect();
    expected.extend(
        [
            "root.json",
            "snapshot.json",
            "targets.json",
            "timestamp.json",
        ]
        .map(String::from),
    );
    expected.sort();
    assert_eq!(files_in(&meta), expected);
}

#[test]
fn an_unchanged_timestamp_keeps_the_trusted_one() {
    let sim = Sim::new();
    let (dir, mut updater) = refreshed(&sim);
    // Same version, different (validly signed) content: the old one stays.
    let mut other = sim.timestamp.clone();
    other.common.expires = Expires::parse("2099-01-01T00:00:00Z").unwrap();
    other.unrecognized = Object::new();
    sim.serve("timestamp.json", sign(other, &[4]));
    let before = std::fs::read(dir.path().join("timestamp.json")).unwrap();
    updater.refresh(&sim, NOW).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("timestamp.json")).unwrap(),
        before
    );
    let _ = common(1, FAR);
}
