"""The layer between the codecs and CompressAI's rANS coder: the checks its C++ skips.

CompressAI's coder (compressai.ans) trusts its inputs: a CDF table that does not start at 0,
end at 2^16 and rise strictly, a length beyond the table, a huge offset or symbol, or a payload
shorter than what is decoded from it makes it read or write out of bounds, divide by zero or
loop for ever. Everything that reaches it from a file (a checkpoint's tables, a stream's
payloads) or from weights (symbols) passes through here first. Models and the coding package
both import this module; it imports neither.
"""

from __future__ import annotations

import torch

from .errors import LatentRangeError

PRECISION = 16  # CompressAI's rANS precision: every CDF ends at 2^16
CDF_TOTAL = 1 << PRECISION
MAX_OFFSET = 1 << 20  # far beyond any trained table (|offset| is a few thousand at most)
MAX_TABLE_WIDTH = 1 << 18
MAX_TABLE_ENTRIES = 1 << 26  # rows x width: 256 MB of int32 at most
# Largest |symbol - offset| the coder is handed: its escape (bypass) path doubles the value in
# int32 and shifts it until zero, which overflows (and then never ends) near 2^30.
MAX_SYMBOL = 1 << 24
WORD_BYTES = 4
_GUARD_BYTES = 256


class TableError(ValueError):
    """Entropy-coding tables the rANS coder cannot use safely; the message names the table."""


def check_tables(cdf: torch.Tensor, lengths: torch.Tensor, offsets: torch.Tensor, what: str) -> None:
    """Raise TableError unless (cdf, lengths, offsets) is a set of tables CompressAI can code with.

    cdf is (tables, width) int32; row i is used up to lengths[i]: it must start at 0, end at
    2^16 and rise strictly (every symbol, the escape symbol included, has a frequency >= 1).
    """

    def fail(message: str):
        raise TableError(f"{what}: {message}")

    for name, t, dims in (("quantized CDF", cdf, 2), ("CDF lengths", lengths, None), ("offsets", offsets, None)):
        if not isinstance(t, torch.Tensor) or t.dtype != torch.int32 or (dims and t.dim() != dims):
            kind = f"{t.dtype} tensor of shape {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
            fail(f"{name} must be an int32 tensor{' of 2 dimensions' if dims else ''}, got {kind}")
    rows, width = cdf.shape
    if rows < 1 or not 3 <= width <= MAX_TABLE_WIDTH or rows * width > MAX_TABLE_ENTRIES:
        fail(
            f"quantized CDF of shape {tuple(cdf.shape)} outside the limits (width 3..{MAX_TABLE_WIDTH}, "
            f"at most {MAX_TABLE_ENTRIES} entries)"
        )
    lengths, offsets = lengths.reshape(-1).long(), offsets.reshape(-1).long()
    if lengths.numel() != rows or offsets.numel() != rows:
        fail(f"{lengths.numel()} CDF lengths and {offsets.numel()} offsets for {rows} tables")
    bad = ((lengths < 3) | (lengths > width)).nonzero()
    if len(bad):
        i = int(bad[0])
        fail(f"table {i}: CDF length {int(lengths[i])} outside 3..{width} (the table's width)")
    bad = (offsets.abs() > MAX_OFFSET).nonzero()
    if len(bad):
        i = int(bad[0])
        fail(f"table {i}: offset {int(offsets[i])} outside +-{MAX_OFFSET}")
    cdf = cdf.long()
    bad = (cdf[:, 0] != 0).nonzero()
    if len(bad):
        fail(f"table {int(bad[0])}: CDF starts at {int(cdf[int(bad[0]), 0])}, not 0")
    last = cdf.gather(1, (lengths - 1)[:, None])[:, 0]
    bad = (last != CDF_TOTAL).nonzero()
    if len(bad):
        i = int(bad[0])
        fail(f"table {i}: CDF ends at {int(last[i])}, not {CDF_TOTAL}")
    used = torch.arange(width - 1)[None, :] < (lengths - 1)[:, None]
    bad = ((cdf[:, 1:] <= cdf[:, :-1]) & used).nonzero()
    if len(bad):
        i, j = (int(v) for v in bad[0])
        fail(
            f"table {i}: CDF does not rise at symbol {j} ({int(cdf[i, j])} -> {int(cdf[i, j + 1])}): "
            "a symbol of zero frequency cannot be coded"
        )


def check_scale_table(scale_table: torch.Tensor, rows: int, what: str) -> None:
    """A Gaussian conditional's scales: finite, positive, rising, one per CDF table."""
    if not isinstance(scale_table, torch.Tensor) or scale_table.dim() != 1 or not scale_table.is_floating_point():
        raise TableError(f"{what}: scale table must be a 1-D float tensor")
    if scale_table.numel() != rows:
        raise TableError(f"{what}: {scale_table.numel()} scales for {rows} CDF tables")
    if not torch.isfinite(scale_table).all() or (scale_table <= 0).any() or (scale_table[1:] <= scale_table[:-1]).any():
        raise TableError(f"{what}: scale table must be finite, positive and strictly rising")


def to_symbols(values: torch.Tensor, what: str = "latent") -> torch.Tensor:
    """round(values) as int32 symbols; LatentRangeError if any is not finite or beyond MAX_SYMBOL."""
    rounded = torch.round(values)
    if not torch.isfinite(rounded).all() or (rounded.numel() and rounded.abs().max() > MAX_SYMBOL):
        raise LatentRangeError(
            f"{what} values outside the entropy coder's range (|v| <= {MAX_SYMBOL}): "
            "the codec's weights or its input are corrupt"
        )
    return rounded.int()


def max_payload_bytes(symbols: int) -> int:
    """The most bytes a valid rANS payload of `symbols` symbols can take: 16 bits per symbol in
    the table, at most 48 more when it escapes (an int32 value in 4-bit chunks plus their count),
    and the coder's 8-byte flush, in whole words."""
    bits = symbols * (PRECISION + 48)
    return -(-bits // 32) * WORD_BYTES + 2 * WORD_BYTES + 8


def guarded(payload: bytes, symbols: int) -> bytes:
    """`payload` followed by the zeros that keep a corrupt payload's reads in memory we own.

    A valid payload is consumed exactly and never read past its end. A corrupt one can make
    the decoder read on: at most one word per symbol, plus escape-mode reads bounded by about
    16 bytes per payload byte. The zeros change nothing for a valid payload; callers bound the
    payload by max_payload_bytes first, so the padding is proportional to the symbols decoded.
    """
    return bytes(payload) + bytes(WORD_BYTES * symbols + 16 * len(payload) + _GUARD_BYTES)
