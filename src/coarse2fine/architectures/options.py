"""The option schemas of c2f (models/codec.py), the hyperprior (models/hyperprior.py) and the
conv and tic backbones (models/backbones/), and the JSON-schema pieces every codec's options are
built from (DeepHQ's and RMPGC's are in deephq.py and rmpgc.py beside this module).

Torch-free on purpose: the workflow checks every `architecture`
object of its config when it starts (architectures/schema.py), before any module is built. Bounds are
generous (the paper's model is N=192, M=320) but keep a crafted config from asking for absurd
modules. Cross-key rules a merged overlay can break are checked here too (`check_*`); the rest
stay with the constructors.
"""

from __future__ import annotations

from coarse2fine.errors import ArchitectureError


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


# What every codec on the shared backbones takes.
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

# The hyperprior codec (the base every model starts from) takes the backbone's options only.
HYPERPRIOR_OPTIONS = BACKBONE_PROPERTIES

MIN_LEVELS, MAX_LEVELS = 2, 4  # c2f level blocks
C2F_OPTIONS = {
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
}


def check_c2f(config: dict, where: str) -> None:
    """The level blocks sum to M (a smaller M in an overlay with the default's blocks)."""
    m = config.get("M", 96)
    if "level_blocks" in config and sum(config["level_blocks"]) != m:
        raise ArchitectureError(
            f"{where}.level_blocks: {config['level_blocks']} sum to {sum(config['level_blocks'])}, not M = {m}"
        )


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
