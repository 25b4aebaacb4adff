"""Tests for overcast.image.inspection: real images made by qemu-img, fed as an upload feeds them.

Each image is checked against what `qemu-img info --output=json` says about it, so the expected
format and virtual size come from qemu, not from this module's own reading of the specs.
"""

from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from overcast.image.inspection import Inspection, InspectionError, StreamInspector, check_format
from tests.conftest import require, require_binary

KiB = 1024
MiB = 1024 * KiB

# how an upload may arrive: a byte at a time through the headers, odd sizes, big chunks, all at once
CHUNKINGS: list[int | str] = ["bytewise", 4099, 64 * KiB, MiB, "single"]


def chunked(data: bytes, chunking: int | str) -> Iterator[bytes]:
    """Split data as an upload would arrive; "bytewise" sends the first 8 KiB one byte at a time."""
    if chunking == "single":
        yield data
        return
    start = 0
    if chunking == "bytewise":
        for start in range(min(8 * KiB, len(data))):
            yield data[start : start + 1]
        start = min(8 * KiB, len(data))
        chunking = 64 * KiB
    assert isinstance(chunking, int)
    for offset in range(start, len(data), chunking):
        yield data[offset : offset + chunking]


def inspect(data: bytes, disk_format: str | None, chunking: int | str = 64 * KiB) -> Inspection:
    """Feed data through a StreamInspector and return its verdict."""
    inspector = StreamInspector(disk_format)
    for chunk in chunked(data, chunking):
        inspector.feed(chunk)
    return inspector.finish()


def refusal(data: bytes, disk_format: str | None, chunking: int | str = 64 * KiB) -> str:
    """The user-facing message of the InspectionError the data must raise."""
    with pytest.raises(InspectionError) as caught:
        inspect(data, disk_format, chunking)
    return str(caught.value)


def random_bytes(size: int, seed: int = 7) -> bytes:
    """Deterministic noise: no magic number by accident, the same on every run."""
    return random.Random(seed).randbytes(size)


class Images:
    """Builds images with the real qemu-img in one directory and asks qemu-img about them."""

    def __init__(self, qemu_img: str, root: Path) -> None:
        self.qemu_img = qemu_img
        self.root = root

    def run(self, *args: str) -> None:
        r = subprocess.run([self.qemu_img, *args], cwd=self.root, capture_output=True, text=True)
        assert r.returncode == 0, f"qemu-img {' '.join(args)}: {r.stderr}"

    def create(self, name: str, fmt: str, size: str | None, *options: str) -> Path:
        """A new image (or the one made earlier under this name); size None takes the backing's."""
        path = self.root / name
        if not path.exists():
            self.run("create", "-q", "-f", fmt, *options, name, *([size] if size else []))
        return path

    def convert(self, name: str, fmt: str, *options: str) -> Path:
        """A format image holding 3 MiB of noise, so it has allocated clusters, grains, blocks."""
        source = self.root / "noise.raw"
        if not source.exists():
            source.write_bytes(random_bytes(3 * MiB))
        path = self.root / name
        if not path.exists():
            self.run("convert", "-O", fmt, *options, source.name, name)
        return path

    def info(self, path: Path, fmt: str | None = None) -> tuple[str, int]:
        """(format, virtual size) as qemu-img reports them; qemu's "vpc" is Glance's "vhd"."""
        args = [self.qemu_img, "info", "--output=json", *(["-f", fmt] if fmt else []), path.name]
        out = subprocess.run(args, cwd=self.root, check=True, capture_output=True, text=True).stdout
        report = json.loads(out)
        return {"vpc": "vhd"}.get(report["format"], report["format"]), report["virtual-size"]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Images:
    return Images(require_binary("qemu-img"), tmp_path_factory.mktemp("images"))


# --- real images: format and virtual size agree with qemu-img -----------------------------

