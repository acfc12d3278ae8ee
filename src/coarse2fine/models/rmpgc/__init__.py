"""RMPGC (Lei et al.): progressive image coding by importance masks over latent positions,
on the mean-scale hyperprior backbone (the paper's own transfer to an MBT2018-style model).

Every latent position gets an importance (the paper's Eq. 12, `importance: paper`)

    I = (1 + e) * B + sigmoid(v) * (1 - B)

where e is the Grad-CAM++ map of a frozen classifier (top-1 class, last conv feature map)
resized to the latent grid and normalised to [0, 1], B its Otsu binarisation (the salient
positions), and v the channel variance of the latent at the position (z-scored per image):
salient positions come first, ordered by saliency, then the rest by latent complexity.
`importance: continuous` is this project's earlier reading (B the continuous map, e the
constant `complexity_weight`), kept to measure what the difference changes (docs/rmpgc.md).
Positions are ranked by I.
With `base_channels` C_b > 0 (the paper's base layer), segment 1 codes the first C_b channels
at every position and the other M - C_b (the enhancement channels) of the S_1 most important
positions; segment k (an enhance layer) codes the enhancement channels of the positions ranked
S_{k-1}..S_k, so the masks are nested and each layer adds what the previous ones left. With
C_b = 0 every channel is masked from segment 1 on. Enhancement channels not coded yet decode
to the hyperprior mean.

The encoder picks S_k so that the actual file size through segment k (container, hyper-latent,
mask side information and symbols) meets `target_bpp[k]`: a first guess from the per-position
estimated bits sorted by I, then a few corrections from the real coded size. The mask is side
information: each segment codes which not-yet-coded positions it adds as a binary map with
rANS under four left/top context probabilities written in the segment. Layout and choices:
docs/rmpgc.md.

The classifier runs at the encoder only (and in training); it is loaded by name, lazily, and
is not a submodule, so it is neither in the state_dict nor in the model identity.
"""

from __future__ import annotations

from .codec import RMPGC
from .importance import blend_importance, complexity_map, nested_masks, otsu_masks, paper_importance, ranking
from .rate import RATE_TOLERANCE, closest_count, segment_size_estimates
from .segments import BASE_HEAD, SEGMENT_HEAD, decode_mask, encode_mask, parse_segment

__all__ = [
    "BASE_HEAD",
    "RATE_TOLERANCE",
    "RMPGC",
    "SEGMENT_HEAD",
    "blend_importance",
    "closest_count",
    "complexity_map",
    "decode_mask",
    "encode_mask",
    "nested_masks",
    "otsu_masks",
    "paper_importance",
    "parse_segment",
    "ranking",
    "segment_size_estimates",
]
