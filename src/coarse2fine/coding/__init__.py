"""The `.c2f` bitstream: container format, model identity, encode/decode, checkpoints.

Format specification: docs/bitstream.md. Every reader error is a BitstreamError.
"""

from coarse2fine.container import (
    FORMAT_VERSION,
    MAGIC,
    MAX_PIXELS,
    MAX_SIDE,
    Bitstream,
    Cut,
    Header,
    Received,
    levels_within,
    parse_bitstream,
    parse_header,
    parse_received,
    truncate_to_bytes,
    truncate_to_level,
)

from .checkpoint import load_codec
from .codec_io import (
    DecodedImage,
    EncodedImage,
    compress_image,
    decode_bitstream,
    encode_image,
    estimated_bits,
    to_uint8,
)
from .errors import BitstreamError, CheckpointError, ResourceLimitError
from .identity import compute_model_identity, model_identity

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "MAX_PIXELS",
    "MAX_SIDE",
    "Bitstream",
    "BitstreamError",
    "Cut",
    "Received",
    "CheckpointError",
    "ResourceLimitError",
    "DecodedImage",
    "EncodedImage",
    "Header",
    "compress_image",
    "compute_model_identity",
    "decode_bitstream",
    "estimated_bits",
    "encode_image",
    "levels_within",
    "load_codec",
    "model_identity",
    "parse_bitstream",
    "parse_header",
    "parse_received",
    "to_uint8",
    "truncate_to_bytes",
    "truncate_to_level",
]
