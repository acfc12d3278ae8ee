"""What TIC's causal spatial-attention context costs in coding time (context: causal_attention).

A codec with the spatial context codes position by position in raster order within each slice
(docs/models.md, "Spatial context"), where the channel-wise model codes a whole slice at once.
This times, on centre crops of the sample photos (2 torch threads unless told):

1. encode (coarse2fine.coding.encode_image) and decode of every level (decode_bitstream) of each
   checkpoint given, e.g. the default's c2f and the c2f_attention diagnostic variant;
2. for every checkpoint with the spatial context, the same decode with the rANS coder handed all
   512 padded CDFs per position instead of the ones the position uses (`table_subset`): what the
   subset saves;
3. with --paper: the paper configuration's c2f (config/imagenet.yaml: TIC, N=192, M=320, the
   spatial context), untrained, on the same crops: the paper-scale codec's CPU coding time. Its
   latent is scaled so that it costs bits like a trained model's; the timing is the loop's, not
   a trained model's rate.

    python bench/spatial_context.py --checkpoint results/checkpoints/c2f/paper_clip_kmeans/rp1/model.pt \
        --checkpoint results/checkpoints/c2f_attention/paper_clip_kmeans/rp1/model.pt --paper
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from unittest import mock

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from bench.common import DEFAULT_MANIFEST, REPO_ROOT, load_config, machine_info, median_seconds, sample_crops  # noqa: E402
from coarse2fine.coding import decode_bitstream, encode_image, load_codec  # noqa: E402
from coarse2fine.models import build_codec  # noqa: E402
from coarse2fine.models.entropy import LevelBlockEntropyModel  # noqa: E402


def all_tables(indexes, where, tables):
    """The coder's arguments with every CDF, as before `table_subset`."""
    return (indexes.reshape(-1).tolist(), *tables)


def time_codec(name: str, codec, crops, repeats: int) -> list[dict]:
    rows = []
    spatial = codec.config.get("context", "channel") != "channel"
    for crop in crops:
        data = encode_image(codec, crop["image"])
        reference = decode_bitstream(codec, data).latents  # also the warm-up (float64 copies, tables)
        row = {
            "codec": name,
            "size": crop["size"],
            "bytes": len(data),
            "encode_s": median_seconds(lambda: encode_image(codec, crop["image"]), repeats),
            "decode_s": median_seconds(lambda: decode_bitstream(codec, data), repeats),
        }
        if spatial:
            with mock.patch.object(LevelBlockEntropyModel, "_coder_tables", staticmethod(all_tables)):
                assert torch.equal(decode_bitstream(codec, data).latents, reference)  # the same bits either way
                row["decode_all_cdfs_s"] = median_seconds(lambda: decode_bitstream(codec, data), 1)
        rows.append(row)
    return rows


def paper_codec():
    architecture = dict(load_config(REPO_ROOT / "config" / "imagenet.yaml")["codecs"]["c2f"]["architecture"])
    torch.manual_seed(0)
    codec = build_codec(**architecture).eval()
    with torch.no_grad():
        codec.g_a[-1].weight *= 20  # an untrained analysis gives a latent that costs nearly nothing
    codec.update(force=True)
    return codec


def markdown(result: dict) -> str:
    lines = [
        "| codec | crop | stream bytes | encode s | decode s (every level) | decode s, all CDFs per position |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        all_cdfs = f"{r['decode_all_cdfs_s']:.2f}" if "decode_all_cdfs_s" in r else "-"
        lines.append(
            f"| {r['codec']} | {r['size']} | {r['bytes']} | {r['encode_s']:.3f} | {r['decode_s']:.3f} | {all_cdfs} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, action="append", default=[], help="a trained codec (repeatable)")
    parser.add_argument("--paper", action="store_true", help="also the paper configuration's c2f, untrained")
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--sizes", default="128x128,256x256", help="crops WIDTHxHEIGHT, comma-separated")
    parser.add_argument("--images", type=int, default=2, help="crops per size")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, help="write the rows as JSON here")
    args = parser.parse_args(argv)
    if not args.checkpoint and not args.paper:
        parser.error("give at least one --checkpoint, or --paper")
    torch.set_num_threads(args.threads)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    crops = sample_crops(args.manifest, sizes, args.images)
    rows = []
    for path in args.checkpoint:
        rows += time_codec(path.parent.as_posix(), load_codec(path), crops, args.repeats)
    if args.paper:
        rows += time_codec("paper config c2f (untrained)", paper_codec(), crops, args.repeats)
    result = {"machine": machine_info(), "threads": args.threads, "rows": rows}
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
