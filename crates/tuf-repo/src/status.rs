//! `tuf-repo status`: each top-level role's published version, expiry, time
//! left, keys and threshold, and a non-zero exit when any role is inside its
//! margin (`[margin]` in tuf-repo.toml), so a cron job can warn in time.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args as ClapArgs;
use time::Duration;
use tuf_metadata::escape;
use tuf_metadata::threshold::short_id;

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
    if !attention.is_empty() {
        bail!("{}: {}", args.repo.display(), attention.join("; "));
    }
    Ok(())
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
