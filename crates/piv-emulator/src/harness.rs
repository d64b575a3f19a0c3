//! A test harness: a private pcscd with vsmartcard's vpcd driver and up to
//! two emulated cards in its readers.
//!
//! [`PcscHarness::start`] takes a machine-wide lock (pcscd's socket path is
//! fixed, so only one can run: tests using the harness run one at a time,
//! across test threads and test processes), writes a `reader.conf` whose
//! vpcd reader is named `Yubico YubiKey vpcd-emu` (ykcs11 only lists readers
//! whose name starts with `Yubico`), starts `pcscd -f -c <dir>`, connects
//! one emulated card per reader (ports 35963 and 35964) on threads of this
//! process, and waits until pcsc-lite reports every card present. Dropping
//! it stops the cards, terminates that pcscd by its PID and releases the
//! lock.
//!
//! With `PIV_EMULATOR_TRACE=1` in the environment the cards log every
//! command header and status word (never data) to stderr.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::piv::{Card, Touch};
use crate::state::CardState;
use crate::vpcd;

/// The friendly name of the vpcd readers; pcsc-lite appends ` 00 00` and
/// ` 00 01`.
pub const READER_NAME: &str = "Yubico YubiKey vpcd-emu";

/// The vpcd driver installed by Debian's `vsmartcard-vpcd`.
pub const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

/// pcsc-lite's socket: fixed at build time, hence one pcscd per machine.
pub const PCSCD_SOCKET: &str = "/run/pcscd/pcscd.comm";

/// The lock directory that serialises harnesses across processes.
const LOCK_DIR: &str = "/tmp/tuf-ceremony-pcscd.lock";

/// How long to wait for pcscd and the cards.
const STARTUP: Duration = Duration::from_secs(20);

/// One card to plug in.
#[derive(Debug, Clone)]
pub struct CardSpec {
    /// Serial number (ignored when `state` names an existing file).
    pub serial: u32,
    /// Firmware version, e.g. `[5, 4, 3]` (3DES management key) or
    /// `[5, 7, 1]` (AES-192).
    pub firmware: [u8; 3],
    /// A state file to load and keep up to date, if any.
    pub state: Option<PathBuf>,
    /// How long the card waits for a touch ([`PcscHarness::touch`]) before
    /// answering `6982`; `None` grants every touch at once.
    pub touch_timeout: Option<Duration>,
}

impl CardSpec {
    /// A fresh card with `serial` and `firmware` that needs no touch file.
    pub fn new(serial: u32, firmware: [u8; 3]) -> CardSpec {
        CardSpec {
            serial,
            firmware,
            state: None,
            touch_timeout: None,
        }
    }

    /// The same card, waiting `timeout` for a touch.
    pub fn with_touch_timeout(mut self, timeout: Duration) -> CardSpec {
        self.touch_timeout = Some(timeout);
        self
    }
}

/// A card plugged into one of the harness's readers.
#[derive(Debug)]
pub struct EmulatedCard {
    /// The PC/SC reader name it sits in.
    pub reader: String,
    /// Its serial number.
    pub serial: u32,
    touch_file: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// A running pcscd with emulated cards; everything stops on drop.
#[derive(Debug)]
pub struct PcscHarness {
    dir: tempfile::TempDir,
    pcscd: Option<Child>,
    cards: Vec<EmulatedCard>,
    _lock: MachineLock,
}

impl PcscHarness {
    /// Starts pcscd and plugs in `cards` (one or two).
    pub fn start(cards: &[CardSpec]) -> Result<PcscHarness> {
        if cards.is_empty() || cards.len() > 2 {
            bail!("the vpcd driver has two readers: plug in one or two cards");
        }
        for tool in ["pcscd"] {
            if Command::new(tool).arg("--version").output().is_err() {
                bail!(
                    "`{tool}` not found: install the Debian packages pcscd and vsmartcard-vpcd (cargo xtask test does)"
                );
            }
        }
        if !Path::new(VPCD_DRIVER).exists() {
            bail!("{VPCD_DRIVER} not found: install the Debian package vsmartcard-vpcd");
        }
        let lock = MachineLock::acquire()?;
        if UnixStream::connect(PCSCD_SOCKET).is_ok() {
            bail!(
                "another pcscd is already listening on {PCSCD_SOCKET}: stop it (systemctl stop pcscd.socket pcscd) so the harness can start its own"
            );
        }
        let dir = tempfile::Builder::new().prefix("piv-harness-").tempdir()?;
        let conf = dir.path().join("reader.conf.d");
        std::fs::create_dir(&conf)?;
        std::fs::write(conf.join("vpcd"), reader_conf(vpcd::DEFAULT_PORT))?;
        let log = std::fs::File::create(dir.path().join("pcscd.log"))?;
        let pcscd = Command::new("pcscd")
            .arg("--foreground")
            .arg("--config")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start pcscd")?;
        let mut harness = PcscHarness {
            dir,
            pcscd: Some(pcscd),
            cards: Vec::new(),
            _lock: lock,
        };
        for (i, spec) in cards.iter().enumerate() {
            let card = harness.plug_in(i, spec)?;
            harness.cards.push(card);
        }
        harness.wait_for_cards()?;
        Ok(harness)
    }

