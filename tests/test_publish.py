"""docs/figures/: every published table and figure carries its header (command, configuration,
commit, date), and the check names any number that moved between results/ and docs/."""

from __future__ import annotations

import argparse

import pytest
from PIL import Image

from coarse2fine.figures.publish import GROUPS, Group, differences, publish, run_command

GROUP = Group(
    command="snakemake --cores all",
    configs=("config/config.yaml",),
    files={"demo-summary.md": "metrics/summary.md", "demo-figure.png": "figures/figure.png"},
)


@pytest.fixture
def results(tmp_path):
    (tmp_path / "results" / "metrics").mkdir(parents=True)
    (tmp_path / "results" / "figures").mkdir()
    (tmp_path / "results" / "metrics" / "summary.md").write_text("| codec | bpp |\n|---|---|\n| c2f | 0.245 |\n")
    Image.new("RGB", (8, 4), (10, 20, 30)).save(tmp_path / "results" / "figures" / "figure.png")
    return tmp_path / "results"


def test_published_files_carry_their_header_and_check_clean(results, tmp_path):
    docs = tmp_path / "docs"
    publish(GROUP, results, docs, commit="abc1234567", day="2026-12-07")
    table = (docs / "demo-summary.md").read_text()
    first = table.splitlines()[0]
    assert first.startswith("> Built by `snakemake --cores all`")
    assert "config/config.yaml" in first and "abc1234567" in first and "2026-12-07" in first
    assert table.endswith("| c2f | 0.245 |\n")
    with Image.open(docs / "demo-figure.png") as image:
        assert "abc1234567" in image.text["Source"]
    assert differences(GROUP, results, docs) == []


def test_a_number_that_moved_is_shown_as_a_diff(results, tmp_path):
    docs = tmp_path / "docs"
    publish(GROUP, results, docs, commit="abc", day="2026-12-07")
    (results / "metrics" / "summary.md").write_text("| codec | bpp |\n|---|---|\n| c2f | 0.251 |\n")
    Image.new("RGB", (8, 4), (10, 20, 31)).save(results / "figures" / "figure.png")
    found = differences(GROUP, results, docs)
    assert len(found) == 2
    assert "-| c2f | 0.245 |" in found[0] and "+| c2f | 0.251 |" in found[0]
    assert "pixels differ" in found[1]


def test_a_table_without_its_header_or_not_built_is_named(results, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "demo-summary.md").write_text((results / "metrics" / "summary.md").read_text())
    found = differences(GROUP, results, docs)
    assert any("has no header line" in line for line in found)
    assert any("demo-figure.png: not published" in line for line in found)
    (results / "figures" / "figure.png").unlink()
    with pytest.raises(FileNotFoundError, match="not built yet"):
        publish(GROUP, results, docs, commit="abc", day="2026-12-07")


def test_check_exits_nonzero_on_a_difference(results, tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    monkeypatch.setitem(GROUPS, "demo", GROUP)
    args = argparse.Namespace(group=["demo"], results=results, docs=docs, check=False, commit="abc", date="d")
    assert run_command(args) == 0
    assert run_command(argparse.Namespace(**{**vars(args), "check": True})) == 0
    (results / "metrics" / "summary.md").write_text("changed\n")
    assert run_command(argparse.Namespace(**{**vars(args), "check": True})) == 1
