"""A small real run of the evaluation stages, its `snakemake --report`, and the report opened in
a headless browser (Debian's chromium) to check that the main figure shows."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from PIL import Image

from conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")


def write_inputs(work: Path) -> None:
    """Manifest of three real photos (foolbox wheel data), the paper's hierarchy, a small config."""
    from test_evaluate_levels import paper_level_maps

    from coarse2fine.data.manifest import sha256_file, write_manifest
    from coarse2fine.hierarchy.assignments import write_assignments

    root = Path(list(importlib.util.find_spec("foolbox").submodule_search_locations)[0]) / "data"
    rows = []
    for name, split in [("imagenet_00_243.jpg", "val"), ("imagenet_01_559.jpg", "test"), ("imagenet_04_949.jpg", "val")]:
        with Image.open(root / name) as im:
            width, height = im.size
        rows.append({"path": name, "sha256": sha256_file(root / name), "width": width, "height": height,
                     "label_idx": int(Path(name).stem.split("_")[-1]), "label_source": "ground_truth",
                     "split": split, "source": "foolbox"})
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    write_manifest(pd.DataFrame(rows), work / "data" / config["dataset"]["name"] / "manifest.csv", root)
    write_assignments(work / "results" / "hierarchy" / "paper" / "assignments.csv", paper_level_maps(), "file")
    config["evaluate"].update({
        "classifiers": ["efficientnet_lite0"], "hierarchies": ["paper"], "bootstrap": 100, "reconstructions": 2,
        "anchors": {"jpeg": {"qualities": [5, 40]}, "webp": {"qualities": [5, 40]}, "jpeg2000": {"layer_bpp": [0.05, 0.2, 0.8]}},
    })
    config["figures"].update({"reconstruction_codecs": ["jpeg2000"], "reconstruction_images": 2})
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    rules = REPO / "workflow" / "rules"
    (work / "Snakefile").write_text(
        'configfile: "config.yaml"\n'
        f'include: "{rules / "common.smk"}"\n'
        f'include: "{rules / "evaluate.smk"}"\n'
        f'include: "{rules / "figures.smk"}"\n'
        "rule all:\n    input: evaluate_targets() + figures_targets()\n    default_target: True\n"
    )


def snakemake(work: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(work / "Snakefile"), "-d", str(work), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_report_of_a_small_run_shows_the_main_figure(tmp_path):
    write_inputs(tmp_path)
    run = snakemake(tmp_path, "--cores", "2")
    assert run.returncode == 0, run.stderr[-3000:]
    figure = tmp_path / "results" / "figures" / "paper" / "top1_vs_bpp.png"
    assert figure.is_file() and (tmp_path / "results" / "metrics" / "tables" / "paper" / "bd.md").is_file()
    report = tmp_path / "report.html"
    built = snakemake(tmp_path, "--report", str(report))
    assert built.returncode == 0, built.stderr[-3000:]
    html = report.read_text()
    assert "top1_vs_bpp.png" in html and "Top-1 accuracy per level against rate" in html

    if not CHROMIUM.exists():
        pytest.skip("headless check needs Debian's chromium at /usr/bin/chromium (set-up installs it)")
    profile = tmp_path / "chromium-profile"
    base = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=15000"]
    dom = subprocess.run(base + ["--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # the report is a script-built page: its rendered DOM (not the HTML source) must list the figure
    assert "top1_vs_bpp.png" in dom.stdout
    assert shutil.which(str(CHROMIUM))
