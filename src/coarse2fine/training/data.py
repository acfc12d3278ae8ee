"""Training images: random crops with horizontal flips, in an order fixed by the seed and step.

Every crop and flip is drawn from a generator seeded by (seed, epoch, image index), and the
order of images from a permutation seeded by (seed, epoch). The batch at any step is thus a
function of the step alone: a job resumed from a checkpoint sees exactly the batches it would
have seen had it never stopped, whatever the number of loader workers. Under DDP each rank
takes every world_size-th image of the same permutation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from coarse2fine.data.images import resize_shorter_side
from coarse2fine.data.manifest import read_manifest


def _mix(*values: int) -> int:
    """One 63-bit seed from several integers (SeedSequence spreads them well)."""
    return int(np.random.SeedSequence([int(v) & 0xFFFFFFFF for v in values]).generate_state(1, np.uint64)[0]) >> 1


def load_rgb(path: Path) -> torch.Tensor:
    """An image file as a uint8 tensor (3, H, W)."""
    with Image.open(path) as img:
        array = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def resize_uint8(image: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (3, H, W) resized (antialiased bilinear) so that its shorter side is `size`."""
    return resize_shorter_side(image[None].float(), size)[0].round_().clamp_(0, 255).to(torch.uint8)


def random_crop_flip(image: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """A size x size crop as float [0, 1]; images smaller than the crop are upsampled first
    (shorter side to size, aspect kept), and the crop is flipped left-right half the time."""
    x = image.float().div_(255.0)
    if min(x.shape[-2:]) < size:
        x = resize_shorter_side(x[None], size, mode="bicubic", antialias=False)[0].clamp_(0, 1)
    h, w = x.shape[-2:]
    top = int(torch.randint(0, h - size + 1, (1,), generator=generator))
    left = int(torch.randint(0, w - size + 1, (1,), generator=generator))
    x = x[:, top : top + size, left : left + size]
    if bool(torch.rand((), generator=generator) < 0.5):
        x = x.flip(-1)
    return x.contiguous()


class RandomCropDataset(Dataset):
    """Labelled images of some manifest splits; item (index, epoch) -> (crop, label)."""

    def __init__(self, manifest: Path, splits=("train",), crop: int = 128, seed: int = 42, cache: bool = True,
                 resize_shorter: int | None = None):
        table, root = read_manifest(manifest, splits=tuple(splits))
        labelled = table[table["label_idx"].notna()].reset_index(drop=True)
        if labelled.empty:
            raise ValueError(f"{manifest}: no labelled images in splits {list(splits)} ({len(table)} rows in all)")
        self.dropped_unlabelled = len(table) - len(labelled)
        self.paths = [Path(root) / p for p in labelled["path"]]
        missing = [str(p) for p in self.paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} images of {manifest} are missing, e.g. {missing[0]}")
        self.labels = labelled["label_idx"].astype(int).tolist()
        self.crop, self.seed, self.cache, self.resize_shorter = crop, seed, cache, resize_shorter
        self._images: dict[int, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def image(self, index: int) -> torch.Tensor:
        if index in self._images:
            return self._images[index]
        image = load_rgb(self.paths[index])
        if self.resize_shorter is not None:
            image = resize_uint8(image, self.resize_shorter)
        if self.cache:
            self._images[index] = image
        return image

    def __getitem__(self, key: tuple[int, int]):
        index, epoch = key
        generator = torch.Generator().manual_seed(_mix(self.seed, epoch, index))
        return random_crop_flip(self.image(index), self.crop, generator), self.labels[index]


class StepSampler(torch.utils.data.Sampler):
    """Keys (image index, epoch) for the batches of steps start..stop-1 of one rank.

    Epoch e visits a permutation of the images seeded by (seed, e); the global batch of a step
    is batch_size * world_size consecutive entries, of which rank r takes every world_size-th.
    """

    def __init__(self, num_images: int, batch_size: int, start_step: int, stop_step: int, seed: int, rank: int = 0, world_size: int = 1):
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
                order = np.random.default_rng(_mix(self.seed, e)).permutation(self.n)
            if (position - self.start * per_step) % self.world == self.rank:
                yield int(order[offset]), e

    def epoch_at(self, step: int) -> float:
        return step * self.batch * self.world / self.n


def step_loader(dataset: RandomCropDataset, batch_size: int, start_step: int, stop_step: int, seed: int,
                rank: int = 0, world_size: int = 1, workers: int = 0) -> DataLoader:
    """Batches for steps start..stop-1 in the fixed order (see StepSampler)."""
    sampler = StepSampler(len(dataset), batch_size, start_step, stop_step, seed, rank, world_size)
    # Its own generator: creating the iterator must not draw from the global RNG, whose state
    # the checkpoint restores for the quantisation noise.
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      persistent_workers=False, drop_last=False, generator=torch.Generator().manual_seed(seed))
