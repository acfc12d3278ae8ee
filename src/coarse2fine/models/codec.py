"""The coarse-to-fine codec: one latent, ordered level blocks, a reconstruction per prefix."""

from __future__ import annotations

import torch

from coarse2fine.architectures.options import MAX_LEVELS, MIN_LEVELS

from .entropy import LevelBlockEntropyModel
from .hyperlatent import HyperLatentCodec
from .registry import register_codec


@register_codec("c2f")
class CoarseToFineCodec(HyperLatentCodec):
    """Hyperprior codec whose latent channels form `level_blocks`; see docs/models.md.

    forward(x) -> {"x_hat": [recon from blocks 1..k for k = 1..L], "likelihoods": {"z", "y": [...]}}
    compress(x) -> {"strings": [z, level 1, ..., level L], "shape": z size, "y_hat": coded latents}
    decompress(strings[: 1 + n], shape) -> {"x_hat": recon from the first n levels, "y_hat"}
    """

    def __init__(
        self,
        backbone: str = "conv",
        N: int = 64,
        M: int = 96,
        level_blocks=(32, 32, 32),
        slices_per_block: int = 1,
        delta: bool = True,
        lrp: bool = False,
        param_width: int | None = None,
        delta_width: int | None = None,
        delta_depth: int = 3,
        mean_grid_bits: int = 8,
        backbone_options: dict | None = None,
        context: str = "channel",
        context_heads: int = 16,
        context_window: int = 5,
    ):
        super().__init__()
        level_blocks = [int(b) for b in level_blocks]
        if not MIN_LEVELS <= len(level_blocks) <= MAX_LEVELS:
            raise ValueError(f"level_blocks needs {MIN_LEVELS} to {MAX_LEVELS} blocks, got {level_blocks}")
        if sum(level_blocks) != M:
            raise ValueError(f"level_blocks {level_blocks} sum to {sum(level_blocks)}, not the latent width M={M}")
        if slices_per_block < 1 or any(b < slices_per_block for b in level_blocks):
            raise ValueError(f"slices_per_block={slices_per_block} must be >= 1 and <= every block in {level_blocks}")
        backbone_options = self.build_transforms(backbone, N, M, backbone_options)
        self.config = {
            "name": self.codec_name,
            "backbone": backbone,
            "N": int(N),
            "M": int(M),
            "level_blocks": level_blocks,
            "slices_per_block": int(slices_per_block),
            "delta": bool(delta),
            "lrp": bool(lrp),
            "param_width": param_width,
            "delta_width": delta_width,
            "delta_depth": int(delta_depth),
            "mean_grid_bits": int(mean_grid_bits),
            "backbone_options": backbone_options,
        }
        if context != "channel":
            # Recorded only when it departs from the channel-wise model, so the identity of every
            # codec (checkpoints, streams, the shipped base) without it stays what it was.
            self.config |= {
                "context": context,
                "context_heads": int(context_heads),
                "context_window": int(context_window),
            }
        self.level_blocks = level_blocks
        self.num_levels = len(level_blocks)
        self.entropy = LevelBlockEntropyModel(
            M,
            level_blocks,
            slices_per_block,
            delta=delta,
            lrp=lrp,
            param_width=param_width,
            delta_width=delta_width,
            delta_depth=delta_depth,
            mean_grid_bits=mean_grid_bits,
            context=context,
            context_heads=context_heads,
            context_window=context_window,
        )

    def set_training_quantization(self, mode: str) -> None:
        """ste (default) or noise: what the synthesis and the channel context see in training."""
        if mode not in ("ste", "noise"):
            raise ValueError(f"training quantization must be ste or noise, got {mode!r}")
        self.entropy.training_quantization = mode

    # -- helpers ----------------------------------------------------------------------------
    def prefix_latents(self, y_hat: torch.Tensor, levels: int) -> torch.Tensor:
        """y_hat with every block after the first `levels` set to zero."""
        keep = sum(self.level_blocks[:levels])
        mask = torch.zeros(1, y_hat.shape[1], 1, 1, dtype=y_hat.dtype, device=y_hat.device)
        mask[:, :keep] = 1
        return y_hat * mask

    # -- training ---------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> dict:
        y_hat, likelihoods = self._latents_and_likelihoods(x)
        # One synthesis pass over all prefixes stacked on the batch axis.
        prefixes = torch.cat([self.prefix_latents(y_hat, k) for k in range(1, self.num_levels + 1)])
        x_hats = list(self.g_s(prefixes).chunk(self.num_levels))
        return {
            "x_hat": x_hats,
            "likelihoods": likelihoods,
            "own_block_x_hat": lambda level: self.own_block_reconstruction(y_hat, level),
        }

    def own_block_reconstruction(self, y_hat: torch.Tensor, level: int) -> torch.Tensor:
        """The reconstruction of prefix `level` (1-based) through which only block `level` gets
        gradients: the earlier blocks enter detached. A task loss on it trains its own block
        (and the decoder), not the coarser ones (models/loss.py, task_gradient="own_block")."""
        keep = sum(self.level_blocks[: level - 1])
        prefix = self.prefix_latents(y_hat, level)
        return self.g_s(torch.cat([prefix[:, :keep].detach(), prefix[:, keep:]], dim=1))

    def likelihoods(self, x: torch.Tensor) -> dict:
        """The likelihoods of `forward` without the synthesis passes: what a rate estimate needs."""
        return self._latents_and_likelihoods(x)[1]

    def _latents_and_likelihoods(self, x: torch.Tensor):
        y, z_hat, z_likelihoods = self.analyse_hyper(x)
        y_hat, y_likelihoods = self.entropy(y, self.h_s(z_hat))
        return y_hat, {"z": z_likelihoods, "y": y_likelihoods}

    # -- coding -----------------------------------------------------------------------------
    def _exact_parameter_path(self):
        # Entropy parameters are computed in float64 on both sides (see docs/models.md).
        return self.float64_copy("h_s", "entropy")

    @torch.no_grad()
    def compress(self, x: torch.Tensor, pixels: int | None = None) -> dict:
        """Every level of x (padded); `pixels` is unused: the levels are not rate-controlled."""
        self._check_input(x)
        y = self.g_a(x)
        z_strings, shape, z_hat = self.code_hyper(y)
        h_s, entropy = self._exact_parameter_path()
        level_strings, y_hat = entropy.encode_slices(y, h_s(z_hat.double()))
        y_hat = y_hat.float()
        return {
            "strings": [z_strings, *level_strings],
            "shape": shape,
            "y_hat": y_hat,
            "y_hat_levels": [self.prefix_latents(y_hat, k) for k in range(1, self.num_levels + 1)],
        }

    @torch.no_grad()
    def decompress(self, strings: list, shape) -> dict:
        levels = self.check_segments(strings, "level")
        z_hat = self.decode_hyper(strings[0], shape)
        h_s, entropy = self._exact_parameter_path()
        y_hat = entropy.decode_slices(strings[1:], h_s(z_hat.double())).float()
        return {"x_hat": self.synthesise(y_hat), "y_hat": y_hat, "levels": levels}
