//! Every target the trusted metadata lists, for `tuf-repo client list`
//! (go-tuf's `client list`): after a refresh, the top-level targets and
//! every delegated role reachable from it, each verified against the role
//! that delegates it as [`Updater::find_target`] verifies it.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;
use tuf_metadata::{DelegatedRoles, Value};

use crate::error::ClientError;
use crate::fetch::Fetcher;
use crate::updater::Updater;

/// Most roles one listing visits: a PEP 458 tree of 16,384 hash bins, its
/// delegator and a few named roles.
pub const MAX_LISTED_ROLES: usize = 20_000;

/// One target as a trusted role lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedTarget {
    /// The role that lists it (`targets` for the top-level one).
    pub role: String,
    /// The target path.
    pub path: String,
    /// Its length in bytes.
    pub length: u64,
    /// Algorithm → hex digest.
    pub hashes: BTreeMap<String, String>,
    /// Its `custom` field, if any.
    pub custom: Option<Value>,
}

/// What [`Updater::list_targets`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// Every target, in the order the roles were visited.
    pub targets: Vec<ListedTarget>,
    /// How many roles were read.
    pub roles: usize,
    /// True when more roles were delegated than [`MAX_LISTED_ROLES`]: the
    /// rest were not read.
    pub truncated: bool,
}

impl Updater {
    /// Refreshes, then lists the targets of every trusted targets role,
    /// pre-order from the top-level targets, each role once (reached
    /// through its first delegator), at most [`MAX_LISTED_ROLES`] roles.
    pub fn list_targets(
        &mut self,
        remote: &dyn Fetcher,
        now: OffsetDateTime,
    ) -> Result<Listing, ClientError> {
        self.refresh(remote, now)?;
        let mut listing = Listing::default();
        let mut seen = BTreeSet::from(["targets".to_owned()]);
        let mut stack: Vec<(String, Option<String>)> = vec![("targets".to_owned(), None)];
        while let Some((role, delegator)) = stack.pop() {
            let metadata = self.load_role(remote, &role, delegator.as_deref(), now)?;
            listing.roles += 1;
            let signed = metadata.signed();
            for (path, file) in &signed.targets {
                listing.targets.push(ListedTarget {
                    role: role.clone(),
                    path: path.clone(),
                    length: file.length,
                    hashes: file.hashes.clone(),
                    custom: file.unrecognized.get("custom").cloned(),
                });
            }
            let Some(delegations) = &signed.delegations else {
                continue;
            };
            let names: Vec<String> = match &delegations.roles {
                DelegatedRoles::Listed(list) => list.iter().map(|r| r.name.clone()).collect(),
                DelegatedRoles::Succinct(s) => (0..s.bin_count()).map(|n| s.bin_name(n)).collect(),
            };
            let mut fresh = Vec::new();
            for name in names {
                if seen.len() >= MAX_LISTED_ROLES {
                    listing.truncated = true;
                    break;
                }
                if seen.insert(name.clone()) {
                    fresh.push(name);
                }
            }
            // Reversed onto the stack, so the first delegation is visited first.
            for name in fresh.into_iter().rev() {
                stack.push((name, Some(role.clone())));
            }
        }
        Ok(listing)
    }
}
