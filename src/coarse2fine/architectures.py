"""The schema of every codec architecture: the keyword arguments of build_codec, per codec name,
and the options of each backbone (types, ranges, no unknown keys).

Torch-free on purpose: the workflow checks every `architecture` object of its config when it
starts (workflow/rules/common.smk), and the checkpoint loader checks a checkpoint's
codec_config, both through validate_architecture, before any module is built. Cross-key rules
(level blocks summing to M, rising target rates) stay with the constructors.
"""

from __future__ import annotations

import jsonschema


def integer(low: int, high: int, nullable: bool = False, description: str = "") -> dict:
    """JSON schema of an integer in [low, high] (or null)."""
    return {
        "type": ["integer", "null"] if nullable else "integer",
        "minimum": low,
        "maximum": high,
        "description": description,
    }


def number(low: float, high: float, description: str = "") -> dict:
    return {"type": "number", "minimum": low, "maximum": high, "description": description}


def flag(description: str) -> dict:
    return {"type": "boolean", "description": description}


# What every codec on the shared backbones takes. Bounds are generous (the paper's model is
# N=192, M=320) but keep a crafted config from asking for absurd modules.
MAX_WIDTH = 1024  # N
MAX_LATENT_CHANNELS = 4096  # M (a .c2f header's per-level limit)
BACKBONE_PROPERTIES = {
    "backbone": {
        "type": "string",
        "description": "transform family: conv (GDN convolutions, CPU-sized) or tic (Swin blocks, the paper's)",
    },
    "N": integer(1, MAX_WIDTH, description="channels of the transforms (paper 192)"),
    "M": integer(1, MAX_LATENT_CHANNELS, description="latent channels (paper 320)"),
    "mean_grid_bits": integer(
        0, 24, description="entropy-model means are rounded to a 2^-bits grid: bit-exact decoding on any machine"
    ),
    "backbone_options": {"type": ["object", "null"], "description": "options of the backbone (below)"},
}


class ArchitectureError(ValueError):
    """A codec architecture (config or checkpoint codec_config) outside its registered schema."""


MIN_LEVELS, MAX_LEVELS = 2, 4  # c2f level blocks
MIN_LAYERS, MAX_LAYERS = 2, 16  # DeepHQ quantisation layers

CODEC_PROPERTIES: dict[str, dict] = {
    "hyperprior": BACKBONE_PROPERTIES,
    "c2f": {
        **BACKBONE_PROPERTIES,
        "level_blocks": {
            "type": "array",
            "items": integer(1, MAX_LATENT_CHANNELS),
            "minItems": MIN_LEVELS,
            "maxItems": MAX_LEVELS,
            "description": "latent channels per level block, coarse first; they sum to M (paper 128/96/96)",
        },
        "slices_per_block": integer(1, 64, description="channel-wise context slices in each block"),
        "delta": flag("delta networks refine the mean and scale of blocks 2..L from the blocks before"),
        "lrp": flag("latent residual prediction (Minnen and Singh 2020)"),
        "param_width": integer(
            1, 4 * MAX_LATENT_CHANNELS, nullable=True, description="width of the parameter networks (null: M)"
        ),
        "delta_width": integer(
            1, 4 * MAX_LATENT_CHANNELS, nullable=True, description="width of the delta networks (null: param_width)"
        ),
        "delta_depth": integer(1, 16, description="layers of each delta network"),
        "context": {
            "enum": ["channel", "causal_attention"],
            "description": "entropy-model context: channel-wise over the slices before (CPU default), or also TIC's "
            "causal spatial attention over the slice's channel prefix (the official code; coded position by position)",
        },
        "context_heads": integer(1, 64, description="attention heads of the spatial context (official 16)"),
        "context_window": integer(3, 9, description="side of the spatial context's window, odd (official 5)"),
    },
    "deephq": {
        **BACKBONE_PROPERTIES,
        "layers": integer(
            MIN_LAYERS, MAX_LAYERS, description="quantisation layers (nested step sizes), one segment each"
        ),
        "selective": flag("selective compression: each layer codes only the elements the selector picks"),
        "selector": {
            "enum": ["exponent", "threshold"],
            "description": "selective compression's rule: an importance map and a learned exponent per layer and "
            "channel (DeepHQ's official code), or a score and one learned threshold per layer",
        },
        "grid": {
            "enum": ["centred", "mean"],
            "description": "where a layer's grid sits in a coded element's interval: centred on it, the step widened "
            "when an edge piece would be under 0.3 of a step (DeepHQ's official coder), or at the mean",
        },
    },
    "rmpgc": {
        **BACKBONE_PROPERTIES,
        "target_bpp": {
            "type": "array",
            "items": {"type": "number", "exclusiveMinimum": 0, "maximum": 64},
            "minItems": 1,
            "maxItems": 16,
            "description": "cumulative rate of each segment, rising",
        },
        "classifier": {"type": "string", "description": "classifier whose Grad-CAM++ ranks the positions"},
        "importance": {
            "enum": ["paper", "continuous"],
            "description": "paper: Eq. 12, I = (1 + e) B + sigmoid(v) (1 - B) with B the Otsu-binarised saliency e; "
            "continuous: B the saliency itself and e the constant complexity_weight (the earlier reading)",
        },
        "complexity_weight": number(0, 1e3, description="the constant e of importance: continuous (unused by paper)"),
        "feature_weight": number(0, 1e3, description="weight of the feature-matching loss"),
        "feature_layers": {
            "enum": ["pyramid", "last"],
            "description": "feature matching on the classifier's maps at 1/2, 1/4, 1/8, 1/16 of its input weighted "
            "1/32 .. 1/4 (the paper's four VGG16 layers and weights), or on its last map only",
        },
        # true is refused by the constructor: the GAN term is not implemented
        "gan": flag("RMPGC's optional GAN term (not implemented: false only)"),
        "train_fractions": {
            "type": ["array", "null"],
            "items": number(0, 1),
            "maxItems": 16,
            "description": "fraction of positions coded per segment in training (null: from target_bpp)",
        },
        "train_jitter": number(0, 1, description="random jitter of the training fractions"),
        "classifier_size": integer(
            32, 1024, nullable=True, description="side of the view Grad-CAM++ sees (null: the classifier's input)"
        ),
        "base_channels": integer(
            0,
            MAX_LATENT_CHANNELS - 1,
            description="C_b: channels coded at every position in segment 1 "
            "(the paper's base layer); the rest are masked by importance. 0: every channel masked",
        ),
        "train_conditions": {
            "enum": ["fractions", "paper"],
            "description": "the decoder's training masks: nested masks at jittered fractions of the target rates, "
            "or the paper's three conditions U = 0 (base layer), B (salient positions), 1 (whole latent), one "
            "lambda each",
        },
        "conditioned_decoder": flag("the decoder told which positions' enhancement channels it holds (U)"),
    },
}

