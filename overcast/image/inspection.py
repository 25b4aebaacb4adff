"""Image content inspection on the upload stream: real format, virtual size, unsafe content.

`StreamInspector` sees every chunk of an upload once, in order, while the bytes go to the store;
nothing is re-read from disk. It keeps a bounded amount of data: the first MiB (headers, the
VMDK descriptor, ISO volume descriptors, the VHDX region table), the last 1.5 KiB (VHD and VMDK
footers) and at most 64 KiB more for the VHDX metadata table wherever it lies. `finish()` then
names the format, computes the virtual size and refuses what qemu must never open from a tenant:

- a declared disk_format the content does not match, and a rich format (qcow2, vmdk, vhd, vhdx,
  vdi) disguised as raw/ami/aki/ari, as Glance does with `[image_format]
  require_image_format_match = True` (glance/location.py, `ImageProxy.set_data`);
- a qcow2 with a backing file, an external data file, encryption or unknown incompatible
  features; qcow version 1 and qed (both can name a backing file);
- a VMDK that is not a single-file monolithicSparse/streamOptimized image: descriptor files,
  extents naming other files, a parentFileNameHint, a sparse header with capacity 0 (qemu then
  reads the embedded descriptor as a descriptor file and opens its extents, block/vmdk.c);
- a differencing VHD, and content that matches two formats at once (a polyglot).

Format facts come from the format specifications as summarised in oslo.utils
`oslo_utils/imageutils/format_inspector.py` and from qemu's block drivers (block/qcow2.c,
block/vmdk.c, block/vpc.c, block/vhdx.c, block/vdi.c).

LIMITATIONS (what Glance's inspector has and this does not):
- GPT/MBR are not told apart from raw, so Glance's MBR partition-table checks are not made;
- LUKS is not recognised (Glance allows it only under disk_format raw anyway);
- UDF-only discs are recognised as iso but get no virtual size (only ISO 9660 PVDs are read).
Stricter than Glance, on purpose: qcow2 under disk_format raw is refused (Glance lets it pass
when it has no backing file), as are VMDK descriptor files that name a sparse extent and VHD
differencing disks. Fixed VHDs (footer only at the end) are recognised, which Glance does not do.
"""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Inspection", "InspectionError", "StreamInspector", "check_format"]

_KiB = 1024
_MiB = 1024 * _KiB

# Content qemu would interpret rather than pass to the guest as bytes: never stored as raw.
_RICH_FORMATS = frozenset({"qcow2", "vmdk", "vhd", "vhdx", "vdi"})
# disk_formats whose content must be exactly that format (Glance's inspectable formats).
_INSPECTED_FORMATS = _RICH_FORMATS | {"iso"}

# VMDK: the embedded descriptor starts at sector 1 and qemu reads at most 1 MiB - 1 of it
# (vmdk_read_desc); qemu looks for parentFileNameHint in the first 20 sectors (DESC_SIZE).
_VMDK_DESC_OFFSET = 0x200
_VMDK_DESC_MAX = _MiB - 1
_VMDK_PARENT_SCAN = 20 * 512
_VMDK_GD_AT_END = 0xFFFFFFFFFFFFFFFF
_VMDK_MARKER_EOS = 0
_VMDK_MARKER_FOOTER = 3
_VMDK_ALLOWED_TYPES = frozenset({"monolithicsparse", "streamoptimized"})
_VMDK_EXTENT = re.compile(r'(RW|RDONLY|NOACCESS)\s+(\d+)\s+SPARSE\s+"([^"/\\]+)"', re.IGNORECASE)
# qemu's vmdk_probe: only comment and blank lines may precede "version=N".
_VMDK_TEXT_PROBE = re.compile(rb"(?:#[^\n]*\n| +\r?\n)*version=[123]\r?\n")
_PRINTABLE_TEXT = re.compile(rb"[\t\n\r\x20-\x7e]*")
_CREATE_TYPE = re.compile(rb'createtype\s*=\s*"([^"\n]{0,64})"', re.IGNORECASE)

