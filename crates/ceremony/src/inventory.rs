//! Network hardware present in the machine, whether or not a driver is
//! loaded: PCI network and wireless controllers and USB devices with a
//! wireless, Bluetooth or communications (USB Ethernet, modem) interface.
//!
//! The image carries no network drivers, so such hardware never becomes an
//! interface (the offline check in [`crate::safety`] sees only `lo`); but a
//! witness must still know that the laptop has Wi-Fi or a USB Ethernet dongle
//! is plugged in, as COEN's ceremonies call out unexpected devices. The
//! clock screen lists what is found and the ceremony waits for the witness
//! to acknowledge it. Read from sysfs only (`/sys/bus/pci`, `/sys/bus/usb`),
//! by class code: the image has no hardware database, so devices are named
//! by vendor:product id. USB devices with only vendor-specific interfaces
//! (some Wi-Fi dongles) cannot be recognised this way (docs/image.md).

use std::path::Path;

/// One device, as shown on the clock screen and in the transcript.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NetworkDevice {
    /// `PCI` or `USB`.
    pub bus: &'static str,
    /// The sysfs name: `0000:00:14.3` or `1-2`.
    pub address: String,
    /// `vendor:product` in hex.
    pub id: String,
    /// What its class code says it is.
    pub kind: &'static str,
}

impl NetworkDevice {
    /// One line: `PCI 0000:00:14.3 8086:a0f0 network controller (Wi-Fi or other)`.
    pub fn line(&self) -> String {
        format!("{} {} {} {}", self.bus, self.address, self.id, self.kind)
    }
}

/// Every network-capable device under `sys` (normally `/sys`), sorted.
/// Unreadable entries are skipped: a missing bus is no devices.
pub fn network_hardware(sys: &Path) -> Vec<NetworkDevice> {
    let mut found = pci_devices(&sys.join("bus/pci/devices"));
    found.extend(usb_devices(&sys.join("bus/usb/devices")));
    found.sort();
    found
}

/// PCI class codes (`0xCCSSPP`): base class 0x02 network, 0x0d wireless.
fn pci_kind(class: u32) -> Option<&'static str> {
    match (class >> 16, (class >> 8) & 0xff) {
        (0x02, 0x00) => Some("Ethernet controller"),
        (0x02, 0x80) => Some("network controller (Wi-Fi or other)"),
        (0x02, _) => Some("network controller"),
        (0x0d, 0x11) => Some("Bluetooth controller"),
        (0x0d, _) => Some("wireless controller"),
        _ => None,
    }
}

fn pci_devices(dir: &Path) -> Vec<NetworkDevice> {
    let mut out = Vec::new();
    for entry in entries(dir) {
        let path = entry.path();
        let Some(class) = read_hex(&path.join("class")) else {
            continue;
        };
        if let Some(kind) = pci_kind(class) {
            out.push(NetworkDevice {
                bus: "PCI",
                address: entry.file_name().to_string_lossy().into_owned(),
                id: id_pair(&path, "vendor", "device"),
                kind,
            });
        }
    }
    out
}

/// USB class codes of devices or interfaces that reach a network.
fn usb_kind(class: u32, subclass: u32, protocol: u32) -> Option<&'static str> {
    match (class, subclass, protocol) {
        (0xe0, 0x01, 0x01) => Some("Bluetooth adapter"),
        (0xe0, 0x01, 0x03) | (0xef, 0x04, 0x01) => Some("USB network adapter (RNDIS)"),
        (0xe0, _, _) => Some("wireless controller"),
        (0x02, 0x06, _) | (0x02, 0x0d, _) | (0x02, 0x0c, _) => Some("USB Ethernet adapter (CDC)"),
        (0x02, 0x0e, _) => Some("USB mobile broadband (MBIM)"),
        (0x02, _, _) => Some("USB communications device (modem or network)"),
        _ => None,
    }
}

fn usb_devices(dir: &Path) -> Vec<NetworkDevice> {
    let mut out: Vec<NetworkDevice> = Vec::new();
    for entry in entries(dir) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        // Interfaces are `<device>:<config>.<interface>`; the device's own
        // class counts too (Bluetooth dongles often declare it there).
        let (device, class, sub, proto) = if let Some((device, _)) = name.split_once(':') {
            let class = read_hex(&path.join("bInterfaceClass"));
            let sub = read_hex(&path.join("bInterfaceSubClass")).unwrap_or(0);
            let proto = read_hex(&path.join("bInterfaceProtocol")).unwrap_or(0);
            (device.to_owned(), class, sub, proto)
        } else {
            let class = read_hex(&path.join("bDeviceClass"));
            let sub = read_hex(&path.join("bDeviceSubClass")).unwrap_or(0);
            let proto = read_hex(&path.join("bDeviceProtocol")).unwrap_or(0);
            (name.clone(), class, sub, proto)
        };
        let Some(kind) = class.and_then(|c| usb_kind(c, sub, proto)) else {
            continue;
        };
        if out.iter().any(|d| d.address == device) {
            continue;
        }
        out.push(NetworkDevice {
            bus: "USB",
            id: id_pair(&dir.join(&device), "idVendor", "idProduct"),
            address: device,
            kind,
        });
    }
    out
}