BACKBONE_OPTIONS: dict[str, dict] = {
    "conv": {},
    "tic": {
        "window": integer(1, 64, description="attention window"),
        "heads": {
            "oneOf": [
                integer(1, 64),
                {"type": "array", "items": integer(1, 64), "minItems": 3, "maxItems": 3},
                {"type": "null"},
            ],
            "description": "attention heads: one count, or one per analysis stage mirrored by the synthesis "
            "(null: about 24 channels per head; official TIC code [4, 8, 16])",
        },
        "hyper_heads": {
            "oneOf": [
                integer(1, 64),
                {"type": "array", "items": integer(1, 64), "minItems": 2, "maxItems": 2},
                {"type": "null"},
            ],
            "description": "attention heads of the two hyper stages (null: the last analysis stage's; official 16)",
        },
        "hyper_window": integer(
            1, 64, nullable=True, description="the hyper transforms' window (null: window; official 4)"
        ),
        "mlp_ratio": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 16,
            "description": "width of each Swin block's MLP over N (official 4)",
        },
        "drop_path": {
            "type": "number",
            "minimum": 0,
            "maximum": 0.9,
            "description": "stochastic-depth rate, rising linearly over the blocks (official 0.2)",
        },
        "depths": {
            "type": "array",
            "items": integer(1, 16),
            "minItems": 3,
            "maxItems": 3,
            "description": "Swin blocks of the three analysis/synthesis stages",
        },
        "hyper_depths": {
            "type": "array",
            "items": integer(1, 16),
            "minItems": 2,
            "maxItems": 2,
            "description": "Swin blocks of the two hyper stages",
        },
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
        raise ArchitectureError(
            f"{where}.backbone: unknown backbone {backbone!r}; known: {', '.join(sorted(BACKBONE_OPTIONS))}"
        )
    _check(config.get("backbone_options") or {}, BACKBONE_OPTIONS[backbone], f"{where}.backbone_options")
    _check_across_keys(name, config, where)


def _check_across_keys(name: str, config: dict, where: str) -> None:
    """The rules between keys that a merged overlay can break (a smaller M with the default's
    blocks or base layer), named at start-up rather than when the job builds the codec."""
    m = config.get("M", 96)
    if name == "c2f" and "level_blocks" in config and sum(config["level_blocks"]) != m:
        raise ArchitectureError(
            f"{where}.level_blocks: {config['level_blocks']} sum to {sum(config['level_blocks'])}, not M = {m}"
        )
    if name == "rmpgc" and not config.get("base_channels", 0) < m:
        raise ArchitectureError(f"{where}.base_channels: {config['base_channels']} must be below M = {m}")
