"""The study's view: one rule for what is coded and what the classifier sees, in training and in
scoring (imaging/view.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from coarse2fine.evaluate.views.measure import classify_views
from coarse2fine.evaluate.views.providers import DecodedView
from coarse2fine.imaging.photos import image_to_tensor
from coarse2fine.imaging.view import StudyView, open_view
from coarse2fine.models import C2FLoss
from coarse2fine.training.data import ViewDataset
from test_training import make_dataset


class RecordingClassifier(nn.Module):
    """Stands in for a classifier: records every input, answers uniform logits."""

    def __init__(self, input_size: int):
        super().__init__()
        self.input_size, self.seen = input_size, []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return torch.zeros(x.shape[0], 1000, requires_grad=x.requires_grad) + 0 * x.mean()


def test_view_squashes_the_whole_photo_and_crops_the_centre_for_the_classifier():
    photo = Image.new("RGB", (300, 200), (10, 20, 30))
    photo.paste((250, 0, 0), (0, 0, 150, 200))  # left half red
    view = StudyView(64, 0.875)
    coded = view.image(photo)
    assert coded.size == (64, 64)
    array = np.asarray(coded)
    assert array[:, :30, 0].min() > 240 and array[:, 34:, 0].max() < 20  # whole photo, squashed
    x = image_to_tensor(coded)
    crop = view.classifier_input(x, 56)
    assert crop.shape == (1, 3, 56, 56) and torch.equal(crop, x[..., 4:60, 4:60])  # centre 56 of 64, as is
    assert view.classifier_input(x, 224).shape == (1, 3, 224, 224)
    # native resolution: the standard ImageNet view (centre square of 0.875 of the shorter side)
    native = StudyView(None).classifier_input(image_to_tensor(photo), 224)
    assert native.shape == (1, 3, 224, 224)
    with pytest.raises(ValueError, match="view size"):
        StudyView(8)
    with pytest.raises(ValueError, match="unknown view settings"):
        StudyView.from_settings({"size": 64, "crop": 0.9})


def test_the_loss_and_the_evaluation_hand_the_classifier_the_same_view(tmp_path):
    manifest = make_dataset(tmp_path)
    view = StudyView(64, 0.875)
    data = ViewDataset(manifest, view=view, scale=(1.0, 1.0), seed=3)
    # the training batch's picture at scale 1 is the evaluation's picture of the same photo
    evaluated = image_to_tensor(open_view(data.paths[0], view))
    trained = next(x for x, _ in (data[(0, e)] for e in range(20)) if torch.equal(x, evaluated[0]))

    classifier = RecordingClassifier(48)
    classes = np.arange(1000)
    loss = C2FLoss(
        [1e-3] * 3,
        [1.0] * 3,
        [1.0] * 3,
        classifier=classifier,
        level_maps=[classes % 10, classes % 100],
        classifier_size=48,
        view=view,
    )
    loss.task_terms(trained[None], torch.tensor([1]), 0)
    classify_views([DecodedView("x", "rp", 1, evaluated, 10)], {"rec": classifier}, view)
    in_loss, in_evaluation = classifier.seen
    assert in_loss.shape == (1, 3, 48, 48) and torch.equal(in_loss, in_evaluation)