fn entries(dir: &Path) -> Vec<std::fs::DirEntry> {
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

/// A sysfs attribute such as `0x020000` or `e0`, as a number.
fn read_hex(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    u32::from_str_radix(text.strip_prefix("0x").unwrap_or(text), 16).ok()
}

/// `vvvv:pppp` from two sysfs attributes, `????` where one is unreadable.
fn id_pair(dir: &Path, vendor: &str, product: &str) -> String {
    let part = |name: &str| {
        read_hex(&dir.join(name))
            .map(|v| format!("{v:04x}"))
            .unwrap_or_else(|| "????".into())
    };
    format!("{}:{}", part(vendor), part(product))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake sysfs tree with the attributes the scan reads.
    struct Sys(tempfile::TempDir);

    impl Sys {
        fn new() -> Sys {
            Sys(tempfile::tempdir().unwrap())
        }
        fn put(&self, dir: &str, attrs: &[(&str, &str)]) -> &Sys {
            let path = self.0.path().join(dir);
            std::fs::create_dir_all(&path).unwrap();
            for (name, value) in attrs {
                std::fs::write(path.join(name), format!("{value}\n")).unwrap();
            }
            self
        }
        fn scan(&self) -> Vec<String> {
            network_hardware(self.0.path())
                .iter()
                .map(NetworkDevice::line)
                .collect()
        }
    }

    #[test]
    fn a_machine_without_network_hardware_lists_nothing() {
        let sys = Sys::new();
        sys.put(
            "bus/pci/devices/0000:00:00.0",
            &[
                ("class", "0x060000"),
                ("vendor", "0x8086"),
                ("device", "0x29c0"),
            ],
        )
        .put(
            "bus/usb/devices/1-1",
            &[
                ("bDeviceClass", "00"),
                ("idVendor", "1050"),
                ("idProduct", "0407"),
            ],
        )
        .put("bus/usb/devices/1-1:1.0", &[("bInterfaceClass", "0b")]);
        assert!(sys.scan().is_empty());
        assert!(network_hardware(Path::new("/nonexistent")).is_empty());
    }

    #[test]
    fn pci_ethernet_wifi_and_bluetooth_are_listed_with_ids() {
        let sys = Sys::new();
        sys.put(
            "bus/pci/devices/0000:00:1f.6",
            &[
                ("class", "0x020000"),
                ("vendor", "0x8086"),
                ("device", "0x15bc"),
            ],
        )
        .put(
            "bus/pci/devices/0000:00:14.3",
            &[
                ("class", "0x028000"),
                ("vendor", "0x8086"),
                ("device", "0xa0f0"),
            ],
        );
        assert_eq!(
            sys.scan(),
            [
                "PCI 0000:00:14.3 8086:a0f0 network controller (Wi-Fi or other)",
                "PCI 0000:00:1f.6 8086:15bc Ethernet controller",
            ]
        );
    }

    #[test]
    fn usb_bluetooth_and_ethernet_dongles_are_listed_once_per_device() {
        let sys = Sys::new();
        sys.put(
            "bus/usb/devices/1-2",
            &[
                ("bDeviceClass", "e0"),
                ("bDeviceSubClass", "01"),
                ("bDeviceProtocol", "01"),
                ("idVendor", "8087"),
                ("idProduct", "0026"),
            ],
        )
        .put(
            "bus/usb/devices/1-2:1.0",
            &[
                ("bInterfaceClass", "e0"),
                ("bInterfaceSubClass", "01"),
                ("bInterfaceProtocol", "01"),
            ],
        )
        .put(
            "bus/usb/devices/2-1",
            &[
                ("bDeviceClass", "00"),
                ("idVendor", "0bda"),
                ("idProduct", "8153"),
            ],
        )
        .put(
            "bus/usb/devices/2-1:2.0",
            &[
                ("bInterfaceClass", "02"),
                ("bInterfaceSubClass", "06"),
                ("bInterfaceProtocol", "00"),
            ],
        );
        assert_eq!(
            sys.scan(),
            [
                "USB 1-2 8087:0026 Bluetooth adapter",
                "USB 2-1 0bda:8153 USB Ethernet adapter (CDC)",
            ]
        );
    }

    #[test]
    fn garbage_attributes_are_skipped_not_a_panic() {
        let sys = Sys::new();
        sys.put("bus/pci/devices/x", &[("class", "not hex")])
            .put("bus/usb/devices/3-1:1.0", &[("bInterfaceClass", "e0")]);
        assert_eq!(sys.scan(), ["USB 3-1 ????:???? wireless controller"]);
    }
}
