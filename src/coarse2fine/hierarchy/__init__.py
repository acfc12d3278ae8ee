"""Semantic hierarchies over the ImageNet-1K classes (config/hierarchy.yaml drives them).

Downstream stages read a built hierarchy with `load_hierarchy(results/hierarchy/<name>/assignments.csv)`.
"""

from coarse2fine.hierarchy.assignments import Hierarchy, load_hierarchy

__all__ = ["Hierarchy", "load_hierarchy"]
