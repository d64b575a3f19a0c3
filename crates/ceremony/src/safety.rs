//! The appliance's safety checks: that the machine is offline before
//! anything is signed, and that the process holding key material cannot be
//! dumped or swapped out.
//!
//! DESIGN.md: "The appliance refuses to sign while any network interface
//! other than loopback is up, unless started with an explicit drill flag."
//! The network check reads sysfs rather than asking a network manager, so it
//! works on the minimal appliance image and can be pointed at a fake tree in
//! tests. Hardening is best effort where the kernel may say no (locking
//! memory needs `CAP_IPC_LOCK` or a large enough `RLIMIT_MEMLOCK`): it reports
//! what it could not do instead of failing, so the keyholder sees it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use rustix::mm::{MlockAllFlags, mlockall};
use rustix::process::{
    DumpableBehavior, Resource, Rlimit, getrlimit, set_dumpable_behavior, setrlimit,
};

/// `IFF_UP` in an interface's `flags`: administratively up.
const IFF_UP: u32 = 0x1;
/// `IFF_LOOPBACK` in an interface's `flags`.
const IFF_LOOPBACK: u32 = 0x8;
/// `ARPHRD_LOOPBACK`, the loopback device `type`.
const ARPHRD_LOOPBACK: u32 = 772;
/// `CAP_IPC_LOCK`: lock memory without regard to `RLIMIT_MEMLOCK`.
const CAP_IPC_LOCK: u32 = 14;

/// Why the network interfaces could not be listed. Any of these means the
/// appliance cannot tell whether it is offline, so callers must refuse.
#[derive(Debug, thiserror::Error)]
pub enum SafetyError {
    /// The directory of interfaces (normally `/sys/class/net`) or one of an
    /// interface's attribute files could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The directory or file that could not be read.
        path: PathBuf,
        /// What the kernel said.
        source: io::Error,
    },
    /// An attribute file held something other than the number the kernel
    /// writes there, so the tree is not what it claims to be.
    #[error("{}: expected {expected}, found {found:?}", path.display())]
    Malformed {
        /// The attribute file.
        path: PathBuf,
        /// What kind of value was expected.
        expected: &'static str,
        /// What the file held.
        found: String,
    },
}

/// One network interface as sysfs describes it: enough to decide whether it
/// could carry traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// The interface name (`lo`, `eth0`, `wlan0`, ...).
    pub name: String,
    /// `IFF_UP` is set: administratively up, whether or not it has carrier
    /// (a cable can be plugged in, or a network come into range, later).
    pub up: bool,
    /// A loopback device (`IFF_LOOPBACK`, or device type 772): traffic on it
    /// never leaves the machine.
    pub loopback: bool,
    /// The kernel's RFC 2863 state (`up`, `down`, `unknown`, ...), shown to
    /// the keyholder for context; it does not decide anything.
    pub operstate: String,
}

impl fmt::Display for Interface {
    /// `eth0 (up, operstate down)`: one interface as the preflight lists it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.loopback { "loopback, " } else { "" };
        let up = if self.up { "up" } else { "down" };
        write!(
            f,
            "{} ({kind}{up}, operstate {})",
            self.name, self.operstate
        )
    }
}

