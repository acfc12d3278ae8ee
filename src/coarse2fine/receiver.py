"""What a reference classifier sees in a decoded stream, and a receiver that stops reading as
soon as it is confident enough.

Level n of a coarse-to-fine stream answers hierarchy level n (the class at the last level). A
receiver with threshold P reads one segment at a time, classifies after each, and stops at the
first level whose prob-sum confidence is at least P (or at the end of the stream). The rule is
`stop_level`, shared by `c2f classify --until-confident` and the pipeline's receiver table
(evaluate/reports/receiver_table.py), so both report the same policy.
"""

from __future__ import annotations

from typing import BinaryIO

import torch

from coarse2fine.classify.classifiers import classifier_view, load_quietly
from coarse2fine.classify.levels import NUM_CLASSES, answered_level, prob_sum_predictions
from coarse2fine.coding import BitstreamError, decode_bitstream
from coarse2fine.stream_reader import StreamReader


def level_rows(image: torch.Tensor, codec, hierarchy, classifier) -> list[dict]:
    """The prob-sum prediction at every hierarchy level of one decoded image (1, 3, H, W)."""
    with torch.no_grad():
        logits = classifier(classifier_view(codec).classifier_input(image, classifier.input_size))
    pred = prob_sum_predictions(logits, hierarchy.level_maps)
    rows = []
    for level in range(1, hierarchy.num_levels + 1):
        idx = int(pred.at_level(level)[0])
        is_class = level == hierarchy.num_levels
        rows.append(
            {
                "hierarchy_level": level,
                "k": NUM_CLASSES if is_class else hierarchy.ks[level - 1],
                "id": idx,
                "name": hierarchy.cluster_names(level - 1)[idx],
                "probability": float(pred.confidence_at(level)[0]),
            }
        )
    return rows


def classify_stream(
    data: bytes,
    codec,
    hierarchy,
    classifier_name: str,
    level: int | None = None,
    max_pixels: int | None = None,
    allow_cut: bool = False,
) -> dict:
    """Decode at `level` and report the prob-sum prediction at every level of the hierarchy.
    With `allow_cut`, a stream cut inside a level segment is classified from its complete
    levels (decode_bitstream)."""
    decoded = decode_bitstream(codec, data, level, max_pixels, allow_cut=allow_cut)
    rows = level_rows(decoded.image, codec, hierarchy, load_quietly(classifier_name))
    target = answered_level(decoded.level, decoded.header.num_levels_total, hierarchy.num_levels)
    return {
        "decoded_level": decoded.level,
        "levels_total": decoded.header.num_levels_total,
        "classifier": classifier_name,
        "hierarchy": hierarchy.name,
        "answer": rows[target - 1],
        "levels": rows,
    }


def receive_until_confident(
    source: BinaryIO | StreamReader,
    codec,
    hierarchy,
    classifier_name: str,
    threshold: float,
    max_pixels: int | None = None,
) -> dict:
    """Read `source` (a file or a pipe, or a StreamReader over one that has read the header)
    one segment at a time until the answer at the level reached is at least `threshold`
    confident; report that answer and the bytes read. A reader made with `allow_cut` stops at a
    cut level segment: the answer is then the last complete level's, and `cut` says what was
    lost (None otherwise)."""
    if not 0 <= threshold <= 1:
        raise ValueError(f"--until-confident must be a probability in [0, 1], got {threshold}")
    classifier = load_quietly(classifier_name)
    reader = source if isinstance(source, StreamReader) else StreamReader(source)
    total = reader.header.num_levels_total
    trace = []
    for stream in reader:
        level = stream.num_levels
        decoded = decode_bitstream(codec, stream.to_bytes(), level, max_pixels)
        rows = level_rows(decoded.image, codec, hierarchy, classifier)
        answer = rows[answered_level(level, total, hierarchy.num_levels) - 1]
        trace.append({"level": level, "bytes_read": reader.bytes_read, "answer": answer})
        if answer["probability"] >= threshold:  # stop_level's rule, applied as each level arrives
            break
    if not trace:
        if reader.cut is not None:
            raise BitstreamError(f"truncated level 1 segment: {reader.cut.describe(total)}")
        raise BitstreamError("truncated stream: no level segment after the hyper-latent")
    last = trace[-1]
    confident = last["answer"]["probability"] >= threshold
    return {
        "threshold": threshold,
        "stopped_at_level": last["level"],
        "levels_total": total,
        "confident": confident,
        "bytes_read": last["bytes_read"],
        "classifier": classifier_name,
        "hierarchy": hierarchy.name,
        "answer": last["answer"],
        "trace": trace,
        "cut": reader.cut,
    }
