"""Reading images safely: every failure is an ImageReadError that names the file and the cause."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from coarse2fine.errors import ResourceLimitError
from coarse2fine.limits import check_pixels

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm"}
# The decoders PIL may use: photo formats only. Anything else (EPS, which runs Ghostscript; PDF;
# fonts; ...) is refused by name before a plugin sees the bytes. (Camera JPEGs with preview
# pictures open as MPO through the JPEG opener.)
ALLOWED_FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "TIFF", "PPM")


class ImageReadError(ValueError):
    """An image file that cannot be decoded (missing, truncated, corrupt or unsupported)."""


def to_rgb(image: Image.Image, path: Path | str = "<image>") -> Image.Image:
    """Convert to 8-bit RGB by a fixed rule: grayscale is replicated, alpha is composited on
    white (what a viewer shows), 16-bit samples are scaled to 8 bits, palettes are expanded."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        import numpy as np  # here, not at the top: `c2f` reads an image with Pillow alone

        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or array.max() > 255 else 255.0
        array = np.clip(np.round(array / peak * 255.0), 0, 255).astype(np.uint8)
        image = Image.fromarray(array, mode="L")
        mode = "L"
    if mode == "P":
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode in ("RGB", "L", "1", "CMYK", "YCbCr"):
        return image.convert("RGB")
    raise ImageReadError(f"{path}: unsupported image mode {mode!r}")


def open_rgb(path: Path | str | BinaryIO, max_pixels: int | None = None, name: str | None = None) -> Image.Image:
    """Open, fully decode and convert an image to RGB, or raise ImageReadError naming it.

    The size the file declares is checked against the pixel limit (coarse2fine.limits; None:
    the default) before any pixel is decoded: ResourceLimitError if it is larger. `path` may be
    an open binary file (standard input read into memory), named `name` in errors."""
    if hasattr(path, "read"):
        source, path = path, name or "<image>"
    else:
        source = path = Path(path)
        if path.is_dir():
            raise ImageReadError(f"{path}: is a directory, not an image file")
        if not path.is_file():
            raise ImageReadError(f"{path}: no such file")
    Image.init()  # registers every plugin: `formats` may name one a lazy open has not loaded yet
    try:
        with Image.open(source, formats=ALLOWED_FORMATS) as image:
            check_pixels(image.width, image.height, max_pixels, str(path))
            image.load()  # decodes everything: a truncated file fails here, not later
            # the picture as a viewer shows it: a phone's Orientation tag rotates the pixels
            return to_rgb(ImageOps.exif_transpose(image), path)
    except (ImageReadError, ResourceLimitError):
        raise
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{path}: not an image in an accepted format ({', '.join(ALLOWED_FORMATS)})") from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageReadError(f"{path}: cannot decode image ({exc})") from exc


def image_to_tensor(image: Image.Image):
    """RGB PIL image -> float tensor (1, 3, H, W) in [0, 1]."""
    import numpy as np
    import torch

    array = np.array(image, dtype=np.uint8, copy=True)
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)


def resize_shorter_side(x, size: int, mode: str = "bilinear", antialias: bool = True):
    """Float images (N, C, H, W) resized so that their shorter side is `size`, aspect kept: the
    one place the evaluation view, the training crops and `train.resize_shorter` scale images."""
    from torch.nn import functional as F

    h, w = x.shape[-2:]
    scale = size / min(h, w)
    shape = (max(size, round(h * scale)), max(size, round(w * scale)))
    return F.interpolate(x, size=shape, mode=mode, align_corners=False, antialias=antialias)


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
