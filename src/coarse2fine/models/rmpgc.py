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

import copy
import math
import struct

import numpy as np
import torch
from compressai.ans import BufferedRansEncoder, RansDecoder
from compressai.ops import quantize_ste
from torch.nn import functional as F

from coarse2fine import rans
from coarse2fine.errors import BitstreamError

from .gradcam import classifier_features, gradcam_plus_plus
from .hyperprior import HyperpriorBase
from .registry import register_codec

# Segment layout (little-endian): new positions u32 | mask bytes u32 | symbol bytes u32 |
# [4 x u16 context frequencies, only when the map is coded] | mask rANS | symbol rANS.
SEGMENT_HEAD = struct.Struct("<III")
BASE_HEAD = struct.Struct("<I")  # segment 1 with base channels: base layer bytes u32 | base rANS | segment
CONTEXT_FREQS = struct.Struct("<4H")
NUM_CONTEXTS = 4  # left neighbour coded (1) + 2 * top neighbour coded
# Binary CDF [0, f0, 65535, 65536]: symbol 0 has f0, symbol 1 has 65535 - f0 and CompressAI's
# escape symbol (always the last entry) keeps frequency 1.
_CDF_TOTAL = 1 << 16
_MAX_F0 = _CDF_TOTAL - 2
_RANS_MIN_BYTES = 8
# Estimated rANS flush overhead of a non-empty payload (state + padding to a word), bytes.
_FLUSH_ESTIMATE = 6
RATE_TOLERANCE = 0.10  # the accepted relative error of the cumulative size per segment
_RATE_AIM = 0.02  # stop correcting once this close
_RATE_ITERATIONS = 4


# -- importance ----------------------------------------------------------------------------------
def complexity_map(y: torch.Tensor) -> torch.Tensor:
    """v: channel variance of y per position, z-scored per image, (B, 1, h, w)."""
    var = y.var(dim=1, keepdim=True, unbiased=False)
    flat = var.flatten(1)
    mean = flat.mean(1).view(-1, 1, 1, 1)
    std = flat.std(1, unbiased=False).view(-1, 1, 1, 1)
    return (var - mean) / std.clamp(min=1e-12)


def otsu_masks(maps: torch.Tensor, bins: int = 256) -> torch.Tensor:
    """Otsu's binarisation of each map (B, 1, h, w) with values in [0, 1]: True above the
    threshold that maximises the between-class variance of a `bins`-bin histogram. (Written
    here rather than adding scikit-image for one function; tests/test_rmpgc.py checks it
    against an exhaustive search.) A constant map has no salient part: all False."""
    masks = []
    centres = (torch.arange(bins, dtype=torch.float64) + 0.5) / bins
    for m in maps.detach().double():
        hist = torch.histc(m.flatten(), bins=bins, min=0.0, max=1.0)
        p = hist / hist.sum().clamp(min=1)
        omega, mu = torch.cumsum(p, 0), torch.cumsum(p * centres, 0)
        between = (mu[-1] * omega - mu) ** 2 / (omega * (1 - omega))
        between = torch.nan_to_num(between, nan=0.0, posinf=0.0)
        if between.max() <= 0:
            masks.append(torch.zeros_like(m, dtype=torch.bool))
            continue
        threshold = (int(between.argmax()) + 1) / bins  # upper edge of the last bin of the lower class
        masks.append(m > threshold)
    return torch.stack(masks)


def paper_importance(saliency: torch.Tensor, complexity: torch.Tensor) -> torch.Tensor:
    """Eq. 12: I = (1 + e) * B + sigmoid(v) * (1 - B), e the saliency map, B = Otsu(e); salient
    positions in [1, 2] (by saliency), the rest in (0, 1) (by complexity)."""
    salient = otsu_masks(saliency).to(saliency.dtype)
    return (1 + saliency) * salient + torch.sigmoid(complexity) * (1 - salient)


def blend_importance(semantic: torch.Tensor, complexity: torch.Tensor, complexity_weight: float) -> torch.Tensor:
    """The continuous reading: I = (1 + w) * B + sigmoid(v) * (1 - B) with B the saliency map
    itself and w a constant, in [0, 1 + w] for B in [0, 1]."""
    return (1 + complexity_weight) * semantic + torch.sigmoid(complexity) * (1 - semantic)


