"""The DeepHQ codec: the hyperprior backbone, the quantiser and selector, training and coding."""

from __future__ import annotations

import math

import torch

from coarse2fine.architectures.deephq import MAX_LAYERS, MIN_LAYERS

from .. import nested
from ..hyperprior import HyperpriorBase
from ..registry import register_codec
from .coder import LayerCoder
from .constants import DEQUANTISATIONS, GRIDS, LIKELIHOOD_BOUND, MAX_STEP_RATIO, SCALE_BOUND, SELECTORS, VALUE_LIMIT
from .quantizer import DequantisationGains, HierarchicalStepSizes, interval_log_mass_ste
from .selection import ExponentSelector, ImportanceSelector


@register_codec("deephq")
class DeepHQ(HyperpriorBase):
    """Hierarchical quantiser with `layers` segments, each coding up to all M channels."""

    def __init__(
        self,
        backbone: str = "conv",
        N: int = 64,
        M: int = 96,
        layers: int = 4,
        selective: bool = True,
        mean_grid_bits: int = 8,
        backbone_options: dict | None = None,
        grid: str = "centred",
        selector: str = "exponent",
        dequantisation: str = "midpoint",
    ):
        if isinstance(layers, bool) or not isinstance(layers, int) or not MIN_LAYERS <= layers <= MAX_LAYERS:
            raise ValueError(f"layers must be an integer in {MIN_LAYERS}..{MAX_LAYERS}, got {layers!r}")
        if not isinstance(selective, bool):
            raise ValueError(f"selective must be True or False, got {selective!r}")
        if grid not in GRIDS:
            raise ValueError(f"grid must be one of {GRIDS}, got {grid!r}")
        if selector not in SELECTORS:
            raise ValueError(f"selector must be one of {SELECTORS}, got {selector!r}")
        if dequantisation not in DEQUANTISATIONS:
            raise ValueError(f"dequantisation must be one of {DEQUANTISATIONS}, got {dequantisation!r}")
        super().__init__(backbone, N, M, mean_grid_bits, backbone_options)
        self.config.update({"layers": layers, "selective": selective, "grid": grid, "selector": selector})
        if dequantisation != "midpoint":  # the default leaves the config (and the shipped model's) as it was
            self.config["dequantisation"] = dequantisation
        self.grid = grid
        self.num_levels = layers
        self.selective = selective
        self.quantizer = HierarchicalStepSizes(layers, self.M)
        selector_class = ExponentSelector if selector == "exponent" else ImportanceSelector
        self.selector = selector_class(layers, self.M) if selective else None
        self.max_children = nested.max_children_for(MAX_STEP_RATIO)
        # No module at all for the midpoint: checkpoints without the gains load unchanged.
        self.dequantiser = DequantisationGains(layers, self.M) if dequantisation == "learned" else None

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
            levels.append(self.dequantise(y_hat, layer))
            lower = torch.where(coded, child_lower, lower)
            upper = torch.where(coded, child_upper, upper)
            log_mass = torch.where(coded, child_log_mass, log_mass)
            bounded = bounded | coded
        return levels, {"z": a["z_likelihoods"], "y": likelihoods}

    def dequantise(self, y_hat: torch.Tensor, layer: int) -> torch.Tensor:
        """The latent the synthesis reads after `layer`: the midpoints, times the learned gains."""
        return y_hat if self.dequantiser is None else self.dequantiser(y_hat, layer)

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
    def compress(self, x: torch.Tensor, pixels: int | None = None) -> dict:
        """Every quantisation layer of x (padded); `pixels` is unused: the layers are set by
        their quantisation steps, not by a rate target."""
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
        y_hat_levels = [self.dequantise(torch.stack(level), layer) for layer, level in enumerate(levels)]
        return {
            "strings": [z_strings, *layer_strings],
            "shape": shape,
            "y_hat": y_hat_levels[-1],
            "y_hat_levels": y_hat_levels,
        }

    @torch.no_grad()
    def decompress(self, strings: list, shape) -> dict:
        coders, layers = self._layer_coders(strings, shape)
        for layer in range(layers):
            for b, coder in enumerate(coders):
                coder.decode_layer(layer, strings[1 + layer][b])
        y_hat = self.dequantise(torch.stack([coder.latent() for coder in coders]), layers - 1)
        return {"x_hat": self.synthesise(y_hat), "y_hat": y_hat, "levels": layers}

    @torch.no_grad()
    def decompress_levels(self, strings: list, shape) -> list[dict]:
        """decompress() of every prefix 1..n in one pass: each layer refines the intervals the
        previous ones left, so the decoder's state after layer l is the prefix-l decode (the
        same symbols, the same arithmetic); n layer decodes instead of n(n+1)/2."""
        coders, layers = self._layer_coders(strings, shape)
        out = []
        for layer in range(layers):
            for b, coder in enumerate(coders):
                coder.decode_layer(layer, strings[1 + layer][b])
            y_hat = self.dequantise(torch.stack([coder.latent() for coder in coders]), layer)
            out.append({"x_hat": self.synthesise(y_hat), "y_hat": y_hat, "levels": layer + 1})
        return out

    def _layer_coders(self, strings: list, shape) -> tuple[list[LayerCoder], int]:
        layers = self.check_segments(strings)
        params = self.exact_layer_parameters(self.decode_hyper(strings[0], shape))
        tables = self.gaussian_tables()
        return [LayerCoder(self, params, b, tables) for b in range(len(strings[0]))], layers
