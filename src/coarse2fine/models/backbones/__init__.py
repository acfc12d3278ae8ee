"""Backbones: the analysis/synthesis transforms and the hyperprior transforms of a codec.

A backbone builder returns `Transforms(g_a, g_s, h_a, h_s, downsampling)` (conv.py). The
families: `conv`, the GDN network of Balle et al./Minnen et al. sized for CPU (conv.py), and
`tic` (Lu et al., DCC 2022; tic.py). Importing the package registers both.

`build_backbone` lives here, below the codecs, because a codec builds its own backbone
(hyperlatent.py); models/zoo.py re-exports it beside `build_codec`.
"""

from __future__ import annotations

from ..registry import BACKBONES
from . import tic
from .conv import Transforms, conv_backbone, conv_hyper_transforms

__all__ = ["Transforms", "build_backbone", "conv_backbone", "conv_hyper_transforms", "tic"]


def build_backbone(backbone: str, N: int, M: int, **options):
    """The analysis, synthesis and hyper transforms of a registered backbone family."""
    if backbone not in BACKBONES:
        raise KeyError(f"unknown backbone {backbone!r}; known: {', '.join(sorted(BACKBONES))}")
    return BACKBONES[backbone](N, M, **options)
