"""Training jobs: the shared rate-distortion warm-up and the (codec, hierarchy, rate point)
fine-tunes, with atomic resumable checkpoints, CSV logs and DDP under torchrun.

The package itself holds only what needs no torch: a job's settings (`settings.py`), which the
study plan builds without loading a model. The loop is `training.loop.train`, checkpoints
`training.checkpoint`."""

from .settings import SettingsError, TrainSettings

__all__ = ["SettingsError", "TrainSettings"]
