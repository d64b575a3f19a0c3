//! `cargo xtask image` and `cargo xtask image-test`: the bootable offline
//! image (recipe in `image/`, notes in `docs/image.md`) and its boot test
//! under qemu.
//!
//! `image` installs the image tools (their own list, not the test suite's),
//! builds the release `ceremony` and `tuf-repo`, and runs `image/build.sh`
//! with `SOURCE_DATE_EPOCH` from the last commit. `image-test` boots the raw
//! disk image under OVMF with Secure Boot enforced and Microsoft's keys
//! enrolled (TCG, no network driver): a copy with one byte of the kernel
//! changed must be refused by the signature check; the image as built must
//! reach the launcher with its boot manifest hashed; and a copy whose GRUB
//! configuration (not covered by Secure Boot) puts the serial console first
//! and turns the drill on, with a practice rotation on a virtual USB stick
//! and an e1000 network card plugged in, runs the ceremony's terminal UI in
//! an 80×24 tmux window: the clock screen must show the card and the boot
//! hashes (and the changed GRUB configuration), the witness acknowledges the
//! card, two keyholders sign, the witness signs off, the guest powers off,
//! and the host checks what the appliance wrote to the stick (python-tuf,
//! `tuf-repo verify-root`, `tuf-repo transcript verify`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::{cargo, deps, python, step, target_dir};

/// Debian packages `cargo xtask image` needs: the root file system
/// (mmdebstrap, the archive keyring), the UKI (systemd-boot-efi's stub,
/// binutils' objcopy), the initramfs (cpio, zstd) and the disk (dosfstools,
/// mtools, fdisk's sfdisk), all without mounting anything.
pub const IMAGE_PACKAGES: &[&str] = &[
    "mmdebstrap",
    "debian-archive-keyring",
    "systemd-boot-efi",
    "binutils",
    "cpio",
    "zstd",
    "dosfstools",
    "mtools",
    "fdisk",
];

/// What `cargo xtask image-test` needs besides: qemu and OVMF (with its
/// Secure Boot build and Microsoft's keys) to boot, tmux to read the serial
/// console as a screen, dosfstools and mtools for the stick and the boot
/// partition's copies.
pub const IMAGE_TEST_PACKAGES: &[&str] =
    &["qemu-system-x86", "ovmf", "tmux", "dosfstools", "mtools"];

/// The kernel command line of the drill boot in the test, written into its
/// copy's GRUB configuration: the image's own (from `cmdline.txt`, serial
/// last so that the ceremony starts there) plus the drill switch the
/// launcher honours. The stick is mounted read-only, as on a real boot: the
/// appliance remounts it read-write for its first write, which the test
/// thereby checks.
const TEST_CMDLINE: &str =
    "console=tty1 console=ttyS0,115200 ipv6.disable=1 quiet loglevel=3 ceremony.drill=1";

/// How the build treats `image/packages.lock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock {
    /// Fail when apt resolves anything else (`cargo xtask image`).
    Enforce,
    /// Rewrite the lock from what apt resolves (`--update-lock`).
    Update,
    /// Warn and build anyway: the boot test in `cargo xtask test`, which
    /// must not fail because the mirror moved on.
    AllowDrift,
}

/// `cargo xtask image [--update-lock] [--pinned-root <root.json>]`.
pub fn build(root: &Path, update_lock: bool, pinned_root: Option<&Path>) -> Result<()> {
    let lock = if update_lock {
        Lock::Update
    } else {
        Lock::Enforce
    };
    build_with(root, lock, pinned_root)
}

