"""DeepHQ's options (the keyword arguments of DeepHQ, codec.py): torch-free, so the workflow
checks a config's DeepHQ architecture at start-up (architectures/schema.py)."""

from __future__ import annotations

from .options import BACKBONE_PROPERTIES, flag, integer

MIN_LAYERS, MAX_LAYERS = 2, 16  # quantisation layers

DEEPHQ_OPTIONS = {
    **BACKBONE_PROPERTIES,
    "layers": integer(MIN_LAYERS, MAX_LAYERS, description="quantisation layers (nested step sizes), one segment each"),
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
    "dequantisation": {
        "enum": ["midpoint", "learned"],
        "description": "a coded element's reconstruction: its interval's midpoint, or the midpoint times a learned "
        "gain per layer and channel (the official code's dequantisation vector IQV, started at 1)",
    },
}
