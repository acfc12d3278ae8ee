"""The codecs' and backbones' option schemas, torch-free: what the workflow checks in every
`architecture` object of its config when it starts, and the checkpoint loader in a
checkpoint's codec_config, before any module is built (schema.py). The schemas of c2f,
hyperprior and the backbones are in options.py, DeepHQ's and RMPGC's in deephq.py and rmpgc.py;
the codecs themselves are in coarse2fine.models."""

from .schema import ACROSS_KEYS, BACKBONE_OPTIONS, CODEC_PROPERTIES, ArchitectureError, validate_architecture

__all__ = ["ACROSS_KEYS", "BACKBONE_OPTIONS", "CODEC_PROPERTIES", "ArchitectureError", "validate_architecture"]
