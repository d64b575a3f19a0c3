use std::collections::BTreeMap;

use super::*;
use crate::json::Object;
use crate::root::RoleKeys;
use crate::targets::SuccinctRoles;

fn keys() -> RoleKeys {
    RoleKeys {
        keyids: vec![],
        threshold: 1,
        unrecognized: Object::new(),
    }
}

fn role(name: &str, terminating: bool, scope: RoleScope) -> DelegatedRole {
    DelegatedRole {
        name: name.into(),
        keys: keys(),
        terminating,
        scope,
    }
}

fn paths(patterns: &[&str]) -> RoleScope {
    RoleScope::Paths(patterns.iter().map(|p| (*p).to_owned()).collect())
}

fn listed(roles: Vec<DelegatedRole>) -> Delegations {
    Delegations {
        keys: BTreeMap::new(),
        roles: DelegatedRoles::Listed(roles),
        unrecognized: Object::new(),
    }
}

fn bins(bit_length: u32) -> Delegations {
    Delegations {
        keys: BTreeMap::new(),
        roles: DelegatedRoles::Succinct(SuccinctRoles {
            keys: keys(),
            bit_length,
            name_prefix: "bin".into(),
        }),
        unrecognized: Object::new(),
    }
}

#[test]
fn patterns_match_per_segment_like_python_tuf() {
    assert!(path_matches("*", "file.txt"));
    assert!(!path_matches("*", "dir/file.txt"));
    assert!(path_matches("dir/*", "dir/file.txt"));
    assert!(!path_matches("dir/*", "dir/sub/file.txt"));
    assert!(path_matches("dir/*/*.tgz", "dir/sub/a.tgz"));
    assert!(path_matches("file?.txt", "file1.txt"));
    assert!(!path_matches("file?.txt", "file10.txt"));
    assert!(path_matches("[ab]*", "beta"));
    assert!(!path_matches("[!ab]*", "beta"));
    assert!(path_matches("v[0-9].txt", "v7.txt"));
    assert!(path_matches("a[", "a["));
    assert!(path_matches("[]]", "]"));
    assert!(!path_matches("File.txt", "file.txt"));
    assert!(path_matches("", ""));
    let hostile = "*".repeat(500) + "x";
    assert!(!path_matches(&hostile, &"y".repeat(5000)));
}

#[test]
fn a_role_covers_paths_by_pattern_or_by_hash_prefix() {
    assert!(paths(&["a/*", "b/*"]).covers("b/x"));
    assert!(!paths(&["a/*"]).covers("b/x"));
    // sha256("") = e3b0c442…
    let prefixes = |p: &[&str]| RoleScope::HashPrefixes(p.iter().map(|s| (*s).into()).collect());
    assert!(prefixes(&["00", "e3b"]).covers(""));
    assert!(!prefixes(&["e3c"]).covers(""));
    assert!(!prefixes(&[]).covers(""));
    assert!(role("r", false, paths(&["*"])).covers("x"));
}

#[test]
fn roles_for_a_target_keep_the_delegators_order_and_terminating_flags() {
    let d = listed(vec![
        role("first", false, paths(&["pkg/*"])),
        role("other", true, paths(&["doc/*"])),
        role("last", true, RoleScope::HashPrefixes(vec![String::new()])),
    ]);
    assert_eq!(
        d.roles_for_target("pkg/a"),
        vec![("first".to_owned(), false), ("last".to_owned(), true)]
    );
    assert!(d.delegates("first", "pkg/a"));
    assert!(!d.delegates("other", "pkg/a"));
    assert!(!d.delegates("nobody", "pkg/a"));
}

#[test]
fn a_succinct_delegation_names_one_terminating_bin() {
    let d = bins(14);
    // sha256("") starts e3b0: top 14 bits 0x38ec.
    assert_eq!(d.roles_for_target(""), vec![("bin-38ec".to_owned(), true)]);
    assert!(d.delegates("bin-38ec", ""));
    assert!(!d.delegates("bin-38ed", ""));
}

/// Runs a search over a fixed graph; returns the roles visited in order.
fn search(graph: &BTreeMap<&str, Delegations>, target: &str, max: usize) -> (Vec<Visit>, bool) {
    let mut search = TargetSearch::new(target, max);
    let mut order = Vec::new();
    while let Some(next) = search.next_role() {
        let Ok(visit) = next else {
            return (order, true);
        };
        search.descend(&visit.role, graph.get(visit.role.as_str()));
        order.push(visit);
    }
    (order, false)
}

fn names(order: &[Visit]) -> Vec<&str> {
    order.iter().map(|v| v.role.as_str()).collect()
}

#[test]
fn the_search_is_pre_order_depth_first() {
    let graph = BTreeMap::from([
        (
            "targets",
            listed(vec![
                role("a", false, paths(&["*"])),
                role("b", false, paths(&["*"])),
            ]),
        ),
        ("a", listed(vec![role("a1", false, paths(&["*"]))])),
        ("b", listed(vec![role("a1", false, paths(&["*"]))])),
    ]);
    let (order, stopped) = search(&graph, "x", 32);
    assert!(!stopped);
    // a1 is reached through a first, and not visited again through b.
    assert_eq!(names(&order), ["targets", "a", "a1", "b"]);
    assert_eq!(order[2].delegator.as_deref(), Some("a"));
    assert_eq!(order[0].delegator, None);
}

#[test]
fn a_terminating_match_ends_the_search_after_its_subtree() {
    let graph = BTreeMap::from([
        (
            "targets",
            listed(vec![
                role("a", false, paths(&["*"])),
                role("stop", true, paths(&["x"])),
                role("never", false, paths(&["*"])),
            ]),
        ),
        ("stop", listed(vec![role("below", false, paths(&["*"]))])),
        ("a", bins(1)),
    ]);
    let (order, _) = search(&graph, "x", 32);
    let bin = match &graph["a"].roles {
        DelegatedRoles::Succinct(b) => b.bin_for_target("x"),
        _ => unreachable!(),
    };
    // a's bin is terminating: nothing queued before it (stop, never) is
    // searched any more, as in python-tuf.
    assert_eq!(names(&order), ["targets", "a", &bin]);
    let mut no_bins = graph.clone();
    no_bins.remove("a");
    let (order, _) = search(&no_bins, "x", 32);
    assert_eq!(names(&order), ["targets", "a", "stop", "below"]);
    // A terminating role the path does not match ends nothing.
    let (order, _) = search(&no_bins, "y", 32);
    assert_eq!(names(&order), ["targets", "a", "never"]);
}

#[test]
fn the_search_stops_at_the_limit_of_roles() {
    let graph = BTreeMap::from([
        ("targets", listed(vec![role("r1", false, paths(&["*"]))])),
        ("r1", listed(vec![role("r2", false, paths(&["*"]))])),
        ("r2", listed(vec![role("r3", false, paths(&["*"]))])),
    ]);
    let (order, stopped) = search(&graph, "x", 2);
    assert!(stopped);
    assert_eq!(names(&order), ["targets", "r1"]);
    let mut s = TargetSearch::new("x", 0);
    assert_eq!(s.next_role(), Some(Err(SearchError::TooManyRoles(0))));
    assert_eq!(
        SearchError::TooManyRoles(32).to_string(),
        "not found within the first 32 roles searched"
    );
}
