"""A small real run of the evaluation stages, its `snakemake --report`, and the report opened in
a headless browser (Debian's chromium) to check that the main figure shows."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
PROBE = """<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var key = Object.keys(results).find(function (k) { return k.endsWith("/top1_vs_bpp.png"); });
    app.showCategory("Evaluation");
    app.setView({content: "img", contentPath: results[key].data_uri, resultPath: key});
    setTimeout(function () {
      var img = Array.from(document.querySelectorAll("img")).find(function (i) { return i.src === results[key].data_uri; });
      var show = function () { document.title = "probe " + (img ? img.naturalWidth + "x" + img.naturalHeight : "no image"); };
      if (!img || img.complete) { show(); } else { img.onload = show; img.onerror = function () { document.title = "probe error"; }; }
    }, 1000);
  }, 1000);
});
</script>
"""


def write_inputs(work: Path) -> None:
    """Manifest of three real photos (foolbox wheel data), the paper's hierarchy, a small config."""
    from coarse2fine.data.manifest import sha256_file, write_manifest
    from coarse2fine.hierarchy.assignments import write_assignments
    from test_evaluate_levels import paper_level_maps

    root = Path(list(importlib.util.find_spec("foolbox").submodule_search_locations)[0]) / "data"
    rows = []
    for name, split in [
        ("imagenet_00_243.jpg", "val"),
        ("imagenet_01_559.jpg", "test"),
        ("imagenet_04_949.jpg", "val"),
    ]:
        with Image.open(root / name) as im:
            width, height = im.size
        rows.append(
            {
                "path": name,
                "sha256": sha256_file(root / name),
                "width": width,
                "height": height,
                "label_idx": int(Path(name).stem.split("_")[-1]),
                "label_source": "ground_truth",
                "split": split,
                "source": "foolbox",
            }
        )
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    write_manifest(pd.DataFrame(rows), work / "data" / config["dataset"]["name"] / "manifest.csv", root)
    write_assignments(work / "results" / "hierarchy" / "paper" / "assignments.csv", paper_level_maps(), "file")
    config["evaluate"].update(
        {
            "classifiers": ["efficientnet_lite1"],
            "hierarchies": ["paper"],
            "bootstrap": 100,
            "reconstructions": 2,
            "cpips_model": None,  # no codec is trained in this small run
            "anchors": {
                "jpeg": {"qualities": [5, 40]},
                "webp": {"qualities": [5, 40]},
                "jpeg2000": {"layer_bpp": [0.05, 0.2, 0.8]},
            },
        }
    )
    config["figures"].update({"reconstruction_codecs": ["jpeg2000"], "reconstruction_images": 2})
    # the anchors alone: no codec, no baseline, no base to train or code
    config["codecs"], config["baselines"] = {}, {}
    config["train"]["base"]["source"] = "none"
    config["hierarchy"]["config"] = str(REPO / config["hierarchy"]["config"])
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    rules = REPO / "workflow" / "rules"
    (work / "Snakefile").write_text(
        'configfile: "config.yaml"\n'
        f'include: "{rules / "common.smk"}"\n'
        f'include: "{rules / "evaluate.smk"}"\n'
        f'include: "{rules / "figures.smk"}"\n'
        'rule all:\n    input: PLAN.stage_targets("evaluate") + PLAN.evaluation.figure_targets()\n'
        "    default_target: True\n"
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
    # it opens on the study's overview (figures/overview.py): the description, the main figure
    assert "Coarse-to-Fine: semantic progressive image compression" in html
    assert "Top-1 against rate, per level" in html and "No claim in this run" in html

    if not CHROMIUM.exists():
        pytest.skip("headless check needs Debian's chromium at /usr/bin/chromium (set-up installs it)")
    # The report is a script-built page without URL state: a copy of it gets a probe that opens
    # the main figure as its view button does and writes what the browser decoded into the title.
    probe = tmp_path / "probe.html"
    head, tail = html.rsplit("</body>", 1)
    probe.write_text(head + PROBE + "</body>" + tail)
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--virtual-time-budget=15000",
        "--dump-dom",
        probe.as_uri(),
    ]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120)
    # The page as it opens, drawn: the overview's text and its embedded figure, not a blank page.
    screenshot = tmp_path / "opening.png"
    shot = [c for c in command if c not in ("--dump-dom", probe.as_uri())]
    shot += [f"--screenshot={screenshot}", "--window-size=1280,1400", report.as_uri()]
    drawn = subprocess.run(shot, capture_output=True, text=True, timeout=120)
    assert drawn.returncode == 0 and screenshot.is_file(), drawn.stderr[-2000:]
    with Image.open(screenshot) as im:
        ink = (np.asarray(im.convert("L")) < 200).mean()
    assert ink > 0.02, f"the opening page is nearly blank ({ink:.1%} of its pixels drawn)"
    assert dom.returncode == 0, dom.stderr[-2000:]
    title = re.search(r"<title>([^<]*)</title>", dom.stdout)
    with Image.open(figure) as im:
        assert title is not None and title.group(1) == f"probe {im.width}x{im.height}", dom.stdout[:500]
