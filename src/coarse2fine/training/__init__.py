"""Training jobs: the shared rate-distortion warm-up and the (codec, hierarchy, rate point)
fine-tunes, with atomic resumable checkpoints, CSV logs and DDP under torchrun."""

from .checkpoint import CheckpointMismatch, load_codec_with_meta
from .loop import resume_path, train
from .settings import SettingsError, TrainSettings

__all__ = ["CheckpointMismatch", "SettingsError", "TrainSettings", "load_codec_with_meta", "resume_path", "train"]
