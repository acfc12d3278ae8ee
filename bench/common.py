"""Shared helpers: machine description, timing, sample photos, targets."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = REPO_ROOT / "data" / "sample" / "manifest.csv"
DEFAULT_CONFIG = REPO_ROOT / "config" / "config.yaml"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    import compressai

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "compressai": compressai.__version__,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "cuda": torch.cuda.is_available(),
    }


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is in KiB on Linux)."""
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def median_seconds(fn, repeats: int) -> float:
    """Median wall time of `repeats` calls of fn() (after the caller's own warm-up)."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass(frozen=True)
class Target:
    """An issue's target for one figure: value <= bound passes."""

    bound: float
    text: str

    def check(self, value: float | None) -> dict:
        passed = None if value is None else bool(value <= self.bound)
        return {"target": self.text, "bound": self.bound, "pass": passed}


def load_config(path: Path = DEFAULT_CONFIG) -> dict:
    """The configuration as the pipeline reads it: validated, the schema's defaults filled."""
    from coarse2fine.plan import load_study_config

    return load_study_config(path)


def sample_crops(manifest: Path, sizes: list[tuple[int, int]], per_size: int) -> list[dict]:
    """Centre crops (width x height) of the first photos of the manifest large enough for them.

    Returns dicts {size, path, image (1, 3, H, W) in [0, 1]}; a size no photo can give is an error.
    """
    from coarse2fine.data.manifest import read_manifest
    from coarse2fine.imaging.photos import image_to_tensor, open_rgb

    table, root = read_manifest(manifest)
    table = table.sort_values("path").reset_index(drop=True)
    crops = []
    for width, height in sizes:
        fits = table[(table["width"] >= width) & (table["height"] >= height)]
        if len(fits) < per_size:
            raise ValueError(f"{manifest}: only {len(fits)} photos are at least {width}x{height}, need {per_size}")
        for rel in fits["path"].iloc[:per_size]:
            image = open_rgb(Path(root) / rel)
            left, top = (image.width - width) // 2, (image.height - height) // 2
            tensor = image_to_tensor(image.crop((left, top, left + width, top + height)))
            crops.append({"size": f"{width}x{height}", "path": str(rel), "image": tensor})
    return crops
