#!/bin/bash
# Build the Overcast guest (our CirrOS) offline from Debian packages.
#
#   guest/build.sh OUT_DIR
#
# Produces in OUT_DIR:
#   overcast-guest.qcow2          partitioned disk (MBR, SYSLINUX on a vfat /boot, ext4 root)
#   overcast-guest-vmlinuz        kernel  (AKI)  \
#   overcast-guest-initrd         ramdisk (ARI)   > the same system as a triple
#   overcast-guest-root.img       raw ext4 root file system (AMI, root=/dev/vda)
#   manifest.json                 package versions and sha256 of each file
#
# Needs: apt-get (package lists updated), dpkg-deb, kmod (depmod, modprobe), cpio, gzip,
# binutils (readelf), e2fsprogs, dosfstools, mtools, syslinux, syslinux-common, fdisk
# (sfdisk), qemu-utils. Run as root so that file owners in the root file system are right.
# Downloaded .debs are kept in $OVERCAST_DEB_CACHE (default ~/.cache/overcast/debs).
# Reproducible: every timestamp, salt, UUID and label id is fixed (GUEST_NOTES pitfall 11),
# so the same package versions give byte-identical outputs.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "$1")
mkdir -p "$out"
debs=${OVERCAST_DEB_CACHE:-$HOME/.cache/overcast/debs}
mkdir -p "$debs"

export SOURCE_DATE_EPOCH=1700000000
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
export TZ=UTC LC_ALL=C
ROOT_UUID=0c0ffee0-0000-4000-8000-0000000000aa
PASSWORD=overcast
SALT=overcastguest01