# id -> (build the image, the format to tell qemu-img or None to let it probe, declared disk_format)
IMAGE_CASES: dict[str, tuple[Callable[[Images], Path], str | None, str]] = {
    "qcow2": (lambda i: i.create("a.qcow2", "qcow2", "1G"), None, "qcow2"),
    "qcow2-v2": (lambda i: i.create("v2.qcow2", "qcow2", "1G", "-o", "compat=0.10"), None, "qcow2"),
    "qcow2-extended-l2": (
        lambda i: i.create("l2.qcow2", "qcow2", "1G", "-o", "extended_l2=on"),
        None,
        "qcow2",
    ),
    "qcow2-data": (lambda i: i.convert("data.qcow2", "qcow2"), None, "qcow2"),
    "vmdk-monolithicSparse": (lambda i: i.create("sparse.vmdk", "vmdk", "1G"), None, "vmdk"),
    "vmdk-streamOptimized": (
        lambda i: i.create("stream.vmdk", "vmdk", "1G", "-o", "subformat=streamOptimized"),
        None,
        "vmdk",
    ),
    "vmdk-streamOptimized-data": (
        lambda i: i.convert("stream-data.vmdk", "vmdk", "-o", "subformat=streamOptimized"),
        None,
        "vmdk",
    ),
    "vhd-dynamic": (lambda i: i.create("dynamic.vhd", "vpc", "1G"), None, "vhd"),
    "vhd-dynamic-data": (lambda i: i.convert("dynamic-data.vhd", "vpc"), None, "vhd"),
    # qemu only finds a fixed VHD's footer when told the format (vpc_probe reads the start)
    "vhd-fixed": (lambda i: i.create("fixed.vhd", "vpc", "10M", "-o", "subformat=fixed"), "vpc", "vhd"),
    "vhdx": (lambda i: i.create("a.vhdx", "vhdx", "1G"), None, "vhdx"),
    "vhdx-data": (lambda i: i.convert("data.vhdx", "vhdx"), None, "vhdx"),
    "vdi": (lambda i: i.create("a.vdi", "vdi", "1G"), None, "vdi"),
    "vdi-data": (lambda i: i.convert("data.vdi", "vdi"), None, "vdi"),
    "raw": (lambda i: i.create("a.raw", "raw", "10M"), None, "raw"),
}


@pytest.mark.parametrize("chunking", CHUNKINGS, ids=str)
@pytest.mark.parametrize("case", list(IMAGE_CASES))
def test_real_image_matches_qemu_img(images: Images, case: str, chunking: int | str) -> None:
    build, qemu_format, disk_format = IMAGE_CASES[case]
    path = build(images)
    expected_format, expected_size = images.info(path, qemu_format)

    result = inspect(path.read_bytes(), disk_format, chunking)

    assert result == Inspection(format=expected_format, virtual_size=expected_size)
    assert result.format == disk_format


@pytest.mark.parametrize("chunking", CHUNKINGS, ids=str)
def test_random_raw_matches_qemu_img(images: Images, chunking: int | str) -> None:
    path = images.root / "noise-odd.raw"
    path.write_bytes(random_bytes(3 * MiB + 123, seed=11))  # a size that is no multiple of anything

    result = inspect(path.read_bytes(), "raw", chunking)

    # Glance sizes raw by its bytes; qemu rounds up to whole 512-byte sectors
    assert result == Inspection("raw", 3 * MiB + 123)
    assert images.info(path) == ("raw", 3 * MiB + 512)


def test_vhdx_metadata_is_captured_beyond_the_buffered_head(images: Images) -> None:
    path = images.create("a.vhdx", "vhdx", "1G")
    data = path.read_bytes()
    assert _vhdx_metadata_offset(data) >= 2 * MiB  # qemu places it past the first MiB the inspector keeps

    assert inspect(data, "vhdx", MiB).virtual_size == 1 * 1024 * MiB


def test_vhdx_cut_before_its_metadata_has_unknown_virtual_size(images: Images) -> None:
    data = images.create("a.vhdx", "vhdx", "1G").read_bytes()

    assert inspect(data[: 2 * MiB], "vhdx") == Inspection("vhdx", None)


def _vhdx_metadata_offset(data: bytes) -> int:
    """Where the region table (at 192 KiB) puts the metadata region."""
    table = data[0x30000 : 0x30000 + 64 * KiB]
    (count,) = struct.unpack_from("<I", table, 8)
    for i in range(count):
        entry = table[16 + 32 * i : 48 + 32 * i]
        if entry[:4] == bytes.fromhex("06a27c8b"):  # the metadata region GUID, little-endian first field
            return int(struct.unpack_from("<Q", entry, 16)[0])
    raise AssertionError("no metadata region")


