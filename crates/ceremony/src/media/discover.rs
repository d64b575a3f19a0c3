//! Candidate media: the mounted file systems a keyholder may have plugged
//! in. Read from `/proc/self/mountinfo` and sysfs, never by mounting
//! anything: the appliance only looks at what the image's automounter (or
//! the keyholder, by hand) mounted. The parsers take their input as
//! parameters so tests feed fixture text and fake sysfs trees.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// A mounted file system that may be the ceremony stick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Medium {
    /// Where it is mounted: the directory handed to [`super::recognise`].
    pub mount_point: PathBuf,
    /// Block device name (`sdb1`), or the mount source when it is not a
    /// block device, so the keyholder can tell two sticks apart.
    pub device: String,
    /// File system type (`vfat`, `ext4`, …).
    pub fs_type: String,
    /// Volume label, when udev published one: what is written on the stick.
    pub label: Option<String>,
    /// The kernel (or the USB bus) says the device can be unplugged.
    pub removable: bool,
    /// Mounted read-only: signatures cannot be written back to it.
    pub read_only: bool,
}

/// One line of `/proc/self/mountinfo`, as much as media discovery needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    /// `major:minor` of the device (for `/sys/dev/block`).
    pub major_minor: String,
    /// The directory of the file system mounted here (`/` unless a bind
    /// mount of a subdirectory).
    pub root: PathBuf,
    /// The mount point, unescaped.
    pub mount_point: PathBuf,
    /// Per-mount options (`ro`, `nosuid`, …).
    pub options: Vec<String>,
    /// File system type.
    pub fs_type: String,
    /// Mount source (`/dev/sdb1`, `tmpfs`, …), unescaped.
    pub source: String,
    /// Per-superblock options.
    pub super_options: Vec<String>,
}

impl MountEntry {
    /// Read-only either for this mount or for the whole file system.
    pub fn read_only(&self) -> bool {
        self.options
            .iter()
            .chain(&self.super_options)
            .any(|o| o == "ro")
    }
}

