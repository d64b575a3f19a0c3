//! `ceremony preflight`: checks that this machine is fit for a ceremony
//! before any keyholder plugs a key in, one line per check, so a refusal
//! surfaces at the start of the ceremony rather than at the first signature.
//!
//! Refuses (exit 1, one `error:` line) when a network interface other than
//! loopback is up or the interfaces cannot be listed, unless `--drill`: a
//! practice ceremony on an ordinary machine reports the same but goes on.
//! Core dumps and memory locking are reported, never refused: locking is
//! best effort (see [`ceremony::safety::harden_process`]).

use std::path::PathBuf;

use anyhow::{Result, bail};
use ceremony::safety::{self, OfflineCheck};

/// `ceremony preflight [--drill]`.
#[derive(clap::Args)]
pub struct Args {
    /// Practice ceremony: report but do not refuse network interfaces.
    #[arg(long)]
    drill: bool,
    /// Where the network interfaces are listed (a fake tree in tests).
    #[arg(long, hide = true, default_value = "/sys/class/net")]
    sys_class_net: PathBuf,
}

/// Hardens this process, lists the network interfaces and judges them,
/// printing one line per check; an error when the machine is not offline
/// and this is not a drill.
pub fn run(args: &Args) -> Result<()> {
    // First, so the rest of the preflight already runs hardened.
    let hardening = safety::harden_process();

    let check = match safety::network_interfaces(&args.sys_class_net) {
        Ok(interfaces) => {
            let listed: Vec<String> = interfaces.iter().map(ToString::to_string).collect();
            if listed.is_empty() {
                say!("interfaces: none");
            } else {
                say!("interfaces: {}", listed.join(", "));
            }
            safety::offline_from(&interfaces)
        }
        Err(e) => {
            say!("interfaces: cannot list: {e}");
            OfflineCheck::Unknown(e.to_string())
        }
    };
    // Our own multi-line text (no input from a stick in it).
    cli_common::out_line(&hardening.to_string());

    let Some(refusal) = check.refusal() else {
        say!("network: offline (no interface other than loopback is up)");
        return Ok(());
    };
    if !args.drill {
        bail!("{refusal}");
    }
    match &check {
        OfflineCheck::Online { up } => say!(
            "network: DRILL: {} up, which a real ceremony refuses; going on because of --drill",
            up.join(", ")
        ),
        _ => say!(
            "network: DRILL: cannot tell whether this machine is offline, which a real \
             ceremony refuses; going on because of --drill"
        ),
    }
    Ok(())
}
