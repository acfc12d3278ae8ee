"""RMPGC's importance of each latent position (the paper's Eq. 12) and the nested masks it
orders (models/rmpgc/__init__.py)."""

from __future__ import annotations

import torch


def complexity_map(y: torch.Tensor) -> torch.Tensor:
    """v: channel variance of y per position, z-scored per image, (B, 1, h, w)."""
    var = y.var(dim=1, keepdim=True, unbiased=False)
    flat = var.flatten(1)
    mean = flat.mean(1).view(-1, 1, 1, 1)
    std = flat.std(1, unbiased=False).view(-1, 1, 1, 1)
    return (var - mean) / std.clamp(min=1e-12)


def otsu_masks(maps: torch.Tensor, bins: int = 256) -> torch.Tensor:
    """Otsu's binarisation of each map (B, 1, h, w) with values in [0, 1]: True above the
    threshold that maximises the between-class variance of a `bins`-bin histogram. (Written
    here rather than adding scikit-image for one function; tests/test_rmpgc.py checks it
    against an exhaustive search.) A constant map has no salient part: all False."""
    masks = []
    centres = (torch.arange(bins, dtype=torch.float64) + 0.5) / bins
    for m in maps.detach().double():
        hist = torch.histc(m.flatten(), bins=bins, min=0.0, max=1.0)
        p = hist / hist.sum().clamp(min=1)
        omega, mu = torch.cumsum(p, 0), torch.cumsum(p * centres, 0)
        between = (mu[-1] * omega - mu) ** 2 / (omega * (1 - omega))
        between = torch.nan_to_num(between, nan=0.0, posinf=0.0)
        if between.max() <= 0:
            masks.append(torch.zeros_like(m, dtype=torch.bool))
            continue
        threshold = (int(between.argmax()) + 1) / bins  # upper edge of the last bin of the lower class
        masks.append(m > threshold)
    return torch.stack(masks)


def paper_importance(saliency: torch.Tensor, complexity: torch.Tensor) -> torch.Tensor:
    """Eq. 12: I = (1 + e) * B + sigmoid(v) * (1 - B), e the saliency map, B = Otsu(e); salient
    positions in [1, 2] (by saliency), the rest in (0, 1) (by complexity)."""
    salient = otsu_masks(saliency).to(saliency.dtype)
    return (1 + saliency) * salient + torch.sigmoid(complexity) * (1 - salient)


def blend_importance(semantic: torch.Tensor, complexity: torch.Tensor, complexity_weight: float) -> torch.Tensor:
    """The continuous reading: I = (1 + w) * B + sigmoid(v) * (1 - B) with B the saliency map
    itself and w a constant, in [0, 1 + w] for B in [0, 1]."""
    return (1 + complexity_weight) * semantic + torch.sigmoid(complexity) * (1 - semantic)


def ranking(importance: torch.Tensor) -> torch.Tensor:
    """Positions of each image by decreasing importance, (B, h*w); ties keep raster order."""
    return torch.argsort(-importance.flatten(1).double(), dim=1, stable=True)


def nested_masks(importance: torch.Tensor, counts) -> list[torch.Tensor]:
    """Cumulative masks (B, 1, h, w), one per segment: the counts[b][k] most important
    positions of image b through segment k (counts non-decreasing in k)."""
    batch, _, height, width = importance.shape
    order = ranking(importance)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(order.shape[1], device=order.device).expand_as(order))
    rank = rank.view(batch, 1, height, width)
    counts = torch.as_tensor(counts, device=importance.device).view(batch, -1)
    return [rank < counts[:, k].view(batch, 1, 1, 1) for k in range(counts.shape[1])]
