//! `tuf-repo`: the releaser's online tool. Exit codes are a contract
//! (DESIGN.md): 0 success, 1 input checked and rejected (one `error:` line),
//! 2 usage.

mod check_key;
mod client_cmd;
mod clock;
mod commit;
mod config;
mod delegate;
mod graph;
mod init;
mod keys;
mod layout;
mod layouts;
mod manifest;
mod merge;
mod online;
mod online_roles;
mod publish;
mod publish_git;
mod publish_s3;
mod refresh;
mod serve;
mod stage;
mod status;
mod target_files;
mod transcript_cmd;
mod verify;
mod verify_root;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The releaser's online tool: prepare ceremonies, merge and commit what
/// keyholders signed, refresh online roles, verify, publish, and a strict
/// TUF client.
#[derive(Parser)]
#[command(name = "tuf-repo", version, about)]
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
    Import(layouts::ImportArgs),
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
    /// Re-check a public key file's YubiKey attestation: chain to Yubico's root, bound to the key; print serial, firmware, policies.
    CheckKey(check_key::Args),
    /// Serve the published repository over HTTP (loopback by default), for drills and local clients.
    Serve(serve::Args),
    /// Copy the verified repository to a directory, git work tree or S3 bucket in a client-safe order, then re-check it as a client.
    Publish(publish::Args),
    /// A strict TUF client: init with a trusted root, refresh, download targets (the TUF conformance suite's command line).
    Client(client_cmd::Args),
    /// Check a ceremony transcript: its hash chain, and that the signatures it records are in the metadata files given.
    #[command(subcommand)]
    Transcript(transcript_cmd::TranscriptCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init(args) => init::run(&args),
        Command::StageRotation(args) => stage::run(&args),
        Command::Stage(args) => stage::run_pending(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Commit(args) => commit::run(&args),
        Command::AddTarget(args) => target_files::run_add(&args),
        Command::Delegate(args) => delegate::run(&args),
        Command::RemoveTarget(args) => target_files::run_remove(&args),
        Command::Export(args) => layouts::run_export(&args),
        Command::Import(args) => layouts::run_import(&args),
        Command::Snapshot(args) => refresh::run_snapshot(&args),
        Command::Timestamp(args) => refresh::run_timestamp(&args),
        Command::Status(args) => status::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::VerifyRoot(args) => verify_root::run(&args),
        Command::CheckKey(args) => check_key::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Publish(args) => publish::run(&args),
        Command::Client(args) => client_cmd::run(&args),
        Command::Transcript(command) => transcript_cmd::run(&command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: the chain of contexts joined, never a backtrace.
            // Escaped: messages quote paths, names and fields from sticks,
            // repositories and transcripts.
            eprintln!("error: {}", tuf_metadata::escape(&format!("{err:#}")));
            ExitCode::from(1)
        }
    }
}
