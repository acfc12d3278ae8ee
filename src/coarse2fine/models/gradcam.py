"""Grad-CAM++ (Chattopadhay et al. 2018) and feature taps on a frozen classifier.

The "last convolutional feature map" of a CNN classifier is the tensor its global pooling
reduces: we take the input of the last `AdaptiveAvgPool2d` (EfficientNet, ResNet, MobileNet,
ConvNeXt all pool this way), and fall back to the output of the last `Conv2d` for networks
without one. A forward hook captures it; nothing in the classifier is changed.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn import functional as F

_EPS = 1e-7


def feature_layer(classifier: nn.Module) -> tuple[nn.Module, bool]:
    """(module, take_input): the module whose input (or output) is the last conv feature map."""
    pools = [m for m in classifier.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if pools:
        return pools[-1], True
    convs = [m for m in classifier.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(classifier).__name__} has no convolutional feature map for Grad-CAM++")
    return convs[-1], False


@contextlib.contextmanager
def tap_features(classifier: nn.Module):
    """Within the block, `tap[0]` is the last feature map of the latest classifier call."""
    module, take_input = feature_layer(classifier)
    tap: list[torch.Tensor] = []

    def hook(_module, inputs, output):
        tap[:] = [inputs[0] if take_input else output]

    handle = module.register_forward_hook(hook)
    try:
        yield tap
    finally:
        handle.remove()


# The paper's feature matching: four layers of a VGG16, shallow to deep, weighted 1/32 .. 1/4
# (its feature maps at 1/2, 1/4, 1/8 and 1/16 of the input). Here the same four scales of the
# configured classifier (VGG16 weights are not available offline).
PYRAMID_STRIDES = (2, 4, 8, 16)
PYRAMID_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4)


@contextlib.contextmanager
def tap_pyramid(classifier: nn.Module, size: int):
    """Within the block, `tap` maps each stride of PYRAMID_STRIDES to the last feature map the
    classifier computed at that resolution (of a size x size input) in its latest call."""
    tap: dict[int, torch.Tensor] = {}
    wanted = {size // s: s for s in PYRAMID_STRIDES}

    def hook(_module, _inputs, output):
        if isinstance(output, torch.Tensor) and output.dim() == 4 and output.shape[-1] in wanted:
            tap[wanted[output.shape[-1]]] = output

    handles = [m.register_forward_hook(hook) for m in classifier.modules() if not list(m.children())]
    try:
        yield tap
    finally:
        for handle in handles:
            handle.remove()


def pyramid_features(classifier: nn.Module, x: torch.Tensor, size: int) -> list[torch.Tensor]:
    """The classifier's last feature map at each stride of PYRAMID_STRIDES (gradients flow to x)."""
    with tap_pyramid(classifier, size) as tap:
        classifier(classifier_view(x, size))
    missing = [s for s in PYRAMID_STRIDES if s not in tap]
    if missing:
        raise RuntimeError(
            f"{type(classifier).__name__} computes no feature map at strides {missing} of a {size} input"
        )
    return [tap[s] for s in PYRAMID_STRIDES]


def classifier_view(x: torch.Tensor, size: int) -> torch.Tensor:
    """The whole image resized to size x size (no crop: positions must map back to the image)."""
    return F.interpolate(x.clamp(0, 1), size=(size, size), mode="bilinear", align_corners=False)


def classifier_features(classifier: nn.Module, x: torch.Tensor, size: int) -> torch.Tensor:
    """The last conv feature map of the classifier on x (gradients flow back into x)."""
    with tap_features(classifier) as tap:
        classifier(classifier_view(x, size))
    if not tap:
        raise RuntimeError("the feature hook did not fire: the classifier skips its pooling layer")
    return tap[0]


def gradcam_plus_plus(classifier: nn.Module, x: torch.Tensor, size: int) -> torch.Tensor:
    """Grad-CAM++ map of the top-1 class of each image, (B, 1, h, w) at the feature
    resolution, each map normalised to [0, 1] (a flat map is all zeros).

    Works under no_grad callers: gradients are taken on a detached copy of x.
    """
    with torch.enable_grad():
        view = classifier_view(x.detach(), size).requires_grad_(True)
        with tap_features(classifier) as tap:
            logits = classifier(view)
        if not tap:
            raise RuntimeError("the feature hook did not fire: the classifier skips its pooling layer")
        activations = tap[0]
        score = logits.gather(1, logits.argmax(1, keepdim=True)).sum()
        (grads,) = torch.autograd.grad(score, activations)
    activations, grads = activations.detach(), grads.detach()
    grads_2 = grads * grads
    grads_3 = grads_2 * grads
    sum_activations = activations.sum(dim=(2, 3), keepdim=True)
    alpha = grads_2 / (2 * grads_2 + sum_activations * grads_3 + _EPS)
    alpha = torch.where(grads != 0, alpha, torch.zeros_like(alpha))
    weights = (alpha * grads.clamp(min=0)).sum(dim=(2, 3), keepdim=True)
    cam = (weights * activations).sum(dim=1, keepdim=True).clamp(min=0)
    return normalise_per_image(cam)


def normalise_per_image(t: torch.Tensor) -> torch.Tensor:
    """Min-max to [0, 1] over each image's map; a constant map becomes zeros."""
    flat = t.flatten(1)
    low, high = flat.min(1).values, flat.max(1).values
    span = (high - low).view(-1, *([1] * (t.dim() - 1)))
    out = (t - low.view_as(span)) / span.clamp(min=_EPS)
    return torch.where(span > _EPS, out, torch.zeros_like(out))
