"""TIC backbone (Lu, Guo, Ma, DCC 2022, "Transformer-based Image Compression"), from the paper.

Analysis and synthesis interleave strided (transposed) convolutions with residual Swin
transformer blocks (RSTB): window self-attention with relative position bias, alternate
blocks shifted by half a window, a conv at the end of each RSTB and a skip around it. The
hyperprior transforms are built the same way. Paper scale: N=192, M=320, window 8,
depths 2/4/6 in g_a (mirrored in g_s) and 2/2 in h_a/h_s.

Feature maps smaller than a window (z of a small crop) or not a multiple of it are padded to
whole windows; the padded positions are masked out as attention keys so they never leak
into real positions.
"""

from __future__ import annotations

import torch
from compressai.models.utils import conv, deconv
from torch import nn
from torch.nn import functional as F

from ..registry import register_backbone
from .conv import Transforms

_MASKED = -100.0  # added to attention logits of keys a query must not see (as in Swin)


def _relative_position_index(window: int) -> torch.Tensor:
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
    return rel[..., 0] * (2 * window - 1) + rel[..., 1]


class WindowAttention(nn.Module):
    """Multi-head self-attention inside non-overlapping windows, relative position bias."""

    def __init__(self, dim: int, window: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} is not divisible by {heads} heads")
        self.window, self.heads = window, heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.bias_table, std=0.02)
        self.register_buffer("bias_index", _relative_position_index(window), persistent=False)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # tokens: (B * windows, w*w, C); mask: (windows, w*w, w*w) additive
        bw, n, c = tokens.shape
        qkv = self.qkv(tokens).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        logits = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.bias_table[self.bias_index.reshape(-1)].reshape(n, n, -1).permute(2, 0, 1)
        windows = mask.shape[0]
        logits = logits.view(bw // windows, windows, self.heads, n, n) + bias[None, None] + mask[None, :, None]
        attn = logits.view(bw, self.heads, n, n).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(bw, n, c))


def _to_windows(x: torch.Tensor, w: int) -> torch.Tensor:
    b, h, wd, c = x.shape
    return x.view(b, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, c)


