"""What every codec of the package shares for exact coding (docs/models.md, "Deterministic
entropy parameters"): float64 copies of the modules that derive entropy parameters, made once
per set of entropy tables and dropped by update() or load_state_dict(); the finer Gaussian
scale table; the input check."""

from __future__ import annotations

import copy

import torch
from compressai.models import CompressionModel

from .gaussian_tables import fine_scale_table


class ExactCodingModel(CompressionModel):
    pad_multiple: int

    def float64_copy(self, *names: str):
        """float64 copies of the named submodules (one module, or a tuple for several). Coding
        needs update() after any change of the weights anyway, and update() drops the copies."""
        copies = getattr(self, "_float64_copies", None)
        if copies is None:
            copies = {}
            object.__setattr__(self, "_float64_copies", copies)  # not registered submodules
        if names not in copies:
            copies[names] = tuple(copy.deepcopy(getattr(self, n)).double() for n in names)
        return copies[names] if len(names) > 1 else copies[names][0]

    def update(self, scale_table=None, force=False, **kwargs):
        object.__setattr__(self, "_float64_copies", None)
        scale_table = fine_scale_table() if scale_table is None else scale_table
        return super().update(scale_table=scale_table, force=force, **kwargs)

    def load_state_dict(self, *args, **kwargs):
        object.__setattr__(self, "_float64_copies", None)
        return super().load_state_dict(*args, **kwargs)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected RGB images (B, 3, H, W), got shape {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % self.pad_multiple or w % self.pad_multiple:
            raise ValueError(
                f"image size {h}x{w} is not a multiple of {self.pad_multiple}; "
                "pad it first (coarse2fine.models.pad_to_multiple)"
            )
