//! `ceremony [--media <dir>]... [--drill]`: the terminal UI. Without
//! `--media`, the sticks mounted under /media, /run/media and /mnt (or any
//! removable disk) are offered. `--drill` without `--media` first stages a
//! practice rotation with SoftHSM2 tokens in a temporary directory and runs
//! the UI over it.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use ceremony::boot::{BootCheck, IMAGE_BOOT_DIR};
use ceremony::hardware::HardwareTokens;
use ceremony::inventory::{NetworkDevice, network_hardware};
use ceremony::media::discover;
use ceremony::safety::harden_process;
use ceremony::session::{Options, Session};
use ceremony::tui::{self, App};
use clap::Args as ClapArgs;
use metadata_io::read_capped;
use time::OffsetDateTime;
use tuf_metadata::Limits;

/// Where an image pins the root the stick's history must contain.
const IMAGE_PINNED_ROOT: &str = "/etc/tuf-ceremony/pinned-root.json";

/// Arguments of the interactive ceremony.
#[derive(ClapArgs, Default)]
pub struct Args {
    /// A practice ceremony: network allowed, everything marked DRILL. Alone,
    /// it stages a practice rotation with SoftHSM2 tokens first.
    #[arg(long)]
    drill: bool,
    /// The stick's mount point or any directory (repeat for several);
    /// default: the removable media found.
    #[arg(long = "stick", visible_alias = "media", value_name = "dir")]
    media: Vec<PathBuf>,
    /// A root the stick's history must contain; default
    /// /etc/tuf-ceremony/pinned-root.json when the image has one.
    #[arg(long, value_name = "root.json")]
    pinned_root: Option<PathBuf>,
    /// PKCS#11 profiles to offer tokens from (default: softhsm2 in a drill,
    /// opensc otherwise); YubiKeys over PIV are always offered.
    #[arg(long = "profile", value_name = "name")]
    profiles: Vec<String>,
    /// The PIV slot of YubiKey keys.
    #[arg(long, value_name = "slot", default_value = "9c")]
    piv_slot: String,
    /// Do not look for YubiKeys (no pcscd on this machine).
    #[arg(long)]
    no_yubikey: bool,
    /// Where network interfaces are read; for tests.
    #[arg(long, hide = true, default_value = "/sys/class/net")]
    sys_class_net: PathBuf,
    /// Where network hardware is looked for (`<dir>/bus/pci`, `<dir>/bus/usb`);
    /// default: /sys when started from the image, no scan elsewhere.
    #[arg(long, hide = true, value_name = "dir")]
    hardware_sys: Option<PathBuf>,
    /// Start as usual, draw the first frame, and exit: for the start-up
    /// benchmark (`cargo xtask bench --only tui`).
    #[arg(long, hide = true)]
    first_frame_only: bool,
}

/// Network hardware for the clock screen: on the image (its boot files were
/// hashed, or tried) from /sys, elsewhere only from `--hardware-sys`; a
/// workstation's own network card is not a finding, its interfaces are
/// checked by the offline check.
fn hardware_to_call_out(args: &Args, boot: &BootCheck) -> Vec<String> {
    let sys = match (&args.hardware_sys, boot) {
        (Some(dir), _) => dir.clone(),
        (None, BootCheck::NotImage) => return Vec::new(),
        (None, _) => PathBuf::from("/sys"),
    };
    network_hardware(&sys)
        .iter()
        .map(NetworkDevice::line)
        .collect()
}

/// Runs the UI until the keyholders and witness are done (or quit).
pub fn run(args: &Args) -> Result<()> {
    if args.drill && args.media.is_empty() {
        return drill_in_temp_dir(args);
    }
    let hardening = harden_process();
    let pinned_root = pinned_root(args)?;
    let profiles = if args.profiles.is_empty() {
        vec![if args.drill { "softhsm2" } else { "opensc" }.to_owned()]
    } else {
        args.profiles.clone()
    };
    let tokens = HardwareTokens::new(profiles, !args.no_yubikey, &args.piv_slot);
    let boot = BootCheck::read(Path::new(IMAGE_BOOT_DIR));
    let options = Options {
        drill: args.drill,
        pinned_root,
        sys_class_net: args.sys_class_net.clone(),
        tool: format!(
            "ceremony {} ({})",
            env!("CARGO_PKG_VERSION"),
            hardening.to_string().replace('\n', "; ")
        ),
        frozen_clock: false,
        network_hardware: hardware_to_call_out(args, &boot),
        boot,
    };
    let session = Session::new(options, OffsetDateTime::now_utc(), Box::new(tokens));
    let media = if args.media.is_empty() {
        discover().into_iter().map(|m| m.mount_point).collect()
    } else {
        args.media.clone()
    };
    let mut app = App::new(session, media);
    tui::run(&mut app, args.first_frame_only).context("terminal")?;
    if let Some(transcript) = app.session.transcript() {
        say!(
            "transcript: {} entries, last entry sha256 {}",
            transcript.len(),
            transcript.head()
        );
    }
    Ok(())
}

fn pinned_root(args: &Args) -> Result<Option<Vec<u8>>> {
    let path = match &args.pinned_root {
        Some(path) => path.clone(),
        None if Path::new(IMAGE_PINNED_ROOT).exists() && !args.drill => {
            PathBuf::from(IMAGE_PINNED_ROOT)
        }
        None => return Ok(None),
    };
    let bytes = read_capped(&path, Limits::ROOT.max_bytes)
        .with_context(|| format!("pinned root {}", path.display()))?;
    Ok(Some(bytes))
}

/// `ceremony --drill`: stage a practice rotation in a temporary directory,
/// then run this program on it with the drill tokens' SoftHSM2
/// configuration (an environment variable, so in a child process).
fn drill_in_temp_dir(args: &Args) -> Result<()> {
    let exe = std::env::current_exe().context("finding this program")?;
    let dir = tempfile::Builder::new()
        .prefix("ceremony-drill-")
        .tempdir()
        .context("creating the drill directory")?;
    let work = dir.path().join("drill");
    let staged = ceremony::drill::stage(&work, &exe, OffsetDateTime::now_utc())?;
    // Our own multi-line briefing: printed as it is, line breaks kept.
    cli_common::out_line(&staged.briefing());
    if std::io::stdin().is_terminal() {
        say!("press Enter to open the appliance on the drill stick");
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading Enter")?;
    }
    let mut child = Command::new(&exe);
    child
        .arg("--drill")
        .arg("--stick")
        .arg(&staged.stick)
        .args(["--piv-slot", &args.piv_slot])
        .env("SOFTHSM2_CONF", &staged.softhsm2_conf);
    for profile in &args.profiles {
        child.args(["--profile", profile]);
    }
    if args.no_yubikey {
        child.arg("--no-yubikey");
    }
    let status = child.status().context("starting the drill ceremony")?;
    say!("drill files were in {} (now removed)", work.display());
    if !status.success() {
        bail!("the drill ceremony ended with {status}");
    }
    Ok(())
}
