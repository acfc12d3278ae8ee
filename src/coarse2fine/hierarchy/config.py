"""config/hierarchy.yaml: checks beyond the schema, and file paths shipped with the package.

The schema (src/coarse2fine/schemas/hierarchy.schema.yaml) checks types, names, enums and unknown keys
and fills defaults; `check_config` then checks what a schema cannot say: K strictly increasing,
unique names, and that `file` hierarchies match the ImageNet class list.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from coarse2fine.hierarchy.assignments import AssignmentsError, read_level_file
from coarse2fine.hierarchy.classes import NUM_CLASSES

METHODS = ("kmeans", "nested", "wordnet_depth", "file")
EMBEDDERS = ("minilm", "clip")
PACKAGE_PREFIX = "package:"


class HierarchyConfigError(ValueError):
    """A hierarchy entry of config/hierarchy.yaml that cannot be built as written."""


def resolve_path(path: str) -> Path:
    """`package:<relative path>` names a file under coarse2fine/resources; others are plain."""
    if path.startswith(PACKAGE_PREFIX):
        return Path(str(resources.files("coarse2fine").joinpath("resources", path[len(PACKAGE_PREFIX) :])))
    return Path(path)


def check_hierarchy(spec: dict) -> dict:
    """Check one (schema-validated) hierarchy entry; returns it unchanged."""
    name = spec.get("name", "<unnamed>")
    where = f"hierarchy {name!r}"
    if spec.get("method") not in METHODS:
        raise HierarchyConfigError(f"{where}: unknown method {spec.get('method')!r} (known: {', '.join(METHODS)})")
    if spec.get("embedder", "minilm") not in EMBEDDERS:
        raise HierarchyConfigError(
            f"{where}: unknown embedder {spec.get('embedder')!r} (known: {', '.join(EMBEDDERS)})"
        )
    ks = list(spec.get("ks", [10, 100]))
    if not 1 <= len(ks) <= 3:
        raise HierarchyConfigError(f"{where}: ks must hold 1 to 3 values, got {ks}")
    if any(k >= NUM_CLASSES for k in ks):
        raise HierarchyConfigError(f"{where}: every K in ks must be below the {NUM_CLASSES} classes, got {ks}")
    if any(k < 2 for k in ks):
        raise HierarchyConfigError(f"{where}: every K in ks must be at least 2, got {ks}")
    if any(b <= a for a, b in zip(ks, ks[1:])):
        raise HierarchyConfigError(f"{where}: ks must be strictly increasing (coarse to fine), got {ks}")
    if len(set(spec.get("seeds", range(5)))) < 5:
        raise HierarchyConfigError(f"{where}: seeds needs at least 5 distinct values for the stability measure")
    if "{}" not in spec.get("prompt", "{}"):
        raise HierarchyConfigError(f"{where}: prompt must contain '{{}}' for the class name")
    if spec["method"] == "file":
        paths = spec.get("paths") or []
        if len(paths) != len(ks):
            raise HierarchyConfigError(
                f"{where}: method file needs one path per level of ks={ks}, got {len(paths)} paths"
            )
        missing = [p for p in paths if not resolve_path(p).is_file()]
        if missing:
            raise HierarchyConfigError(f"{where}: file(s) not found: {', '.join(missing)}")
        for path, k in zip(paths, ks):
            try:
                read_level_file(resolve_path(path), expected_k=k)
            except AssignmentsError as exc:
                raise HierarchyConfigError(f"{where}: {exc}") from exc
    elif spec.get("paths"):
        raise HierarchyConfigError(f"{where}: paths is only for method file, not {spec['method']}")
    return spec


def build_settings(spec: dict) -> dict:
    """The settings that determine a hierarchy's outputs (a rule's param): keys that do not
    apply to its method are dropped, so that editing them reruns nothing."""
    keep = {"name", "method", "ks"}
    if spec["method"] in ("kmeans", "nested"):
        keep |= {"embedder", "prompt", "n_init"} | ({"clip"} if spec.get("embedder") == "clip" else set())
    elif spec["method"] == "wordnet_depth":
        keep |= {"wordnet_cut"}
    elif spec["method"] == "file":
        keep |= {"paths"}
    # Every method uses the first seed for its random-partition baseline.
    settings = {k: v for k, v in spec.items() if k in keep}
    settings["seeds"] = list(spec.get("seeds", [0, 1, 2, 3, 4]))
    return settings


def check_config(config: dict) -> dict:
    """Check a whole (schema-validated) hierarchy config; returns it unchanged."""
    hierarchies = config.get("hierarchies") or []
    if not hierarchies:
        raise HierarchyConfigError("config/hierarchy.yaml: `hierarchies` lists no hierarchy")
    names = [h.get("name") for h in hierarchies]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise HierarchyConfigError(f"hierarchy names must be unique; repeated: {', '.join(duplicates)}")
    for spec in hierarchies:
        check_hierarchy(spec)
    return config


def by_name(config: dict, path: str | Path = "config/hierarchy.yaml") -> dict:
    """`hierarchies` as a mapping from name to entry (what config/hierarchy.yaml ships, so
    `dvc exp run -S 'config/hierarchy.yaml:hierarchies.<name>.<key>=<value>'` addresses an entry by
    its name, not by its place in a list) turned into the list of entries with their `name` that
    the schema and the rest of the code read. A list is taken as it is."""
    entries = config.get("hierarchies")
    if not isinstance(entries, dict):
        return config
    listed = []
    for name, spec in entries.items():
        spec = dict(spec or {})
        if spec.get("name", name) != name:
            raise HierarchyConfigError(
                f"{path}: hierarchies.{name} says name: {spec['name']}; drop the name or make it {name}"
            )
        if "method" not in spec:
            known = ", ".join(n for n, s in entries.items() if s and "method" in s)
            raise HierarchyConfigError(
                f"{path}: hierarchies.{name} has no method: no hierarchy is named {name!r} (names: {known}); "
                "a `-S` or an edit that names a hierarchy that does not exist adds one with only the keys it sets"
            )
        listed.append({"name": name, **spec})
    return {**config, "hierarchies": listed}


def load_config(path: str | Path, schema: str | Path | None = None) -> dict:
    """Read, schema-validate (filling defaults) and check a hierarchy config file."""
    with open(path, encoding="utf-8") as f:
        config = by_name(yaml.safe_load(f) or {}, path)
    if schema is not None:
        from snakemake.utils import validate

        validate(config, str(schema))
    return check_config(config)
