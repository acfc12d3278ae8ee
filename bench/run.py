"""Run every benchmark of the project in one process run and write JSON (and BENCHMARKS.md).

    python bench/run.py --output bench/results.json --markdown BENCHMARKS.md \
        --checkpoint results/checkpoints/c2f/paper_clip_kmeans/rp1/model.pt --pipeline-log pipeline_time.log

About 3-5 minutes on 2 CPU cores with the defaults. --quick runs every code path at tiny sizes.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import shlex
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# What every job's and `c2f` call's entry point does before CompressAI loads: the CPU kernels
# pinned (import coarse2fine) and the point-cloud half (torch_geometric, and a torch.jit.script
# deprecation warning) kept out.
importlib.import_module("coarse2fine.lean_imports").defer_unused_compressai_imports()

import torch  # noqa: E402

from bench import cli, coding, pipeline, report, training  # noqa: E402
from bench.common import DEFAULT_CONFIG, DEFAULT_MANIFEST, REPO_ROOT, load_config, machine_info, sample_crops  # noqa: E402


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"image size must be WIDTHxHEIGHT, got {text!r}") from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"image size must be positive, got {text!r}")
    return width, height


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="coarse2fine benchmarks (see BENCHMARKS.md)")
    parser.add_argument("--output", type=Path, default=Path("bench/results.json"))
    parser.add_argument("--markdown", type=Path, help="also render the results to this Markdown file")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--checkpoint", type=Path, help="trained c2f checkpoint (an untrained codec otherwise)")
    parser.add_argument("--sizes", type=parse_size, nargs="+", default=[(512, 512), (768, 512)])
    parser.add_argument("--images-per-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per image (median)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-batch-size", type=int, default=8)
    parser.add_argument("--train-crop", type=int, default=128)
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--train-warmup-steps", type=int, default=3)
    parser.add_argument(
        "--task-levels",
        nargs="+",
        choices=training.TASK_LEVEL_MODES,
        default=list(training.TASK_LEVEL_MODES),
        help="c2f rows: classifier on all levels, one, none",
    )
    parser.add_argument("--pipeline-log", type=Path, help="`/usr/bin/time -v make run` output of a full run")
    parser.add_argument(
        "--snakemake-log",
        type=Path,
        help="that run's .snakemake/log/*.snakemake.log: each stage's jobs and share of the work",
    )
    parser.add_argument(
        "--snakemake",
        default=f"{shlex.quote(sys.executable)} -m snakemake",
        help="how to call snakemake for the dry-run and no-op rerun",
    )
    parser.add_argument("--eval-images", type=int, default=2, help="1-megapixel photos `c2f eval` is timed on")
    parser.add_argument("--skip", nargs="*", choices=("coding", "cli", "training", "snakemake"), default=[])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes (one 128x128 image, 1 repeat, batch 2 of 64, 1 step): a smoke test",
    )
    return parser


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    command = "python bench/run.py " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    if args.quick:
        args.sizes, args.images_per_size, args.repeats = [(128, 128)], 1, 1
        args.train_batch_size, args.train_crop, args.train_steps, args.train_warmup_steps = 2, 64, 1, 0
        args.eval_images = 1
    if args.checkpoint and not args.checkpoint.is_file():
        raise SystemExit(f"checkpoint not found: {args.checkpoint}")
    for log_path in (args.pipeline_log, args.snakemake_log):
        if log_path and not log_path.is_file():
            raise SystemExit(f"log not found: {log_path}")
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    config = load_config(args.config)
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "machine": machine_info(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    if "coding" not in args.skip:
        crops = sample_crops(args.manifest, args.sizes, args.images_per_size)
        results["coding"] = coding.run(args.checkpoint, config["codecs"]["c2f"]["architecture"], crops, args.repeats)
        print(f"coding done at {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if "cli" not in args.skip:
        cli_crops = sample_crops(args.manifest, [(512, 512)], max(1, args.eval_images))
        results["cli"] = cli.run(cli_crops, args.repeats, args.eval_images)
        print(f"c2f calls done at {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if "training" not in args.skip:
        results["training"] = training.run(
            config=args.config.resolve(),
            manifest=args.manifest.resolve(),
            batch_size=args.train_batch_size,
            crop=args.train_crop,
            steps=args.train_steps,
            warmup_steps=args.train_warmup_steps,
            threads=args.threads,
            task_levels=args.task_levels,
        )
        print(f"training done at {time.perf_counter() - started:.0f} s", file=sys.stderr)
    results["pipeline"] = {}
    if args.pipeline_log:
        results["pipeline"]["end_to_end"] = pipeline.parse_time_log(args.pipeline_log)
    if args.snakemake_log:
        results["pipeline"]["stages"] = pipeline.stage_shares(args.snakemake_log)
    if "snakemake" not in args.skip:
        results["pipeline"].update(pipeline.snakemake_overheads(shlex.split(args.snakemake), REPO_ROOT, args.threads))
    results["seconds"] = time.perf_counter() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # Paths inside the repository are recorded relative to it: the results describe the
    # project, not the machine's folders.
    text = json.dumps(results, indent=1, default=str).replace(f"{REPO_ROOT}/", "")
    results = json.loads(text)
    args.output.write_text(text + "\n")
    if args.markdown:
        args.markdown.write_text(report.render(results))
    return results


if __name__ == "__main__":
    main()
