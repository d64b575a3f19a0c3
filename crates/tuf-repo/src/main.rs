//! `tuf-repo`: the releaser's online tool. Exit codes are a contract
//! (DESIGN.md): 0 success, 1 input checked and rejected (one `error:` line),
//! 2 usage.

#[macro_use]
extern crate cli_common;

mod check_key;
mod client_cmd;
mod clock;
mod commit;
mod config;
mod delegate;
mod digest;
mod graph;
mod import;
mod init;
mod journal;
mod keyholder;
mod keys;
mod layout;
mod layouts;
mod lock;
mod manifest;
mod merge;
mod online;
mod online_roles;
mod publish;
mod publish_git;
mod publish_s3;
mod refresh;
mod renew;
mod serve;
mod sources;
mod stage;
mod status;
mod target_files;
mod transcript_cmd;
mod verify;
mod verify_root;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// The releaser's online tool for a TUF repository whose root and targets
/// are signed offline.
///
/// A repository and its ceremonies: init, stage-rotation, stage, merge,
/// commit, renew. Targets and delegations: add-target, remove-target,
/// delegate. Online roles (cron): snapshot, timestamp. Checks: status,
/// verify, verify-root, check-key, digest, transcript. Publishing and clients: publish,
/// serve, client. Other layouts: export, import.
#[derive(Parser)]
#[command(name = "tuf-repo", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a new repository: configuration, root v1 and targets v1 staged unsigned.
    Init(init::Args),
    /// Stage root N+1 and write the ceremony bundle to a stick.
    StageRotation(stage::Args),
    /// Write a ceremony bundle of whatever is staged and not yet published (targets, a pending root).
    Stage(stage::PendingArgs),
    /// Stage V+1 of offline roles (root, targets, delegated, bins) with only a new expiry, for the next ceremony.
    Renew(renew::Args),
    /// Gather the signatures made on ceremony sticks into the staged files.
    Merge(merge::Args),
    /// Install what the ceremony signed, then a new snapshot and timestamp.
    Commit(commit::Args),
    /// Stage a target file into the staged targets metadata, or a delegated role's with --role (published at commit).
    AddTarget(target_files::AddArgs),
    /// Delegate from the targets or any delegated role (named role or succinct hash bins); re-key or remove a delegation.
    Delegate(delegate::Args),
    /// Remove a target from the staged targets metadata (or a delegated role's, with --role).
    RemoveTarget(target_files::RemoveArgs),
    /// Write the repository in go-tuf's layout (repository/, staged/) or tuf-on-ci's (metadata/, metadata/root_history/, targets/).
    Export(layouts::ExportArgs),
    /// Make a new repository from a go-tuf or tuf-on-ci layout, verified before anything is written.
    Import(import::ImportArgs),
    /// Sign a new snapshot (and timestamp) over what is published, with the online keys.
    Snapshot(refresh::SnapshotArgs),
    /// Sign a new timestamp when the current one is inside its margin (for cron).
    Timestamp(refresh::TimestampArgs),
    /// Show each role's version, expiry and keys; exit 1 inside a margin.
    Status(status::Args),
    /// Check the published repository as a client would: roots, timestamp, snapshot, targets, delegations, target files.
    Verify(verify::Args),
    /// Verify each next root in order against the one before it.
    VerifyRoot(verify_root::Args),
    /// Print the canonical SHA-256 of what is signed in metadata files, grouped as the ceremony screen shows it.
    Digest(digest::Args),
    /// Re-check a public key file's YubiKey attestation: chain to Yubico's root, bound to the key; print serial, firmware, policies.
    CheckKey(check_key::Args),
    /// Serve the published repository over HTTP (loopback by default), for drills and local clients.
    Serve(serve::Args),
    /// Copy the verified repository to a directory, git work tree or S3 bucket in a client-safe order, then re-check it as a client.
    Publish(publish::Args),
    /// A strict TUF client: init with a trusted root, refresh, download targets (the TUF conformance suite's command line).
    Client(client_cmd::Args),
    /// Check a ceremony transcript (its hash chain, the signatures it records) or print its record for publication (HTML or text).
    #[command(subcommand)]
    Transcript(transcript_cmd::TranscriptCommand),
}