/// Lists the network interfaces under `sys_class_net` (normally
/// `/sys/class/net`; a parameter so tests can use a fake tree), sorted by
/// name.
///
/// Reads each interface's `flags` (hex, e.g. `0x1003`), `operstate` and
/// `type`. Entries that are not directories (such as `bonding_masters`) are
/// not interfaces and are skipped, as is an interface that disappears while
/// it is being read (it is then not up). Anything else unreadable is an
/// error: a check that cannot see an interface must not call it down.
pub fn network_interfaces(sys_class_net: &Path) -> Result<Vec<Interface>, SafetyError> {
    let read_err = |path: &Path| {
        let path = path.to_owned();
        move |source| SafetyError::Read { path, source }
    };
    let mut interfaces = Vec::new();
    for entry in std::fs::read_dir(sys_class_net).map_err(read_err(sys_class_net))? {
        let entry = entry.map_err(read_err(sys_class_net))?;
        let dir = entry.path();
        // Follows the symlink each interface is, to its device directory.
        match std::fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(read_err(&dir)(e)),
        }
        let Some(flags) = read_attr(&dir, "flags")? else {
            continue;
        };
        let Some(operstate) = read_attr(&dir, "operstate")? else {
            continue;
        };
        let Some(device_type) = read_attr(&dir, "type")? else {
            continue;
        };
        let flags =
            u32::from_str_radix(flags.strip_prefix("0x").unwrap_or(&flags), 16).map_err(|_| {
                SafetyError::Malformed {
                    path: dir.join("flags"),
                    expected: "hexadecimal interface flags",
                    found: flags.clone(),
                }
            })?;
        let device_type: u32 = device_type.parse().map_err(|_| SafetyError::Malformed {
            path: dir.join("type"),
            expected: "a decimal device type",
            found: device_type.clone(),
        })?;
        interfaces.push(Interface {
            name: entry.file_name().to_string_lossy().into_owned(),
            up: flags & IFF_UP != 0,
            loopback: flags & IFF_LOOPBACK != 0 || device_type == ARPHRD_LOOPBACK,
            operstate,
        });
    }
    interfaces.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(interfaces)
}

/// Reads `dir/name`, trimmed; `None` when the interface vanished meanwhile
/// (its directory is gone), an error for any other failure.
fn read_attr(dir: &Path, name: &str) -> Result<Option<String>, SafetyError> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound && !dir.exists() => Ok(None),
        Err(source) => Err(SafetyError::Read { path, source }),
    }
}

/// Whether the machine is offline, as the signing paths need to know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfflineCheck {
    /// No interface other than loopback is up.
    Offline,
    /// These non-loopback interfaces are administratively up (with or
    /// without carrier), sorted by name.
    Online {
        /// The names of the interfaces that are up.
        up: Vec<String>,
    },
    /// The interfaces could not be listed (the reason is given). Callers
    /// treat this as online and refuse: the appliance must not sign when it
    /// cannot tell.
    Unknown(String),
}

impl OfflineCheck {
    /// The one line a keyholder sees when the appliance refuses to sign,
    /// saying what to do about it; `None` when the machine is offline.
    pub fn refusal(&self) -> Option<String> {
        const ONLY_OFFLINE: &str = "this appliance signs only offline \
             (bring it down, or start with --drill for a practice ceremony)";
        match self {
            OfflineCheck::Offline => None,
            OfflineCheck::Online { up } if up.len() == 1 => {
                Some(format!("network interface {} is up: {ONLY_OFFLINE}", up[0]))
            }
            OfflineCheck::Online { up } => Some(format!(
                "network interfaces {} are up: {}",
                up.join(", "),
                ONLY_OFFLINE.replace("bring it down", "bring them down")
            )),
            OfflineCheck::Unknown(reason) => Some(format!(
                "cannot tell whether this machine is offline ({reason}): this appliance \
                 signs only offline (start with --drill for a practice ceremony)"
            )),
        }
    }
}

/// Checks that no interface under `sys_class_net` other than loopback is up
/// (see [`network_interfaces`]). Never fails: an unreadable tree is
/// [`OfflineCheck::Unknown`], which callers refuse like online.
pub fn offline_check(sys_class_net: &Path) -> OfflineCheck {
    match network_interfaces(sys_class_net) {
        Ok(interfaces) => offline_from(&interfaces),
        Err(e) => OfflineCheck::Unknown(e.to_string()),
    }
}