/// Undoes the kernel's octal escapes (`\040` space, `\011` tab, `\012`
/// newline, `\134` backslash) in a mountinfo field. A backslash not
/// followed by three octal digits is kept as it is.
pub fn unescape_octal(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some(code) = bytes.get(i + 1..i + 4).and_then(octal)
        {
            out.push(code);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn octal(digits: &[u8]) -> Option<u8> {
    let mut value: u32 = 0;
    for d in digits {
        if !(b'0'..=b'7').contains(d) {
            return None;
        }
        value = value * 8 + u32::from(d - b'0');
    }
    u8::try_from(value).ok()
}

fn path_of(field: &str) -> PathBuf {
    PathBuf::from(OsString::from_vec(unescape_octal(field)))
}

/// Parses the text of `/proc/<pid>/mountinfo`; lines that do not have the
/// documented shape are skipped, never fatal.
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MountEntry> {
    let fields: Vec<&str> = line.split(' ').filter(|f| !f.is_empty()).collect();
    let dash = fields.iter().position(|f| *f == "-")?;
    if dash < 6 {
        return None;
    }
    let after = fields.get(dash + 1..)?;
    let (fs_type, source) = (after.first()?, after.get(1)?);
    let split = |f: Option<&&str>| -> Vec<String> {
        f.map(|o| o.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    };
    Some(MountEntry {
        major_minor: fields[2].to_owned(),
        root: path_of(fields[3]),
        mount_point: path_of(fields[4]),
        options: split(fields.get(5)),
        fs_type: String::from_utf8_lossy(&unescape_octal(fs_type)).into_owned(),
        source: String::from_utf8_lossy(&unescape_octal(source)).into_owned(),
        super_options: split(after.get(2)),
    })
}

/// The block device name behind `entry`: from `/sys/dev/block/<maj:min>`
/// when sysfs knows it, else from the source path (`/dev/disk/by-*` links
/// resolved under `dev_root`). `None`: not a block device.
pub fn block_device(sys_root: &Path, dev_root: &Path, entry: &MountEntry) -> Option<String> {
    let by_number = sys_root.join("dev/block").join(&entry.major_minor);
    if !entry.major_minor.is_empty()
        && !entry.major_minor.contains('/')
        && let Ok(real) = std::fs::canonicalize(&by_number)
        && let Some(name) = real.file_name()
    {
        return Some(name.to_string_lossy().into_owned());
    }
    let rest = entry.source.strip_prefix("/dev/")?;
    if rest.split('/').any(|part| part == "..") {
        return None;
    }
    let path = dev_root.join(rest);
    let real = std::fs::canonicalize(&path).unwrap_or(path);
    Some(real.file_name()?.to_string_lossy().into_owned())
}

/// Whether block device `dev` can be unplugged: its own `removable` flag,
/// or for a partition its disk's, or it sits on a USB bus (many USB sticks
/// report `removable` 0). Unknown devices are not removable.
pub fn is_removable(sys_root: &Path, dev: &str) -> bool {
    if dev.is_empty() || dev.contains('/') || dev == "." || dev == ".." {
        return false;
    }
    let link = sys_root.join("class/block").join(dev);
    let Ok(real) = std::fs::canonicalize(&link) else {
        return false;
    };
    let flag = |dir: &Path| {
        std::fs::read_to_string(dir.join("removable")).is_ok_and(|text| text.trim() == "1")
    };
    if flag(&real) {
        return true;
    }
    if real.join("partition").exists() && real.parent().is_some_and(flag) {
        return true;
    }
    real.components().any(|c| {
        let part = c.as_os_str().to_string_lossy();
        part.starts_with("usb") && part[3..].chars().all(|ch| ch.is_ascii_digit())
    })
}

/// Undoes udev's `\xHH` escapes in a `/dev/disk/by-label` name.
fn unescape_udev(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'x') {
            let hex = bytes
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The volume label of `dev`, found by resolving each link in `by_label`
/// (normally `/dev/disk/by-label`). Best effort: `None` when unknown.
pub fn label_for(by_label: &Path, dev: &str) -> Option<String> {
    let entries = std::fs::read_dir(by_label).ok()?;
    for entry in entries.flatten() {
        let Ok(real) = std::fs::canonicalize(entry.path()) else {
            continue;
        };
        if real.file_name().is_some_and(|n| n.to_string_lossy() == dev) {
            return Some(unescape_udev(&entry.file_name().to_string_lossy()));
        }
    }
    None
}

const MEDIA_DIRS: [&str; 3] = ["/media", "/run/media", "/mnt"];
const NOT_MEDIA: [&str; 4] = ["autofs", "proc", "sysfs", "devpts"];

/// The candidates among `mountinfo`'s mounts: those under `/media`,
/// `/run/media` or `/mnt`, and those of a removable block device. One per
/// device, preferring the mount of the whole file system over a bind mount
/// of a subdirectory.
pub fn media_from(mountinfo: &str, sys_root: &Path, dev_root: &Path) -> Vec<Medium> {
    let mut found: Vec<(Medium, bool)> = Vec::new();
    for entry in parse_mountinfo(mountinfo) {
        if NOT_MEDIA.contains(&entry.fs_type.as_str()) {
            continue;
        }
        let dev = block_device(sys_root, dev_root, &entry);
        let removable = dev.as_deref().is_some_and(|d| is_removable(sys_root, d));
        let under_media = MEDIA_DIRS.iter().any(|d| entry.mount_point.starts_with(d));
        if !removable && !under_media {
            continue;
        }
        let whole = entry.root == Path::new("/");
        let label = dev
            .as_deref()
            .and_then(|d| label_for(&dev_root.join("disk/by-label"), d));
        let medium = Medium {
            read_only: entry.read_only(),
            mount_point: entry.mount_point,
            device: dev.unwrap_or(entry.source),
            fs_type: entry.fs_type,
            label,
            removable,
        };
        match found.iter_mut().find(|(m, _)| m.device == medium.device) {
            Some(slot) if !slot.1 && whole => *slot = (medium, whole),
            Some(_) => {}
            None => found.push((medium, whole)),
        }
    }
    found.into_iter().map(|(m, _)| m).collect()
}

/// The media mounted on this machine now. Empty when `/proc` cannot be
/// read: the screen then asks for the stick (or `--media <dir>`).
pub fn discover() -> Vec<Medium> {
    discover_in(
        Path::new("/proc/self/mountinfo"),
        Path::new("/sys"),
        Path::new("/dev"),
    )
}

/// [`discover`] over a given mountinfo file, sysfs and `/dev` (tests feed
/// fake ones): an unreadable mountinfo means no media, never an error.
pub fn discover_in(mountinfo: &Path, sys_root: &Path, dev_root: &Path) -> Vec<Medium> {
    let text = std::fs::read_to_string(mountinfo).unwrap_or_default();
    media_from(&text, sys_root, dev_root)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
25 22 0:5 / /proc rw,nosuid shared:12 - proc proc rw
40 22 8:17 / /media/keyholder/ROOT\\040KEYS rw,nosuid,nodev shared:300 - vfat /dev/sdb1 rw,fmask=0022
41 22 8:17 /tuf /srv/bound rw shared:300 - vfat /dev/sdb1 rw
42 22 0:40 / /mnt/scratch ro,relatime - tmpfs tmpfs ro
43 22 8:33 / /run/media/x/y rw - ext4 /dev/disk/by-uuid/abcd rw
garbage line without the separator
1 2 3 - short
";

    #[test]
    fn mountinfo_is_parsed_with_escaped_spaces_and_optional_fields() {
        let entries = parse_mountinfo(MOUNTINFO);
        assert_eq!(entries.len(), 6, "the two malformed lines are skipped");
        let stick = &entries[2];
        assert_eq!(stick.mount_point, Path::new("/media/keyholder/ROOT KEYS"));
        assert_eq!(stick.source, "/dev/sdb1");
        assert_eq!(stick.fs_type, "vfat");
        assert_eq!(stick.root, Path::new("/"));
        assert!(!stick.read_only());
        assert!(entries[4].read_only());
        assert_eq!(
            entries[3].root,
            Path::new("/tuf"),
            "a bind mount keeps its root"
        );
    }

    #[test]
    fn odd_escapes_and_empty_input_never_panic() {
        assert_eq!(unescape_octal("a\\04"), b"a\\04");
        assert_eq!(unescape_octal("\\777x"), b"\\777x");
        assert_eq!(unescape_octal("\\134"), b"\\");
        assert!(parse_mountinfo("").is_empty());
        assert!(parse_mountinfo("- - - - - - - -\n\u{0}\n").len() <= 1);
        assert_eq!(unescape_udev("ROOT\\x20KEYS\\x"), "ROOT KEYS\\x");
    }

    /// A fake sysfs and /dev: sdb (removable) with partition sdb1, sdc (USB,
    /// removable 0) with sdc1, sda (fixed) with sda2.
    fn fake_system() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let mk = |disk: &str, part: &str, bus: &str, removable: &str| {
            let dir = root.join("sys/devices").join(bus).join("block").join(disk);
            std::fs::create_dir_all(dir.join(part)).unwrap();
            std::fs::write(dir.join("removable"), removable).unwrap();
            std::fs::write(dir.join(part).join("partition"), "1\n").unwrap();
            std::fs::create_dir_all(root.join("sys/class/block")).unwrap();
            for (name, target) in [(disk, dir.clone()), (part, dir.join(part))] {
                std::os::unix::fs::symlink(target, root.join("sys/class/block").join(name))
                    .unwrap();
            }
            std::fs::create_dir_all(root.join("dev")).unwrap();
            std::fs::write(root.join("dev").join(part), "").unwrap();
        };
        mk("sda", "sda2", "pci0000:00/ata1", "0\n");
        mk("sdb", "sdb1", "pci0000:00/ata2", "1\n");
        mk("sdc", "sdc1", "pci0000:00/usb1/1-1", "0\n");
        let by_uuid = root.join("dev/disk/by-uuid");
        let by_label = root.join("dev/disk/by-label");
        std::fs::create_dir_all(&by_uuid).unwrap();
        std::fs::create_dir_all(&by_label).unwrap();
        std::os::unix::fs::symlink("../../sdc1", by_uuid.join("abcd")).unwrap();
        std::os::unix::fs::symlink("../../sdb1", by_label.join("ROOT\\x20KEYS")).unwrap();
        tmp
    }

    #[test]
    fn a_partition_of_a_removable_disk_is_removable_and_a_fixed_disk_is_not() {
        let tmp = fake_system();
        let sys = tmp.path().join("sys");
        assert!(is_removable(&sys, "sdb1"));
        assert!(is_removable(&sys, "sdb"));
        assert!(
            is_removable(&sys, "sdc1"),
            "a USB stick reporting removable 0"
        );
        assert!(!is_removable(&sys, "sda2"));
        assert!(!is_removable(&sys, "nosuch"));
        assert!(!is_removable(&sys, "../../etc"));
    }

    #[test]
    fn discovery_lists_each_stick_once_with_its_label() {
        let tmp = fake_system();
        let media = media_from(MOUNTINFO, &tmp.path().join("sys"), &tmp.path().join("dev"));
        let points: Vec<_> = media.iter().map(|m| m.mount_point.clone()).collect();
        assert_eq!(
            points,
            [
                PathBuf::from("/media/keyholder/ROOT KEYS"),
                PathBuf::from("/mnt/scratch"),
                PathBuf::from("/run/media/x/y"),
            ],
            "the bind mount of sdb1 and the fixed root disk are not listed"
        );
        assert_eq!(media[0].device, "sdb1");
        assert_eq!(media[0].label.as_deref(), Some("ROOT KEYS"));
        assert!(media[0].removable);
        assert!(!media[1].removable && media[1].read_only);
        assert_eq!(media[1].device, "tmpfs");
        assert_eq!(media[2].device, "sdc1", "the by-uuid link is resolved");
        assert!(media[2].removable);
    }

    #[test]
    fn a_bind_mount_seen_first_gives_way_to_the_whole_file_system() {
        let tmp = fake_system();
        let text = "\
41 22 8:17 /tuf /media/bound rw - vfat /dev/sdb1 rw
40 22 8:17 / /media/stick rw - vfat /dev/sdb1 rw
";
        let media = media_from(text, &tmp.path().join("sys"), &tmp.path().join("dev"));
        assert_eq!(media.len(), 1);
        assert_eq!(media[0].mount_point, Path::new("/media/stick"));
    }

    #[test]
    fn discovery_reads_the_mountinfo_file_and_an_unreadable_one_means_no_media() {
        let tmp = fake_system();
        let mountinfo = tmp.path().join("mountinfo");
        std::fs::write(&mountinfo, MOUNTINFO).unwrap();
        let (sys, dev) = (tmp.path().join("sys"), tmp.path().join("dev"));
        let media = discover_in(&mountinfo, &sys, &dev);
        assert_eq!(media, media_from(MOUNTINFO, &sys, &dev));
        assert_eq!(media.len(), 3);
        assert_eq!(media[0].label.as_deref(), Some("ROOT KEYS"));
        assert!(discover_in(&tmp.path().join("no-such-file"), &sys, &dev).is_empty());
    }
}