# --- ISO ------------------------------------------------------------------------------------


def handmade_iso(blocks: int = 24) -> bytes:
    """An ISO 9660 image: system area, a Primary Volume Descriptor and the set terminator."""
    pvd = bytearray(2048)
    pvd[0:7] = b"\x01CD001\x01"
    pvd[80:88] = struct.pack("<I", blocks) + struct.pack(">I", blocks)  # volume space size, both-endian
    pvd[128:132] = struct.pack("<H", 2048) + struct.pack(">H", 2048)  # logical block size, both-endian
    terminator = bytearray(2048)
    terminator[0:7] = b"\xffCD001\x01"
    image = bytes(16 * 2048) + bytes(pvd) + bytes(terminator)
    return image + bytes(blocks * 2048 - len(image))


def tool_iso(tmp_path: Path) -> bytes | None:
    """An ISO made by genisoimage or xorriso, when either is installed."""
    source = tmp_path / "iso-source"
    source.mkdir()
    (source / "hello.txt").write_text("hello\n")
    target = tmp_path / "tool.iso"
    if genisoimage := shutil.which("genisoimage"):
        command = [genisoimage, "-quiet", "-V", "TEST", "-o", str(target), str(source)]
    elif xorriso := shutil.which("xorriso"):
        command = [xorriso, "-as", "mkisofs", "-quiet", "-V", "TEST", "-o", str(target), str(source)]
    else:
        return None
    subprocess.run(command, check=True, capture_output=True)
    return target.read_bytes()


@pytest.mark.parametrize("chunking", CHUNKINGS, ids=str)
def test_handmade_iso(chunking: int | str) -> None:
    data = handmade_iso()

    assert inspect(data, "iso", chunking) == Inspection("iso", 24 * 2048)


def test_tool_made_iso_matches_qemu_img(images: Images, tmp_path: Path) -> None:
    data = tool_iso(tmp_path)
    if data is None:
        require("genisoimage or xorriso", False, "apt-get install genisoimage")
    path = images.root / "tool.iso"
    path.write_bytes(data)
    qemu_format, qemu_size = images.info(path)
    assert qemu_format == "raw"  # qemu has no iso driver: an ISO is a raw disk to it

    assert inspect(data, "iso", "bytewise") == Inspection("iso", qemu_size)


def test_iso_with_a_bigger_volume_than_its_bytes_reports_the_volume() -> None:
    data = handmade_iso(blocks=24)[: 20 * 2048]

    assert inspect(data, "iso").virtual_size == 24 * 2048
    assert inspect(data, "raw").virtual_size == 20 * 2048  # stored as raw: sized by its bytes


# --- unsafe content is refused whatever the declared format -------------------------------


@pytest.mark.parametrize("disk_format", ["qcow2", "raw", None, "ploop", "ami"])
def test_qcow2_with_backing_file_is_refused(images: Images, disk_format: str | None) -> None:
    images.create("base.raw", "raw", "10M")
    path = images.create("backed.qcow2", "qcow2", None, "-b", "base.raw", "-F", "raw")

    assert refusal(path.read_bytes(), disk_format) == "qcow2 images with a backing file are not allowed."


def test_qcow2_with_external_data_file_is_refused(images: Images) -> None:
    path = images.create("external.qcow2", "qcow2", "64M", "-o", "data_file=external.data")

    message = refusal(path.read_bytes(), "qcow2", "bytewise")
    assert message == "qcow2 images with an external data file are not allowed."


@pytest.mark.parametrize("crypt_method", [1, 2], ids=["aes", "luks"])
def test_encrypted_qcow2_is_refused(images: Images, crypt_method: int) -> None:
    # The header's crypt_method field, set in a real qcow2: `qemu-img create -o encrypt...`
    # runs a key-derivation benchmark that fails on some machines ("Unable to get accurate
    # CPU usage"), and the inspector reads only this field.
    data = bytearray(images.create("a.qcow2", "qcow2", "1G").read_bytes())
    struct.pack_into(">I", data, 32, crypt_method)

    assert refusal(bytes(data), "qcow2") == "Encrypted qcow2 images are not allowed."


