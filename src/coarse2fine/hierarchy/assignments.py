"""Hierarchy assignments: the CSV layout every stage reads, and the one loader for it.

assignments.csv: one row per class (class_idx 0..999 in order), columns class_idx, wnid, label,
method, then one cluster column per coarse level, `level_1` (coarsest) ... `level_L`; the
finest level, the classes themselves, is implicit. Cluster ids are 0..K-1, numbered in order of
first appearance along the class list so that equal partitions give equal columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from coarse2fine.hierarchy.classes import NUM_CLASSES, class_table


class AssignmentsError(ValueError):
    """An assignments file that does not describe a partition of the 1000 classes."""


@dataclass
class Hierarchy:
    """Cluster ids of the 1000 classes per coarse level, coarse to fine."""

    name: str
    ks: list[int]
    level_maps: list[np.ndarray]
    labels: list[str] = field(default_factory=list, repr=False)
    # Per level, per cluster: class indices from most to least typical (summary.json).
    typical: list[list[list[int]]] | None = field(default=None, repr=False)

    @property
    def num_levels(self) -> int:
        """Coarse levels plus the finest one (the classes)."""
        return len(self.ks) + 1

    def cluster_names(self, level: int) -> list[str]:
        """A readable name per cluster of coarse level `level` (0 = coarsest): its 3 most
        typical class labels joined; level num_levels - 1 names the classes themselves."""
        if level == len(self.ks):
            return list(self.labels)
        if not 0 <= level < len(self.ks):
            raise IndexError(f"level {level} out of range 0..{len(self.ks)}")
        names = []
        for cluster in range(self.ks[level]):
            members = (
                self.typical[level][cluster]
                if self.typical
                else np.flatnonzero(self.level_maps[level] == cluster).tolist()
            )
            names.append(", ".join(self.labels[i] for i in members[:3]))
        return names


def canonical_ids(assignment) -> np.ndarray:
    """Renumber cluster ids 0..K-1 by first appearance along the class order."""
    _, first, inverse = np.unique(np.asarray(assignment), return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse].astype(np.int64)


def level_columns(num_coarse_levels: int) -> list[str]:
    return [f"level_{i + 1}" for i in range(num_coarse_levels)]


def write_assignments(path: str | Path, level_maps: list[np.ndarray], method: str) -> pd.DataFrame:
    table = class_table()[["class_idx", "wnid", "label"]].copy()
    table["method"] = method
    for column, level in zip(level_columns(len(level_maps)), level_maps):
        table[column] = canonical_ids(level)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return table


def read_table(path: str | Path) -> pd.DataFrame:
    """A hierarchy CSV, or an AssignmentsError naming the file and what is wrong with it."""
    path = Path(path)
    if path.is_dir():
        raise AssignmentsError(f"{path}: is a directory, not a CSV file")
    if not path.is_file():
        raise AssignmentsError(f"{path}: no such file")
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError as exc:
        raise AssignmentsError(f"{path}: empty file") from exc
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise AssignmentsError(f"{path}: not a readable CSV ({exc.__class__.__name__}: {str(exc)[:200]})") from exc


def integer_column(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """A column of whole numbers as int64; floats such as 3.5, text or blanks are named, never
    truncated."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() | (values != values.round())
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise AssignmentsError(
            f"{source}: {column} must hold whole numbers; row {i + 2} holds {frame[column].iloc[i]!r}"
        )
    return values.to_numpy(dtype=np.int64)


def _check_classes(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Rows must be the 1000 classes, once each, with the wnids of our class list."""
    missing_cols = {"class_idx", "wnid"} - set(frame.columns)
    if missing_cols:
        raise AssignmentsError(f"{source}: missing column(s) {', '.join(sorted(missing_cols))}")
    frame = frame.assign(class_idx=integer_column(frame, "class_idx", source))
    if frame["class_idx"].duplicated().any():
        dup = frame.loc[frame["class_idx"].duplicated(), "class_idx"].tolist()[:5]
        raise AssignmentsError(f"{source}: class_idx repeated, e.g. {dup}")
    missing = sorted(set(range(NUM_CLASSES)) - set(frame["class_idx"].tolist()))
    if missing:
        raise AssignmentsError(f"{source}: {len(missing)} class(es) missing, e.g. class_idx {missing[:5]}")
    extra = sorted(set(frame["class_idx"].tolist()) - set(range(NUM_CLASSES)))
    if extra:
        raise AssignmentsError(f"{source}: class_idx outside 0..{NUM_CLASSES - 1}: {extra[:5]}")
    frame = frame.sort_values("class_idx").reset_index(drop=True)
    expected = class_table()["wnid"]
    wrong = frame.index[frame["wnid"].astype(str) != expected].tolist()
    if wrong:
        i = wrong[0]
        raise AssignmentsError(
            f"{source}: {len(wrong)} wnid(s) do not match the ImageNet class list, e.g. class_idx {i}: "
            f"{frame.loc[i, 'wnid']} (expected {expected[i]})"
        )
    return frame


def read_level_file(path: str | Path, expected_k: int | None = None) -> np.ndarray:
    """One level from a CSV in the paper's layout (class_idx, wnid, ..., cluster_id)."""
    frame = read_table(path)
    if "cluster_id" not in frame.columns:
        raise AssignmentsError(f"{path}: missing column cluster_id")
    frame = _check_classes(frame, str(path))
    if frame["cluster_id"].isna().any():
        raise AssignmentsError(f"{path}: cluster_id is empty for some classes")
    level = canonical_ids(integer_column(frame, "cluster_id", str(path)))
    if expected_k is not None and level.max() + 1 != expected_k:
        raise AssignmentsError(f"{path}: holds {level.max() + 1} clusters, but ks asks for {expected_k}")
    return level


def load_hierarchy(path: str | Path) -> Hierarchy:
    """Load results/hierarchy/<name>/assignments.csv (summary.json beside it, if present, names
    the clusters by their most typical classes)."""
    path = Path(path)
    frame = _check_classes(read_table(path), str(path))
    columns = sorted((c for c in frame.columns if c.startswith("level_")), key=lambda c: int(c.split("_")[1]))
    if not columns:
        raise AssignmentsError(f"{path}: no level_<n> cluster columns")
    if columns != level_columns(len(columns)):
        raise AssignmentsError(f"{path}: level columns must be level_1..level_{len(columns)}, got {columns}")
    level_maps = []
    for column in columns:
        level = integer_column(frame, column, str(path))
        if level.min() < 0 or set(np.unique(level)) != set(range(level.max() + 1)):
            raise AssignmentsError(f"{path}: {column} ids are not 0..K-1")
        level_maps.append(level)
    typical = None
    summary_path = path.with_name("summary.json")
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text())
            typical = [[[int(i) for i in c["typical_class_idx"]] for c in lvl["clusters"]] for lvl in summary["levels"]]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise AssignmentsError(
                f"{summary_path}: not a hierarchy summary ({exc.__class__.__name__}: {exc}); "
                "rebuild the hierarchy or remove the file"
            ) from exc
        if len(typical) != len(level_maps) or any(len(t) != int(m.max()) + 1 for t, m in zip(typical, level_maps)):
            raise AssignmentsError(f"{summary_path}: its levels and clusters do not match {path}")
    return Hierarchy(
        name=path.parent.name,
        ks=[int(level.max() + 1) for level in level_maps],
        level_maps=level_maps,
        labels=frame["label"].astype(str).tolist() if "label" in frame else class_table()["label"].tolist(),
        typical=typical,
    )
