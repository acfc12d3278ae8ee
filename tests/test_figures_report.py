"""The training curves and the report's opening page (figures/training.py, figures/overview.py)."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pandas as pd
from docutils.core import publish_parts
from PIL import Image

from coarse2fine.figures.overview import markdown_to_rst, overview
from coarse2fine.figures.training import model_of, read_logs, training_figure
from conftest import REPO

CLAIM = """# Does c2f beat rd_only? (judge: efficientnet_lite1, 66 held-out images)

Scored by efficientnet_lite1.

## Verdict at the coarse levels

- K=10: top-1: not resolved; balanced accuracy: higher, resolved

## At equal rate: BD-accuracy of the method's level-k prefix (points)

| level | K | metric | against | images | BD-accuracy [CI] | verdict |
|---|---|---|---|---|---|---|
| 1 | 10 | top-1 | rd_only | 66 | +5.9 [-2.9, +14.9] | not resolved |
| 1 | 10 | balanced top-1 | rd_only | 66 | +8.9 [+0.3, +18.6] | higher, resolved |
"""


def write_log(path: Path, task: bool, steps: int = 20) -> Path:
    rng = np.random.default_rng(len(str(path)))
    step = np.arange(1, steps + 1)
    frame = pd.DataFrame({"step": step, "loss": 100 / step + rng.random(steps)})
    for level in (1, 2, 3):
        frame[f"bpp_{level}"] = 0.1 * level + 0.01 * rng.random(steps)
        frame[f"psnr_{level}"] = 20 + level + np.log(step)
        frame[f"task_{level}"] = (2 / step) if (task and level == 1) else np.nan
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def test_training_curves_name_each_model_and_draw_one_line_per_model(tmp_path):
    logs = [
        write_log(tmp_path / "results/checkpoints/c2f/paper/rp0/log.csv", task=True),
        write_log(tmp_path / "results/checkpoints/c2f/paper/rp1/log.csv", task=True),
        write_log(tmp_path / "results/checkpoints/rd_only/rp1/log.csv", task=False),
    ]
    assert [model_of(p) for p in logs] == [("c2f", "rp0"), ("c2f", "rp1"), ("rd_only", "rp1")]
    frame = read_logs(logs)
    assert len(frame) == 60 and set(frame["codec"]) == {"c2f", "rd_only"}
    png, pdf = training_figure(frame, tmp_path / "training_curves")
    with Image.open(png) as im:
        assert im.width > 2 * im.height  # four panels side by side (the task loss is drawn)
    assert pdf.stat().st_size > 0


def test_markdown_tables_headings_and_lists_become_rst_that_renders():
    rst = markdown_to_rst(CLAIM, depth=2)
    html = publish_parts("Page\n====\n\nSection\n-------\n\n" + rst, writer="html")["html_body"]
    assert html.count("<tr>") == 3  # the header and two rows; the markdown rule is dropped
    assert "+8.9 [+0.3, +18.6]" in html and "higher, resolved" in html
    assert "<li>" in html and "Does c2f beat rd_only?" in html


def test_overview_embeds_the_figures_and_the_claim(tmp_path):
    figure = tmp_path / "top1.png"  # noise: a PNG far longer than docutils' 10,000-character line
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(figure)
    encoded = base64.b64encode(figure.read_bytes()).decode()
    claim = tmp_path / "claim.md"
    claim.write_text(CLAIM)
    page = overview(REPO / "workflow" / "report" / "workflow.rst", figure, claim, figure)
    html = publish_parts(page, writer="html")["html_body"]
    assert "System Message" not in html
    assert html.count(f'src="data:image/png;base64,{encoded}"') == 2  # the whole figure, joined back
    assert "Coarse-to-Fine" in html and "BD-accuracy" in html and "Training curves" in html
    without = publish_parts(overview(REPO / "workflow" / "report" / "workflow.rst", figure, None, None), writer="html")[
        "html_body"
    ]
    assert "No claim in this run" in without and without.count("data:image/png") == 1
