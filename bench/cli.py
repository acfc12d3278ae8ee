"""The `c2f` tool as a user calls it: the wall time of each call in a fresh process, start-up
included, with the shipped default model (what `c2f` uses without --model).

- `c2f --version`, `c2f --help`, `c2f info <stream>`: paths that must not import torch;
- `c2f encode` of a 512x512 photo and `c2f decode` of its stream, one file per call;
- `c2f eval` of a folder of 1-megapixel photos (upscaled sample photos: the time does not depend
  on the content), per photo;
- `python -c "import torch"` beside them: the floor of any call that codes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import REPO_ROOT, Target, median_seconds

TARGETS = {
    "version": Target(0.3, "<= 0.3 s"),
    "help": Target(0.3, "<= 0.3 s"),
    "info": Target(0.3, "<= 0.3 s"),
    # a call that codes pays `import torch` first: its target is what it adds to that floor,
    # measured in the same run (the floor moves with the machine and its load)
    "encode": Target(0.5, "<= import torch + 0.5 s"),
    "decode": Target(0.5, "<= import torch + 0.5 s"),
    "eval_per_megapixel": Target(3.0, "<= 3 s per 1-megapixel photo"),
}
MEGAPIXEL_SIZE = (1152, 864)  # 0.995 megapixels


def c2f_command() -> list[str]:
    """The installed `c2f` script beside this interpreter, else the module it runs."""
    script = Path(sys.executable).with_name("c2f")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "coarse2fine.cli"]


def wall_seconds(command: list[str], repeats: int, cwd: Path = REPO_ROOT) -> float:
    """Median wall time of `repeats` runs of a command in a fresh process (each must succeed)."""

    def call() -> None:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-2000:]}")

    return median_seconds(call, repeats)


def _row(
    name: str, call: str, seconds: float, target: str | None = None, per: str = "call", floor: float | None = None
) -> dict:
    """One call's row; with `floor` (the `import torch` time of the same run) the target is
    checked on the time above it, which the row keeps as `over_floor`."""
    row = {"name": name, "call": call, "seconds": seconds, "per": per}
    if floor is not None:
        row["over_floor"] = seconds - floor
    if target:
        row |= TARGETS[target].check(row.get("over_floor", seconds))
    return row


def run(crops: list[dict], repeats: int, eval_images: int = 2) -> dict:
    from PIL import Image

    from coarse2fine.cli.common import default_model

    c2f = c2f_command()
    floor = wall_seconds([sys.executable, "-c", "import torch"], repeats)
    rows = [
        _row("import torch (the floor of a call that codes)", 'python -c "import torch"', floor),
        _row("version", "c2f --version", wall_seconds(c2f + ["--version"], repeats), "version"),
        _row("help", "c2f --help", wall_seconds(c2f + ["--help"], repeats), "help"),
    ]
    try:
        default_model()
    except FileNotFoundError:
        return {"rows": rows, "skipped": "no default model here (make pull-models, or set C2F_DEFAULT_MODEL)"}
    work = Path(tempfile.mkdtemp(prefix="c2f-bench-"))
    try:
        photo = work / "photo.png"
        crop = next(c for c in crops if c["size"] == "512x512")["image"]
        Image.fromarray((crop[0].permute(1, 2, 0).numpy() * 255).round().astype("uint8")).save(photo)
        stream, decoded = work / "photo.c2f", work / "decoded.png"
        rows.append(
            _row(
                "encode",
                "c2f encode photo.png (512x512)",
                wall_seconds(c2f + ["encode", str(photo), "-o", str(stream)], repeats),
                "encode",
                floor=floor,
            )
        )
        rows.append(
            _row(
                "decode",
                "c2f decode photo.c2f (every level)",
                wall_seconds(c2f + ["decode", str(stream), "-o", str(decoded)], repeats),
                "decode",
                floor=floor,
            )
        )
        rows.append(_row("info", "c2f info photo.c2f", wall_seconds(c2f + ["info", str(stream)], repeats), "info"))
        folder = work / "megapixel"
        folder.mkdir()
        for i in range(eval_images):
            image = crops[i % len(crops)]["image"][0].permute(1, 2, 0).numpy()
            big = Image.fromarray((image * 255).round().astype("uint8")).resize(MEGAPIXEL_SIZE, Image.BICUBIC)
            big.save(folder / f"photo{i}.png")
        total = wall_seconds(c2f + ["eval", str(folder)], 1)
        width, height = MEGAPIXEL_SIZE
        rows.append(
            _row(
                "eval_per_megapixel",
                f"c2f eval of {eval_images} photos of {width}x{height}, wall time / photo (start-up included)",
                total / eval_images,
                "eval_per_megapixel",
                per="photo",
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"rows": rows, "repeats": repeats}
