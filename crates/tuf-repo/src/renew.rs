//! `tuf-repo renew <repo> <role>... | --due`: stage version V+1 of offline
//! roles with nothing changed but the version and a fresh expiry (from
//! tuf-repo.toml), for the next ceremony (`tuf-repo stage`) to sign —
//! tuftool's `--targets-expires`, tuf-on-ci's signing event for an expiring
//! role. Roles are `root`, `targets`, a delegated role's name, or a pattern
//! with `*` (`bins-*`: every hash bin); `--due` keeps only the roles inside
//! their renewal margin (`[margin]`: root's for root, targets' for targets
//! and every delegated role), and alone means every offline role due.
//!
//! A role already staged (its version not published yet) is left as it is:
//! the next ceremony signs that version, and its merged signatures stay.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use metadata_io::write_atomically;
use time::{Duration, OffsetDateTime};
use tuf_metadata::signing::SigningPlan;
use tuf_metadata::{Metadata, Root, json};

use crate::clock::{AtArgs, expires_in_days, now_or};
use crate::config::Config;
use crate::graph::{Graph, file_stem};
use crate::keys::check_signable;
use crate::layout::Repo;
use crate::stage::pending_root;
use crate::status::margin_for;
use crate::target_files::write_targets;

/// Arguments of `renew`.
#[derive(ClapArgs)]
pub struct Args {
    /// The repository directory.
    pub(crate) repo: PathBuf,
    /// Offline roles to renew: root, targets, a delegated role, or a
    /// pattern such as `bins-*` (quote it from the shell).
    #[arg(value_name = "role", required_unless_present = "due")]
    roles: Vec<String>,
    /// Only the roles inside their renewal margin; with no role named,
    /// every offline role that is due.
    #[arg(long)]
    due: bool,
    #[command(flatten)]
    at: AtArgs,
}

/// An offline role inside its renewal margin (or expired).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    /// The role's name.
    pub role: String,
    /// The published version that expires.
    pub version: u64,
    /// Its expiry, RFC 3339.
    pub expires: String,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<()> {
    let now = now_or(args.at);
    let repo = Repo::new(&args.repo);
    let config = Config::load(&args.repo)?;
    let Some(trusted) = repo.latest_root()? else {
        bail!(
            "{}: nothing is published yet; the first ceremony signs what `tuf-repo init` staged (`tuf-repo stage`)",
            args.repo.display()
        );
    };
    let graph = Graph::load(&repo)?;
    let names = offline_roles(graph.as_ref());
    let mut wanted: Vec<String> = Vec::new();
    for pattern in &args.roles {
        if matches!(pattern.as_str(), "snapshot" | "timestamp") {
            bail!(
                "{pattern} is an online role: `tuf-repo {pattern} {}` renews it",
                args.repo.display()
            );
        }
        let hits: Vec<&String> = names.iter().filter(|n| matches(pattern, n)).collect();
        if hits.is_empty() {
            bail!(
                "{}: no offline role matches {pattern:?} (offline roles: {})",
                args.repo.display(),
                summary(&names)
            );
        }
        for hit in hits {
            if !wanted.contains(hit) {
                wanted.push(hit.clone());
            }
        }
    }
    if args.roles.is_empty() {
        wanted = names.clone();
    }
    if args.due {
        let due: Vec<String> = due_roles(&repo, &config, now)?
            .into_iter()
            .map(|d| d.role)
            .collect();
        wanted.retain(|r| due.contains(r));
        if wanted.is_empty() {
            say!("nothing to renew: no offline role named is inside its renewal margin");
            return Ok(());
        }
    }

    let mut renewed = Vec::new();
    let mut already = Vec::new();
    if wanted.iter().any(|r| r == "root") {
        match renew_root(&repo, &config, &trusted, now)? {
            Some(line) => renewed.push(line),
            None => already.push("root".to_owned()),
        }
    }
    if let Some(graph) = &graph {
        for role in &graph.roles {
            if !wanted.contains(&role.role) {
                continue;
            }
            if role.staged {
                already.push(role.label.clone());
                continue;
            }
            let mut next = role.targets.clone();
            next.common.version += 1;
            next.common.expires = expires_in_days(now, config.expiry.targets);
            let path = repo.staged_file(&format!("{}.json", file_stem(&role.role)));
            let line = format!(
                "{} v{} staged in {} (expires {})",
                role.role,
                next.common.version,
                path.display(),
                next.common.expires.as_str()
            );
            write_targets(&path, next)?;
            renewed.push(line);
        }
    }
    for line in renewed.iter().take(20) {
        say!("renewed {line}");
    }
    if renewed.len() > 20 {
        say!("renewed {} more roles the same way", renewed.len() - 20);
    }
    if !already.is_empty() {
        say!("already staged, left as they are: {}", summary(&already));
    }
    say!(
        "next: tuf-repo stage {} --stick <dir>, then the ceremony signs {}",
        args.repo.display(),
        if renewed.len() + already.len() == 1 {
            "it"
        } else {
            "them"
        }
    );
    Ok(())
}

