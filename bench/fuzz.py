"""Fuzzing the decoder and the checkpoint loader as an attacker would, each case isolated.

    python bench/fuzz.py --checkpoint models/default/c2f/model.pt --cases 500 --output bench/fuzz.json

Four kinds of case, `--cases` of each, generated from a seed (a case is reproducible from its
kind and index):

- stream: a valid stream with bits flipped, cut anywhere, or spliced with another stream;
- garbage: valid structure and CRCs around random, all-zero or all-0xFF payloads of random
  length (up to twice what their symbols can need), which reach the entropy decoder;
- declared_size: a valid stream whose header (CRC recomputed) declares another size, from 1x1
  to 16384x16384, with its own or garbage payloads;
- checkpoint: the checkpoint with one entropy table, weight or codec_config value corrupted
  (random CDF entries, swapped or zeroed rows, lengths, offsets, resized tables, NaN, inf and
  huge weights, keys of the wrong type or range), then loaded, used to encode and to decode.

Cases run in worker processes under an address-space limit; the parent times each case. The
outcome of a case is one of: ok (decoded, or loaded and round-tripped bit-exactly), named
(one of the project's named errors: BitstreamError, CheckpointError, ResourceLimitError,
LatentRangeError), unnamed (any other exception: a traceback a user would see), crash (the
worker died on a signal), hang (no answer within --timeout), oom (MemoryError not turned into
a named error). Everything but ok and named is a failure; tests/test_fuzz.py runs this.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

KINDS = ("stream", "garbage", "declared_size", "checkpoint")
FAILURES = ("unnamed", "crash", "hang", "oom")
NAMED = ("BitstreamError", "CheckpointError", "ResourceLimitError", "LatentRangeError")


# -- the cases (worker side) -------------------------------------------------------------------
def _smooth_image(torch, height, width, seed):
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 3, max(height // 8, 1), max(width // 8, 1), generator=g)
    return torch.nn.functional.interpolate(low, size=(height, width), mode="bilinear", align_corners=False).clamp(0, 1)


class Worker:
    def __init__(self, checkpoint: Path, scratch: Path):
        import torch

        from coarse2fine.coding import encode_image, load_codec

        torch.set_num_threads(1)
        self.torch = torch
        self.checkpoint = checkpoint
        self.scratch = scratch
        self.codec = load_codec(checkpoint)
        self.payload = torch.load(checkpoint, map_location="cpu", weights_only=True)
        self.images = [_smooth_image(torch, 64 + 32 * i, 96, seed=i) for i in range(3)]
        self.streams = [encode_image(self.codec, x) for x in self.images]

    # a case returns the decoded image or raises
    def stream(self, rng: random.Random):
        from coarse2fine.coding import decode_bitstream

        data = bytearray(rng.choice(self.streams))
        op = rng.randrange(3)
        if op == 0:
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(len(data))
                data[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            del data[rng.randrange(len(data)) :]
        else:
            other = rng.choice(self.streams)
            cut = rng.randrange(min(len(data), len(other)))
            data = data[:cut] + other[cut:]
        return decode_bitstream(self.codec, bytes(data))

    def _garbage(self, rng: random.Random, symbols: int) -> bytes:
        from coarse2fine import rans

        # up to twice what the symbols can need (longer ones must be refused), at most 1 MB
        n = 4 * rng.randint(2, max(2, min(2 * rans.max_payload_bytes(symbols), 1 << 20) // 4))
        kind = rng.random()
        return b"\xff" * n if kind < 0.25 else b"\x00" * n if kind < 0.35 else rng.randbytes(n)

    def _garbage_stream(self, rng: random.Random, header=None) -> bytes:
        from coarse2fine.coding import Bitstream, parse_bitstream
        from coarse2fine.coding.codec_io import _symbol_counts

        stream = parse_bitstream(rng.choice(self.streams))
        header = header or stream.header
        hyper_symbols, level_symbols = _symbol_counts(self.codec, header)
        levels = tuple(
            self._garbage(rng, n) if rng.random() < 0.7 else p
            for p, n in zip(stream.levels[: rng.randint(1, len(stream.levels))], level_symbols)
        )
        hyper = self._garbage(rng, hyper_symbols) if rng.random() < 0.5 else stream.hyper
        return Bitstream(header, hyper, levels).to_bytes()

    def garbage(self, rng: random.Random):
        from coarse2fine.coding import decode_bitstream

        return decode_bitstream(self.codec, self._garbage_stream(rng))

    def declared_size(self, rng: random.Random):
        from coarse2fine.coding import Bitstream, decode_bitstream, parse_bitstream
        from coarse2fine.limits import MAX_SIDE

        stream = parse_bitstream(rng.choice(self.streams))
        pick = rng.random()
        if pick < 0.15:
            width = height = 8192
        elif pick < 0.5:  # above the default limit
            width, height = rng.randint(4097, MAX_SIDE), rng.randint(4097, MAX_SIDE)
        else:  # small enough to decode on a fuzzing budget
            width, height = rng.randint(1, 600), rng.randint(1, 600)
        header = dataclasses.replace(stream.header, width=width, height=height)
        if rng.random() < 0.5:
            data = Bitstream(header, stream.hyper, stream.levels).to_bytes()
        else:
            data = self._garbage_stream(rng, header)
        return decode_bitstream(self.codec, data)

    def checkpoint_case(self, rng: random.Random):
        torch = self.torch
        from coarse2fine.coding import decode_bitstream, encode_image, load_codec
        from coarse2fine.coding.checkpoint import STATE_DICT_KEYS

        config = dict(self.payload["codec_config"])
        state_key = next(k for k in STATE_DICT_KEYS if isinstance(self.payload.get(k), dict))
        state = {k: v.clone() for k, v in self.payload[state_key].items()}
        if rng.random() < 0.25:
            key = rng.choice(sorted(config))
            config[key] = rng.choice(
                [-1, 0, 1, 3, 131072, 2**40, 1.5, "x", None, True, [], [1, 2], {"a": 1}, float("nan")]
            )
            if rng.random() < 0.2:
                config[f"{key}_extra"] = 1
        else:
            tables = [
                k for k in state if k.endswith(("_quantized_cdf", "_cdf_length", "_offset", "scale_table", "quantiles"))
            ]
            key = rng.choice(tables) if rng.random() < 0.7 else rng.choice(sorted(state))
            t = state[key]
            op = rng.randrange(8)
            flat = t.view(-1)
            if op == 0 and flat.numel():  # random entries
                for _ in range(rng.randint(1, 5)):
                    flat[rng.randrange(flat.numel())] = rng.choice([0, -1, 1, 65536, 65535, 2**20, -(2**30), 2**31 - 1])
            elif op == 1 and t.dim() == 2 and t.shape[0] > 1:  # a row reversed or zeroed
                row = rng.randrange(t.shape[0])
                t[row] = t[row].flip(0) if rng.random() < 0.5 else 0
            elif op == 2:  # resized
                state[key] = t.reshape(-1)[: max(0, flat.numel() - rng.randint(1, max(1, flat.numel())))].clone()
            elif op == 3 and t.is_floating_point() and flat.numel():
                flat[rng.randrange(flat.numel())] = rng.choice([float("nan"), float("inf"), 1e30, -1e30])
            elif op == 4 and t.is_floating_point():
                state[key] = t * rng.choice([1e6, 1e12, -1.0, 0.0])
            elif op == 5:
                state[key] = t.to(rng.choice([torch.float64, torch.int64, torch.int16, torch.uint8]))
            elif op == 6:
                state[key] = torch.zeros(rng.choice([(0,), (1,), (3, 3), (2, 70000)]), dtype=t.dtype)
            else:
                state.pop(key)
        path = self.scratch / "case.pt"
        torch.save({**self.payload, "codec_config": config, state_key: state}, path)
        codec = load_codec(path)
        data = encode_image(codec, self.images[0])
        out = decode_bitstream(codec, data)
        if not torch.isfinite(out.image).all():
            raise AssertionError("decoded image is not finite")
        return out

    def run(self, kind: str, seed: int, index: int) -> str:
        rng = random.Random(f"{seed}/{kind}/{index}")
        method = self.checkpoint_case if kind == "checkpoint" else getattr(self, kind)
        try:
            out = method(rng)
        except MemoryError as exc:
            return f"oom {exc!r:.200}"
        except Exception as exc:  # classified, never swallowed: anything unnamed is a failure
            name = type(exc).__name__
            if name in NAMED:
                return f"named {name}"
            return f"unnamed {name}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
        image = out.image
        if not (self.torch.isfinite(image).all() and image.min() >= 0 and image.max() <= 1):
            return "unnamed decoded image outside [0, 1]"
        return "ok"


def worker_main(args) -> None:
    import resource

    if args.memory_limit_mb:
        limit = args.memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with tempfile.TemporaryDirectory() as scratch:
        worker = Worker(args.checkpoint, Path(scratch))
        print("ready", flush=True)
        for line in sys.stdin:
            kind, index = line.split()
            print(f"start {index}", flush=True)
            print(f"done {index} {worker.run(kind, args.seed, int(index))}", flush=True)


# -- the campaign (parent side) ----------------------------------------------------------------
class WorkerProcess:
    def __init__(self, args):
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            "--checkpoint",
            str(args.checkpoint),
            "--seed",
            str(args.seed),
            "--memory-limit-mb",
            str(args.memory_limit_mb),
        ]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        ready = self.lines.get(timeout=300)
        if ready != "ready":
            raise RuntimeError(f"fuzz worker did not start: {ready!r}")

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def run(self, kind: str, index: int, timeout: float) -> str:
        self.process.stdin.write(f"{kind} {index}\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.process.kill()
                return "hang"
            if line is None:
                code = self.process.wait()
                return f"crash exit {code}" + (f" (signal {-code})" if code < 0 else "")
            if line.startswith(f"done {index} "):
                return line.split(" ", 2)[2]

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self):
        if self.alive():
            self.process.stdin.close()
            self.process.wait(timeout=30)


def campaign(
    checkpoint: Path, cases: int, seed: int = 0, timeout: float = 60.0, memory_limit_mb: int = 6144, kinds=KINDS
) -> dict:
    """Run `cases` cases of each kind; returns counts per kind and outcome, and the failures."""
    args = argparse.Namespace(checkpoint=checkpoint, seed=seed, memory_limit_mb=memory_limit_mb)
    counts = {kind: collections.Counter() for kind in kinds}
    failures = []
    worker = WorkerProcess(args)
    started = time.monotonic()
    try:
        for kind in kinds:
            for index in range(cases):
                outcome = worker.run(kind, index, timeout)
                category = outcome.split()[0]
                counts[kind][category] += 1
                if category == "named":
                    counts[kind][outcome] += 1
                if category in FAILURES:
                    failures.append({"kind": kind, "index": index, "outcome": outcome})
                if not worker.alive():
                    worker = WorkerProcess(args)
    finally:
        worker.close()
    return {
        "checkpoint": str(checkpoint),
        "seed": seed,
        "cases_per_kind": cases,
        "timeout_s": timeout,
        "memory_limit_mb": memory_limit_mb,
        "seconds": round(time.monotonic() - started, 1),
        "counts": {k: dict(sorted(c.items())) for k, c in counts.items()},
        "failures": failures,
    }


def markdown(result: dict) -> str:
    lines = [
        "| kind | runs | ok | named errors | unnamed | crash | hang | out of memory |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, c in result["counts"].items():
        named = ", ".join(f"{k.split()[1]} {v}" for k, v in c.items() if k.startswith("named "))
        lines.append(
            f"| {kind} | {result['cases_per_kind']} | {c.get('ok', 0)} | {c.get('named', 0)} ({named or '-'}) "
            f"| {c.get('unnamed', 0)} | {c.get('crash', 0)} | {c.get('hang', 0)} | {c.get('oom', 0)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="fuzz the decoder and the checkpoint loader (bench/fuzz.py)")
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--cases", type=int, default=200, help="cases of each kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds a case may take before it counts as a hang"
    )
    parser.add_argument("--memory-limit-mb", type=int, default=6144, help="address-space limit of the worker")
    parser.add_argument("--output", type=Path, help="write the counts and failures as JSON")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
        return
    result = campaign(args.checkpoint, args.cases, args.seed, args.timeout, args.memory_limit_mb)
    if args.output:
        args.output.write_text(json.dumps(result, indent=1) + "\n")
    print(markdown(result))
    print(f"{len(result['failures'])} failures in {result['seconds']} s")
    sys.exit(1 if result["failures"] else 0)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