/// The verdict on interfaces already listed (so the preflight lists them
/// and judges the same read).
pub fn offline_from(interfaces: &[Interface]) -> OfflineCheck {
    let up: Vec<String> = interfaces
        .iter()
        .filter(|i| i.up && !i.loopback)
        .map(|i| i.name.clone())
        .collect();
    if up.is_empty() {
        OfflineCheck::Offline
    } else {
        OfflineCheck::Online { up }
    }
}

/// What [`harden_process`] achieved, for the screen and the transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hardening {
    /// The process is not dumpable and `RLIMIT_CORE` is 0 (soft and hard):
    /// a crash leaves no core file with key material or PINs in it.
    pub core_dumps_disabled: bool,
    /// All current and future memory is locked (`mlockall(MCL_CURRENT |
    /// MCL_FUTURE)`), so secrets are never written to swap.
    pub memory_locked: bool,
    /// Why something above is false, one sentence each.
    pub notes: Vec<String>,
}

impl fmt::Display for Hardening {
    /// Two lines (`core dumps: ...`, `memory lock: ...`), then one
    /// `note: ...` line per note.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.core_dumps_disabled {
            writeln!(f, "core dumps: disabled (not dumpable, RLIMIT_CORE 0)")?;
        } else {
            writeln!(f, "core dumps: NOT disabled")?;
        }
        if self.memory_locked {
            write!(f, "memory lock: locked (mlockall current and future)")?;
        } else {
            write!(f, "memory lock: not locked (secrets could reach swap)")?;
        }
        for note in &self.notes {
            write!(f, "\nnote: {note}")?;
        }
        Ok(())
    }
}

impl Hardening {
    /// The report as one line, for the stderr of a headless subcommand
    /// that touches a key: `hardening: core dumps: …; memory lock: …`,
    /// starting `warning: ` when something could not be done. Never a
    /// refusal, as in the TUI and the preflight: locking memory is best
    /// effort, and a drill or test machine often cannot.
    pub fn one_line(&self) -> String {
        let warning = if self.core_dumps_disabled && self.memory_locked {
            ""
        } else {
            "warning: "
        };
        format!(
            "{warning}hardening: {}",
            self.to_string().replace('\n', "; ")
        )
    }
}

/// Hardens this process before it touches key material: makes it
/// non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`, which also stops other
/// non-root processes of the same user from ptrace-attaching), sets
/// `RLIMIT_CORE` to 0/0, and locks all memory where that is safe.
///
/// Locking is attempted only with `CAP_IPC_LOCK` or an unlimited
/// `RLIMIT_MEMLOCK`: under a finite limit `MCL_FUTURE` would make later
/// allocations fail once the limit is reached, aborting the ceremony midway,
/// which is worse than an unlocked process on an appliance without swap.
/// Nothing here fails; what could not be done is in [`Hardening::notes`].
pub fn harden_process() -> Hardening {
    let mut notes = Vec::new();
    let dumpable = set_dumpable_behavior(DumpableBehavior::NotDumpable)
        .map_err(|e| notes.push(format!("prctl(PR_SET_DUMPABLE, 0) failed: {e}")))
        .is_ok();
    let zero = Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    let core = setrlimit(Resource::Core, zero)
        .map_err(|e| notes.push(format!("setrlimit(RLIMIT_CORE, 0) failed: {e}")))
        .is_ok();

    let memlock = getrlimit(Resource::Memlock).current;
    let memory_locked = if memlock.is_none() || has_capability(CAP_IPC_LOCK) {
        match mlockall(MlockAllFlags::CURRENT | MlockAllFlags::FUTURE) {
            Ok(()) => true,
            Err(e) => {
                notes.push(format!("mlockall(MCL_CURRENT | MCL_FUTURE) failed: {e}"));
                false
            }
        }
    } else {
        notes.push(format!(
            "no CAP_IPC_LOCK and RLIMIT_MEMLOCK is {} bytes, too little to lock \
             future allocations safely (run as root, or raise the limit to unlimited)",
            memlock.unwrap_or_default()
        ));
        false
    };
    Hardening {
        core_dumps_disabled: dumpable && core,
        memory_locked,
        notes,
    }
}