def ranking(importance: torch.Tensor) -> torch.Tensor:
    """Positions of each image by decreasing importance, (B, h*w); ties keep raster order."""
    return torch.argsort(-importance.flatten(1).double(), dim=1, stable=True)


def nested_masks(importance: torch.Tensor, counts) -> list[torch.Tensor]:
    """Cumulative masks (B, 1, h, w), one per segment: the counts[b][k] most important
    positions of image b through segment k (counts non-decreasing in k)."""
    batch, _, height, width = importance.shape
    order = ranking(importance)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(order.shape[1], device=order.device).expand_as(order))
    rank = rank.view(batch, 1, height, width)
    counts = torch.as_tensor(counts, device=importance.device).view(batch, -1)
    return [rank < counts[:, k].view(batch, 1, 1, 1) for k in range(counts.shape[1])]


# -- mask side information -------------------------------------------------------------------
def mask_contexts(cumulative: np.ndarray) -> np.ndarray:
    """Context of each position: left and top neighbours in the mask through this segment.
    Both precede the position in raster order, so the decoder knows them when it gets there."""
    left = np.zeros_like(cumulative)
    left[:, 1:] = cumulative[:, :-1]
    top = np.zeros_like(cumulative)
    top[1:, :] = cumulative[:-1, :]
    return left.astype(np.int32) + 2 * top.astype(np.int32)


def _binary_cdfs(freqs) -> list[list[int]]:
    return [[0, int(f), _CDF_TOTAL - 1, _CDF_TOTAL] for f in freqs]


def encode_mask(new: np.ndarray, previous: np.ndarray) -> tuple[list[int], bytes]:
    """(context frequencies, rANS bytes) of the map of `new` over the positions not in `previous`."""
    candidates = ~previous
    contexts = mask_contexts(previous | new)[candidates]
    bits = new[candidates].astype(np.int64)
    freqs = []
    for c in range(NUM_CONTEXTS):
        in_context = contexts == c
        total = int(in_context.sum())
        zeros = total - int(bits[in_context].sum())
        f0 = round(_CDF_TOTAL * zeros / total) if total else _CDF_TOTAL // 2
        freqs.append(min(max(f0, 1), _MAX_F0))
    encoder = BufferedRansEncoder()
    encoder.encode_with_indexes(bits.tolist(), contexts.tolist(), _binary_cdfs(freqs), [4] * NUM_CONTEXTS,
                                [0] * NUM_CONTEXTS)
    return freqs, encoder.flush()


def decode_mask(data: bytes, previous: np.ndarray, freqs, count: int) -> np.ndarray:
    """The map of new positions; BitstreamError unless it is binary and holds `count` positions."""
    cdfs, lengths, offsets = _binary_cdfs(freqs), [4] * NUM_CONTEXTS, [0] * NUM_CONTEXTS
    decoder = RansDecoder()
    decoder.set_stream(rans.guarded(data, int((~previous).sum())))
    cumulative = previous.copy()
    new = np.zeros_like(previous)
    height, width = previous.shape
    found = 0
    for r in range(height):
        for c in range(width):
            if previous[r, c]:
                continue
            context = (int(cumulative[r, c - 1]) if c else 0) + (2 * int(cumulative[r - 1, c]) if r else 0)
            bit = decoder.decode_stream([context], cdfs, lengths, offsets)[0]
            if bit not in (0, 1):
                raise BitstreamError(f"corrupt mask side information: decoded symbol {bit} at position ({r}, {c})")
            if bit:
                new[r, c] = cumulative[r, c] = True
                found += 1
                if found > count:
                    raise BitstreamError(f"corrupt mask side information: more than the {count} new positions declared")
    if found != count:
        raise BitstreamError(f"corrupt mask side information: {found} new positions, the segment declares {count}")
    return new


def pack_segment(count: int, freqs, mask_bytes: bytes, symbol_bytes: bytes) -> bytes:
    head = SEGMENT_HEAD.pack(count, len(mask_bytes), len(symbol_bytes))
    if freqs is not None:
        head += CONTEXT_FREQS.pack(*freqs)
    return head + mask_bytes + symbol_bytes


