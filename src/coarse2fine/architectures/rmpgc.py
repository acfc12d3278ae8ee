"""RMPGC's options (the keyword arguments of RMPGC, codec.py): torch-free, so the workflow
checks a config's RMPGC architecture at start-up (architectures/schema.py)."""

from __future__ import annotations

from coarse2fine.errors import ArchitectureError

from .options import BACKBONE_PROPERTIES, MAX_LATENT_CHANNELS, flag, integer, number

RMPGC_OPTIONS = {
    **BACKBONE_PROPERTIES,
    "target_bpp": {
        "type": "array",
        "items": {"type": "number", "exclusiveMinimum": 0, "maximum": 64},
        "minItems": 1,
        "maxItems": 16,
        "description": "cumulative rate of each segment, rising",
    },
    "classifier": {"type": "string", "description": "classifier whose Grad-CAM++ ranks the positions"},
    "importance": {
        "enum": ["paper", "continuous"],
        "description": "paper: Eq. 12, I = (1 + e) B + sigmoid(v) (1 - B) with B the Otsu-binarised saliency e; "
        "continuous: B the saliency itself and e the constant complexity_weight (the earlier reading)",
    },
    "complexity_weight": number(0, 1e3, description="the constant e of importance: continuous (unused by paper)"),
    "feature_weight": number(
        0,
        1e3,
        description="lambda_SFM, the weight of the semantic feature-matching loss (default 0.05; the paper's "
        "section V-H uses 1, its sections V-D and V-F 10)",
    ),
    "feature_layers": {
        "enum": ["pyramid", "last"],
        "description": "feature matching on the classifier's maps at 1/2, 1/4, 1/8, 1/16 of its input weighted "
        "1/32 .. 1/4 (the paper's four VGG16 layers and weights), or on its last map only",
    },
    # true is refused by the constructor: the GAN term is not implemented
    "gan": flag("RMPGC's optional GAN term (not implemented: false only)"),
    "train_fractions": {
        "type": ["array", "null"],
        "items": number(0, 1),
        "maxItems": 16,
        "description": "fraction of positions coded per segment in training (null: from target_bpp)",
    },
    "train_jitter": number(0, 1, description="random jitter of the training fractions"),
    "classifier_size": integer(
        32, 1024, nullable=True, description="side of the view Grad-CAM++ sees (null: the classifier's input)"
    ),
    "base_channels": integer(
        0,
        MAX_LATENT_CHANNELS - 1,
        description="C_b: channels coded at every position in segment 1 "
        "(the paper's base layer); the rest are masked by importance. 0: every channel masked",
    ),
    "train_conditions": {
        "enum": ["fractions", "paper"],
        "description": "the decoder's training masks: nested masks at jittered fractions of the target rates, "
        "or the paper's three conditions U = 0 (base layer), B (salient positions), 1 (whole latent), one "
        "lambda each",
    },
    "conditioned_decoder": flag("the decoder told which positions' enhancement channels it holds (U)"),
    "loss_normalisation": {
        "enum": ["none", "running_mean"],
        "description": "none (default): the loss terms as they are; running_mean: each level's rate and MSE and the "
        "feature-matching term divided by the mean of its own history before its weight, as the paper's section V-A "
        "regularises every term by its historical mean",
    },
    "entropy_models": {
        "enum": ["shared", "separate"],
        "description": "shared (default): one mean-scale hyperprior for every latent channel; separate: two "
        "independent ones, for the base and for the enhancement channels (the paper's section V-H; needs "
        "base_channels > 0)",
    },
}


def check_rmpgc(config: dict, where: str) -> None:
    """The base layer leaves channels to mask (a smaller M in an overlay with the default's C_b),
    and two entropy models have a base layer to model."""
    m = config.get("M", 96)
    if not config.get("base_channels", 0) < m:
        raise ArchitectureError(f"{where}.base_channels: {config['base_channels']} must be below M = {m}")
    if config.get("entropy_models", "shared") == "separate" and not config.get("base_channels", 0):
        raise ArchitectureError(
            f"{where}.entropy_models: separate needs base_channels > 0 (a base layer to model apart)"
        )
