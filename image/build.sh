#!/bin/bash
# Builds the tuf-ceremony offline image: a Debian 12 root in one initramfs,
# booted under Secure Boot with the firmware's stock keys: Debian's
# Microsoft-signed shim, Debian's signed GRUB and Debian's signed kernel, from
# the ESP of a raw GPT disk (docs/image.md says what that chain covers).
# Called by `cargo xtask image` (which installs the tools, builds the release
# binaries and sets SOURCE_DATE_EPOCH); runs as root, mounts nothing.
#
#   image/build.sh --out <dir> --bin <dir with ceremony and tuf-repo> [--update-lock]
#
# Outputs in <dir>: tuf-ceremony.img (+ .sha256), vmlinuz, initrd.img,
# cmdline.txt, boot-files.sha256, manifest.txt, and tuf-ceremony.uki.efi (an
# unsigned unified kernel image, for an organisation that signs its own).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="" bin="" update_lock=0 allow_drift=0 pinned=""
while [ $# -gt 0 ]; do
    case $1 in
        --out) out=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        --update-lock) update_lock=1; shift ;;
        # The CI boot test: a Debian update that moved a package on the
        # mirror must not turn the test suite red; the difference is shown
        # and the image is marked as not the locked one.
        --allow-lock-drift) allow_drift=1; shift ;;
        # The organisation's published root, pinned on the image: the
        # appliance refuses a stick whose history does not contain it.
        --pinned-root) pinned=$2; shift 2 ;;
        *) echo "usage: $0 --out <dir> --bin <dir> [--update-lock | --allow-lock-drift]" >&2; exit 2 ;;
    esac
done
[ -n "$out" ] && [ -n "$bin" ] || { echo "usage: $0 --out <dir> --bin <dir> [--update-lock]" >&2; exit 2; }
: "${SOURCE_DATE_EPOCH:?set SOURCE_DATE_EPOCH (cargo xtask image takes it from the last commit)}"
export SOURCE_DATE_EPOCH LC_ALL=C TZ=UTC
umask 022

lock=$here/packages.lock
sources=${TUF_IMAGE_SOURCES:-/etc/apt/sources.list.d/debian.sources}
work=$out/work
root=$work/root
mkdir -p "$out"
rm -rf "$work"
mkdir -p "$work"
say() { printf '==> %s\n' "$*"; }

# --- 1. The root file system, from Debian 12 through apt's mirror ----------
# Only what the appliance needs: no init system, no network tools (nothing
# in the essential set configures a network; the check below makes sure).
packages=(
    # usr-is-merged rather than usrmerge, which would pull in perl.
    usr-is-merged mount linux-image-amd64 tiny-initramfs kmod udev
    pcscd libccid ykcs11 opensc-pkcs11 softhsm2
)
dpkgopts=(
    # Documentation and translations: not needed offline (copyrights kept).
    'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright'
    'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*'
    'path-exclude=/usr/share/locale/*' 'path-exclude=/usr/share/lintian/*'
    # Kernel modules: only storage, USB, input and file systems for sticks.
    # Everything else, and above all drivers/net, wireless and bluetooth
    # (kernel/net), stays out. The /lib form matters: /usr/lib matches nothing.
    'path-exclude=/lib/modules/*/kernel/*'
    'path-include=/lib/modules/*/kernel/drivers/usb/*'
    'path-include=/lib/modules/*/kernel/drivers/hid/*'
    'path-include=/lib/modules/*/kernel/drivers/input/*'
    'path-include=/lib/modules/*/kernel/drivers/scsi/*'
    'path-include=/lib/modules/*/kernel/drivers/ata/*'
    'path-include=/lib/modules/*/kernel/drivers/nvme/*'
    'path-include=/lib/modules/*/kernel/drivers/mmc/*'
    'path-include=/lib/modules/*/kernel/drivers/cdrom/*'
    'path-include=/lib/modules/*/kernel/drivers/block/*'
    'path-include=/lib/modules/*/kernel/fs/fat/*'
    'path-include=/lib/modules/*/kernel/fs/exfat/*'
    'path-include=/lib/modules/*/kernel/fs/isofs/*'
    'path-include=/lib/modules/*/kernel/fs/nls/*'
    'path-include=/lib/modules/*/kernel/lib/*'
    'path-include=/lib/modules/*/kernel/crypto/*'
    'path-include=/lib/modules/*/kernel/block/*'
    'path-include=/lib/modules/*/kernel/arch/x86/crypto/crc*'
    'path-exclude=/lib/modules/*/kernel/drivers/net/*'
    'path-exclude=/lib/modules/*/kernel/drivers/usb/net/*'
    'path-exclude=/lib/modules/*/kernel/drivers/usb/gadget/*'
    'path-exclude=/lib/modules/*/kernel/drivers/block/drbd/*'
    'path-exclude=/lib/modules/*/kernel/drivers/block/rnbd/*'
    'path-exclude=/lib/modules/*/kernel/drivers/block/aoe/*'
    'path-exclude=/lib/modules/*/kernel/drivers/block/nbd.ko'
    'path-exclude=/lib/modules/*/kernel/drivers/scsi/fcoe/*'
    'path-exclude=/lib/modules/*/kernel/drivers/scsi/*iscsi*'
    'path-exclude=/lib/modules/*/kernel/drivers/nvme/target/*'
    'path-exclude=/lib/modules/*/kernel/drivers/nvme/host/nvme-tcp.ko'
    'path-exclude=/lib/modules/*/kernel/drivers/nvme/host/nvme-rdma.ko'
    'path-exclude=/lib/modules/*/kernel/drivers/nvme/host/nvme-fc.ko'
)
# The .debs stay in the cache until hashed below (then deleted).
args=(--variant=essential --mode=root --format=directory
      --skip=essential/unlink,cleanup/apt/cache
      --aptopt='APT::Install-Recommends "false"'
      --aptopt='APT::Keep-Downloaded-Packages "true"'
      --include="$(IFS=,; echo "${packages[*]}")")
