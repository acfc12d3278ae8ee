"""The training stage's job command (`python -m coarse2fine.training train`): run, or resume,
one training job. Under torchrun (`torchrun --nproc_per_node G -m coarse2fine.training train
...`) it trains with DDP."""

from __future__ import annotations

import logging
from pathlib import Path


def train_add_arguments(parser) -> None:
    parser.add_argument("--settings", required=True, help="the job's settings as a JSON object")
    parser.add_argument("--manifest", type=Path, required=True, help="dataset manifest CSV (train split used)")
    parser.add_argument("--hierarchy", type=Path, help="assignments.csv of the hierarchy (needed by task losses)")
    parser.add_argument("--init", type=Path, help="checkpoint to start from (the shared base)")
    parser.add_argument("--output", type=Path, required=True, help="final checkpoint (model.pt)")
    parser.add_argument(
        "--log-csv",
        type=Path,
        required=True,
        help="CSV log, one row per log interval (not --log: torchrun would take that as its own)",
    )
    parser.add_argument(
        "--threads", type=int, help="torch threads (overrides the settings; not part of what the job computes)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")


def train_run_command(args) -> int:
    from .loop import train
    from .settings import SettingsError, TrainSettings

    try:
        settings = TrainSettings.from_json(args.settings)
        if args.threads:
            settings = TrainSettings.from_dict({**settings.to_dict(), "threads": args.threads})
    except SettingsError as exc:
        print(f"error: {exc}")
        return 2
    meta = train(
        settings, args.manifest, args.output, args.log_csv, args.hierarchy, args.init, progress=not args.no_progress
    )
    last = meta["log"][-1] if meta["log"] else {}
    logging.getLogger("coarse2fine.training").info(
        "finished %s after %d steps: %s",
        args.output,
        meta["step"],
        {k: v for k, v in last.items() if k.startswith(("loss", "bpp", "psnr", "acc"))},
    )
    return 0
