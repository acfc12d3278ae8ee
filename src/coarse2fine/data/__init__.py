"""The data stage: datasets as manifests (path, sha256, size, label, label source, split)."""

from .manifest import ManifestError, read_manifest

__all__ = ["ManifestError", "read_manifest"]