def test_qcow2_with_unknown_incompatible_feature_is_refused(images: Images) -> None:
    data = bytearray(images.create("a.qcow2", "qcow2", "1G").read_bytes())
    data[79] |= 0x20  # bit 5: no qemu knows it, so no inspector can vouch for the image

    assert refusal(bytes(data), "qcow2") == "qcow2 images with unknown features are not allowed."


def test_qcow_version_1_is_refused(images: Images) -> None:
    path = images.create("old.qcow", "qcow", "16M")

    assert refusal(path.read_bytes(), "qcow2") == "qcow version 1 images are not allowed."


@pytest.mark.parametrize("backing", [False, True], ids=["plain", "backed"])
def test_qed_is_refused(images: Images, backing: bool) -> None:
    images.create("base.raw", "raw", "10M")
    if backing:
        path = images.create("backed.qed", "qed", None, "-b", "base.raw", "-F", "raw")
    else:
        path = images.create("plain.qed", "qed", "16M")

    assert refusal(path.read_bytes(), "raw") == "qed images are not allowed."


@pytest.mark.parametrize("subformat", ["monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat"])
@pytest.mark.parametrize("disk_format", ["vmdk", "raw"])
def test_vmdk_descriptor_files_are_refused(images: Images, subformat: str, disk_format: str) -> None:
    path = images.create(f"{subformat}.vmdk", "vmdk", "100M", "-o", f"subformat={subformat}")
    assert path.read_bytes().startswith(b"# Disk DescriptorFile")  # text naming other files

    message = refusal(path.read_bytes(), disk_format, "bytewise")

    assert message == (
        f"vmdk images of type {subformat} are not allowed; only monolithicSparse and streamOptimized are."
    )


def test_vmdk_descriptor_file_claiming_monolithic_sparse_is_refused() -> None:
    text = b'# Disk DescriptorFile\nversion=1\ncreateType="monolithicSparse"\nRW 2048 SPARSE "/etc/passwd"\n'

    assert refusal(text, "vmdk") == "vmdk descriptor files are not allowed; upload a single-file vmdk."


def test_vmdk_text_found_by_qemu_probe_is_refused() -> None:
    # no createType at all, but qemu's vmdk_probe still takes it for a descriptor
    text = b"# comment\n  \nversion=1\n" + random_bytes(600)

    assert refusal(text, "raw") == "vmdk descriptor files are not allowed; upload a single-file vmdk."


def test_vmdk_with_parent_is_refused(images: Images) -> None:
    images.create("sparse.vmdk", "vmdk", "1G")
    path = images.create("child.vmdk", "vmdk", None, "-b", "sparse.vmdk", "-F", "vmdk")

    message = refusal(path.read_bytes(), "vmdk")
    assert message == "vmdk images with a parent (backing) file are not allowed."


def test_vmdk_sparse_header_with_zero_capacity_is_refused(images: Images) -> None:
    # qemu then opens the embedded descriptor as a descriptor file and follows its extents
    data = bytearray(images.create("sparse.vmdk", "vmdk", "1G").read_bytes())
    data[12:20] = bytes(8)

    assert refusal(bytes(data), "vmdk") == "vmdk images with a capacity of 0 are not allowed."


def _with_descriptor(data: bytes, descriptor: bytes) -> bytes:
    """A sparse VMDK whose 20-sector embedded descriptor is replaced."""
    assert len(descriptor) <= 20 * 512
    return data[:512] + descriptor.ljust(20 * 512, b"\x00") + data[512 + 20 * 512 :]


