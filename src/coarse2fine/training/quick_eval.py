"""A quick look at a trained codec on held-out images, by the likelihood estimate.

Not the study's evaluation (that codes real bitstreams and runs every classifier): this runs
the codec's forward pass in eval mode (rounded latents) on the study's view of each image (the
view the checkpoint was trained at: imaging/view.py, the same picture the bitstreams code and the
same classifier input as scoring) and averages the training loss's own per-level terms:
estimated bpp, PSNR and top-1 at each level of the hierarchy through the loss's classifier.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch

from coarse2fine.data.manifest import read_manifest
from coarse2fine.imaging.photos import image_to_tensor
from coarse2fine.imaging.view import open_view
from coarse2fine.models import crop_to_size, pad_to_multiple

from .checkpoint import load_codec_with_meta
from .job import build_loss, load_level_maps
from .progress import scalar_terms
from .settings import TrainSettings


@torch.no_grad()
def evaluate_checkpoint(
    checkpoint: Path,
    manifest: Path,
    hierarchy: Path,
    splits=("val",),
    size: int | None = None,
    classifier: str | None = None,
    max_images: int | None = None,
) -> dict[str, float]:
    """Mean per-level terms (bpp_k, psnr_k, acc_k, ...) over the labelled images of `splits`."""
    codec, meta = load_codec_with_meta(checkpoint)
    settings = TrainSettings.from_dict(meta["settings"])
    # Non-zero task weights on every level only make the loss measure top-1 at every level;
    # the loss value itself is not reported.
    overrides = {
        "classifier_size": size or settings.classifier_size,
        "classifier": classifier or settings.classifier or "efficientnet_lite0",
        "task_weights": [1.0] * settings.num_levels,
        "task_levels": "all",
        "labelled_only": True,
    }
    settings = TrainSettings.from_dict({**settings.to_dict(), **overrides})
    loss_fn = build_loss(settings, load_level_maps(hierarchy, codec.num_levels), torch.device("cpu"))
    table, root = read_manifest(manifest, splits=tuple(splits))
    table = table[table["label_idx"].notna()].reset_index(drop=True)
    if max_images:
        table = table.head(max_images)
    if table.empty:
        raise ValueError(f"{manifest}: no labelled images in splits {list(splits)}")
    rows = []
    loss_fn.eval()
    for path, label in zip(table["path"], table["label_idx"].astype(int)):
        x = image_to_tensor(open_view(Path(root) / path, settings.study_view))
        padded, original = pad_to_multiple(x, codec.pad_multiple)
        out = codec(padded)
        # bits of the padded latent per pixel of the image: what a bitstream of it would cost
        out["x_hat"] = [crop_to_size(x_hat, original) for x_hat in out["x_hat"]]
        terms = loss_fn(out, x, torch.tensor([label]))
        rows.append({k: v for k, v in scalar_terms(terms).items() if k != "loss"})
    means = pd.DataFrame(rows).mean().to_dict()
    return {"images": len(rows), **means}


def add_arguments(parser) -> None:
    parser.add_argument("--checkpoint", type=Path, required=True, nargs="+")
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--hierarchy", type=Path, required=True)
    parser.add_argument("--splits", nargs="+", default=["val"])
    parser.add_argument(
        "--classifier", help="the classifier that scores (default: the one the checkpoint trained with)"
    )
    parser.add_argument("--output", type=Path, help="CSV, one row per checkpoint (default: print)")


def run_command(args) -> int:
    torch.set_num_threads(2)
    rows = [
        {
            "checkpoint": str(c),
            **evaluate_checkpoint(c, args.manifest, args.hierarchy, tuple(args.splits), classifier=args.classifier),
        }
        for c in args.checkpoint
    ]
    frame = pd.DataFrame(rows)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.output, index=False)
    print(json.dumps(rows, indent=1))
