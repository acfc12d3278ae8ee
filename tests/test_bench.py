"""Smoke tests of the benchmarks: every code path at tiny sizes, results well formed.

Speed is never asserted here (the issue: benchmarks measure, tests do not time); only that the
benchmark code runs and reports sane, consistent figures.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import cli, coding, pipeline, report, training  # noqa: E402
from bench.common import Target, load_config, sample_crops  # noqa: E402
from bench.run import build_parser, parse_size  # noqa: E402

# Small models on one thread: fast and free of thread-count effects.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def manifest(request) -> Path:
    """The sample dataset's manifest where it is built already, else the session's fresh build."""
    built = REPO / "data" / "sample" / "manifest.csv"
    return built if built.is_file() else request.getfixturevalue("sample_manifest")


@pytest.fixture(scope="module")
def architecture():
    return load_config(REPO / "config" / "config.yaml")["codecs"]["c2f"]["architecture"]


@pytest.fixture(scope="module")
def crops(manifest):
    return sample_crops(manifest, [(128, 128), (192, 128)], per_size=1)


def test_sample_crops_have_the_requested_sizes(crops, manifest):
    assert [tuple(c["image"].shape) for c in crops] == [(1, 3, 128, 128), (1, 3, 128, 192)]
    assert all(0 <= float(c["image"].min()) and float(c["image"].max()) <= 1 for c in crops)
    with pytest.raises(ValueError, match="at least 5000x5000"):
        sample_crops(manifest, [(5000, 5000)], per_size=1)


def test_coding_benchmark_is_well_formed(crops, architecture):
    result = coding.run(None, architecture, crops, repeats=1)
    assert result["codec"].startswith("untrained")
    levels = len(architecture["level_blocks"])
    rows = result["overhead"]["rows"]
    assert len(rows) == len(crops) * levels
    for image_rows in (rows[:levels], rows[levels:]):
        # cumulative: later levels hold more bytes and more estimated bits
        assert [r["level"] for r in image_rows] == list(range(1, levels + 1))
        assert all(
            a["file_bytes"] < b["file_bytes"] and a["estimated_bits"] < b["estimated_bits"]
            for a, b in zip(image_rows, image_rows[1:])
        )
        # the container adds a header: file bytes exceed payload bytes
        assert all(
            r["file_bytes"] > r["payload_bytes"] > 0 and r["file_over_estimate"] > r["payload_over_estimate"] > 0
            for r in image_rows
        )
    summary = result["overhead"]["summary"]
    assert {(s["size"], s["level"]) for s in summary} == {(c["size"], k) for c in crops for k in range(1, levels + 1)}
    assert all(
        s["pass"] in (True, False) and s["max_file_over_estimate"] >= s["mean_file_over_estimate"] for s in summary
    )
    speed = result["speed"]["summary"]
    assert [s["size"] for s in speed] == sorted(c["size"] for c in crops)
    for s in speed:
        assert all(
            s[k] > 0
            for k in ("c2f_encode_s", "c2f_decode_level1_s", "c2f_decode_all_s", "mbt_encode_s", "mbt_decode_s")
        )
        assert math.isclose(s["coarse_over_all"], s["c2f_decode_level1_s"] / s["c2f_decode_all_s"])
    assert {p["level"] for p in result["decode_profile"]} == {1, levels}
    assert all(0 < p["total_s"] and 0 <= sum(t["share"] for t in p["top"]) <= 1.0001 for p in result["decode_profile"])


def test_coding_loads_a_trained_checkpoint_when_given(tmp_path, architecture):
    from coarse2fine.models import build_codec

    codec = build_codec(**architecture)
    codec.update(force=True)
    path = tmp_path / "model.pt"
    torch.save({"codec_config": codec.config, "state_dict": codec.state_dict()}, path)
    loaded, description = coding.build_c2f(path, architecture)
    assert description == f"trained checkpoint {path}" and loaded.config == codec.config


@pytest.mark.parametrize("model,task_levels", [("hyperprior", "all"), ("c2f", "all"), ("c2f", "none")])
def test_training_step_timing(model, task_levels, manifest):
    config = load_config(REPO / "config" / "config.yaml")
    row = training.time_steps(
        model, config, manifest, batch_size=1, crop=64, steps=2, warmup_steps=0, task_levels=task_levels
    )
    assert row["model"] == model and len(row["sec_per_step_all"]) == 2
    assert row["sec_per_step"] > 0 and row["peak_rss_mb"] > 100  # torch alone is bigger
    with pytest.raises(ValueError, match="steps >= 1"):
        training.time_steps(model, config, manifest, batch_size=1, crop=64, steps=0, warmup_steps=0)


def test_paper_level_maps_cover_every_class():
    maps = training.paper_level_maps(2)
    assert [m.shape for m in maps] == [(1000,), (1000,)]
    assert [int(m.max()) + 1 for m in maps] == [10, 100]


def test_time_log_parsing(tmp_path):
    timed = tmp_path / "time.log"
    done = (
        subprocess.run(["/usr/bin/time", "-v", "-o", str(timed), sys.executable, "-c", "pass"])
        if Path("/usr/bin/time").exists()
        else None
    )
    if done is None:
        pytest.skip("GNU time is not installed")
    result = pipeline.parse_time_log(timed)
    assert result["exit_status"] == 0 and 0 <= result["elapsed_s"] < 60 and result["max_rss_mb"] > 1
    assert result["pass"] is True
    assert pipeline.parse_elapsed("1:02:03") == 3723 and pipeline.parse_elapsed("31:00.50") == 1860.5
    (tmp_path / "bad.log").write_text("snakemake said nothing useful\n")
    with pytest.raises(ValueError, match="no `/usr/bin/time -v` summary"):
        pipeline.parse_time_log(tmp_path / "bad.log")


SNAKEMAKE_LOG = """Building DAG of jobs...
[Mon Dec  7 20:00:00 2026]
localrule hierarchy_embed:
    output: results/hierarchy/embeddings/x.npz
    jobid: 5
    resources: tmpdir=/tmp