# VHD: the 512-byte footer; qemu sizes by CHS geometry unless the creator is one of these.
_VHD_FOOTER = 512
_VHD_CURRENT_SIZE_CREATORS = frozenset({b"win ", b"qem2", b"d2v ", b"CTXS", b"tap\x00"})
_VHD_MAX_GEOMETRY = 65535 * 16 * 255
_VHD_DIFFERENCING = 4

# VHDX: region table at 192 KiB; metadata table is at most 2048 entries of 32 bytes.
_VHDX_REGION_TABLE = 0x30000
_VHDX_REGION_TABLE_END = 0x40000
_VHDX_TABLE_MAX = 2048 * 32
_VHDX_METADATA_REGION = uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E").bytes_le
_VHDX_VIRTUAL_DISK_SIZE = uuid.UUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8").bytes_le

# ISO 9660 / UDF volume descriptors: 2 KiB each from sector 16 (32 KiB).
_ISO_FIRST = 0x8000
_ISO_SECTOR = 2048
_ISO_MAX_DESCRIPTORS = 32
_ISO_IDENTIFIERS = frozenset({b"CD001", b"BEA01", b"NSR02", b"NSR03", b"TEA01", b"BOOT2", b"CDW02"})

_HEAD_LIMIT = _VMDK_DESC_OFFSET + _VMDK_DESC_MAX + 1
_TAIL_LIMIT = 3 * 512  # the VMDK stream footer: marker, header copy, end-of-stream marker


class InspectionError(Exception):
    """The content is unsafe or does not match the declared format; str(e) is a user-safe message."""


@dataclass(frozen=True)
class Inspection:
    """What the content of an upload is.

    `format` is the detected format ("raw" when nothing is recognised; GPT/MBR disks are raw).
    `virtual_size` is the size in bytes the guest sees when the image is used as its declared
    disk_format, as Glance computes it: the data size for raw (and for an ISO stored as raw),
    the format's own size field otherwise, None when unknown or not computed (ami/aki/ari, ploop).
    """

    format: str
    virtual_size: int | None


def check_format(disk_format: str | None, inspection: Inspection) -> None:
    """Raise InspectionError unless the content may be stored under this disk_format."""
    detected = inspection.format
    if disk_format == "ploop":
        return  # no inspector exists for ploop; any content is accepted
    if disk_format in _INSPECTED_FORMATS:
        if detected == disk_format:
            return
    elif detected == "raw":
        return
    elif detected == "iso" and disk_format in (None, "raw"):
        return  # an ISO is a valid raw disk (Glance: "Image claims 'raw' disk_format")
    if disk_format is None:
        raise InspectionError(f"Image has no disk_format but its content is {detected}.")
    raise InspectionError(f"Image disk_format is {disk_format} but its content is {detected}.")


@dataclass(frozen=True)
class _Match:
    """One format recognised in the content, with the reason it is refused, if any."""

    format: str
    virtual_size: int | None = None
    problem: str | None = None


@dataclass
class _Capture:
    """A byte range beyond the head that a parser asked for, filled as the stream passes it."""

    offset: int
    length: int
    on_complete: Callable[[int, bytes], None]
    data: bytearray


