"""TIC's causal spatial-attention context (Lu et al., DCC 2022), read over one level's channel
prefix, and the network that turns its output into corrected entropy parameters.

For each latent position the context reads the `window` x `window` neighbourhood of the decoded
latent and keeps only the positions before the centre in raster order (12 of 25 for the
official 5x5), the others zeroed as whole tokens. One pre-norm self-attention layer with a
relative position bias runs over the 25 tokens, the tokens are summed, then an MLP and a
projection. This is the computation of the official code's CausalAttentionModule, written here
for two callers that must agree: training evaluates every position at once (`forward`), coding
one position at a time in raster order (`at`), because a position's context holds the symbols
decoded just before it. Both go through `attend`, so the same weights give the same numbers.

`ContextFusion` maps (context, base mean, base scale) to the corrected mean and scale of one
position, a per-position network (linear layers on channels-last vectors) whose last layer
starts at zero: a fresh context leaves the channel-wise model unchanged, so a codec with it can
start from a base trained without it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# The scale correction is bounded (a factor in [e^-2, e^2]): wide enough for what a neighbour
# tells about the local spread, narrow enough that an untrained context cannot blow a scale up.
SCALE_BOUND = 2.0


class CausalAttentionContext(nn.Module):
    """(B, dim, H, W) decoded prefix -> (B, out_dim, H, W) context; position p sees only the
    positions before p in raster order, inside its window."""

    def __init__(self, dim: int, out_dim: int, heads: int = 16, window: int = 5, mlp_ratio: float = 4.0):
        super().__init__()
        if heads < 1 or dim % heads:
            raise ValueError(f"context_heads={heads} must divide the context's {dim} channels")
        if window < 3 or window % 2 == 0:
            raise ValueError(f"context_window={window} must be an odd number >= 3")
        self.dim, self.heads, self.window = dim, heads, window
        tokens = window * window
        self.scale = (dim // heads) ** -0.5
        causal = torch.zeros(1, tokens, 1)
        causal[:, : tokens // 2] = 1.0  # raster order: the rows above, then the left of the centre row
        self.register_buffer("causal", causal, persistent=False)
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.position_bias = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("position_index", relative[..., 0] * (2 * window - 1) + relative[..., 1], persistent=False)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.proj = nn.Linear(dim, out_dim)

    def attend(self, tokens: torch.Tensor) -> torch.Tensor:
        """(n, window^2, dim) neighbourhoods in raster order -> (n, out_dim)."""
        n, count, dim = tokens.shape
        x = tokens * self.causal
        q, k, v = self.qkv(self.norm1(x)).reshape(n, count, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        bias = self.position_bias[self.position_index.reshape(-1)].reshape(count, count, self.heads)
        attention = ((q * self.scale) @ k.transpose(-2, -1) + bias.permute(2, 0, 1)).softmax(dim=-1)
        summed = ((attention @ v).transpose(1, 2).reshape(n, count, dim) + x).sum(dim=1)
        return self.proj(summed + self.mlp(self.norm2(summed)))

    def forward(self, prefix: torch.Tensor) -> torch.Tensor:
        batch, dim, height, width = prefix.shape
        patches = F.unfold(prefix, self.window, padding=self.window // 2)  # (B, dim * T, H * W)
        tokens = patches.reshape(batch, dim, self.window**2, height * width).permute(0, 3, 2, 1)
        out = self.attend(tokens.reshape(batch * height * width, self.window**2, dim))
        return out.reshape(batch, height, width, -1).permute(0, 3, 1, 2)

    def pad(self, prefix: torch.Tensor) -> torch.Tensor:
        """The zero padding `at` indexes into (the same zeros `forward`'s unfold adds)."""
        return F.pad(prefix, (self.window // 2,) * 4)

    def at(self, padded: torch.Tensor, row: int, col: int) -> torch.Tensor:
        """The context of position (row, col) of a padded prefix: (B, out_dim)."""
        patch = padded[:, :, row : row + self.window, col : col + self.window]
        return self.attend(patch.reshape(padded.shape[0], self.dim, -1).transpose(1, 2))


class ContextFusion(nn.Module):
    """(context, mean, scale) of a position -> corrected (mean, scale); identity at initialisation."""

    def __init__(self, context_dim: int, channels: int, width: int):
        super().__init__()
        last = nn.Linear(width, 2 * channels)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(
            nn.Linear(context_dim + 2 * channels, width), nn.GELU(), nn.Linear(width, width), nn.GELU(), last
        )

    def at(self, context: torch.Tensor, mean: torch.Tensor, scale: torch.Tensor):
        """Channels-last: (..., context_dim), (..., channels), (..., channels)."""
        d_mean, d_scale = self.net(torch.cat([context, mean, scale], dim=-1)).chunk(2, dim=-1)
        return mean + d_mean, scale * torch.exp(SCALE_BOUND * torch.tanh(d_scale / SCALE_BOUND))

    def forward(self, context: torch.Tensor, mean: torch.Tensor, scale: torch.Tensor):
        """Channels-first maps (B, C, H, W)."""
        last = [t.permute(0, 2, 3, 1) for t in (context, mean, scale)]
        return tuple(t.permute(0, 3, 1, 2) for t in self.at(*last))
