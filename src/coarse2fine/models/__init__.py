"""Codecs (registry, backbones, level-block entropy model) and the coarse-to-fine loss.

The names below load on first use (PEP 562), so that importing the package, or its torch-free
option schemas (schema.py, options.py, deephq/options.py, rmpgc/options.py), needs no torch: the
workflow checks its config's architectures at start-up that way. CODECS, BACKBONES and
build_codec come with every codec of the package registered (registry.registered).
"""

from __future__ import annotations

import importlib

# exported name -> the module that defines it
_EXPORTS = {
    "BACKBONES": "registry",
    "CODECS": "registry",
    "build_codec": "registry",
    "register_backbone": "registry",
    "register_codec": "registry",
    "C2FLoss": "loss",
    "CoarseToFineCodec": "codec",
    "HyperLatentCodec": "hyperlatent",
    "HyperpriorBase": "hyperprior",
    "MeanScaleHyperprior": "hyperprior",
    "LevelBlockEntropyModel": "entropy",
    "plan_slices": "entropy",
    "MaskedPrefixCodec": "interface",
    "ProgressiveCodec": "interface",
    "Transforms": "backbones",
    "crop_to_size": "padding",
    "pad_to_multiple": "padding",
    "padded_size": "padding",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
    if module.__name__.endswith(".registry"):
        module.registered()  # the registries hold every codec and backbone before anyone reads them
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