BAD_DESCRIPTORS = {
    "flat-type": (
        b'version=1\nCID=1\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 2097152 FLAT "x" 0\n',
        "vmdk images of type monolithicFlat are not allowed; only monolithicSparse and streamOptimized are.",
    ),
    "two-extents": (
        b'version=1\ncreateType="monolithicSparse"\nRW 1048576 SPARSE "a.vmdk"\nRW 1048576 SPARSE "b.vmdk"\n',
        "vmdk images must have exactly one sparse extent in the image itself.",
    ),
    "extent-path": (
        b'version=1\ncreateType="monolithicSparse"\nRW 2097152 SPARSE "/etc/shadow"\n',
        "vmdk images must have exactly one sparse extent in the image itself.",
    ),
    "flat-extent": (
        b'version=1\ncreateType="monolithicSparse"\nRW 2097152 FLAT "other.img" 0\n',
        "vmdk images must have exactly one sparse extent in the image itself.",
    ),
    "no-extent": (
        b'version=1\ncreateType="streamOptimized"\n',
        "vmdk images must have exactly one sparse extent in the image itself.",
    ),
    "no-create-type": (b'version=1\nRW 2097152 SPARSE "a.vmdk"\n', "vmdk descriptor has no createType."),
    "odd-line": (
        b'version=1\ncreateType="monolithicSparse"\nRW 2097152 SPARSE "a.vmdk"\nsomething odd here\n',
        "vmdk descriptor is invalid.",
    ),
    "parent-in-comment": (
        # qemu finds the hint with strstr, so even a comment names a backing file
        b'version=1\ncreateType="monolithicSparse"\n# parentFileNameHint="/etc/passwd"\nRW 1 SPARSE "a"\n',
        "vmdk images with a parent (backing) file are not allowed.",
    ),
}


@pytest.mark.parametrize("case", list(BAD_DESCRIPTORS))
def test_vmdk_embedded_descriptor_is_checked(images: Images, case: str) -> None:
    descriptor, expected = BAD_DESCRIPTORS[case]
    data = images.create("sparse.vmdk", "vmdk", "1G").read_bytes()

    assert refusal(_with_descriptor(data, descriptor), "vmdk") == expected


def _stream_with_footer(images: Images, header_capacity: int, eos_type: int = 0) -> Path:
    """A streamOptimized VMDK rewritten as VMware writes it: grain directory in a footer at the end."""
    original = images.convert("stream-data.vmdk", "vmdk", "-o", "subformat=streamOptimized").read_bytes()
    header = bytearray(original[:512])
    header[12:20] = struct.pack("<Q", header_capacity)
    header[56:64] = b"\xff" * 8  # GD_AT_END: the footer's copy of the header takes precedence
    footer_marker = struct.pack("<QII", 1, 0, 3).ljust(512, b"\x00")
    eos_marker = struct.pack("<QII", 0, 0, eos_type).ljust(512, b"\x00")
    path = images.root / f"footer-{header_capacity}-{eos_type}.vmdk"
    path.write_bytes(bytes(header) + original[512:] + footer_marker + original[:512] + eos_marker)
    return path


@pytest.mark.parametrize("chunking", [100, 64 * KiB, "single"], ids=str)
def test_vmdk_stream_footer_gives_the_virtual_size(images: Images, chunking: int | str) -> None:
    path = _stream_with_footer(images, header_capacity=2 * 1024 * 1024)  # header claims 1 GiB

    result = inspect(path.read_bytes(), "vmdk", chunking)

    assert result == Inspection("vmdk", images.info(path)[1])
    assert result.virtual_size == 3 * MiB  # the footer's capacity, as qemu uses it


def test_vmdk_stream_footer_must_be_valid(images: Images) -> None:
    path = _stream_with_footer(images, header_capacity=6144, eos_type=7)
    with pytest.raises(subprocess.CalledProcessError):
        images.info(path)  # qemu refuses it too

    assert refusal(path.read_bytes(), "vmdk") == "vmdk stream footer is invalid."


def _vhd_with_footer_type(data: bytes, disk_type: int) -> bytes:
    footer = bytearray(data[:512])
    footer[60:64] = struct.pack(">I", disk_type)
    footer[64:68] = bytes(4)
    footer[64:68] = struct.pack(">I", ~sum(footer) & 0xFFFFFFFF)
    return bytes(footer) + data[512:]


def test_vhd_differencing_is_refused(images: Images) -> None:
    data = images.create("dynamic.vhd", "vpc", "1G").read_bytes()

    message = refusal(_vhd_with_footer_type(data, 4), "vhd")
    assert message == "vhd differencing images (with a parent) are not allowed."


def test_vhd_with_bad_checksum_is_refused(images: Images) -> None:
    data = bytearray(images.create("dynamic.vhd", "vpc", "1G").read_bytes())
    data[67] ^= 0xFF

    assert refusal(bytes(data), "vhd") == "vhd footer checksum is invalid."


