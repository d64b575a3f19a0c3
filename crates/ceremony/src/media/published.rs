//! The published versions a bundle carries in its `repository/`: the
//! version of each staged role clients see now, and the delegators above
//! it. None is trusted for its place on the stick: a published top-level
//! targets must meet the trusted root N's targets threshold, and a
//! published delegated role its published delegator's, which is verified
//! the same way up to the root — the walk a TUF client makes, from the
//! top-level targets down through the delegations. Only then does the
//! review diff a staged file against it, or a delegator name its keys.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use tuf_metadata::threshold::ThresholdReport;
use tuf_metadata::{DelegatedRoles, Delegations, Limits, Metadata, Root, Targets};

use super::MediaError;
use super::layout::display;

/// A published targets-type file, verified against the trusted chain.
#[derive(Clone, Debug)]
pub(super) struct Verified {
    /// The role it holds (from its `<V>.<role>.json` name, checked by the
    /// delegation it was verified under).
    pub role: String,
    /// Its file, relative to the stick.
    pub display: String,
    /// The parsed, verified metadata.
    pub metadata: Metadata<Targets>,
}

/// How a file is read from the stick (trust.rs's capped read).
pub(super) type Reader<'r> = &'r dyn Fn(&Path, &str, usize) -> Result<Vec<u8>, MediaError>;

/// Verifies published files on demand, each at most once.
pub(super) struct PublishedSet<'a> {
    dir: &'a Path,
    trusted: Option<&'a Metadata<Root>>,
    read: Reader<'a>,
    verified: HashMap<PathBuf, Verified>,
    walked: Vec<PathBuf>,
}

/// The role a metadata file holds, from its name: `staged/claimed.json` →
/// `claimed`, `repository/2.targets.json` → `targets`.
pub(super) fn role_of(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".json").unwrap_or(&name);
    match version_and_role(stem) {
        Some((_, role)) => role.to_owned(),
        None => stem.to_owned(),
    }
}

/// `<V>.<role>` → (V, role), V all digits.
fn version_and_role(stem: &str) -> Option<(u64, &str)> {
    let (v, role) = stem.split_once('.')?;
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || role.is_empty() {
        return None;
    }
    Some((v.parse().ok()?, role))
}

fn role_names(delegations: &Delegations) -> Vec<String> {
    match &delegations.roles {
        DelegatedRoles::Listed(list) => list.iter().map(|r| r.name.clone()).collect(),
        DelegatedRoles::Succinct(s) => (0..s.bin_count()).map(|n| s.bin_name(n)).collect(),
    }
}

fn threshold_why(by: &str, report: &ThresholdReport) -> String {
    let details: String = report
        .rejections()
        .iter()
        .map(|r| format!("; {r}"))
        .collect();
    format!("does not meet {by}'s threshold: {report} distinct keys{details}")
}

impl<'a> PublishedSet<'a> {
    /// Published files under `dir` (the stick), checked against the
    /// trusted root N (none: nothing published can be trusted).
    pub fn new(dir: &'a Path, trusted: Option<&'a Metadata<Root>>, read: Reader<'a>) -> Self {
        PublishedSet {
            dir,
            trusted,
            read,
            verified: HashMap::new(),
            walked: Vec::new(),
        }
    }

    fn fail(&self, path: &Path, role: &str, why: String) -> MediaError {
        MediaError::Published {
            file: display(self.dir, path),
            role: role.to_owned(),
            why,
        }
    }

    fn parse(&self, path: &Path, role: &str) -> Result<Metadata<Targets>, MediaError> {
        let shown = display(self.dir, path);
        let bytes = (self.read)(path, &shown, Limits::ANY.max_bytes)?;
        let metadata =
            Metadata::parse(&bytes, &Limits::ANY).map_err(|error| MediaError::Parse {
                file: shown.clone(),
                error,
            })?;
        metadata
            .into_targets()
            .map_err(|e| self.fail(path, role, e.to_string()))
    }

