"""The coarse-to-fine loss of the paper, per level k of L:

    bpp_k (z + blocks 1..k) + lambda_k * 255^2 * w_k * MSE_k + gamma_k * task_k

task_k is the negative log of the summed softmax probability of the true cluster ("prob-sum")
for the coarse levels and label-smoothed cross-entropy over the classes for the finest (the
paper's hard-label target, `task_target="labels"`); the
frozen classifier sees the study view's classifier input of the level-k reconstruction
(imaging/view.py: its centre crop, resized to the classifier's input size), and its
gradients flow back into the codec. With every gamma at zero this is the rate-distortion-only
loss (`rd_only`), and no classifier is needed. A codec may add its own, already weighted, terms
as `out["penalties"]` (name -> scalar tensor): they are added to the loss and logged by name.
A codec may also return `out["normalise"]`, a `RunningMeanNormaliser`: each level's rate and
MSE then enter the loss divided by their own running mean (RMPGC's `loss_normalisation`,
the RMPGC paper's section V-A), weighted as before; the logged values stay the raw ones.

Two options against a task term that wins by shifting the predicted-cluster prior toward the
training photos' frequent clusters (docs/training.md, "Task targets"):
- `task_target="teacher"`: a label-free, per-image target. The same frozen classifier's prob-sum
  distribution on the uncompressed view is the target of a KL divergence (coarse levels: over
  the clusters; finest: over the classes). The target is the image's own, so a codec gains
  nothing by moving every image toward the sample's common clusters.
- `task_balance="cluster"`: each image's task term weighted by the inverse frequency of its
  true cluster (class at the finest level) among the training labels, normalised to mean 1
  over the training photos: every cluster present weighs the same in expectation.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from coarse2fine.classify.levels import NUM_CLASSES
from coarse2fine.imaging.view import StudyView

TASK_LEVEL_MODES = ("all", "random")
# all: every level's task term reaches every block of its prefix (the paper); own_block: level k's
# task term reaches block k only (the earlier blocks enter its reconstruction detached)
TASK_GRADIENTS = ("all", "own_block")
IGNORE_LABEL = -1  # an image without a label contributes no task loss
TASK_TARGETS = ("labels", "teacher")
TASK_BALANCES = ("none", "cluster")


def _bits(likelihoods: torch.Tensor) -> torch.Tensor:
    return torch.log(likelihoods).sum() / -math.log(2)


class RunningMeanNormaliser(nn.Module):
    """Loss terms "regularized by their own historical means to the same scale of magnitude"
    (the RMPGC paper, section V-A): `normaliser(name, term)` is `term` divided by the mean of
    every value the term `name` has taken in training so far, this step's included (so the first
    step gives 1, and a term that holds steady stays near 1). The mean is detached: it scales the
    term's gradient and is not trained. In training mode each call adds the term's value to its
    history; in eval mode the history is read only. The means and counts are buffers of the
    module that holds it, so a resumed job goes on with the same history."""

    MIN_MEAN = 1e-12  # a term that has only been zero is left at its (zero) scale

    def __init__(self, names):
        super().__init__()
        self.names = [str(name) for name in names]
        if not self.names or len(set(self.names)) != len(self.names):
            raise ValueError(f"the normalised terms need distinct names, got {self.names}")
        self.register_buffer("means", torch.zeros(len(self.names), dtype=torch.float64))
        self.register_buffer("counts", torch.zeros(len(self.names), dtype=torch.float64))

    def forward(self, name: str, term: torch.Tensor) -> torch.Tensor:
        if name not in self.names:
            raise KeyError(f"no running mean for the loss term {name!r}; known: {', '.join(self.names)}")
        i = self.names.index(name)
        value = term.detach().to(torch.float64)
        if self.training:
            with torch.no_grad():
                self.counts[i] += 1
                self.means[i] += (value - self.means[i]) / self.counts[i]
        mean = self.means[i] if self.counts[i] > 0 else value
        return term / mean.clamp(min=self.MIN_MEAN).to(term.dtype)

    def running_means(self) -> dict[str, float]:
        return {name: float(mean) for name, mean in zip(self.names, self.means)}


class C2FLoss(nn.Module):
    def __init__(
        self,
        lambdas,
        mse_weights,
        task_weights,
        classifier: nn.Module | None = None,
        level_maps=(),
        label_smoothing: float = 0.1,
        classifier_size: int = 224,
        task_levels: str = "all",
        seed: int = 0,
        view=None,
        task_gradient: str = "all",
        task_target: str = "labels",
        task_balance: str = "none",
    ):
        """`level_maps[i]` maps each of the 1000 classes to its cluster at coarse level i+1.

        task_levels="random" applies the task loss to one level drawn per step (scaled by L so
        its expectation equals the all-levels loss): about 1/L of the classifier's cost.
        """
        super().__init__()
        self.lambdas = [float(v) for v in lambdas]
        self.mse_weights = [float(v) for v in mse_weights]
        self.task_weights = [float(v) for v in task_weights]
        self.num_levels = len(self.lambdas)
        if not (len(self.mse_weights) == len(self.task_weights) == self.num_levels >= 1):
            raise ValueError(
                f"lambdas, mse_weights and task_weights need one value per level; "
                f"got {len(self.lambdas)}, {len(self.mse_weights)}, {len(self.task_weights)}"
            )
        if len(level_maps) != self.num_levels - 1:
            raise ValueError(
                f"{self.num_levels} levels need {self.num_levels - 1} coarse level maps, got {len(level_maps)}"
            )
        if task_levels not in TASK_LEVEL_MODES:
            raise ValueError(f"task_levels must be one of {TASK_LEVEL_MODES}, got {task_levels!r}")
        if task_gradient not in TASK_GRADIENTS:
            raise ValueError(f"task_gradient must be one of {TASK_GRADIENTS}, got {task_gradient!r}")
        if task_target not in TASK_TARGETS:
            raise ValueError(f"task_target must be one of {TASK_TARGETS}, got {task_target!r}")
        if task_balance not in TASK_BALANCES:
            raise ValueError(f"task_balance must be one of {TASK_BALANCES}, got {task_balance!r}")
        self.task_gradient, self.task_target, self.task_balance = task_gradient, task_target, task_balance
        self.level_weights: list[torch.Tensor | None] = [None] * self.num_levels  # set_balance
        self.uses_task = any(g != 0 for g in self.task_weights)
        if self.uses_task and classifier is None:
            raise ValueError("a task weight is non-zero but no classifier was given")
        self.classifier = classifier
        if classifier is not None:
            for p in classifier.parameters():
                p.requires_grad_(False)
            classifier.eval()
        self.label_smoothing, self.classifier_size, self.task_levels = label_smoothing, classifier_size, task_levels
        # What the classifier sees of a reconstruction: the study's view rule, the same function
        # that scoring uses (imaging/view.py), so the loss teaches what evaluation measures.

        self.view = view if view is not None else StudyView()
        # Draws the level of `task_levels='random'`; public so a resumed job restores its state.
        self.level_generator = torch.Generator().manual_seed(seed)
        for i, level_map in enumerate(level_maps):
            level_map = np.asarray(level_map)
            if level_map.shape != (NUM_CLASSES,) or level_map.min() < 0:
                raise ValueError(
                    f"level map {i + 1} must give a cluster >= 0 to each of {NUM_CLASSES} classes, "
                    f"got shape {level_map.shape}"
                )
            members = torch.zeros(int(level_map.max()) + 1, NUM_CLASSES)
            members[torch.as_tensor(level_map, dtype=torch.long), torch.arange(NUM_CLASSES)] = 1
            self.register_buffer(f"class_map_{i}", torch.as_tensor(level_map, dtype=torch.long), persistent=False)
            # log-membership (clusters, classes): 0 for members, -inf otherwise
            self.register_buffer(f"log_members_{i}", torch.log(members), persistent=False)

    def set_balance(self, labels) -> list[dict[int, float]]:
        """Per level, the weight of each cluster (class at the finest level) present among the
        training labels: N / (clusters present * count), mean 1 over the photos. Returns
        {cluster: weight} per level, for the log."""
        known = np.asarray([v for v in labels if v != IGNORE_LABEL], dtype=np.int64)
        if known.size == 0:
            raise ValueError("task_balance='cluster' needs labelled training photos; none has a label")
        out = []
        for level in range(self.num_levels):
            if level < self.num_levels - 1:
                level_map = getattr(self, f"class_map_{level}").cpu().numpy()
                size = int(level_map.max()) + 1
                clusters = level_map[known]
            else:
                size, clusters = NUM_CLASSES, known
            counts = np.bincount(clusters, minlength=size).astype(np.float64)
            present = counts > 0
            weights = np.zeros(size)
            weights[present] = known.size / (present.sum() * counts[present])
            self.level_weights[level] = torch.as_tensor(weights, dtype=torch.float32)
            out.append({int(c): float(weights[c]) for c in np.flatnonzero(present)})
        return out

    def train(self, mode: bool = True):
        super().train(mode)
        if self.classifier is not None:
            self.classifier.eval()  # frozen: batch-norm statistics must not move
        return self

    def cluster_log_probs(self, logits: torch.Tensor, level: int) -> torch.Tensor:
        """log of the summed class probabilities of every cluster at coarse `level` (0-based)."""
        log_p = logits.log_softmax(dim=1)
        return torch.logsumexp(log_p[:, None, :] + getattr(self, f"log_members_{level}")[None], dim=2)

    def task_terms(self, x_hat: torch.Tensor, labels: torch.Tensor, level: int, teacher_logits=None):
        """(task loss, accuracy) at `level` (0-based). With the teacher target the accuracy is
        agreement with the teacher's prediction on the uncompressed view."""
        logits = self.classifier(self.view.classifier_input(x_hat.clamp(0, 1), self.classifier_size))
        finest = level == self.num_levels - 1
        if finest:
            log_q = logits.log_softmax(dim=1)
        else:
            log_q = self.cluster_log_probs(logits, level)
        if self.task_target == "teacher":
            log_t = teacher_logits.log_softmax(dim=1) if finest else self.cluster_log_probs(teacher_logits, level)
            per_image = (log_t.exp() * (log_t - log_q)).sum(dim=1)  # KL(teacher || reconstruction)
            targets, known = log_t.argmax(1), torch.ones_like(labels, dtype=torch.bool)
        elif finest:
            targets, known = labels.clamp(min=0), labels != IGNORE_LABEL
            per_image = F.cross_entropy(logits, targets, label_smoothing=self.label_smoothing, reduction="none")
        else:
            known = labels != IGNORE_LABEL
            targets = getattr(self, f"class_map_{level}")[labels.clamp(min=0)]
            per_image = -log_q.gather(1, targets[:, None]).squeeze(1)
        if self.task_balance == "cluster":
            weights = self.level_weights[level]
            if weights is None:
                raise RuntimeError("task_balance='cluster': call set_balance(training labels) before training")
            truth = labels.clamp(min=0) if finest else getattr(self, f"class_map_{level}")[labels.clamp(min=0)]
            per_image = per_image * weights.to(per_image.device)[truth]
            known = known & (labels != IGNORE_LABEL)
        task = per_image[known].mean() if known.any() else per_image.sum() * 0
        correct = log_q.argmax(1) == targets
        accuracy = correct[known].float().mean().item() if known.any() else math.nan
        return task, accuracy

    def forward(self, out: dict, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict:
        x_hats, likelihoods = out["x_hat"], out["likelihoods"]
        if len(x_hats) != self.num_levels or len(likelihoods["y"]) != self.num_levels:
            raise ValueError(f"the loss is set up for {self.num_levels} levels, the codec output has {len(x_hats)}")
        if self.uses_task and labels is None:
            raise ValueError("the task loss needs labels (class indices, -1 for unknown)")
        num_pixels = x.shape[0] * x.shape[2] * x.shape[3]
        rate = _bits(likelihoods["z"]) / num_pixels
        if self.uses_task and self.task_levels == "random":
            drawn = int(torch.randint(self.num_levels, (1,), generator=self.level_generator))
            task_set, task_scale = {drawn}, self.num_levels
        else:
            task_set, task_scale = set(range(self.num_levels)), 1
        teacher_logits = None
        if self.uses_task and self.task_target == "teacher":
            with torch.no_grad():  # the target: the classifier on the uncompressed view, per image
                teacher_logits = self.classifier(self.view.classifier_input(x, self.classifier_size))
        terms, total = {}, x.new_zeros(())
        normalise = out.get("normalise")  # each term over its running mean (RunningMeanNormaliser)
        for k in range(self.num_levels):
            rate = rate + _bits(likelihoods["y"][k]) / num_pixels
            mse = F.mse_loss(x_hats[k], x)
            rate_term, mse_term = rate, mse
            if normalise is not None:
                rate_term, mse_term = normalise(f"bpp_{k + 1}", rate), normalise(f"mse_{k + 1}", mse)
            total = total + rate_term + self.lambdas[k] * 255**2 * self.mse_weights[k] * mse_term
            with torch.no_grad():
                psnr = 10 * torch.log10(1 / F.mse_loss(x_hats[k].clamp(0, 1), x).clamp(min=1e-10))
            task, accuracy = x.new_tensor(math.nan), math.nan
            if self.uses_task and k in task_set and self.task_weights[k] != 0:
                task_x_hat = x_hats[k]
                if self.task_gradient == "own_block" and k > 0:
                    if "own_block_x_hat" not in out:
                        raise ValueError("task_gradient='own_block' needs a codec with level blocks (c2f)")
                    task_x_hat = out["own_block_x_hat"](k + 1)
                task, accuracy = self.task_terms(task_x_hat, labels.to(x.device).long(), k, teacher_logits)
                total = total + task_scale * self.task_weights[k] * task
            level = k + 1
            terms.update(
                {
                    f"bpp_{level}": rate.item(),
                    f"mse_{level}": mse.item(),
                    f"psnr_{level}": psnr.item(),
                    f"task_{level}": float(task.detach()),
                    f"acc_{level}": accuracy,
                }
            )
        # Codec-specific terms already weighted by the codec (e.g. RMPGC's feature matching).
        for name, penalty in out.get("penalties", {}).items():
            total = total + penalty
            terms[name] = float(penalty.detach())
        terms["loss"] = total
        return terms
