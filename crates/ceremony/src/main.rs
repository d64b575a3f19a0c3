//! `ceremony`: the offline signing appliance. This binary has the headless
//! subcommands scripts and tests use; the terminal UI arrives with issue 5.
//! Exit codes (DESIGN.md): 0 success, 1 input checked and rejected (one
//! `error:` line), 2 usage.

mod cli_onboard;
mod cli_sign;
mod cli_token;
mod cli_yubikey;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sign TUF metadata offline with hardware keys.
#[derive(Parser)]
#[command(name = "ceremony", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign one metadata file in place with a key on a PKCS#11 token, or
    /// on a YubiKey over PIV with `--profile yubikey-piv`.
    Sign(cli_sign::Args),
    /// Generate a keyholder's key on a PKCS#11 token (or a YubiKey over PIV
    /// with `--profile yubikey-piv`) and write its public key object.
    Onboard(cli_onboard::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sign(args) => cli_sign::run(&args),
        Command::Onboard(args) => cli_onboard::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