work=$(mktemp -d "${TMPDIR:-/tmp}/overcast-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT

for tool in apt-get apt-cache dpkg-deb depmod modprobe cpio gzip readelf mke2fs debugfs mkfs.vfat \
    mcopy syslinux sfdisk qemu-img; do
    command -v "$tool" >/dev/null || { echo "guest build: $tool not found (see scripts/apt-packages.txt)" >&2; exit 1; }
done
mbr=/usr/lib/syslinux/mbr/mbr.bin
[ -f "$mbr" ] || { echo "guest build: $mbr not found (install syslinux-common)" >&2; exit 1; }

# --- 1. Packages: resolve versions, download what the cache lacks, unpack. ---------------
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || { echo "guest build: cannot resolve linux-image-cloud-amd64 (run apt-get update)" >&2; exit 1; }
pkgs=$(grep -v '^#' "$here/packages.txt" | sed "s/^linux-image-cloud-amd64\$/$kpkg/")
mkdir -p "$work/pkgs"
versions=()
for pkg in $pkgs; do
    ver=$(apt-cache show --no-all-versions "$pkg" | sed -n 's/^Version: //p' | head -n1)
    [ -n "$ver" ] || { echo "guest build: package $pkg not found" >&2; exit 1; }
    deb="$debs/${pkg}_${ver//:/%3a}_$(dpkg --print-architecture).deb"
    [ -f "$deb" ] || deb="$debs/${pkg}_${ver//:/%3a}_all.deb"
    if [ ! -f "$deb" ]; then
        (cd "$debs" && apt-get -o DPkg::Lock::Timeout=300 download "$pkg=$ver" >/dev/null 2>&1) ||
            { echo "guest build: apt-get download $pkg=$ver failed" >&2; exit 1; }
        deb=$(ls "$debs/${pkg}_${ver//:/%3a}"_*.deb | head -n1)
    fi
    dpkg-deb -x "$deb" "$work/pkgs"
    versions+=("$pkg=$ver")
done
P=$work/pkgs
kver=$(ls "$P/lib/modules")

# --- 2. The system tree (initramfs and root file system share it). ----------------------
T=$work/tree
mkdir -p "$T"
cp -a "$here/rootfs/." "$T/"
find "$T" -name .keep -delete
# root/ is made here: git keeps no empty directory, and the chmod below needs it.
mkdir -p "$T"/{bin,sbin,usr/bin,usr/sbin,lib/x86_64-linux-gnu,proc,sys,dev,run,tmp,newroot,var/lib,mnt,root}
ln -sfn ../run "$T/var/run"
ln -sfn lib "$T/lib64"
chmod 1777 "$T/tmp"

install -m 0755 "$P/bin/busybox" "$T/bin/busybox"
for applet in $("$P/bin/busybox" --list-full); do
    [ -e "$T/$applet" ] || [ -L "$T/$applet" ] || ln -s /bin/busybox "$T/$applet"
done
install -m 0755 "$P/usr/sbin/dropbear" "$T/usr/sbin/dropbear"
install -m 0755 "$P/usr/bin/dropbearkey" "$T/usr/bin/dropbearkey"
install -m 0755 "$P/sbin/resize2fs" "$T/sbin/resize2fs"

# Shared libraries: follow DT_NEEDED from the dynamic binaries through the unpacked packages.
libdirs=("$P/lib/x86_64-linux-gnu" "$P/usr/lib/x86_64-linux-gnu")
queue=("$T/usr/sbin/dropbear" "$T/usr/bin/dropbearkey" "$T/sbin/resize2fs")
declare -A seen=()
while [ ${#queue[@]} -gt 0 ]; do
    bin=${queue[0]}
    queue=("${queue[@]:1}")
    for lib in $(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
        [ -n "${seen[$lib]:-}" ] && continue
        seen[$lib]=1
        found=""
        for d in "${libdirs[@]}"; do
            [ -e "$d/$lib" ] && found="$d/$lib" && break
        done
        [ -n "$found" ] || { echo "guest build: library $lib not in the packages" >&2; exit 1; }
        cp -L "$found" "$T/lib/x86_64-linux-gnu/$lib"
        queue+=("$T/lib/x86_64-linux-gnu/$lib")
    done
done
cp -L "$P/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$T/lib/x86_64-linux-gnu/"
mkdir -p "$T/lib/x86_64-linux-gnu" && ln -sfn x86_64-linux-gnu/ld-linux-x86-64.so.2 "$T/lib/ld-linux-x86-64.so.2"

# Kernel modules: the listed ones and their dependencies, in load order.
K=$work/kmods
mkdir -p "$K/lib/modules"
cp -a "$P/lib/modules/$kver" "$K/lib/modules/"
depmod -b "$K" "$kver"
mdir=$T/lib/modules/$kver
mkdir -p "$mdir"
: >"$mdir/overcast.load"
for mod in $(grep -v '^#' "$here/modules.txt"); do
    modprobe -d "$K" -S "$kver" --show-depends "$mod" | while read -r kind path _; do
        [ "$kind" = insmod ] || continue
        rel=${path#"$K/lib/modules/$kver/"}
        grep -qxF "$rel" "$mdir/overcast.load" && continue
        mkdir -p "$mdir/$(dirname "$rel")"
        cp "$path" "$mdir/$rel"
        echo "$rel" >>"$mdir/overcast.load"
    done
done
cp "$P/lib/modules/$kver"/modules.{builtin,builtin.modinfo,order} "$mdir/"
depmod -b "$T" "$kver"

# Accounts: one fixed salt so that the image is reproducible.
hash=$("$P/bin/busybox" mkpasswd -m sha512 -S "$SALT" "$PASSWORD")
printf 'root:%s:19000:0:99999:7:::\novercast:%s:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n' \
    "$hash" "$hash" >"$T/etc/shadow"
chmod 600 "$T/etc/shadow"
bbver=$(dpkg-deb -f "$debs"/busybox-static_*.deb Version 2>/dev/null | tail -n1)
dbver=$(printf '%s\n' "${versions[@]}" | sed -n 's/^dropbear-bin=//p')
echo "Overcast guest 0.1 (kernel $kver, busybox $bbver, dropbear $dbver)" >"$T/etc/overcast-release"
if [ "$(id -u)" = 0 ]; then
    chown -R 0:0 "$T"
    chown -R 1000:1000 "$T/home/overcast"
    chmod 700 "$T/home/overcast" "$T/home/overcast/.ssh" "$T/root"
fi
find "$T" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# --- 3. Kernel + ramdisk + root (AKI/ARI/AMI). --------------------------------------------
install -m 0644 "$P/boot/vmlinuz-$kver" "$work/vmlinuz"
(cd "$T" && find . ! -path ./newroot/\* | sort | cpio --quiet --reproducible -o -H newc -R 0:0) |
    gzip -9 -n >"$work/initrd"
root_mb=64
find "$T" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mke2fs -q -F -t ext4 -b 4096 -m 0 -L overcast-root -U "$ROOT_UUID" \
    -E "hash_seed=$ROOT_UUID,lazy_itable_init=0,lazy_journal_init=0" \
    -d "$T" "$work/root.img" "${root_mb}M" >/dev/null
# mke2fs -d copies each file's ctime, which no tool can set on the source: pin it (and the
# creation time) inside the image with debugfs.
(cd "$T" && find . -mindepth 1 | sort | sed 's|^\.||') | while read -r path; do
    printf 'sif "%s" ctime @%s\nsif "%s" crtime @%s\n' "$path" "$SOURCE_DATE_EPOCH" "$path" "$SOURCE_DATE_EPOCH"
done >"$work/debugfs.cmds"
printf 'sif / ctime @%s\nsif / crtime @%s\n' "$SOURCE_DATE_EPOCH" "$SOURCE_DATE_EPOCH" >>"$work/debugfs.cmds"
debugfs -w -f "$work/debugfs.cmds" "$work/root.img" >/dev/null 2>&1

# --- 4. Partitioned disk: MBR + SYSLINUX on vfat (kernel, initrd), ext4 root. ------------
boot_mb=32
cat >"$work/syslinux.cfg" <<EOF
DEFAULT overcast
PROMPT 0
TIMEOUT 0
LABEL overcast
  KERNEL /vmlinuz
  INITRD /initrd
  APPEND root=LABEL=overcast-root console=tty0 console=ttyS0,115200 quiet cryptomgr.notests
EOF
mkfs.vfat --invariant -h 2048 -i 0C0FFEE0 -n OVERCASTBT -C "$work/boot.img" $((boot_mb * 1024)) >/dev/null
touch -d "@$SOURCE_DATE_EPOCH" "$work/vmlinuz" "$work/initrd" "$work/syslinux.cfg"
mcopy -m -i "$work/boot.img" "$work/vmlinuz" ::/vmlinuz
mcopy -m -i "$work/boot.img" "$work/initrd" ::/initrd
mcopy -m -i "$work/boot.img" "$work/syslinux.cfg" ::/syslinux.cfg
boot_start=2048
root_start=$((boot_start + boot_mb * 2048))
total=$((root_start + root_mb * 2048))
truncate -s $((total * 512)) "$work/disk.raw"
sfdisk -q "$work/disk.raw" <<EOF
label: dos
label-id: 0x0c0ffee0
unit: sectors
start=$boot_start, size=$((boot_mb * 2048)), type=c, bootable
start=$root_start, size=$((root_mb * 2048)), type=83
EOF
dd if="$work/boot.img" of="$work/disk.raw" bs=512 seek=$boot_start conv=notrunc status=none
dd if="$work/root.img" of="$work/disk.raw" bs=512 seek=$root_start conv=notrunc status=none
syslinux --offset $((boot_start * 512)) --install "$work/disk.raw"
dd if="$mbr" of="$work/disk.raw" bs=440 count=1 conv=notrunc status=none
qemu-img convert -q -f raw -O qcow2 -c "$work/disk.raw" "$work/overcast-guest.qcow2"

# --- 5. Publish atomically, with a manifest. ---------------------------------------------
for f in overcast-guest.qcow2:overcast-guest.qcow2 vmlinuz:overcast-guest-vmlinuz \
    initrd:overcast-guest-initrd root.img:overcast-guest-root.img; do
    cp "$work/${f%%:*}" "$out/.${f#*:}.tmp"
    mv "$out/.${f#*:}.tmp" "$out/${f#*:}"
done
{
    echo '{'
    echo "  \"kernel_release\": \"$kver\","
    echo '  "login": {"user": "overcast", "password": "overcast"},'
    echo '  "packages": {'
    printf '    "%s": "%s",\n' $(printf '%s\n' "${versions[@]}" | tr '=' ' ') | sed '$ s/,$//'
    echo '  },'
    echo '  "sha256": {'
    (cd "$out" && sha256sum overcast-guest.qcow2 overcast-guest-vmlinuz overcast-guest-initrd overcast-guest-root.img) |
        awk '{printf "    \"%s\": \"%s\",\n", $2, $1}' | sed '$ s/,$//'
    echo '  }'
    echo '}'
} >"$out/.manifest.json.tmp"
mv "$out/.manifest.json.tmp" "$out/manifest.json"
ls -l "$out" >&2
