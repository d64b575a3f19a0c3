//! The delegation graph in force for the next commit: the top-level
//! targets and every role reachable from it, each at the version the next
//! commit will publish (the staged file when its version is not published
//! yet, otherwise the latest published one). `stage`, `merge`, `commit`,
//! `delegate` and `add-target --role` all read the graph this one way, so a
//! role is always keyed by the delegator version that will be published
//! with it or before it.
//!
//! Role names are unique in a graph this tool builds (`delegate` refuses a
//! name that is already delegated anywhere), since the name is also the
//! file name; a graph read from elsewhere that names a role twice is walked
//! once per role, through its first delegator (breadth first), and
//! `verify` checks every delegating edge.

use std::collections::{BTreeMap, VecDeque};

use anyhow::{Context, Result, bail};
use time::OffsetDateTime;
use tuf_metadata::signing::{Anchor, SigningPlan};
use tuf_metadata::{DelegatedRoles, Delegations, Limits, Metadata, Targets};

use crate::layout::{Repo, load_any};
use crate::manifest::Item;

/// How many levels of delegation below the top-level targets the tool
/// builds, commits and verifies. PEP 480's `targets → claimed → project`
/// needs two; python-tuf's client visits at most 32 roles per target
/// lookup, so a deeper tree would not be searched anyway.
pub const MAX_DEPTH: usize = 16;

/// Every role name a delegation delegates, in order (all bins for a
/// succinct one).
pub fn role_names(delegations: &Delegations) -> Vec<String> {
    match &delegations.roles {
        DelegatedRoles::Listed(list) => list.iter().map(|r| r.name.clone()).collect(),
        DelegatedRoles::Succinct(s) => (0..s.bin_count()).map(|n| s.bin_name(n)).collect(),
    }
}

/// The file name of a role's metadata: the name percent-encoded as TUF
/// spec 5.6.6 and python-tuf's client do (names `delegate` accepts are
/// plain, so this changes nothing for them).
pub fn file_stem(role: &str) -> String {
    tuf_client::names::quote(role)
}

/// The latest published version of every role, from one listing of
/// `repository/` (`<n>.<role>.json`): a 16,384-bin tree is too many roles
/// to list the directory once per role.
pub fn published_versions(repo: &Repo) -> Result<BTreeMap<String, u64>> {
    let dir = repo.published();
    let mut versions = BTreeMap::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(versions),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot list", dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("{}: cannot list", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_suffix(".json") else {
            continue;
        };
        let Some((n, role)) = rest.split_once('.') else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        let v = versions.entry(role.to_owned()).or_insert(n);
        *v = (*v).max(n);
    }
    Ok(versions)
}

/// One targets-type role in force (top-level or delegated), with its
/// bytes, the path a bundle carries it under, and a label for people.
pub struct Delegator {
    /// The role's name (`targets` for the top-level one).
    pub role: String,
    /// The parsed targets.
    pub targets: Targets,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// True when this is the staged file, its version not published yet.
    pub staged: bool,
    /// `staged/<role>.json` or `repository/<v>.<role>.json`.
    pub bundle_path: String,
    /// e.g. "targets v3 (staged)", "claimed v2".
    pub label: String,
}

impl Delegator {
    /// The top-level targets in force, if there are any targets at all.
    pub fn load(repo: &Repo) -> Result<Option<Delegator>> {
        let published = repo.latest_version("targets")?;
        Self::load_role(repo, "targets", published)
    }

    /// `role` in force: the staged file if its version is above
    /// `published` (or nothing is published), else `published` itself.
    pub fn load_role(repo: &Repo, role: &str, published: Option<u64>) -> Result<Option<Delegator>> {
        let stem = file_stem(role);
        let staged = repo.staged_file(&format!("{stem}.json"));
        if staged.exists() {
            let (bytes, md) = load_any(&staged)?;
            let targets = md
                .into_targets()
                .with_context(|| staged.display().to_string())?
                .signed()
                .clone();
            let v = targets.common.version;
            if published.is_none_or(|p| v > p) {
                return Ok(Some(Delegator {
                    role: role.to_owned(),
                    targets,
                    bytes,
                    staged: true,
                    bundle_path: format!("staged/{stem}.json"),
                    label: format!("{role} v{v} (staged)"),
                }));
            }
        }
        let Some(v) = published else { return Ok(None) };
        let name = format!("{v}.{stem}.json");
        let (bytes, md) = load_any(&repo.published_file(&name))?;
        let targets = md.into_targets().context(name.clone())?.signed().clone();
        Ok(Some(Delegator {
            role: role.to_owned(),
            targets,
            bytes,
            staged: false,
            bundle_path: format!("repository/{name}"),
            label: format!("{role} v{v}"),
        }))
    }