/// Whether capability number `cap` is in this process's effective set, read
/// from `/proc/self/status` (no unsafe `capget` needed); false if unreadable.
fn has_capability(cap: u32) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps >> cap & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake `/sys/class/net` in a temporary directory.
    struct FakeSysfs(tempfile::TempDir);

    impl FakeSysfs {
        fn new() -> Self {
            FakeSysfs(tempfile::tempdir().unwrap())
        }

        fn path(&self) -> &Path {
            self.0.path()
        }

        fn add(&self, name: &str, flags: &str, operstate: &str, device_type: u32) -> &Self {
            let dir = self.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("flags"), format!("{flags}\n")).unwrap();
            std::fs::write(dir.join("operstate"), format!("{operstate}\n")).unwrap();
            std::fs::write(dir.join("type"), format!("{device_type}\n")).unwrap();
            self
        }

        fn lo(&self) -> &Self {
            self.add("lo", "0x9", "unknown", 772)
        }
    }

    #[test]
    fn loopback_only_is_offline() {
        let sys = FakeSysfs::new();
        sys.lo();
        let interfaces = network_interfaces(sys.path()).unwrap();
        assert_eq!(
            interfaces,
            [Interface {
                name: "lo".into(),
                up: true,
                loopback: true,
                operstate: "unknown".into(),
            }]
        );
        let check = offline_check(sys.path());
        assert_eq!(check, OfflineCheck::Offline);
        assert_eq!(check.refusal(), None);
    }

    #[test]
    fn ethernet_up_is_online_and_named() {
        let sys = FakeSysfs::new();
        sys.lo().add("eth0", "0x1003", "up", 1);
        let check = offline_check(sys.path());
        assert_eq!(
            check,
            OfflineCheck::Online {
                up: vec!["eth0".into()]
            }
        );
        assert_eq!(
            check.refusal().unwrap(),
            "network interface eth0 is up: this appliance signs only offline \
             (bring it down, or start with --drill for a practice ceremony)"
        );
    }

    #[test]
    fn ethernet_down_is_offline() {
        let sys = FakeSysfs::new();
        sys.lo().add("eth0", "0x1002", "down", 1);
        let interfaces = network_interfaces(sys.path()).unwrap();
        assert!(!interfaces[0].up && !interfaces[0].loopback);
        assert_eq!(offline_check(sys.path()), OfflineCheck::Offline);
    }

    #[test]
    fn up_without_carrier_is_online() {
        let sys = FakeSysfs::new();
        sys.lo()
            .add("wlan0", "0x1003", "down", 1)
            .add("eth1", "0x1003", "up", 1);
        let check = offline_check(sys.path());
        assert_eq!(
            check,
            OfflineCheck::Online {
                up: vec!["eth1".into(), "wlan0".into()]
            }
        );
        let refusal = check.refusal().unwrap();
        assert!(
            refusal.starts_with("network interfaces eth1, wlan0 are up: "),
            "{refusal}"
        );
    }

    #[test]
    fn loopback_by_type_or_flag_alone_is_not_counted() {
        let sys = FakeSysfs::new();
        // Flags without IFF_LOOPBACK but ARPHRD_LOOPBACK, and the reverse.
        sys.add("lo", "0x1", "unknown", 772)
            .add("lo2", "0x9", "unknown", 1);
        assert_eq!(offline_check(sys.path()), OfflineCheck::Offline);
    }

    #[test]
    fn files_that_are_not_interfaces_are_skipped() {
        let sys = FakeSysfs::new();
        sys.lo();
        std::fs::write(sys.path().join("bonding_masters"), "\n").unwrap();
        assert_eq!(network_interfaces(sys.path()).unwrap().len(), 1);
    }

    #[test]
    fn unreadable_directory_is_unknown() {
        let sys = FakeSysfs::new();
        let missing = sys.path().join("no-such-dir");
        let check = offline_check(&missing);
        let OfflineCheck::Unknown(reason) = &check else {
            panic!("expected Unknown, got {check:?}");
        };
        assert!(reason.contains("no-such-dir"), "{reason}");
        let refusal = check.refusal().unwrap();
        assert!(
            refusal.starts_with("cannot tell whether this machine is offline"),
            "{refusal}"
        );
    }

    #[test]
    fn malformed_flags_are_an_error_not_down() {
        let sys = FakeSysfs::new();
        sys.add("eth0", "up", "up", 1);
        let err = network_interfaces(sys.path()).unwrap_err();
        assert!(matches!(err, SafetyError::Malformed { .. }), "{err}");
        assert!(matches!(
            offline_check(sys.path()),
            OfflineCheck::Unknown(_)
        ));
    }

    #[test]
    fn missing_attribute_of_present_interface_is_an_error() {
        let sys = FakeSysfs::new();
        std::fs::create_dir(sys.path().join("eth0")).unwrap();
        let err = network_interfaces(sys.path()).unwrap_err();
        assert!(matches!(err, SafetyError::Read { .. }), "{err}");
    }

    #[test]
    fn the_report_is_one_line_and_a_warning_when_memory_is_not_locked() {
        let full = Hardening {
            core_dumps_disabled: true,
            memory_locked: true,
            notes: vec![],
        };
        assert_eq!(
            full.one_line(),
            "hardening: core dumps: disabled (not dumpable, RLIMIT_CORE 0); \
             memory lock: locked (mlockall current and future)"
        );
        let partial = Hardening {
            core_dumps_disabled: true,
            memory_locked: false,
            notes: vec!["no CAP_IPC_LOCK".into()],
        };
        assert_eq!(
            partial.one_line(),
            "warning: hardening: core dumps: disabled (not dumpable, RLIMIT_CORE 0); \
             memory lock: not locked (secrets could reach swap); note: no CAP_IPC_LOCK"
        );
    }

    /// Set in the environment of the child process that
    /// [`harden_process_in_child`] starts.
    const CHILD_ENV: &str = "CEREMONY_SAFETY_HARDEN_CHILD";

    /// Runs [`harden_process_child`] in a child process (this test binary
    /// again). Hardening is process-wide and partly irreversible: mlockall
    /// with MCL_FUTURE would lock every later allocation of every other test
    /// sharing this process (and under a finite RLIMIT_MEMLOCK make them
    /// fail), and a non-dumpable process cannot be debugged or traced.
    #[test]
    fn harden_process_in_child() {
        let name = "safety::tests::harden_process_child";
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                name,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stdout}\n{stderr}");
        // `--exact` with a wrong name would run nothing and still succeed.
        assert!(stdout.contains("1 passed"), "{stdout}\n{stderr}");
    }

    #[test]
    #[ignore = "hardens the whole process: run by harden_process_in_child"]
    fn harden_process_child() {
        assert_eq!(
            std::env::var(CHILD_ENV).as_deref(),
            Ok("1"),
            "run only in the child process harden_process_in_child starts"
        );
        let hardening = harden_process();
        println!("{hardening}");
        assert!(hardening.core_dumps_disabled, "{hardening}");
        assert_eq!(
            rustix::process::dumpable_behavior().unwrap(),
            DumpableBehavior::NotDumpable
        );
        assert_eq!(
            getrlimit(Resource::Core),
            Rlimit {
                current: Some(0),
                maximum: Some(0)
            }
        );
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let locked_kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmLck:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmLck in /proc/self/status");
        if hardening.memory_locked {
            assert!(locked_kb > 0, "mlockall succeeded but VmLck is 0");
        } else {
            assert!(!hardening.notes.is_empty(), "{hardening}");
            assert!(hardening.to_string().contains("memory lock: not locked"));
        }
    }
}
