"""The whole plan: the stages of the data's journey, the checks across them, their targets."""

from __future__ import annotations

from pathlib import Path

from . import paths
from .config import load_hierarchy_config, load_study_config
from .confirmation import ConfirmationPlan
from .evaluation import EvaluationPlan
from .hierarchy import HierarchyPlan
from .resources import MEM_MB, TRAINING_JOBS, VIEWS_JOBS, cluster_resources
from .training import TrainingPlan

# The stages in order; `snakemake stage_<name>` builds one (what dvc.yaml's stages run).
STAGES = ("data", "hierarchy", "training", "coding", "evaluate", "figures")


class StudyPlan:
    """Built from a validated config (and the hierarchy config it names); raises a ValueError
    that names the setting for a plan that cannot work."""

    def __init__(self, config: dict, hierarchy_config: dict):
        self.config = config
        self.dataset = config["dataset"]["name"]
        self.manifest = paths.manifest(self.dataset)
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

    def threads(self, job: str) -> int:
        """A training job's threads (`base`, `finetune`: train.resources) or a views job's
        (`anchor_views`, `learned_views`: evaluate.threads)."""
        if job in TRAINING_JOBS:
            return self.training.resources(job)["threads"]
        if job in VIEWS_JOBS:
            return self.evaluation.settings["threads"]
        raise ValueError(f"no threads for job {job!r}; jobs: {', '.join(TRAINING_JOBS + VIEWS_JOBS)}")

    def resources(self, job: str) -> dict:
        """A rule's `resources:`: what Slurm is asked for (CPUs, memory, runtime, GPUs), whatever
        --cores the submit host has (resources.py, cluster_resources). Jobs not sized by the config
        (`coding`, `tables`) ask for memory alone."""
        if job in TRAINING_JOBS:
            wanted = self.training.resources(job)
            return cluster_resources(wanted["threads"], wanted["mem_mb"], wanted["runtime"], wanted["gpus"])
        if job in VIEWS_JOBS:
            return cluster_resources(self.threads(job), MEM_MB[job])
        return {"mem_mb": MEM_MB[job]}

    def stage_targets(self, stage: str) -> list[str]:
        if stage == "data":
            return [self.manifest]
        if stage == "hierarchy":
            return [paths.CLASS_LIST] + self.hierarchy.targets()
        if stage == "training":
            return self.training.targets()
        if stage == "coding":
            return self.training.coding_targets()
        if stage == "evaluate":
            return self.evaluation.targets()
        if stage == "figures":
            return self.evaluation.figure_targets() + [paths.REPORT_HIERARCHY_OVERVIEW]
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")

    def all_targets(self) -> list[str]:
        """What `rule all` builds: every stage's final files."""
        return [target for stage in STAGES for target in self.stage_targets(stage)]
