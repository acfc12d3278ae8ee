"""What a training job reports: the means of its terms over each log interval, the accuracy
monitor of rate-distortion jobs, and the CSV log (rewritten atomically)."""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path
from typing import Any

import torch


@torch.no_grad()
def monitor_accuracy(loss_fn, out: dict, labels: torch.Tensor) -> dict[str, float]:
    """Top-1 per level of the current batch's reconstructions, for jobs whose loss computes
    none (rate-distortion only): the classifier runs without gradients, once per log row."""
    return {
        f"acc_{k + 1}": loss_fn.task_terms(x_hat.detach(), labels.long(), k)[1] for k, x_hat in enumerate(out["x_hat"])
    }


def scalar_terms(terms: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v.detach()) if torch.is_tensor(v) else float(v)
        for k, v in terms.items()
        if (torch.is_tensor(v) and v.numel() == 1) or isinstance(v, (int, float))
    }


def write_log(rows: list[dict[str, float]], path: Path) -> None:
    """The whole log so far, rewritten atomically (rows are few: one per log interval)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


class IntervalLog:
    """Means of the step terms over one log interval (NaN: a term not measured in it)."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.steps, self.start = 0, time.perf_counter()

    def add(self, values: dict[str, float]) -> None:
        for k, v in values.items():  # NaN: not measured this step (e.g. a level without task loss)
            if math.isfinite(v):
                self.sums[k], self.counts[k] = self.sums.get(k, 0.0) + v, self.counts.get(k, 0) + 1
            else:
                self.sums.setdefault(k, 0.0), self.counts.setdefault(k, 0)
        self.steps += 1

    def means(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] if self.counts[k] else math.nan for k in self.sums}

    def seconds_per_step(self) -> float:
        return (time.perf_counter() - self.start) / max(self.steps, 1)
