//! `piv-emulator`: a software YubiKey-5-like PIV card that connects to
//! pcscd's vpcd driver and serves until the driver goes away.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use piv_emulator::piv::{Card, Touch};
use piv_emulator::state::CardState;
use piv_emulator::vpcd;

/// A software YubiKey 5 PIV card for pcscd + vsmartcard vpcd (tests and
/// drills only: its keys are not protected by hardware).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// vpcd host.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// vpcd port: 35963 for the first reader, 35964 for the second.
    #[arg(long, default_value_t = vpcd::DEFAULT_PORT)]
    port: u16,
    /// Serial number of a new card.
    #[arg(long, default_value_t = 10_000_001)]
    serial: u32,
    /// Firmware version of a new card, e.g. 5.4.3 (3DES management key)
    /// or 5.7.1 (AES-192).
    #[arg(long, default_value = "5.7.1", value_parser = parse_version)]
    firmware: [u8; 3],
    /// Card state file: loaded if it exists (then --serial and --firmware
    /// are ignored), created otherwise, and rewritten on every change.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Simulate touch with this file: creating it is one touch. Without it
    /// every touch request is granted at once.
    #[arg(long)]
    touch_file: Option<PathBuf>,
    /// Seconds to wait for a touch before answering 6982.
    #[arg(long, default_value_t = 15.0)]
    touch_timeout: f64,
    /// Log each command's header and status word (never its data).
    #[arg(long)]
    trace: bool,
    /// Seconds to keep trying to reach vpcd.
    #[arg(long, default_value_t = 30.0)]
    connect_timeout: f64,
}

fn parse_version(s: &str) -> Result<[u8; 3], String> {
    let parts: Vec<u8> = s
        .split('.')
        .map(|p| p.parse::<u8>().map_err(|e| format!("{s}: {e}")))
        .collect::<Result<_, _>>()?;
    <[u8; 3]>::try_from(parts).map_err(|_| format!("{s}: want major.minor.patch"))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let state = match &args.state {
        Some(path) if path.exists() => CardState::load(path)?,
        _ => CardState::new(args.serial, args.firmware),
    };
    if let Some(path) = &args.state {
        state.save(path)?;
    }
    if !(args.touch_timeout.is_finite() && args.touch_timeout >= 0.0) {
        bail!("--touch-timeout must be a non-negative number of seconds");
    }
    let touch = match args.touch_file {
        Some(path) => Touch::File {
            path,
            timeout: Duration::from_secs_f64(args.touch_timeout),
        },
        None => Touch::Auto,
    };
    let [a, b, c] = state.version;
    eprintln!(
        "piv-emulator: serial {} firmware {a}.{b}.{c}, connecting to vpcd at {}:{}",
        state.serial, args.host, args.port
    );
    let mut card = Card::new(state, touch, args.state).with_trace(args.trace);
    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs_f64(args.connect_timeout.max(0.0));
    let addr = SocketAddr::new(args.host, args.port);
    let stream = vpcd::connect(addr, deadline, &stop).with_context(|| {
        format!("cannot reach vpcd at {addr} (is pcscd running with the vpcd driver?)")
    })?;
    eprintln!("piv-emulator: card inserted");
    vpcd::serve(&mut card, stream, stop).context("vpcd connection failed")?;
    eprintln!("piv-emulator: vpcd closed the connection");
    Ok(())
}
