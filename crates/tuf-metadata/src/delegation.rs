//! The delegation rule (TUF spec 5.7): which delegated role is trusted for
//! a target path, and in what order roles are searched for it. One rule
//! for the client (which loads roles lazily, as it reaches them) and for
//! `tuf-repo` (which has every role on disk).
//!
//! - [`path_matches`]: a `paths` pattern against a target path, the way
//!   python-tuf decides it.
//! - [`RoleScope::covers`], [`DelegatedRole::covers`]: one listed role.
//! - [`Delegations::roles_for_target`]: the roles of one delegations object
//!   trusted for a path, in order, with whether each is terminating
//!   (a succinct delegation names exactly one bin, terminating, TAP 15).
//! - [`TargetSearch`]: the whole search, pre-order depth-first from the
//!   top-level targets, each role at most once, a terminating match ending
//!   the search after its own subtree, at most a given number of roles.

use std::collections::BTreeSet;

use crate::files::sha256_hex;
use crate::targets::{DelegatedRole, DelegatedRoles, Delegations, RoleScope};

/// True if `target` matches the delegation pattern `pattern` the way
/// python-tuf decides it: both split at `/`, the same number of segments,
/// and each segment matching with `fnmatch` rules (`*` any run of
/// characters, `?` one character, `[abc]`, `[a-z]`, `[!abc]` classes), so
/// `*` never crosses a `/`. Case-sensitive.
pub fn path_matches(pattern: &str, target: &str) -> bool {
    let pattern_parts: Vec<&str> = pattern.split('/').collect();
    let target_parts: Vec<&str> = target.split('/').collect();
    pattern_parts.len() == target_parts.len()
        && pattern_parts
            .iter()
            .zip(&target_parts)
            .all(|(p, t)| fnmatch(p, t))
}

impl RoleScope {
    /// True if a role with this scope is trusted for `target`: a `paths`
    /// pattern matches it, or a `path_hash_prefixes` entry is a prefix of
    /// the hex SHA-256 of the path.
    pub fn covers(&self, target: &str) -> bool {
        match self {
            RoleScope::Paths(patterns) => patterns.iter().any(|p| path_matches(p, target)),
            RoleScope::HashPrefixes(prefixes) => {
                let hash = sha256_hex(target.as_bytes());
                prefixes.iter().any(|p| hash.starts_with(p.as_str()))
            }
        }
    }
}

impl DelegatedRole {
    /// True if this role is trusted for `target` ([`RoleScope::covers`]).
    pub fn covers(&self, target: &str) -> bool {
        self.scope.covers(target)
    }
}

impl Delegations {
    /// The roles delegated here that are trusted for `target`, in the
    /// order they are searched, each with whether it is terminating. A
    /// succinct delegation gives the one bin the path hashes to,
    /// terminating (TAP 15).
    pub fn roles_for_target(&self, target: &str) -> Vec<(String, bool)> {
        match &self.roles {
            DelegatedRoles::Listed(roles) => {
                let mut path_hash = None;
                roles
                    .iter()
                    .filter(|role| match &role.scope {
                        RoleScope::Paths(_) => role.covers(target),
                        // The path's hash once, however many roles list prefixes.
                        RoleScope::HashPrefixes(prefixes) => {
                            let hash =
                                path_hash.get_or_insert_with(|| sha256_hex(target.as_bytes()));
                            prefixes.iter().any(|p| hash.starts_with(p.as_str()))
                        }
                    })
                    .map(|role| (role.name.clone(), role.terminating))
                    .collect()
            }
            DelegatedRoles::Succinct(bins) => vec![(bins.bin_for_target(target), true)],
        }
    }

    /// True if role `name` is delegated here and trusted for `target`
    /// (for a succinct delegation: `name` is the bin `target` hashes to).
    pub fn delegates(&self, name: &str, target: &str) -> bool {
        match &self.roles {
            DelegatedRoles::Listed(roles) => roles
                .iter()
                .any(|role| role.name == name && role.covers(target)),
            DelegatedRoles::Succinct(bins) => bins.bin_for_target(target) == name,
        }
    }
}

/// One role to load during a [`TargetSearch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    /// The role's name.
    pub role: String,
    /// The role that delegates to it on this path (its keys and threshold
    /// must sign it); `None` for the top-level targets.
    pub delegator: Option<String>,
}

/// Why a [`TargetSearch`] stopped before it ran out of roles.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    /// The limit of roles to visit was reached (spec 5.7, python-tuf's
    /// `max_delegations`): a delegation graph cannot make a client work
    /// without end.
    #[error("not found within the first {0} roles searched")]
    TooManyRoles(usize),
}

