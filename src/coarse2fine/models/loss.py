"""The coarse-to-fine loss of the paper, per level k of L:

    bpp_k (z + blocks 1..k) + lambda_k * 255^2 * w_k * MSE_k + gamma_k * task_k

task_k is the negative log of the summed softmax probability of the true cluster ("prob-sum")
for the coarse levels and label-smoothed cross-entropy over the classes for the finest; the
frozen classifier sees the study view's classifier input of the level-k reconstruction
(imaging/view.py: its centre crop, resized to the classifier's input size), and its
gradients flow back into the codec. With every gamma at zero this is the rate-distortion-only
loss (`rd_only`), and no classifier is needed. A codec may add its own, already weighted, terms
as `out["penalties"]` (name -> scalar tensor): they are added to the loss and logged by name.
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


def _bits(likelihoods: torch.Tensor) -> torch.Tensor:
    return torch.log(likelihoods).sum() / -math.log(2)


class C2FLoss(nn.Module):
    def __init__(self, lambdas, mse_weights, task_weights, classifier: nn.Module | None = None,
                 level_maps=(), label_smoothing: float = 0.1, classifier_size: int = 224,
                 task_levels: str = "all", seed: int = 0, view=None, task_gradient: str = "all"):
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
            raise ValueError(f"lambdas, mse_weights and task_weights need one value per level; "
                             f"got {len(self.lambdas)}, {len(self.mse_weights)}, {len(self.task_weights)}")
        if len(level_maps) != self.num_levels - 1:
            raise ValueError(f"{self.num_levels} levels need {self.num_levels - 1} coarse level maps, "
                             f"got {len(level_maps)}")
        if task_levels not in TASK_LEVEL_MODES:
            raise ValueError(f"task_levels must be one of {TASK_LEVEL_MODES}, got {task_levels!r}")
        if task_gradient not in TASK_GRADIENTS:
            raise ValueError(f"task_gradient must be one of {TASK_GRADIENTS}, got {task_gradient!r}")
        self.task_gradient = task_gradient
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
                raise ValueError(f"level map {i + 1} must give a cluster >= 0 to each of {NUM_CLASSES} classes, "
                                 f"got shape {level_map.shape}")
            members = torch.zeros(int(level_map.max()) + 1, NUM_CLASSES)
            members[torch.as_tensor(level_map, dtype=torch.long), torch.arange(NUM_CLASSES)] = 1
            self.register_buffer(f"class_map_{i}", torch.as_tensor(level_map, dtype=torch.long), persistent=False)
            # log-membership (clusters, classes): 0 for members, -inf otherwise
            self.register_buffer(f"log_members_{i}", torch.log(members), persistent=False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.classifier is not None:
            self.classifier.eval()  # frozen: batch-norm statistics must not move
        return self

    def cluster_log_probs(self, logits: torch.Tensor, level: int) -> torch.Tensor:
        """log of the summed class probabilities of every cluster at coarse `level` (0-based)."""
        log_p = logits.log_softmax(dim=1)
        return torch.logsumexp(log_p[:, None, :] + getattr(self, f"log_members_{level}")[None], dim=2)

    def task_terms(self, x_hat: torch.Tensor, labels: torch.Tensor, level: int):
        logits = self.classifier(self.view.classifier_input(x_hat.clamp(0, 1), self.classifier_size))
        known = labels != IGNORE_LABEL
        if level == self.num_levels - 1:
            task = F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing, ignore_index=IGNORE_LABEL)
            correct = logits.argmax(1) == labels
        else:
            targets = getattr(self, f"class_map_{level}")[labels.clamp(min=0)]
            log_cluster = self.cluster_log_probs(logits, level)
            nll = -log_cluster.gather(1, targets[:, None]).squeeze(1)
            task = nll[known].mean() if known.any() else nll.sum() * 0
            correct = log_cluster.argmax(1) == targets
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
        terms, total = {}, x.new_zeros(())
        for k in range(self.num_levels):
            rate = rate + _bits(likelihoods["y"][k]) / num_pixels
            mse = F.mse_loss(x_hats[k], x)
            total = total + rate + self.lambdas[k] * 255**2 * self.mse_weights[k] * mse
            with torch.no_grad():
                psnr = 10 * torch.log10(1 / F.mse_loss(x_hats[k].clamp(0, 1), x).clamp(min=1e-10))
            task, accuracy = x.new_tensor(math.nan), math.nan
            if self.uses_task and k in task_set and self.task_weights[k] != 0:
                task_x_hat = x_hats[k]
                if self.task_gradient == "own_block" and k > 0:
                    if "own_block_x_hat" not in out:
                        raise ValueError("task_gradient='own_block' needs a codec with level blocks (c2f)")
                    task_x_hat = out["own_block_x_hat"](k + 1)
                task, accuracy = self.task_terms(task_x_hat, labels.to(x.device).long(), k)
                total = total + task_scale * self.task_weights[k] * task
            level = k + 1
            terms.update({f"bpp_{level}": rate.item(), f"mse_{level}": mse.item(), f"psnr_{level}": psnr.item(),
                          f"task_{level}": float(task.detach()), f"acc_{level}": accuracy})
        # Codec-specific terms already weighted by the codec (e.g. RMPGC's feature matching).
        for name, penalty in out.get("penalties", {}).items():
            total = total + penalty
            terms[name] = float(penalty.detach())
        terms["loss"] = total
        return terms
