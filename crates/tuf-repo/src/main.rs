//! `tuf-repo`: the releaser's online tool. Exit codes are a contract
//! (DESIGN.md): 0 success, 1 input checked and rejected (one `error:` line),
//! 2 usage.

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
    /// Verify each next root in order against the one before it.
    VerifyRoot(verify_root::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
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
