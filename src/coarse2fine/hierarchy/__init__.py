"""Semantic hierarchies over the ImageNet-1K classes (config/hierarchy.yaml drives them).

Downstream stages read a built hierarchy with `load_hierarchy(results/hierarchy/<name>/assignments.csv)`.
"""

__all__ = ["Hierarchy", "load_hierarchy"]


def __getattr__(name: str):
    """`Hierarchy` and `load_hierarchy` load assignments.py (and pandas) when first read: a module
    that needs only the class count (the codec's loss) does not pay for them."""
    if name in __all__:
        from coarse2fine.hierarchy import assignments

        return getattr(assignments, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
