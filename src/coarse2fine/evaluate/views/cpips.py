"""CPIPS features, uncalibrated (after Huang and Wu, arXiv 2401.07200): the analysis transform
of a learned codec used as a distance between an original and a decoded image.

The paper takes a codec trained jointly with classification and learns linear weights on its
features against human judgments. Here no weights are learnt (no two-alternative judgments are
at hand offline) and, by default (evaluate.cpips_model: auto), the codec is the study's base:
rate-distortion only, the one model no hierarchy edit or switch retrains, so the CPIPS column
never forces a re-evaluation. `evaluate.cpips_model` may name any trained model instead (a c2f
fine-tune, for features shaped by its coarse task term). The distance is LPIPS's form without
its weights:

    d(x, y) = mean over layers l of  mean over positions (h, w) of
              sum over channels c of (f_l(x)[c, h, w] - f_l(y)[c, h, w])^2,

where f_l is the feature map of stage l of g_a, unit-normalised along channels at every
position (as LPIPS does). Identical images are at distance 0; every term lies in [0, 4].

Which stages: the output at the end of every resolution of g_a's top-level children. For the
`conv` backbone (conv, GDN, conv, GDN, conv, GDN, conv) that is the output of each GDN (1/2,
1/4, 1/8 of the input size) and the final latent y (1/16); for `tic` the output of each RSTB
and y. A g_a that is not an nn.Sequential contributes its final latent only.

Cost: both images are compared as the study codes them (its view, data/view.py) when that is
at most 224 px a side; a larger image is compared on the classifiers' standard view (shorter
side to 256, centre crop 224, `classify.resize_center_crop`), so one distance is one g_a
pass on at most a 224x224 image; the reference's features are computed once per image
(`distances`). The weights are frozen and every pass runs under torch.no_grad.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Iterable

import torch
from torch import nn

from coarse2fine.classify import resize_center_crop

VIEW_SIZE = 224  # the classifiers' evaluation view
EPS = 1e-10  # LPIPS's guard against a zero feature vector


def _check_image(x: torch.Tensor, name: str) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[0] != 1 or x.shape[1] != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"CPIPS: {name} must be a (1, 3, H, W) image tensor in [0, 1], got {shape}")


def unit_normalise(f: torch.Tensor) -> torch.Tensor:
    """Every position's channel vector scaled to unit length (LPIPS's normalize_tensor)."""
    return f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + EPS)


class CPIPS:
    """A perceptual distance from a codec's analysis transform (see the module docstring).

    `CPIPS(codec)` uses a frozen copy of `codec.g_a` (eval mode, no gradients; the codec itself
    is left as it is); `CPIPS.from_checkpoint(path)` loads a trained codec checkpoint.
    """

    def __init__(self, codec: nn.Module, view_size: int = VIEW_SIZE, name: str | None = None):
        g_a = getattr(codec, "g_a", None)
        if not isinstance(g_a, nn.Module):
            raise TypeError(f"CPIPS needs a codec with an analysis transform g_a, got {type(codec).__name__}")
        if view_size < 16:
            raise ValueError(f"CPIPS: view_size must be at least 16 pixels, got {view_size}")
        # A frozen copy: the codec itself (perhaps still training) is left untouched.
        self.g_a = copy.deepcopy(g_a).eval()
        for p in self.g_a.parameters():
            p.requires_grad_(False)
        self.view_size = int(view_size)
        self.name = name or getattr(codec, "config", {}).get("name", type(codec).__name__)

    @classmethod
    def from_checkpoint(cls, path: Path | str, view_size: int = VIEW_SIZE) -> "CPIPS":
        """From a codec checkpoint (coding.checkpoint.load_codec; CheckpointError if unusable)."""
        # the coding stack (CompressAI) only when a checkpoint is loaded: a views job without
        # CPIPS starts without it
        from coarse2fine.coding.checkpoint import load_codec

        return cls(load_codec(path), view_size, name=str(path))

    def view(self, x: torch.Tensor) -> torch.Tensor:
        """The picture both images are compared on: as coded when it is small enough."""
        if max(x.shape[-2:]) <= self.view_size:
            return x.float()
        return resize_center_crop(x.float(), self.view_size)

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised feature maps of the chosen g_a stages for the evaluation view of x."""
        _check_image(x, "image")
        h = self.view(x)
        if not isinstance(self.g_a, nn.Sequential):
            return [unit_normalise(self.g_a(h))]
        outputs = []
        for child in self.g_a:
            h = child(h)
            outputs.append(h)
        # The last output at each resolution: the next child changes it, or there is none.
        return [
            unit_normalise(f)
            for f, nxt in zip(outputs, outputs[1:] + [None])
            if nxt is None or nxt.shape[-2:] != f.shape[-2:]
        ]

    @staticmethod
    def feature_distance(fx: list[torch.Tensor], fy: list[torch.Tensor]) -> float:
        per_layer = [(a - b).pow(2).sum(dim=1).mean() for a, b in zip(fx, fy)]
        return float(torch.stack(per_layer).mean())

    def distance(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """CPIPS between two (1, 3, H, W) images in [0, 1] of the same size (0 when identical)."""
        _check_image(y, "second image")
        _check_image(x, "first image")
        if x.shape != y.shape:
            raise ValueError(f"CPIPS: images differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}")
        return self.feature_distance(self.features(x), self.features(y))

    def distances(self, reference: torch.Tensor, images: Iterable[torch.Tensor]) -> list[float]:
        """CPIPS of each image to one reference, the reference's features computed once."""
        fr = self.features(reference)
        out = []
        for y in images:
            _check_image(y, "image")
            if y.shape != reference.shape:
                raise ValueError(
                    f"CPIPS: image {tuple(y.shape)} differs in shape from the reference {tuple(reference.shape)}"
                )
            out.append(self.feature_distance(fr, self.features(y)))
        return out
