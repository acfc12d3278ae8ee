"""DeepHQ's layer coder: the nested-interval state of one image and the rANS coding of its layers."""

from __future__ import annotations

import numpy as np
import torch
from compressai.ans import RansDecoder, RansEncoder

from coarse2fine import rans

from .. import nested
from .constants import MIN_LAYER_SYMBOLS, PAD_TABLE


class LayerCoder:
    """The nested-interval state of one image (flattened C, H, W) and the coding of its layers.

    A layer's symbols, in this order: the elements coded for the first time (ordinary bins of
    step_l, CompressAI's Gaussian tables indexed by scale / step_l, escape-coded tails), then the
    elements refined (child piece of their interval, one CDF per distinct child distribution),
    each group in raster order (channel, row, column). Elements whose interval holds no grid
    point of the layer have a single child and cost no symbol."""

    def __init__(self, codec, params: dict, b: int, tables):
        self.codec = codec
        self.shape = params["means"].shape[1:]
        self.means = params["means"][b].reshape(-1).numpy()
        self.scales = params["scales"][b].reshape(-1).numpy()
        positions = int(np.prod(self.shape[1:]))
        self.steps = np.repeat(params["steps"].numpy(), positions, axis=1)  # (layers, elements)
        self.masks = [m[b].reshape(-1).numpy() for m in params["masks"]]
        self.gauss_cdf, self.gauss_lengths, self.gauss_offsets = tables
        size = self.means.size
        self.bounded = np.zeros(size, dtype=bool)
        self.lower, self.upper = np.zeros(size), np.zeros(size)

    def latent(self) -> torch.Tensor:
        offset = np.where(self.bounded, (self.lower + self.upper) / 2, 0.0)
        return torch.from_numpy(self.means + offset).float().reshape(self.shape)

    def _plan(self, layer: int):
        """What `layer` codes, from state the decoder knows: (positions coded for the first time,
        positions refined, their first cut and child count, the rANS arguments (indexes, cdfs,
        cdf lengths, offsets) of every symbol of the layer, padding included)."""
        step = self.steps[layer]
        coded = self.masks[layer]
        fresh = np.flatnonzero(coded & ~self.bounded)
        refined = np.flatnonzero(coded & self.bounded)
        fresh_scale = torch.from_numpy(self.scales[fresh] / step[fresh])
        gauss_indexes = self.codec.gaussian_conditional.build_indexes(fresh_scale).tolist()
        lower, upper = self.lower[refined], self.upper[refined]
        if self.codec.grid == "centred":
            origin, grid_step, first, count = nested.centred_grid(lower, upper, step[refined], self.codec.max_children)
        else:
            origin, grid_step = np.zeros_like(lower), step[refined]
            first, count = nested.children(lower, upper, grid_step, self.codec.max_children)
        split = count > 1
        refined, first, count = refined[split], first[split], count[split]
        origin, grid_step = origin[split], grid_step[split]
        # Tables as wide as this layer's largest family (usually 2-3 children, not the cap).
        width = int(count.max()) if count.size else 1
        cdfs = nested.quantized_child_cdfs(
            self.lower[refined], self.upper[refined], first, count, grid_step, self.scales[refined], width, origin
        )
        unique, inverse = nested.distinct_rows(cdfs)
        unique_lengths = (unique < nested.CDF_TOTAL).sum(axis=1) + 1
        child_tables = [row[:n].tolist() for row, n in zip(unique, unique_lengths)]
        base = len(self.gauss_cdf)
        indexes = gauss_indexes + (base + inverse.reshape(-1)).tolist()
        # CompressAI's rANS encoder sizes its output by the symbol count and overruns it for
        # fewer than a few symbols: a short layer is padded with certain (zero-bit) symbols.
        indexes += [base + len(child_tables)] * max(0, MIN_LAYER_SYMBOLS - len(indexes))
        cdf_list = self.gauss_cdf + child_tables + [PAD_TABLE]
        lengths = self.gauss_lengths + unique_lengths.tolist() + [len(PAD_TABLE)]
        offsets = self.gauss_offsets + [0] * (len(child_tables) + 1)
        family = (refined, first, count, origin, grid_step)
        return fresh, family, (indexes, cdf_list, lengths, offsets)

    def _apply(self, layer, fresh, bins, family, pieces):
        refined, first, count, origin, grid_step = family
        step = self.steps[layer]
        self.lower[fresh] = (bins - 0.5) * step[fresh]
        self.upper[fresh] = (bins + 0.5) * step[fresh]
        self.bounded[fresh] = True
        lower, upper = nested.child_bounds(
            self.lower[refined], self.upper[refined], first, count, pieces, grid_step, origin
        )
        self.lower[refined], self.upper[refined] = lower, upper

    def encode_layer(self, layer: int, residual: np.ndarray) -> bytes:
        fresh, family, tables = self._plan(layer)
        refined, first, count, origin, grid_step = family
        step = self.steps[layer]
        if count.size and int(count.max()) >= self.codec.max_children:
            raise RuntimeError("a parent interval has more children than the step ratio allows; steps are inconsistent")
        bins = rans.to_symbols(torch.from_numpy(residual[fresh] / step[fresh]), "DeepHQ bin").numpy().astype(np.float64)
        pieces = nested.child_index(residual[refined], first, count, grid_step, origin)
        symbols = bins.astype(np.int64).tolist() + pieces.tolist()
        symbols += [0] * (len(tables[0]) - len(symbols))
        string = RansEncoder().encode_with_indexes(symbols, *tables)
        self._apply(layer, fresh, bins, family, pieces)
        return string

    def decode_layer(self, layer: int, string: bytes) -> None:
        fresh, family, tables = self._plan(layer)
        count = family[2]
        symbols = np.asarray(RansDecoder().decode_with_indexes(string, *tables), dtype=np.int64)
        # A corrupt payload can decode escape-coded values anywhere in int32: the bins stay
        # finite in float64, the child indexes are clipped to the children that exist.
        bins = symbols[: fresh.size].astype(np.float64)
        pieces = np.clip(symbols[fresh.size : fresh.size + family[0].size], 0, count - 1)
        self._apply(layer, fresh, bins, family, pieces)
