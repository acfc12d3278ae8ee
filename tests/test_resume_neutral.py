"""A killed training job resumed with other settings: where and how fast it runs, and how often
it reports (training.settings.RESUME_NEUTRAL), may change and the job resumes from its resume
point; any other change is refused with the setting named, and the resume point is kept."""

from __future__ import annotations

import logging
import shutil

import pytest

from coarse2fine.training import checkpoint as ckpt
from coarse2fine.training import loop
from coarse2fine.training.checkpoint import CheckpointMismatch
from coarse2fine.training.loop import resume_path, train
from coarse2fine.training.settings import RESUME_NEUTRAL
from test_training import make_dataset, tiny_settings

STEPS, KILLED_AT = 6, 2
# the killed job's settings, then what the resumed job changes: every neutral setting
FIRST = dict(steps=STEPS, checkpoint_every=KILLED_AT, log_every=KILLED_AT, threads=1, workers=0, device="cpu")
NEUTRAL_CHANGES = dict(
    checkpoint_every=3, log_every=3, snapshot_every=3, threads=2, workers=1, device="auto", cache_images=False
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # train() sets torch's thread count


class Killed(Exception):
    """Stands for SIGKILL right after a resume point was written."""


@pytest.fixture(scope="module")
def killed_job(tmp_path_factory):
    """(manifest, resume point) of a job killed just after writing its step-2 resume point."""
    root = tmp_path_factory.mktemp("killed")
    manifest = make_dataset(root / "data")
    out = root / "job" / "model.pt"
    real = loop.save_resume_point

    def save_then_die(run):
        real(run)
        raise Killed(run.step)

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(loop, "save_resume_point", save_then_die)
        with pytest.raises(Killed):
            train(tiny_settings(**FIRST), manifest, out, out.with_name("log.csv"), progress=False)
    state = resume_path(out)
    assert not out.exists() and ckpt.load(state)["step"] == KILLED_AT
    return manifest, state


def place_resume_point(state, tmp_path):
    """The killed job's resume point where a job writing tmp_path/model.pt looks for it."""
    out = tmp_path / "model.pt"
    shutil.copyfile(state, resume_path(out))
    return out


def test_the_changes_cover_every_resume_neutral_setting():
    assert set(NEUTRAL_CHANGES) == RESUME_NEUTRAL
    assert all(getattr(tiny_settings(**FIRST), k) != v for k, v in NEUTRAL_CHANGES.items())


def test_a_job_resumed_with_other_neutral_settings_continues_from_its_resume_point(
    killed_job, tmp_path, monkeypatch, caplog
):
    manifest, state = killed_job
    out = place_resume_point(state, tmp_path)
    steps_taken = []
    real_step = loop.take_step

    def counted(run, x, labels):
        steps_taken.append(run.step + 1)
        return real_step(run, x, labels)

    monkeypatch.setattr(loop, "take_step", counted)
    settings = tiny_settings(**{**FIRST, **NEUTRAL_CHANGES})
    with caplog.at_level(logging.INFO, logger="coarse2fine.training"):
        meta = train(settings, manifest, out, tmp_path / "log.csv", progress=False)
    assert f"resuming {resume_path(out)} from step {KILLED_AT} of {STEPS}" in caplog.text
    # only the steps after the resume point ran, and the killed job's log row was kept
    assert steps_taken == list(range(KILLED_AT + 1, STEPS + 1))
    assert meta["step"] == STEPS and [row["step"] for row in meta["log"]] == [KILLED_AT, 3, 6]
    assert out.exists() and not resume_path(out).exists()


@pytest.mark.parametrize(
    "change, named",
    [
        (dict(lr=2e-3), r"lr: 0\.001 -> 0\.002"),
        (dict(batch_size=1), r"batch_size: 2 -> 1"),
        (dict(lambdas=[1e-3, 1e-2, 2e-1]), r"lambdas: \[0\.001, 0\.01, 0\.1\] -> \[0\.001, 0\.01, 0\.2\]"),
    ],
)
def test_a_job_resumed_with_a_setting_that_matters_changed_is_refused_naming_it(killed_job, tmp_path, change, named):
    manifest, state = killed_job
    out = place_resume_point(state, tmp_path)
    # the neutral changes ride along: the refusal names the setting that matters, and only it
    settings = tiny_settings(**{**FIRST, **NEUTRAL_CHANGES, **change})
    with pytest.raises(CheckpointMismatch, match=named) as refused:
        train(settings, manifest, out, tmp_path / "log.csv", progress=False)
    message = str(refused.value)
    assert not any(f"{key}:" in message for key in RESUME_NEUTRAL), message
    # nothing was trained over the resume point, which is still there to resume
    assert not out.exists() and ckpt.load(resume_path(out))["step"] == KILLED_AT