/// Root N+1 with only the version and expiry changed, in `staged/root.json`;
/// `None` when a root is already staged (its ceremony renews it too).
fn renew_root(
    repo: &Repo,
    config: &Config,
    trusted: &Metadata<Root>,
    now: OffsetDateTime,
) -> Result<Option<String>> {
    if pending_root(repo, Some(trusted))?.is_some() {
        return Ok(None);
    }
    let path = repo.staged_file("root.json");
    let mut root = trusted.signed().clone();
    root.common.version += 1;
    root.common.expires = expires_in_days(now, config.expiry.root);
    check_signable(&root).with_context(|| path.display().to_string())?;
    let version = root.common.version;
    let bytes = json::to_pretty(&Metadata::new(root.clone()).to_value());
    SigningPlan::new(&bytes, Some(trusted), now).with_context(|| {
        format!(
            "{}: root v{version}: the appliance would refuse it",
            path.display()
        )
    })?;
    std::fs::create_dir_all(repo.staged())
        .with_context(|| format!("{}: cannot create", repo.staged().display()))?;
    write_atomically(&path, &bytes).with_context(|| path.display().to_string())?;
    Ok(Some(format!(
        "root v{version} staged in {} (expires {})",
        path.display(),
        root.common.expires.as_str()
    )))
}

/// Every offline role: root, then the targets graph in force.
fn offline_roles(graph: Option<&Graph>) -> Vec<String> {
    let mut names = vec!["root".to_owned()];
    if let Some(graph) = graph {
        names.extend(graph.roles.iter().map(|r| r.role.clone()));
    }
    names
}

/// The offline roles whose published version expires inside its margin,
/// not counting roles already staged (their ceremony renews them): root
/// first, then the targets graph in order.
pub fn due_roles(repo: &Repo, config: &Config, now: OffsetDateTime) -> Result<Vec<Due>> {
    let mut due = Vec::new();
    let Some(trusted) = repo.latest_root()? else {
        return Ok(due);
    };
    let inside = |expires: OffsetDateTime, margin: Duration| expires - now <= margin;
    let root = &trusted.signed().common;
    if inside(root.expires.time(), margin_for(&config.margin, "root"))
        && pending_root(repo, Some(&trusted))?.is_none()
    {
        due.push(Due {
            role: "root".into(),
            version: root.version,
            expires: root.expires.as_str().to_owned(),
        });
    }
    if let Some(graph) = Graph::load(repo)? {
        let margin = margin_for(&config.margin, "targets");
        for role in graph.roles.iter().filter(|r| !r.staged) {
            let common = &role.targets.common;
            if inside(common.expires.time(), margin) {
                due.push(Due {
                    role: role.role.clone(),
                    version: common.version,
                    expires: common.expires.as_str().to_owned(),
                });
            }
        }
    }
    Ok(due)
}

/// The command that renews `due` (all of them): the roles by name when
/// they are few, `--due` otherwise.
pub fn command_for(repo: &std::path::Path, due: &[Due]) -> String {
    if due.len() <= 4 {
        let names: Vec<&str> = due.iter().map(|d| d.role.as_str()).collect();
        format!("tuf-repo renew {} {}", repo.display(), names.join(" "))
    } else {
        format!("tuf-repo renew {} --due", repo.display())
    }
}

/// `pattern` with `*` matching any run of characters (none included).
fn matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Names for a message: all of them when few, else the first few and a count.
fn summary(names: &[String]) -> String {
    if names.len() <= 6 {
        names.join(", ")
    } else {
        format!("{}, … ({} in all)", names[..5].join(", "), names.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_star_matches_any_run_of_characters() {
        assert!(matches("bins-*", "bins-0a"));
        assert!(matches("*", "targets"));
        assert!(matches("targets", "targets"));
        assert!(!matches("targets", "targets2"));
        assert!(matches("b*-*f", "bins-0f"));
        assert!(!matches("b*-*f", "bins-0a"));
        assert!(!matches("bins-*", "claimed"));
        assert!(matches("a*a", "aa"));
        assert!(!matches("a*a", "a"));
    }

    #[test]
    fn few_due_roles_are_named_and_many_become_due() {
        let due = |role: &str| Due {
            role: role.into(),
            version: 1,
            expires: String::new(),
        };
        let repo = std::path::Path::new("repo");
        assert_eq!(
            command_for(repo, &[due("root"), due("targets")]),
            "tuf-repo renew repo root targets"
        );
        let many: Vec<Due> = (0..16).map(|n| due(&format!("bins-{n:x}"))).collect();
        assert_eq!(command_for(repo, &many), "tuf-repo renew repo --due");
    }
}
