"""The study's view: what picture of a photo is coded, and what part of it a classifier sees.

The paper's official code resizes each whole photo to 256x256 (aspect not kept), codes that
image, and hands the classifier the centre 224x224 of the reconstruction, in training and in
evaluation alike. `StudyView(size, classifier_crop)` is that rule with the size as a setting:

- `image(photo)`: the photo squashed to size x size (PIL bilinear, antialiased when shrinking):
  the 8-bit image every codec codes, the anchors included, and the original that PSNR, MS-SSIM
  and bpp are measured against (bpp counts the view's pixels);
- `random_image(photo, rng)`: the training augmentation, a box covering a random fraction of the
  photo's area (same aspect as the photo, so the squash is the same) resized the same way;
  at scale 1 it is exactly `image(photo)`;
- `classifier_input(x, input_size)`: the centre `classifier_crop` fraction of a view tensor,
  resized to the classifier's input size: one function for the task loss and for scoring.

`size=None` codes photos at their own resolution (a user's `c2f encode`); the classifier then
sees the centre square of fraction `classifier_crop` of the shorter side, which is the standard
ImageNet evaluation view (shorter side to input/0.875, centre crop input).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from coarse2fine.imaging.photos import open_rgb

PAPER_CLASSIFIER_CROP = 224 / 256


@dataclass(frozen=True)
class StudyView:
    size: int | None = 256
    classifier_crop: float = PAPER_CLASSIFIER_CROP

    def __post_init__(self):
        if self.size is not None and (
            not isinstance(self.size, int) or isinstance(self.size, bool) or not 16 <= self.size <= 4096
        ):
            raise ValueError(
                f"view size must be an integer in [16, 4096] or null (native resolution), got {self.size!r}"
            )
        if not isinstance(self.classifier_crop, (int, float)) or not 0.1 <= float(self.classifier_crop) <= 1.0:
            raise ValueError(f"view classifier_crop must be a fraction in [0.1, 1], got {self.classifier_crop!r}")

    @classmethod
    def from_settings(cls, settings: dict | None) -> "StudyView":
        """From a config's `view` mapping ({size, classifier_crop}); None: the paper's view."""
        if settings is None:
            return cls()
        unknown = sorted(set(settings) - {"size", "classifier_crop"})
        if unknown:
            raise ValueError(f"unknown view settings {unknown}; known: size, classifier_crop")
        return cls(settings.get("size", 256), float(settings.get("classifier_crop", PAPER_CLASSIFIER_CROP)))

    def to_settings(self) -> dict:
        return {"size": self.size, "classifier_crop": self.classifier_crop}

    def image(self, photo: Image.Image) -> Image.Image:
        """The coded picture of a photo (RGB in, RGB out)."""
        if self.size is None or photo.size == (self.size, self.size):
            return photo
        return photo.resize((self.size, self.size), Image.BILINEAR)

    def random_image(self, photo: Image.Image, rng: np.random.Generator, scale=(1.0, 1.0)) -> Image.Image:
        """A random resized crop: a box of area fraction in `scale`, the photo's aspect, anywhere
        in the photo, resized like `image`. Needs a size (training batches are square)."""
        if self.size is None:
            raise ValueError("training needs a view size (batches are size x size)")
        lo, hi = float(scale[0]), float(scale[1])
        fraction = hi if lo == hi else float(rng.uniform(lo, hi))
        if fraction >= 1.0:
            return self.image(photo)
        w, h = photo.size
        side = math.sqrt(fraction)
        bw, bh = max(1.0, w * side), max(1.0, h * side)
        left, top = float(rng.uniform(0, w - bw)), float(rng.uniform(0, h - bh))
        return photo.resize((self.size, self.size), Image.BILINEAR, box=(left, top, left + bw, top + bh))

    def classifier_input(self, x, input_size: int):
        """Float images (N, 3, H, W) -> the classifier's input (N, 3, input_size, input_size):
        the centre square of side classifier_crop * min(H, W), resized (differentiable)."""
        from torch.nn import functional as F

        h, w = x.shape[-2:]
        side = max(1, round(min(h, w) * self.classifier_crop))
        top, left = (h - side) // 2, (w - side) // 2
        x = x[..., top : top + side, left : left + side]
        if side == input_size:
            return x
        return F.interpolate(
            x, size=(input_size, input_size), mode="bilinear", align_corners=False, antialias=side > input_size
        )


def open_view(path, view: StudyView, max_pixels: int | None = None) -> Image.Image:
    """A photo file read by the project's one reader (ImageReadError naming it; ResourceLimitError
    above the pixel limit) and put in view."""
    return view.image(open_rgb(path, max_pixels))
