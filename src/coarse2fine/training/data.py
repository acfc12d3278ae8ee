"""Training images: the study's view of each photo (imaging/view.py), randomly resized-cropped and
flipped, in an order fixed by the seed and step.

Every crop box and flip is drawn from a generator seeded by (seed, epoch, image index), and the
order of images from a permutation seeded by (seed, epoch). The batch at any step is thus a
function of the step alone: a job resumed from a checkpoint sees exactly the batches it would
have seen had it never stopped, whatever the number of loader workers. Under DDP each rank
takes every world_size-th image of the same permutation. Photos are read by the project's one
image reader (`data.images.open_rgb`), so training and evaluation see the same pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from coarse2fine.data.manifest import read_manifest
from coarse2fine.imaging.photos import image_to_tensor, open_rgb
from coarse2fine.imaging.view import StudyView

UNLABELLED = -1  # the loss's IGNORE_LABEL: no task loss for this image


def mix_seed(*values: int) -> int:
    """One 63-bit seed from several integers (SeedSequence spreads them well)."""
    return int(np.random.SeedSequence([int(v) & 0xFFFFFFFF for v in values]).generate_state(1, np.uint64)[0]) >> 1


class ViewDataset(Dataset):
    """Photos of some manifest splits; item (index, epoch) -> (view tensor (3, S, S) in [0, 1], label).

    `scale` is the range of the crop box's area fraction (1, 1: the evaluation view itself, with
    flips); `labelled_only=False` keeps unlabelled photos (label -1) for rate-distortion training.
    """

    def __init__(
        self,
        manifest: Path,
        splits=("train",),
        view: StudyView = StudyView(128),
        scale=(1.0, 1.0),
        seed: int = 42,
        cache: bool = True,
        labelled_only: bool = True,
    ):
        if view.size is None:
            raise ValueError("training needs a view size (batches are size x size)")
        if not 0 < float(scale[0]) <= float(scale[1]) <= 1:
            raise ValueError(f"view scale must be 0 < min <= max <= 1 (area fractions), got {list(scale)}")
        table, root = read_manifest(manifest, splits=tuple(splits))
        kept = (
            table[table["label_idx"].notna()].reset_index(drop=True) if labelled_only else table.reset_index(drop=True)
        )
        if kept.empty:
            what = "labelled images" if labelled_only else "images"
            raise ValueError(f"{manifest}: no {what} in splits {list(splits)} ({len(table)} rows in all)")
        self.dropped_unlabelled = len(table) - len(kept)
        self.paths = [Path(root) / p for p in kept["path"]]
        missing = [str(p) for p in self.paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} images of {manifest} are missing, e.g. {missing[0]}")
        self.labels = [UNLABELLED if v != v else int(v) for v in kept["label_idx"]]
        self.view, self.scale, self.seed, self.cache = view, (float(scale[0]), float(scale[1])), seed, cache
        self._photos: dict[int, Image.Image] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def photo(self, index: int) -> Image.Image:
        if index in self._photos:
            return self._photos[index]
        photo = open_rgb(self.paths[index])
        if self.cache:
            self._photos[index] = photo
        return photo

    def __getitem__(self, key: tuple[int, int]):
        index, epoch = key
        rng = np.random.default_rng(mix_seed(self.seed, epoch, index))
        picture = self.view.random_image(self.photo(index), rng, self.scale)
        x = image_to_tensor(picture)[0]
        if rng.random() < 0.5:
            x = x.flip(-1)
        return x.contiguous(), self.labels[index]


class StepSampler(torch.utils.data.Sampler):
    """Keys (image index, epoch) for the batches of steps start..stop-1 of one rank.

    Epoch e visits a permutation of the images seeded by (seed, e); the global batch of a step
    is batch_size * world_size consecutive entries, of which rank r takes every world_size-th.
    """

    def __init__(
        self,
        num_images: int,
        batch_size: int,
        start_step: int,
        stop_step: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
    ):
        self.n, self.batch, self.seed = num_images, batch_size, seed
        self.start, self.stop, self.rank, self.world = start_step, stop_step, rank, world_size

    def __len__(self) -> int:
        return (self.stop - self.start) * self.batch

    def __iter__(self):
        per_step = self.batch * self.world
        epoch, order = None, None
        for position in range(self.start * per_step, self.stop * per_step):
            e, offset = divmod(position, self.n)
            if e != epoch:
                epoch = e
                order = np.random.default_rng(mix_seed(self.seed, e)).permutation(self.n)
            if (position - self.start * per_step) % self.world == self.rank:
                yield int(order[offset]), e


def step_loader(
    dataset: ViewDataset,
    batch_size: int,
    start_step: int,
    stop_step: int,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
    workers: int = 0,
) -> DataLoader:
    """Batches for steps start..stop-1 in the fixed order (see StepSampler)."""
    sampler = StepSampler(len(dataset), batch_size, start_step, stop_step, seed, rank, world_size)
    # Its own generator: creating the iterator must not draw from the global RNG, whose state
    # the checkpoint restores for the quantisation noise.
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        persistent_workers=False,
        drop_last=False,
        generator=torch.Generator().manual_seed(seed),
    )
