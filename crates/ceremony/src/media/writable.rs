//! Read-only until a write is needed: the offline image mounts sticks
//! read-only, and the session asks for read-write only just before the
//! first signature (or the transcript) is written, then back to read-only
//! when the witness signs off.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::MediaError;
use super::discover::{MountEntry, parse_mountinfo};

/// The mount that holds `dir`: the entry with the longest mount point
/// that is a prefix of `dir` (canonicalised), from `mountinfo` text.
pub fn mount_of<'a>(mounts: &'a [MountEntry], dir: &Path) -> Option<&'a MountEntry> {
    mounts
        .iter()
        .filter(|m| dir.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.as_os_str().len())
}

/// Makes the file system holding `dir` writable if it is mounted
/// read-only (`mount -o remount,rw`); returns the mount point remounted,
/// so it can be put back. A stick already writable is left as it is.
pub fn make_writable(dir: &Path) -> Result<Option<PathBuf>, MediaError> {
    let Some(mount) = read_only_mount(dir) else {
        return Ok(None);
    };
    remount(&mount, "rw")?;
    Ok(Some(mount))
}

/// How often [`make_read_only`] tries, with a sync and a growing pause
/// before each try: a remount to read-only fails (EBUSY) while the kernel
/// still has writes to the stick in flight.
pub const READ_ONLY_TRIES: u32 = 5;

/// Puts a mount made writable by [`make_writable`] back to read-only,
/// syncing first and trying [`READ_ONLY_TRIES`] times; the last error if
/// it never succeeds.
pub fn make_read_only(mount_point: &Path) -> Result<(), MediaError> {
    let mut last = None;
    for attempt in 1..=READ_ONLY_TRIES {
        rustix::fs::sync();
        match remount(mount_point, "ro") {
            Ok(()) => return Ok(()),
            Err(error) => last = Some(error),
        }
        if attempt < READ_ONLY_TRIES {
            std::thread::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)));
        }
    }
    Err(last.unwrap_or_else(|| MediaError::Read {
        file: mount_point.display().to_string(),
        error: "could not be remounted read-only".into(),
    }))
}

fn read_only_mount(dir: &Path) -> Option<PathBuf> {
    let dir = dir.canonicalize().ok()?;
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mounts = parse_mountinfo(&text);
    let mount = mount_of(&mounts, &dir)?;
    mount.read_only().then(|| mount.mount_point.clone())
}

fn remount(mount_point: &Path, mode: &str) -> Result<(), MediaError> {
    let output = Command::new("mount")
        .arg("-o")
        .arg(format!("remount,{mode}"))
        .arg(mount_point)
        .output()
        .map_err(|e| MediaError::Read {
            file: mount_point.display().to_string(),
            error: format!("cannot run mount to remount the stick {mode}: {e}"),
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(MediaError::Read {
        file: mount_point.display().to_string(),
        error: format!(
            "the stick is mounted read-only and could not be remounted {mode}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deepest_mount_holding_a_directory_is_the_one_remounted() {
        let text = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 8:17 / /media/STICK ro,nosuid,nodev,noexec shared:2 - vfat /dev/sdb1 ro,fmask=0077
41 22 0:30 / /media/STICKY rw shared:3 - tmpfs tmpfs rw
";
        let mounts = parse_mountinfo(text);
        let stick = mount_of(&mounts, Path::new("/media/STICK/tuf-ceremony")).unwrap();
        assert_eq!(stick.mount_point, Path::new("/media/STICK"));
        assert!(stick.read_only());
        // A sibling whose name starts the same is another mount.
        let other = mount_of(&mounts, Path::new("/media/STICKY/x")).unwrap();
        assert_eq!(other.mount_point, Path::new("/media/STICKY"));
        let root = mount_of(&mounts, Path::new("/tmp/work")).unwrap();
        assert_eq!(root.mount_point, Path::new("/"));
    }

    #[test]
    fn a_writable_directory_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        // Whatever holds the temp dir here is writable: nothing to remount.
        assert_eq!(make_writable(dir.path()).unwrap(), None);
    }
}