    /// The anchor that names `role`'s keys.
    pub fn anchor<'a>(&'a self, role: &'a str) -> Anchor<'a> {
        Anchor::Delegator {
            targets: &self.targets,
            label: &self.label,
            role,
        }
    }

    /// The version in force.
    pub fn version(&self) -> u64 {
        self.targets.common.version
    }
}

/// The whole graph in force: `roles[0]` is the top-level targets, the rest
/// breadth first, each with the index of its delegator and its depth.
pub struct Graph {
    /// The roles, top-level targets first.
    pub roles: Vec<Delegator>,
    /// `parents[i]`: the index of the role that delegates `roles[i]`.
    pub parents: Vec<Option<usize>>,
    /// `depths[i]`: levels below the top-level targets.
    pub depths: Vec<usize>,
    index: BTreeMap<String, usize>,
}

impl Graph {
    /// Walks the graph from the top-level targets in force. A delegated
    /// role that is neither staged nor published is refused (a client
    /// looking for a target there would fail), and so is a graph deeper
    /// than [`MAX_DEPTH`].
    pub fn load(repo: &Repo) -> Result<Option<Graph>> {
        let Some(top) = Delegator::load(repo)? else {
            return Ok(None);
        };
        let published = published_versions(repo)?;
        let mut graph = Graph {
            roles: vec![top],
            parents: vec![None],
            depths: vec![0],
            index: BTreeMap::from([("targets".to_owned(), 0)]),
        };
        let mut queue = VecDeque::from([0usize]);
        while let Some(i) = queue.pop_front() {
            let Some(delegations) = &graph.roles[i].targets.delegations else {
                continue;
            };
            let depth = graph.depths[i] + 1;
            for name in role_names(delegations) {
                if graph.index.contains_key(&name) {
                    continue;
                }
                let parent = &graph.roles[i];
                let file = repo.staged_file(&format!("{}.json", file_stem(&name)));
                if depth > MAX_DEPTH {
                    bail!(
                        "{}: {} delegates to {name:?} at depth {depth}, deeper than {MAX_DEPTH} levels",
                        file.display(),
                        parent.label
                    );
                }
                let Some(role) = Delegator::load_role(repo, &name, published.get(&name).copied())?
                else {
                    bail!(
                        "{}: {} delegates to {name:?}, which is neither staged nor published",
                        file.display(),
                        parent.label
                    );
                };
                graph.index.insert(name, graph.roles.len());
                queue.push_back(graph.roles.len());
                graph.roles.push(role);
                graph.parents.push(Some(i));
                graph.depths.push(depth);
            }
        }
        Ok(Some(graph))
    }

    /// The index of `role`, if the graph reaches it.
    pub fn find(&self, role: &str) -> Option<usize> {
        self.index.get(role).copied()
    }

    /// The role that delegates `roles[i]` (none for the top-level targets).
    pub fn delegator_of(&self, i: usize) -> Option<&Delegator> {
        self.parents[i].map(|p| &self.roles[p])
    }

    /// The role whose delegation is succinct with name prefix `prefix`.
    pub fn succinct_parent(&self, prefix: &str) -> Option<usize> {
        self.roles.iter().position(|r| {
            matches!(
                r.targets.delegations.as_ref().map(|d| &d.roles),
                Some(DelegatedRoles::Succinct(s)) if s.name_prefix == prefix
            )
        })
    }
}

/// Every delegated role staged and not yet published, each with its bytes
/// and manifest item (delegator = the bundle path of the role that
/// delegates it), in graph order so a staged delegator comes before the
/// roles it delegates. Each is checked with the same
/// [`tuf_metadata::signing::SigningPlan`] the appliance uses.
pub fn unsigned_delegated(graph: &Graph, now: OffsetDateTime) -> Result<Vec<(Vec<u8>, Item)>> {
    let mut out = Vec::new();
    for (i, role) in graph.roles.iter().enumerate().skip(1) {
        if !role.staged {
            continue;
        }
        let parent = graph.delegator_of(i).expect("a delegated role");
        let file = format!("staged/{}.json", file_stem(&role.role));
        let plan = SigningPlan::with_anchor(&role.bytes, parent.anchor(&role.role), now)
            .with_context(|| format!("{file}: the appliance would refuse it"))?;
        let mut item = Item::from_plan(&file, &plan);
        item.delegator = Some(parent.bundle_path.clone());
        out.push((role.bytes.clone(), item));
    }
    Ok(out)
}

