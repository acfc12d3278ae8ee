"""What every codec of the package is built on: the backbone transforms, the hyper-latent z under
a factorized prior (coded and decoded here, once for all codecs), the check of a stream's
segment lists, and the decoder's one-thread synthesis. Subclasses add how y is modelled,
split into segments and coded (codec.py, hyperprior.py and the baselines on it)."""

from __future__ import annotations

import contextlib

import torch

from .backbones import build_backbone
from .exact import ExactCodingModel
from .gaussian_tables import CheckedEntropyBottleneck


@contextlib.contextmanager
def single_threaded():
    """Run the decoder's synthesis on one thread. The latents a stream decodes to are exact
    (docs/models.md), but a float convolution sums in an order that depends on the thread
    count, and the 8-bit image would then differ by one level in a few pixels. One thread
    makes the decoded image a function of the stream alone on a given build; decoders get
    their parallelism from decoding several images at once (one job per image set)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class HyperLatentCodec(ExactCodingModel):
    def build_transforms(self, backbone: str, N: int, M: int, backbone_options: dict | None) -> dict:
        """g_a, g_s, h_a, h_s of `backbone` and the factorized prior of z; the options as built."""
        backbone_options = dict(backbone_options or {})
        transforms = build_backbone(backbone, N, M, **backbone_options)
        self.g_a, self.g_s, self.h_a, self.h_s = transforms.g_a, transforms.g_s, transforms.h_a, transforms.h_s
        self.pad_multiple = transforms.downsampling
        self.entropy_bottleneck = CheckedEntropyBottleneck(N)
        return backbone_options

    # -- training --------------------------------------------------------------------------------
    def analyse_hyper(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(y, z_hat, z likelihoods) of a batch (training path)."""
        self._check_input(x)
        y = self.g_a(x)
        z_hat, z_likelihoods = self.entropy_bottleneck(self.h_a(y))
        return y, z_hat, z_likelihoods

    # -- coding ----------------------------------------------------------------------------------
    def code_hyper(self, y: torch.Tensor) -> tuple[list[bytes], tuple[int, int], torch.Tensor]:
        """(z strings, z size, z_hat as the decoder will see it) for the latent y."""
        z = self.h_a(y)
        z_strings = self.entropy_bottleneck.compress(z)
        shape = tuple(z.shape[-2:])
        return z_strings, shape, self.entropy_bottleneck.decompress(z_strings, shape)

    def decode_hyper(self, z_strings, shape) -> torch.Tensor:
        if len(shape) != 2 or any(int(v) < 1 for v in shape):
            raise ValueError(f"the hyper-latent shape must be two positive sizes, got {tuple(shape)}")
        return self.entropy_bottleneck.decompress(z_strings, tuple(int(v) for v in shape))

    def check_segments(self, strings: list, what: str = "segment") -> int:
        """The number of segments in `strings` (hyper-latent first), checked against the codec."""
        levels = len(strings) - 1
        if not 1 <= levels <= self.num_levels:
            raise ValueError(
                f"need the hyper-latent strings and 1 to {self.num_levels} {what} strings, got {len(strings)} lists"
            )
        batch = len(strings[0])
        if any(len(s) != batch for s in strings):
            raise ValueError(f"every {what} needs one string per image ({batch}); got {[len(s) for s in strings]}")
        return levels

    def synthesise(self, y_hat: torch.Tensor) -> torch.Tensor:
        """The decoder's image: one-thread synthesis (single_threaded)."""
        with single_threaded():
            return self.g_s(y_hat.float()).clamp_(0, 1)
