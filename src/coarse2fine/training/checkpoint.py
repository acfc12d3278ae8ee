"""Checkpoints: state_dicts and plain-typed metadata only, written atomically, read safely.

A checkpoint is a dict that torch.load(weights_only=True) accepts: the codec's build_codec
keywords and level layout, the job settings, the step, the codec / optimizer / aux-optimizer
state_dicts, the RNG states (as tensors and lists) and the log rows so far. Writing goes to a
temporary file in the same folder and then os.replace, so a job killed at any moment leaves
either the previous checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from coarse2fine.coding.checkpoint import codec_from_payload

from .settings import RESUME_NEUTRAL, settings_difference

FORMAT = "coarse2fine.training/1"


class CheckpointMismatch(ValueError):
    """A checkpoint written for another codec, block layout or job."""


def save_atomic(payload: dict[str, Any], path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointMismatch(
            f"{path} is not a {FORMAT} checkpoint "
            f"(format {payload.get('format') if isinstance(payload, dict) else type(payload).__name__})"
        )
    return payload


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *map(float, np_state[2:])],
        "python": _to_lists(random.getstate()),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), int(pos), int(has_gauss), float(gauss)))
    random.setstate(_to_tuples(state["python"]))


def _to_lists(value):
    return [_to_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


def _to_tuples(value):
    return tuple(_to_tuples(v) for v in value) if isinstance(value, (tuple, list)) else value


def layout_difference(saved: dict[str, Any], codec_config: dict[str, Any], level_blocks) -> list[str]:
    """What differs between the codec a checkpoint holds and the one a job builds."""
    diffs = [f"codec.{d}" for d in settings_difference(saved["codec_config"], codec_config)]
    if list(saved["level_blocks"]) != list(level_blocks):
        diffs.append(f"level_blocks: {list(saved['level_blocks'])} -> {list(level_blocks)}")
    return diffs


def check_resumable(
    path: Path, saved: dict[str, Any], settings: dict[str, Any], init: str | None, codec_config, level_blocks
) -> None:
    """A checkpoint may only be resumed by the very job that wrote it."""
    diffs = layout_difference(saved, codec_config, level_blocks)
    diffs += settings_difference(saved["settings"], settings, ignore=RESUME_NEUTRAL)
    if saved.get("init") != init:
        diffs.append(f"init: {saved.get('init')!r} -> {init!r}")
    if diffs:
        raise CheckpointMismatch(
            f"checkpoint {path} was written by another job; differences (checkpoint -> this job): "
            + "; ".join(diffs)
            + ". Delete it to start afresh."
        )


def load_codec_with_meta(path: Path, device: str = "cpu"):
    """(codec, metadata): a trained codec, entropy tables ready for coding, and what its
    checkpoint records besides the weights (coding.load_codec gives the codec alone)."""
    # One way to turn a checkpoint into a codec: the bitstream stage's (tables, identity, errors).

    payload = load(path)
    codec = codec_from_payload(payload, path)
    if list(codec.level_blocks) != list(payload["level_blocks"]):
        raise CheckpointMismatch(
            f"{path}: codec built with level_blocks {list(codec.level_blocks)}, "
            f"checkpoint has {payload['level_blocks']}"
        )
    codec.to(device)
    meta = {k: v for k, v in payload.items() if k not in ("codec", "optimizer", "aux_optimizer", "rng")}
    return codec, meta