    fn plug_in(&mut self, index: usize, spec: &CardSpec) -> Result<EmulatedCard> {
        let state = match &spec.state {
            Some(path) if path.exists() => CardState::load(path)?,
            _ => CardState::new(spec.serial, spec.firmware),
        };
        let serial = state.serial;
        let touch_file = self.dir.path().join(format!("touch-{index}"));
        let touch = match spec.touch_timeout {
            Some(timeout) => Touch::File {
                path: touch_file.clone(),
                timeout,
            },
            None => Touch::Auto,
        };
        let trace = std::env::var_os("PIV_EMULATOR_TRACE").is_some_and(|v| v != "0");
        let mut card = Card::new(state, touch, spec.state.clone()).with_trace(trace);
        let stop = Arc::new(AtomicBool::new(false));
        let port = vpcd::DEFAULT_PORT + index as u16;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let stream = vpcd::connect(addr, Instant::now() + STARTUP, &stop).with_context(|| {
            format!(
                "the vpcd driver never opened {addr}; {}",
                self.pcscd_log_tail()
            )
        })?;
        let thread_stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("piv-card-{serial}"))
            .spawn(move || {
                if let Err(e) = vpcd::serve(&mut card, stream, thread_stop) {
                    eprintln!("piv-emulator card {serial}: {e}");
                }
            })?;
        Ok(EmulatedCard {
            reader: format!("{READER_NAME} 00 {index:02}"),
            serial,
            touch_file,
            stop,
            thread: Some(thread),
        })
    }

