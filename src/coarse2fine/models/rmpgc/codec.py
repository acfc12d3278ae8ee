"""The RMPGC codec: the hyperprior backbone, its importance masks in training, and compress /
decompress segment by segment (models/rmpgc/__init__.py)."""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from compressai.ans import RansDecoder
from compressai.ops import quantize_ste
from torch import nn
from torch.nn import functional as F

from coarse2fine import rans
from coarse2fine.classify import load_classifier

from ..gradcam import PYRAMID_WEIGHTS, classifier_features, gradcam_plus_plus, pyramid_features
from ..hyperlatent import single_threaded
from ..hyperprior import HyperpriorBase
from ..loss import RunningMeanNormaliser
from ..registry import register_codec
from .hyper import separate_hyper_transforms
from .importance import blend_importance, complexity_map, nested_masks, paper_importance, ranking
from .rate import _ImageCoder, closest_count, container_bytes, segment_size_estimates
from .segments import decode_mask, parse_segment, split_base_layer


def _segment_rates(target_bpp, train_fractions) -> tuple[list[float], list[float]]:
    """The checked target rates and training fractions (by default the targets' share of the
    last: [0.1, 0.2, 0.35, 0.6] -> [0.17, 0.33, 0.58, 1])."""
    targets = [float(t) for t in target_bpp]
    if not targets or len(targets) > 16:
        raise ValueError(f"target_bpp needs 1 to 16 rates (one per segment), got {len(targets)}")
    if any(t <= 0 for t in targets) or any(b <= a for a, b in zip(targets, targets[1:])):
        raise ValueError(f"target_bpp must be positive and strictly increasing, got {targets}")
    if train_fractions is None:
        train_fractions = [round(t / targets[-1], 4) for t in targets]
    fractions = [float(f) for f in train_fractions]
    if len(fractions) != len(targets):
        raise ValueError(f"train_fractions needs one value per target rate ({len(targets)}), got {len(fractions)}")
    if any(not 0 <= f <= 1 for f in fractions) or any(b < a for a, b in zip(fractions, fractions[1:])):
        raise ValueError(f"train_fractions must be non-decreasing in [0, 1], got {fractions}")
    return targets, fractions


# How the decoder is trained: on nested masks at jittered fractions of the target rates
# (`fractions`), or under the paper's three conditions U in {0, B, 1} (`paper`, section V).
TRAIN_CONDITIONS = {"fractions", "paper"}
# How the loss terms are scaled: as they are, or each over its own running mean (section V-A).
LOSS_NORMALISATIONS = {"none", "running_mean"}
# One mean-scale hyperprior for every channel, or one for the base and one for the enhancement
# channels (section V-H, models/rmpgc/hyper.py).
ENTROPY_MODELS = {"shared", "separate"}


