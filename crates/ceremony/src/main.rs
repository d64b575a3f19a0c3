//! `ceremony`: the offline signing appliance. With no subcommand it runs
//! the terminal UI keyholders and witnesses use; the subcommands are the
//! headless paths scripts and tests use. Exit codes (DESIGN.md): 0 success, 1 input checked and rejected (one
//! `error:` line), 2 usage.

mod cli_drill;
mod cli_inspect;
mod cli_onboard;
mod cli_preflight;
mod cli_sign;
mod cli_time;
mod cli_token;
mod cli_tui;
mod cli_yubikey;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sign TUF metadata offline with hardware keys.
#[derive(Parser)]
#[command(name = "ceremony", version, about)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    tui: cli_tui::Args,
}

#[derive(Subcommand)]
enum Command {
    /// Sign one metadata file in place with a key on a PKCS#11 token, or
    /// on a YubiKey over PIV with `--profile yubikey-piv`.
    Sign(cli_sign::Args),
    /// Generate a keyholder's key on a PKCS#11 token (or a YubiKey over PIV
    /// with `--profile yubikey-piv`) and write its public key object.
    Onboard(cli_onboard::Args),
    /// Check that this machine is fit for a ceremony: no network, no core
    /// dumps.
    Preflight(cli_preflight::Args),
    /// Print the review and threshold board of a stick as text: what the
    /// review screen shows.
    Inspect(cli_inspect::Args),
    /// Stage a practice rotation (root v1 → v2, one key replaced, 2 of 3)
    /// with SoftHSM2 tokens, for `ceremony --drill --media <stick>`.
    DrillStage(cli_drill::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => cli_tui::run(&cli.tui),
        Some(Command::Sign(args)) => cli_sign::run(&args),
        Some(Command::Onboard(args)) => cli_onboard::run(&args),
        Some(Command::Preflight(args)) => cli_preflight::run(&args),
        Some(Command::Inspect(args)) => cli_inspect::run(&args),
        Some(Command::DrillStage(args)) => cli_drill::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, escaped: messages quote paths and fields from a stick.
            eprintln!("error: {}", tuf_metadata::escape(&format!("{err:#}")));
            ExitCode::from(1)
        }
    }
}
