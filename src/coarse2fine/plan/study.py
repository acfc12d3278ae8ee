"""The whole plan: the stages of the data's journey, the checks across them, their targets."""

from __future__ import annotations

from pathlib import Path

from .config import load_hierarchy_config, load_study_config
from .confirmation import ConfirmationPlan
from .evaluation import EvaluationPlan
from .hierarchy import CLASS_LIST, HierarchyPlan
from .training import TrainingPlan

# The stages in order; `snakemake stage_<name>` builds one (what dvc.yaml's stages run).
STAGES = ("data", "hierarchy", "training", "coding", "evaluate", "figures")


class StudyPlan:
    """Built from a validated config (and the hierarchy config it names); raises a ValueError
    that names the setting for a plan that cannot work."""

    def __init__(self, config: dict, hierarchy_config: dict):
        self.config = config
        self.dataset = config["dataset"]["name"]
        self.manifest = f"data/{self.dataset}/manifest.csv"
        self.hierarchy = HierarchyPlan(config, hierarchy_config)
        self.training = TrainingPlan(config, self.hierarchy)
        self.evaluation = EvaluationPlan(config, self.training, self.hierarchy)
        self.confirmation = ConfirmationPlan(config, self.evaluation)
        self._check_judge()

    @classmethod
    def from_files(cls, *config_files: str | Path, root: str | Path = ".") -> "StudyPlan":
        """The plan of `snakemake --configfile <config_files>` run in `root`."""
        config = load_study_config(*(Path(root, f) for f in config_files))
        return cls(config, load_hierarchy_config(Path(root, config["hierarchy"]["config"])))

    def _check_judge(self) -> None:
        """The classifier that scores the claim must not have trained the codecs nor labelled
        the photos (teacher labels of the sample and folder datasets)."""
        evaluate = self.config.get("evaluate", {})
        judge = evaluate.get("judge")
        parties = {
            self.config.get("train", {}).get("classifier", "efficientnet_lite0"): "train.classifier (the task loss)"
        }
        if self.config["dataset"]["kind"] != "imagenet":
            parties[self.config["dataset"].get("teacher", "efficientnet_lite0")] = (
                "dataset.teacher (labelled the photos)"
            )
        if judge and judge not in evaluate.get("classifiers", [judge]):
            raise ValueError(
                f"evaluate.judge {judge} is not among evaluate.classifiers "
                f"{evaluate['classifiers']}: add it there, or name one of them"
            )
        if judge in parties:
            raise ValueError(
                f"evaluate.judge {judge} is also {parties[judge]}: the judge must be independent; "
                f"name another classifier of evaluate.classifiers"
            )

    def stage_targets(self, stage: str) -> list[str]:
        if stage == "data":
            return [self.manifest]
        if stage == "hierarchy":
            return [CLASS_LIST] + self.hierarchy.targets()
        if stage == "training":
            return self.training.targets()
        if stage == "coding":
            return self.training.coding_targets()
        if stage == "evaluate":
            return self.evaluation.targets()
        if stage == "figures":
            return self.evaluation.figure_targets() + ["results/figures/hierarchy_overview.png"]
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")

    def all_targets(self) -> list[str]:
        """What `rule all` builds: every stage's final files."""
        return [target for stage in STAGES for target in self.stage_targets(stage)]
