"""The evaluation jobs' settings, typed, as training's are (training/settings.py).

The plan builds them from the validated config (plan/evaluation.py) and passes them to a job as
JSON; the job reads them back with `from_dict`, which fills an absent key with the default the
config schema declares (`evaluate.<key>`: no default is written twice) and refuses an unknown
key by name. Allowed values (a classifier's name, a split, an anchor) are checked once, where the
config enters (the schema, then the plan); these classes check only that each value has its type.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from coarse2fine.config_schema import schema_default
from coarse2fine.errors import SettingsError


def _check_keys(cls, data: dict[str, Any]) -> None:
    if not isinstance(data, dict):
        raise SettingsError(f"{cls.__name__}: settings must be a mapping, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(f"{cls.__name__}: unknown settings {unknown} (known: {', '.join(sorted(known))})")


def _value(data: dict[str, Any], key: str):
    """The setting as given, else the config schema's default for `evaluate.<key>`."""
    return data[key] if key in data else schema_default(f"evaluate.{key}")


def _optional_int(value, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"{name}: expected an integer or null, got {value!r}")
    return value


def _int(value, name: str) -> int:
    if _optional_int(value, name) is None:
        raise SettingsError(f"{name}: expected an integer, got null")
    return value


def _names(value, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"{name}: expected a list of names, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class ViewsSettings:
    """One views job: which views (`provider`, evaluate/views/providers), of which images
    (`splits`, at most `max_images` spread over them), scored by which `classifiers`, in which
    study `view` (imaging/view.py), with CPIPS from the `cpips` checkpoint if given."""

    # in the order the plan has always written them (a job's command line is its settings' JSON)
    provider: dict
    view: dict | None
    classifiers: tuple[str, ...]
    splits: tuple[str, ...]
    max_images: int | None
    reconstructions: int
    threads: int
    cpips: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ViewsSettings":
        _check_keys(cls, data)
        provider = data.get("provider")
        if not isinstance(provider, dict):
            raise SettingsError(f"ViewsSettings.provider: expected a mapping with a 'kind', got {provider!r}")
        splits = _names(_value(data, "splits"), "ViewsSettings.splits")
        if "train" in splits:
            raise SettingsError("ViewsSettings.splits: the train split is used for training and is never evaluated")
        return cls(
            provider=provider,
            classifiers=_names(_value(data, "classifiers"), "ViewsSettings.classifiers"),
            splits=splits,
            max_images=_optional_int(_value(data, "max_images"), "ViewsSettings.max_images"),
            reconstructions=_int(_value(data, "reconstructions"), "ViewsSettings.reconstructions"),
            threads=_int(_value(data, "threads"), "ViewsSettings.threads"),
            view=data.get("view"),
            cpips=data.get("cpips") or None,
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["classifiers"], out["splits"] = list(self.classifiers), list(self.splits)
        return {k: v for k, v in out.items() if not (k == "cpips" and v is None)}


@dataclass(frozen=True)
class TablesSettings:
    """One hierarchy's tables: the paired bootstrap (`bootstrap` resamples, `confidence`,
    `seed`), the BD anchor (`bd_anchor`, None for none) and the `judge` (None: the first
    classifier present)."""

    bootstrap: int
    confidence: float
    bd_anchor: str | None
    seed: int  # absent: the study's seed (the schema's `seed`)
    judge: str | None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TablesSettings":
        _check_keys(cls, data)
        confidence = _value(data, "confidence")
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
            raise SettingsError(f"TablesSettings.confidence: expected a number in (0, 1), got {confidence!r}")
        for key in ("bd_anchor", "judge"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise SettingsError(f"TablesSettings.{key}: expected a name or null, got {data[key]!r}")
        return cls(
            bootstrap=_int(_value(data, "bootstrap"), "TablesSettings.bootstrap"),
            confidence=float(confidence),
            bd_anchor=_value(data, "bd_anchor"),
            seed=_int(data.get("seed", schema_default("seed")), "TablesSettings.seed"),
            judge=data.get("judge"),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
