//! `--attestation-root <ca.pem>`: extra CAs trusted for YubiKey attestation
//! evidence, repeatable in every command that reads such evidence.

use std::path::PathBuf;

use clap::Args;

/// `--attestation-root`, flattened into every command that reads YubiKey
/// attestation evidence, so it is repeatable and spelled alike in all.
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct AttestationRootArgs {
    /// Also trust this attestation root CA (PEM or DER) besides Yubico's
    /// pinned PIV roots (tuf-repo also reads $TUF_REPO_ATTESTATION_ROOTS);
    /// repeatable.
    #[arg(long = "attestation-root", value_name = "ca.pem")]
    pub roots: Vec<PathBuf>,
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
}
