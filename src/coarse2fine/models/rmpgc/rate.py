"""RMPGC's rate control: the segment sizes a target rate asks for, estimated from the per-position
bits and corrected from the real coded size, and the coding of one image's segments."""

from __future__ import annotations

import numpy as np
import torch
from compressai.ans import BufferedRansEncoder

from coarse2fine.container import SEGMENT_FRAMING, header_size

from .segments import _FLUSH_ESTIMATE, BASE_HEAD, CONTEXT_FREQS, SEGMENT_HEAD, encode_mask, pack_segment

RATE_TOLERANCE = 0.10  # the accepted relative error of the cumulative size per segment
_RATE_AIM = 0.02  # stop correcting once this close
_RATE_ITERATIONS = 4


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


def segment_size_estimates(sorted_bits: np.ndarray, start: int) -> np.ndarray:
    """Estimated payload bytes (container framing included) of a segment that adds the
    positions start..S of the ranking, for every S in start..P; sorted_bits: bits per
    position in rank order."""
    total = len(sorted_bits)
    cumulative = np.concatenate([[0.0], np.cumsum(sorted_bits, dtype=np.float64)])
    new = np.arange(start, total + 1) - start
    remaining = total - start
    symbols = (cumulative[start:] - cumulative[start]) / 8 + np.where(new > 0, _FLUSH_ESTIMATE, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = new / max(remaining, 1)
    has_map = (new > 0) & (new < remaining)
    mask = np.where(has_map, CONTEXT_FREQS.size + remaining * _binary_entropy(fraction) / 8 + _FLUSH_ESTIMATE, 0)
    return SEGMENT_FRAMING + SEGMENT_HEAD.size + mask + symbols


def closest_count(estimates: np.ndarray, target: float) -> int:
    """The number of new positions whose estimated size comes closest to `target`. The
    estimates are made non-decreasing first (a segment adding positions never gets smaller):
    the mask term alone peaks at half the remaining positions and must not pull the choice."""
    envelope = np.maximum.accumulate(estimates)
    below = int(np.searchsorted(envelope, target, side="right"))  # envelope[:below] <= target
    if below == 0:
        return 0
    if below < len(envelope) and envelope[below] - target < target - envelope[below - 1]:
        return below
    return below - 1


def container_bytes(codec) -> int:
    """Bytes of the .c2f header plus the framing of the hyper-latent segment."""
    return header_size(len(codec.level_blocks)) + SEGMENT_FRAMING


class _ImageCoder:
    """Codes the segments of one image: the mask side information and the symbols."""

    def __init__(self, codec, symbols: torch.Tensor, indexes: torch.Tensor):
        self.codec = codec
        self.symbols = symbols.int()  # (M, h, w)
        self.indexes = indexes
        self.tables = codec.gaussian_tables()
        self.shape = tuple(symbols.shape[-2:])

    def segment(self, previous: np.ndarray, new: np.ndarray) -> bytes:
        count, remaining = int(new.sum()), int((~previous).sum())
        freqs, mask_bytes, symbol_bytes = None, b"", b""
        if 0 < count < remaining:
            freqs, mask_bytes = encode_mask(new, previous)
        if count:
            keep = torch.from_numpy(new).to(self.symbols.device)
            cb = self.codec.base_channels
            encoder = BufferedRansEncoder()
            encoder.encode_with_indexes(
                self.symbols[cb:, keep].reshape(-1).tolist(), self.indexes[cb:, keep].reshape(-1).tolist(), *self.tables
            )
            symbol_bytes = encoder.flush()
        return pack_segment(count, freqs, mask_bytes, symbol_bytes)

    def base_layer(self) -> bytes:
        """The base channels at every position, framed for the front of segment 1 (b'' without)."""
        cb = self.codec.base_channels
        if not cb:
            return b""
        encoder = BufferedRansEncoder()
        encoder.encode_with_indexes(
            self.symbols[:cb].reshape(-1).tolist(), self.indexes[:cb].reshape(-1).tolist(), *self.tables
        )
        data = encoder.flush()
        return BASE_HEAD.pack(len(data)) + data

    def rate_controlled(self, order: np.ndarray, sorted_bits: np.ndarray, fixed_bytes: int, pixels: int):
        """(segment strings, cumulative masks, report): S_k chosen so the actual size through
        segment k comes closest to target k (checked with the real coded sizes)."""
        total = len(order)
        previous = np.zeros(self.shape, dtype=bool)
        base = self.base_layer()  # in segment 1 whatever its positions: a fixed cost of every target
        size, start = fixed_bytes + len(base), 0
        strings, masks, report = [], [], []

        def new_mask(stop: int) -> np.ndarray:
            new = np.zeros(total, dtype=bool)
            new[order[start:stop]] = True
            return new.reshape(self.shape)

        for target_bpp, target in zip(self.codec.target_bpp, self.codec._target_bytes(pixels)):
            estimates = size + segment_size_estimates(sorted_bits, start)
            tried: dict[int, bytes] = {}
            correction = 0.0
            for _ in range(_RATE_ITERATIONS):
                pick = closest_count(estimates + correction, target)
                if pick in tried:
                    break
                tried[pick] = self.segment(previous, new_mask(start + pick))
                actual = size + 8 + len(tried[pick])
                if abs(actual - target) <= _RATE_AIM * target:
                    break
                correction = actual - estimates[pick]
            pick = min(tried, key=lambda p: (abs(size + 8 + len(tried[p]) - target), p))
            string = tried[pick]
            new = new_mask(start + pick)
            size += 8 + len(string)
            start += pick
            previous = previous | new
            achieved = size * 8 / pixels
            if abs(achieved - target_bpp) <= RATE_TOLERANCE * target_bpp:
                status = "ok"
            elif pick == 0 and achieved > target_bpp:
                status = "below_floor"  # even a segment with no new positions overshoots
            elif start == total and achieved < target_bpp:
                status = "above_ceiling"  # every position is coded and the target is not reached
            else:
                status = "off_target"
            strings.append(base + string if not strings else string)
            masks.append(previous.copy())
            report.append(
                {"target_bpp": target_bpp, "bpp": achieved, "new_positions": pick, "positions": start, "status": status}
            )
        return strings, masks, report