def parse_segment(payload: bytes, remaining: int, segment: int):
    """(new count, context frequencies or None, mask bytes, symbol bytes), all checked.

    `payload` may carry zero padding after the declared parts (the container reader adds it)."""
    error = BitstreamError
    where = f"segment {segment}"
    if len(payload) < SEGMENT_HEAD.size:
        raise error(f"{where}: {len(payload)} bytes, its header alone needs {SEGMENT_HEAD.size}")
    count, mask_len, symbol_len = SEGMENT_HEAD.unpack_from(payload, 0)
    if count > remaining:
        raise error(f"{where}: declares {count} new positions, only {remaining} are left to code")
    offset, freqs = SEGMENT_HEAD.size, None
    has_map = 0 < count < remaining
    if has_map:
        if len(payload) < offset + CONTEXT_FREQS.size:
            raise error(f"{where}: truncated before its context frequencies")
        freqs = list(CONTEXT_FREQS.unpack_from(payload, offset))
        if any(not 1 <= f <= _MAX_F0 for f in freqs):
            raise error(f"{where}: context frequencies {freqs} outside 1..{_MAX_F0}")
        offset += CONTEXT_FREQS.size
    for name, length, present in (("mask", mask_len, has_map), ("symbol", symbol_len, count > 0)):
        if present and (length < _RANS_MIN_BYTES or length % rans.WORD_BYTES):
            raise error(f"{where}: a {length}-byte {name} payload cannot be a rANS stream")
        if not present and length:
            raise error(f"{where}: {length} {name} bytes where the segment codes none")
    if offset + mask_len + symbol_len > len(payload):
        raise error(f"{where}: declares {offset + mask_len + symbol_len} bytes, holds {len(payload)}")
    mask_bytes = bytes(payload[offset : offset + mask_len])
    symbol_bytes = bytes(payload[offset + mask_len : offset + mask_len + symbol_len])
    return count, freqs, mask_bytes, symbol_bytes


def split_base_layer(payload: bytes) -> tuple[bytes, bytes]:
    """(base layer rANS bytes, the rest of segment 1), checked."""
    if len(payload) < BASE_HEAD.size:
        raise BitstreamError(f"segment 1: {len(payload)} bytes, its base layer length alone needs {BASE_HEAD.size}")
    (length,) = BASE_HEAD.unpack_from(payload, 0)
    if length < _RANS_MIN_BYTES or length % rans.WORD_BYTES or BASE_HEAD.size + length > len(payload):
        raise BitstreamError(f"segment 1: a base layer of {length} bytes cannot be a rANS stream in {len(payload)} bytes")
    return bytes(payload[BASE_HEAD.size: BASE_HEAD.size + length]), bytes(payload[BASE_HEAD.size + length:])


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


