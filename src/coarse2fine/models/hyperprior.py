"""The mean-scale hyperprior (Minnen et al. 2018, CompressAI's MeanScaleHyperprior) on our
backbones: the base model of the progressive baselines (DeepHQ, RMPGC) and a one-level codec
in its own right.

Every codec of the package speaks the same interface, so training, bitstreams and evaluation
need no special case (docs/models.md, "The codec interface"):

    config, codec_name, pad_multiple, level_blocks (symbols per position of each segment),
    num_levels (segments after the hyper-latent);
    forward(x) -> {"x_hat": [one image per prefix 1..L], "likelihoods": {"z", "y": [per segment]}}
    likelihoods(x) -> the likelihoods alone;
    compress(x) -> {"strings": [z, segment 1..L], "shape": z size, "y_hat": all segments,
                    optionally "y_hat_levels": [latents decoded from each prefix]};
    decompress(strings[: 1 + n], shape) -> {"x_hat", "y_hat"} from the first n segments;
    prefix_latents(y_hat, n) -> what decoding n segments gives (when y_hat alone determines it).

Entropy parameters are computed exactly as in the coarse-to-fine codec (docs/models.md,
"Deterministic entropy parameters"): h_s in a float64 copy, means on a 2^-bits grid, synthesis
on one thread, so a stream decodes to the same latents on any thread count.
"""

from __future__ import annotations

import torch
from compressai.ans import BufferedRansEncoder, RansDecoder
from compressai.ops import quantize_ste

from coarse2fine import rans

from .gaussian_tables import TableGaussianConditional, gaussian_cdf_lists
from .hyperlatent import HyperLatentCodec
from .registry import register_codec


class HyperpriorBase(HyperLatentCodec):
    """Backbone transforms, a factorized prior on z and a Gaussian conditional on y whose
    means and scales are the two halves of h_s(z_hat). Subclasses change how y is quantised
    and split into segments; the exact parameter path and the z coding live here."""

    def __init__(
        self,
        backbone: str = "conv",
        N: int = 64,
        M: int = 96,
        mean_grid_bits: int = 8,
        backbone_options: dict | None = None,
    ):
        super().__init__()
        backbone_options = self.build_transforms(backbone, N, M, backbone_options)
        self.config = {
            "name": self.codec_name,
            "backbone": backbone,
            "N": int(N),
            "M": int(M),
            "mean_grid_bits": int(mean_grid_bits),
            "backbone_options": backbone_options,
        }
        self.M = int(M)
        self.mean_grid = float(2**mean_grid_bits)
        self.gaussian_conditional = TableGaussianConditional(None)

    # -- shared helpers ------------------------------------------------------------------------
    def hyper_parameters(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(means, scales) of y from the decoded hyper-latent (training path, any dtype)."""
        means, scales = self.h_s(z_hat).chunk(2, dim=1)
        return means, scales

    def analyse(self, x: torch.Tensor) -> dict:
        """y, z_hat, its likelihoods and the Gaussian parameters of y (training path)."""
        y, z_hat, z_likelihoods = self.analyse_hyper(x)
        means, scales = self.hyper_parameters(z_hat)
        return {"y": y, "z_hat": z_hat, "z_likelihoods": z_likelihoods, "means": means, "scales": scales}

    def on_grid(self, t: torch.Tensor) -> torch.Tensor:
        return torch.round(t * self.mean_grid) / self.mean_grid

    def _float64_h_s(self):
        return self.float64_copy("h_s")

    def exact_hyper_parameters(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(means on the grid, scales), float64, identical on encoder and decoder."""
        means, scales = self._float64_h_s()(z_hat.double()).chunk(2, dim=1)
        return self.on_grid(means), scales

    def gaussian_tables(self):
        return gaussian_cdf_lists(self.gaussian_conditional)

    def compress_hyper(self, y: torch.Tensor):
        """(z strings, z shape, exact means, exact scales) for the latent y."""
        z_strings, shape, z_hat = self.code_hyper(y)
        means, scales = self.exact_hyper_parameters(z_hat)
        return z_strings, shape, means, scales

    def decompress_hyper(self, z_strings, shape):
        return self.exact_hyper_parameters(self.decode_hyper(z_strings, shape))


@register_codec("hyperprior")
class MeanScaleHyperprior(HyperpriorBase):
    """One segment: y coded with the mean-scale Gaussian conditional."""

    @property
    def level_blocks(self) -> list[int]:
        return [self.M]

    num_levels = 1

    def forward(self, x: torch.Tensor) -> dict:
        a = self.analyse(x)
        _, y_likelihoods = self.gaussian_conditional(a["y"], a["scales"], means=a["means"])
        y_hat = quantize_ste(a["y"] - a["means"]) + a["means"]
        return {"x_hat": [self.g_s(y_hat)], "likelihoods": {"z": a["z_likelihoods"], "y": [y_likelihoods]}}

    def likelihoods(self, x: torch.Tensor) -> dict:
        a = self.analyse(x)
        _, y_likelihoods = self.gaussian_conditional(a["y"], a["scales"], means=a["means"])
        return {"z": a["z_likelihoods"], "y": [y_likelihoods]}

    def prefix_latents(self, y_hat: torch.Tensor, levels: int) -> torch.Tensor:
        return y_hat

    @torch.no_grad()
    def compress(self, x: torch.Tensor, pixels: int | None = None) -> dict:
        """The one segment of x (padded); `pixels` is unused: no rate target."""
        self._check_input(x)
        y = self.g_a(x)
        z_strings, shape, means, scales = self.compress_hyper(y)
        cdf, lengths, offsets = self.gaussian_tables()
        indexes = self.gaussian_conditional.build_indexes(scales)
        symbols = rans.to_symbols(y.double() - means)
        strings = []
        for b in range(y.shape[0]):
            encoder = BufferedRansEncoder()
            encoder.encode_with_indexes(
                symbols[b].reshape(-1).tolist(), indexes[b].reshape(-1).tolist(), cdf, lengths, offsets
            )
            strings.append(encoder.flush())
        y_hat = (symbols.double() + means).float()
        return {"strings": [z_strings, strings], "shape": shape, "y_hat": y_hat, "y_hat_levels": [y_hat]}

    @torch.no_grad()
    def decompress(self, strings: list, shape) -> dict:
        self.check_segments(strings)
        means, scales = self.decompress_hyper(strings[0], shape)
        cdf, lengths, offsets = self.gaussian_tables()
        indexes = self.gaussian_conditional.build_indexes(scales)
        rows = []
        for b, string in enumerate(strings[1]):
            decoder = RansDecoder()
            decoder.set_stream(string)
            rows.append(decoder.decode_stream(indexes[b].reshape(-1).tolist(), cdf, lengths, offsets))
        symbols = torch.tensor(rows, dtype=torch.float64).reshape(means.shape)
        y_hat = (symbols + means).float()
        return {"x_hat": self.synthesise(y_hat), "y_hat": y_hat, "levels": 1}