/// The command line, parsed with the conventions both binaries share
/// (lower-case value names in help).
fn parse_command_line() -> Cli {
    let matches = cli_common::lower_case_value_names(Cli::command()).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The repository a command writes (or judges); `None` for commands that
/// only read, that create a repository, or that judge a directory that is
/// not one.
fn repository_of(command: &Command) -> Option<&std::path::Path> {
    let is_repository = |repo: &std::path::Path| repo.join(config::FILE_NAME).is_file();
    let repo = match command {
        Command::Verify(a) if is_repository(&a.repo) => &a.repo,
        Command::Status(a) if is_repository(&a.repo) => &a.repo,
        Command::StageRotation(a) => &a.repo,
        Command::Stage(a) => &a.repo,
        Command::Renew(a) => &a.repo,
        Command::Merge(a) => &a.repo,
        Command::Commit(a) => &a.repo,
        Command::AddTarget(a) => &a.repo,
        Command::RemoveTarget(a) => &a.repo,
        Command::Delegate(a) => &a.repo,
        Command::Snapshot(a) => &a.repo,
        Command::Timestamp(a) => &a.repo,
        Command::Publish(a) => &a.repo,
        _ => return None,
    };
    Some(repo.as_path())
}

fn main() -> ExitCode {
    let cli = parse_command_line();
    // Every command that writes the repository holds its lock throughout,
    // and first completes or undoes what a killed command left unfinished;
    // `verify` and `status` do the same in a repository (not in a bare
    // published directory), so they never judge a half-made change.
    let _lock = match repository_of(&cli.command) {
        Some(repo) => match lock::acquire(repo).and_then(|lock| {
            if let Some(done) = journal::recover(repo)? {
                say_err!("note: {}: {done}", repo.display());
            }
            Ok(lock)
        }) {
            Ok(lock) => lock,
            Err(err) => return cli_common::finish(Err(err)),
        },
        None => None,
    };
    let result = match cli.command {
        Command::Init(args) => init::run(&args),
        Command::StageRotation(args) => stage::run(&args),
        Command::Stage(args) => stage::run_pending(&args),
        Command::Renew(args) => renew::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Commit(args) => commit::run(&args),
        Command::AddTarget(args) => target_files::run_add(&args),
        Command::Delegate(args) => delegate::run(&args),
        Command::RemoveTarget(args) => target_files::run_remove(&args),
        Command::Export(args) => layouts::run_export(&args),
        Command::Import(args) => import::run_import(&args),
        Command::Snapshot(args) => refresh::run_snapshot(&args),
        Command::Timestamp(args) => refresh::run_timestamp(&args),
        Command::Status(args) => status::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::VerifyRoot(args) => verify_root::run(&args),
        Command::CheckKey(args) => check_key::run(&args),
        Command::Digest(args) => digest::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Publish(args) => publish::run(&args),
        Command::Client(args) => client_cmd::run(&args),
        Command::Transcript(command) => transcript_cmd::run(&command),
    };
    cli_common::finish(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let matches = cli_common::lower_case_value_names(Cli::command())
            .try_get_matches_from(std::iter::once("tuf-repo").chain(args.iter().copied()))?;
        Cli::from_arg_matches(&matches)
    }

    #[test]
    fn every_value_name_is_lower_case() {
        let cmd = cli_common::lower_case_value_names(Cli::command());
        assert_eq!(cli_common::value_name_problems(&cmd), Vec::<String>::new());
        cmd.debug_assert();
    }

    #[test]
    fn old_spellings_still_parse_as_hidden_aliases() {
        for (new, old) in [
            (
                vec![
                    "stage-rotation",
                    "r",
                    "--stick",
                    "s",
                    "--root-expires-days",
                    "9",
                ],
                vec!["stage-rotation", "r", "--out", "s", "--expires-days", "9"],
            ),
            (
                vec!["stage", "r", "--stick", "s"],
                vec!["stage", "r", "--out", "s"],
            ),
            (
                vec!["merge", "r", "--stick", "a", "--stick", "b"],
                vec!["merge", "r", "a", "b"],
            ),
        ] {
            assert!(parse(&new).is_ok(), "{new:?}");
            assert!(parse(&old).is_ok(), "{old:?}");
        }
        let init = |expiry: &[&str]| {
            let mut args = vec![
                "init",
                "r",
                "--root-key",
                "k",
                "--root-threshold",
                "1",
                "--snapshot-key",
                "s",
                "--timestamp-key",
                "t",
            ];
            args.extend_from_slice(expiry);
            parse(&args)
        };
        for role in ["root", "targets", "snapshot", "timestamp"] {
            let new = format!("--{role}-expires-days");
            let old = format!("--expiry-{role}-days");
            assert!(init(&[&new, "30"]).is_ok(), "{new}");
            assert!(init(&[&old, "30"]).is_ok(), "{old}");
        }
        let help = Cli::command()
            .find_subcommand_mut("stage-rotation")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("--stick <dir>"), "{help}");
        assert!(
            !help.contains("--out") && !help.contains("--expires-days"),
            "{help}"
        );
    }

    #[test]
    fn merge_needs_a_stick_one_way_or_the_other() {
        let err = parse(&["merge", "r"])
            .err()
            .expect("no stick is a usage error");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn at_and_days_are_checked_when_parsed() {
        assert!(parse(&["status", "r", "--at", "2029-01-01T00:00:00Z"]).is_ok());
        let late = parse(&["status", "r", "--at", "9999-01-01T00:00:00Z"])
            .err()
            .unwrap();
        assert!(late.to_string().contains("after the year 9000"), "{late}");
        let long = parse(&[
            "stage-rotation",
            "r",
            "--stick",
            "s",
            "--root-expires-days",
            "99999",
        ])
        .err()
        .unwrap();
        assert!(long.to_string().contains("more than"), "{long}");
    }

    #[test]
    fn attestation_root_is_repeatable_where_keys_are_read() {
        for base in [
            vec!["check-key", "k.pub.json"],
            vec!["stage-rotation", "r", "--stick", "s"],
            vec![
                "delegate",
                "r",
                "--name",
                "n",
                "--key",
                "k",
                "--threshold",
                "1",
                "--paths",
                "p/*",
            ],
        ] {
            let mut args = base.clone();
            args.extend(["--attestation-root", "a.pem", "--attestation-root", "b.pem"]);
            assert!(parse(&args).is_ok(), "{args:?}");
        }
    }
}
