"""The hierarchy stage's part of the plan: enabled hierarchies, embedding caches, build inputs."""

from __future__ import annotations

import re

from coarse2fine.hierarchy.config import build_settings, resolve_path
from coarse2fine.hierarchy.embedders import embedder_settings, embedding_key
from coarse2fine.hierarchy.methods import uses_embeddings

from . import paths


def alternatives(names) -> str:
    """A wildcard constraint matching exactly these names (nothing, if there are none)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


class HierarchyPlan:
    def __init__(self, config: dict, hierarchy_config: dict):
        self.config_file = config["hierarchy"]["config"]
        defined = {h["name"] for h in hierarchy_config["hierarchies"]}
        enable = set(config["hierarchy"].get("enable", []))
        if enable - defined:
            raise ValueError(
                f"hierarchy.enable names {sorted(enable - defined)}, which {self.config_file} does not define"
            )
        # the hierarchies built: enabled in their file, or named by hierarchy.enable
        self.enabled = {h["name"]: h for h in hierarchy_config["hierarchies"] if h["enabled"] or h["name"] in enable}
        # embedding caches the enabled hierarchies need, by file stem (embedder + settings hash)
        self.embeddings = {
            embedding_key(embedder_settings(h)): embedder_settings(h)
            for h in self.enabled.values()
            if uses_embeddings(h["method"])
        }

    def dir(self, name: str) -> str:
        return paths.hierarchy_dir(name)

    def assignments(self, name: str) -> str:
        return paths.assignments(name)

    def build_settings(self, name: str) -> dict:
        return build_settings(self.enabled[name])

    def build_inputs(self, name: str) -> dict:
        spec = self.enabled[name]
        inputs = {"wup": paths.WUP_SIMILARITY}
        if uses_embeddings(spec["method"]):
            inputs["embeddings"] = paths.embeddings(embedding_key(embedder_settings(spec)))
        if spec["method"] == "file":
            inputs["files"] = [str(resolve_path(p)) for p in spec["paths"]]
        return inputs

    def targets(self) -> list[str]:
        """Every enabled hierarchy, the agreement table, the overview figure."""
        targets = [path for name in self.enabled for path in paths.hierarchy_files(name).values()]
        return targets + [
            f"{paths.AGREEMENT}.csv",
            f"{paths.AGREEMENT}.md",
            f"{paths.HIERARCHY_OVERVIEW}.png",
            f"{paths.HIERARCHY_OVERVIEW}.pdf",
        ]
