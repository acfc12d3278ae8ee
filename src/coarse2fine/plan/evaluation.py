"""The evaluation and figures stages' part of the plan: view folders and the providers that fill
them, the tables of each hierarchy, the claims, the headline, the receiver and the figures."""

from __future__ import annotations

from coarse2fine.evaluate.settings import TablesSettings, ViewsSettings
from coarse2fine.evaluate.views.view_files import REFERENCE_CODEC

from . import paths
from .models import Model

ANCHOR_CODECS = (REFERENCE_CODEC, "jpeg", "webp", "jpeg2000")
TABLE_FILES = (
    "per_image.csv",
    "summary.csv",
    "summary.md",
    "bd.csv",
    "bd.md",
    "progressive_check.md",
    "prior.md",
    "breakdown.md",
)
CPIPS_CHECK_FILES = ("cpips_check.json", "cpips_check.md")
# every figure `python -m coarse2fine.figures evaluation` draws, per hierarchy (PNG + PDF each)
FIGURE_NAMES = (
    "top1_vs_bpp",
    "balanced_vs_bpp",
    "quality_vs_bpp",
    "wu_palmer_vs_bpp",
    "paired_difference",
    "coarse_confusion",
    "reconstructions",
    "reconstructions_equal_rate",
)

# What a repeat of a codec over seeds may change (EvaluationPlan.repeats).
REPEAT_KEYS = {"seed", "ablation", "rate_points", "enabled"}


