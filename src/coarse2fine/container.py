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
# A segment longer than this is corruption of its length field, not a cut: far beyond any
# stream within the format's pixel limit (a pipe reader refuses it before reading it).
MAX_SEGMENT_BYTES = 1 << 30


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
    if 0 < len(data) < len(MAGIC) and bytes(data) == MAGIC[: len(data)]:
        # the start of a stream, cut before its magic ended: a cut, not a foreign file
        raise BitstreamError(f"truncated header: {len(data)} bytes, the fixed part alone needs {_HEAD.size}")
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


@dataclass(frozen=True)
class Cut:
    """Where a stream that ends inside a level segment was cut, and what the cut cost.

    The levels before `level` arrived whole and pass their CRCs; the segment of `level` did not
    arrive whole, so it is discarded (its CRC cannot be checked) with every level after it."""

    level: int  # the level whose segment is incomplete
    offset: int  # where that segment starts: the bytes of the complete prefix
    arrived: int  # bytes of that segment that arrived, framing included (discarded)
    declared: int | None  # its whole size, framing included, where its length field arrived

    @property
    def missing(self) -> int | None:
        """Bytes of the cut segment that did not arrive (None: its length field did not)."""
        return None if self.declared is None else self.declared - self.arrived

    def describe(self, levels_total: int) -> str:
        """One line for a person: which levels are complete and what was lost, in bytes."""
        if self.level == 1:
            kept = "no level complete"
        else:
            kept = f"levels 1-{self.level - 1} of {levels_total} complete ({self.offset} bytes)"
            if self.level == 2:
                kept = f"level 1 of {levels_total} complete ({self.offset} bytes)"
        if self.declared is None:
            lost = f"level {self.level} cut inside its segment header ({self.arrived} of {SEGMENT_FRAMING} bytes)"
        else:
            lost = f"level {self.level} cut after {self.arrived} of its {self.declared} bytes ({self.missing} missing)"
        after = self.level < levels_total
        rest = f", levels {self.level + 1}-{levels_total} not received" if after else ""
        if after and self.level + 1 == levels_total:
            rest = f", level {levels_total} not received"
        return f"{kept}; {lost}, {self.arrived} bytes discarded{rest}"


@dataclass(frozen=True)
class Received:
    """What a possibly cut stream holds: its longest complete, CRC-valid prefix of levels, and
    the cut (None when the stream ends at a segment boundary)."""

    stream: Bitstream
    cut: Cut | None

    @property
    def complete_bytes(self) -> int:
        """Bytes of the complete prefix (the whole input when there is no cut)."""
        return self.stream.segment_sizes()[-1]


def _scan(data: memoryview) -> tuple[Header, list[bytes], Cut | None]:
    """The header, the payloads of every complete segment, and where the data ends inside a
    segment (None at a boundary). Corruption (a complete segment failing its CRC, a length no
    encoder writes, data after the last level) raises BitstreamError; a cut does not."""
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
        remaining = len(data) - offset
        if remaining < _SEGMENT.size:
            return header, payloads, Cut(index, offset, remaining, None)
        length, stored_crc = _SEGMENT.unpack_from(data, offset)
        # A length no encoder writes is corruption of the length field, whether or not the
        # payload is all here: it is not read as a cut (which would drop the levels after it).
        _check_payload_shape(length, name)
        if length > MAX_SEGMENT_BYTES:
            raise BitstreamError(f"{name}: declares {length} bytes, more than any stream holds ({MAX_SEGMENT_BYTES})")
        start = offset + _SEGMENT.size
        if length > len(data) - start:
            return header, payloads, Cut(index, offset, remaining, _SEGMENT.size + length)
        payload = data[start : start + length]
        crc = zlib.crc32(payload, zlib.crc32(data[offset : offset + 4], crc))
        if crc != stored_crc:
            raise BitstreamError(f"CRC mismatch in {name}: the segment is corrupt or comes from another stream")
        payloads.append(bytes(payload))
        offset = start + length
    return header, payloads, None


def _cut_message(cut: Cut) -> str:
    name = "hyper-latent segment" if cut.level == 0 else f"level {cut.level} segment"
    if cut.declared is None:
        return f"truncated {name}: {cut.arrived} bytes left, its length and CRC need {_SEGMENT.size}"
    return f"truncated {name}: declares {cut.declared - _SEGMENT.size} bytes, {cut.arrived - _SEGMENT.size} remain"


def parse_received(data: bytes) -> Received:
    """Parse what arrived of a stream: the longest complete, CRC-valid prefix of levels, and the
    cut when the data ends inside a level segment (docs/bitstream.md, "Cut streams").

    BitstreamError for corruption (bad magic, a header or a complete segment failing its CRC,
    impossible lengths, data after the last level), for a header or hyper-latent segment that did
    not arrive whole, and when no level segment is complete: there is nothing to decode then."""
    data = memoryview(bytes(data))
    header, payloads, cut = _scan(data)
    if not payloads:
        raise BitstreamError(_cut_message(cut) if cut else "truncated stream: no hyper-latent segment after the header")
    if cut is not None and cut.level == 0:
        raise BitstreamError(_cut_message(cut))
    if len(payloads) < 2:
        if cut is None:
            raise BitstreamError("truncated stream: no level segment after the header")
        raise BitstreamError(f"{_cut_message(cut)}: no level segment is complete")
    return Received(Bitstream(header, payloads[0], tuple(payloads[1:])), cut)


def parse_bitstream(data: bytes) -> Bitstream:
    """Parse and check a whole stream: structure, limits, lengths and every CRC. A stream that
    ends inside a segment is refused (parse_received decodes what arrived of one)."""
    data = memoryview(bytes(data))
    header, payloads, cut = _scan(data)
    if cut is not None:
        raise BitstreamError(_cut_message(cut))
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


def levels_within(stream: Bitstream, budget: int) -> int:
    """How many levels of `stream` fit in `budget` bytes, whole (header and hyper-latent
    included): what a sender with a byte budget sends. BitstreamError naming the minimum when
    not even level 1 fits (a stream without a level segment decodes nothing)."""
    sizes = stream.segment_sizes()
    if budget < sizes[0]:
        base = len(stream.header.to_bytes()) + SEGMENT_FRAMING + len(stream.hyper)
        raise BitstreamError(
            f"a budget of {budget} bytes holds no level: the smallest valid prefix is {sizes[0]} bytes "
            f"(header and hyper-latent segment {base}, level 1 segment {sizes[0] - base})"
        )
    return sum(1 for size in sizes if size <= budget)


def truncate_to_bytes(data: bytes, budget: int) -> bytes:
    """The longest whole-level prefix of `data` within `budget` bytes (levels_within)."""
    stream = parse_bitstream(data)
    return bytes(data[: stream.segment_sizes()[levels_within(stream, budget) - 1]])