def test_two_formats_in_one_image_are_refused(images: Images) -> None:
    data = bytearray(images.create("a.qcow2", "qcow2", "1G").read_bytes())
    data[0x8000:0x8007] = b"\x01CD001\x01"  # a polyglot: qcow2 to qemu, ISO to anything probing CD001

    assert refusal(bytes(data), "qcow2") == "Image content matches more than one format (iso, qcow2)."


# --- declared disk_format against content (Glance, require_image_format_match = True) ---------


def test_raw_declared_qcow2_is_refused(images: Images) -> None:
    data = images.create("a.qcow2", "qcow2", "1G").read_bytes()

    assert refusal(data, "raw") == "Image disk_format is raw but its content is qcow2."


def test_qcow2_declared_random_bytes_are_refused() -> None:
    assert refusal(random_bytes(MiB), "qcow2") == "Image disk_format is qcow2 but its content is raw."


@pytest.mark.parametrize(
    ("name", "fmt", "options", "disk_format"),
    [
        ("sparse.vmdk", "vmdk", (), "raw"),
        ("dynamic.vhd", "vpc", (), "ami"),
        ("a.vhdx", "vhdx", (), "aki"),
        ("a.vdi", "vdi", (), "ari"),
        ("a.qcow2", "qcow2", (), "vmdk"),
        ("a.vhdx", "vhdx", (), "vhd"),
        ("dynamic.vhd", "vpc", (), "vhdx"),
        ("a.vdi", "vdi", (), "iso"),
    ],
)
def test_rich_format_under_another_disk_format_is_refused(
    images: Images, name: str, fmt: str, options: tuple[str, ...], disk_format: str
) -> None:
    path = images.create(name, fmt, "1G", *options)
    detected = {"vpc": "vhd"}.get(fmt, fmt)

    expected = f"Image disk_format is {disk_format} but its content is {detected}."
    assert refusal(path.read_bytes(), disk_format) == expected


def test_iso_under_raw_is_accepted_and_sized_by_its_bytes() -> None:
    data = handmade_iso() + bytes(4096)

    assert inspect(data, "raw") == Inspection("iso", len(data))
    assert inspect(data, None) == Inspection("iso", len(data))


@pytest.mark.parametrize("disk_format", ["ami", "aki", "ari"])
def test_ami_aki_ari_take_raw_content_only(images: Images, disk_format: str) -> None:
    qcow2 = images.create("a.qcow2", "qcow2", "1G").read_bytes()

    # Glance computes no virtual size for formats it cannot inspect
    assert inspect(random_bytes(MiB), disk_format) == Inspection("raw", None)
    assert refusal(qcow2, disk_format) == f"Image disk_format is {disk_format} but its content is qcow2."
    assert (
        refusal(handmade_iso(), disk_format) == f"Image disk_format is {disk_format} but its content is iso."
    )


def test_no_disk_format_is_treated_like_raw(images: Images) -> None:
    qcow2 = images.create("a.qcow2", "qcow2", "1G").read_bytes()

    assert inspect(random_bytes(MiB), None) == Inspection("raw", MiB)
    assert refusal(qcow2, None) == "Image has no disk_format but its content is qcow2."


def test_ploop_accepts_any_safe_content(images: Images) -> None:
    qcow2 = images.create("a.qcow2", "qcow2", "1G").read_bytes()

    assert inspect(qcow2, "ploop") == Inspection("qcow2", None)
    assert inspect(random_bytes(MiB), "ploop") == Inspection("raw", None)


def test_fixed_vhd_is_raw_unless_declared_vhd(images: Images) -> None:
    path = images.create("fixed.vhd", "vpc", "10M", "-o", "subformat=fixed")
    data = path.read_bytes()

    assert inspect(data, "vhd") == Inspection("vhd", images.info(path, "vpc")[1])
    # told "raw", qemu probes the start and sees plain bytes: so do we
    assert inspect(data, "raw") == Inspection("raw", images.info(path)[1])
    assert refusal(data, "qcow2") == "Image disk_format is qcow2 but its content is vhd."


