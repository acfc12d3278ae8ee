"""The frozen classifiers (classifiers.py) and prob-sum predictions per level (levels.py).

The classifiers' names are read from the package lazily: a job that only predicts from stored
logits (tables, claims, the receiver's table) imports levels.py alone and never torch."""

__all__ = [
    "CLASSIFIERS",
    "ClassifierUnavailable",
    "classifier_view",
    "load_classifier",
    "load_quietly",
    "resize_center_crop",
]


def __getattr__(name: str):
    if name in __all__:
        from . import classifiers

        return getattr(classifiers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
