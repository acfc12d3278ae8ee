"""Load a trained codec from its checkpoint, ready for entropy coding."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from coarse2fine import rans
from coarse2fine.architectures import validate_architecture
from coarse2fine.errors import ArchitectureError
from coarse2fine.imaging.view import PAPER_CLASSIFIER_CROP
from coarse2fine.models import build_codec

from .errors import CheckpointError
from .identity import forget_model_identity, model_identity

# Keys under which a checkpoint may hold the codec's state_dict (first found wins).
STATE_DICT_KEYS = ("state_dict", "codec")


def load_codec(checkpoint_path: Path | str) -> torch.nn.Module:
    """Rebuild the codec via build_codec(**codec_config), load its weights, update its tables.

    Integer CDF tables shipped in the checkpoint are used as they are (every decoder then codes
    with the very tables the encoder used; docs/models.md, "Deterministic entropy parameters");
    a checkpoint without them (or flagged `entropy_tables_ready: False`) gets update(force=True).
    The checkpoint is read with torch.load(weights_only=True); anything that is not a dict
    with `codec_config` and a state_dict (under `state_dict` or `codec`) is a CheckpointError.
    A checkpoint is untrusted input: its codec_config is checked against the architecture's
    schema before anything is built, every weight must be finite, and every entropy table
    must be one CompressAI's rANS coder can use safely (coarse2fine.rans.check_tables);
    anything else is a CheckpointError that names the key or table.
    The returned codec is in eval mode with its model identity (the one streams record) computed.
    """
    path = Path(checkpoint_path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot read checkpoint ({exc.__class__.__name__}: {exc})") from exc
    return codec_from_payload(payload, path)


def codec_from_payload(payload, path: Path | str = "<checkpoint>") -> torch.nn.Module:
    """The codec a loaded checkpoint dict describes (see load_codec); errors name `path`."""
    if not isinstance(payload, dict) or not isinstance(payload.get("codec_config"), dict):
        raise CheckpointError(f"{path}: not a codec checkpoint (no codec_config dict)")
    state_key = next((k for k in STATE_DICT_KEYS if isinstance(payload.get(k), dict)), None)
    if state_key is None:
        raise CheckpointError(f"{path}: no codec state_dict (looked for keys {', '.join(STATE_DICT_KEYS)})")
    try:
        validate_architecture(payload["codec_config"], "codec_config")
    except ArchitectureError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    state = payload[state_key]
    _check_weights(state, path)
    try:
        codec = build_codec(**payload["codec_config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: codec_config does not build a codec ({exc})") from exc
    try:
        codec.load_state_dict(state)
    except (RuntimeError, TypeError, ValueError, KeyError) as exc:  # KeyError: a missing entropy table
        raise CheckpointError(f"{path}: weights do not fit the codec its config builds ({exc})") from exc
    codec.eval()
    codec.trained_view = trained_view(payload)
    if not _has_entropy_tables(payload, state_key):
        codec.update(force=True)
    check_entropy_tables(codec, path)
    forget_model_identity(codec)
    model_identity(codec)
    return codec


def _check_weights(state: dict, path) -> None:
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: state_dict entry {key!r} is a {type(value).__name__}, not a tensor")
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise CheckpointError(f"{path}: weight {key!r} holds NaN or infinite values")


def check_entropy_tables(codec: torch.nn.Module, path: Path | str = "<codec>") -> None:
    """CheckpointError unless every entropy model's tables are safe for the rANS coder: CDFs
    (shape, start, end, strictly rising, lengths within the width), offsets, and the table
    count each coder indexes (one per channel for the factorized prior, one per scale for the
    Gaussian conditional, whose scales must be finite, positive and rising)."""
    from compressai.entropy_models import EntropyBottleneck, GaussianConditional

    for name, module in codec.named_modules():
        if not isinstance(module, (EntropyBottleneck, GaussianConditional)):
            continue
        what = f"{path}: entropy tables of {name}"
        try:
            rans.check_tables(module._quantized_cdf, module._cdf_length, module._offset, what)
            rows = module._quantized_cdf.shape[0]
            if isinstance(module, EntropyBottleneck):
                if rows != module.channels:
                    raise rans.TableError(f"{what}: {rows} CDF tables for {module.channels} channels")
                if not torch.isfinite(module.quantiles).all():
                    raise rans.TableError(f"{what}: quantiles hold NaN or infinite values")
            else:
                rans.check_scale_table(module.scale_table, rows, what)
        except rans.TableError as exc:
            raise CheckpointError(str(exc)) from exc


def _has_entropy_tables(payload: dict, state_key: str) -> bool:
    if "entropy_tables_ready" in payload:
        return bool(payload["entropy_tables_ready"])
    state = payload[state_key]
    tables = [v for k, v in state.items() if k.endswith("_quantized_cdf")]
    return bool(tables) and all(t.numel() > 0 for t in tables)


def trained_view(payload: dict) -> dict | None:
    """The study view a checkpoint was trained at ({size, classifier_crop}), None if unrecorded."""
    settings = payload.get("settings")
    if (
        not isinstance(settings, dict)
        or not isinstance(settings.get("view"), int)
        or isinstance(settings.get("view"), bool)
    ):
        return None

    crop = settings.get("classifier_crop", PAPER_CLASSIFIER_CROP)
    if not isinstance(crop, (int, float)) or not 0.1 <= float(crop) <= 1:
        raise CheckpointError(f"checkpoint settings: classifier_crop {crop!r} is not a fraction in [0.1, 1]")
    return {"size": settings["view"], "classifier_crop": float(crop)}
