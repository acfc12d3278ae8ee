"""How a training job's rate-distortion performance moves with its steps: the BD-rate against an
anchor of every checkpoint snapshot, by the likelihood estimate.

`python -m coarse2fine.evaluate rd-curve --checkpoint snapshots/*.pt --manifest ... --anchor-views
results/metrics/views/anchor/jpeg/views.csv --output curve.csv` runs each checkpoint (a finished
job or a resume point) in eval mode on the study's view of the held-out photos, takes each
prefix's estimated bpp (hyper-latent plus the layers through it, over the image's pixels) and
PSNR, and gives, per checkpoint and step, the BD-rate on PSNR of its prefixes' curve against the
anchor's curve on the same photos (means over the photos per rate point, as the study's tables).
Where training should stop is where this curve flattens (docs/deephq.md).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import torch

from coarse2fine.data.manifest import read_manifest
from coarse2fine.evaluate.tables.bd import bd_rate
from coarse2fine.imaging.photos import image_to_tensor
from coarse2fine.imaging.view import open_view
from coarse2fine.models import crop_to_size, pad_to_multiple
from coarse2fine.training.checkpoint import load_codec_with_meta
from coarse2fine.training.settings import TrainSettings


def _bits(likelihoods: torch.Tensor) -> float:
    return float(-torch.log2(likelihoods.double()).sum())


@torch.no_grad()
def prefix_points(codec, x: torch.Tensor) -> list[tuple[float, float]]:
    """(estimated bpp, PSNR dB) of each prefix of one image's latent."""
    padded, original = pad_to_multiple(x, codec.pad_multiple)
    out = codec(padded)
    pixels = x.shape[-2] * x.shape[-1]
    bits = _bits(out["likelihoods"]["z"])
    points = []
    for likelihoods, x_hat in zip(out["likelihoods"]["y"], out["x_hat"]):
        bits += _bits(likelihoods)
        mse = float(torch.mean((crop_to_size(x_hat, original).clamp(0, 1) - x) ** 2))
        points.append((bits / pixels, 10 * math.log10(1 / max(mse, 1e-10))))
    return points


def checkpoint_row(checkpoint: Path, photos: list[Path], anchor: pd.DataFrame) -> dict:
    codec, meta = load_codec_with_meta(checkpoint)
    codec.eval()
    view = TrainSettings.from_dict(meta["settings"]).study_view
    points = [prefix_points(codec, image_to_tensor(open_view(path, view))) for path in photos]
    frame = pd.DataFrame(
        [(k, bpp, psnr) for image in points for k, (bpp, psnr) in enumerate(image, 1)], columns=["layer", "bpp", "psnr"]
    )
    curve = frame.groupby("layer").mean()
    row = {"checkpoint": str(checkpoint), "step": int(meta["step"]), "images": len(photos)}
    row["bd_rate"] = bd_rate(anchor["bpp"], anchor["psnr"], curve["bpp"], curve["psnr"])
    for k, r in curve.iterrows():
        row[f"bpp_{k}"], row[f"psnr_{k}"] = round(r["bpp"], 4), round(r["psnr"], 3)
    return row


def anchor_curve(views_csv: Path, images: list[str]) -> pd.DataFrame:
    """The anchor's mean bpp and PSNR per rate point over these images."""
    views = pd.read_csv(views_csv)
    views = views[views["image"].isin(images)]
    missing = sorted(set(images) - set(views["image"]))
    if missing:
        raise ValueError(
            f"{views_csv}: {len(missing)} of the photos were not coded by the anchor (first: {missing[0]})"
        )
    return views.groupby("rate_point")[["bpp_actual", "psnr"]].mean().rename(columns={"bpp_actual": "bpp"})


def run(checkpoints, manifest: Path, anchor_views: Path, splits=("val", "test")) -> pd.DataFrame:
    table, root = read_manifest(manifest, splits=tuple(splits))
    anchor = anchor_curve(anchor_views, list(table["path"]))
    photos = [Path(root) / path for path in table["path"]]
    rows = [checkpoint_row(Path(c), photos, anchor) for c in checkpoints]
    return pd.DataFrame(rows).sort_values("step").reset_index(drop=True)


def add_arguments(parser) -> None:
    parser.add_argument("--checkpoint", type=Path, nargs="+", required=True, help="finished jobs or resume points")
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--anchor-views", type=Path, required=True, help="an anchor's views.csv (the study's JPEG)")
    parser.add_argument("--splits", nargs="+", default=["val", "test"])
    parser.add_argument("--output", type=Path, help="CSV, one row per checkpoint (default: print)")


def run_command(args) -> int:
    torch.set_num_threads(1)
    frame = run(args.checkpoint, args.manifest, args.anchor_views, tuple(args.splits))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.output, index=False)
    print(frame.drop(columns=["checkpoint"]).to_string(index=False))
    return 0