class StreamInspector:
    """Inspects an image upload chunk by chunk with bounded memory; `finish()` gives the verdict."""

    def __init__(self, disk_format: str | None, *, match_format: bool = True) -> None:
        self._disk_format = disk_format
        # False: only the safety checks (Glance's [image_format] require_image_format_match).
        self._match_format = match_format
        self._size = 0
        self._head = bytearray()
        self._tail = b""
        self._captures: list[_Capture] = []
        self._finished = False
        self._vhdx_started = False
        self._vhdx_size: int | None = None
        self._vhdx_problem: str | None = None

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk of the upload; cheap once the first MiB has passed."""
        if self._finished:
            raise RuntimeError("StreamInspector.feed() called after finish()")
        n = len(chunk)
        if not n:
            return
        start = self._size
        self._size = start + n
        if len(self._head) < _HEAD_LIMIT:
            self._head += chunk[: _HEAD_LIMIT - len(self._head)]
            if not self._vhdx_started and len(self._head) >= _VHDX_REGION_TABLE_END:
                self._vhdx_start()
        if self._captures:
            self._serve(chunk, start)
        if n >= _TAIL_LIMIT:
            self._tail = bytes(chunk[-_TAIL_LIMIT:])
        else:
            self._tail = (self._tail + chunk)[-_TAIL_LIMIT:]

    def finish(self) -> Inspection:
        """Name the format and virtual size after the last chunk; raise InspectionError if refused."""
        self._finished = True
        if not self._vhdx_started:
            self._vhdx_start()
        matches = [
            m
            for m in (
                self._qcow(),
                self._qed(),
                self._vmdk(),
                self._vhd_header(),
                self._vhdx(),
                self._vdi(),
                self._iso(),
            )
            if m is not None
        ]
        if len(matches) > 1:
            names = ", ".join(sorted(m.format for m in matches))
            raise InspectionError(f"Image content matches more than one format ({names}).")
        match = matches[0] if matches else None
        if match is not None and match.problem:
            raise InspectionError(match.problem)
        declared = self._disk_format
        unmatched = match is None and declared in _INSPECTED_FORMATS
        if unmatched or (match is not None and match.format == "iso" and declared == "vhd"):
            # A fixed VHD has its footer only at the end; qemu finds it only when told the image is
            # vpc (vpc_probe looks at the start), so raw-like declarations keep seeing raw bytes.
            match = self._vhd_footer() or match
        detected = match.format if match is not None else "raw"
        size = match.virtual_size if match is not None else self._size
        if declared is None or declared == "raw":
            size = self._size  # Glance sizes any content stored as raw by its bytes
        elif declared not in _INSPECTED_FORMATS:
            size = None  # Glance computes no virtual size for formats it cannot inspect
        if not size:
            size = None  # Glance treats 0 as unknown and leaves virtual_size unset
        inspection = Inspection(format=detected, virtual_size=size)
        if self._match_format:
            check_format(declared, inspection)
        return inspection

    # --- ranges beyond the head (VHDX metadata) -------------------------------------------

    def _watch(self, offset: int, length: int, on_complete: Callable[[int, bytes], None]) -> None:
        """Capture `length` bytes at `offset`, from the head if already there, else as they pass."""
        capture = _Capture(offset, length, on_complete, bytearray(self._head[offset : offset + length]))
        if len(capture.data) >= length:
            on_complete(offset, bytes(capture.data))
        else:
            self._captures.append(capture)

    def _serve(self, chunk: bytes, start: int) -> None:
        """Give pending captures their part of this chunk; completion may add captures, served too."""
        end = start + len(chunk)
        i = 0
        while i < len(self._captures):
            capture = self._captures[i]
            want = capture.offset + len(capture.data)
            if want < start:
                del self._captures[i]  # asked for bytes already gone (a backwards offset): size unknown
                continue
            if want < end:
                stop = min(capture.offset + capture.length, end)
                capture.data += chunk[want - start : stop - start]
            if len(capture.data) >= capture.length:
                del self._captures[i]
                capture.on_complete(capture.offset, bytes(capture.data))
            else:
                i += 1

    # --- one parser per format; each returns None when the content is not that format -----

    def _qcow(self) -> _Match | None:
        head = self._head
        if head[:4] != b"QFI\xfb":
            return None
        if len(head) < 72:
            return _Match("qcow2", problem="qcow2 image is truncated.")
        version, backing_offset = struct.unpack_from(">IQ", head, 4)
        (size,) = struct.unpack_from(">Q", head, 24)
        (crypt_method,) = struct.unpack_from(">I", head, 32)
        if version == 1:
            # qemu's "qcow" driver, which also follows backing files
            return _Match("qcow", problem="qcow version 1 images are not allowed.")
        if version not in (2, 3):
            return _Match("qcow2", problem="qcow2 image has an unsupported version.")
        if backing_offset:
            return _Match("qcow2", problem="qcow2 images with a backing file are not allowed.")
        if version == 3:
            if len(head) < 80:
                return _Match("qcow2", problem="qcow2 image is truncated.")
            (incompatible,) = struct.unpack_from(">Q", head, 72)
            # bits: 0 dirty, 1 corrupt, 2 external data file, 3 compression type, 4 extended L2
            if incompatible & 0x4:
                return _Match("qcow2", problem="qcow2 images with an external data file are not allowed.")
            if incompatible & ~0x1F:
                return _Match("qcow2", problem="qcow2 images with unknown features are not allowed.")
        if crypt_method:
            return _Match("qcow2", problem="Encrypted qcow2 images are not allowed.")
        return _Match("qcow2", size)

    def _qed(self) -> _Match | None:
        if self._head[:4] != b"QED\x00":
            return None
        return _Match("qed", problem="qed images are not allowed.")  # may name a backing file

    def _vmdk(self) -> _Match | None:
        head = self._head
        if head[:4] == b"COWD":
            return _Match("vmdk", problem=_vmdk_type_refusal("vmfsSparse"))
        if head[:4] != b"KDMV":
            return self._vmdk_descriptor_file()
        if len(head) < 72:
            return _Match("vmdk", problem="vmdk image is truncated.")
        version, _flags, capacity, _grain, desc_sector, desc_sectors = struct.unpack_from("<IIQQQQ", head, 4)
        (gd_offset,) = struct.unpack_from("<Q", head, 56)
        if capacity == 0:
            return _Match("vmdk", problem="vmdk images with a capacity of 0 are not allowed.")
        if version not in (1, 2, 3):
            return _Match("vmdk", problem="vmdk image has an unsupported version.")
        if desc_sector * 512 != _VMDK_DESC_OFFSET or desc_sectors == 0:
            return _Match("vmdk", problem="vmdk image has no embedded descriptor.")
        # qemu and Glance read at most 1 MiB - 1 of descriptor, which the head always holds
        desc_end = min(_VMDK_DESC_OFFSET + desc_sectors * 512, _HEAD_LIMIT)
        if desc_end > len(head):
            return _Match("vmdk", problem="vmdk image is truncated.")
        parent_scan = bytes(head[_VMDK_DESC_OFFSET : _VMDK_DESC_OFFSET + _VMDK_PARENT_SCAN]).lower()
        if b"parentfilenamehint" in parent_scan:
            return _Match("vmdk", problem="vmdk images with a parent (backing) file are not allowed.")
        descriptor = bytes(head[_VMDK_DESC_OFFSET:desc_end]).split(b"\x00", 1)[0]
        problem = _vmdk_descriptor_problem(descriptor)
        if problem:
            return _Match("vmdk", problem=problem)
        if gd_offset == _VMDK_GD_AT_END:
            # streamOptimized written in one pass: the footer's header copy takes precedence
            capacity_or_problem = self._vmdk_footer_capacity()
            if isinstance(capacity_or_problem, str):
                return _Match("vmdk", problem=capacity_or_problem)
            capacity = capacity_or_problem
        return _Match("vmdk", capacity * 512)

    def _vmdk_footer_capacity(self) -> int | str:
        """The capacity in the stream footer, or why the footer is refused."""
        tail = self._tail
        # qemu reads the footer at the last whole sector minus 3 (vmdk_open_vmdk4)
        if self._size < 512 + _TAIL_LIMIT or self._size % 512:
            return "vmdk image is truncated."
        _val, marker_size, marker_type = struct.unpack_from("<QII", tail, 0)
        eos_val, eos_size, eos_type = struct.unpack_from("<QII", tail, 1024)
        if (
            tail[512:516] != b"KDMV"
            or marker_size != 0
            or marker_type != _VMDK_MARKER_FOOTER
            or eos_val != 0
            or eos_size != 0
            or eos_type != _VMDK_MARKER_EOS
        ):
            return "vmdk stream footer is invalid."
        (gd_offset,) = struct.unpack_from("<Q", tail, 512 + 56)
        if gd_offset == _VMDK_GD_AT_END:
            return "vmdk stream footer is invalid."
        (capacity,) = struct.unpack_from("<Q", tail, 512 + 12)
        return int(capacity)

    def _vmdk_descriptor_file(self) -> _Match | None:
        """A text VMDK descriptor: always refused, its extents are other files."""
        head = bytes(self._head[: 64 * _KiB])
        probed = _VMDK_TEXT_PROBE.match(head[:2048]) is not None  # qemu probes 2 KiB
        texty = len(head) >= 4 and _PRINTABLE_TEXT.fullmatch(head[:512]) is not None
        create_type = _CREATE_TYPE.search(head) if texty else None
        if not probed and create_type is None:
            return None
        kind = create_type.group(1).decode("ascii", "replace") if create_type else ""
        if kind.lower() in _VMDK_ALLOWED_TYPES or not kind:
            return _Match("vmdk", problem="vmdk descriptor files are not allowed; upload a single-file vmdk.")
        return _Match("vmdk", problem=_vmdk_type_refusal(kind))

    def _vhd_header(self) -> _Match | None:
        head = self._head
        if head[:8] != b"conectix":
            return None
        if len(head) < _VHD_FOOTER:
            return _Match("vhd", problem="vhd image is truncated.")
        footer = bytes(head[:_VHD_FOOTER])
        if not _vhd_checksum_ok(footer):
            return _Match("vhd", problem="vhd footer checksum is invalid.")
        (disk_type,) = struct.unpack_from(">I", footer, 60)
        if disk_type == _VHD_DIFFERENCING:
            return _Match("vhd", problem="vhd differencing images (with a parent) are not allowed.")
        return _Match("vhd", _vhd_virtual_size(footer))

    def _vhd_footer(self) -> _Match | None:
        """A fixed VHD: a valid footer in the last 512 bytes only."""
        footer = self._tail[-_VHD_FOOTER:]
        if self._size < 2 * _VHD_FOOTER or footer[:8] != b"conectix" or not _vhd_checksum_ok(footer):
            return None
        return _Match("vhd", _vhd_virtual_size(footer))

    def _vhdx(self) -> _Match | None:
        if self._head[:8] != b"vhdxfile":
            return None
        return _Match("vhdx", self._vhdx_size, self._vhdx_problem)

    def _vhdx_start(self) -> None:
        """Read the region table (in the head) and ask for the metadata table, wherever it is."""
        self._vhdx_started = True
        if self._head[:8] != b"vhdxfile":
            return
        table = bytes(self._head[_VHDX_REGION_TABLE:_VHDX_REGION_TABLE_END])
        if len(table) < 16:
            self._vhdx_problem = "vhdx image is truncated."
            return
        signature, _checksum, count = struct.unpack_from("<4sII", table, 0)
        if signature != b"regi" or count > 2047 or 16 + count * 32 > len(table):
            self._vhdx_problem = "vhdx region table is invalid."
            return
        for i in range(count):
            entry = 16 + i * 32
            if table[entry : entry + 16] == _VHDX_METADATA_REGION:
                offset, length = struct.unpack_from("<QI", table, entry + 16)
                self._watch(offset, min(length, _VHDX_TABLE_MAX), self._vhdx_metadata)
                return
        self._vhdx_problem = "vhdx image has no metadata region."

    def _vhdx_metadata(self, offset: int, table: bytes) -> None:
        """Find the virtual disk size item in the metadata table and ask for its 8 bytes."""
        if len(table) < 32:
            self._vhdx_problem = "vhdx metadata table is invalid."
            return
        signature, _reserved, count = struct.unpack_from("<8sHH", table, 0)
        if signature != b"metadata" or count > 2047 or 32 + count * 32 > len(table):
            self._vhdx_problem = "vhdx metadata table is invalid."
            return
        for i in range(count):
            entry = 32 + i * 32
            if table[entry : entry + 16] == _VHDX_VIRTUAL_DISK_SIZE:
                (item_offset,) = struct.unpack_from("<I", table, entry + 16)
                if item_offset + 8 <= len(table):
                    self._vhdx_virtual_size(offset + item_offset, table[item_offset : item_offset + 8])
                else:
                    self._watch(offset + item_offset, 8, self._vhdx_virtual_size)
                return
        self._vhdx_problem = "vhdx image has no virtual disk size."

    def _vhdx_virtual_size(self, _offset: int, data: bytes) -> None:
        (self._vhdx_size,) = struct.unpack("<Q", data)

    def _vdi(self) -> _Match | None:
        head = self._head
        if len(head) < 0x44 or struct.unpack_from("<I", head, 0x40)[0] != 0xBEDA107F:
            return None
        if len(head) < 0x178:
            return _Match("vdi", problem="vdi image is truncated.")
        (size,) = struct.unpack_from("<Q", head, 0x170)
        return _Match("vdi", size)

    def _iso(self) -> _Match | None:
        """ISO 9660 (CD001) or UDF (NSR02/NSR03) volume descriptors from sector 16."""
        head = self._head
        found = False
        size: int | None = None
        for i in range(_ISO_MAX_DESCRIPTORS):
            at = _ISO_FIRST + i * _ISO_SECTOR
            if at + 6 > len(head):
                break
            kind, ident = head[at], bytes(head[at + 1 : at + 6])
            if ident not in _ISO_IDENTIFIERS:
                break
            if ident in (b"CD001", b"NSR02", b"NSR03"):
                found = True
            if ident == b"CD001" and kind == 1 and size is None and at + 132 <= len(head):
                # Primary Volume Descriptor: both-endian fields, read the little-endian half
                (blocks,) = struct.unpack_from("<I", head, at + 80)
                (block_size,) = struct.unpack_from("<H", head, at + 128)
                size = blocks * block_size
            if ident == b"CD001" and kind == 255:
                break
        return _Match("iso", size) if found else None


def _vmdk_type_refusal(kind: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]", "", kind)[:32] or "unknown"
    return f"vmdk images of type {safe} are not allowed; only monolithicSparse and streamOptimized are."


def _vmdk_descriptor_problem(descriptor: bytes) -> str | None:
    """Why an embedded VMDK descriptor is refused: wrong createType, extents, unknown lines."""
    try:
        text = descriptor.decode("ascii")
    except UnicodeDecodeError:
        return "vmdk descriptor is invalid."
    create_type: str | None = None
    extents: list[str] = []
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or line.lower().startswith("ddb."):
            continue
        key, sep, value = line.partition("=")
        if sep and key.strip() and " " not in key.strip():
            if key.strip().lower() == "createtype":
                create_type = value.strip().strip('"')
            continue
        if line.split()[0].upper() in ("RW", "RDONLY", "NOACCESS"):
            extents.append(line)
            continue
        return "vmdk descriptor is invalid."  # like Glance: a line we do not understand is refused
    if create_type is None:
        return "vmdk descriptor has no createType."
    if create_type.lower() not in _VMDK_ALLOWED_TYPES:
        return _vmdk_type_refusal(create_type)
    if len(extents) != 1 or _VMDK_EXTENT.fullmatch(extents[0]) is None:
        return "vmdk images must have exactly one sparse extent in the image itself."
    return None


def _vhd_checksum_ok(footer: bytes) -> bool:
    """The footer checksum: one's complement of the byte sum with the checksum field zeroed."""
    stored: int = struct.unpack_from(">I", footer, 64)[0]
    total = sum(footer) - sum(footer[64:68])
    return (~total & 0xFFFFFFFF) == stored


def _vhd_virtual_size(footer: bytes) -> int:
    """The disk size as qemu computes it (block/vpc.c vpc_open): CHS geometry or current_size."""
    (current_size,) = struct.unpack_from(">Q", footer, 48)
    cylinders, heads, sectors = struct.unpack_from(">HBB", footer, 56)
    chs: int = cylinders * heads * sectors
    if footer[28:32] in _VHD_CURRENT_SIZE_CREATORS or chs == _VHD_MAX_GEOMETRY:
        return int(current_size // 512 * 512)
    return chs * 512
