"""Codecs (registry, backbones, level-block entropy model) and the coarse-to-fine loss.

Importing the package imports every codec (zoo.py), so CODECS and BACKBONES hold them all; the
torch-free option schemas the workflow checks at start-up are in coarse2fine.architectures.
"""

from __future__ import annotations

from .backbones import Transforms
from .codec import CoarseToFineCodec
from .entropy import LevelBlockEntropyModel, plan_slices
from .hyperlatent import HyperLatentCodec
from .hyperprior import HyperpriorBase, MeanScaleHyperprior
from .interface import MaskedPrefixCodec, ProgressiveCodec
from .loss import C2FLoss
from .padding import crop_to_size, pad_to_multiple, padded_size
from .registry import BACKBONES, CODECS, register_backbone, register_codec
from .zoo import build_backbone, build_codec

__all__ = [
    "BACKBONES",
    "CODECS",
    "C2FLoss",
    "CoarseToFineCodec",
    "HyperLatentCodec",
    "HyperpriorBase",
    "LevelBlockEntropyModel",
    "MaskedPrefixCodec",
    "MeanScaleHyperprior",
    "ProgressiveCodec",
    "Transforms",
    "build_backbone",
    "build_codec",
    "crop_to_size",
    "pad_to_multiple",
    "padded_size",
    "plan_slices",
    "register_backbone",
    "register_codec",
]
