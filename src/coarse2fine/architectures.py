"""The schema of every codec architecture: the keyword arguments of build_codec, per codec name,
and the options of each backbone (types, ranges, no unknown keys).

Torch-free on purpose: the workflow checks every `architecture` object of its config when it
starts (workflow/rules/common.smk), and the checkpoint loader checks a checkpoint's
codec_config, both through validate_architecture, before any module is built. Cross-key rules
(level blocks summing to M, rising target rates) stay with the constructors.
"""

from __future__ import annotations

import jsonschema


def integer(low: int, high: int, nullable: bool = False) -> dict:
    """JSON schema of an integer in [low, high] (or null)."""
    return {"type": ["integer", "null"] if nullable else "integer", "minimum": low, "maximum": high}


def number(low: float, high: float) -> dict:
    return {"type": "number", "minimum": low, "maximum": high}


# What every codec on the shared backbones takes. Bounds are generous (the paper's model is
# N=192, M=320) but keep a crafted config from asking for absurd modules.
MAX_WIDTH = 1024  # N
MAX_LATENT_CHANNELS = 4096  # M (a .c2f header's per-level limit)
BACKBONE_PROPERTIES = {
    "backbone": {"type": "string"},
    "N": integer(1, MAX_WIDTH),
    "M": integer(1, MAX_LATENT_CHANNELS),
    "mean_grid_bits": integer(0, 24),
    "backbone_options": {"type": ["object", "null"]},
}


class ArchitectureError(ValueError):
    """A codec architecture (config or checkpoint codec_config) outside its registered schema."""


MIN_LEVELS, MAX_LEVELS = 2, 4  # c2f level blocks
MIN_LAYERS, MAX_LAYERS = 2, 16  # DeepHQ quantisation layers

CODEC_PROPERTIES: dict[str, dict] = {
    "hyperprior": BACKBONE_PROPERTIES,
    "c2f": {
        **BACKBONE_PROPERTIES,
        "level_blocks": {"type": "array", "items": integer(1, MAX_LATENT_CHANNELS),
                         "minItems": MIN_LEVELS, "maxItems": MAX_LEVELS},
        "slices_per_block": integer(1, 64),
        "delta": {"type": "boolean"},
        "lrp": {"type": "boolean"},
        "param_width": integer(1, 4 * MAX_LATENT_CHANNELS, nullable=True),
        "delta_width": integer(1, 4 * MAX_LATENT_CHANNELS, nullable=True),
        "delta_depth": integer(1, 16),
    },
    "deephq": {**BACKBONE_PROPERTIES, "layers": integer(MIN_LAYERS, MAX_LAYERS), "selective": {"type": "boolean"}},
    "rmpgc": {
        **BACKBONE_PROPERTIES,
        "target_bpp": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0, "maximum": 64},
                       "minItems": 1, "maxItems": 16},
        "classifier": {"type": "string"},
        "complexity_weight": number(0, 1e3),
        "feature_weight": number(0, 1e3),
        "gan": {"type": "boolean"},  # true is refused by the constructor: the GAN term is not implemented
        "train_fractions": {"type": ["array", "null"], "items": number(0, 1), "maxItems": 16},
        "train_jitter": number(0, 1),
        "classifier_size": integer(32, 1024, nullable=True),
    },
}

BACKBONE_OPTIONS: dict[str, dict] = {
    "conv": {},
    "tic": {
        "window": integer(1, 64),
        "heads": integer(1, 64, nullable=True),
        "depths": {"type": "array", "items": integer(1, 16), "minItems": 3, "maxItems": 3},
        "hyper_depths": {"type": "array", "items": integer(1, 16), "minItems": 2, "maxItems": 2},
    },
}


def _check(instance, properties: dict, where: str) -> None:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(instance))
    if error is not None:
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "additionalProperties":
            known = ", ".join(sorted(properties))
            raise ArchitectureError(f"{where}: {error.message} (known keys: {known})")
        raise ArchitectureError(f"{where}{'.' + path if path else ''}: {error.message}")


def validate_architecture(config, where: str = "architecture") -> None:
    """ArchitectureError naming the key unless `config` (name plus keyword arguments) fits the
    registered schemas of its codec and backbone. Cross-key rules (blocks summing to M, ...)
    are the constructors' and raise ValueError there."""
    if not isinstance(config, dict):
        raise ArchitectureError(f"{where}: must be a mapping, got {type(config).__name__}")
    name = config.get("name")
    if not isinstance(name, str) or name not in CODEC_PROPERTIES:
        raise ArchitectureError(f"{where}.name: unknown codec {name!r}; known: {', '.join(sorted(CODEC_PROPERTIES))}")
    _check(config, {"name": {"type": "string"}, **CODEC_PROPERTIES[name]}, where)
    backbone = config.get("backbone", "conv")
    if not isinstance(backbone, str) or backbone not in BACKBONE_OPTIONS:
        raise ArchitectureError(f"{where}.backbone: unknown backbone {backbone!r}; known: {', '.join(sorted(BACKBONE_OPTIONS))}")
    _check(config.get("backbone_options") or {}, BACKBONE_OPTIONS[backbone], f"{where}.backbone_options")