def _check_options(
    *,
    gan,
    importance,
    feature_layers,
    base_channels,
    M,
    train_conditions,
    loss_normalisation,
    entropy_models,
    complexity_weight,
    feature_weight,
    train_jitter,
    classifier_size,
) -> None:
    """RMPGC's options, each checked before anything is built (a bad one names itself)."""
    if gan:
        raise ValueError("RMPGC's optional GAN term is not implemented; build with gan=False")
    if importance not in ("paper", "continuous"):
        raise ValueError(
            f"importance must be paper (Eq. 12, Otsu-binarised saliency) or continuous, got {importance!r}"
        )
    if feature_layers not in ("pyramid", "last"):
        raise ValueError(
            f"feature_layers must be pyramid (four scales, the paper's weights) or last, got {feature_layers!r}"
        )
    if not 0 <= int(base_channels) < int(M):
        raise ValueError(f"base_channels must be in 0..M-1 ({int(M) - 1}), got {base_channels}")
    if train_conditions not in TRAIN_CONDITIONS:
        raise ValueError(f"train_conditions must be one of {sorted(TRAIN_CONDITIONS)}, got {train_conditions!r}")
    if train_conditions == "paper" and (importance != "paper" or not int(base_channels)):
        raise ValueError(
            "train_conditions: paper trains U in {0, B, 1}: it needs importance: paper "
            "(B, the Otsu mask) and base_channels > 0 (what U = 0 decodes)"
        )
    if loss_normalisation not in LOSS_NORMALISATIONS:
        raise ValueError(f"loss_normalisation must be one of {sorted(LOSS_NORMALISATIONS)}, got {loss_normalisation!r}")
    if entropy_models not in ENTROPY_MODELS:
        raise ValueError(f"entropy_models must be one of {sorted(ENTROPY_MODELS)}, got {entropy_models!r}")
    if entropy_models == "separate" and not int(base_channels):
        raise ValueError(
            "entropy_models: separate models the base and the enhancement channels apart: it needs base_channels > 0"
        )
    if complexity_weight < 0 or feature_weight < 0 or not 0 <= train_jitter < 1:
        raise ValueError("complexity_weight and feature_weight must be >= 0 and train_jitter in [0, 1)")
    if classifier_size is not None and int(classifier_size) < 32:
        raise ValueError(f"classifier_size must be >= 32 pixels or null, got {classifier_size}")


def _loss_normaliser(loss_normalisation: str, levels: int) -> RunningMeanNormaliser | None:
    """Each loss term over the mean of its own history (C2FLoss reads out["normalise"])."""
    if loss_normalisation != "running_mean":
        return None
    names = [f"{term}_{k}" for term in ("bpp", "mse") for k in range(1, levels + 1)]
    return RunningMeanNormaliser([*names, "feature_match"])


def _condition_map(channels: int) -> nn.Conv2d:
    """The decoder told which positions' enhancement channels it holds (U, the paper's
    conditioned decoder): a learned map of U added to the latent, zero at the start so the
    decoder starts as the backbone's."""
    condition = nn.Conv2d(1, channels, 3, padding=1)
    nn.init.zeros_(condition.weight)
    nn.init.zeros_(condition.bias)
    return condition


