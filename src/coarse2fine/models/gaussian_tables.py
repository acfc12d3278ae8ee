"""The Gaussian CDF tables every hyperprior codec of the package codes with, and the checked
entropy bottleneck of the hyper-latent: the finer scale table, a one-search table lookup, the
tables as the rANS coder takes them (whole, or only the rows one call uses)."""

from __future__ import annotations

import torch
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.models.base import get_scale_table

from coarse2fine import rans

# Scales of the Gaussian CDF tables. CompressAI's default (64 log-spaced scales, 13 % apart)
# codes each element with the next table scale above its own, which cost 2-3 % over the
# likelihood estimate on our streams; 512 scales (1.5 % apart) bring that to about 0.5 %
# (BENCHMARKS.md, "Entropy-coding overhead").
SCALE_TABLE_LEVELS = 512


def fine_scale_table():
    return get_scale_table(levels=SCALE_TABLE_LEVELS)


class TableGaussianConditional(GaussianConditional):
    """CompressAI's GaussianConditional, with the scale-table lookup done by one binary search.

    CompressAI's build_indexes compares every scale with every table entry in a Python loop
    (512 tensor passes with our table): 10-15 % of an encode or decode. The index is the number
    of table entries (all but the last) below the bounded scale, which is what searchsorted
    computes; the result is identical, element for element (tests/test_models.py).
    """

    def build_indexes(self, scales: torch.Tensor) -> torch.Tensor:
        scales = self.lower_bound_scale(scales)
        table = self.scale_table[:-1].to(device=scales.device, dtype=scales.dtype)
        return torch.searchsorted(table, scales.contiguous(), right=False).int()


class CheckedEntropyBottleneck(EntropyBottleneck):
    """CompressAI's EntropyBottleneck that refuses hyper-latents outside the rANS coder's range
    (corrupt weights) before they reach it; same parameters and state_dict keys."""

    def compress(self, x):
        medians = self._extend_ndims(self._get_medians().detach(), x.dim() - 2)
        rans.to_symbols(x.detach() - medians, "hyper-latent")
        return super().compress(x)


def gaussian_cdf_lists(gc: GaussianConditional):
    """(cdfs, lengths, offsets) as the rANS coder takes them, converted once per table set
    (the lists are kept on the module; a new update_scale_table makes new tensors)."""
    if gc._quantized_cdf.numel() == 0:
        raise RuntimeError("entropy tables are empty: call codec.update(force=True) before coding")
    table = gc._quantized_cdf
    key = (table.data_ptr(), tuple(table.shape), table._version)  # any change of the tables changes it
    cached = getattr(gc, "_c2f_cdf_lists", None)
    if cached is None or cached[0] != key:
        lists = (
            gc.quantized_cdf.tolist(),
            gc.cdf_length.reshape(-1).int().tolist(),
            gc.offset.reshape(-1).int().tolist(),
        )
        cached = (key, lists)
        object.__setattr__(gc, "_c2f_cdf_lists", cached)
    return cached[1]


def table_subset(tables, indexes: list[int]):
    """(indexes, cdfs, lengths, offsets) naming only the CDFs `indexes` use, each cut to its length.

    The rANS coder converts the whole table list on every call; coding one position at a time
    (the spatial context) would convert all 512 padded CDFs per position. The coded bits are the
    same: the coder reads a CDF only up to its length.
    """
    cdf, lengths, offsets = tables
    used = sorted(set(indexes))
    local = {index: i for i, index in enumerate(used)}
    return (
        [local[i] for i in indexes],
        [cdf[i][: lengths[i]] for i in used],
        [lengths[i] for i in used],
        [offsets[i] for i in used],
    )