    /// Waits until pcsc-lite lists every reader with a card present.
    fn wait_for_cards(&self) -> Result<()> {
        let deadline = Instant::now() + STARTUP;
        let ctx = loop {
            match pcsc::Context::establish(pcsc::Scope::User) {
                Ok(ctx) => break ctx,
                Err(e) if Instant::now() >= deadline => {
                    bail!("pcscd never answered: {e}; {}", self.pcscd_log_tail())
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        let wanted: Vec<std::ffi::CString> = self
            .cards
            .iter()
            .map(|c| std::ffi::CString::new(c.reader.clone()).expect("no NUL"))
            .collect();
        let mut states: Vec<pcsc::ReaderState> = wanted
            .iter()
            .map(|name| pcsc::ReaderState::new(name.clone(), pcsc::State::UNAWARE))
            .collect();
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                bail!(
                    "the emulated cards never showed up as present; {}",
                    self.pcscd_log_tail()
                );
            }
            match ctx
                .get_status_change(Some(remaining.min(Duration::from_millis(500))), &mut states)
            {
                Ok(()) | Err(pcsc::Error::Timeout) | Err(pcsc::Error::UnknownReader) => {}
                Err(e) => bail!("pcsc status change failed: {e}"),
            }
            if states
                .iter()
                .all(|s| s.event_state().contains(pcsc::State::PRESENT))
            {
                return Ok(());
            }
            for s in &mut states {
                s.sync_current_state();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The cards, in reader order.
    pub fn cards(&self) -> &[EmulatedCard] {
        &self.cards
    }

    /// The directory holding `reader.conf.d/` and `pcscd.log`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Touches card `index` once (its next touch-requiring operation
    /// proceeds). Only meaningful for cards with a touch timeout.
    pub fn touch(&self, index: usize) -> Result<()> {
        let path = &self.cards[index].touch_file;
        std::fs::File::create(path)
            .and_then(|mut f| f.flush())
            .with_context(|| format!("cannot create {}", path.display()))
    }

    fn pcscd_log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("pcscd.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        format!(
            "pcscd's last log lines:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }
}

impl Drop for PcscHarness {
    fn drop(&mut self) {
        for card in &self.cards {
            card.stop.store(true, Ordering::Relaxed);
        }
        if let Some(mut pcscd) = self.pcscd.take() {
            // SIGTERM lets pcscd remove its socket and pid file; SIGKILL
            // only if it does not exit in time.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pcscd.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match pcscd.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    _ => {
                        let _ = pcscd.kill();
                        let _ = pcscd.wait();
                        break;
                    }
                }
            }
        }
        for card in &mut self.cards {
            if let Some(thread) = card.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// The reader.conf entry for vpcd on `port` (the driver opens `port` and
/// `port + 1`).
pub fn reader_conf(port: u16) -> String {
    format!(
        "FRIENDLYNAME \"{READER_NAME}\"\nDEVICENAME   /dev/null:0x{port:04X}\nLIBPATH      {VPCD_DRIVER}\nCHANNELID    0x{port:04X}\n"
    )
}

/// Held while a harness runs: a process-wide mutex (test threads) and a
/// lock directory holding the owner's PID (test processes). A lock left by
/// a process that no longer exists is taken over.
#[derive(Debug)]
struct MachineLock {
    _guard: MutexGuard<'static, ()>,
}

static IN_PROCESS: Mutex<()> = Mutex::new(());

impl MachineLock {
    fn acquire() -> Result<MachineLock> {
        let guard = IN_PROCESS.lock().unwrap_or_else(|p| p.into_inner());
        let dir = Path::new(LOCK_DIR);
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            match std::fs::create_dir(dir) {
                Ok(()) => {
                    std::fs::write(dir.join("pid"), std::process::id().to_string())?;
                    return Ok(MachineLock { _guard: guard });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_to_string(dir.join("pid")).ok();
                    let alive = owner
                        .as_deref()
                        .and_then(|p| p.trim().parse::<u32>().ok())
                        .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
                    // No pid file yet may be an owner between mkdir and
                    // write: only a lock older than a few seconds is stale.
                    let young = std::fs::metadata(dir)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age < Duration::from_secs(5));
                    if !(alive || owner.is_none() && young) {
                        let _ = std::fs::remove_dir_all(dir);
                        continue;
                    }
                    if Instant::now() >= deadline {
                        bail!(
                            "{LOCK_DIR} is held by process {}",
                            owner.unwrap_or_default().trim()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e).with_context(|| format!("cannot create {LOCK_DIR}")),
            }
        }
    }
}

impl Drop for MachineLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(LOCK_DIR);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `reader.conf.d/vpcd` in this crate is the same file, for drills
    /// that start pcscd by hand: `pcscd -f -c crates/piv-emulator/reader.conf.d`.
    #[test]
    fn the_shipped_reader_conf_matches() {
        let shipped = include_str!("../reader.conf.d/vpcd");
        assert_eq!(shipped, reader_conf(vpcd::DEFAULT_PORT));
    }

    #[test]
    fn reader_conf_names_the_reader_for_ykcs11() {
        let conf = reader_conf(35963);
        assert!(conf.contains("FRIENDLYNAME \"Yubico YubiKey vpcd-emu\""));
        assert!(conf.contains("DEVICENAME   /dev/null:0x8C7B"));
        assert!(conf.contains("CHANNELID    0x8C7B"));
    }
}
