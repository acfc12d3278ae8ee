"""How well the frozen classifier sees the training photos through the task loss's eyes.

The task loss classifies training crops (random `crop` px, upsampled to the classifier's input)
of the *uncompressed* photos no better than this; the evaluation view (shorter side 256, centre
224) is given beside it. With `--resize-shorter`, the photos are first resized as the fine-tunes
do with `train.resize_shorter`. Top-1 of the exact class and of the level-1 cluster (prob-sum).

    python bench/task_view.py --manifest data/sample/manifest.csv \
        --hierarchy results/hierarchy/minilm_kmeans/assignments.csv --resize-shorter 146 192
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch
from torch.nn import functional as F

from coarse2fine.classify import resize_center_crop
from coarse2fine.classify.classifiers import load_classifier
from coarse2fine.classify.levels import cluster_probabilities
from coarse2fine.training.data import RandomCropDataset


def accuracy(classifier, views: torch.Tensor, label: int, cluster_of: torch.Tensor) -> tuple[float, float]:
    logits = classifier(views)
    clusters = cluster_probabilities(logits.softmax(1), cluster_of)
    return ((logits.argmax(1) == label).float().mean().item(),
            (clusters.argmax(1) == cluster_of[label]).float().mean().item())


@torch.no_grad()
def measure(manifest: Path, hierarchy: Path, classifier_name: str, crop: int, resize: int | None,
            crops_per_image: int = 4) -> dict:
    classifier = load_classifier(classifier_name).eval()
    size = classifier.input_size
    cluster_of = torch.tensor(pd.read_csv(hierarchy).sort_values("class_idx")["level_1"].to_numpy())
    data = RandomCropDataset(manifest, ("train",), crop=crop, seed=0, resize_shorter=resize)
    crop_hits, view_hits = [0.0, 0.0], [0.0, 0.0]
    for i in range(len(data)):
        crops = torch.stack([data[(i, epoch)][0] for epoch in range(crops_per_image)])
        for k, v in enumerate(accuracy(classifier, F.interpolate(crops, size=(size, size), mode="bilinear",
                                                                  align_corners=False), data.labels[i], cluster_of)):
            crop_hits[k] += v
        if resize is None:
            full = data.image(i)[None].float() / 255
            for k, v in enumerate(accuracy(classifier, resize_center_crop(full, size).clamp(0, 1), data.labels[i], cluster_of)):
                view_hits[k] += v
    n = len(data)
    row = {"resize_shorter": resize, "crop": crop, "photos": n,
           "train_view_top1_class": 100 * crop_hits[0] / n, "train_view_top1_level1": 100 * crop_hits[1] / n}
    if resize is None:
        row |= {"eval_view_top1_class": 100 * view_hits[0] / n, "eval_view_top1_level1": 100 * view_hits[1] / n}
    return row


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--hierarchy", type=Path, required=True, help="assignments.csv (class_idx, level_1)")
    parser.add_argument("--classifier", default="efficientnet_lite0")
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--resize-shorter", type=int, nargs="*", default=[], help="also with these resizes")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = [measure(args.manifest, args.hierarchy, args.classifier, args.crop, r) for r in [None, *args.resize_shorter]]
    print(pd.DataFrame(rows).round(1).to_markdown(index=False))


if __name__ == "__main__":
    main()