/// The graph clients see now: the latest published targets and every role
/// reachable from it through published delegations, each at its latest
/// published version, breadth first (a role delegated twice is reached
/// through its first delegator, as [`Graph::load`] does). `stage` carries
/// a staged role's published version and this chain above it in the
/// bundle, so the appliance can verify it from the trusted root down.
pub struct PublishedGraph {
    /// (role, version, file bytes), the top-level targets first.
    roles: Vec<(String, u64, Vec<u8>)>,
    parents: Vec<Option<usize>>,
    index: BTreeMap<String, usize>,
}

impl PublishedGraph {
    /// Walks the published files; empty when no targets is published. A
    /// delegated role not published yet is simply not reached.
    pub fn load(repo: &Repo) -> Result<PublishedGraph> {
        let mut graph = PublishedGraph {
            roles: Vec::new(),
            parents: Vec::new(),
            index: BTreeMap::new(),
        };
        let published = published_versions(repo)?;
        let Some(&top) = published.get("targets") else {
            return Ok(graph);
        };
        let mut queue = VecDeque::from([graph.push(repo, "targets", top, None)?]);
        while let Some(i) = queue.pop_front() {
            let (_, version, bytes) = &graph.roles[i];
            let file = format!("{version}.{}.json", file_stem(&graph.roles[i].0));
            let targets = Metadata::parse(bytes, &Limits::ANY)
                .and_then(|m| Ok(m.into_targets()?))
                .with_context(|| repo.published_file(&file).display().to_string())?;
            let Some(delegations) = &targets.signed().delegations else {
                continue;
            };
            for name in role_names(delegations) {
                if graph.index.contains_key(&name) {
                    continue;
                }
                if let Some(&v) = published.get(&file_stem(&name)) {
                    queue.push_back(graph.push(repo, &name, v, Some(i))?);
                }
            }
        }
        Ok(graph)
    }

    fn push(
        &mut self,
        repo: &Repo,
        role: &str,
        version: u64,
        parent: Option<usize>,
    ) -> Result<usize> {
        let path = repo.published_file(&format!("{version}.{}.json", file_stem(role)));
        let bytes = metadata_io::read_capped(&path, Limits::ANY.max_bytes)
            .with_context(|| path.display().to_string())?;
        self.index.insert(role.to_owned(), self.roles.len());
        self.roles.push((role.to_owned(), version, bytes));
        self.parents.push(parent);
        Ok(self.roles.len() - 1)
    }

    /// `role`'s published file and those of its delegators up to the
    /// top-level targets, as (bundle path `repository/<V>.<role>.json`,
    /// bytes), the role's own first; `None` when clients see no published
    /// version of it.
    pub fn chain(&self, role: &str) -> Option<Vec<(String, &[u8])>> {
        let mut at = Some(*self.index.get(role)?);
        let mut out = Vec::new();
        while let Some(i) = at {
            let (name, version, bytes) = &self.roles[i];
            let path =
                bundle_format::layout::history_path(&format!("{version}.{}.json", file_stem(name)));
            out.push((path, bytes.as_slice()));
            at = self.parents[i];
        }
        Some(out)
    }
}

/// A delegated role `commit` installs: its name, version, file bytes and
/// parsed targets.
pub struct NewRole {
    /// The role's name.
    pub name: String,
    /// Its version.
    pub version: u64,
    /// The signed file's bytes.
    pub bytes: Vec<u8>,
    /// What it lists.
    pub targets: Targets,
}

