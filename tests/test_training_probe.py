"""Snapshots of a training job (`snapshot_every`) and the probe that reads them: snapshots change
nothing a job trains, are left out of the settings when off (the plan's commands stay the same),
and the probe scores each snapshot's coarse prefix on the training and held-out photos."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from sklearn.metrics import balanced_accuracy_score

from coarse2fine.training import SettingsError, TrainSettings
from coarse2fine.training.checkpoint import load_codec_with_meta
from coarse2fine.training.loop import snapshot_path, train
from test_training import assert_same_weights, make_dataset, make_hierarchy, tiny_settings, trained_weights

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # train() sets torch's thread count

STEPS, EVERY = 4, 2


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny warm-up, then the same 4-step fine-tune with a coarse task term twice: without
    snapshots, and with one every 2 steps. (manifest, hierarchy, folder of each run)."""
    root = tmp_path_factory.mktemp("probe")
    manifest = make_dataset(root / "data")
    hierarchy = make_hierarchy(root / "h" / "assignments.csv")
    warm = root / "warm" / "model.pt"
    torch.set_num_threads(1)
    train(tiny_settings(steps=1), manifest, warm, warm.with_name("log.csv"), progress=False)
    job = dict(task_weights=[0.5, 0.0, 0.0], classifier="efficientnet_lite0", steps=STEPS, log_every=1)
    for name, every in (("plain", 0), ("snapshots", EVERY)):
        out = root / name / "model.pt"
        settings = tiny_settings(**job, snapshot_every=every)
        train(settings, manifest, out, out.with_name("log.csv"), hierarchy, warm, progress=False)
    return manifest, hierarchy, root


def test_snapshot_every_is_left_out_of_the_settings_when_off():
    off = tiny_settings()
    assert off.snapshot_every == 0 and "snapshot_every" not in off.to_dict()
    assert TrainSettings.from_json(json.dumps(off.to_dict())) == off
    on = tiny_settings(snapshot_every=25)
    assert on.to_dict()["snapshot_every"] == 25 and TrainSettings.from_json(json.dumps(on.to_dict())) == on
    with pytest.raises(SettingsError, match="snapshot_every must be >= 0"):
        tiny_settings(snapshot_every=-1)


def test_the_plans_settings_do_not_carry_snapshot_every_unless_it_is_set(tmp_path):
    from coarse2fine.plan import StudyPlan
    from coarse2fine.plan.config import as_json
    from conftest import REPO

    plan = StudyPlan.from_files("config/config.yaml", root=REPO)
    jobs = [plan.training.finetune_settings("c2f", 1), plan.training.adapt_settings("c2f")]
    jobs.append(plan.training.base_settings("c2f"))
    assert not any("snapshot_every" in as_json(job) for job in jobs)
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("train:\n  snapshot_every: 25\n")
    snapping = StudyPlan.from_files("config/config.yaml", str(overlay), root=REPO)
    assert json.loads(as_json(snapping.training.finetune_settings("c2f", 1)))["snapshot_every"] == 25


def test_snapshots_change_nothing_a_job_trains(runs):
    _, _, root = runs
    assert_same_weights(trained_weights(root / "plain" / "model.pt"), trained_weights(root / "snapshots" / "model.pt"))
    logs = [pd.read_csv(root / name / "log.csv").drop(columns="sec_per_step") for name in ("plain", "snapshots")]
    pd.testing.assert_frame_equal(*logs)
    out = root / "snapshots" / "model.pt"
    assert sorted(p.name for p in (root / "snapshots" / "snapshots").iterdir()) == [
        snapshot_path(out, step).name for step in (0, 2, 4)
    ]
    assert not (root / "plain" / "snapshots").exists()
    # the last snapshot, loaded (its entropy tables built from its weights), is the final model
    last, meta = load_codec_with_meta(snapshot_path(out, STEPS))
    final, _ = load_codec_with_meta(out)
    assert meta["kind"] == "snapshot" and meta["step"] == STEPS
    assert_same_weights(last.state_dict(), final.state_dict())
    # the first is the weights it started from
    first, meta = load_codec_with_meta(snapshot_path(out, 0))
    warm, _ = load_codec_with_meta(root / "warm" / "model.pt")
    assert meta["step"] == 0
    assert_same_weights(first.state_dict(), warm.state_dict())


def test_the_probe_scores_each_snapshot_on_the_training_and_held_out_photos(runs, tmp_path):
    from coarse2fine.evaluate.reports.probe import SETS, probe_runs, summarise
    from coarse2fine.figures.probe_report import probe_figure, report_markdown

    manifest, hierarchy, root = runs
    folder = root / "snapshots" / "snapshots"
    per_image = probe_runs({"c2f": folder, "again": folder}, manifest, hierarchy, {"efficientnet_lite0": SETS})
    # 3 labelled training photos and 1 held-out one, at steps 0, 2, 4, for each run
    assert len(per_image) == 2 * 3 * 4
    assert per_image.groupby(["run", "step"])["set"].apply(lambda s: sorted(s)).map(tuple).nunique() == 1
    assert (per_image["bpp"] > 0).all() and np.isfinite(per_image["psnr"]).all()
    # one snapshot probed twice gives the same rows
    pd.testing.assert_frame_equal(
        *(per_image[per_image["run"] == run].drop(columns="run").reset_index(drop=True) for run in ("c2f", "again"))
    )
    summary = summarise(per_image, clusters=10)
    assert len(summary) == 2 * 3 * 2
    one = summary[(summary["run"] == "c2f") & (summary["step"] == 2) & (summary["set"] == "train")].iloc[0]
    rows = per_image[(per_image["run"] == "c2f") & (per_image["step"] == 2) & (per_image["set"] == "train")]
    truth, predicted = rows["true"].astype(int), rows["pred_efficientnet_lite0"].astype(int)
    assert one["balanced"] == pytest.approx(balanced_accuracy_score(truth, predicted))
    assert one["top1"] == pytest.approx((truth == predicted).mean())
    shares = one[[f"share_{c}" for c in range(10)]].to_numpy(float)
    assert shares.sum() == pytest.approx(1) and one["modal_share"] == pytest.approx(shares.max())
    assert one["label_modal_share"] == pytest.approx(np.bincount(truth).max() / len(truth))
    # a classifier that scores the held-out photos only (the judge) has rows for them alone
    judged = per_image.assign(pred_judge=per_image["pred_efficientnet_lite0"].where(per_image["set"] == "held_out"))
    judge_rows = summarise(judged, clusters=10).query("classifier == 'judge'")
    assert set(judge_rows["set"]) == {"held_out"} and len(judge_rows) == 2 * 3
    text = report_markdown(summary, "efficientnet_lite0", None)
    assert "| step " in text and "c2f train" in text and "c2f held-out" in text
    png = probe_figure(summary, "efficientnet_lite0", None, tmp_path / "probe.png")
    assert png.stat().st_size > 10_000
    # the command: from the summary CSV, with the header docs/figures/ files carry
    from coarse2fine.figures.probe_report import add_arguments, run_command

    summary.to_csv(tmp_path / "probe.csv", index=False)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out = tmp_path / "docs"
    argv = ["--probe", str(tmp_path / "probe.csv"), "--markdown", str(out / "p.md"), "--figure", str(out / "p.png")]
    assert run_command(parser.parse_args([*argv, "--judge", "none", "--built-by", "the probe"])) == 0
    assert (out / "p.md").read_text().startswith("> Built by `the probe` at commit ")
    with Image.open(out / "p.png") as image:
        assert image.text["Source"].startswith("Built by `the probe` at commit ")
