"""Training jobs: settings, the step-ordered data, checkpoints (atomic, safe, checked), a tiny
warm-up + fine-tune through the real codec and loss, and the quick likelihood evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from coarse2fine.data.manifest import sha256_file, write_manifest
from coarse2fine.imaging.view import StudyView
from coarse2fine.training import SettingsError, TrainSettings
from coarse2fine.training import checkpoint as ckpt
from coarse2fine.training.checkpoint import CheckpointMismatch, load_codec_with_meta
from coarse2fine.training.data import StepSampler, ViewDataset
from coarse2fine.training.loop import resume_path, train

TINY_CODEC = {
    "name": "c2f",
    "backbone": "conv",
    "N": 8,
    "M": 12,
    "level_blocks": [4, 4, 4],
    "slices_per_block": 1,
    "delta": True,
}


def tiny_settings(**overrides) -> TrainSettings:
    base = dict(
        codec=TINY_CODEC,
        lambdas=[1e-3, 1e-2, 1e-1],
        mse_weights=[0.33, 0.67, 1.0],
        task_weights=[0.0, 0.0, 0.0],
        steps=4,
        batch_size=2,
        view=64,
        lr=1e-3,
        classifier=None,
        classifier_size=64,
        checkpoint_every=2,
        log_every=2,
        threads=1,
        cache_images=True,
    )
    return TrainSettings.from_dict({**base, **overrides})


def make_dataset(root: Path, sizes=((96, 80), (70, 50), (128, 128), (64, 100))) -> Path:
    """A manifest over a few synthetic photos (smooth colour fields plus noise) of several
    sizes and aspects, one smaller than the view so the upsampling path runs."""
    rng = np.random.default_rng(0)
    rows = []
    for i, (w, h) in enumerate(sizes):
        yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
        image = np.stack([np.sin(6 * xx + i), np.cos(4 * yy), xx * yy], -1) * 100 + 128
        image = np.clip(image + rng.normal(0, 10, image.shape), 0, 255).astype(np.uint8)
        path = root / "images" / f"img{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path)
        rows.append(
            {
                "path": f"images/img{i}.png",
                "sha256": sha256_file(path),
                "width": w,
                "height": h,
                "label_idx": [1, 207, 409, 950][i % 4],
                "label_source": "ground_truth",
                "split": "val" if i == len(sizes) - 1 else "train",
                "source": "synthetic",
            }
        )
    manifest = root / "manifest.csv"
    write_manifest(pd.DataFrame(rows), manifest, root)
    return manifest


def make_hierarchy(path: Path) -> Path:
    from coarse2fine.hierarchy.assignments import write_assignments

    classes = np.arange(1000)
    write_assignments(path, [classes % 10, classes % 100], "test")
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data"))


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def test_settings_need_one_value_per_level():
    with pytest.raises(SettingsError, match="task_weights has 2 entries but lambdas has 3"):
        tiny_settings(task_weights=[0.5, 1.0])
    with pytest.raises(SettingsError, match="unknown training settings"):
        TrainSettings.from_dict({**tiny_settings().to_dict(), "lamdbas": [1]})
    with pytest.raises(SettingsError, match="need a classifier"):
        tiny_settings(task_weights=[0.5, 1.0, 2.0], classifier=None)
    settings = tiny_settings(steps=100, lr=1.0)
    assert [settings.lr_at(s, 1.0) for s in (0, 69, 70, 89, 90, 99)] == pytest.approx([1, 1, 0.2, 0.2, 0.04, 0.04])


def test_batches_depend_on_the_step_alone():
    full = list(StepSampler(10, 3, 0, 9, seed=5))
    tail = list(StepSampler(10, 3, 4, 9, seed=5))
    assert tail == full[4 * 3 :]
    assert sorted(i for i, e in full if e == 0) == list(range(10))  # an epoch visits every image once
    ranks = [list(StepSampler(10, 3, 2, 6, seed=5, rank=r, world_size=2)) for r in (0, 1)]
    both = list(StepSampler(10, 6, 2, 6, seed=5))
    assert sorted(ranks[0] + ranks[1]) == sorted(both) and not set(ranks[0]) & set(ranks[1])


def test_views_are_seeded_flipped_and_squashed(dataset):
    data = ViewDataset(dataset, view=StudyView(64), scale=(0.5, 1.0), seed=1)
    a, label = data[(1, 0)]
    b, _ = data[(1, 0)]
    assert a.shape == (3, 64, 64) and torch.equal(a, b) and label == 207
    assert 0 <= float(a.min()) and float(a.max()) <= 1
    assert not torch.equal(a, data[(1, 1)][0])  # another epoch, another crop
    # at scale 1 a training view is the evaluation view of the photo (or its mirror image)
    whole = ViewDataset(dataset, view=StudyView(64), scale=(1.0, 1.0), seed=1)
    from coarse2fine.imaging.photos import image_to_tensor
    from coarse2fine.imaging.view import open_view

    expected = image_to_tensor(open_view(whole.paths[1], StudyView(64)))[0]
    seen = [whole[(1, e)][0] for e in range(12)]
    assert all(torch.equal(v, expected) or torch.equal(v, expected.flip(-1)) for v in seen)
    assert any(torch.equal(v, expected) for v in seen) and any(torch.equal(v, expected.flip(-1)) for v in seen)


def test_view_dataset_settings_are_checked(dataset):
    with pytest.raises(ValueError, match="view scale"):
        ViewDataset(dataset, view=StudyView(64), scale=(0.0, 1.0))
    with pytest.raises(SettingsError, match="view_scale"):
        tiny_settings(view_scale=[0.8, 0.5])
    with pytest.raises(SettingsError, match="labelled_only"):
        tiny_settings(task_weights=[0.5, 1.0, 2.0], classifier="efficientnet_lite0", labelled_only=False)
    with pytest.raises(SettingsError, match="task_gradient"):
        tiny_settings(task_gradient="sideways")


def test_warmup_then_finetune_writes_loadable_checkpoints(dataset, tmp_path):
    hierarchy = make_hierarchy(tmp_path / "h" / "assignments.csv")
    warm = train(
        tiny_settings(), dataset, tmp_path / "warmup" / "model.pt", tmp_path / "warmup" / "log.csv", progress=False
    )
    assert warm["step"] == 4 and not resume_path(tmp_path / "warmup" / "model.pt").exists()

    settings = tiny_settings(task_weights=[0.5, 1.0, 2.0], classifier="efficientnet_lite0", steps=3, log_every=1)
    out = tmp_path / "c2f" / "model.pt"
    meta = train(
        settings,
        dataset,
        out,
        tmp_path / "c2f" / "log.csv",
        hierarchy=hierarchy,
        init=tmp_path / "warmup" / "model.pt",
        progress=False,
    )
    assert meta["step"] == 3 and meta["init"].endswith("warmup/model.pt@step4")
    payload = torch.load(out, weights_only=True)
    assert payload["codec_config"]["level_blocks"] == [4, 4, 4] and payload["entropy_tables_ready"]
    # what trained it: the CPU and the kernels torch dispatched to (another machine's give other weights)
    assert payload["machine"]["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert payload["machine"]["cpu"]
    log = pd.read_csv(tmp_path / "c2f" / "log.csv")
    assert list(log["step"]) == [1, 2, 3]
    for k in (1, 2, 3):
        assert log[f"bpp_{k}"].gt(0).all() and log[f"acc_{k}"].between(0, 1).all() and log[f"task_{k}"].gt(0).all()
    assert (log["bpp_3"] >= log["bpp_1"]).all()

    codec, meta = load_codec_with_meta(out)
    assert meta["step"] == 3
    x = torch.rand(1, 3, 64, 64)
    coded = codec.compress(x)
    assert len(coded["strings"]) == 1 + 3 and all(len(s[0]) > 0 for s in coded["strings"])


def test_rd_only_logs_accuracy_without_task_loss(dataset, tmp_path):
    hierarchy = make_hierarchy(tmp_path / "assignments.csv")
    settings = tiny_settings(classifier="efficientnet_lite0", steps=2, log_every=2)
    train(settings, dataset, tmp_path / "m.pt", tmp_path / "log.csv", hierarchy=hierarchy, progress=False)
    row = pd.read_csv(tmp_path / "log.csv").iloc[-1]
    assert all(0 <= row[f"acc_{k}"] <= 1 for k in (1, 2, 3)) and np.isnan(row["task_1"])


def trained_weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["codec"]


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    """Every tensor of two state dicts equal bit for bit (entropy tables included)."""
    assert a.keys() == b.keys()
    differing = [k for k in a if a[k].dtype != b[k].dtype or not torch.equal(a[k], b[k])]
    assert not differing, f"tensors differ: {differing[:5]}"


def test_a_job_that_never_runs_its_classifier_does_not_load_it_and_trains_the_same_weights(dataset, tmp_path):
    """rd_only names the default classifier but, trained without a hierarchy, never runs it: it
    is not loaded, and the weights after 5 steps equal those of the same job that loads and runs
    it (the accuracy monitor of a job given a hierarchy)."""
    from coarse2fine.training.job import build_loss, reads_classifier

    settings = tiny_settings(classifier="efficientnet_lite0", steps=5, log_every=5)
    assert not reads_classifier(settings, None) and build_loss(settings, None, torch.device("cpu")).classifier is None
    hierarchy = make_hierarchy(tmp_path / "assignments.csv")
    train(settings, dataset, tmp_path / "a" / "model.pt", tmp_path / "a" / "log.csv", progress=False)
    train(settings, dataset, tmp_path / "b" / "model.pt", tmp_path / "b" / "log.csv", hierarchy, progress=False)
    unmonitored, monitored = (pd.read_csv(tmp_path / job / "log.csv").iloc[-1] for job in ("a", "b"))
    assert np.isnan(unmonitored["acc_1"]) and 0 <= monitored["acc_1"] <= 1
    assert_same_weights(trained_weights(tmp_path / "a" / "model.pt"), trained_weights(tmp_path / "b" / "model.pt"))


def test_keeping_freed_memory_trains_the_same_weights(dataset, tmp_path, monkeypatch):
    """train() keeps the memory its steps free (training/memory.py); a job run with glibc's
    thresholds instead ends with the same weights, bit for bit, after 5 steps of a fine-tune."""
    from coarse2fine.training import loop, memory

    hierarchy = make_hierarchy(tmp_path / "assignments.csv")
    warm = tmp_path / "warm.pt"
    train(tiny_settings(steps=1), dataset, warm, tmp_path / "warm.csv", progress=False)
    settings = tiny_settings(task_weights=[0.5, 0.0, 0.0], classifier="efficientnet_lite0", steps=5, log_every=5)
    with monkeypatch.context() as patched:
        patched.setattr(loop, "keep_freed_memory", memory.return_freed_memory)
        train(settings, dataset, tmp_path / "a.pt", tmp_path / "a.csv", hierarchy, warm, progress=False)
    train(settings, dataset, tmp_path / "b.pt", tmp_path / "b.csv", hierarchy, warm, progress=False)
    assert_same_weights(trained_weights(tmp_path / "a.pt"), trained_weights(tmp_path / "b.pt"))
    assert memory.keep_freed_memory() == memory.return_freed_memory()  # both set, or neither (not glibc)


def test_mismatched_checkpoints_name_the_difference(dataset, tmp_path):
    init = tmp_path / "warm.pt"
    train(tiny_settings(steps=1), dataset, init, tmp_path / "warm.csv", progress=False)
    other_layout = tiny_settings(codec={**TINY_CODEC, "level_blocks": [6, 3, 3]})
    with pytest.raises(CheckpointMismatch, match=r"level_blocks: \[4, 4, 4\] -> \[6, 3, 3\]"):
        train(other_layout, dataset, tmp_path / "a.pt", tmp_path / "a.csv", init=init, progress=False)

    # a resume point left by a job with other settings is refused, not silently continued
    out = tmp_path / "b.pt"
    saved = ckpt.load(init)
    ckpt.save_atomic(
        {
            **saved,
            "kind": "resume",
            "settings": {**saved["settings"], "lr": 0.5},
            "optimizer": {},
            "aux_optimizer": {},
            "rng": ckpt.rng_state(),
        },
        resume_path(out),
    )
    with pytest.raises(CheckpointMismatch, match=r"lr: 0\.5 -> 0\.001"):
        train(tiny_settings(steps=1), dataset, out, tmp_path / "b.csv", progress=False)


class ArbitraryObject:
    """Anything that is not a tensor or plain data: loading it could run code."""


def test_checkpoints_refuse_pickled_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": ckpt.FORMAT, "payload": ArbitraryObject()}, path)
    with pytest.raises(Exception, match="(?i)weights_only|unsupported"):
        ckpt.load(path)
    torch.save({"format": "other"}, path)
    with pytest.raises(CheckpointMismatch, match="not a coarse2fine.training/1 checkpoint"):
        ckpt.load(path)


def test_quick_eval_reports_every_level(dataset, tmp_path):
    from coarse2fine.training.quick_eval import evaluate_checkpoint

    hierarchy = make_hierarchy(tmp_path / "assignments.csv")
    train(tiny_settings(steps=1), dataset, tmp_path / "m.pt", tmp_path / "log.csv", progress=False)
    result = evaluate_checkpoint(tmp_path / "m.pt", dataset, hierarchy, splits=("val", "train"), size=100)
    assert result["images"] == 4
    for k in (1, 2, 3):
        assert result[f"bpp_{k}"] > 0 and 0 <= result[f"acc_{k}"] <= 1 and result[f"psnr_{k}"] > 5
    assert result["bpp_1"] < result["bpp_3"]


def test_settings_json_roundtrip():
    settings = tiny_settings()
    assert TrainSettings.from_json(json.dumps(settings.to_dict())) == settings
    with pytest.raises(SettingsError, match="not valid JSON"):
        TrainSettings.from_json("{lambdas")


def test_lr_multipliers_give_their_parameters_a_scaled_learning_rate():
    from coarse2fine.models import build_codec
    from coarse2fine.training.job import parameter_groups, split_parameters

    codec = build_codec("deephq", N=16, M=24, layers=3, selective=True)
    main, _ = split_parameters(codec)
    groups = parameter_groups(codec, main, {"selector.exponent": 1000})
    assert [g["lr_scale"] for g in groups] == [1.0, 1000.0]
    assert groups[1]["params"] == [codec.selector.exponent] and sum(len(g["params"]) for g in groups) == len(main)
    with pytest.raises(ValueError, match="match no trained parameter"):
        parameter_groups(codec, main, {"nothing.": 10})
    with pytest.raises(SettingsError, match="lr_multipliers"):
        TrainSettings.from_dict({**tiny_settings().to_dict(), "lr_multipliers": {"selector.": -1}})


def test_a_job_log_gets_one_line_per_logged_interval_not_progress_bars(dataset, tmp_path, caplog, capsys):
    """In a log file (stderr not a terminal) the job writes readable lines, no carriage returns."""
    import logging

    with caplog.at_level(logging.INFO, logger="coarse2fine.training"):
        train(tiny_settings(steps=2, log_every=1), dataset, tmp_path / "m.pt", tmp_path / "log.csv")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("step ")]
    assert [line.split(":")[0] for line in lines] == ["step 1/2", "step 2/2"]
    assert "L1 " in lines[0] and " bpp " in lines[0] and " dB" in lines[0] and "s/step" in lines[0]
    assert "\r" not in capsys.readouterr().err


def test_a_resume_on_other_kernels_says_its_weights_will_differ(caplog):
    from coarse2fine.kernels import machine
    from coarse2fine.training.loop import warn_other_machine

    with caplog.at_level("WARNING", logger="coarse2fine.training"):
        warn_other_machine(Path("state.pt"), machine())
        assert not caplog.records
        warn_other_machine(Path("state.pt"), {**machine(), "torch_cpu_capability": "AVX512_OTHER"})
    assert "torch_cpu_capability: 'AVX512_OTHER'" in caplog.text and "not be bit-identical" in caplog.text
