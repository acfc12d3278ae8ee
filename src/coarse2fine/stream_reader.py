"""Reading a `.c2f` stream as it arrives: the header, then one segment at a time.

A receiver that decides for itself how much to fetch (`c2f classify --until-confident`) reads
from a file or a pipe and must act on each level as soon as its segment is complete, without
the rest of the stream. Every check of the whole-stream parser applies (header CRC and limits,
each segment's length, rANS shape and chained CRC); `bytes_read` counts what was consumed.

A source that ends inside a level segment is refused, or, with `allow_cut`, ends the levels
there: `cut` then says which level was cut and how many of its bytes arrived (the whole-stream
parser's rule, docs/bitstream.md "Cut streams"). A cut header or hyper-latent segment is
always an error: nothing can be decoded without them.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO, Iterator

from coarse2fine.container import (
    _CRC,
    _HEAD,
    _SEGMENT,
    MAX_SEGMENT_BYTES,  # refused before it is read: a pipe has no size to bound it by
    Bitstream,
    Cut,
    _check_payload_shape,
    parse_header,
)
from coarse2fine.errors import BitstreamError


class StreamReader:
    """Segments of one `.c2f` stream from a binary file object, as they arrive."""

    def __init__(self, source: BinaryIO, allow_cut: bool = False):
        self.source = source
        self.bytes_read = 0
        self.allow_cut = allow_cut
        self.cut: Cut | None = None
        head = self._read(_HEAD.size, "header", allow_short=True)
        # the level count sits in the last byte of the fixed part; parse_header checks it
        rest = _HEAD.unpack_from(head, 0)[-1] * 2 + _CRC.size if len(head) == _HEAD.size else 0
        data = head + self._read(rest, "header", allow_short=True)
        self.header, _ = parse_header(data)
        self._crc = _CRC.unpack_from(data, len(data) - _CRC.size)[0]
        self.hyper = self._segment("hyper-latent segment")
        if self.hyper is None:
            raise BitstreamError("truncated stream: no hyper-latent segment after the header")
        self.levels: list[bytes] = []

    def _read(self, n: int, what: str, allow_short: bool = False) -> bytes:
        chunks, remaining = [], n
        while remaining:
            chunk = self.source.read(remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        self.bytes_read += len(data)
        if remaining and not allow_short:
            raise BitstreamError(f"truncated {what}: the stream ended {remaining} bytes short")
        return data

    def _segment(self, name: str, level: int = 0) -> bytes | None:
        offset = self.bytes_read
        head = self._read(_SEGMENT.size, name, allow_short=True)
        if not head:
            return None  # a clean end between segments
        cut_allowed = self.allow_cut and level > 0
        if len(head) < _SEGMENT.size:
            if cut_allowed:
                self.cut = Cut(level, offset, len(head), None)
                return None
            raise BitstreamError(f"truncated {name}: {len(head)} bytes left, its length and CRC need {_SEGMENT.size}")
        length, stored_crc = _SEGMENT.unpack(head)
        _check_payload_shape(length, name)
        if length > MAX_SEGMENT_BYTES:
            raise BitstreamError(f"{name}: declares {length} bytes, more than any stream holds ({MAX_SEGMENT_BYTES})")
        payload = self._read(length, name, allow_short=cut_allowed)
        if len(payload) < length:
            self.cut = Cut(level, offset, _SEGMENT.size + len(payload), _SEGMENT.size + length)
            return None
        crc = zlib.crc32(payload, zlib.crc32(head[:4], self._crc))
        if crc != stored_crc:
            raise BitstreamError(f"CRC mismatch in {name}: the segment is corrupt or comes from another stream")
        self._crc = crc
        return payload

    def next_level(self) -> bytes | None:
        """The next level's payload once it has fully arrived; None at the end of the stream (or
        at a cut, with `allow_cut`: see `cut`)."""
        if self.cut is not None:
            return None
        if len(self.levels) == self.header.num_levels_total:
            if self.source.read(1):
                raise BitstreamError(
                    f"bytes after the last of the {self.header.num_levels_total} level segments the header declares"
                )
            return None
        payload = self._segment(f"level {len(self.levels) + 1} segment", len(self.levels) + 1)
        if payload is not None:
            self.levels.append(payload)
        return payload

    def stream(self) -> Bitstream:
        """What has arrived so far, as a stream of the levels read (at least one)."""
        return Bitstream(self.header, self.hyper, tuple(self.levels))

    def __iter__(self) -> Iterator[Bitstream]:
        """The stream after each level that arrives: levels 1, 1..2, ..."""
        while self.next_level() is not None:
            yield self.stream()