/// The spec 5.7 search for one target path, without loading anything: the
/// caller asks [`TargetSearch::next_role`] which role to load, looks for
/// the target in it, and if absent hands its delegations back with
/// [`TargetSearch::descend`].
///
/// Order: pre-order depth-first from the top-level `targets`, children in
/// the order the delegator lists them. A role already visited is skipped.
/// A terminating child that is trusted for the path ends the search after
/// its own subtree: every role still queued (its later siblings, and what
/// its ancestors queued) is dropped, as python-tuf does.
#[derive(Clone, Debug)]
pub struct TargetSearch {
    target: String,
    to_visit: Vec<Visit>,
    visited: BTreeSet<String>,
    max_roles: usize,
}

impl TargetSearch {
    /// A search for `target` starting at the top-level targets, visiting at
    /// most `max_roles` roles.
    pub fn new(target: &str, max_roles: usize) -> Self {
        TargetSearch {
            target: target.to_owned(),
            to_visit: vec![Visit {
                role: "targets".into(),
                delegator: None,
            }],
            visited: BTreeSet::new(),
            max_roles,
        }
    }

    /// The next role to load, `None` when the search is over without a
    /// match, or an error once `max_roles` roles were visited.
    pub fn next_role(&mut self) -> Option<Result<Visit, SearchError>> {
        while let Some(visit) = self.to_visit.pop() {
            if self.visited.contains(&visit.role) {
                continue;
            }
            if self.visited.len() >= self.max_roles {
                return Some(Err(SearchError::TooManyRoles(self.max_roles)));
            }
            return Some(Ok(visit));
        }
        None
    }

    /// Records that `role` (the last [`next_role`](Self::next_role)) does
    /// not list the target, and queues the roles its `delegations` trust
    /// for it.
    pub fn descend(&mut self, role: &str, delegations: Option<&Delegations>) {
        self.visited.insert(role.to_owned());
        let Some(delegations) = delegations else {
            return;
        };
        let mut children = Vec::new();
        for (child, terminating) in delegations.roles_for_target(&self.target) {
            children.push(Visit {
                role: child,
                delegator: Some(role.to_owned()),
            });
            if terminating {
                self.to_visit.clear();
                break;
            }
        }
        self.to_visit.extend(children.into_iter().rev());
    }
}

/// One element of a compiled `fnmatch` pattern.
enum Token {
    Star,
    AnyOne,
    Literal(char),
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

fn compile(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if !matches!(tokens.last(), Some(Token::Star)) {
                    tokens.push(Token::Star);
                }
                i += 1;
            }
            '?' => {
                tokens.push(Token::AnyOne);
                i += 1;
            }
            '[' => match compile_class(&chars, i) {
                Some((token, next)) => {
                    tokens.push(token);
                    i = next;
                }
                None => {
                    // No closing bracket: a literal `[`, as fnmatch does.
                    tokens.push(Token::Literal('['));
                    i += 1;
                }
            },
            c => {
                tokens.push(Token::Literal(c));
                i += 1;
            }
        }
    }
    tokens
}

/// The class starting at `chars[start] == '['`, and the index after it.
fn compile_class(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut i = start + 1;
    let negated = chars.get(i) == Some(&'!');
    if negated {
        i += 1;
    }
    let first = i;
    let mut ranges = Vec::new();
    loop {
        let c = *chars.get(i)?;
        // A `]` right after `[` or `[!` is a literal member.
        if c == ']' && i > first {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&e| e != ']') {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
}

fn token_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Star | Token::AnyOne => true,
        Token::Literal(l) => *l == c,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
        }
    }
}

/// `fnmatch.fnmatchcase` for one segment; linear in pattern × text, so a
/// hostile pattern of many `*` costs no more than any other.
fn fnmatch(pattern: &str, text: &str) -> bool {
    let tokens = compile(pattern);
    let text: Vec<char> = text.chars().collect();
    // matched[j]: the tokens so far match text[..j].
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for token in &tokens {
        let mut next = vec![false; text.len() + 1];
        match token {
            Token::Star => {
                let mut any = false;
                for j in 0..=text.len() {
                    any |= matched[j];
                    next[j] = any;
                }
            }
            _ => {
                for j in 0..text.len() {
                    next[j + 1] = matched[j] && token_matches(token, text[j]);
                }
            }
        }
        matched = next;
    }
    matched[text.len()]
}

#[cfg(test)]
mod tests;
