"""The study plan: which jobs the configuration asks for, each job's settings, and its paths.

Built from the two configuration files (config/config.yaml or an overlay, and the hierarchy
config it names), without Snakemake: the rule files ask it for their inputs, params and
targets, and tests ask it directly (tests/test_plan.py). One class per stage of the data's
journey, composed by `StudyPlan`:

    hierarchy.py   which hierarchies are built, their embedding caches and build settings
    training.py    the models (fine-tunes, baselines, bases), their training settings, the bases'
                   sources, the coded models
    evaluation.py  view folders, provider specs, tables, claims, headline, receiver, figures
    study.py       the whole plan: the cross-stage checks and the targets of every stage
"""

from .config import load_study_config
from .models import Model
from .study import STAGES, StudyPlan

__all__ = ["STAGES", "Model", "StudyPlan", "load_study_config"]
