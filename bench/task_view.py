"""What the classifier can see at a view size: top-1 on uncompressed views of the photos.

For each view size (imaging/view.py: the photo squashed to size x size, the classifier given its
centre `classifier_crop`), each classifier's top-1 of the exact class and of the level-1 cluster
(prob-sum) against the labels, on the held-out photos' evaluation views and on the training
photos' training views (random resized crops of area fraction `--scale`, several per photo).
No codec is involved: this is the ceiling the view sets, and what the task loss can ask for.

    python bench/task_view.py --manifest data/sample/manifest.csv \
        --hierarchy results/hierarchy/paper_clip_kmeans/assignments.csv --sizes 64 128 192 256
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch

from coarse2fine.classify.classifiers import load_classifier
from coarse2fine.classify.levels import cluster_probabilities
from coarse2fine.data.manifest import read_manifest
from coarse2fine.imaging.photos import image_to_tensor
from coarse2fine.imaging.view import PAPER_CLASSIFIER_CROP, StudyView, open_view
from coarse2fine.training.data import ViewDataset


def hits(classifier, view: StudyView, pictures: torch.Tensor, labels: torch.Tensor, cluster_of: torch.Tensor):
    """(class hits, level-1 cluster hits) of a batch of view tensors."""
    logits = classifier(view.classifier_input(pictures, classifier.input_size))
    clusters = cluster_probabilities(logits.softmax(1), cluster_of).argmax(1)
    return int((logits.argmax(1) == labels).sum()), int((clusters == cluster_of[labels]).sum())


@torch.no_grad()
def measure(
    manifest: Path,
    hierarchy: Path,
    classifier_name: str,
    size: int,
    scale=(1.0, 1.0),
    crops_per_image: int = 2,
    classifier_crop: float = PAPER_CLASSIFIER_CROP,
) -> dict:
    classifier = load_classifier(classifier_name).eval()
    view = StudyView(size, classifier_crop)
    cluster_of = torch.tensor(pd.read_csv(hierarchy).sort_values("class_idx")["level_1"].to_numpy())
    table, root = read_manifest(manifest, splits=("val", "test"))
    table = table[table["label_idx"].notna()]
    held_out = torch.cat([image_to_tensor(open_view(Path(root) / p, view)) for p in table["path"]])
    held = hits(classifier, view, held_out, torch.tensor(table["label_idx"].astype(int).to_numpy()), cluster_of)
    data = ViewDataset(manifest, ("train",), view, scale, seed=0)
    train_hits, count = [0, 0], 0
    for i in range(len(data)):
        items = [data[(i, epoch)] for epoch in range(crops_per_image)]
        batch = torch.stack([x for x, _ in items])
        for k, v in enumerate(hits(classifier, view, batch, torch.tensor([y for _, y in items]), cluster_of)):
            train_hits[k] += v
        count += len(items)
    n = len(table)
    return {
        "size": size,
        "classifier": classifier_name,
        "held_out_photos": n,
        "held_out_top1_class": 100 * held[0] / n,
        "held_out_top1_level1": 100 * held[1] / n,
        "train_scale": list(scale),
        "train_views": count,
        "train_top1_class": 100 * train_hits[0] / count,
        "train_top1_level1": 100 * train_hits[1] / count,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--hierarchy", type=Path, required=True, help="assignments.csv (class_idx, level_1)")
    parser.add_argument("--classifiers", nargs="+", default=["efficientnet_lite1", "efficientnet_lite0"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 192, 256])
    parser.add_argument("--scale", type=float, nargs=2, default=[0.5, 1.0], help="training views' area fractions")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = [
        measure(args.manifest, args.hierarchy, c, s, tuple(args.scale)) for s in args.sizes for c in args.classifiers
    ]
    print(pd.DataFrame(rows).round(1).to_markdown(index=False))


if __name__ == "__main__":
    main()
