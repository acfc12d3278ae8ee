"""The hierarchy stage's part of the plan: enabled hierarchies, embedding caches, build inputs."""

from __future__ import annotations

import re

from coarse2fine.hierarchy.config import build_settings, resolve_path
from coarse2fine.hierarchy.embedders import embedder_settings, embedding_key
from coarse2fine.hierarchy.methods import uses_embeddings

WUP_SIMILARITY = "results/hierarchy/wup_similarity.npy"
CLASS_LIST = "results/classes/imagenet1k_classes.csv"
OVERVIEW = "results/hierarchy/hierarchy_overview"
HIERARCHY_FILES = ("assignments.csv", "summary.json", "summary.md", "clusters.md")


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
        return f"results/hierarchy/{name}"

    def assignments(self, name: str) -> str:
        return f"{self.dir(name)}/assignments.csv"

    def build_settings(self, name: str) -> dict:
        return build_settings(self.enabled[name])

    def build_inputs(self, name: str) -> dict:
        spec = self.enabled[name]
        inputs = {"wup": WUP_SIMILARITY}
        if uses_embeddings(spec["method"]):
            inputs["embeddings"] = f"results/hierarchy/embeddings/{embedding_key(embedder_settings(spec))}.npz"
        if spec["method"] == "file":
            inputs["files"] = [str(resolve_path(p)) for p in spec["paths"]]
        return inputs

    def targets(self) -> list[str]:
        """Every enabled hierarchy, the agreement table, the overview figure."""
        targets = [f"{self.dir(name)}/{f}" for name in self.enabled for f in HIERARCHY_FILES]
        return targets + [
            "results/hierarchy/agreement.csv",
            "results/hierarchy/agreement.md",
            f"{OVERVIEW}.png",
            f"{OVERVIEW}.pdf",
        ]
