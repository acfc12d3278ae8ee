"""Model identity: 16 bytes that name the exact model a stream was written with.

The identity is the SHA-256 (truncated) of the codec's build config (canonical JSON) and of
every tensor of its state_dict after `update(force=True)`, in key order: names, dtypes, shapes
and raw bytes. The state_dict includes the quantized CDF tables the rANS coder uses, so two
models that would decode a stream differently (other weights, other config, or entropy tables
that drifted) never share an identity, and a stream decoded by the wrong model fails at once
instead of producing a plausible-looking wrong image.
"""

from __future__ import annotations

import hashlib
import json

import torch

from coarse2fine.container import MODEL_ID_BYTES

_CACHE_ATTR = "_c2f_model_identity"


def compute_model_identity(codec: torch.nn.Module) -> bytes:
    """Hash of the codec's config and its current state_dict (entropy tables included)."""
    digest = hashlib.sha256()
    config = getattr(codec, "config", None)
    if not isinstance(config, dict):
        raise TypeError(f"{type(codec).__name__} has no `config` dict; a codec must expose the build_codec keywords")
    digest.update(json.dumps(config, sort_keys=True, separators=(",", ":")).encode())
    for name, tensor in sorted(codec.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.digest()[:MODEL_ID_BYTES]


def model_identity(codec: torch.nn.Module) -> bytes:
    """The identity, computed once per codec object (call after update(force=True))."""
    cached = getattr(codec, _CACHE_ATTR, None)
    if cached is None:
        cached = compute_model_identity(codec)
        setattr(codec, _CACHE_ATTR, cached)
    return cached


def forget_model_identity(codec: torch.nn.Module) -> None:
    """Drop the cached identity (after changing weights or entropy tables)."""
    if hasattr(codec, _CACHE_ATTR):
        delattr(codec, _CACHE_ATTR)