[Mon Dec  7 20:00:00 2026]
rule train:
    input: data/sample/manifest.csv
    jobid: 7
[Mon Dec  7 20:00:10 2026]
Finished jobid: 5 (Rule: hierarchy_embed)
1 of 2 steps (50%) done
[Mon Dec  7 20:01:40 2026]
Finished jobid: 7 (Rule: train)
2 of 2 steps (100%) done
"""


def test_stage_shares_from_a_snakemake_log(tmp_path):
    log = tmp_path / "run.snakemake.log"
    log.write_text(SNAKEMAKE_LOG)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "hierarchy.smk").write_text("localrule hierarchy_embed:\n    output: 'x'\n")
    (rules / "training.smk").write_text("rule train:\n    output: 'y'\nuse rule train as train_other with:\n")
    assert pipeline.rule_stages(rules)["train_other"] == "training"
    jobs = pipeline.job_times(log)
    assert [(j["rule"], j["start_s"], j["end_s"]) for j in jobs] == [("hierarchy_embed", 0, 10), ("train", 0, 100)]
    shares = pipeline.stage_shares(log, rules)
    assert shares["wall_s"] == 100 and shares["job_seconds"] == 110
    assert shares["stages"]["training"]["share"] == pytest.approx(100 / 110)
    assert shares["stages"]["hierarchy"]["jobs"] == 1 and shares["stages"]["hierarchy"]["last_end_s"] == 10
    lines = report._pipeline({"stages": shares})
    assert any(line.startswith("| training | 1 | 1.7 | 91 %") for line in lines)
    (tmp_path / "other.log").write_text("nothing here\n")
    with pytest.raises(ValueError, match="no finished Snakemake job"):
        pipeline.job_times(tmp_path / "other.log")


def _fake_snakemake(tmp_path: Path, dry_output: str) -> list[str]:
    script = tmp_path / "fake_snakemake.py"
    script.write_text(
        "import sys\nprint(%r if '-n' in sys.argv else 'Nothing to be done (all requested files are present).')\n"
        % dry_output
    )
    return [sys.executable, str(script)]


def test_snakemake_overheads_rerun_only_when_up_to_date(tmp_path):
    up_to_date = pipeline.snakemake_overheads(_fake_snakemake(tmp_path, "Nothing to be done."), tmp_path)
    assert up_to_date["dry_run"]["pass"] is not None and up_to_date["noop_rerun"]["seconds"] > 0
    pending = pipeline.snakemake_overheads(_fake_snakemake(tmp_path, "Job stats: train 3"), tmp_path)
    assert "not up to date" in pending["noop_rerun"]["skipped"] and pending["dry_run"]["seconds"] > 0


def test_target_and_report(crops, architecture, tmp_path):
    assert Target(1.01, "").check(1.0)["pass"] is True and Target(1.01, "").check(1.2)["pass"] is False
    assert Target(1.0, "").check(None)["pass"] is None
    results = {
        "date": "2026-01-01T00:00:00+00:00",
        "command": "python bench/run.py --quick",
        "seconds": 1.0,
        "machine": {"cpu": "cpu", "cores": 2, "torch": "t", "compressai": "c", "python": "p", "cuda": False},
        "coding": coding.run(None, architecture, crops[:1], repeats=1),
        "cli": {
            "rows": [
                cli._row("version", "c2f --version", 0.05, "version"),
                cli._row("encode", "c2f encode photo.png", 2.0, "encode", floor=1.7),
                cli._row("decode", "c2f decode photo.c2f", 2.3, "decode", floor=1.7),
            ],
            "repeats": 3,
        },
        "pipeline": {
            "dry_run": {"seconds": 1.5, **pipeline.DRY_RUN_TARGET.check(1.5)},
            "noop_rerun": {"skipped": "results are not up to date"},
        },
    }
    text = report.render(json.loads(json.dumps(results)))
    assert "2026-01-01" in text and "python bench/run.py --quick" in text and "untrained codec" in text
    assert "| 128x128 | 3 |" in text and "1.50 s" in text and "not measured: results are not up to date" in text
    assert "no GPU" in text
    assert "| `c2f --version` | 0.05 s / call |  | <= 0.3 s | pass |" in text
    # a call that codes is judged by what it adds to `import torch` in the same run
    assert "| `c2f encode photo.png` | 2.00 s / call | +0.30 s | <= import torch + 0.5 s | pass |" in text
    assert "| `c2f decode photo.c2f` | 2.30 s / call | +0.60 s | <= import torch + 0.5 s | **fail** |" in text


def test_cli_arguments(capsys):
    assert parse_size("768x512") == (768, 512)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--sizes", "512"])
    assert "WIDTHxHEIGHT" in capsys.readouterr().err


@pytest.mark.slow
def test_run_quick_end_to_end(tmp_path, manifest):
    out, md = tmp_path / "results.json", tmp_path / "BENCHMARKS.md"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            "--quick",
            "--threads",
            "1",
            "--manifest",
            str(manifest),
            "--skip",
            "snakemake",
            "--output",
            str(out),
            "--markdown",
            str(md),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(out.read_text())
    assert [r["model"] for r in results["training"]["rows"]] == ["hyperprior", "c2f", "c2f", "c2f"]
    assert "## Training step" in md.read_text() and "## The `c2f` tool" in md.read_text()
    calls = [r["name"] for r in results["cli"]["rows"]]
    assert calls[1:] == ["version", "help", "encode", "decode", "info", "eval_per_megapixel"], calls


def test_task_view_scores_held_out_and_training_views(tmp_path):
    import pandas as pd

    from bench import task_view
    from test_training import make_dataset

    manifest = make_dataset(tmp_path / "data")
    hierarchy = tmp_path / "assignments.csv"
    pd.DataFrame({"class_idx": range(1000), "level_1": [i % 10 for i in range(1000)]}).to_csv(hierarchy, index=False)
    row = task_view.measure(manifest, hierarchy, "efficientnet_lite0", size=64, scale=(0.5, 1.0), crops_per_image=2)
    assert row["held_out_photos"] == 1 and row["train_views"] == 6  # 3 training photos x 2 views
    for key, n in (
        ("held_out_top1_class", 1),
        ("held_out_top1_level1", 1),
        ("train_top1_class", 6),
        ("train_top1_level1", 6),
    ):
        hits = row[key] * n / 100  # a whole number of correct views
        assert 0 <= row[key] <= 100 and hits == pytest.approx(round(hits))


def test_train_step_profile_arms_and_options_on_a_tiny_job(tmp_path):
    """bench/train_step.py on a tiny c2f job whose task term runs every step: every part of the
    step is timed, the parts fit in it, an arm reports its weights' digest, every option runs."""
    from bench import train_step
    from test_training import TINY_CODEC, make_dataset, tiny_settings

    settings = tiny_settings(
        task_weights=[0.5, 0.0, 0.0], task_levels="all", classifier="efficientnet_lite0", codec=TINY_CODEC
    )
    inputs = {
        "codec": "c2f",
        "settings": settings,
        "manifest": make_dataset(tmp_path / "data"),
        "hierarchy": train_step._paper_hierarchy("paper_clip_kmeans", 3, tmp_path),
        "init": None,
        "notes": [],
    }
    result = train_step.profile(inputs, steps=2, warmup=0, state_dir=tmp_path / "state")
    assert result["task_share"] == 1.0 and len(result["rows"]) == 2
    for row in result["rows"]:
        assert (
            row["with_task"] == 1.0
            and row["forward: classifier"] > 0
            and row["backward: synthesis g_s, 3 prefixes (batch 24)"] > 0
        )
        parts = [v for k, v in row.items() if k.startswith(("forward: ", "backward: "))]
        assert all(v >= 0 for v in parts) and sum(parts) <= row["step"]
    assert "| step |" in train_step.profile_table([result])

    one = train_step.arm(inputs, "after", steps=1, warmup=0, check_steps=2, state_dir=tmp_path / "state")
    again = train_step.arm(inputs, "before", steps=1, warmup=0, check_steps=2, state_dir=tmp_path / "state")
    assert one["digest"] == again["digest"] and len(one["step_s"]) == 1 and one["with_task"] == [True]

    found = train_step.options(inputs, steps=1, warmup=0, check_steps=1, rounds=1, state_dir=tmp_path / "state")
    assert set(found["options"]) == set(train_step.OPTIONS)
    assert all(r["step_s"] > 0 and r["max_weight_change"] >= 0 for r in found["options"].values())