/// The delegated roles to install at commit: every staged role of the
/// graph whose version is not published, checked against the threshold its
/// delegator (in force: installed in this commit or already published)
/// gives it, and unexpired. A role whose delegator is staged is installed
/// only together with it: the delegator is in this list too, or is the
/// top-level targets `commit` requires signed.
pub fn roles_to_commit(repo: &Repo, graph: &Graph, now: OffsetDateTime) -> Result<Vec<NewRole>> {
    let mut out = Vec::new();
    for (i, role) in graph.roles.iter().enumerate().skip(1) {
        if !role.staged {
            continue;
        }
        let name = &role.role;
        let parent = graph.delegator_of(i).expect("a delegated role");
        let path = repo.staged_file(&format!("{}.json", file_stem(name)));
        let file = path.display().to_string();
        if role.bytes.len() > Limits::ANY.max_bytes {
            bail!("{file}: larger than {} bytes", Limits::ANY.max_bytes);
        }
        let md = Metadata::parse(&role.bytes, &Limits::ANY)
            .and_then(|m| Ok(m.into_targets()?))
            .with_context(|| file.clone())?;
        let delegations = parent
            .targets
            .delegations
            .as_ref()
            .expect("the parent delegates");
        let keys = delegations.role_keys(name).expect("listed by the parent");
        let ring = tuf_metadata::KeyRing::new(&delegations.keys);
        let report = ring.check(keys, md.signed_bytes(), md.signatures());
        let version = role.version();
        if !report.is_met() {
            bail!(
                "{file}: {name} v{version}: threshold of {}'s delegation not met: {report} distinct keys",
                parent.label
            );
        }
        let common = &md.signed().common;
        if common.expires.is_expired_at(now) {
            bail!(
                "{file}: {name} v{version} expired at {}",
                common.expires.as_str()
            );
        }
        out.push(NewRole {
            name: name.clone(),
            version,
            bytes: role.bytes.clone(),
            targets: md.signed().clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets_file(version: u64, delegate_to: &[&str]) -> Vec<u8> {
        use tuf_metadata::testing::TestKey;
        use tuf_metadata::{Common, DelegatedRole, Expires, Object, RoleKeys, RoleScope};
        let key = TestKey::from_seed(1);
        let roles = delegate_to
            .iter()
            .map(|name| DelegatedRole {
                name: (*name).into(),
                keys: RoleKeys {
                    keyids: vec![key.id()],
                    threshold: 1,
                    unrecognized: Object::new(),
                },
                terminating: false,
                scope: RoleScope::Paths(vec!["*".into()]),
            })
            .collect();
        let targets = Targets {
            common: Common {
                spec_version: "1.0.31".into(),
                version,
                expires: Expires::parse("2030-01-01T00:00:00Z").unwrap(),
            },
            targets: BTreeMap::new(),
            delegations: (!delegate_to.is_empty()).then(|| Delegations {
                keys: [(key.id(), key.key().clone())].into_iter().collect(),
                roles: DelegatedRoles::Listed(roles),
                unrecognized: Object::new(),
            }),
            unrecognized: Object::new(),
        };
        tuf_metadata::testing::file_bytes(&tuf_metadata::testing::signed(targets, &[]))
    }

    #[test]
    fn a_published_role_chains_to_the_top_level_targets_through_the_latest_published_versions() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(dir.path());
        assert!(
            PublishedGraph::load(&repo)
                .unwrap()
                .chain("targets")
                .is_none()
        );
        std::fs::create_dir_all(repo.published()).unwrap();
        for (name, bytes) in [
            ("1.targets.json", targets_file(1, &["claimed"])),
            (
                "2.targets.json",
                targets_file(2, &["claimed", "orphan-parent"]),
            ),
            ("3.claimed.json", targets_file(3, &["project"])),
            ("1.project.json", targets_file(1, &[])),
            ("1.unreached.json", targets_file(1, &[])),
        ] {
            std::fs::write(repo.published_file(name), bytes).unwrap();
        }
        let graph = PublishedGraph::load(&repo).unwrap();
        let chain: Vec<String> = graph
            .chain("project")
            .unwrap()
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        assert_eq!(
            chain,
            [
                "repository/1.project.json",
                "repository/3.claimed.json",
                "repository/2.targets.json"
            ]
        );
        let (_, bytes) = &graph.chain("claimed").unwrap()[0];
        assert_eq!(
            *bytes,
            std::fs::read(repo.published_file("3.claimed.json")).unwrap()
        );
        // Published but not delegated by anything published: no chain.
        assert!(graph.chain("unreached").is_none());
        assert!(graph.chain("orphan-parent").is_none());
    }

    #[test]
    fn published_versions_come_from_one_listing() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::new(dir.path());
        assert!(published_versions(&repo).unwrap().is_empty());
        std::fs::create_dir_all(repo.published()).unwrap();
        for name in [
            "1.root.json",
            "2.root.json",
            "1.bins-0a.json",
            "3.targets.json",
            "timestamp.json",
            "x.y.json",
        ] {
            std::fs::write(repo.published_file(name), b"{}").unwrap();
        }
        let versions = published_versions(&repo).unwrap();
        let expected: BTreeMap<String, u64> = [("root", 2), ("bins-0a", 1), ("targets", 3)]
            .into_iter()
            .map(|(r, v)| (r.to_owned(), v))
            .collect();
        assert_eq!(versions, expected);
    }
}
