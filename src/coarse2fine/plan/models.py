"""A trained model of the study and where its files live."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

from . import paths


@dataclass(frozen=True)
class Model:
    """`id` is its folder under results/checkpoints; `codec` the name its tables show;
    `hierarchy` None for a model trained without one (evaluated against every hierarchy);
    `layers_are_rate_points` (keyword-only): its stream's segments are rate points, not semantic levels."""

    id: str
    codec: str
    hierarchy: str | None
    rate_point: str | None
    _: KW_ONLY
    layers_are_rate_points: bool

    @property
    def checkpoint(self) -> str:
        return paths.checkpoint(self.id)

    @property
    def bitstream_dir(self) -> str:
        return paths.bitstream_dir(self.id)

    @property
    def views_dir(self) -> str:
        return paths.learned_views_dir(self.id)