def test_gpt_disk_is_raw(images: Images) -> None:
    data = bytearray(random_bytes(MiB))
    # a protective MBR entry (type 0xEE from LBA 1), three empty ones, the boot signature, a GPT header
    data[446:462] = struct.pack("<B3sB3sII", 0, b"\x00\x02\x00", 0xEE, b"\xff\xff\xff", 1, 0xFFFFFFFF)
    data[462:510] = bytes(48)
    data[510:512] = b"\x55\xaa"
    data[512:520] = b"EFI PART"

    assert inspect(bytes(data), "raw") == Inspection("raw", MiB)
    assert refusal(bytes(data), "qcow2") == "Image disk_format is qcow2 but its content is raw."


@pytest.mark.parametrize(
    ("disk_format", "detected", "allowed"),
    [
        ("qcow2", "qcow2", True),
        ("qcow2", "raw", False),
        ("qcow2", "vmdk", False),
        ("vmdk", "vmdk", True),
        ("vhd", "vhd", True),
        ("vhd", "vhdx", False),
        ("vhdx", "vhdx", True),
        ("vdi", "vdi", True),
        ("iso", "iso", True),
        ("iso", "raw", False),
        ("raw", "raw", True),
        ("raw", "iso", True),
        ("raw", "qcow2", False),
        ("raw", "vmdk", False),
        ("raw", "vhd", False),
        ("raw", "vhdx", False),
        ("raw", "vdi", False),
        (None, "raw", True),
        (None, "iso", True),
        (None, "vdi", False),
        ("ami", "raw", True),
        ("ami", "iso", False),
        ("aki", "qcow2", False),
        ("ari", "vhd", False),
        ("ploop", "qcow2", True),
        ("ploop", "raw", True),
    ],
)
def test_check_format_table(disk_format: str | None, detected: str, allowed: bool) -> None:
    inspection = Inspection(detected, 1)
    if allowed:
        check_format(disk_format, inspection)
    else:
        with pytest.raises(InspectionError, match=f"but its content is {detected}\\.$"):
            check_format(disk_format, inspection)


# --- stream handling --------------------------------------------------------------------


def _buffered_bytes(obj: object, seen: set[int] | None = None) -> int:
    """Bytes held in the inspector's attributes, followed into its own helper objects."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, bytes | bytearray | memoryview):
        return len(obj)
    if isinstance(obj, list | tuple | set | frozenset):
        return sum(_buffered_bytes(item, seen) for item in obj)
    if isinstance(obj, dict):
        return sum(_buffered_bytes(item, seen) for item in obj.values())
    if type(obj).__module__ == StreamInspector.__module__ and hasattr(obj, "__dict__"):
        return sum(_buffered_bytes(value, seen) for value in vars(obj).values())
    return 0


def test_memory_stays_bounded_over_a_long_stream() -> None:
    inspector = StreamInspector("raw")
    chunk = bytes(MiB)
    peak = 0
    for _ in range(200):
        inspector.feed(chunk)
        peak = max(peak, _buffered_bytes(inspector))

    assert peak < 3 * MiB
    assert inspector.finish() == Inspection("raw", 200 * MiB)


def test_memory_stays_bounded_while_capturing_vhdx_metadata(images: Images) -> None:
    inspector = StreamInspector("vhdx")
    peak = 0
    for chunk in chunked(images.create("a.vhdx", "vhdx", "1G").read_bytes(), 64 * KiB):
        inspector.feed(chunk)
        peak = max(peak, _buffered_bytes(inspector))

    assert peak < 3 * MiB
    assert inspector.finish().virtual_size == 1024 * MiB


def test_empty_chunks_are_ignored_and_an_empty_upload_is_raw_of_unknown_size() -> None:
    inspector = StreamInspector("raw")
    inspector.feed(b"")

    assert inspector.finish() == Inspection("raw", None)


def test_feed_after_finish_is_a_bug() -> None:
    inspector = StreamInspector("raw")
    inspector.feed(b"data")
    inspector.finish()

    with pytest.raises(RuntimeError):
        inspector.feed(b"more")


def test_tiny_uploads_are_raw() -> None:
    for size in (1, 3, 7, 511, 513):
        assert inspect(random_bytes(size), "raw", 1) == Inspection("raw", size)