for o in "${dpkgopts[@]}"; do args+=(--dpkgopt="$o"); done
# The essential set pulls in usrmerge (and with it perl) although the root
# is merged from the start: purge them (usr-is-merged satisfies the rest).
unwanted="usrmerge libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl perl perl-modules-5.36 libperl5.36"
args+=(--customize-hook="chroot \"\$1\" dpkg --purge $unwanted > /dev/null")
# The Secure Boot chain is downloaded, not installed: its .debs are hashed
# and locked with the rest, and only their signed EFI binaries are used.
boot_debs="shim-signed shim-helpers-amd64-signed grub-efi-amd64-signed"
# (The essential variant has no apt inside: the host's apt-get runs on the
# chroot's apt state through mmdebstrap's hook config.)
args+=(--customize-hook="cd \"\$1/var/cache/apt/archives\" && APT_CONFIG=\"\$MMDEBSTRAP_APT_CONFIG\" apt-get -q -o APT::Sandbox::User=root download $boot_debs > /dev/null")
say "mmdebstrap bookworm (${packages[*]}) from $sources"
t0=$(date +%s)
mmdebstrap --quiet "${args[@]}" bookworm "$root" "$sources"
say "root built in $(( $(date +%s) - t0 )) s"

# --- 2. The package manifest, checked against the committed lock ----------
archives=$root/var/cache/apt/archives
resolved=$work/packages.resolved
for deb in "$archives"/*.deb; do
    printf '%s %s %s %s\n' \
        "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" \
        "$(dpkg-deb -f "$deb" Architecture)" "$(sha256sum "$deb" | cut -d' ' -f1)"
done | sort > "$resolved"
# Every installed package must have come from a .deb we hashed.
dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${db:Status-Abbrev} ${Package} ${Version}\n' \
    | awk '$1 == "ii" { print $2, $3 }' | sort > "$work/installed"
awk '{ print $1, $2 }' "$resolved" | sort > "$work/hashed"
if [ -n "$(comm -13 "$work/hashed" "$work/installed")" ]; then
    echo "error: installed packages that were not among the downloaded .debs:" >&2
    comm -13 "$work/hashed" "$work/installed" >&2
    exit 1
fi
header="# name version architecture sha256 of the .deb: the Debian 12 packages of the
# tuf-ceremony image. Written by \`cargo xtask image --update-lock\`; every
# other build fails if what apt resolves differs from this list."
if [ "$update_lock" = 1 ]; then
    { echo "$header"; cat "$resolved"; } > "$lock"
    say "wrote $lock ($(wc -l < "$resolved") packages)"
elif [ ! -f "$lock" ]; then
    echo "error: $lock is missing: run \`cargo xtask image --update-lock\` once and commit it" >&2
    exit 1
elif ! diff -u <(grep -v '^#' "$lock") "$resolved" > "$work/lock.diff"; then
    if [ "$allow_drift" = 1 ]; then
        echo "warning: the packages apt resolved differ from image/packages.lock" \
             "(- locked, + resolved now); building anyway for the boot test:" \
             "this image is NOT the locked one and must not be used for a ceremony" >&2
        grep '^[-+][^-+]' "$work/lock.diff" >&2
    else
        echo "error: the packages apt resolved differ from image/packages.lock" \
             "(- locked, + resolved now):" >&2
        grep '^[-+][^-+]' "$work/lock.diff" >&2
        echo "if the change is expected (a Debian point release), review it and run" \
             "\`cargo xtask image --update-lock\`, then commit the lock" >&2
        exit 1
    fi
else
    say "packages match image/packages.lock ($(wc -l < "$resolved") packages)"
fi
for p in iproute2 ifupdown isc-dhcp-client dhcpcd-base network-manager systemd-resolved \
         wpasupplicant openssh-server openssh-client bluez wireless-tools iw; do
    if grep -q "^$p " "$resolved"; then
        echo "error: network package $p is in the image" >&2
        exit 1
    fi
done

# --- 3. Our files -----------------------------------------------------------
kver=$(basename "$(ls -d "$root"/lib/modules/*)")
cp "$root/boot/vmlinuz-$kver" "$work/vmlinuz"
mkdir -p "$work/boot-debs"
for p in $boot_debs; do
    deb=$(ls "$archives/${p}_"*.deb 2>/dev/null | head -n1)
    [ -n "$deb" ] || { echo "error: $p was not downloaded (Secure Boot chain)" >&2; exit 1; }
    dpkg-deb -x "$deb" "$work/boot-debs"
done
shim=$work/boot-debs/usr/lib/shim/shimx64.efi.signed
mokmanager=$work/boot-debs/usr/lib/shim/mmx64.efi.signed
grub=$work/boot-debs/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
for f in "$shim" "$mokmanager" "$grub"; do
    [ -f "$f" ] || { echo "error: $f is not in the Secure Boot packages" >&2; exit 1; }
done
grep -q '^CONFIG_RD_ZSTD=y' "$root/boot/config-$kver" && compress=zstd || compress=gzip
find "$root/lib/modules/$kver/kernel" -type d -empty -delete
if find "$root/lib/modules/$kver/kernel" -type f -path '*/drivers/net/*' -o -type f -path '*/kernel/net/*' | grep -q .; then
    echo "error: network kernel modules are in the image" >&2
    exit 1
fi
rm -rf "$root/boot" "$root"/vmlinuz* "$root"/initrd.img* "$archives"/*.deb "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
       "$root"/var/log/* "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old \
       "$root"/etc/*- "$root/var/cache/ldconfig/aux-cache" "$root/etc/machine-id" \
       "$root/var/lib/dbus/machine-id" "$root"/usr/lib/udev/hwdb.d/*
install -m 0755 "$bin/ceremony" "$bin/tuf-repo" "$root/usr/local/bin/"
install -m 0755 "$here/init" "$root/init"
install -m 0755 "$here/launcher" "$root/usr/local/sbin/tuf-launcher"
install -m 0755 "$here/media-mount" "$root/usr/local/sbin/tuf-media"
install -m 0644 "$here/rootfs/90-tuf-media.rules" "$root/etc/udev/rules.d/"
install -m 0644 "$here/rootfs/offline.conf" "$root/etc/modprobe.d/tuf-ceremony-offline.conf"
echo tuf-ceremony > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 tuf-ceremony\n' > "$root/etc/hosts"
mkdir -p "$root/media" "$root/etc/tuf-ceremony" "$root/usr/local/share/tuf-ceremony/hsm-profiles"
install -m 0644 "$here"/../hsm-profiles/*.toml "$root/usr/local/share/tuf-ceremony/hsm-profiles/"
if [ -n "$pinned" ]; then
    # Only a root that verifies by itself is pinned (our client's init checks it).
    check=$(mktemp -d)
    "$bin/tuf-repo" client --metadata-dir "$check" init "$pinned" \
        || { echo "error: $pinned is not a valid root to pin" >&2; rm -rf "$check"; exit 1; }
    rm -rf "$check"
    install -m 0644 "$pinned" "$root/etc/tuf-ceremony/pinned-root.json"
    say "pinned root: $pinned (sha256 of the file $(sha256sum < "$pinned" | cut -d' ' -f1))"
fi
[ -e "$root/dev/console" ] || mknod -m 600 "$root/dev/console" c 5 1
[ -e "$root/dev/null" ] || mknod -m 666 "$root/dev/null" c 1 3
# Every library our binaries link must be in the image.
if chroot "$root" ldd /usr/local/bin/ceremony /usr/local/bin/tuf-repo | grep 'not found'; then
    echo "error: the image lacks libraries the binaries need" >&2
    exit 1
fi
chroot "$root" depmod -a "$kver"

# --- 4. The initramfs: the whole root, deterministic -------------------------
find "$root" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch -h -d "@$SOURCE_DATE_EPOCH"
say "initramfs ($compress) from $(du -sm "$root" | cut -f1) MiB"
(cd "$root" && find . -mindepth 1 -printf '%P\n' | sort | cpio --quiet -o -H newc --reproducible -R 0:0) \
    > "$work/initrd.cpio"
case $compress in
    zstd) zstd -q -T1 -12 -f "$work/initrd.cpio" -o "$work/initrd.img" ;;
    gzip) gzip -n -9 -c "$work/initrd.cpio" > "$work/initrd.img" ;;
esac
rm "$work/initrd.cpio"

# --- 5. The boot partition: shim -> GRUB -> kernel + initramfs -------------
cmdline="console=ttyS0,115200 console=tty1 ipv6.disable=1 quiet loglevel=3"
printf '%s' "$cmdline" > "$work/cmdline.txt"
# An unsigned unified kernel image (systemd-boot's stub + kernel + initramfs
# + command line), not on the disk: an organisation that enrols its own key
# with MOK signs it and puts it in place of grubx64.efi (docs/image.md).
printf 'NAME="tuf-ceremony"\nID=tuf-ceremony\nID_LIKE=debian\nPRETTY_NAME="tuf-ceremony offline appliance (Debian 12)"\nVERSION_ID=%s\n' \
    "$SOURCE_DATE_EPOCH" > "$work/os-release"
stub=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
uki=$work/tuf-ceremony.uki.efi
objcopy \
    --add-section .osrel="$work/os-release" --change-section-vma .osrel=0x20000 \
    --add-section .cmdline="$work/cmdline.txt" --change-section-vma .cmdline=0x30000 \
    --add-section .linux="$work/vmlinuz" --change-section-vma .linux=0x2000000 \
    --add-section .initrd="$work/initrd.img" --change-section-vma .initrd=0x3000000 \
    "$stub" "$uki"
# objcopy stamps the build time into the COFF header: use SOURCE_DATE_EPOCH.
pe=$(od -An -tu4 -j60 -N4 "$uki" | tr -d ' ')
e=$SOURCE_DATE_EPOCH
printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((e & 255)) $((e >> 8 & 255)) $((e >> 16 & 255)) $((e >> 24 & 255)))" \
    | dd of="$uki" bs=1 seek=$((pe + 8)) conv=notrunc status=none
# ... and a checksum over that header into the optional header: zero it
# (UEFI does not check it; 0 means "no checksum").
printf '\0\0\0\0' | dd of="$uki" bs=1 seek=$((pe + 24 + 64)) conv=notrunc status=none

# GRUB boots at once. A superuser with no password means nobody at the
# keyboard can edit the entry (the kernel command line) or reach GRUB's
# shell; the entry itself is unrestricted. Under Secure Boot GRUB has the
# kernel verified by shim; the initramfs and this file are not verified,
# which the boot manifest below (checked by /init, shown to the witness)
# makes visible instead.
cat > "$work/grub.cfg" <<GRUB
set timeout=0
set default=0
set superusers="tuf-ceremony"
menuentry "tuf-ceremony" --unrestricted {
    linux /vmlinuz $cmdline
    initrd /initrd.img
}
GRUB
esp=$work/esp
mkdir -p "$esp/EFI/BOOT" "$esp/EFI/debian" "$esp/EFI/tuf-ceremony"
# shim as the removable-media loader; it starts grubx64.efi beside it (no
# fbx64.efi: the fallback loader would write boot entries into the
# laptop's firmware). mmx64.efi is shim's MOK manager.
cp "$shim" "$esp/EFI/BOOT/BOOTX64.EFI"
cp "$grub" "$esp/EFI/BOOT/grubx64.efi"
cp "$mokmanager" "$esp/EFI/BOOT/mmx64.efi"
cp "$work/grub.cfg" "$esp/EFI/debian/grub.cfg"
cp "$work/vmlinuz" "$esp/vmlinuz"
cp "$work/initrd.img" "$esp/initrd.img"
boot_files="EFI/BOOT/BOOTX64.EFI EFI/BOOT/grubx64.efi EFI/BOOT/mmx64.efi EFI/debian/grub.cfg vmlinuz initrd.img"
# The boot manifest: what /init compares the boot partition with, and the
# one hash the witness compares with the published one.
(cd "$esp" && sha256sum $boot_files) > "$work/boot-files.sha256"
cp "$work/boot-files.sha256" "$esp/EFI/tuf-ceremony/boot-files.sha256"
find "$esp" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

esp_kib=$(du -sk --apparent-size "$esp" | cut -f1)
esp_mib=$(( (esp_kib / 1024 * 11 / 10 + 16 + 7) / 8 * 8 ))
[ "$esp_mib" -ge 64 ] || esp_mib=64
rm -f "$work/esp.img"
mkfs.vfat --invariant -i 54554643 -n TUF-BOOT -C "$work/esp.img" $((esp_mib * 1024)) > /dev/null
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT ::/EFI/debian ::/EFI/tuf-ceremony
for f in $boot_files EFI/tuf-ceremony/boot-files.sha256; do
    mcopy -m -i "$work/esp.img" "$esp/$f" "::/$f"
done
disk=$work/tuf-ceremony.img
rm -f "$disk"
truncate -s $(( (esp_mib + 2) * 1048576 )) "$disk"
sfdisk --quiet --no-reread --no-tell-kernel "$disk" <<EOF
label: gpt
label-id: 7475662D-6365-7265-6D6F-6E7900000001
unit: sectors
first-lba: 2048
start=2048, size=$((esp_mib * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=7475662D-6365-7265-6D6F-6E7900000002, name="TUF-BOOT"
EOF
dd if="$work/esp.img" of="$disk" bs=1M seek=1 conv=notrunc status=none

# --- 6. Outputs --------------------------------------------------------------
for f in tuf-ceremony.img vmlinuz initrd.img tuf-ceremony.uki.efi cmdline.txt boot-files.sha256; do
    mv -f "$work/$f" "$out/$f"
done
(cd "$out" && sha256sum tuf-ceremony.img > tuf-ceremony.img.sha256)
{
    echo "# tuf-ceremony image, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH, kernel $kver"
    echo "# files (sha256); boot-files.sha256 is the boot manifest the clock screen shows"
    (cd "$out" && sha256sum tuf-ceremony.img boot-files.sha256 vmlinuz initrd.img tuf-ceremony.uki.efi)
    echo "# the boot partition (boot-files.sha256)"
    sed 's/^/#   /' "$out/boot-files.sha256"
    (cd "$bin" && sha256sum ceremony tuf-repo)
    echo "# Debian packages installed: name version architecture sha256 of the .deb"
    awk 'NR == FNR { keep[$1 " " $2] = 1; next } ($1 " " $2) in keep' "$work/installed" "$resolved"
    echo "# downloaded with the essential set, then purged: $unwanted"
    echo "# downloaded for the boot partition (signed EFI binaries only): $boot_debs"
    for p in $boot_debs; do grep "^$p " "$resolved"; done
} > "$out/manifest.txt"
rm -rf "$work"
say "image: $out/tuf-ceremony.img ($(du -m --apparent-size "$out/tuf-ceremony.img" | cut -f1) MiB)" \
    "sha256 $(cut -d' ' -f1 "$out/tuf-ceremony.img.sha256")"
say "boot manifest (shown on the clock screen): sha256 $(sha256sum < "$out/boot-files.sha256" | cut -d' ' -f1)"
