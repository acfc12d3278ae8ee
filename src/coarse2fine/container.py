"""The `.c2f` container: a header, the hyper-latent segment, then one segment per level.

Pure bytes, no model: this layer writes, parses, validates and truncates streams. The layout
is specified in docs/bitstream.md; in short (little-endian):

    header   magic "\\x89C2F" | version u8 | flags u8 | model identity 16 B |
             width u32 | height u32 | pad multiple u16 | level count L u8 |
             L x channels u16 | header CRC32 u32
    segment  length u32 | CRC32 u32 | payload          (hyper-latent first, then levels 1..n)

Each segment CRC covers its length field and payload and continues from the previous CRC
(the header's for the hyper-latent segment), so a segment spliced in from another stream
fails its check. The number of levels present is the number of complete level segments:
cutting a file after any level segment leaves a valid stream of fewer levels.

Parsing checks every length against the bytes that remain and every dimension against fixed
limits before anything is allocated, and raises BitstreamError for anything it rejects.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from coarse2fine.errors import BitstreamError
from coarse2fine.limits import FORMAT_MAX_PIXELS as MAX_PIXELS
from coarse2fine.limits import MAX_SIDE

MAGIC = b"\x89C2F"
FORMAT_VERSION = 1
MODEL_ID_BYTES = 16

# Fixed limits a header must respect before any decoding work is done.
# (MAX_SIDE and MAX_PIXELS, the format's pixel limits, come from coarse2fine.limits.)
MAX_LEVELS = 16
MAX_CHANNELS = 4096
MAX_PAD_MULTIPLE = 1024
# CompressAI's rANS coder flushes 32-bit words and at least its 64-bit state.
RANS_WORD_BYTES = 4
MIN_PAYLOAD_BYTES = 8

_HEAD = struct.Struct("<4sBB16sIIHB")  # magic .. level count
_CHANNELS = struct.Struct("<H")
_CRC = struct.Struct("<I")
_SEGMENT = struct.Struct("<II")  # length, crc
SEGMENT_FRAMING = _SEGMENT.size  # bytes each segment adds before its payload


def header_size(num_levels: int) -> int:
    """Bytes of the header of a stream whose codec has `num_levels` level blocks."""
    return _HEAD.size + num_levels * _CHANNELS.size + _CRC.size


@dataclass(frozen=True)
class Header:
    """What a decoder must know before reading segments."""

    model_id: bytes
    width: int
    height: int
    pad_multiple: int
    level_channels: tuple[int, ...]  # channels of each level block, coarse first

    @property
    def num_levels_total(self) -> int:
        """Levels the model codes (the stream may hold fewer)."""
        return len(self.level_channels)

    @property
    def padded_size(self) -> tuple[int, int]:
        """(H, W) rounded up to the pad multiple: the size the codec actually coded."""
        m = self.pad_multiple
        return -(-self.height // m) * m, -(-self.width // m) * m

    @property
    def pixels(self) -> int:
        """Pixels of the original image: the denominator of every bpp."""
        return self.width * self.height

    def validate(self) -> None:
        """Raise BitstreamError if a field is outside the format's limits."""
        if len(self.model_id) != MODEL_ID_BYTES:
            raise BitstreamError(f"model identity must be {MODEL_ID_BYTES} bytes, got {len(self.model_id)}")
        if not (1 <= self.width <= MAX_SIDE and 1 <= self.height <= MAX_SIDE):
            raise BitstreamError(
                f"absurd image dimensions {self.width}x{self.height} (each side must be 1..{MAX_SIDE})"
            )
        if not 1 <= self.pad_multiple <= MAX_PAD_MULTIPLE:
            raise BitstreamError(f"absurd pad multiple {self.pad_multiple} (must be 1..{MAX_PAD_MULTIPLE})")
        ph, pw = self.padded_size
        if ph * pw > MAX_PIXELS:
            raise BitstreamError(
                f"absurd image dimensions {self.width}x{self.height}: more than {MAX_PIXELS} pixels once padded"
            )
        if not 1 <= len(self.level_channels) <= MAX_LEVELS:
            raise BitstreamError(f"absurd level count {len(self.level_channels)} (must be 1..{MAX_LEVELS})")
        bad = [c for c in self.level_channels if not 1 <= c <= MAX_CHANNELS]
        if bad:
            raise BitstreamError(
                f"absurd level channel counts {list(self.level_channels)} (each must be 1..{MAX_CHANNELS})"
            )

    def to_bytes(self) -> bytes:
        self.validate()
        head = _HEAD.pack(
            MAGIC,
            FORMAT_VERSION,
            0,
            bytes(self.model_id),
            self.width,
            self.height,
            self.pad_multiple,
            len(self.level_channels),
        )
        head += b"".join(_CHANNELS.pack(c) for c in self.level_channels)
        return head + _CRC.pack(zlib.crc32(head))


