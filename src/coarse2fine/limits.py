"""The one pixel limit: how large an image any stage reads, encodes or decodes.

A picture is checked against it before any work is done: the image reader checks the size
a file declares before decoding its pixels, the encoder checks its input, the decoder checks
the size a stream's header declares before entropy decoding. The default keeps one coding
job within a few GB of memory on a CPU (BENCHMARKS.md, "Coding at the pixel limit"); a larger
picture needs an explicit `max_pixels` (API) or `--max-pixels` (command line), up to
FORMAT_MAX_PIXELS, the most a `.c2f` header may declare.
"""

from __future__ import annotations

from .errors import ResourceLimitError

MAX_SIDE = 16384  # per side, for every stage and in the .c2f header
FORMAT_MAX_PIXELS = 1 << 26  # 8192 x 8192: the most pixels a .c2f header may declare
DEFAULT_MAX_PIXELS = 1 << 24  # 4096 x 4096 (16.8 Mpx): the default work limit of every stage


def resolve_max_pixels(max_pixels: int | None) -> int:
    """The work limit to apply: the default for None; ValueError outside 1..FORMAT_MAX_PIXELS."""
    if max_pixels is None:
        return DEFAULT_MAX_PIXELS
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or not 1 <= max_pixels <= FORMAT_MAX_PIXELS:
        raise ValueError(f"max_pixels must be an integer in 1..{FORMAT_MAX_PIXELS}, got {max_pixels!r}")
    return max_pixels


def check_pixels(width: int, height: int, max_pixels: int | None, what: str) -> None:
    """ResourceLimitError naming `what` if a width x height picture exceeds the limit."""
    limit = resolve_max_pixels(max_pixels)
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ResourceLimitError(f"{what}: {width}x{height} is outside 1..{MAX_SIDE} pixels per side")
    if width * height > limit:
        raise ResourceLimitError(
            f"{what}: {width}x{height} = {width * height} pixels exceeds the limit of {limit} "
            f"(raise it with max_pixels / --max-pixels, up to {FORMAT_MAX_PIXELS})"
        )
