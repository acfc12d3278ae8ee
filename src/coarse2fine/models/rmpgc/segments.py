"""RMPGC's segment format: the mask side information (a binary map of the positions a segment
adds, rANS-coded under four left/top contexts) and the framing of each segment."""

from __future__ import annotations

import struct

import numpy as np
from compressai.ans import BufferedRansEncoder, RansDecoder

from coarse2fine import rans
from coarse2fine.errors import BitstreamError

# Segment layout (little-endian): new positions u32 | mask bytes u32 | symbol bytes u32 |
# [4 x u16 context frequencies, only when the map is coded] | mask rANS | symbol rANS.
SEGMENT_HEAD = struct.Struct("<III")
BASE_HEAD = struct.Struct("<I")  # segment 1 with base channels: base layer bytes u32 | base rANS | segment
CONTEXT_FREQS = struct.Struct("<4H")
NUM_CONTEXTS = 4  # left neighbour coded (1) + 2 * top neighbour coded
# Binary CDF [0, f0, 65535, 65536]: symbol 0 has f0, symbol 1 has 65535 - f0 and CompressAI's
# escape symbol (always the last entry) keeps frequency 1.
_CDF_TOTAL = 1 << 16
_MAX_F0 = _CDF_TOTAL - 2
_RANS_MIN_BYTES = 8
# Estimated rANS flush overhead of a non-empty payload (state + padding to a word), bytes.
_FLUSH_ESTIMATE = 6


def mask_contexts(cumulative: np.ndarray) -> np.ndarray:
    """Context of each position: left and top neighbours in the mask through this segment.
    Both precede the position in raster order, so the decoder knows them when it gets there."""
    left = np.zeros_like(cumulative)
    left[:, 1:] = cumulative[:, :-1]
    top = np.zeros_like(cumulative)
    top[1:, :] = cumulative[:-1, :]
    return left.astype(np.int32) + 2 * top.astype(np.int32)


def _binary_cdfs(freqs) -> list[list[int]]:
    return [[0, int(f), _CDF_TOTAL - 1, _CDF_TOTAL] for f in freqs]


def encode_mask(new: np.ndarray, previous: np.ndarray) -> tuple[list[int], bytes]:
    """(context frequencies, rANS bytes) of the map of `new` over the positions not in `previous`."""
    candidates = ~previous
    contexts = mask_contexts(previous | new)[candidates]
    bits = new[candidates].astype(np.int64)
    freqs = []
    for c in range(NUM_CONTEXTS):
        in_context = contexts == c
        total = int(in_context.sum())
        zeros = total - int(bits[in_context].sum())
        f0 = round(_CDF_TOTAL * zeros / total) if total else _CDF_TOTAL // 2
        freqs.append(min(max(f0, 1), _MAX_F0))
    encoder = BufferedRansEncoder()
    encoder.encode_with_indexes(
        bits.tolist(), contexts.tolist(), _binary_cdfs(freqs), [4] * NUM_CONTEXTS, [0] * NUM_CONTEXTS
    )
    return freqs, encoder.flush()


def decode_mask(data: bytes, previous: np.ndarray, freqs, count: int) -> np.ndarray:
    """The map of new positions; BitstreamError unless it is binary and holds `count` positions."""
    cdfs, lengths, offsets = _binary_cdfs(freqs), [4] * NUM_CONTEXTS, [0] * NUM_CONTEXTS
    decoder = RansDecoder()
    decoder.set_stream(rans.guarded(data, int((~previous).sum())))
    cumulative = previous.copy()
    new = np.zeros_like(previous)
    height, width = previous.shape
    found = 0
    for r in range(height):
        for c in range(width):
            if previous[r, c]:
                continue
            context = (int(cumulative[r, c - 1]) if c else 0) + (2 * int(cumulative[r - 1, c]) if r else 0)
            bit = decoder.decode_stream([context], cdfs, lengths, offsets)[0]
            if bit not in (0, 1):
                raise BitstreamError(f"corrupt mask side information: decoded symbol {bit} at position ({r}, {c})")
            if bit:
                new[r, c] = cumulative[r, c] = True
                found += 1
                if found > count:
                    raise BitstreamError(f"corrupt mask side information: more than the {count} new positions declared")
    if found != count:
        raise BitstreamError(f"corrupt mask side information: {found} new positions, the segment declares {count}")
    return new


def pack_segment(count: int, freqs, mask_bytes: bytes, symbol_bytes: bytes) -> bytes:
    head = SEGMENT_HEAD.pack(count, len(mask_bytes), len(symbol_bytes))
    if freqs is not None:
        head += CONTEXT_FREQS.pack(*freqs)
    return head + mask_bytes + symbol_bytes


def parse_segment(payload: bytes, remaining: int, segment: int):
    """(new count, context frequencies or None, mask bytes, symbol bytes), all checked.

    `payload` may carry zero padding after the declared parts (the container reader adds it)."""
    error = BitstreamError
    where = f"segment {segment}"
    if len(payload) < SEGMENT_HEAD.size:
        raise error(f"{where}: {len(payload)} bytes, its header alone needs {SEGMENT_HEAD.size}")
    count, mask_len, symbol_len = SEGMENT_HEAD.unpack_from(payload, 0)
    if count > remaining:
        raise error(f"{where}: declares {count} new positions, only {remaining} are left to code")
    offset, freqs = SEGMENT_HEAD.size, None
    has_map = 0 < count < remaining
    if has_map:
        if len(payload) < offset + CONTEXT_FREQS.size:
            raise error(f"{where}: truncated before its context frequencies")
        freqs = list(CONTEXT_FREQS.unpack_from(payload, offset))
        if any(not 1 <= f <= _MAX_F0 for f in freqs):
            raise error(f"{where}: context frequencies {freqs} outside 1..{_MAX_F0}")
        offset += CONTEXT_FREQS.size
    for name, length, present in (("mask", mask_len, has_map), ("symbol", symbol_len, count > 0)):
        if present and (length < _RANS_MIN_BYTES or length % rans.WORD_BYTES):
            raise error(f"{where}: a {length}-byte {name} payload cannot be a rANS stream")
        if not present and length:
            raise error(f"{where}: {length} {name} bytes where the segment codes none")
    if offset + mask_len + symbol_len > len(payload):
        raise error(f"{where}: declares {offset + mask_len + symbol_len} bytes, holds {len(payload)}")
    mask_bytes = bytes(payload[offset : offset + mask_len])
    symbol_bytes = bytes(payload[offset + mask_len : offset + mask_len + symbol_len])
    return count, freqs, mask_bytes, symbol_bytes


def split_base_layer(payload: bytes) -> tuple[bytes, bytes]:
    """(base layer rANS bytes, the rest of segment 1), checked."""
    if len(payload) < BASE_HEAD.size:
        raise BitstreamError(f"segment 1: {len(payload)} bytes, its base layer length alone needs {BASE_HEAD.size}")
    (length,) = BASE_HEAD.unpack_from(payload, 0)
    if length < _RANS_MIN_BYTES or length % rans.WORD_BYTES or BASE_HEAD.size + length > len(payload):
        raise BitstreamError(
            f"segment 1: a base layer of {length} bytes cannot be a rANS stream in {len(payload)} bytes"
        )
    return bytes(payload[BASE_HEAD.size : BASE_HEAD.size + length]), bytes(payload[BASE_HEAD.size + length :])
