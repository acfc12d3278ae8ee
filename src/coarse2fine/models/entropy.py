"""The level-block entropy model: a channel-wise autoregressive Gaussian conditional over
ordered level blocks of the latent.

The M latent channels are split into level blocks (e.g. 32/32/32, paper 128/96/96); block k
carries what level k of the hierarchy adds. Each block may be cut into finer slices. Slice j
is coded with a Gaussian whose mean and scale come from the hyperprior features and from all
slices decoded before it, so a decoder holding only blocks 1..k can decode them without
anything from later blocks. Optional parts:
- delta networks (blocks 2..L): refine the mean and scale of later blocks from the context
  and the base parameters; their last layer is zero-initialised, so training starts from the
  plain model; mean += d_mu, scale *= exp(0.5 * tanh(d_sigma)) (a bounded correction);
- latent residual prediction (Minnen & Singh 2020): y_hat += 0.5 * tanh(lrp(context));
- `context="causal_attention"`: TIC's causal spatial-attention context over the slice's channel
  prefix (spatial_context.py) corrects each position's mean and scale from the positions decoded
  before it. Later blocks stay out of it, so every prefix still decodes on its own; coding then
  goes position by position in raster order within each slice.

Coding (`encode_slices` / `decode_slices`) is written to be bit-exact across machines and
thread counts; see docs/models.md, "Deterministic entropy parameters".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from compressai.ans import BufferedRansEncoder, RansDecoder
from compressai.layers import conv3x3
from compressai.ops import quantize_ste
from torch import nn

from coarse2fine import rans

from .gaussian_tables import TableGaussianConditional, gaussian_cdf_lists, table_subset
from .spatial_context import CausalAttentionContext, ContextFusion

# Entropy-model contexts: channel-wise only (the CPU default), or with TIC's spatial attention.
CONTEXTS = ("channel", "causal_attention")


@dataclass(frozen=True)
class Slice:
    level: int  # 0-based index of the level block that holds the slice
    start: int  # first latent channel
    end: int  # one past the last latent channel

    @property
    def channels(self) -> int:
        return self.end - self.start


def plan_slices(level_blocks: list[int], slices_per_block: int) -> list[Slice]:
    """Cut every level block into `slices_per_block` near-equal channel slices, in order."""
    slices, start = [], 0
    for level, size in enumerate(level_blocks):
        bounds = [start + size * i // slices_per_block for i in range(slices_per_block + 1)]
        slices += [Slice(level, a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        start += size
    return slices


def _param_net(in_ch: int, width: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        conv3x3(in_ch, width),
        nn.GELU(),
        conv3x3(width, max(width // 2, out_ch)),
        nn.GELU(),
        conv3x3(max(width // 2, out_ch), out_ch),
    )


class DeltaNet(nn.Module):
    """Refines (mean, scale) of one slice of a later block; identity at initialisation."""

    def __init__(self, in_ch: int, width: int, out_ch: int, depth: int = 3):
        super().__init__()
        layers: list[nn.Module] = []
        ch = in_ch + 2 * out_ch
        for _ in range(depth - 1):
            layers += [conv3x3(ch, width), nn.GELU()]
            ch = width
        last = conv3x3(ch, 2 * out_ch)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*layers, last)

    def forward(self, context: torch.Tensor, mean: torch.Tensor, scale: torch.Tensor):
        d_mean, d_scale = self.net(torch.cat([context, mean, scale], dim=1)).chunk(2, dim=1)
        return mean + d_mean, scale * torch.exp(0.5 * torch.tanh(d_scale))


class LevelBlockEntropyModel(nn.Module):
    def __init__(
        self,
        M: int,
        level_blocks: list[int],
        slices_per_block: int = 1,
        delta: bool = True,
        lrp: bool = False,
        param_width: int | None = None,
        delta_width: int | None = None,
        delta_depth: int = 3,
        mean_grid_bits: int = 8,
        context: str = "channel",
        context_heads: int = 16,
        context_window: int = 5,
    ):
        super().__init__()
        if context not in CONTEXTS:
            raise ValueError(f"context must be one of {', '.join(CONTEXTS)}, got {context!r}")
        self.M, self.level_blocks = M, list(level_blocks)
        self.slices = plan_slices(self.level_blocks, slices_per_block)
        self.lrp = lrp
        self.mean_grid = float(2**mean_grid_bits)
        width = param_width or M
        # hyper features: M channels for the means, M for the scales
        self.mean_nets = nn.ModuleList(_param_net(M + s.start, width, s.channels) for s in self.slices)
        self.scale_nets = nn.ModuleList(_param_net(M + s.start, width, s.channels) for s in self.slices)
        self.lrp_nets = nn.ModuleList(_param_net(M + s.end, width, s.channels) for s in self.slices) if lrp else None
        self.delta_nets = (
            nn.ModuleDict(
                {
                    str(j): DeltaNet(2 * M + s.start, delta_width or width, s.channels, delta_depth)
                    for j, s in enumerate(self.slices)
                    if s.level > 0
                }
            )
            if delta
            else None
        )
        # Slice j's spatial context reads channels 0..end of slice j: its own level's prefix.
        self.context_nets = (
            nn.ModuleList(
                CausalAttentionContext(s.end, 2 * s.channels, context_heads, context_window) for s in self.slices
            )
            if context == "causal_attention"
            else None
        )
        self.context_fusions = (
            nn.ModuleList(ContextFusion(2 * s.channels, s.channels, width) for s in self.slices)
            if context == "causal_attention"
            else None
        )
        self.gaussian_conditional = TableGaussianConditional(None)
        # Training only, not part of the model (no state, no config): what the synthesis and the
        # later slices' context see. "ste": round(y - mean) + mean with a straight-through
        # gradient; "noise": y + U(-0.5, 0.5), as the official TIC code trains. The rate term
        # uses CompressAI's additive noise either way; coding always rounds.
        self.training_quantization = "ste"

    # -- shared by training and coding -----------------------------------------------------
    def slice_parameters(self, j: int, hyper: torch.Tensor, decoded: list[torch.Tensor]):
        """(mean, scale) of slice j from the hyper features and the slices decoded before it."""
        hyper_mean, hyper_scale = hyper.chunk(2, dim=1)
        prev = list(decoded[:j])
        mean = self.mean_nets[j](torch.cat([hyper_mean, *prev], dim=1))
        scale = self.scale_nets[j](torch.cat([hyper_scale, *prev], dim=1))
        if self.delta_nets is not None and str(j) in self.delta_nets:
            scale = self.gaussian_conditional.lower_bound_scale(scale)
            mean, scale = self.delta_nets[str(j)](torch.cat([hyper, *prev], dim=1), mean, scale)
        return mean, scale

    def residual_prediction(self, j: int, hyper: torch.Tensor, decoded: list[torch.Tensor]) -> torch.Tensor:
        hyper_mean = hyper.chunk(2, dim=1)[0]
        return 0.5 * torch.tanh(self.lrp_nets[j](torch.cat([hyper_mean, *decoded[: j + 1]], dim=1)))

    def forward(self, y: torch.Tensor, hyper: torch.Tensor):
        """Training/evaluation pass: (y_hat, [likelihoods of each level block])."""
        decoded, likelihoods = [], [[] for _ in self.level_blocks]
        for j, s in enumerate(self.slices):
            y_slice = y[:, s.start : s.end]
            mean, scale = self.slice_parameters(j, hyper, decoded)
            if self.context_nets is not None:
                # The context sees the slice rounded around the base mean: the final mean depends
                # on the context, and coding rounds around the final one (docs/models.md).
                scale = self.gaussian_conditional.lower_bound_scale(scale)
                context = self.context_nets[j](torch.cat([*decoded, self._quantise(y_slice, mean)], dim=1))
                mean, scale = self.context_fusions[j](context, mean, scale)
            _, lik = self.gaussian_conditional(y_slice, scale, means=mean)
            decoded.append(self._quantise(y_slice, mean))
            if self.lrp:
                decoded[j] = decoded[j] + self.residual_prediction(j, hyper, decoded)
            likelihoods[s.level].append(lik)
        return torch.cat(decoded, dim=1), [torch.cat(liks, dim=1) for liks in likelihoods]

    def _quantise(self, y_slice: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        """What the synthesis and the later contexts see of a slice in a training pass."""
        if self.training and self.training_quantization == "noise":
            return self.gaussian_conditional.quantize(y_slice, "noise")
        return quantize_ste(y_slice - mean) + mean

    # -- coding ------------------------------------------------------------------------------
    def _on_grid(self, t: torch.Tensor) -> torch.Tensor:
        return torch.round(t * self.mean_grid) / self.mean_grid

    def _tables(self):
        return gaussian_cdf_lists(self.gaussian_conditional)

    @torch.no_grad()
    def encode_slices(self, y: torch.Tensor, hyper: torch.Tensor) -> tuple[list[list[bytes]], torch.Tensor]:
        """Encode y into one rANS string per (level block, image). Returns (strings, y_hat).

        Call on a float64 copy of the model (the codec does): see docs/models.md.
        """
        tables = self._tables()
        batch = y.shape[0]
        encoders = [[BufferedRansEncoder() for _ in range(batch)] for _ in self.level_blocks]
        decoded = []
        for j, s in enumerate(self.slices):
            y_slice = y[:, s.start : s.end]

            def encode(mean, indexes, where, y_slice=y_slice, level=s.level):
                symbols = rans.to_symbols(y_slice[(slice(None), slice(None), *where)].to(mean.dtype) - mean)
                for b in range(batch):
                    encoders[level][b].encode_with_indexes(
                        symbols[b].reshape(-1).tolist(), *self._coder_tables(indexes[b], where, tables)
                    )
                return symbols

            decoded.append(self._code_slice(j, hyper, decoded, encode))
        strings = [[enc.flush() for enc in level] for level in encoders]
        return strings, torch.cat(decoded, dim=1)

    @torch.no_grad()
    def decode_slices(self, strings: list[list[bytes]], hyper: torch.Tensor) -> torch.Tensor:
        """Decode the first len(strings) level blocks; later blocks of y_hat stay zero."""
        tables = self._tables()
        batch, (height, width) = hyper.shape[0], hyper.shape[-2:]
        levels = len(strings)
        decoders = []
        for level_strings in strings:
            row = []
            for b in range(batch):
                dec = RansDecoder()
                dec.set_stream(level_strings[b])
                row.append(dec)
            decoders.append(row)
        decoded = []
        for j, s in enumerate(self.slices):
            if s.level >= levels:
                break

            def decode(mean, indexes, where, level=s.level):
                values = [
                    decoders[level][b].decode_stream(*self._coder_tables(indexes[b], where, tables))
                    for b in range(batch)
                ]
                return torch.tensor(values, dtype=torch.int32, device=mean.device).reshape(mean.shape)

            decoded.append(self._code_slice(j, hyper, decoded, decode))
        y_hat = hyper.new_zeros(batch, self.M, height, width)
        filled = sum(self.level_blocks[:levels])
        y_hat[:, :filled] = torch.cat(decoded, dim=1)
        return y_hat

    @staticmethod
    def _coder_tables(indexes: torch.Tensor, where, tables):
        """The rANS coder's (indexes, cdfs, lengths, offsets) for one image's symbols at `where`."""
        indexes = indexes.reshape(-1).tolist()
        return table_subset(tables, indexes) if isinstance(where[0], int) else (indexes, *tables)

    def _code_slice(self, j: int, hyper: torch.Tensor, decoded: list[torch.Tensor], code) -> torch.Tensor:
        """Slice j's dequantised latent. `code(mean, indexes, where)` encodes or decodes the int32
        symbols at `where` (the whole slice, or one position (row, col)) and returns them: the
        encoder and the decoder share this function, so they compute the same parameters from
        the same inputs in the same order."""
        mean, scale = self.slice_parameters(j, hyper, decoded)
        if self.context_nets is None:
            mean = self._on_grid(mean)
            symbols = code(mean, self.gaussian_conditional.build_indexes(scale), (slice(None), slice(None)))
            return self._dequantise(j, symbols, mean, hyper, decoded)
        # Spatial context: one position at a time in raster order, each seeing the positions
        # of this slice decoded before it (and every position of the earlier slices).
        s, context_net, fusion = self.slices[j], self.context_nets[j], self.context_fusions[j]
        scale = self.gaussian_conditional.lower_bound_scale(scale)
        batch, _, height, width = mean.shape
        padded = context_net.pad(torch.cat([*decoded, torch.zeros_like(mean)], dim=1))
        offset = context_net.window // 2
        symbols = torch.zeros(mean.shape, dtype=torch.int32, device=mean.device)
        coded_mean = torch.zeros_like(mean)
        for row in range(height):
            for col in range(width):
                context = context_net.at(padded, row, col)
                position_mean, position_scale = fusion.at(context, mean[:, :, row, col], scale[:, :, row, col])
                position_mean = self._on_grid(position_mean)
                position_symbols = code(
                    position_mean, self.gaussian_conditional.build_indexes(position_scale), (row, col)
                )
                symbols[:, :, row, col] = position_symbols
                coded_mean[:, :, row, col] = position_mean
                padded[:, s.start :, row + offset, col + offset] = position_symbols.to(mean.dtype) + position_mean
        return self._dequantise(j, symbols, coded_mean, hyper, decoded)

    def _dequantise(self, j, symbols, mean, hyper, decoded):
        # symbols + grid mean is exact in float; the LRP term is put on the same grid so later
        # slices see identical inputs on the encoder and the decoder.
        y_hat = symbols.to(mean.dtype) + mean
        if self.lrp:
            y_hat = y_hat + self._on_grid(self.residual_prediction(j, hyper, [*decoded, y_hat]))
        return y_hat
