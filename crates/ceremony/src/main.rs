//! `ceremony`: the offline signing appliance. With no subcommand it runs
//! the terminal UI keyholders and witnesses use; the subcommands are the
//! headless paths scripts and tests use. Exit codes (DESIGN.md): 0 success, 1 input checked and rejected (one
//! `error:` line), 2 usage.

#[macro_use]
extern crate cli_common;

mod cli_drill;
mod cli_inspect;
mod cli_onboard;
mod cli_preflight;
mod cli_sign;
mod cli_token;
mod cli_tui;
mod cli_yubikey;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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

/// The command line, parsed with the conventions both binaries share
/// (lower-case value names in help).
fn parse_command_line() -> Cli {
    let matches = cli_common::lower_case_value_names(Cli::command()).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn main() -> ExitCode {
    let cli = parse_command_line();
    let result = match cli.command {
        None => cli_tui::run(&cli.tui),
        Some(Command::Sign(args)) => cli_sign::run(&args),
        Some(Command::Onboard(args)) => cli_onboard::run(&args),
        Some(Command::Preflight(args)) => cli_preflight::run(&args),
        Some(Command::Inspect(args)) => cli_inspect::run(&args),
        Some(Command::DrillStage(args)) => cli_drill::run(&args),
    };
    cli_common::finish(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let matches = cli_common::lower_case_value_names(Cli::command())
            .try_get_matches_from(std::iter::once("ceremony").chain(args.iter().copied()))?;
        Cli::from_arg_matches(&matches)
    }

    #[test]
    fn every_value_name_is_lower_case() {
        let cmd = cli_common::lower_case_value_names(Cli::command());
        assert_eq!(cli_common::value_name_problems(&cmd), Vec::<String>::new());
        cmd.debug_assert();
    }

    #[test]
    fn the_stick_is_stick_and_media_still_works() {
        for flag in ["--stick", "--media"] {
            let cli = parse(&["inspect", flag, "/mnt/s"]).unwrap();
            assert!(matches!(cli.command, Some(Command::Inspect(_))), "{flag}");
            let cli = parse(&["--drill", flag, "/mnt/s"]).unwrap();
            assert!(cli.command.is_none(), "{flag}");
        }
        let help = Cli::command()
            .find_subcommand_mut("inspect")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(
            help.contains("--stick <dir>") && help.contains("media"),
            "{help}"
        );
    }

    #[test]
    fn at_uses_the_shared_parser() {
        assert!(parse(&["inspect", "--stick", "s", "--at", "2029-01-01T00:00:00Z"]).is_ok());
        let err = parse(&["inspect", "--stick", "s", "--at", "tomorrow"])
            .err()
            .unwrap();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("not an RFC 3339 time"), "{err}");
    }
}
