"""The rate-distortion base every fine-tune starts from: install the shipped one or a fresh one.

`python -m coarse2fine.training install-base --source shipped --checkpoint models/base/c2f/model.pt
--settings '{...}' --output results/checkpoints/base/c2f/model.pt` checks that the checkpoint is
a finished training job whose settings are exactly the base settings the config asks for (apart
from where and how fast it ran), then copies it into place atomically. A shipped base trained
with other settings is refused with the differences named, so a config change never silently
fine-tunes from a base that does not match it (set train.base.source: scratch to retrain).

`python -m coarse2fine.training base-provenance --checkpoint ... --output provenance.json` writes
what a shipped base carries beside it: settings, steps, the last log rows, the code version and
the command that made it.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

from coarse2fine.data.manifest import sha256_file as sha256

from . import checkpoint as ckpt
from .settings import RESUME_NEUTRAL, TrainSettings, settings_difference

log = logging.getLogger("coarse2fine.training.base")


class BaseMismatch(ValueError):
    """A base checkpoint that is not the one the config describes."""


RETRAIN_BASE = "train.base.source: scratch"


def check_base(path: Path, settings: dict, retrain: str = RETRAIN_BASE) -> dict:
    """The checkpoint's metadata if it is a finished job with these settings, else BaseMismatch.
    `retrain`: the config setting that trains the model here instead (named in the errors)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no base checkpoint here. The shipped base comes with the repository through DVC: "
            f"run `make pull-models` (dvc pull {path}.dvc); or set {retrain} to train one"
        )
    try:
        payload = ckpt.load(path)
    except ckpt.CheckpointMismatch:
        raise
    except Exception as exc:  # a truncated or foreign file: name it, not the unpickler's internals
        raise BaseMismatch(f"{path}: not a readable checkpoint ({exc.__class__.__name__}: {exc})") from exc
    if payload.get("kind") != "final":
        raise BaseMismatch(f"{path}: a {payload.get('kind')!r} checkpoint, not a finished training job")
    # both through TrainSettings, so a setting added to the code later compares as its default
    try:
        saved = TrainSettings.from_dict(payload.get("settings", {})).to_dict()
    except ValueError as exc:
        raise BaseMismatch(f"{path}: its training settings are not valid here ({exc})") from exc
    diffs = settings_difference(saved, TrainSettings.from_dict(settings).to_dict(), ignore=RESUME_NEUTRAL)
    if diffs:
        raise BaseMismatch(
            f"{path} was trained with other settings than the config gives ({'; '.join(diffs)}); "
            f"set {retrain} to train one with these settings"
        )
    return {k: v for k, v in payload.items() if k != "codec"}


def install(checkpoint: Path, settings: dict, output: Path, retrain: str = RETRAIN_BASE) -> dict:
    meta = check_base(checkpoint, settings, retrain)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    shutil.copyfile(checkpoint, tmp)
    tmp.replace(output)
    log.info("base %s (step %d, sha256 %s) installed as %s", checkpoint, meta["step"], sha256(output)[:12], output)
    return meta


def verify(checkpoint: Path, provenance_json: Path) -> str:
    """A one-line report if the checkpoint is the one its provenance describes, else BaseMismatch."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{checkpoint}: missing (run `dvc pull {checkpoint}.dvc`)")
    recorded = json.loads(Path(provenance_json).read_text())
    actual = sha256(checkpoint)
    if actual != recorded.get("sha256"):
        raise BaseMismatch(
            f"{checkpoint}: sha256 {actual[:16]}... is not the {str(recorded.get('sha256'))[:16]}... "
            f"that {provenance_json} records: a corrupt or foreign file"
        )
    return f"{checkpoint}: verified (step {recorded['step']}, sha256 {actual[:16]}...)"


def provenance(checkpoint: Path, command: str | None = None) -> dict:
    payload = ckpt.load(checkpoint)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    rows = payload.get("log", [])
    from coarse2fine.coding import load_codec
    from coarse2fine.coding.identity import model_identity

    return {
        "checkpoint": Path(checkpoint).name,
        "sha256": sha256(checkpoint),
        # what a stream written by this model carries in its header (`c2f info` reads it here)
        "model_id": model_identity(load_codec(checkpoint)).hex(),
        "step": payload["step"],
        "codec_config": payload["codec_config"],
        "level_blocks": payload["level_blocks"],
        "settings": payload["settings"],
        "code_version": commit,
        "command": command,
        "seconds": round(sum(r.get("sec_per_step", 0) * payload["settings"]["log_every"] for r in rows), 1),
        "log_last_rows": rows[-3:],
    }


def install_add_arguments(parser) -> None:
    parser.add_argument("--source", choices=["shipped", "scratch"], required=True)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--settings", required=True, help="the base job's settings (JSON)")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--retrain", default=RETRAIN_BASE, help="the setting that trains it here (for the errors)")


def verify_add_arguments(parser) -> None:
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--provenance", type=Path, required=True)


def provenance_add_arguments(parser) -> None:
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--command-line", help="the command that trained it")
    parser.add_argument("--output", type=Path, required=True)


def _named_failure(action) -> int:
    try:
        action()
    except (FileNotFoundError, BaseMismatch, ckpt.CheckpointMismatch) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def install_run_command(args) -> int:
    return _named_failure(lambda: install(args.checkpoint, json.loads(args.settings), args.output, args.retrain))


def verify_run_command(args) -> int:
    return _named_failure(lambda: print(verify(args.checkpoint, args.provenance)))


def provenance_run_command(args) -> int:
    return _named_failure(
        lambda: args.output.write_text(json.dumps(provenance(args.checkpoint, args.command_line), indent=1) + "\n")
    )