/// Builds the image with the release binaries of this tree, pinning
/// `pinned_root` at /etc/tuf-ceremony/pinned-root.json if given.
pub fn build_with(root: &Path, lock: Lock, pinned_root: Option<&Path>) -> Result<()> {
    deps::ensure_packages(IMAGE_PACKAGES)?;
    let started = Instant::now();
    step(
        "building the release ceremony and tuf-repo",
        cargo()
            .current_dir(root)
            .args(["build", "--release", "-p", "ceremony", "-p", "tuf-repo"]),
    )?;
    let target = target_dir(root);
    let out = target.join("image");
    let epoch = source_date_epoch(root)?;
    let mut cmd = as_root(&[("SOURCE_DATE_EPOCH", epoch.as_str())])?;
    cmd.arg("bash")
        .arg(root.join("image/build.sh"))
        .arg("--out")
        .arg(&out)
        .arg("--bin")
        .arg(target.join("release"));
    if let Some(pinned) = pinned_root {
        cmd.arg("--pinned-root").arg(pinned);
    }
    match lock {
        Lock::Enforce => {}
        Lock::Update => {
            cmd.arg("--update-lock");
        }
        Lock::AllowDrift => {
            cmd.arg("--allow-lock-drift");
        }
    }
    step("building the image (image/build.sh)", &mut cmd)?;
    let img = out.join("tuf-ceremony.img");
    let size = std::fs::metadata(&img)
        .with_context(|| format!("{} was not written", img.display()))?
        .len();
    let hash = std::fs::read_to_string(out.join("tuf-ceremony.img.sha256"))
        .context("reading the image's sha256")?;
    println!("image: {}", img.display());
    println!(
        "  sha256 {}",
        hash.split_whitespace().next().unwrap_or_default()
    );
    println!("  size {:.1} MiB", size as f64 / 1048576.0);
    println!(
        "  built in {:.0} s (including cargo build --release)",
        started.elapsed().as_secs_f64()
    );
    println!(
        "  SOURCE_DATE_EPOCH={epoch}; manifest: {}",
        out.join("manifest.txt").display()
    );
    Ok(())
}

