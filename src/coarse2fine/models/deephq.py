"""DeepHQ (Lee et al., arXiv 2408.12150): a learned hierarchical quantiser on the mean-scale
hyperprior, one model whose quantisation layers each refine the last (docs/deephq.md).

- `quantizer.`: per layer and latent channel step sizes, strictly decreasing with the layer.
  Layer l cuts an element's current interval by the grid mean + (m + 1/2) step_l; the symbol
  is the child piece holding y, its probability the Gaussian mass of the child over the mass
  of the parent (models/nested.py), so the rate of layers 1..l is -log2 of the mass of the
  layer-l interval. A layer reconstructs an element to the midpoint of its interval.
- `selector.` (selective=True): an importance score per latent element from the hyper
  features and one threshold per layer, t_1 >= t_2 >= ...; layer l codes the elements scoring
  above t_l, so an element coded at a layer is coded at every later one. An element not coded
  keeps its interval and costs nothing; one never coded reconstructs to the mean. The decoder
  derives the same masks from z_hat: nothing is signalled.

Coding follows the codec rules of docs/models.md: means, scales, scores and thresholds come
from the float64 parameter path on a grid, the child CDFs from numpy float64 (models/nested.py),
so a stream decodes to the same latents on any thread count.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from compressai.ans import RansDecoder, RansEncoder
from torch import nn
from torch.nn import functional as F

from coarse2fine import rans
from coarse2fine.architectures import MAX_LAYERS, MIN_LAYERS

from . import nested
from .hyperprior import HyperpriorBase
from .registry import register_codec

GRIDS = ("centred", "mean")
SELECTORS = ("exponent", "threshold")  # the official code's per-channel exponent; a score and thresholds  # where a layer's grid sits inside a coded element's interval (nested.py)
MAX_STEP_RATIO = 16.0  # step_{l-1} / step_l <= 16: at most 17 children per parent
MIN_STEP_RATIO_GAP = 0.01  # step_{l-1} / step_l >= 1.01: strictly decreasing steps
SCALE_BOUND = 0.11  # CompressAI's lower bound on Gaussian scales
LIKELIHOOD_BOUND = 1e-9  # CompressAI's likelihood_bound
INITIAL_FIRST_STEP, INITIAL_LAST_STEP = 4.0, 0.5
SELECT_ALL_SCORE = 4.0  # initial score: above every initial threshold (everything coded)
MIN_LAYER_SYMBOLS = 8
PAD_TABLE = [0, 65535, 65536]  # symbol 0 with probability 1 - 2^-16, then escape
VALUE_LIMIT = 1e6  # corrupt hyper-latents can give absurd parameters; valid ones are far below


class HierarchicalStepSizes(nn.Module):
    """Step sizes (layers, channels): the finest step times a product of per-layer ratios in
    [1.01, 16], accumulated in log space, so step_1 > step_2 > ... > step_L > 0 always."""

    def __init__(self, layers: int, channels: int):
        super().__init__()
        ratio = (INITIAL_FIRST_STEP / INITIAL_LAST_STEP) ** (1 / (layers - 1))
        fraction = (ratio - 1 - MIN_STEP_RATIO_GAP) / (MAX_STEP_RATIO - 1 - MIN_STEP_RATIO_GAP)
        self.log_finest_step = nn.Parameter(torch.full((channels,), math.log(INITIAL_LAST_STEP)))
        self.ratio_logits = nn.Parameter(torch.full((layers - 1, channels), math.log(fraction / (1 - fraction))))

    def forward(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        logits, finest = self.ratio_logits.to(dtype), self.log_finest_step.to(dtype)
        ratios = 1 + MIN_STEP_RATIO_GAP + (MAX_STEP_RATIO - 1 - MIN_STEP_RATIO_GAP) * torch.sigmoid(logits)
        # log step_l = log step_L + sum_{j >= l} log ratio_j
        above = torch.flip(torch.cumsum(torch.flip(torch.log(ratios), [0]), 0), [0])
        return torch.exp(torch.cat([finest[None] + above, finest[None]]))


class ImportanceSelector(nn.Module):
    """Selective compression: an importance score per latent element from the hyper features
    (the 2M channels of h_s) and thresholds t_1 >= ... >= t_L. Initialised to code everything
    (the last layer's weights are zero, its bias above every threshold), so a codec
    initialised from phase 2 starts where phase 2 ended."""

    def __init__(self, layers: int, channels: int):
        super().__init__()
        self.score = nn.Sequential(nn.Conv2d(2 * channels, channels, 1), nn.LeakyReLU(inplace=True),
                                   nn.Conv2d(channels, channels, 1))
        nn.init.zeros_(self.score[2].weight)
        nn.init.constant_(self.score[2].bias, SELECT_ALL_SCORE)
        self.first_threshold = nn.Parameter(torch.tensor(0.0))
        self.threshold_gaps = nn.Parameter(torch.zeros(layers - 1))

    def thresholds(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        gaps = torch.cumsum(F.softplus(self.threshold_gaps.to(dtype)), 0)
        first = self.first_threshold.to(dtype)
        return torch.cat([first[None], first - gaps])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.score(features)


class ExponentSelector(nn.Module):
    """Selective compression as DeepHQ's official code learns it: an importance map in (0, 1) per
    latent element from the hyper features, and a learned exponent per layer and channel; layer
    l codes an element where importance ** exponent[l, c] rounds to 1 (> 1/2), and once coded
    an element stays coded. In training the mask is a Bernoulli draw with a straight-through
    gradient. Initialised to code everything (importance sigmoid(5), exponents 1)."""

    def __init__(self, layers: int, channels: int):
        super().__init__()
        self.importance_net = nn.Sequential(
            nn.Conv2d(2 * channels, channels, 1), nn.LeakyReLU(inplace=True), nn.Conv2d(channels, channels, 1)
        )
        nn.init.zeros_(self.importance_net[2].weight)
        nn.init.zeros_(self.importance_net[2].bias)
        self.exponent = nn.Parameter(torch.ones(layers, channels))

    def importance(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.clamp(self.importance_net(features) + 5.0, -20.0, 20.0))

    def probabilities(self, features: torch.Tensor) -> list[torch.Tensor]:
        """Per layer, the probability each element is coded (before the nesting)."""
        log_importance = torch.log(self.importance(features))
        exponent = self.exponent.to(features.dtype).clamp(min=0.0)
        return [torch.exp(exponent[layer].view(1, -1, 1, 1) * log_importance) for layer in range(len(exponent))]


@register_codec("deephq")
class DeepHQ(HyperpriorBase):
    """Hierarchical quantiser with `layers` segments, each coding up to all M channels."""

    def __init__(self, backbone: str = "conv", N: int = 64, M: int = 96, layers: int = 4,
                 selective: bool = True, mean_grid_bits: int = 8, backbone_options: dict | None = None,
                 grid: str = "centred", selector: str = "exponent"):
        if isinstance(layers, bool) or not isinstance(layers, int) or not MIN_LAYERS <= layers <= MAX_LAYERS:
            raise ValueError(f"layers must be an integer in {MIN_LAYERS}..{MAX_LAYERS}, got {layers!r}")
        if not isinstance(selective, bool):
            raise ValueError(f"selective must be True or False, got {selective!r}")
        if grid not in GRIDS:
            raise ValueError(f"grid must be one of {GRIDS}, got {grid!r}")
        if selector not in SELECTORS:
            raise ValueError(f"selector must be one of {SELECTORS}, got {selector!r}")
        super().__init__(backbone, N, M, mean_grid_bits, backbone_options)
        self.config.update({"layers": layers, "selective": selective, "grid": grid, "selector": selector})
        self.grid = grid
        self.num_levels = layers
        self.selective = selective
        self.quantizer = HierarchicalStepSizes(layers, self.M)
        selector_class = ExponentSelector if selector == "exponent" else ImportanceSelector
        self.selector = selector_class(layers, self.M) if selective else None
        self.max_children = nested.max_children_for(MAX_STEP_RATIO)

    @property
    def level_blocks(self) -> list[int]:
        return [self.M] * self.num_levels

    # -- training ------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> dict:
        levels, likelihoods = self._quantise(x)
        x_hats = list(self.g_s(torch.cat(levels)).chunk(self.num_levels))
        return {"x_hat": x_hats, "likelihoods": likelihoods}

    def likelihoods(self, x: torch.Tensor) -> dict:
        return self._quantise(x)[1]

    def selection_masks(self, features: torch.Tensor):
        """(hard masks, straight-through masks) per layer from the hyper features (training path)."""
        if self.selector is None:
            ones = torch.ones_like(features[:, : self.M])
            return [ones.bool()] * self.num_levels, [ones] * self.num_levels
        if isinstance(self.selector, ExponentSelector):
            return self._exponent_masks(features)
        scores = self.selector(features)
        hard, relaxed = [], []
        for threshold in self.selector.thresholds(scores.dtype):
            soft = torch.sigmoid(scores - threshold)
            mask = scores > threshold
            hard.append(mask)
            relaxed.append(mask.to(scores.dtype) + soft - soft.detach())
        return hard, relaxed

    def _exponent_masks(self, features: torch.Tensor):
        """Bernoulli(p) draws in training (rounded p otherwise), straight-through in p, nested."""
        hard, relaxed, coded = [], [], None
        for p in self.selector.probabilities(features):
            draw = torch.round(torch.rand_like(p) + p - 0.5) if self.training else torch.round(p)
            step = draw.detach() + p - p.detach()
            coded = step if coded is None else coded + (1 - coded) * step
            hard.append(coded.detach() > 0.5)
            relaxed.append(coded)
        return hard, relaxed

    def _quantise(self, x: torch.Tensor):
        """Latent of each prefix of layers and the incremental likelihoods (training path).

        y_hat is straight-through (value: interval midpoint, gradient: identity in y); the
        interval bounds carry the same straight-through shift, so the rate gradient reaches y,
        and they are differentiable in the step sizes and the scales."""
        a = self.analyse(x)
        y, means = a["y"], a["means"]
        scales = self.gaussian_conditional.lower_bound_scale(a["scales"])
        hard, relaxed = self.selection_masks(torch.cat([a["means"], a["scales"]], dim=1))
        steps = self.quantizer(y.dtype)
        residual = y - means
        shift = residual - residual.detach()
        bounded = torch.zeros_like(y, dtype=torch.bool)
        lower, upper, log_mass = torch.zeros_like(y), torch.zeros_like(y), torch.zeros_like(y)
        y_hat = means
        levels, likelihoods = [], []
        for layer in range(self.num_levels):
            origin, step = self._layer_grid(steps[layer].view(1, -1, 1, 1), lower, upper, bounded)
            # the grid point at or below y
            cut = torch.floor((residual.detach() - origin.detach()) / step.detach() - 0.5)
            piece_lower, piece_upper = origin + (cut + 0.5) * step, origin + (cut + 1.5) * step
            child_lower = torch.where(bounded, torch.maximum(lower, piece_lower), piece_lower)
            child_upper = torch.where(bounded, torch.minimum(upper, piece_upper), piece_upper)
            child_log_mass = interval_log_mass_ste(child_lower, child_upper, shift, scales)
            # log P(child | parent), bounded like CompressAI's likelihoods; the rate if coded.
            log_ratio = (child_log_mass - log_mass).clamp(math.log(LIKELIHOOD_BOUND), 0.0)
            coded, weight = hard[layer], relaxed[layer]
            likelihoods.append(torch.exp(weight * log_ratio))
            child_y_hat = means + (child_lower + child_upper) / 2 + shift
            y_hat = weight * child_y_hat + (1 - weight) * y_hat
            levels.append(y_hat)
            lower = torch.where(coded, child_lower, lower)
            upper = torch.where(coded, child_upper, upper)
            log_mass = torch.where(coded, child_log_mass, log_mass)
            bounded = bounded | coded
        return levels, {"z": a["z_likelihoods"], "y": likelihoods}

    def _layer_grid(self, step, lower, upper, bounded):
        """(origin, step) of a layer's grid per element (training path): at the mean for an
        element coded for the first time; for one already bounded, as `grid` says (nested.py:
        centred on its interval, the step widened to fill it when the edge piece would be under
        MIN_LEFTOVER of a step)."""
        zero = torch.zeros_like(lower)
        if self.grid == "mean":
            return zero, step.expand_as(lower)
        half = (upper - lower) / 2
        gap = torch.clamp(half - step / 2, min=0.0)
        inner = torch.floor(gap.detach() / step.detach())
        leftover = torch.remainder(gap.detach(), step.detach()) / step.detach()
        widen = bounded & (half.detach() >= step.detach() / 2) & (leftover < nested.MIN_LEFTOVER)
        origin = torch.where(bounded, (lower + upper) / 2, zero)
        return origin, torch.where(widen, half / (inner + 0.5), step.expand_as(lower))

    # -- the exact parameter path --------------------------------------------------------------
    def _exact_masks(self, features: torch.Tensor) -> list[torch.Tensor]:
        """The coded elements of each layer, float64 and on the grid on both sides."""
        selector = self._float64_selector()
        if isinstance(selector, ExponentSelector):
            masks, coded = [], None
            for p in selector.probabilities(features):
                chosen = self.on_grid(p) > 0.5
                coded = chosen if coded is None else coded | chosen
                masks.append(coded)
            return masks
        scores = self.on_grid(selector(features))
        return [scores > t for t in self.on_grid(self.selector.thresholds(torch.float64).detach())]

    def _float64_selector(self):
        return self.float64_copy("selector")

    def exact_layer_parameters(self, z_hat: torch.Tensor) -> dict:
        """Everything the decoder derives from z_hat, float64 and on grids, identical on both
        sides: means (2^-bits grid), scales (log-scale on the same grid), steps (layers, M),
        and the masks of the elements each layer codes."""
        features = self._float64_h_s()(z_hat.double())
        features = torch.nan_to_num(features, nan=0.0).clamp(-VALUE_LIMIT, VALUE_LIMIT)
        means, scales = features.chunk(2, dim=1)
        means = self.on_grid(means)
        scales = torch.exp(self.on_grid(torch.log(scales.clamp(min=SCALE_BOUND))))
        steps = self.quantizer(torch.float64).detach()
        if self.selector is None:
            masks = [torch.ones_like(means, dtype=torch.bool)] * self.num_levels
        else:
            masks = self._exact_masks(features)
        return {"means": means, "scales": scales, "steps": steps, "masks": masks}

    # -- coding --------------------------------------------------------------------------------
    @torch.no_grad()
    def compress(self, x: torch.Tensor) -> dict:
        self._check_input(x)
        y = self.g_a(x)
        z_strings, shape, z_hat = self.code_hyper(y)
        params = self.exact_layer_parameters(z_hat)
        tables = self.gaussian_tables()
        layer_strings = [[] for _ in range(self.num_levels)]
        levels = [[] for _ in range(self.num_levels)]
        for b in range(y.shape[0]):
            coder = LayerCoder(self, params, b, tables)
            residual = (y[b].double() - params["means"][b]).reshape(-1).numpy()
            for layer in range(self.num_levels):
                layer_strings[layer].append(coder.encode_layer(layer, residual))
                levels[layer].append(coder.latent())
        y_hat_levels = [torch.stack(level) for level in levels]
        return {"strings": [z_strings, *layer_strings], "shape": shape,
                "y_hat": y_hat_levels[-1], "y_hat_levels": y_hat_levels}

    @torch.no_grad()
    def decompress(self, strings: list, shape) -> dict:
        layers = self.check_segments(strings)
        params = self.exact_layer_parameters(self.decode_hyper(strings[0], shape))
        tables = self.gaussian_tables()
        latents = []
        for b in range(len(strings[0])):
            coder = LayerCoder(self, params, b, tables)
            for layer in range(layers):
                coder.decode_layer(layer, strings[1 + layer][b])
            latents.append(coder.latent())
        y_hat = torch.stack(latents)
        return {"x_hat": self.synthesise(y_hat), "y_hat": y_hat, "levels": layers}


def interval_log_mass_ste(lower, upper, shift, scales):
    """interval_log_mass of [lower, upper) with the straight-through shift of y on both bounds:
    the value is the mass of the interval, the gradient moves y towards the mode."""
    return nested.interval_log_mass(lower + shift, upper + shift, scales, LIKELIHOOD_BOUND)


class LayerCoder:
    """The nested-interval state of one image (flattened C, H, W) and the coding of its layers.

    A layer's symbols, in this order: the elements coded for the first time (ordinary bins of
    step_l, CompressAI's Gaussian tables indexed by scale / step_l, escape-coded tails), then the
    elements refined (child piece of their interval, one CDF per distinct child distribution),
    each group in raster order (channel, row, column). Elements whose interval holds no grid
    point of the layer have a single child and cost no symbol."""

    def __init__(self, codec: DeepHQ, params: dict, b: int, tables):
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
        cdfs = nested.quantized_child_cdfs(self.lower[refined], self.upper[refined], first, count,
                                           grid_step, self.scales[refined], width, origin)
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
        lower, upper = nested.child_bounds(self.lower[refined], self.upper[refined], first, count, pieces, grid_step, origin)
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
