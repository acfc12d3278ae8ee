"""The stream reader, where the coding package's users look for it (coarse2fine.stream_reader:
it lives outside this package so that `c2f` reads a header without importing torch)."""

from coarse2fine.stream_reader import MAX_SEGMENT_BYTES, StreamReader

__all__ = ["MAX_SEGMENT_BYTES", "StreamReader"]
