"""The confirmation's part of the plan: the study's frozen models on a folder of labelled photos
that took no part in training, labelling or choosing any setting (docs/evaluation.md, "Confirming
on your photos"). Nothing is retrained: each claim method and its ablation (and their seed
repeats) at every trained rate point codes every photo on the fly, the judge scores each prefix,
and the same tables and claim as the study's are written under results/confirm/<name>/.
"""

from __future__ import annotations

from coarse2fine.evaluate.settings import ViewsSettings

from . import paths
from .evaluation import EvaluationPlan
from .models import Model

CONFIRM_TABLE_FILES = ("per_image.csv", "summary.csv", "summary.md", "prior.md", "breakdown.md")


class ConfirmationPlan:
    def __init__(self, config: dict, evaluation: EvaluationPlan):
        self.settings = config.get("confirm") or {}
        self.view = config["view"]
        self.evaluation = evaluation

    @property
    def name(self) -> str:
        return self.settings.get("name") or "confirm"

    @property
    def dataset(self) -> str:
        return paths.confirm_dataset(self.name)

    @property
    def root(self) -> str:
        return paths.confirm_dir(self.name)

    @property
    def manifest(self) -> str:
        return paths.manifest(self.dataset)

    def dataset_settings(self) -> dict:
        folder = self.settings.get("folder")
        if not folder:
            raise ValueError(
                "the confirmation needs a folder of labelled photos: "
                "snakemake --cores all confirm --config 'confirm={folder: /path/to/photos}'"
            )
        return {"name": self.dataset, "kind": "labelled_folder", "folder": {"path": str(folder)}}

    def models(self) -> list[Model]:
        """Every trained model of a claim method, its ablation and their repeats."""
        codecs = set()
        for method in self.evaluation.claim_methods():
            codecs |= {method, self.evaluation.ablation(method)}
            codecs |= {c for pair in self.evaluation.repeats(method) for c in pair}
        hierarchies = set(self.evaluation.table_hierarchies())
        return [m for m in self.evaluation.models.values() if m.codec in codecs and m.hierarchy in hierarchies | {None}]

    def views_dir(self, model_id: str) -> str:
        return paths.learned_views_dir(model_id, self.root)

    @property
    def reference_dir(self) -> str:
        return paths.reference_views_dir(self.root)

    def views_settings(self, model_id: str | None) -> dict:
        """The judge alone scores; every photo of the folder (its test split)."""
        if model_id is None:
            provider = {"kind": "reference"}
        else:
            m = self.evaluation.models[model_id]
            provider = {
                "kind": "coded",
                "codec": m.codec,
                "rate_point": m.rate_point,
                "checkpoint": paths.checkpoint(m.id),
            }
        settings = {
            "provider": provider,
            "view": self.view,
            "classifiers": [self.evaluation.judge],
            "splits": ["test"],
            "max_images": self.settings.get("max_images"),
            "reconstructions": 0,
            "threads": self.evaluation.settings["threads"],
        }
        return ViewsSettings.from_dict(settings).to_dict()

    def table_settings(self) -> dict:
        """The study's table settings; no anchor is coded here, so no BD against one."""
        return self.evaluation.table_settings() | {"bd_anchor": None}

    def table_views_dirs(self, hierarchy: str) -> list[str]:
        return [self.reference_dir] + [self.views_dir(m.id) for m in self.models() if m.hierarchy in (hierarchy, None)]

    def tables_dir(self, hierarchy: str) -> str:
        return paths.tables_dir(hierarchy, self.root)

    def targets(self) -> list[str]:
        self.dataset_settings()  # names the missing folder before anything is planned
        out = []
        for hierarchy in self.evaluation.table_hierarchies():
            out += [paths.table(f, hierarchy, self.root) for f in CONFIRM_TABLE_FILES]
            out += [paths.claim_file("claim.md", hierarchy, m, self.root) for m in self.evaluation.claims_of(hierarchy)]
        return out