/// `cargo xtask image-test`.
pub fn test(root: &Path) -> Result<()> {
    let test_started = Instant::now();
    deps::ensure_packages(IMAGE_TEST_PACKAGES)?;
    let python = python::ensure_venv(root)?;
    let target = target_dir(root);
    let out = target.join("image");
    let kernel = out.join("vmlinuz");
    let initrd = out.join("initrd.img");
    let disk = out.join("tuf-ceremony.img");
    let boot_manifest = out.join("boot-files.sha256");
    if [&kernel, &initrd, &disk, &boot_manifest]
        .iter()
        .any(|p| !p.exists())
    {
        println!("no image in {}: building it first", out.display());
        build(root, false, None)?;
    } else {
        step(
            "building the release ceremony and tuf-repo (host side of the test)",
            cargo().current_dir(root).args([
                "build",
                "--release",
                "-p",
                "ceremony",
                "-p",
                "tuf-repo",
            ]),
        )?;
    }
    let release = target.join("release");
    let ceremony = release.join("ceremony");
    let tuf_repo = release.join("tuf-repo");

    let work = target.join("image-test");
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("clearing {}", work.display()))?;
    }
    std::fs::create_dir_all(&work)?;
    let drill = work.join("d");
    step(
        "staging the practice rotation",
        Command::new(&ceremony)
            .arg("drill-stage")
            .arg("--out")
            .arg(&drill),
    )?;
    let stick = work.join("stick.img");
    make_stick(&drill, &stick)?;

    // --- Secure Boot: a changed kernel is refused -----------------------------
    let manifest_hash = sha256_hex(&std::fs::read(out.join("boot-files.sha256"))?);
    let tampered = work.join("tampered.img");
    std::fs::copy(&disk, &tampered)?;
    let kernel_copy = work.join("vmlinuz.changed");
    esp_copy_out(&tampered, "vmlinuz", &kernel_copy)?;
    let mut bytes = std::fs::read(&kernel_copy)?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&kernel_copy, &bytes)?;
    esp_copy_in(&tampered, &kernel_copy, "vmlinuz")?;
    let refused = Instant::now();
    let ui = Tmux::start(
        &secure_boot_qemu(&tampered, &[]),
        &work.join("serial-tampered.log"),
    )?;
    ui.wait_for("bad shim signature", 600)?;
    drop(ui);
    println!(
        "Secure Boot: a kernel with one bit changed is refused (\"bad shim signature\") in {:.1} s",
        refused.elapsed().as_secs_f64()
    );

    // --- Secure Boot: the image as built reaches the launcher ----------------
    let uefi = boot_secure_pristine(&disk, &work, &manifest_hash)?;

    // --- The ceremony, over the serial console, under Secure Boot ------------
    let drill_disk = work.join("drill.img");
    std::fs::copy(&disk, &drill_disk)?;
    let grub_cfg = work.join("grub.cfg");
    esp_copy_out(&drill_disk, "EFI/debian/grub.cfg", &grub_cfg)?;
    let image_cmdline = std::fs::read_to_string(out.join("cmdline.txt"))?;
    let config = std::fs::read_to_string(&grub_cfg)?;
    ensure!(
        config.contains(image_cmdline.trim()),
        "the image's grub.cfg does not carry cmdline.txt:\n{config}"
    );
    std::fs::write(
        &grub_cfg,
        config.replace(image_cmdline.trim(), TEST_CMDLINE),
    )?;
    esp_copy_in(&drill_disk, &grub_cfg, "EFI/debian/grub.cfg")?;
    let serial_log = work.join("serial.log");
    let qemu = secure_boot_qemu(
        &drill_disk,
        &[
            "-device qemu-xhci,id=xhci2".to_owned(),
            format!("-drive if=none,id=stick,format=raw,file={}", quote(&stick)),
            "-device usb-storage,bus=xhci2.0,drive=stick,removable=on".to_owned(),
            // A network card the image has no driver for: it must be
            // called out on the clock screen, and stay without interface.
            "-device e1000".to_owned(),
        ],
    );
    println!("==> booting the drill copy under Secure Boot: {qemu}");
    let boot = Instant::now();
    let ui = Tmux::start(&qemu, &serial_log)?;
    let clock = ui.wait_for("This machine's clock says", 900)?;
    let boot_to_tui = boot.elapsed();
    println!(
        "boot to the clock screen (Secure Boot, TCG): {:.1} s",
        boot_to_tui.as_secs_f64()
    );
    ensure!(
        clock.contains("NETWORK HARDWARE (1)") && clock.contains("8086:100e"),
        "the clock screen does not call out the e1000 card:\n{clock}"
    );
    println!("clock screen calls out the network card (8086:100e)");
    let log = std::fs::read_to_string(&serial_log).unwrap_or_default();
    let interfaces = log
        .lines()
        .find_map(|l| l.split("network interfaces: ").nth(1))
        .map(|rest| rest.trim().to_owned());
    ensure!(
        interfaces.as_deref() == Some("lo"),
        "the guest's network interfaces are {interfaces:?}, not just lo; serial log: {}",
        serial_log.display()
    );
    println!("guest network interfaces: lo (the card has no driver)");
    ensure!(
        log.contains("mounted ro at /media/TUFSTICK"),
        "the stick was not mounted read-only at /media/TUFSTICK; serial log: {}",
        serial_log.display()
    );
    println!(
        "stick detected and mounted read-only at /media/TUFSTICK (the appliance remounts it to write)"
    );
    // The boot hashes, below the clock: scroll to them.
    let kernel_hash = sha256_hex(&std::fs::read(&kernel)?);
    let initrd_hash = sha256_hex(&std::fs::read(&initrd)?);
    let expected = [
        ("boot manifest", first_row(&manifest_hash)),
        ("kernel", first_row(&kernel_hash)),
        ("initramfs", first_row(&initrd_hash)),
        (
            "EFI/debian/grub.cfg: differs from the manifest",
            String::new(),
        ),
    ];
    let mut seen = clock;
    for _ in 0..12 {
        if expected
            .iter()
            .all(|(label, row)| seen.contains(label) && seen.contains(row.as_str()))
        {
            break;
        }
        ui.keys(&["Down"])?;
        std::thread::sleep(Duration::from_millis(300));
        seen = ui.screen()?;
    }
    for (label, row) in &expected {
        ensure!(
            seen.contains(label) && seen.contains(row.as_str()),
            "the clock screen does not show {label} {row}:\n{seen}"
        );
    }
    println!(
        "clock screen shows the boot manifest {} …, the kernel and initramfs hashes, and the test's grub.cfg as changed",
        first_row(&manifest_hash)
    );
    ui.keys(&["Enter"])?;
    std::thread::sleep(Duration::from_millis(500));
    ensure!(
        ui.screen()?.contains("This machine's clock says"),
        "the clock was confirmed before the witness acknowledged the card:\n{}",
        ui.screen()?
    );
    ui.keys(&["a"])?;
    ui.wait_for("acknowledged by the witness", 60)?;
    ui.keys(&["Enter"])?;
    ui.wait_for("Choose the stick", 120)?;
    ensure!(
        ui.screen()?.contains("/media/TUFSTICK"),
        "the stick list does not offer /media/TUFSTICK:\n{}",
        ui.screen()?
    );
    ui.keys(&["Enter"])?;
    let review = ui.wait_for("Review 1/1", 120)?;
    ensure!(
        review.contains("version 1 → 2"),
        "the review does not show version 1 → 2:\n{review}"
    );
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(drill.join("stick/tuf-ceremony/manifest.json"))
            .context("reading the drill's manifest.json")?,
    )?;
    let digest = manifest["items"][0]["canonical_sha256"]
        .as_str()
        .context("manifest.json has no items[0].canonical_sha256")?;
    let first_group: Vec<&str> = (0..8).map(|i| &digest[i * 4..i * 4 + 4]).collect();
    let first_group = first_group.join(" ");
    let mut seen = review;
    for _ in 0..20 {
        if seen.contains(&first_group) {
            break;
        }
        ui.keys(&["Down"])?;
        std::thread::sleep(Duration::from_millis(300));
        seen = ui.screen()?;
    }
    ensure!(
        seen.contains(&first_group),
        "the review does not show the digest {digest}:\n{seen}"
    );
    println!("review shows version 1 → 2 and digest {first_group} …");
    ui.keys(&["Enter"])?;
    ui.wait_for("Next keyholder", 120)?;

    for who in ["alice", "bob"] {
        let pin = std::fs::read_to_string(drill.join(format!("{who}.pin")))
            .with_context(|| format!("reading {who}'s PIN"))?;
        sign_as(&ui, who, pin.trim())?;
        let done = ui.wait_until(&format!("{who}'s signature"), 180, |s| {
            s.contains("signed 1 file(s)") && s.contains(&format!("token \"{who}\""))
        })?;
        if who == "bob" {
            ui.wait_until("both thresholds met", 60, |s| {
                s.matches("threshold MET").count() == 2
            })
            .map(|_| ())
            .or_else(|_| -> Result<()> { bail!("after bob signed:\n{done}") })?;
        }
        println!("{who} signed");
    }
    ui.keys(&["f"])?;
    ui.wait_for("type your name", 60)?;
    ui.type_text("Wanda Witness")?;
    ui.keys(&["Enter"])?;
    let complete = ui.wait_for("Ceremony complete", 120)?;
    ensure!(
        complete.contains("root v2 (new) 2/2 met"),
        "the final screen does not say root v2 2/2 met:\n{complete}"
    );
    println!("ceremony complete; quitting, the guest syncs, unmounts and powers off");
    ui.keys(&["q"])?;
    ui.wait_for("[qemu exited", 180)?;
    let log = std::fs::read_to_string(&serial_log).unwrap_or_default();
    ensure!(
        log.contains("unmounted /media/TUFSTICK"),
        "the guest did not unmount the stick before powering off; serial log: {}",
        serial_log.display()
    );
    drop(ui);

    // --- What the appliance wrote, read on the host ---------------------------
    let got = work.join("from-stick");
    std::fs::create_dir_all(&got)?;
    for file in [
        "staged/root.json",
        "transcript.jsonl",
        "repository/1.root.json",
    ] {
        let name = file.replace('/', "_");
        step(
            &format!("reading {file} from the stick"),
            Command::new("mcopy")
                .arg("-n")
                .arg("-i")
                .arg(&stick)
                .arg(format!("::/tuf-ceremony/{file}"))
                .arg(got.join(name)),
        )?;
    }
    let signed = got.join("staged_root.json");
    step(
        "python-tuf verifies the signed root",
        Command::new(&python)
            .arg(root.join("tests/fixtures/python_verify_root.py"))
            .arg(&signed),
    )?;
    let verified = output(
        Command::new(&tuf_repo)
            .arg("verify-root")
            .arg("--trusted")
            .arg(got.join("repository_1.root.json"))
            .arg(&signed),
    )?;
    ensure!(
        verified.contains("root v2: ok"),
        "tuf-repo verify-root did not say root v2: ok:\n{verified}"
    );
    print!("{verified}");
    let transcript = output(
        Command::new(&tuf_repo)
            .args(["transcript", "verify"])
            .arg(got.join("transcript.jsonl"))
            .arg("--metadata")
            .arg(&signed),
    )?;
    ensure!(
        transcript.contains("2 signatures"),
        "tuf-repo transcript verify did not count 2 signatures:\n{transcript}"
    );
    print!("{transcript}");
    let recorded = std::fs::read_to_string(got.join("transcript.jsonl"))?;
    let first: serde_json::Value =
        serde_json::from_str(recorded.lines().next().context("the transcript is empty")?)?;
    let boot_files = first["boot_files"].as_array().cloned().unwrap_or_default();
    ensure!(
        boot_files
            .iter()
            .any(|f| f["file"] == "boot manifest" && f["sha256"] == manifest_hash.as_str())
            && boot_files
                .iter()
                .any(|f| f["file"] == "vmlinuz" && f["sha256"] == kernel_hash.as_str()),
        "the transcript's first entry does not record the boot manifest and kernel: {first}"
    );
    ensure!(
        first["network_hardware"].to_string().contains("8086:100e")
            && recorded.contains(r#""event":"hardware_acknowledged""#),
        "the transcript does not record the network card and its acknowledgement: {first}"
    );
    println!(
        "transcript records the boot files ({}), the card and the witness's acknowledgement",
        boot_files.len()
    );

    let size = std::fs::metadata(&disk)?.len();
    println!("image-test: ok");
    println!(
        "  image {} ({:.1} MiB)",
        disk.display(),
        size as f64 / 1048576.0
    );
    println!(
        "  Secure Boot (OVMF, Microsoft's keys, the raw image as a USB stick) to the launcher: {:.1} s",
        uefi.as_secs_f64()
    );
    println!(
        "  Secure Boot drill copy to the clock screen (TCG, -smp 2): {:.1} s",
        boot_to_tui.as_secs_f64()
    );
    println!("  boot manifest sha256 {manifest_hash}");
    println!(
        "  whole test (with the host side): {:.0} s",
        test_started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// OVMF's Secure Boot build and variables with Microsoft's keys enrolled
/// and Secure Boot on (Debian's `ovmf`): what stock laptops ship.
const SECURE_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.ms.fd";
const SECURE_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";

/// The qemu command line that boots `disk` as a USB stick under OVMF with
/// Secure Boot enforced (SMM, secure flash), `extra` appended. Each boot
/// gets a fresh copy of the variables beside `disk`.
fn secure_boot_qemu(disk: &Path, extra: &[String]) -> String {
    let vars = disk.with_extension("vars.fd");
    let copied = std::fs::copy(SECURE_VARS, &vars);
    if let Err(e) = copied {
        // qemu then fails to start and the wait says so; name the cause.
        println!("warning: copying {SECURE_VARS}: {e}");
    }
    format!(
        "qemu-system-x86_64 -machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on \
         -accel tcg -smp 2 -m 1024 -nic none -display none -monitor none -serial stdio -no-reboot \
         -drive if=pflash,format=raw,readonly=on,file={} \
         -drive if=pflash,format=raw,file={} \
         -device qemu-xhci,id=xhci \
         -drive if=none,id=boot,format=raw,snapshot=on,file={} \
         -device usb-storage,bus=xhci.0,drive=boot,removable=on,bootindex=0 {}",
        quote(Path::new(SECURE_CODE)),
        quote(&vars),
        quote(disk),
        extra.join(" "),
    )
}

/// Boots `tuf-ceremony.img` as built under Secure Boot until the launcher
/// offers the ceremony on the serial console (it runs on tty1, the image's
/// primary console); checks that /init hashed the boot partition and found
/// the build's manifest, and that only `lo` is up. Returns the time taken.
fn boot_secure_pristine(disk: &Path, work: &Path, manifest_hash: &str) -> Result<Duration> {
    ensure!(
        Path::new(SECURE_CODE).exists() && Path::new(SECURE_VARS).exists(),
        "no Secure Boot OVMF ({SECURE_CODE}, {SECURE_VARS}): install Debian's ovmf"
    );
    let log = work.join("serial-uefi.log");
    let qemu = secure_boot_qemu(disk, &[]);
    println!("==> booting tuf-ceremony.img under Secure Boot: {qemu}");
    let started = Instant::now();
    let ui = Tmux::start(&qemu, &log)?;
    ui.wait_for("press Enter to run the ceremony on this console", 900)?;
    let took = started.elapsed();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let interfaces = text
        .lines()
        .find_map(|l| l.split("network interfaces: ").nth(1))
        .map(|rest| rest.trim().to_owned());
    ensure!(
        interfaces.as_deref() == Some("lo"),
        "Secure Boot: network interfaces {interfaces:?}, not just lo; serial log: {}",
        log.display()
    );
    ensure!(
        text.contains(&format!("boot manifest sha256 {manifest_hash}")),
        "Secure Boot: /init did not report the build's boot manifest {manifest_hash}; serial log: {}",
        log.display()
    );
    println!(
        "Secure Boot: the image reached the launcher in {:.1} s, boot manifest {manifest_hash}, network interfaces: lo",
        took.as_secs_f64()
    );
    // The ceremony itself runs on tty1, the image's primary console.
    ui.keys(&["Enter"])?;
    ui.wait_for("the ceremony is already running on another console", 60)?;
    println!("Secure Boot: the ceremony runs on tty1");
    Ok(took)
}

/// Copies `path` off the boot partition of `disk` (at 1 MiB) to `dest`.
fn esp_copy_out(disk: &Path, path: &str, dest: &Path) -> Result<()> {
    step(
        &format!("reading {path} from the boot partition"),
        Command::new("mcopy")
            .arg("-n")
            .arg("-i")
            .arg(format!("{}@@1M", disk.display()))
            .arg(format!("::/{path}"))
            .arg(dest),
    )
}

/// Replaces `path` on the boot partition of `disk` with `src`.
fn esp_copy_in(disk: &Path, src: &Path, path: &str) -> Result<()> {
    step(
        &format!("writing {path} onto the boot partition of the copy"),
        Command::new("mcopy")
            .arg("-o")
            .arg("-i")
            .arg(format!("{}@@1M", disk.display()))
            .arg(src)
            .arg(format!("::/{path}")),
    )
}

/// Hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// The first row of a digest as the screens group it: eight groups of four.
fn first_row(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .take(8)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Highlights the token labelled `who`, types the PIN. The token list
/// scrolls (entries below the fold show as "▼ N more below"), so the
/// highlight is moved down until it is on `who`'s token.
fn sign_as(ui: &Tmux, who: &str, pin: &str) -> Result<()> {
    let label = format!("token \"{who}\"");
    let highlighted = |s: &str| s.lines().find(|l| l.starts_with("> ")).map(str::to_owned);
    let on_target = |s: &str| highlighted(s).is_some_and(|l| l.contains(&label));
    let mut screen = ui.wait_for("Next keyholder", 120)?;
    for _ in 0..12 {
        if on_target(&screen) {
            break;
        }
        let before = highlighted(&screen);
        ui.keys(&["Down"])?;
        screen = ui.wait_until("the highlight to move", 30, |s| highlighted(s) != before)?;
    }
    ensure!(
        on_target(&screen),
        "could not highlight {who}'s token:\n{screen}"
    );
    ui.keys(&["Enter"])?;
    ui.wait_for("Type your PIN", 120)?;
    ui.type_text(pin)?;
    ui.keys(&["Enter"])
}

/// A FAT stick image labelled TUFSTICK with the drill's stick, its SoftHSM2
/// tokens under `drill/tokens` and a `drill/softhsm2.conf` pointing at
/// where the guest sees them.
fn make_stick(drill: &Path, stick: &Path) -> Result<()> {
    step(
        "formatting the virtual stick (FAT, TUFSTICK)",
        Command::new("mkfs.vfat")
            .args(["-n", "TUFSTICK", "-C"])
            .arg(stick)
            .arg("65536"),
    )?;
    let mut copy = Command::new("mcopy");
    copy.arg("-s").arg("-i").arg(stick);
    for entry in std::fs::read_dir(drill.join("stick"))? {
        copy.arg(entry?.path());
    }
    copy.arg("::/");
    step("copying the staged rotation to the stick", &mut copy)?;
    let conf = drill.join("guest-softhsm2.conf");
    std::fs::write(
        &conf,
        "directories.tokendir = /media/TUFSTICK/drill/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
    )?;
    step(
        "copying the drill tokens to the stick",
        Command::new("mmd").arg("-i").arg(stick).arg("::/drill"),
    )?;
    step(
        "copying the drill tokens to the stick",
        Command::new("mcopy")
            .arg("-s")
            .arg("-i")
            .arg(stick)
            .arg(drill.join("tokens"))
            .arg("::/drill/tokens"),
    )?;
    step(
        "copying the guest's softhsm2.conf to the stick",
        Command::new("mcopy")
            .arg("-i")
            .arg(stick)
            .arg(&conf)
            .arg("::/drill/softhsm2.conf"),
    )
}

/// A private tmux server (80×24) running qemu, its pane mirrored to a log:
/// the shared `tmux-driver`, with errors as anyhow and the wait stopped as
/// soon as qemu exits.
struct Tmux(tmux_driver::Tmux);

impl Tmux {
    fn start(shell_command: &str, log: &Path) -> Result<Tmux> {
        let window = tmux_driver::Window {
            shell_command,
            width: 80,
            height: 24,
            exit_label: "qemu exited",
            env: &[("LANG", "C.UTF-8")],
        };
        let tmux = tmux_driver::Tmux::start("tuf-image", &window)?;
        tmux.pipe_to(log)?;
        Ok(Tmux(tmux))
    }

    fn keys(&self, keys: &[&str]) -> Result<()> {
        Ok(self.0.keys(keys)?)
    }

    fn type_text(&self, text: &str) -> Result<()> {
        Ok(self.0.type_text(text)?)
    }

    fn screen(&self) -> Result<String> {
        Ok(self.0.screen()?)
    }

    /// Waits up to `seconds` until the screen satisfies `ready`.
    fn wait_until(&self, what: &str, seconds: u64, ready: impl Fn(&str) -> bool) -> Result<String> {
        let timeout = Duration::from_secs(seconds);
        Ok(self
            .0
            .wait_until(what, timeout, Duration::from_millis(250), true, ready)?)
    }

    fn wait_for(&self, text: &str, seconds: u64) -> Result<String> {
        self.wait_until(&format!("{text:?}"), seconds, |s| s.contains(text))
    }
}

/// The commit time of HEAD, for `SOURCE_DATE_EPOCH`.
fn source_date_epoch(root: &Path) -> Result<String> {
    if let Ok(given) = std::env::var("SOURCE_DATE_EPOCH") {
        return Ok(given);
    }
    let out = Command::new("git")
        .current_dir(root)
        .args(["log", "-1", "--format=%ct"])
        .output()
        .context("running git log for SOURCE_DATE_EPOCH")?;
    let epoch = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    ensure!(
        out.status.success() && !epoch.is_empty(),
        "git log -1 gave no commit time: set SOURCE_DATE_EPOCH"
    );
    Ok(epoch)
}

/// `env VAR=… ` as root: directly, or through `sudo -n` (the build needs
/// root for mmdebstrap's chroot and device nodes).
fn as_root(vars: &[(&str, &str)]) -> Result<Command> {
    let mut cmd = if deps::is_root()? {
        Command::new("env")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "env"]);
        sudo
    };
    for (k, v) in vars {
        cmd.arg(format!("{k}={v}"));
    }
    Ok(cmd)
}

/// Runs `cmd`, returns its stdout; its failure is an error with the output.
fn output(cmd: &mut Command) -> Result<String> {
    let shown = crate::show(cmd);
    println!("==> {shown}");
    let out = cmd
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "`{shown}` failed ({}):\n{text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(text)
}

/// A path as one single-quoted shell word.
fn quote(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', "'\\''"))
}