@register_codec("rmpgc")
class RMPGC(HyperpriorBase):
    """Mask-based progressive coding by target rate; see the module docstring."""

    def __init__(
        self,
        backbone: str = "conv",
        N: int = 64,
        M: int = 96,
        target_bpp=(0.1, 0.2, 0.35, 0.6),
        classifier: str = "efficientnet_lite0",
        complexity_weight: float = 0.5,
        feature_weight: float = 0.05,
        gan: bool = False,
        mean_grid_bits: int = 8,
        backbone_options: dict | None = None,
        train_fractions=None,
        train_jitter: float = 0.25,
        classifier_size: int | None = None,
        importance: str = "paper",
        base_channels: int = 0,
        feature_layers: str = "pyramid",
        train_conditions: str = "fractions",
        conditioned_decoder: bool = False,
        loss_normalisation: str = "none",
        entropy_models: str = "shared",
    ):
        _check_options(
            gan=gan,
            importance=importance,
            feature_layers=feature_layers,
            base_channels=base_channels,
            M=M,
            train_conditions=train_conditions,
            loss_normalisation=loss_normalisation,
            entropy_models=entropy_models,
            complexity_weight=complexity_weight,
            feature_weight=feature_weight,
            train_jitter=train_jitter,
            classifier_size=classifier_size,
        )
        super().__init__(backbone, N, M, mean_grid_bits, backbone_options)
        targets, fractions = _segment_rates(target_bpp, train_fractions)
        self.importance = importance
        self.feature_layers = feature_layers
        self.base_channels = int(base_channels)
        self.train_conditions = train_conditions
        if entropy_models == "separate":
            # in place of the backbone's h_a and h_s (built and dropped: the shared default's
            # initialisation is left as it was)
            self.h_a, self.h_s = separate_hyper_transforms(int(N), int(M), self.base_channels)
        self.entropy_models = entropy_models
        self.loss_normaliser = _loss_normaliser(loss_normalisation, 3 if train_conditions == "paper" else len(targets))
        self.loss_normalisation = loss_normalisation
        self.condition = _condition_map(int(M)) if conditioned_decoder else None
        self.target_bpp, self.train_fractions = targets, fractions
        self.complexity_weight, self.feature_weight = float(complexity_weight), float(feature_weight)
        self.train_jitter = float(train_jitter)
        self.classifier_name = str(classifier)
        # Side of the square view Grad-CAM++ and the feature matching see; None: the classifier's
        # own input size. Training on 128 px crops, 128 avoids a 3x upsampled classifier pass.
        self.classifier_size = None if classifier_size is None else int(classifier_size)
        self.config.update(
            {
                "target_bpp": targets,
                "classifier": self.classifier_name,
                "complexity_weight": self.complexity_weight,
                "feature_weight": self.feature_weight,
                "gan": False,
                "train_fractions": fractions,
                "train_jitter": self.train_jitter,
                "classifier_size": self.classifier_size,
                "importance": importance,
                "base_channels": self.base_channels,
                "feature_layers": feature_layers,
                "train_conditions": train_conditions,
                "conditioned_decoder": bool(conditioned_decoder),
            }
        )
        # Recorded only when they depart from the defaults, so the identity of every model
        # built without them (checkpoints, streams, the shipped baseline) stays what it was.
        if loss_normalisation != "none":
            self.config["loss_normalisation"] = loss_normalisation
        if entropy_models != "shared":
            self.config["entropy_models"] = entropy_models
        object.__setattr__(self, "_classifier_module", None)

    @property
    def training_levels(self) -> int:
        """Reconstructions per training step, one lambda each: the segments, or the paper's
        three conditions U = 0, B, 1."""
        return 3 if self.train_conditions == "paper" else self.num_levels

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
        if self.training and self.train_conditions == "paper":
            counts = None
        elif self.training:
            counts = self.training_counts(batch, positions)
        else:
            # Evaluation follows the coder's rate control (on the estimate, over the padded size).
            all_bits = -torch.log2(y_likelihoods.detach().double())
            bits = all_bits[:, self.base_channels :].sum(1).flatten(1)
            z_bits = (-torch.log2(a["z_likelihoods"].detach().double())).flatten(1).sum(1)
            z_bits = z_bits + all_bits[:, : self.base_channels].flatten(1).sum(1)  # the base layer: fixed
            order = ranking(importance)
            fixed = container_bytes(self)
            counts = [
                self.estimated_counts(
                    bits[b, order[b]].cpu().numpy(), fixed + z_bits[b].item() / 8, x.shape[-2] * x.shape[-1]
                )
                for b in range(batch)
            ]
        if counts is None:
            # U = 0 (the base layer alone), U = B (the enhancement of the salient positions:
            # Eq. 12 puts them at I >= 1), U = 1 (the whole latent)
            salient = importance >= 1
            masks = [torch.zeros_like(salient), salient, torch.ones_like(salient)]
        else:
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
                x_hats.append(self.synthesis(torch.where(mask | base, y_hat, means), mask))
            previous = mask
        out = {
            "x_hat": x_hats,
            "likelihoods": {"z": a["z_likelihoods"], "y": likelihoods},
            "importance": importance,
            "masks": masks,
        }
        if synthesise and self.loss_normaliser is not None:
            out["normalise"] = self.loss_normaliser
        if synthesise and self.feature_weight > 0:
            feature_match = self.feature_matching(x, x_hats)
            if self.loss_normaliser is not None:
                feature_match = self.loss_normaliser("feature_match", feature_match)
            out["penalties"] = {"feature_match": self.feature_weight * feature_match}
        return out

    def feature_matching(self, x: torch.Tensor, x_hats: list[torch.Tensor]) -> torch.Tensor:
        """Mean over segments of the MSE between classifier features of x_hat_k and of x: the
        last feature map (`last`), or four scales weighted as the paper's VGG16 layers (`pyramid`)."""
        classifier = self.classifier_on(x.device)
        size = self._classifier_size(classifier)
        if self.feature_layers == "last":
            with torch.no_grad():
                reference = classifier_features(classifier, x, size)
            terms = [F.mse_loss(classifier_features(classifier, x_hat, size), reference) for x_hat in x_hats]
            return torch.stack(terms).mean()
        with torch.no_grad():
            reference = [f.detach() for f in pyramid_features(classifier, x, size)]
        terms = []
        for x_hat in x_hats:
            features = pyramid_features(classifier, x_hat, size)
            terms.append(sum(w * F.mse_loss(f, r) for w, f, r in zip(PYRAMID_WEIGHTS, features, reference)))
        return torch.stack(terms).mean()

    def synthesis(self, y_hat: torch.Tensor, coded: torch.Tensor) -> torch.Tensor:
        """g_s of a masked latent; `coded` (B, 1, h, w): the positions whose enhancement
        channels it holds, which a conditioned decoder is told."""
        if self.condition is not None:
            y_hat = y_hat + self.condition(coded.to(y_hat.dtype))
        return self.g_s(y_hat)

    def forward(self, x: torch.Tensor) -> dict:
        return self._masked(x, synthesise=True)

    def likelihoods(self, x: torch.Tensor) -> dict:
        return self._masked(x, synthesise=False)["likelihoods"]

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
        bits = bits[:, self.base_channels :].sum(1).flatten(1)  # what masking a position saves
        pixels = int(pixels) if pixels is not None else x.shape[-2] * x.shape[-1]
        fixed = container_bytes(self)
        order = ranking(importance)
        segment_strings = [[] for _ in range(self.num_levels)]
        level_latents = [means.clone() for _ in range(self.num_levels)]
        reports = []
        for b in range(x.shape[0]):
            coder = _ImageCoder(self, symbols[b], indexes[b])
            strings, cumulative, report = coder.rate_controlled(
                order[b].cpu().numpy(), bits[b, order[b]].cpu().numpy(), fixed + len(z_strings[b]), pixels
            )
            for k, (string, mask) in enumerate(zip(strings, cumulative)):
                segment_strings[k].append(string)
                keep = torch.from_numpy(mask).to(y.device)
                enhancement = level_latents[k][b][self.base_channels :]
                enhancement[:, keep] += symbols[b][self.base_channels :, keep]
                level_latents[k][b][: self.base_channels] += symbols[b][: self.base_channels]
            reports.append(report)
        y_hat_levels = [latent.float() for latent in level_latents]
        return {
            "strings": [z_strings, *segment_strings],
            "shape": shape,
            "y_hat": y_hat_levels[-1],
            "y_hat_levels": y_hat_levels,
            "rate_control": reports,
        }

    @torch.no_grad()
    def decompress(self, strings: list, shape) -> dict:
        levels = self.check_segments(strings)
        means, scales = self.decompress_hyper(strings[0], shape)
        indexes = self.gaussian_conditional.build_indexes(scales).int()
        cdf, lengths, offsets = self.gaussian_tables()
        y_hat = means.clone()
        height, width = means.shape[-2:]
        coded_maps = []
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
                    y_hat[b][:cb] += torch.tensor(values, dtype=torch.float64, device=means.device).view(
                        cb, height, width
                    )
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
                    y_hat[b][cb:, keep] += torch.tensor(values, dtype=torch.float64, device=means.device).view(
                        enhancement, count
                    )
                coded |= new
            coded_maps.append(torch.from_numpy(coded.copy()))
        y_hat = y_hat.float()
        coded = torch.stack(coded_maps).unsqueeze(1).to(means.device)
        with single_threaded():
            x_hat = self.synthesis(y_hat, coded).clamp_(0, 1)
        return {"x_hat": x_hat, "y_hat": y_hat, "levels": levels}
