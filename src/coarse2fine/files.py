"""Writing a file so that a killed process never leaves a partial one.

A `.c2f` cut at a segment boundary is a valid stream of fewer levels, so a partial stream would
decode silently at the wrong level; a partial PNG would fail later, far from its cause. Every
stream and decoded picture (command line and pipeline) is written here: to a temporary file in
the same folder, then renamed into place (atomic on one file system).
"""

from __future__ import annotations

import io
from pathlib import Path


def write_atomic(path: Path | str, data: bytes) -> None:
    """Write `data` to `path` through a temporary sibling renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.partial"
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def png_bytes(image, **save_kwargs) -> bytes:
    """A PIL image encoded as PNG, in memory (for write_atomic)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **save_kwargs)
    return buffer.getvalue()
