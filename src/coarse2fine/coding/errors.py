"""The exceptions of the coding layer (defined in coarse2fine.errors, below models and coding).

`BitstreamError` is the one exception a reader of `.c2f` files raises for bad input: bad
magic, unsupported version, another model's stream, truncated or corrupt segments, absurd
dimensions. `ResourceLimitError` is raised for a stream whose declared size exceeds the
decoder's pixel limit; `CheckpointError` for a checkpoint that cannot be used.
"""

from coarse2fine.errors import BitstreamError, CheckpointError, LatentRangeError, ResourceLimitError

__all__ = ["BitstreamError", "CheckpointError", "LatentRangeError", "ResourceLimitError"]
