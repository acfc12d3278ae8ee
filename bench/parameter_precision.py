"""What float64 entropy parameters cost in decoding time, and what float32 would risk.

c2f computes its entropy parameters (h_s and the channel-wise mean/scale/delta networks) in a
float64 copy of the weights on both sides (docs/models.md, "Deterministic entropy parameters").
This measures, on photo crops of the sample set and the committed default checkpoint:

1. time: the full decode (coarse2fine.coding.decode_bitstream) and its entropy half
   (h_s + decode_slices) with float64 parameters, the same entropy half with float32 parameters,
   and CompressAI's mbt2018-mean decode of the same N, M and image;
2. determinism: the coding decisions (mean on its 1/2^mean_grid_bits grid, scale-table index) of
   every latent element, recomputed with float32 and with float64 parameters under settings that
   change the floating-point summation order (1 or 2 threads, batch 1 or 4), given the same exact
   contexts. Each setting is compared with the 1-thread batch-1 result of the same precision: a
   differing decision is a decode that reads with the wrong CDF from that element on.

    python bench/parameter_precision.py --checkpoint models/default/c2f/model.pt --images 8
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from compressai.models import MeanScaleHyperprior  # noqa: E402

from bench.common import DEFAULT_MANIFEST, machine_info, median_seconds, sample_crops  # noqa: E402
from coarse2fine.coding import decode_bitstream, encode_image, load_codec  # noqa: E402
from coarse2fine.models import pad_to_multiple  # noqa: E402

SETTINGS = [(1, 1), (2, 1), (1, 4), (2, 4)]  # (threads, batch); the first is the reference


def decisions(codec, z_hat, contexts, dtype, threads: int, batch: int):
    """(grid means, scale indexes) of every slice, from the given exact contexts."""
    torch.set_num_threads(threads)
    h_s, entropy = codec._exact_parameter_path() if dtype == torch.float64 else (codec.h_s, codec.entropy)
    with torch.no_grad():
        hyper = h_s(z_hat.to(dtype).repeat(batch, 1, 1, 1))
        decoded = [c.to(dtype).repeat(batch, 1, 1, 1) for c in contexts]
        means, indexes = [], []
        for j, _ in enumerate(entropy.slices):
            mean, scale = entropy.slice_parameters(j, hyper, decoded[:j])
            means.append(entropy._on_grid(mean)[:1])
            indexes.append(entropy.gaussian_conditional.build_indexes(scale)[:1])
    return torch.cat(means, 1), torch.cat(indexes, 1)


def entropy_half(codec, strings, shape, dtype):
    """h_s and decode_slices at `dtype`: the part of decoding the precision choice touches."""
    with torch.no_grad():
        z_hat = codec.entropy_bottleneck.decompress(strings[0], shape)
        h_s, entropy = codec._exact_parameter_path() if dtype == torch.float64 else (codec.h_s, codec.entropy)
        return entropy.decode_slices(strings[1:], h_s(z_hat.to(dtype)))


def measure(codec, crop: dict, repeats: int, threads: int) -> dict:
    x = pad_to_multiple(crop["image"], codec.pad_multiple)[0]
    data = encode_image(codec, crop["image"])
    with torch.no_grad():
        out = codec.compress(x)
        z_hat = codec.entropy_bottleneck.decompress(out["strings"][0], out["shape"])
    y_hat = out["y_hat"].double()
    contexts = [y_hat[:, s.start : s.end] for s in codec.entropy.slices]
    row = {"image": Path(crop["path"]).name, "size": crop["size"], "latent_elements": int(y_hat[0].numel())}
    for dtype, name in ((torch.float32, "float32"), (torch.float64, "float64")):
        ref_means, ref_indexes = decisions(codec, z_hat, contexts, dtype, *SETTINGS[0])
        differing = 0
        for threads_, batch in SETTINGS[1:]:
            means, indexes = decisions(codec, z_hat, contexts, dtype, threads_, batch)
            differing = max(differing, int(((means != ref_means) | (indexes != ref_indexes)).sum()))
        row[f"{name}_differing_decisions"] = differing
    torch.set_num_threads(threads)
    mbt = MeanScaleHyperprior(codec.config["N"], codec.config["M"]).eval()
    mbt.update(force=True)
    with torch.no_grad():
        mbt_x = pad_to_multiple(crop["image"], 64)[0]
        mbt_out = mbt.compress(mbt_x)
        decode_bitstream(codec, data)  # warm-up
        row["c2f_decode_s"] = median_seconds(lambda: decode_bitstream(codec, data), repeats)
        row["mbt_decode_s"] = median_seconds(lambda: mbt.decompress(mbt_out["strings"], mbt_out["shape"]), repeats)
        for dtype, name in ((torch.float64, "float64"), (torch.float32, "float32")):
            row[f"entropy_{name}_s"] = median_seconds(
                lambda: entropy_half(codec, out["strings"], out["shape"], dtype), repeats
            )
        # The parameter networks alone (h_s and every slice's mean, scale and delta networks, from
        # the decoded contexts): what any faster arithmetic for them (float32, fixed point) could
        # at most save, the rANS decoding and the synthesis left as they are.
        row["parameter_networks_float64_s"] = median_seconds(
            lambda: decisions(codec, z_hat, contexts, torch.float64, threads, 1), repeats
        )
    row["decode_ratio"] = row["c2f_decode_s"] / row["mbt_decode_s"]
    row["decode_ratio_if_float32"] = (row["c2f_decode_s"] - row["entropy_float64_s"] + row["entropy_float32_s"]) / row[
        "mbt_decode_s"
    ]
    row["decode_ratio_if_free_parameters"] = (row["c2f_decode_s"] - row["parameter_networks_float64_s"]) / row[
        "mbt_decode_s"
    ]
    return row


def markdown(result: dict) -> str:
    lines = [
        "| image | latent elements | c2f decode s | mbt2018-mean decode s | ratio | entropy half f64 s | "
        "entropy half f32 s | ratio if f32 | parameter networks f64 s | ratio if they were free | "
        "differing decisions f64 | differing decisions f32 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['image']} {r['size']} | {r['latent_elements']} | {r['c2f_decode_s']:.3f} | "
            f"{r['mbt_decode_s']:.3f} | {r['decode_ratio']:.2f}x | {r['entropy_float64_s']:.3f} | "
            f"{r['entropy_float32_s']:.3f} | {r['decode_ratio_if_float32']:.2f}x | "
            f"{r['parameter_networks_float64_s']:.3f} | {r['decode_ratio_if_free_parameters']:.2f}x | "
            f"{r['float64_differing_decisions']} | {r['float32_differing_decisions']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", default="768x512", help="crop WIDTHxHEIGHT")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="threads for the timed decodes")
    parser.add_argument("--output", type=Path, help="write the rows as JSON here")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    codec = load_codec(args.checkpoint)
    crops = sample_crops(args.manifest, [(width, height)], args.images)
    rows = [measure(codec, crop, args.repeats, args.threads) for crop in crops]
    result = {"machine": machine_info(), "checkpoint": str(args.checkpoint), "rows": rows}
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
