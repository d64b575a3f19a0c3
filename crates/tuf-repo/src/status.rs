//! `tuf-repo status`: each top-level role's published version, expiry, time
//! left, keys and threshold; the offline roles due for renewal (delegated
//! ones too) with the `tuf-repo renew` command that stages them; the work
//! staged and waiting for signatures (`staged_work`) with the command to
//! run next; and a non-zero exit when any role is inside its margin
//! (`[margin]` in tuf-repo.toml), its `error:` line naming the commands.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args as ClapArgs;
use time::{Duration, OffsetDateTime};
use tuf_metadata::escape;
use tuf_metadata::signing::{Anchor, SigningPlan};
use tuf_metadata::threshold::{KeyStatus, ThresholdReport, short_id};

use crate::clock::{AtArgs, now_or};
use crate::config::{Config, Margin};
use crate::layout::{Repo, load_any};

/// Arguments of `status`.
#[derive(ClapArgs)]
pub struct Args {
    /// The repository directory.
    pub(crate) repo: PathBuf,
    #[command(flatten)]
    at: AtArgs,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<()> {
    let now = now_or(args.at);
    let repo = Repo::new(&args.repo);
    let config = Config::load(&args.repo)?;
    let Some(root) = repo.latest_root()? else {
        bail!(
            "{}: nothing is published yet (no repository/N.root.json)",
            args.repo.display()
        );
    };
    let root = root.signed();
    if let Some(why) = config
        .online
        .held_elsewhere(&args.repo, root.common.version)
    {
        say!("note: {why}");
    }
    say!(
        "{:<10} {:>7}  {:<20}  {:>9}  {:>9}  keys",
        "role",
        "version",
        "expires",
        "left",
        "threshold"
    );
    let mut attention = Vec::new();
    for role in ["root", "targets", "snapshot", "timestamp"] {
        let file = match role {
            "root" => Some(format!("{}.root.json", root.common.version)),
            "timestamp" => Some("timestamp.json".to_owned()),
            _ => repo
                .latest_version(role)?
                .map(|v| format!("{v}.{role}.json")),
        };
        let keys = root.role(role).expect("top-level role");
        let ids: Vec<&str> = keys.keyids.iter().map(|id| short_id(id)).collect();
        let threshold = format!("{} of {}", keys.threshold, ids.len());
        let path = file.map(|f| repo.published_file(&f));
        let Some(path) = path.filter(|p| p.exists()) else {
            say!(
                "{role:<10} {:>7}  {:<20}  {:>9}  {threshold:>9}  {}",
                "-",
                "-",
                "-",
                escape(&ids.join(" "))
            );
            attention.push(format!("{role} is not published"));
            continue;
        };
        let (_, metadata) = load_any(&path)?;
        let common = metadata.signed().common();
        let left = common.expires.time() - now;
        say!(
            "{role:<10} {:>7}  {:<20}  {:>9}  {threshold:>9}  {}",
            common.version,
            common.expires.as_str(),
            describe(left),
            escape(&ids.join(" "))
        );
        let margin = margin_for(&config.margin, role);
        if left <= margin {
            let state = match describe(left).as_str() {
                "expired" => "expired".to_owned(),
                left => format!("{left} left"),
            };
            attention.push(format!(
                "{role} v{} expires {} ({state}, margin {})",
                common.version,
                common.expires.as_str(),
                describe(margin)
            ));
        }
    }
    let due = crate::renew::due_roles(&repo, &config, now)?;
    let delegated_due: Vec<_> = due
        .iter()
        .filter(|d| d.role != "root" && d.role != "targets")
        .collect();
    for d in delegated_due.iter().take(10) {
        say!(
            "{:<10} {:>7}  {:<20}  due for renewal",
            d.role,
            d.version,
            d.expires
        );
    }
    if delegated_due.len() > 10 {
        say!(
            "… and {} more delegated roles due",
            delegated_due.len() - 10
        );
    }
    if !delegated_due.is_empty() {
        attention.push(format!(
            "{} delegated role(s) expire inside the targets margin ({})",
            delegated_due.len(),
            describe(margin_for(&config.margin, "targets"))
        ));
    }
    if !due.is_empty() {
        attention.push(format!(
            "to renew, run `{}`, then `tuf-repo stage {} --stick <dir>` for the ceremony",
            crate::renew::command_for(&args.repo, &due),
            args.repo.display()
        ));
    }
    // Staged work alone is not a failure: cron jobs (refresh-timestamp)
    // alert on the exit code, which stays about margins. Its next step is
    // printed, and joins the `error:` line when a margin fails.
    let next = staged_work(&repo, &args.repo, now)?;
    if !attention.is_empty() {
        attention.extend(next);
        bail!("{}: {}", args.repo.display(), attention.join("; "));
    }
    for step in &next {
        say!("next: {step}");
    }
    Ok(())
}

/// Staged files shown one by one; beyond this (thousands of hash bins)
/// only a count.
const STAGED_SHOWN: usize = 20;

/// The staged work, as tuf-on-ci shows a signing event: every staged file
/// whose version is not published yet, with each key set it must meet
/// (threshold of which root or delegator), the keys that signed so far
/// (with the stick `merge` found each on, `sources.rs`) and those still
/// missing, and whether the last bundle (`staged/manifest.json`)
/// carries it. Returns what needs doing, each naming the command to run.
fn staged_work(repo: &Repo, dir: &Path, now: OffsetDateTime) -> Result<Vec<String>> {
    let trusted = repo.latest_root()?;
    let pending = crate::stage::pending_root(repo, trusted.as_ref())?;
    let mut plans: Vec<(String, Result<SigningPlan, String>)> = Vec::new();
    if let Some((bytes, _)) = &pending {
        let plan = SigningPlan::new(bytes, trusted.as_ref(), now).map_err(|e| e.to_string());
        plans.push(("staged/root.json".to_owned(), plan));
    }
    if let Some(graph) = crate::graph::Graph::load(repo)? {
        for (i, role) in graph.roles.iter().enumerate().filter(|(_, r)| r.staged) {
            let anchor = match (graph.delegator_of(i), &pending, &trusted) {
                (Some(parent), _, _) => parent.anchor(&role.role),
                (None, Some((_, root)), _) => Anchor::Staged(root),
                (None, None, Some(trusted)) => Anchor::Trusted(trusted),
                (None, None, None) => Anchor::None,
            };
            let plan =
                SigningPlan::with_anchor(&role.bytes, anchor, now).map_err(|e| e.to_string());
            plans.push((role.bundle_path.clone(), plan));
        }
    }
    if plans.is_empty() {
        say!("staged: nothing is waiting for signatures");
        return Ok(Vec::new());
    }
    let manifest_path = repo.staged_file(bundle_format::layout::MANIFEST_FILE);
    let manifest = match manifest_path.exists() {
        true => Some(crate::manifest::Manifest::read(&manifest_path)?),
        false => None,
    };
    let sources = crate::sources::read(repo);
    let in_bundle: BTreeSet<(String, String)> = manifest
        .iter()
        .flat_map(|m| m.items.iter())
        .map(|i| (i.file.clone(), i.canonical_sha256.clone()))
        .collect();
    say!("");
    match &manifest {
        Some(m) => say!("staged work (the last bundle was written {}):", m.created),
        None => say!("staged work (no bundle written yet):"),
    }
    let (mut unbundled, mut refused, mut waiting, mut signed) = (0, 0, 0, 0);
    let mut first_waiting = None;
    for (n, (file, plan)) in plans.iter().enumerate() {
        let show = n < STAGED_SHOWN;
        let plan = match plan {
            Ok(plan) => plan,
            Err(why) => {
                refused += 1;
                if show {
                    say!("  {file}: the appliance would refuse it: {why}");
                }
                continue;
            }
        };
        let signed_part = plan.metadata().signed();
        let digest = plan.metadata().signed_digest();
        let bundled = in_bundle.contains(&(file.clone(), digest.clone()));
        let boards = plan.board();
        let met = boards.iter().all(|(_, report)| report.is_met());
        match (bundled, met) {
            (_, true) => signed += 1,
            (false, false) => unbundled += 1,
            (true, false) => {
                waiting += 1;
                first_waiting.get_or_insert_with(|| {
                    let (label, report) = boards
                        .iter()
                        .find(|(_, r)| !r.is_met())
                        .expect("one is not met");
                    format!(
                        "{} v{}: {label} {report}",
                        plan.role(),
                        signed_part.common().version
                    )
                });
            }
        }
        if !show {
            continue;
        }
        say!(
            "  {file} ({} v{}) canonical sha256 {}…, {}",
            plan.role(),
            signed_part.common().version,
            &digest[..16],
            if bundled {
                "in the last bundle"
            } else {
                "not in a bundle yet"
            }
        );
        let from = sources.get(&digest);
        for (label, report) in &boards {
            say!("    {label}: {}", board_line(report));
            for (id, _) in report.keys.iter().filter(|(_, s)| *s == KeyStatus::Counted) {
                if let Some(source) = from.and_then(|f| f.get(id)) {
                    say!(
                        "      {} from stick {}{}",
                        short_id(id),
                        source.stick,
                        source
                            .signer
                            .as_ref()
                            .map_or_else(String::new, |s| format!(", signed with {s}"))
                    );
                }
            }
        }
    }
    if plans.len() > STAGED_SHOWN {
        say!("  … and {} more staged files", plans.len() - STAGED_SHOWN);
    }
    let dir = dir.display();
    let mut attention = Vec::new();
    if refused > 0 {
        attention.push(format!(
            "{refused} staged file(s) the appliance would refuse (see above): stage them again (`tuf-repo renew`, `add-target`, `stage-rotation`)"
        ));
    }
    if unbundled > 0 {
        attention.push(format!(
            "{unbundled} staged file(s) not in a bundle yet: run `tuf-repo stage {dir} --stick <dir>` and take the stick to the ceremony"
        ));
    }
    if waiting > 0 {
        attention.push(format!(
            "{waiting} staged file(s) wait for signatures ({}): after the ceremony, run `tuf-repo merge {dir} --stick <dir>` for each stick",
            first_waiting.unwrap_or_default()
        ));
    }
    if signed > 0 && unbundled + waiting + refused == 0 {
        attention.push(format!(
            "{signed} staged file(s) are signed by every threshold: run `tuf-repo commit {dir}`"
        ));
    }
    Ok(attention)
}

/// "1/2 not met; signed: 1a2b3c4d; missing: 5e6f7a8b", key ids shortened
/// (the stick and signer of each signature follow on their own lines).
fn board_line(report: &ThresholdReport) -> String {
    let ids = |want: fn(&KeyStatus) -> bool| -> Vec<&str> {
        report
            .keys
            .iter()
            .filter(|(_, s)| want(s))
            .map(|(id, _)| short_id(id))
            .collect()
    };
    let signed = ids(|s| matches!(s, KeyStatus::Counted | KeyStatus::SameKeyAs(_)));
    let missing = ids(|s| matches!(s, KeyStatus::NotSigned));
    let rejected = ids(|s| matches!(s, KeyStatus::Rejected(_)));
    let mut line = format!(
        "{report} {}; signed: {}; missing: {}",
        if report.is_met() { "met" } else { "not met" },
        none_if_empty(&signed),
        none_if_empty(&missing)
    );
    if !rejected.is_empty() {
        line.push_str(&format!("; not counted: {}", rejected.join(" ")));
    }
    line
}

fn none_if_empty(ids: &[&str]) -> String {
    if ids.is_empty() {
        "none".to_owned()
    } else {
        ids.join(" ")
    }
}

/// A role's margin as a duration.
pub fn margin_for(margin: &Margin, role: &str) -> Duration {
    match role {
        "root" => Duration::days(margin.root_days.into()),
        "targets" => Duration::days(margin.targets_days.into()),
        "snapshot" => Duration::days(margin.snapshot_days.into()),
        _ => Duration::hours(margin.timestamp_hours.into()),
    }
}

/// "12d", "5h", or "expired".
fn describe(left: Duration) -> String {
    if left <= Duration::ZERO {
        "expired".into()
    } else if left >= Duration::days(2) {
        format!("{}d", left.whole_days())
    } else {
        format!("{}h", left.whole_hours())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_and_time_left_read_as_people_say_them() {
        let margin = Margin::default();
        assert_eq!(margin_for(&margin, "root"), Duration::days(30));
        assert_eq!(margin_for(&margin, "timestamp"), Duration::hours(6));
        assert_eq!(describe(Duration::days(40)), "40d");
        assert_eq!(describe(Duration::hours(30)), "30h");
        assert_eq!(describe(Duration::seconds(-1)), "expired");
    }
}
