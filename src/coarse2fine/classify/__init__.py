from .classifiers import CLASSIFIERS, ClassifierUnavailable, load_classifier, resize_center_crop

__all__ = ["CLASSIFIERS", "ClassifierUnavailable", "load_classifier", "resize_center_crop"]
