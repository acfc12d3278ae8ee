"""Entropy-coding overhead per level, progressive decoding, and c2f against mbt2018-mean.

Overhead: actual bytes of the `.c2f` file up to level k (container included) * 8 over the
likelihood estimate of the same levels; 1.00 is the bound. Progressive decoding: median time
to decode level 1 over the median time to decode every level, on the same stream. The
comparison codec is CompressAI's mbt2018-mean (MeanScaleHyperprior) with the c2f codec's N
and M, untrained, after update(): speed does not depend on the weights.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
from pathlib import Path

import torch
from compressai.models import MeanScaleHyperprior

from coarse2fine.coding import decode_bitstream, encode_image, estimated_bits, load_codec, parse_bitstream
from coarse2fine.models import build_codec, pad_to_multiple

from .common import Target, median_seconds

OVERHEAD_TARGET = Target(1.01, "<= 1.01 (1.00 is the bound)")
PROGRESSIVE_TARGET = Target(0.6, "<= 0.6")
MBT_PAD_MULTIPLE = 64  # g_a downsamples 16x, h_a another 4x


def build_c2f(checkpoint, architecture: dict):
    """(codec, description): the trained checkpoint if given, else an untrained codec of `architecture`."""
    if checkpoint:
        return load_codec(checkpoint), f"trained checkpoint {checkpoint}"
    codec = build_codec(**architecture).eval()
    codec.update(force=True)
    return codec, "untrained codec (config architecture; no checkpoint given)"


def coding_overhead(codec, crops: list[dict]) -> list[dict]:
    """One row per (image, level): file bytes, payload bytes, estimated bits and their ratios."""
    rows = []
    for crop in crops:
        data = encode_image(codec, crop["image"])
        stream = parse_bitstream(data)
        estimates = estimated_bits(codec, crop["image"])
        file_bytes = stream.segment_sizes()
        payload = len(stream.hyper)
        for level, (size, bits) in enumerate(zip(file_bytes, estimates), start=1):
            payload += len(stream.levels[level - 1])
            rows.append(
                {
                    "size": crop["size"],
                    "path": crop["path"],
                    "level": level,
                    "file_bytes": size,
                    "payload_bytes": payload,
                    "estimated_bits": bits,
                    "file_over_estimate": size * 8 / bits,
                    "payload_over_estimate": payload * 8 / bits,
                }
            )
    return rows


def summarise_overhead(rows: list[dict]) -> list[dict]:
    """Mean and max of the ratios per (size, level), each with its target check."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["size"], row["level"]), []).append(row)
    summary = []
    for (size, level), group in sorted(groups.items()):
        ratios = [r["file_over_estimate"] for r in group]
        summary.append(
            {
                "size": size,
                "level": level,
                "images": len(group),
                "mean_file_over_estimate": statistics.fmean(ratios),
                "max_file_over_estimate": max(ratios),
                "mean_payload_over_estimate": statistics.fmean(r["payload_over_estimate"] for r in group),
                "mean_file_bytes": statistics.fmean(r["file_bytes"] for r in group),
                **OVERHEAD_TARGET.check(max(ratios)),
            }
        )
    return summary


def _mbt_codec(N: int, M: int) -> MeanScaleHyperprior:
    codec = MeanScaleHyperprior(N, M).eval()
    codec.update(force=True)
    return codec


def decoding_speed(codec, crops: list[dict], repeats: int) -> list[dict]:
    """Per image: encode, decode level 1, decode all (c2f) and encode/decode of mbt2018-mean."""
    mbt = _mbt_codec(codec.config["N"], codec.config["M"])
    rows = []
    with torch.no_grad():
        for crop in crops:
            x = crop["image"]
            data = encode_image(codec, x)
            decode_bitstream(codec, data, 1)  # warm-up: allocator, CDF tables
            padded, _ = pad_to_multiple(x, MBT_PAD_MULTIPLE)
            mbt_stream = mbt.compress(padded)
            mbt.decompress(mbt_stream["strings"], mbt_stream["shape"])
            row = {
                "size": crop["size"],
                "path": crop["path"],
                "c2f_encode_s": median_seconds(lambda: encode_image(codec, x), repeats),
                "c2f_decode_level1_s": median_seconds(lambda: decode_bitstream(codec, data, 1), repeats),
                "c2f_decode_all_s": median_seconds(lambda: decode_bitstream(codec, data, None), repeats),
                "mbt_encode_s": median_seconds(lambda: mbt.compress(padded), repeats),
                "mbt_decode_s": median_seconds(
                    lambda: mbt.decompress(mbt_stream["strings"], mbt_stream["shape"]), repeats
                ),
            }
            row["coarse_over_all"] = row["c2f_decode_level1_s"] / row["c2f_decode_all_s"]
            row["encode_c2f_over_mbt"] = row["c2f_encode_s"] / row["mbt_encode_s"]
            row["decode_all_c2f_over_mbt"] = row["c2f_decode_all_s"] / row["mbt_decode_s"]
            rows.append(row)
    return rows


def summarise_speed(rows: list[dict]) -> list[dict]:
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["size"], []).append(row)
    summary = []
    for size, group in sorted(groups.items()):
        mean = {k: statistics.fmean(r[k] for r in group) for k in group[0] if k.endswith("_s") or "_over_" in k}
        summary.append(
            {
                "size": size,
                "images": len(group),
                **mean,
                **PROGRESSIVE_TARGET.check(max(r["coarse_over_all"] for r in group)),
            }
        )
    return summary


def decode_profile(codec, crop: dict, levels=(1, None), top: int = 8) -> list[dict]:
    """Where decoding time goes: cProfile's top functions by own time, per decoded level.

    Level 1 still runs the whole synthesis transform (later blocks are zeros), which is why
    the coarse level cannot cost much less than all levels unless the entropy decoding dominates.
    """
    data = encode_image(codec, crop["image"])
    decode_bitstream(codec, data, 1)
    rows = []
    for level in levels:
        profiler = cProfile.Profile()
        profiler.runcall(decode_bitstream, codec, data, level)
        stats = pstats.Stats(profiler)
        total = stats.total_tt
        entries = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
        rows.append(
            {
                "size": crop["size"],
                "level": level or codec.num_levels,
                "total_s": total,
                "top": [
                    {
                        "function": name if file == "~" else f"{Path(file).name}:{line}({name})",
                        "own_s": tt,
                        "share": tt / total if total else 0.0,
                    }
                    for (file, line, name), (_, _, tt, _, _) in entries
                ],
            }
        )
    return rows


def run(checkpoint, architecture: dict, crops: list[dict], repeats: int) -> dict:
    codec, description = build_c2f(checkpoint, architecture)
    overhead = coding_overhead(codec, crops)
    speed = decoding_speed(codec, crops, repeats)
    largest = max(crops, key=lambda c: c["image"].numel())
    return {
        "codec": description,
        "codec_config": codec.config,
        "repeats": repeats,
        "decode_profile": decode_profile(codec, largest),
        "overhead": {"rows": overhead, "summary": summarise_overhead(overhead)},
        "speed": {"rows": speed, "summary": summarise_speed(speed)},
    }
