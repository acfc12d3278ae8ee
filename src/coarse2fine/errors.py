"""The exceptions that name bad input, shared by every layer (models, coding, command line).

Each is raised with a message that says what is wrong and where; code that reads untrusted
files catches exactly these types, never a bare Exception.
"""

from __future__ import annotations


class BitstreamError(ValueError):
    """A `.c2f` stream that cannot be decoded; the message says what is wrong and where."""


class CheckpointError(RuntimeError):
    """A codec checkpoint that is missing, unreadable, not a codec checkpoint, or unsafe to code
    with (a codec_config outside its schema, non-finite weights, malformed entropy tables)."""


class LatentRangeError(ValueError):
    """Latent values the entropy coder cannot take (non-finite, or beyond its range): the codec's
    weights or its input are corrupt. Raised before the values reach the coder."""


class ResourceLimitError(ValueError):
    """Work refused or abandoned because it exceeds a limit: an image or a stream's declared size
    above the pixel limit, or memory that ran out while coding."""


class ArchitectureError(ValueError):
    """A codec architecture (config or checkpoint codec_config) outside its registered schema
    (coarse2fine.architectures); the message names the key."""


class SettingsError(ValueError):
    """A job's settings that cannot describe a job (an unknown key, a value of the wrong type)."""
