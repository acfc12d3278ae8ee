"""The exceptions of the coding layer.

`BitstreamError` is the one exception a reader of `.c2f` files raises for bad input: bad
magic, unsupported version, another model's stream, truncated or corrupt segments, absurd
dimensions. Code that decodes untrusted files catches exactly this type.
"""

from __future__ import annotations


class BitstreamError(ValueError):
    """A `.c2f` stream that cannot be decoded; the message says what is wrong and where."""


class CheckpointError(RuntimeError):
    """A codec checkpoint that is missing, unreadable, or not a codec checkpoint."""
