"""The pictures `c2f decode` writes: the format follows the output's extension.

Decoded pictures are kept lossless by default: a lossy format would add its own artefacts to
the codec's, and a user comparing levels would be measuring both. Lossy formats are written
only when the user names a quality (`--quality Q`), which says the loss is wanted. Pillow only:
the output is checked, by name, before any model is loaded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

# extension -> Pillow format and the options that keep it lossless
LOSSLESS = {
    ".png": ("PNG", {}),
    ".bmp": ("BMP", {}),
    ".tif": ("TIFF", {"compression": "tiff_lzw"}),
    ".tiff": ("TIFF", {"compression": "tiff_lzw"}),
    ".ppm": ("PPM", {}),
    ".webp": ("WEBP", {"lossless": True, "quality": 100, "method": 4}),
}
# extension -> Pillow format, written only at a quality the user gives
LOSSY = {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
STDOUT_FORMAT = ".png"  # what `-o -` writes: PNG, lossless and read everywhere


@dataclass(frozen=True)
class PictureFormat:
    format: str
    options: dict = field(default_factory=dict)
    lossless: bool = True


def quality(text: str) -> int:
    """--quality: an integer 1..100 (argparse type)."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer quality 1..100, got {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected an integer quality 1..100, got {value}")
    return value


def _names(suffixes) -> str:
    return ", ".join(sorted(set(suffixes)))


def picture_format(path: Path | str, quality: int | None = None) -> PictureFormat:
    """The format a decoded picture is written in at `path` ("-": standard output, PNG), or a
    ValueError naming what is accepted."""
    suffix = STDOUT_FORMAT if str(path) == "-" else Path(path).suffix.lower()
    if quality is not None:
        if str(path) == "-":
            raise ValueError("--quality needs an output file named .jpg, .jpeg or .webp; standard output gets PNG")
        if suffix not in LOSSY:
            raise ValueError(
                f"{path}: --quality applies to the lossy formats ({_names(LOSSY)}); {suffix or 'no extension'} "
                f"is written lossless, without --quality"
            )
        options = {"quality": quality}
        if LOSSY[suffix] == "WEBP":
            options["method"] = 4
        return PictureFormat(LOSSY[suffix], options, lossless=False)
    if suffix in LOSSLESS:
        name, options = LOSSLESS[suffix]
        return PictureFormat(name, dict(options))
    if suffix in LOSSY:
        raise ValueError(
            f"{path}: {suffix} is a lossy format and would add its own loss to the decoded picture; "
            f"write a lossless one ({_names(LOSSLESS)}) or give --quality Q (1..100) to accept the loss"
        )
    raise ValueError(
        f"{path}: cannot tell the picture format from {suffix or 'a name without extension'!r}; "
        f"name the output with a lossless extension ({_names(LOSSLESS)}), or .jpg with --quality Q"
    )


def picture_bytes(image, how: PictureFormat) -> bytes:
    """An 8-bit RGB PIL image encoded in memory (written atomically by the caller)."""
    if how.format == "WEBP":
        from PIL import features

        if not features.check("webp"):
            raise ValueError("this Pillow was built without WebP support; write .png instead")
    buffer = io.BytesIO()
    image.save(buffer, format=how.format, **how.options)
    return buffer.getvalue()
