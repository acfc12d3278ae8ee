"""The names of the classifiers (classifiers.py builds them), importable without torch: the
command line lists them in `--help` without loading a network."""

CLASSIFIER_NAMES = (
    "efficientnet_lite0",
    "efficientnet_lite1",
    "efficientnet_lite2",
    "resnet50",
    "convnext_base",
    "mobilenet_v3_large",
    "vit_b_16",
)
