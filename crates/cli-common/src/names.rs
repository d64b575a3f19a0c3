//! One spelling for the placeholders help shows: value names are lower
//! case, words joined by `-` (`<repo>`, `<key-type>`, `<root.json>`).
//! clap's derive upper-cases a field's name when none is given; applying
//! [`lower_case_value_names`] to the whole command tree makes the two
//! binaries agree without a `value_name` on every field.

use clap::{Arg, Command};

/// `cmd` and all its subcommands with every value name lower-cased and
/// `_` turned into `-`; names already lower case are left as written.
/// Apply it before parsing (`Cli::from_arg_matches`), in both binaries.
pub fn lower_case_value_names(cmd: Command) -> Command {
    let mut cmd = cmd.mut_args(lower_case_arg);
    if cmd.has_subcommands() {
        let name = cmd.get_subcommand_value_name().unwrap_or("COMMAND");
        let lowered = lower_case(name);
        cmd = cmd.subcommand_value_name(lowered);
    }
    cmd.mut_subcommands(lower_case_value_names)
}

fn lower_case_arg(arg: Arg) -> Arg {
    // clap's derive names every field's value, flags included, so there
    // is always a name to lower; an argument without one is left alone.
    let Some(names) = arg.get_value_names() else {
        return arg;
    };
    let names: Vec<String> = names.iter().map(|n| lower_case(n.as_str())).collect();
    arg.value_names(names)
}

fn lower_case(name: &str) -> String {
    name.to_lowercase().replace('_', "-")
}

/// Every value name in `cmd`'s tree that does not follow the convention,
/// as `command --flag <NAME>`: for tests of the binaries.
pub fn value_name_problems(cmd: &Command) -> Vec<String> {
    let mut built = cmd.clone();
    built.build();
    let mut problems = Vec::new();
    collect(&built, built.get_name(), &mut problems);
    // (`<command>`, the subcommand placeholder, is checked in `collect`.)
    problems
}

fn collect(cmd: &Command, path: &str, problems: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        if !arg.get_action().takes_values() {
            continue;
        }
        for name in arg.get_value_names().unwrap_or_default() {
            let name = name.as_str();
            if name != lower_case(name) || name.contains(' ') {
                problems.push(format!("{path} {} <{name}>", arg.get_id()));
            }
        }
    }
    if let Some(name) = cmd.get_subcommand_value_name()
        && name != lower_case(name)
    {
        problems.push(format!("{path} <{name}>"));
    }
    for sub in cmd.get_subcommands() {
        collect(sub, &format!("{path} {}", sub.get_name()), problems);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, CommandFactory, Parser, Subcommand};

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Sub,
    }

    #[derive(Subcommand)]
    enum Sub {
        Go(GoArgs),
    }

    #[derive(Args)]
    struct GoArgs {
        repo: String,
        #[arg(long)]
        key_type: Option<String>,
        #[arg(long, value_name = "root.json")]
        trusted: Option<String>,
        #[arg(long)]
        force: bool,
    }

    #[test]
    fn derive_defaults_are_upper_case_and_get_lowered() {
        let raw = Cli::command();
        let problems = value_name_problems(&raw);
        assert!(
            problems.iter().any(|p| p.ends_with("<REPO>")),
            "{problems:?}"
        );
        let fixed = lower_case_value_names(Cli::command());
        assert_eq!(value_name_problems(&fixed), Vec::<String>::new());
        assert_eq!(fixed.get_subcommand_value_name(), Some("command"));
        let mut fixed = fixed;
        fixed.build();
        let go = fixed.find_subcommand("go").unwrap();
        let names = |id: &str| {
            go.get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_value_names())
                .map(|n| n.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(names("repo").unwrap(), ["repo"]);
        assert_eq!(names("key_type").unwrap(), ["key-type"]);
        assert_eq!(names("trusted").unwrap(), ["root.json"]);
        // A flag takes no value: help shows no placeholder for it.
        let force = go.get_arguments().find(|a| a.get_id() == "force").unwrap();
        assert!(!force.get_action().takes_values());
    }

    #[test]
    fn lowered_command_still_parses() {
        let cmd = lower_case_value_names(Cli::command());
        let m = cmd
            .try_get_matches_from(["x", "go", "r", "--key-type", "ed25519"])
            .unwrap();
        let (name, sub) = m.subcommand().unwrap();
        assert_eq!(name, "go");
        assert_eq!(sub.get_one::<String>("key_type").unwrap(), "ed25519");
    }
}
