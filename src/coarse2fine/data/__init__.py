from .images import ImageReadError, open_rgb
from .manifest import ManifestError, read_manifest

__all__ = ["ImageReadError", "ManifestError", "open_rgb", "read_manifest"]
