//! `--attestation-root <ca.pem>`: extra CAs trusted for YubiKey attestation
//! evidence, repeatable in every command that reads such evidence.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;

/// The environment variable scripts may set instead of (or as well as)
/// `--attestation-root`: a path list, as `PATH` is.
pub const ATTESTATION_ROOTS_ENV: &str = "TUF_REPO_ATTESTATION_ROOTS";

/// `--attestation-root`, flattened into every command that reads YubiKey
/// attestation evidence.
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct AttestationRootArgs {
    /// Also trust this attestation root CA (PEM or DER) besides Yubico's
    /// pinned PIV roots and those in $TUF_REPO_ATTESTATION_ROOTS;
    /// repeatable.
    #[arg(long = "attestation-root", value_name = "ca.pem")]
    pub roots: Vec<PathBuf>,
}

impl AttestationRootArgs {
    /// The roots named in `env` (the value of [`ATTESTATION_ROOTS_ENV`], if
    /// set) followed by those given on the command line.
    pub fn with_env(&self, env: Option<OsString>) -> Vec<PathBuf> {
        let mut all: Vec<PathBuf> = env
            .map(|list| {
                std::env::split_paths(&list)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        all.extend(self.roots.iter().cloned());
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        roots: AttestationRootArgs,
    }

    #[test]
    fn attestation_root_is_repeatable_and_optional() {
        let none = Cli::try_parse_from(["x"]).unwrap();
        assert!(none.roots.roots.is_empty());
        let two = Cli::try_parse_from([
            "x",
            "--attestation-root",
            "a.pem",
            "--attestation-root",
            "b.der",
        ])
        .unwrap();
        assert_eq!(
            two.roots.roots,
            [PathBuf::from("a.pem"), PathBuf::from("b.der")]
        );
    }

    #[test]
    fn environment_roots_come_first_and_empty_entries_are_skipped() {
        let args = AttestationRootArgs {
            roots: vec![PathBuf::from("cli.pem")],
        };
        let env = std::env::join_paths(["env1.pem", "", "env2.pem"]).unwrap();
        assert_eq!(
            args.with_env(Some(env)),
            [
                PathBuf::from("env1.pem"),
                PathBuf::from("env2.pem"),
                PathBuf::from("cli.pem")
            ]
        );
        assert_eq!(args.with_env(None), [PathBuf::from("cli.pem")]);
    }
}
