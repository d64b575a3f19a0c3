//! `tuf-repo check-key <pub.json>`: re-verifies the YubiKey attestation
//! evidence a public key file carries (what `ceremony onboard --profile
//! yubikey-piv` wrote): the chain up to Yubico's pinned roots (or a root
//! given with `--attestation-root`), and that the attested key is the key
//! in the file, so the key id a root lists is the key on that card. Prints
//! what the card attests: serial, firmware, PIN and touch policies, and
//! warnings such as firmware affected by YSA-2024-03.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args as ClapArgs;
use cli_common::AttestationRootArgs;

use crate::keys::{read_key_and_evidence, roots_with};

/// Arguments of `tuf-repo check-key`.
#[derive(ClapArgs)]
pub struct Args {
    /// The public key file (`{"keyid", "key", "token", "attestation"}`).
    #[arg(value_name = "pub.json")]
    file: PathBuf,
    #[command(flatten)]
    attestation: AttestationRootArgs,
}

/// Runs the command: exit 0 when the evidence verifies and binds, 1 else.
pub fn run(args: &Args) -> Result<()> {
    let roots = roots_with(&args.attestation.roots).map_err(anyhow::Error::msg)?;
    let (key, evidence) = read_key_and_evidence(&args.file, &roots)?;
    let Some(evidence) = evidence else {
        bail!(
            "{}: holds no attestation evidence (no \"attestation\" member): nothing shows where key {} lives",
            args.file.display(),
            key.key_id()
        );
    };
    say!("{}: key id {}", args.file.display(), key.key_id());
    say!("attestation verified, and it certifies this key");
    say!("  serial:       {}", evidence.serial);
    say!("  firmware:     {}", evidence.firmware_string());
    say!("  PIN policy:   {}", evidence.pin_policy);
    say!("  touch policy: {}", evidence.touch_policy);
    say!("  form factor:  {}", evidence.form_factor_name());
    say!("  chain:        {}", evidence.chain.join(" → "));
    for warning in evidence.warnings() {
        say!("WARNING: {warning}");
    }
    Ok(())
}
