//! `tuf-repo`: the releaser's online tool. Exit codes are a contract
//! (DESIGN.md): 0 success, 1 input checked and rejected (one `error:` line),
//! 2 usage.

mod clock;
mod commit;
mod config;
mod init;
mod keys;
mod layout;
mod manifest;
mod merge;
mod online;
mod stage;
mod status;
mod verify_root;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Prepare, verify, commit and publish TUF repositories.
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
    /// Gather the signatures made on ceremony sticks into the staged files.
    Merge(merge::Args),
    /// Install what the ceremony signed, then a new snapshot and timestamp.
    Commit(commit::Args),
    /// Show each role's version, expiry and keys; exit 1 inside a margin.
    Status(status::Args),
    /// Verify each next root in order against the one before it.
    VerifyRoot(verify_root::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init(args) => init::run(&args),
        Command::StageRotation(args) => stage::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Commit(args) => commit::run(&args),
        Command::Status(args) => status::run(&args),
        Command::VerifyRoot(args) => verify_root::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: the chain of contexts joined, never a backtrace.
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
