"""The `conv` backbone (the GDN network of Balle et al./Minnen et al., sized for CPU), its
mean-scale hyperprior transforms (shared with RMPGC's hyperpriors), and what every backbone
builder returns: `Transforms(g_a, g_s, h_a, h_s, downsampling)`:
- g_a: image (3 ch) -> latent y (M ch) at 1/16 resolution; g_s: the inverse;
- h_a: y -> hyper-latent z (N ch) at a further 1/4; h_s: z -> 2*M channels of hyper
  features (first M feed the means, last M the scales of the level-block entropy model).
`downsampling` is the total factor from image to z (the pad multiple of the codec).
"""

from __future__ import annotations

from dataclasses import dataclass

from compressai.layers import GDN, conv3x3
from compressai.models.utils import conv, deconv
from torch import nn

from ..registry import register_backbone


@dataclass
class Transforms:
    g_a: nn.Module
    g_s: nn.Module
    h_a: nn.Module
    h_s: nn.Module
    downsampling: int


def conv_hyper_transforms(N: int, M: int) -> tuple[nn.Module, nn.Module]:
    """Mean-scale hyperprior transforms (Minnen et al. 2018), h_s widened to 2*M outputs."""
    h_a = nn.Sequential(
        conv3x3(M, N),
        nn.LeakyReLU(inplace=True),
        conv(N, N, stride=2, kernel_size=5),
        nn.LeakyReLU(inplace=True),
        conv(N, N, stride=2, kernel_size=5),
    )
    h_s = nn.Sequential(
        deconv(N, M, stride=2, kernel_size=5),
        nn.LeakyReLU(inplace=True),
        deconv(M, M * 3 // 2, stride=2, kernel_size=5),
        nn.LeakyReLU(inplace=True),
        conv3x3(M * 3 // 2, 2 * M),
    )
    return h_a, h_s


@register_backbone("conv")
def conv_backbone(N: int, M: int) -> Transforms:
    g_a = nn.Sequential(conv(3, N), GDN(N), conv(N, N), GDN(N), conv(N, N), GDN(N), conv(N, M))
    g_s = nn.Sequential(
        deconv(M, N),
        GDN(N, inverse=True),
        deconv(N, N),
        GDN(N, inverse=True),
        deconv(N, N),
        GDN(N, inverse=True),
        deconv(N, 3),
    )
    h_a, h_s = conv_hyper_transforms(N, M)
    return Transforms(g_a, g_s, h_a, h_s, downsampling=64)
