"""Cost of coding a picture at the pixel limit: time and peak memory of one encode and one
decode, each in a fresh process (so the peak is that job's own), at the given sizes.

    python bench/pixel_limit.py --checkpoint models/default/c2f/model.pt --sizes 1024x1024 2048x2048 4096x4096

Prints a Markdown table (BENCHMARKS.md, "Coding at the pixel limit"); the default limit
(coarse2fine.limits.DEFAULT_MAX_PIXELS) is chosen so a job at the limit fits a laptop.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

JOB = r"""
import json, resource, sys, time, torch
torch.set_num_threads(int(sys.argv[5]))
from coarse2fine.coding import decode_bitstream, encode_image, load_codec
codec = load_codec(sys.argv[1])
width, height = int(sys.argv[3]), int(sys.argv[4])
start = time.perf_counter()
if sys.argv[2] == "encode":
    g = torch.Generator().manual_seed(0)
    low = torch.rand(1, 3, height // 16, width // 16, generator=g)
    x = torch.nn.functional.interpolate(low, size=(height, width), mode="bilinear").clamp(0, 1)
    start = time.perf_counter()
    data = encode_image(codec, x)
    open(sys.argv[6], "wb").write(data)
else:
    decode_bitstream(codec, open(sys.argv[6], "rb").read())
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--sizes", nargs="+", default=["1024x1024", "2048x2048", "4096x4096"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            width, height = (int(v) for v in size.split("x"))
            stream = Path(tmp) / f"{size}.c2f"
            row = {"size": size, "pixels": width * height}
            for job in ("encode", "decode"):
                out = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        JOB,
                        str(args.checkpoint),
                        job,
                        str(width),
                        str(height),
                        str(args.threads),
                        str(stream),
                    ],
                    capture_output=True,
                    text=True,
                )
                if out.returncode:
                    row[job] = {"error": out.stderr.strip().splitlines()[-1]}
                else:
                    row[job] = json.loads(out.stdout.strip().splitlines()[-1])
            row["bytes"] = stream.stat().st_size if stream.exists() else None
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    print("| size | pixels | stream bytes | encode s | encode peak RSS MB | decode s | decode peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:

        def cell(job, key):
            return f"{r[job][key]:.1f}" if key in r[job] else r[job].get("error", "")

        print(
            f"| {r['size']} | {r['pixels']} | {r['bytes']} | {cell('encode', 'seconds')} | "
            f"{cell('encode', 'peak_rss_mb')} "
            f"| {cell('decode', 'seconds')} | {cell('decode', 'peak_rss_mb')} |"
        )


if __name__ == "__main__":
    main()