def segment_size_estimates(sorted_bits: np.ndarray, start: int) -> np.ndarray:
    """Estimated payload bytes (container framing included) of a segment that adds the
    positions start..S of the ranking, for every S in start..P; sorted_bits: bits per
    position in rank order."""
    total = len(sorted_bits)
    cumulative = np.concatenate([[0.0], np.cumsum(sorted_bits, dtype=np.float64)])
    new = np.arange(start, total + 1) - start
    remaining = total - start
    symbols = (cumulative[start:] - cumulative[start]) / 8 + np.where(new > 0, _FLUSH_ESTIMATE, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = new / max(remaining, 1)
    has_map = (new > 0) & (new < remaining)
    mask = np.where(has_map, CONTEXT_FREQS.size + remaining * _binary_entropy(fraction) / 8 + _FLUSH_ESTIMATE, 0)
    return 8 + SEGMENT_HEAD.size + mask + symbols


def closest_count(estimates: np.ndarray, target: float) -> int:
    """The number of new positions whose estimated size comes closest to `target`. The
    estimates are made non-decreasing first (a segment adding positions never gets smaller):
    the mask term alone peaks at half the remaining positions and must not pull the choice."""
    envelope = np.maximum.accumulate(estimates)
    below = int(np.searchsorted(envelope, target, side="right"))  # envelope[:below] <= target
    if below == 0:
        return 0
    if below < len(envelope) and envelope[below] - target < target - envelope[below - 1]:
        return below
    return below - 1


def container_bytes(codec, padded_size) -> int:
    """Bytes of the .c2f header plus the framing of the hyper-latent segment."""
    from coarse2fine.coding.codec_io import header_for

    height, width = padded_size
    return len(header_for(codec, width, height).to_bytes()) + 8


@register_codec("rmpgc")
class RMPGC(HyperpriorBase):
    """Mask-based progressive coding by target rate; see the module docstring."""

    def __init__(self, backbone: str = "conv", N: int = 64, M: int = 96, target_bpp=(0.1, 0.2, 0.35, 0.6),
                 classifier: str = "efficientnet_lite0", complexity_weight: float = 0.5,
                 feature_weight: float = 0.05, gan: bool = False, mean_grid_bits: int = 8,
                 backbone_options: dict | None = None, train_fractions=None, train_jitter: float = 0.25,
                 classifier_size: int | None = None, importance: str = "paper", base_channels: int = 0):
        if gan:
            raise ValueError("RMPGC's optional GAN term is not implemented; build with gan=False")
        super().__init__(backbone, N, M, mean_grid_bits, backbone_options)
        targets = [float(t) for t in target_bpp]
        if not targets or len(targets) > 16:
            raise ValueError(f"target_bpp needs 1 to 16 rates (one per segment), got {len(targets)}")
        if any(t <= 0 for t in targets) or any(b <= a for a, b in zip(targets, targets[1:])):
            raise ValueError(f"target_bpp must be positive and strictly increasing, got {targets}")
        if train_fractions is None:
            # Training fractions follow the target rates: [0.1, 0.2, 0.35, 0.6] -> [0.17, 0.33, 0.58, 1].
            train_fractions = [round(t / targets[-1], 4) for t in targets]
        fractions = [float(f) for f in train_fractions]
        if len(fractions) != len(targets):
            raise ValueError(f"train_fractions needs one value per target rate ({len(targets)}), got {len(fractions)}")
        if any(not 0 <= f <= 1 for f in fractions) or any(b < a for a, b in zip(fractions, fractions[1:])):
            raise ValueError(f"train_fractions must be non-decreasing in [0, 1], got {fractions}")
        if importance not in ("paper", "continuous"):
            raise ValueError(f"importance must be paper (Eq. 12, Otsu-binarised saliency) or continuous, got {importance!r}")
        self.importance = importance
        if not 0 <= int(base_channels) < int(M):
            raise ValueError(f"base_channels must be in 0..M-1 ({int(M) - 1}), got {base_channels}")
        self.base_channels = int(base_channels)
        if complexity_weight < 0 or feature_weight < 0 or not 0 <= train_jitter < 1:
            raise ValueError("complexity_weight and feature_weight must be >= 0 and train_jitter in [0, 1)")
        self.target_bpp, self.train_fractions = targets, fractions
        self.complexity_weight, self.feature_weight = float(complexity_weight), float(feature_weight)
        self.train_jitter = float(train_jitter)
        self.classifier_name = str(classifier)
        if classifier_size is not None and int(classifier_size) < 32:
            raise ValueError(f"classifier_size must be >= 32 pixels or null, got {classifier_size}")
        # Side of the square view Grad-CAM++ and the feature matching see; None: the classifier's
        # own input size. Training on 128 px crops, 128 avoids a 3x upsampled classifier pass.
        self.classifier_size = None if classifier_size is None else int(classifier_size)
        self.config.update({"target_bpp": targets, "classifier": self.classifier_name,
                            "complexity_weight": self.complexity_weight, "feature_weight": self.feature_weight,
                            "gan": False, "train_fractions": fractions, "train_jitter": self.train_jitter,
                            "classifier_size": self.classifier_size, "importance": importance,
                            "base_channels": self.base_channels})
        object.__setattr__(self, "_classifier_module", None)

    @property
    def num_levels(self) -> int:
        return len(self.target_bpp)

    @property
    def level_blocks(self) -> list[int]:
        return [self.M] * self.num_levels

    # -- the classifier (encoder and training only) ------------------------------------------
    def classifier_on(self, device: torch.device):
        module = self._classifier_module
        if module is None:
            from coarse2fine.classify import load_classifier

            module = load_classifier(self.classifier_name)
        if next(module.parameters()).device != torch.device(device):
            module = copy.deepcopy(module).to(device)  # the loader's cached copy stays where it is
        object.__setattr__(self, "_classifier_module", module)  # not a submodule: outside state_dict
        return module

    def _classifier_size(self, classifier) -> int:
        return self.classifier_size or int(getattr(classifier, "input_size", 224))

    def semantic_map(self, x: torch.Tensor, grid) -> torch.Tensor:
        """B: Grad-CAM++ of the classifier on x, resized to `grid` (h, w), in [0, 1]."""
        classifier = self.classifier_on(x.device)
        cam = gradcam_plus_plus(classifier, x.float(), self._classifier_size(classifier))
        cam = F.interpolate(cam, size=tuple(grid), mode="bilinear", align_corners=False)
        return cam.clamp_(0, 1)

    def importance_map(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """I per latent position, (B, 1, h, w), in [0, 1 + e]."""
        semantic = self.semantic_map(x, y.shape[-2:])
        complexity = complexity_map(y.detach().float())
        if self.importance == "paper":
            return paper_importance(semantic, complexity)
        return blend_importance(semantic, complexity, self.complexity_weight)

    def base_channel_mask(self, y: torch.Tensor) -> torch.Tensor:
        """(1, M, 1, 1): True for the base channels (coded at every position in segment 1)."""
        return (torch.arange(y.shape[1], device=y.device) < self.base_channels).view(1, -1, 1, 1)

    # -- rate control --------------------------------------------------------------------------
    def _target_bytes(self, pixels: int) -> list[float]:
        return [t * pixels / 8 for t in self.target_bpp]

    def estimated_counts(self, sorted_bits: np.ndarray, fixed_bytes: float, pixels: int) -> list[int]:
        """Positions through each segment from the estimate alone (no coding)."""
        counts, size, start = [], float(fixed_bytes), 0
        for target in self._target_bytes(pixels):
            estimates = size + segment_size_estimates(sorted_bits, start)
            pick = closest_count(estimates, target)
            size, start = float(estimates[pick]), start + pick
            counts.append(start)
        return counts

    def training_counts(self, batch: int, positions: int) -> list[list[int]]:
        fractions = torch.tensor(self.train_fractions, dtype=torch.float64).expand(batch, -1)
        if self.training and self.train_jitter > 0:
            # Rates vary per image at coding time; a jitter around the nominal fractions trains
            # the decoder for the masks it will meet. A fraction of 1 (everything) stays exact.
            scale = 1 + self.train_jitter * (2 * torch.rand(fractions.shape, dtype=torch.float64) - 1)
            fractions = torch.where(fractions < 1, (fractions * scale).clamp(0, 1), fractions)
            fractions = torch.cummax(fractions, dim=1).values
        return torch.round(fractions * positions).long().tolist()

    # -- training ------------------------------------------------------------------------------
    def _masked(self, x: torch.Tensor, synthesise: bool) -> dict:
        a = self.analyse(x)
        y, means, scales = a["y"], a["means"], a["scales"]
        _, y_likelihoods = self.gaussian_conditional(y, scales, means=means)
        y_hat = quantize_ste(y - means) + means
        importance = self.importance_map(x, y)
        batch, _, height, width = y.shape
        positions = height * width
        if self.training:
            counts = self.training_counts(batch, positions)
        else:
            # Evaluation follows the coder's rate control (on the estimate, over the padded size).
            all_bits = -torch.log2(y_likelihoods.detach().double())
            bits = all_bits[:, self.base_channels:].sum(1).flatten(1)
            z_bits = (-torch.log2(a["z_likelihoods"].detach().double())).flatten(1).sum(1)
            z_bits = z_bits + all_bits[:, : self.base_channels].flatten(1).sum(1)  # the base layer: fixed
            order = ranking(importance)
            fixed = container_bytes(self, x.shape[-2:])
            counts = [self.estimated_counts(bits[b, order[b]].cpu().numpy(), fixed + z_bits[b].item() / 8,
                                            x.shape[-2] * x.shape[-1]) for b in range(batch)]
        masks = nested_masks(importance, counts)
        ones = torch.ones_like(y_likelihoods)
        base = self.base_channel_mask(y)
        likelihoods, x_hats, previous = [], [], torch.zeros_like(masks[0])
        for k, mask in enumerate(masks):
            # segment 1 carries the base channels everywhere; every segment its new positions'
            # enhancement channels
            coded_now = (mask & ~previous & ~base) | (base & (k == 0))
            likelihoods.append(torch.where(coded_now, y_likelihoods, ones))
            if synthesise:
                x_hats.append(self.g_s(torch.where(mask | base, y_hat, means)))
            previous = mask
        out = {"x_hat": x_hats, "likelihoods": {"z": a["z_likelihoods"], "y": likelihoods},
               "importance": importance, "masks": masks}
        if synthesise and self.feature_weight > 0:
            out["penalties"] = {"feature_match": self.feature_weight * self.feature_matching(x, x_hats)}
        return out

    def feature_matching(self, x: torch.Tensor, x_hats: list[torch.Tensor]) -> torch.Tensor:
        """Mean over segments of the MSE between classifier features of x_hat_k and of x."""
        classifier = self.classifier_on(x.device)
        size = self._classifier_size(classifier)
        with torch.no_grad():
            reference = classifier_features(classifier, x, size)
        terms = [F.mse_loss(classifier_features(classifier, x_hat, size), reference) for x_hat in x_hats]
        return torch.stack(terms).mean()

    def forward(self, x: torch.Tensor) -> dict:
        return self._masked(x, synthesise=True)

    def likelihoods(self, x: torch.Tensor) -> dict:
        return self._masked(x, synthesise=False)["likelihoods"]

    def prefix_latents(self, y_hat: torch.Tensor, levels: int) -> torch.Tensor:
        raise NotImplementedError("RMPGC's prefixes depend on the coded masks: use compress()['y_hat_levels']")

    # -- coding --------------------------------------------------------------------------------
    @torch.no_grad()
    def compress(self, x: torch.Tensor, pixels: int | None = None) -> dict:
        """Code x (padded) at every target rate. `pixels`: the original image's pixel count,
        the denominator of the target bpp (default: the padded size)."""
        self._check_input(x)
        y = self.g_a(x)
        z_strings, shape, means, scales = self.compress_hyper(y)
        importance = self.importance_map(x, y)
        symbols = rans.to_symbols(y.double() - means).double()
        indexes = self.gaussian_conditional.build_indexes(scales).int()
        bits = -torch.log2(self.gaussian_conditional._likelihood(symbols, scales))
        if self.gaussian_conditional.use_likelihood_bound:
            bits = bits.clamp(max=-math.log2(self.gaussian_conditional.likelihood_lower_bound.bound.item()))
        bits = bits[:, self.base_channels:].sum(1).flatten(1)  # what masking a position saves
        pixels = int(pixels) if pixels is not None else x.shape[-2] * x.shape[-1]
        fixed = container_bytes(self, x.shape[-2:])
        order = ranking(importance)
        segment_strings = [[] for _ in range(self.num_levels)]
        level_latents = [means.clone() for _ in range(self.num_levels)]
        reports = []
        for b in range(x.shape[0]):
            coder = _ImageCoder(self, symbols[b], indexes[b])
            strings, cumulative, report = coder.rate_controlled(
                order[b].cpu().numpy(), bits[b, order[b]].cpu().numpy(), fixed + len(z_strings[b]), pixels)
            for k, (string, mask) in enumerate(zip(strings, cumulative)):
                segment_strings[k].append(string)
                keep = torch.from_numpy(mask).to(y.device)
                enhancement = level_latents[k][b][self.base_channels:]
                enhancement[:, keep] += symbols[b][self.base_channels:, keep]
                level_latents[k][b][: self.base_channels] += symbols[b][: self.base_channels]
            reports.append(report)
        y_hat_levels = [latent.float() for latent in level_latents]
        return {"strings": [z_strings, *segment_strings], "shape": shape, "y_hat": y_hat_levels[-1],
                "y_hat_levels": y_hat_levels, "rate_control": reports}

    @torch.no_grad()
    def decompress(self, strings: list, shape) -> dict:
        levels = self.check_segments(strings)
        means, scales = self.decompress_hyper(strings[0], shape)
        indexes = self.gaussian_conditional.build_indexes(scales).int()
        cdf, lengths, offsets = self.gaussian_tables()
        y_hat = means.clone()
        height, width = means.shape[-2:]
        for b in range(means.shape[0]):
            coded = np.zeros((height, width), dtype=bool)
            cb, enhancement = self.base_channels, self.M - self.base_channels
            for k in range(levels):
                remaining = int((~coded).sum())
                payload = strings[1 + k][b]
                if k == 0 and cb:
                    base_bytes, payload = split_base_layer(payload)
                    decoder = RansDecoder()
                    decoder.set_stream(rans.guarded(base_bytes, cb * height * width))
                    values = decoder.decode_stream(indexes[b][:cb].reshape(-1).tolist(), cdf, lengths, offsets)
                    y_hat[b][:cb] += torch.tensor(values, dtype=torch.float64, device=means.device).view(cb, height, width)
                count, freqs, mask_bytes, symbol_bytes = parse_segment(payload, remaining, k + 1)
                if freqs is not None:
                    new = decode_mask(mask_bytes, coded, freqs, count)
                else:
                    new = ~coded if count else np.zeros_like(coded)
                if count:
                    keep = torch.from_numpy(new).to(means.device)
                    decoder = RansDecoder()
                    decoder.set_stream(rans.guarded(symbol_bytes, count * enhancement))
                    values = decoder.decode_stream(indexes[b][cb:, keep].reshape(-1).tolist(), cdf, lengths, offsets)
                    y_hat[b][cb:, keep] += torch.tensor(values, dtype=torch.float64, device=means.device).view(enhancement, count)
                coded |= new
        y_hat = y_hat.float()
        return {"x_hat": self.synthesise(y_hat), "y_hat": y_hat, "levels": levels}


class _ImageCoder:
    """Codes the segments of one image: the mask side information and the symbols."""

    def __init__(self, codec: RMPGC, symbols: torch.Tensor, indexes: torch.Tensor):
        self.codec = codec
        self.symbols = symbols.int()  # (M, h, w)
        self.indexes = indexes
        self.tables = codec.gaussian_tables()
        self.shape = tuple(symbols.shape[-2:])

    def segment(self, previous: np.ndarray, new: np.ndarray) -> bytes:
        count, remaining = int(new.sum()), int((~previous).sum())
        freqs, mask_bytes, symbol_bytes = None, b"", b""
        if 0 < count < remaining:
            freqs, mask_bytes = encode_mask(new, previous)
        if count:
            keep = torch.from_numpy(new).to(self.symbols.device)
            cb = self.codec.base_channels
            encoder = BufferedRansEncoder()
            encoder.encode_with_indexes(self.symbols[cb:, keep].reshape(-1).tolist(),
                                        self.indexes[cb:, keep].reshape(-1).tolist(), *self.tables)
            symbol_bytes = encoder.flush()
        return pack_segment(count, freqs, mask_bytes, symbol_bytes)

    def base_layer(self) -> bytes:
        """The base channels at every position, framed for the front of segment 1 (b'' without)."""
        cb = self.codec.base_channels
        if not cb:
            return b""
        encoder = BufferedRansEncoder()
        encoder.encode_with_indexes(self.symbols[:cb].reshape(-1).tolist(), self.indexes[:cb].reshape(-1).tolist(),
                                    *self.tables)
        data = encoder.flush()
        return BASE_HEAD.pack(len(data)) + data

    def rate_controlled(self, order: np.ndarray, sorted_bits: np.ndarray, fixed_bytes: int, pixels: int):
        """(segment strings, cumulative masks, report): S_k chosen so the actual size through
        segment k comes closest to target k (checked with the real coded sizes)."""
        total = len(order)
        previous = np.zeros(self.shape, dtype=bool)
        base = self.base_layer()  # in segment 1 whatever its positions: a fixed cost of every target
        size, start = fixed_bytes + len(base), 0
        strings, masks, report = [], [], []

        def new_mask(stop: int) -> np.ndarray:
            new = np.zeros(total, dtype=bool)
            new[order[start:stop]] = True
            return new.reshape(self.shape)

        for target_bpp, target in zip(self.codec.target_bpp, self.codec._target_bytes(pixels)):
            estimates = size + segment_size_estimates(sorted_bits, start)
            tried: dict[int, bytes] = {}
            correction = 0.0
            for _ in range(_RATE_ITERATIONS):
                pick = closest_count(estimates + correction, target)
                if pick in tried:
                    break
                tried[pick] = self.segment(previous, new_mask(start + pick))
                actual = size + 8 + len(tried[pick])
                if abs(actual - target) <= _RATE_AIM * target:
                    break
                correction = actual - estimates[pick]
            pick = min(tried, key=lambda p: (abs(size + 8 + len(tried[p]) - target), p))
            string = tried[pick]
            new = new_mask(start + pick)
            size += 8 + len(string)
            start += pick
            previous = previous | new
            achieved = size * 8 / pixels
            if abs(achieved - target_bpp) <= RATE_TOLERANCE * target_bpp:
                status = "ok"
            elif pick == 0 and achieved > target_bpp:
                status = "below_floor"  # even a segment with no new positions overshoots
            elif start == total and achieved < target_bpp:
                status = "above_ceiling"  # every position is coded and the target is not reached
            else:
                status = "off_target"
            strings.append(base + string if not strings else string)
            masks.append(previous.copy())
            report.append({"target_bpp": target_bpp, "bpp": achieved, "new_positions": pick,
                           "positions": start, "status": status})
        return strings, masks, report
