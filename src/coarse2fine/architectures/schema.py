"""Every codec architecture's schema, by name: the keyword arguments of build_codec per codec
and the options of each backbone (types, ranges, no unknown keys), gathered from the option
modules beside this one (options.py, deephq.py, rmpgc.py).

Torch-free on purpose: the workflow checks every `architecture` object of its config when it
starts (workflow/rules/common.smk), and the checkpoint loader checks a checkpoint's
codec_config, both through validate_architecture, before any module is built. Cross-key rules
an overlay can break (level blocks summing to M, a base layer below M) are checked here too;
the rest stay with the constructors.
"""

from __future__ import annotations

from typing import Callable

import jsonschema

from coarse2fine.errors import ArchitectureError

from .deephq import DEEPHQ_OPTIONS
from .options import BACKBONE_OPTIONS, C2F_OPTIONS, HYPERPRIOR_OPTIONS, check_c2f
from .rmpgc import RMPGC_OPTIONS, check_rmpgc

CODEC_PROPERTIES: dict[str, dict] = {
    "hyperprior": HYPERPRIOR_OPTIONS,
    "c2f": C2F_OPTIONS,
    "deephq": DEEPHQ_OPTIONS,
    "rmpgc": RMPGC_OPTIONS,
}
ACROSS_KEYS: dict[str, Callable[[dict, str], None]] = {"c2f": check_c2f, "rmpgc": check_rmpgc}

__all__ = ["ACROSS_KEYS", "BACKBONE_OPTIONS", "CODEC_PROPERTIES", "ArchitectureError", "validate_architecture"]


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
    registered schemas of its codec and backbone, and its codec's rules across keys."""
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
    if name in ACROSS_KEYS:
        ACROSS_KEYS[name](config, where)