@dataclass(frozen=True)
class Bitstream:
    """A parsed stream: the header, the hyper-latent payload and the level payloads present."""

    header: Header
    hyper: bytes
    levels: tuple[bytes, ...]  # levels 1..n, n <= header.num_levels_total

    @property
    def num_levels(self) -> int:
        return len(self.levels)

    def to_bytes(self) -> bytes:
        if not 1 <= len(self.levels) <= self.header.num_levels_total:
            raise BitstreamError(
                f"a stream holds 1..{self.header.num_levels_total} level segments, got {len(self.levels)}"
            )
        head = self.header.to_bytes()
        parts, crc = [head], _CRC.unpack_from(head, len(head) - _CRC.size)[0]
        for payload in (self.hyper, *self.levels):
            _check_payload_shape(len(payload), "segment")
            length = _CRC.pack(len(payload))
            crc = zlib.crc32(payload, zlib.crc32(length, crc))
            parts += [length, _CRC.pack(crc), payload]
        return b"".join(parts)

    def segment_sizes(self) -> list[int]:
        """Bytes of the file up to and including each level: header + hyper + levels 1..k."""
        size = len(self.header.to_bytes()) + _SEGMENT.size + len(self.hyper)
        sizes = []
        for payload in self.levels:
            size += _SEGMENT.size + len(payload)
            sizes.append(size)
        return sizes


def _check_payload_shape(length: int, what: str) -> None:
    if length < MIN_PAYLOAD_BYTES or length % RANS_WORD_BYTES:
        raise BitstreamError(
            f"{what}: payload of {length} bytes cannot be a rANS stream "
            f"(needs >= {MIN_PAYLOAD_BYTES} bytes, a multiple of {RANS_WORD_BYTES})"
        )


def parse_header(data: bytes) -> tuple[Header, int]:
    """The validated header and the offset of the first segment."""
    data = memoryview(data)
    if len(data) < len(MAGIC) or bytes(data[: len(MAGIC)]) != MAGIC:
        raise BitstreamError(f"bad magic {bytes(data[:4])!r}: not a .c2f stream (expected {MAGIC!r})")
    if len(data) < _HEAD.size:
        raise BitstreamError(f"truncated header: {len(data)} bytes, the fixed part alone needs {_HEAD.size}")
    magic, version, flags, model_id, width, height, pad_multiple, num_levels = _HEAD.unpack_from(data, 0)
    if version != FORMAT_VERSION:
        raise BitstreamError(f"unsupported format version {version} (this reader supports {FORMAT_VERSION})")
    if flags != 0:
        raise BitstreamError(f"unsupported header flags 0x{flags:02x} (version {FORMAT_VERSION} defines none)")
    if not 1 <= num_levels <= MAX_LEVELS:
        raise BitstreamError(f"absurd level count {num_levels} (must be 1..{MAX_LEVELS})")
    end = _HEAD.size + num_levels * _CHANNELS.size
    if len(data) < end + _CRC.size:
        raise BitstreamError(
            f"truncated header: {len(data)} bytes, a {num_levels}-level header needs {end + _CRC.size}"
        )
    channels = tuple(_CHANNELS.unpack_from(data, _HEAD.size + i * _CHANNELS.size)[0] for i in range(num_levels))
    (stored_crc,) = _CRC.unpack_from(data, end)
    if zlib.crc32(data[:end]) != stored_crc:
        raise BitstreamError("header CRC mismatch: the header is corrupt")
    header = Header(bytes(model_id), width, height, pad_multiple, channels)
    header.validate()
    return header, end + _CRC.size


def parse_bitstream(data: bytes) -> Bitstream:
    """Parse and check a whole stream: structure, limits, lengths and every CRC."""
    data = memoryview(bytes(data))
    header, offset = parse_header(data)
    crc = _CRC.unpack_from(data, offset - _CRC.size)[0]
    payloads: list[bytes] = []
    while offset < len(data):
        index = len(payloads)
        name = "hyper-latent segment" if index == 0 else f"level {index} segment"
        if index > header.num_levels_total:
            raise BitstreamError(
                f"{len(data) - offset} bytes after the last of the "
                f"{header.num_levels_total} level segments the header declares"
            )
        if len(data) - offset < _SEGMENT.size:
            raise BitstreamError(
                f"truncated {name}: {len(data) - offset} bytes left, its length and CRC need {_SEGMENT.size}"
            )
        length, stored_crc = _SEGMENT.unpack_from(data, offset)
        start = offset + _SEGMENT.size
        if length > len(data) - start:
            raise BitstreamError(f"truncated {name}: declares {length} bytes, {len(data) - start} remain")
        _check_payload_shape(length, name)
        payload = data[start : start + length]
        crc = zlib.crc32(payload, zlib.crc32(data[offset : offset + 4], crc))
        if crc != stored_crc:
            raise BitstreamError(f"CRC mismatch in {name}: the segment is corrupt or comes from another stream")
        payloads.append(bytes(payload))
        offset = start + length
    if len(payloads) < 2:
        what = "no hyper-latent segment" if not payloads else "no level segment"
        raise BitstreamError(f"truncated stream: {what} after the header")
    return Bitstream(header, payloads[0], tuple(payloads[1:]))


def truncate_to_level(data: bytes, level: int) -> bytes:
    """The stream cut after level `level`: a valid stream that decodes to that level."""
    stream = parse_bitstream(data)
    if not 1 <= level <= stream.num_levels:
        raise BitstreamError(f"level {level} is not in this stream (it holds levels 1..{stream.num_levels})")
    return bytes(data[: stream.segment_sizes()[level - 1]])
