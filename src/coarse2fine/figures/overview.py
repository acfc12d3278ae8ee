"""The opening page of `snakemake --report`: what the study is (workflow/report/workflow.rst),
then its results: the headline claim (its claim.md turned into reStructuredText), the
rate-accuracy figure and the training curves, the figures embedded so the page stands alone.

    python -m coarse2fine.figures overview --description workflow/report/workflow.rst \
        --figure results/figures/<h>/top1_vs_bpp.png [--claim .../claim.md] \
        [--training results/figures/<h>/training_curves.png] --output results/figures/report_overview.rst
"""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

from coarse2fine.files import write_atomic

# reStructuredText title adornments for markdown heading depths 1, 2, 3
ADORNMENTS = {1: "-", 2: "~", 3: "^"}


def _csv_row(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="").writerow(cells)
    return out.getvalue()


def markdown_to_rst(text: str, depth: int = 1) -> str:
    """The markdown our reports write (headings, paragraphs, `- ` lists, pipe tables) as
    reStructuredText; headings start at `depth` (1: a section under the page title)."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            title = line.lstrip("#").strip()
            out += [title, ADORNMENTS[min(depth + level - 1, 3)] * len(title), ""]
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(set(c) <= {"-", ":"} for c in cells):  # the header's rule
                    rows.append(cells)
                i += 1
            out += [".. csv-table::", "   :header-rows: 1", ""] + [f"   {_csv_row(r)}" for r in rows] + [""]
            continue
        else:
            out.append(line)
        i += 1
    return "\n".join(out) + "\n"


def embedded_image(png: Path, alt: str) -> str:
    """An image directive whose URI is the PNG itself, split into short lines: docutils refuses a
    line over 10,000 characters and joins a URI's lines back."""
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    lines = [data[i : i + 76] for i in range(0, len(data), 76)]
    body = "".join(f"   {line}\n" for line in lines)
    return f".. image:: data:image/png;base64,\n{body}   :alt: {alt}\n   :width: 100%\n"


def overview(description: Path, figure: Path, claim: Path | None, training: Path | None) -> str:
    parts = [Path(description).read_text().rstrip() + "\n"]
    if claim is not None:
        parts += ["The claim", "---------", "", markdown_to_rst(Path(claim).read_text(), depth=2)]
    else:
        parts += ["The claim", "---------", "", "No claim in this run: the method or its ablation was not trained.\n"]
    parts += ["Top-1 against rate, per level", "-----------------------------", ""]
    parts.append(embedded_image(figure, "top-1 of each level against bits per pixel, one line per codec"))
    if training is not None:
        parts += ["Training curves", "---------------", ""]
        parts.append(embedded_image(training, "training curves of every trained codec"))
    return "\n".join(parts)


def add_arguments(parser) -> None:
    parser.add_argument("--description", type=Path, required=True, help="the study's description (rst)")
    parser.add_argument("--figure", type=Path, required=True, help="the rate-accuracy figure (png)")
    parser.add_argument("--claim", type=Path, help="the headline claim's claim.md")
    parser.add_argument("--training", type=Path, help="the training curves (png)")
    parser.add_argument("--output", type=Path, required=True)


def run_command(args) -> int:
    write_atomic(args.output, overview(args.description, args.figure, args.claim, args.training).encode())
    return 0