class EvaluationPlan:
    def __init__(self, config: dict, training, hierarchies):
        self.seed = config["seed"]
        self.settings = config.get("evaluate", {})
        self.view = config["view"]
        self.figure_settings = config.get("figures", {})
        self.claim = self.settings.get("claim") or {}
        self.training = training
        self.hierarchies = hierarchies
        self.models = {m.id: m for m in training.coded_models()}

    # -- what is evaluated -------------------------------------------------------------------
    def evaluated_models(self) -> list[Model]:
        return list(self.models.values())

    def table_hierarchies(self) -> list[str]:
        """Hierarchies to tabulate: from config, else those of the learned models, else the
        trained ones, else the first built."""
        if self.settings.get("hierarchies"):
            return list(self.settings["hierarchies"])
        names = list(dict.fromkeys(m.hierarchy for m in self.models.values() if m.hierarchy))
        names = names or self.training.train_hierarchies() or list(self.hierarchies.enabled)[:1]
        if not names:
            raise ValueError("evaluate.hierarchies is null and no hierarchy is built or trained; name one in config")
        return names

    @property
    def judge(self) -> str:
        """The classifier that scores the headline and the receiver: the judge, else the first."""
        return self.settings.get("judge") or self.settings["classifiers"][0]

    # -- views -------------------------------------------------------------------------------
    def cpips_model_id(self) -> str | None:
        """evaluate.cpips_model, `auto` resolved to a model that reads no hierarchy, so that no
        hierarchy edit or switch re-evaluates a view: the base codec (rate-distortion only), else
        the middle rate point of the first codec without a task term; None without CPIPS."""
        model = self.settings.get("cpips_model")
        if model != "auto":
            return model
        bases = self.training.base_models()
        if bases:
            return bases[0].id
        free = [m for m in self.models.values() if m.rate_point and m.hierarchy is None]
        if not free:
            return None
        codec = free[0].codec
        points = sorted((m for m in free if m.codec == codec), key=lambda m: int(m.rate_point[2:]))
        return points[len(points) // 2].id

    def cpips_checkpoint(self) -> list[str]:
        """The checkpoint whose analysis features CPIPS compares ([] without CPIPS)."""
        model = self.cpips_model_id()
        return [paths.checkpoint(model)] if model else []

    def views_settings(self, provider: dict, cpips: str | None = None) -> dict:
        """A views job's settings (evaluate/settings.py), as the JSON the job reads back."""
        keys = ("classifiers", "splits", "max_images", "reconstructions", "threads")
        settings = {"provider": provider, "view": self.view, **{k: self.settings[k] for k in keys}, "cpips": cpips}
        return ViewsSettings.from_dict(settings).to_dict()

    def anchor_provider(self, anchor: str) -> dict:
        if anchor == REFERENCE_CODEC:
            return {"kind": "reference"}
        return {"kind": "anchor", "name": anchor, "settings": self.settings["anchors"][anchor]}

    def learned_provider(self, model_id: str) -> dict:
        m = self.models[model_id]
        return {
            "kind": "learned",
            "codec": m.codec,
            "rate_point": m.rate_point,
            "layers_are_rate_points": m.layers_are_rate_points,
            "decoded": paths.decoded(m.id),
            "sizes": paths.sizes(m.id),
        }

    def anchor_views_settings(self, anchor: str) -> dict:
        return self.views_settings(self.anchor_provider(anchor))

    def learned_views_settings(self, model_id: str) -> dict:
        return self.views_settings(self.learned_provider(model_id), cpips=next(iter(self.cpips_checkpoint()), None))

    # -- tables ------------------------------------------------------------------------------
    def table_views_dirs(self, hierarchy: str) -> list[str]:
        """Every view folder a hierarchy's tables read: the anchors, and its learned models
        (a model trained without a hierarchy, a baseline, belongs in every hierarchy's tables)."""
        return [paths.anchor_views_dir(a) for a in ANCHOR_CODECS] + [
            m.views_dir for m in self.models.values() if m.hierarchy in (hierarchy, None)
        ]

    def table_inputs(self, hierarchy: str) -> list[str]:
        files = [f for d in self.table_views_dirs(hierarchy) for f in paths.view_files(d).values()]
        if self.cpips_checkpoint():
            files += [paths.anchor_cpips(a) for a in ANCHOR_CODECS]
        return files

    def table_settings(self) -> dict:
        """A tables job's settings (evaluate/settings.py), as the JSON the job reads back."""
        keys = ("bootstrap", "confidence", "bd_anchor")
        settings = {**{k: self.settings[k] for k in keys}, "seed": self.seed, "judge": self.judge}
        return TablesSettings.from_dict(settings).to_dict()

    def cpips_check_files(self) -> tuple[str, ...]:
        return CPIPS_CHECK_FILES if self.cpips_checkpoint() else ()

    # -- claims, headline, receiver ----------------------------------------------------------
    def claim_methods(self) -> list[str]:
        """Codecs trained with a task loss: each is tested against the ablation (claim.method first)."""
        methods = self.training.codecs_reading_hierarchy()
        return sorted(methods, key=lambda name: name != self.claim.get("method", "c2f"))

    def claims(self) -> list[tuple[str, str]]:
        """(hierarchy, method) pairs where the method and its ablation were trained, with a judge set."""
        if not self.settings.get("judge"):
            return []

        def trained(hierarchy: str) -> set:
            """Codecs with a model in this hierarchy's tables (one trained without any included)."""
            return {m.codec for m in self.models.values() if m.hierarchy in (hierarchy, None)}

        return [
            (h, method)
            for h in self.table_hierarchies()
            for method in self.claim_methods()
            if {method, self.ablation(method)} <= trained(h)
        ]

    def claim_targets(self) -> list[str]:
        return [paths.claim_file("claim.md", h, method) for h, method in self.claims()]

    def claims_of(self, hierarchy: str) -> list[str]:
        """The methods with a claim in this hierarchy's tables."""
        return [method for h, method in self.claims() if h == hierarchy]

    def ablation(self, method: str) -> str:
        """The codec a method is tested against: its own `ablation`, else evaluate.claim's."""
        return self.training.codecs[method].get("ablation") or self.claim["ablation"]

    def repeats(self, method: str) -> list[list[str]]:
        """(codec, its ablation) of every trained codec that is `method` with another seed: the
        same specification but for the keys a repeat may change (config/seeds.yaml)."""

        def recipe(name: str) -> dict:
            return {k: v for k, v in self.training.codecs[name].items() if k not in REPEAT_KEYS}

        def seed(name: str) -> int:
            own = self.training.codecs[name].get("seed")
            return self.seed if own is None else own

        return [
            [name, self.ablation(name)]
            for name in self.training.codecs
            if name != method
            and recipe(name) == recipe(method)
            and seed(name) != seed(method)
            and self.ablation(name) in self.training.codecs
        ]

    def claim_settings(self, method: str) -> dict:
        repeats = self.repeats(method)
        return (
            self.claim
            | ({"repeats": repeats} if repeats else {})
            | {
                "method": method,
                "ablation": self.ablation(method),
                "judge": self.settings["judge"],
                "seed": self.seed,
                "confidence": self.settings["confidence"],
            }
        )

    @property
    def headline_hierarchy(self) -> str:
        """The hierarchy whose tables give the headline: the first tabulated."""
        return self.table_hierarchies()[0]

    def headline_claims(self) -> list[str]:
        headline = self.headline_hierarchy
        return [paths.claim_file("claim.json", headline, method) for method in self.claims_of(headline)]

    def receiver_thresholds(self) -> list[float]:
        return list(self.settings["receiver"]["thresholds"])

    def targets(self) -> list[str]:
        hierarchies = self.table_hierarchies()
        return (
            [paths.HEADLINE_METRICS]
            + [paths.receiver_file("receiver.md", h) for h in hierarchies]
            + [paths.table(f, h) for h in hierarchies for f in TABLE_FILES + self.cpips_check_files()]
            + self.claim_targets()
        )

    # -- figures -----------------------------------------------------------------------------
    def figure_recon_dirs(self, hierarchy: str) -> list[str]:
        """The reconstruction grid reads the saved evaluation crops of every view folder."""
        return [paths.recon_dir(d) for d in self.table_views_dirs(hierarchy)]

    def training_logs(self, hierarchy: str) -> list[str]:
        """log.csv of every codec model in this hierarchy's tables (the training curves)."""
        return [paths.training_log(m.id) for m in self.training.codec_models() if m.hierarchy in (hierarchy, None)]

    def figure_claim_tables(self, hierarchy: str) -> list[str]:
        """The first claim's per-run and seed-averaged tables of a hierarchy ([] without a claim:
        the paired-difference figure then says so)."""
        methods = self.claims_of(hierarchy)
        if not methods:
            return []
        return [paths.claim_file(name, hierarchy, methods[0]) for name in ("claim_runs.csv", "claim_seeds.csv")]

    def overview_inputs(self) -> dict:
        """What the report's opening page shows: the headline hierarchy's rate-accuracy figure,
        its first claim and its training curves (each where the run has one)."""
        hierarchy = self.table_hierarchies()[0]
        inputs = {"figure": paths.figure("top1_vs_bpp.png", hierarchy)}
        methods = self.claims_of(hierarchy)
        if methods:
            inputs["claim"] = paths.claim_file("claim.md", hierarchy, methods[0])
        if self.training_logs(hierarchy):
            inputs["training"] = paths.figure("training_curves.png", hierarchy)
        return inputs

    def figure_targets(self) -> list[str]:
        hierarchies = self.table_hierarchies()
        targets = [
            paths.figure(f"{name}.{ext}", h) for h in hierarchies for name in FIGURE_NAMES for ext in ("png", "pdf")
        ]
        targets += [paths.figure(t, h) for h in hierarchies for t in ("summary.csv", "bd.csv")]
        targets += [paths.figure(f"receiver.{ext}", h) for h in hierarchies for ext in ("png", "pdf")]
        targets += [
            paths.figure(f"training_curves.{ext}", h)
            for h in hierarchies
            if self.training_logs(h)
            for ext in ("png", "pdf")
        ]
        return targets + [paths.REPORT_OVERVIEW]
