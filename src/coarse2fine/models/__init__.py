"""Codecs (registry, backbones, level-block entropy model) and the coarse-to-fine loss."""

from . import tic  # noqa: F401  (registers the "tic" backbone)
from . import deephq, rmpgc  # noqa: F401  (register the "deephq" and "rmpgc" codecs)
from .backbones import Transforms
from .codec import CoarseToFineCodec
from .hyperlatent import HyperLatentCodec
from .hyperprior import HyperpriorBase, MeanScaleHyperprior
from .interface import MaskedPrefixCodec, ProgressiveCodec
from .entropy import LevelBlockEntropyModel, plan_slices
from .loss import C2FLoss
from .padding import crop_to_size, pad_to_multiple, padded_size
from .registry import BACKBONES, CODECS, build_codec, register_backbone, register_codec

__all__ = [
    "BACKBONES", "CODECS", "C2FLoss", "CoarseToFineCodec", "HyperLatentCodec", "HyperpriorBase", "LevelBlockEntropyModel",
    "MaskedPrefixCodec", "MeanScaleHyperprior", "ProgressiveCodec", "Transforms",
    "build_codec", "crop_to_size", "pad_to_multiple", "padded_size", "plan_slices", "register_backbone",
    "register_codec",
]