    /// The published file at `path`, verified: a top-level targets against
    /// the trusted root's targets role, a delegated role through the
    /// published delegations in its folder, from that folder's latest
    /// `<V>.targets.json` down.
    pub fn verified(&mut self, path: &Path) -> Result<&Verified, MediaError> {
        if !self.verified.contains_key(path) {
            let role = role_of(path);
            if role == "targets" {
                self.verify_top(path)?;
            } else {
                let folder = path.parent().unwrap_or(Path::new("")).to_path_buf();
                self.walk(&folder)?;
                if !self.verified.contains_key(path) {
                    return Err(self.fail(
                        path,
                        &role,
                        "not reached from the top-level targets through the published delegations on the stick; do not sign, ask the releaser".into(),
                    ));
                }
            }
        }
        Ok(&self.verified[path])
    }

    fn verify_top(&mut self, path: &Path) -> Result<(), MediaError> {
        let role = "targets";
        let Some(root) = self.trusted else {
            return Err(self.fail(
                path,
                role,
                "no trusted root on the stick to verify it against".into(),
            ));
        };
        let metadata = self.parse(path, role)?;
        let root = root.signed();
        let keys = root.role(role).ok_or_else(|| {
            self.fail(path, role, "the trusted root lists no targets role".into())
        })?;
        let report = tuf_metadata::threshold::check(
            keys,
            &root.keys,
            metadata.signed_bytes(),
            metadata.signatures(),
        );
        if !report.is_met() {
            let by = format!("trusted root v{} targets role", root.common.version);
            return Err(self.fail(path, role, threshold_why(&by, &report)));
        }
        self.verified.insert(
            path.to_path_buf(),
            Verified {
                role: role.to_owned(),
                display: display(self.dir, path),
                metadata,
            },
        );
        Ok(())
    }

    /// Verifies every `<V>.<role>.json` of `folder` reachable from its
    /// latest `<V>.targets.json`, breadth first, each role at its latest
    /// version and through its first delegator (as `tuf-repo` walks the
    /// graph). A file that does not meet its delegator's threshold is
    /// refused: the bundle carries only files the review relies on.
    fn walk(&mut self, folder: &Path) -> Result<(), MediaError> {
        if self.walked.iter().any(|w| w == folder) {
            return Ok(());
        }
        self.walked.push(folder.to_path_buf());
        let latest = latest_published(folder);
        let Some(top) = latest.get("targets") else {
            return Ok(());
        };
        self.verified(&top.clone())?;
        let mut reached: std::collections::HashSet<String> = ["targets".to_owned()].into();
        let mut queue = VecDeque::from([top.clone()]);
        while let Some(at) = queue.pop_front() {
            let parent = self.verified[&at].clone();
            let Some(delegations) = &parent.metadata.signed().delegations else {
                continue;
            };
            let ring = tuf_metadata::KeyRing::new(&delegations.keys);
            let by = format!(
                "{} v{}'s delegation",
                parent.role,
                parent.metadata.signed().common.version
            );
            for name in role_names(delegations) {
                let Some(path) = latest.get(&name) else {
                    continue;
                };
                if !reached.insert(name.clone()) {
                    continue;
                }
                let metadata = self.parse(path, &name)?;
                let keys = delegations
                    .role_keys(&name)
                    .expect("a name the delegation lists");
                let report = ring.check(keys, metadata.signed_bytes(), metadata.signatures());
                if !report.is_met() {
                    return Err(self.fail(path, &name, threshold_why(&by, &report)));
                }
                self.verified.insert(
                    path.clone(),
                    Verified {
                        role: name,
                        display: display(self.dir, path),
                        metadata,
                    },
                );
                queue.push_back(path.clone());
            }
        }
        Ok(())
    }
}

/// The latest `<V>.<role>.json` of each role in `folder` (roots aside).
fn latest_published(folder: &Path) -> BTreeMap<String, PathBuf> {
    let mut latest: BTreeMap<String, (u64, PathBuf)> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return BTreeMap::new();
    };
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !bundle_format::layout::plain_json(&name) {
            continue;
        }
        let stem = name.strip_suffix(".json").unwrap_or(&name);
        let Some((v, role)) = version_and_role(stem) else {
            continue;
        };
        if role == "root" {
            continue;
        }
        let slot = latest
            .entry(role.to_owned())
            .or_insert((v, folder.join(&name)));
        if v > slot.0 {
            *slot = (v, folder.join(&name));
        }
    }
    latest.into_iter().map(|(r, (_, p))| (r, p)).collect()
}