def _from_windows(tokens: torch.Tensor, w: int, b: int, h: int, wd: int) -> torch.Tensor:
    c = tokens.shape[-1]
    return tokens.view(b, h // w, wd // w, w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, wd, c)


def _attention_mask(h: int, w: int, hp: int, wp: int, window: int, shift: int, device) -> torch.Tensor:
    """Additive mask (windows, n, n): keys from another shifted region or from padding are hidden."""
    region = torch.zeros(1, hp, wp, 1, device=device)
    if shift:
        cuts = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
        label = 0
        for hs in cuts:
            for ws in cuts:
                region[:, hs, ws, :] = label
                label += 1
    padding = torch.ones(1, hp, wp, 1, device=device)
    padding[:, :h, :w] = 0
    if shift:
        padding = torch.roll(padding, shifts=(-shift, -shift), dims=(1, 2))
    region_w = _to_windows(region, window).squeeze(-1)
    padding_w = _to_windows(padding, window).squeeze(-1)
    hidden = (region_w[:, None, :] != region_w[:, :, None]) | (padding_w[:, None, :] > 0)
    return hidden.float() * _MASKED


def drop_path(branch: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Stochastic depth: in training, drop a residual branch for a random subset of the batch
    (each kept sample scaled by 1 / (1 - rate)); the identity at inference."""
    if not training or rate <= 0:
        return branch
    keep = torch.rand(branch.shape[0], *([1] * (branch.dim() - 1)), device=branch.device) >= rate
    return branch * keep.to(branch.dtype) / (1 - rate)


class SwinBlock(nn.Module):
    def __init__(
        self, dim: int, heads: int, window: int, shifted: bool, mlp_ratio: float = 2.0, drop_path: float = 0.0
    ):
        super().__init__()
        self.window, self.shifted, self.drop_path = window, shifted, float(drop_path)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, H, W, C)
        b, h, w, _ = x.shape
        win = self.window
        shift = win // 2 if self.shifted and max(h, w) > win else 0
        y = self.norm1(x)
        hp, wp = -(-h // win) * win, -(-w // win) * win
        y = F.pad(y, (0, 0, 0, wp - w, 0, hp - h))
        if shift:
            y = torch.roll(y, shifts=(-shift, -shift), dims=(1, 2))
        mask = _attention_mask(h, w, hp, wp, win, shift, x.device).to(x.dtype)
        y = _from_windows(self.attn(_to_windows(y, win), mask), win, b, hp, wp)
        if shift:
            y = torch.roll(y, shifts=(shift, shift), dims=(1, 2))
        x = x + drop_path(y[:, :h, :w], self.drop_path, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_path, self.training)


class RSTB(nn.Module):
    """Residual Swin transformer block on (B, C, H, W) feature maps."""

    def __init__(
        self,
        dim: int,
        depth: int,
        heads: int,
        window: int,
        mlp_ratio: float = 2.0,
        drop_paths: tuple[float, ...] | None = None,
    ):
        super().__init__()
        drop_paths = drop_paths or (0.0,) * depth
        self.blocks = nn.ModuleList(
            SwinBlock(dim, heads, window, shifted=bool(i % 2), mlp_ratio=mlp_ratio, drop_path=drop_paths[i])
            for i in range(depth)
        )
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.permute(0, 2, 3, 1)
        for block in self.blocks:
            t = block(t)
        return x + self.conv(t.permute(0, 3, 1, 2))


def _per_stage(value, stages: int, name: str) -> list[int]:
    values = [value] * stages if isinstance(value, int) else list(value)
    if len(values) != stages:
        raise ValueError(f"tic {name} needs one value or {stages}, got {value}")
    return values


def _default_heads(N: int) -> int:
    # Paper: 8 heads at N=192 (24 channels per head); keep ~24 per head at other widths.
    heads = max(1, N // 24)
    while N % heads:
        heads -= 1
    return heads


@register_backbone("tic")
def tic_backbone(
    N: int,
    M: int,
    window: int = 8,
    heads=None,
    depths: tuple[int, ...] = (2, 4, 6),
    hyper_depths: tuple[int, ...] = (2, 2),
    hyper_heads=None,
    hyper_window: int | None = None,
    mlp_ratio: float = 2.0,
    drop_path: float = 0.0,
) -> Transforms:
    """`heads`: one count, or one per analysis stage (the synthesis mirrors them); `hyper_heads`
    likewise for the two hyper stages (default: the last analysis stage's); `hyper_window`:
    the hyper transforms' window (default `window`); `drop_path`: the stochastic-depth rate,
    rising linearly from 0 over the analysis and hyper-analysis blocks, the decoders mirroring
    them (the official TIC code: heads 4/8/16 and 16/16, MLP ratio 4, hyper window 4, 0.2)."""
    stage_heads = _per_stage(heads or _default_heads(N), 3, "heads")
    stage_hyper_heads = _per_stage(hyper_heads or stage_heads[-1], 2, "hyper_heads")
    hyper_window = hyper_window or window
    for h in stage_heads + stage_hyper_heads:
        if N % h:
            raise ValueError(f"tic: N={N} is not divisible by {h} heads")
    # Stochastic-depth rates rise block by block along each side's order: analysis then hyper
    # analysis on the encoder, hyper synthesis then synthesis on the decoder (as the official code).
    total = sum(depths) + sum(hyper_depths)
    rates = torch.linspace(0, drop_path, total).tolist() if drop_path > 0 else [0.0] * total

    def stack(stages: list[tuple[int, int, int]]) -> list[RSTB]:
        """(depth, heads, window) per stage -> RSTBs taking consecutive rates."""
        blocks, start = [], 0
        for depth, heads_, window_ in stages:
            blocks.append(RSTB(N, depth, heads_, window_, mlp_ratio, tuple(rates[start : start + depth])))
            start += depth
        return blocks

    d, e = list(depths), list(hyper_depths)
    *a, ha0, ha1 = stack(
        [(d[i], stage_heads[i], window) for i in range(3)]
        + [(e[i], stage_hyper_heads[i], hyper_window) for i in range(2)]
    )
    hs0, hs1, *s_ = stack(
        [(e[i], stage_hyper_heads[i], hyper_window) for i in (1, 0)]
        + [(d[i], stage_heads[i], window) for i in (2, 1, 0)]
    )
    ha, hs = [ha0, ha1], [hs0, hs1]
    g_a = nn.Sequential(conv(3, N), a[0], conv(N, N), a[1], conv(N, N), a[2], conv(N, M))
    g_s = nn.Sequential(deconv(M, N), s_[0], deconv(N, N), s_[1], deconv(N, N), s_[2], deconv(N, 3))
    h_a = nn.Sequential(
        conv(M, N, kernel_size=3, stride=1), ha[0], conv(N, N, kernel_size=3), ha[1], conv(N, N, kernel_size=3)
    )
    h_s = nn.Sequential(
        deconv(N, N, kernel_size=3), hs[0], deconv(N, N, kernel_size=3), hs[1], conv(N, 2 * M, kernel_size=3, stride=1)
    )
    return Transforms(g_a, g_s, h_a, h_s, downsampling=64)
