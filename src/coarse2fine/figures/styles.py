"""How the evaluation figures tell codecs apart, and where they put the legend.

Every codec gets a colour and a line style of its own: the i-th codec takes colour i mod 10 and
dash pattern i mod 7, so neighbours differ in both and no two of the first 70 codecs share the
pair (10 and 7 are coprime). A codec trained with several seeds (`c2f`, `c2f_seed1`, ...) is
one family and one style: its seeds are drawn together (rate_accuracy.py).
"""

from __future__ import annotations

import re

import seaborn as sns

# solid, dashed, dotted, dash-dot, long dash, dash-dot-dot, short dash
DASHES = (
    (0, ()),
    (0, (5, 2)),
    (0, (1, 1.5)),
    (0, (5, 1.5, 1, 1.5)),
    (0, (9, 2.5)),
    (0, (4, 1.5, 1, 1.5, 1, 1.5)),
    (0, (2.5, 2.5)),
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*", "h")
SEED_SUFFIX = re.compile(r"_seed\d+$")


def seed_family(codec: str) -> str:
    """The recipe a codec repeats with another training seed: `c2f_seed3` -> `c2f`."""
    return SEED_SUFFIX.sub("", codec)


def families(codecs) -> dict[str, list[str]]:
    """Codecs grouped by seed family, families and their members sorted (the seedless run first)."""
    grouped: dict[str, list[str]] = {}
    for codec in sorted(set(codecs), key=lambda c: (seed_family(c), c != seed_family(c), c)):
        grouped.setdefault(seed_family(codec), []).append(codec)
    return dict(sorted(grouped.items()))


def codec_styles(names) -> dict[str, dict]:
    """matplotlib line keywords (color, linestyle, marker) per name, distinct per name."""
    colours = sns.color_palette("tab10", 10)
    return {
        name: {
            "color": colours[i % len(colours)],
            "linestyle": DASHES[i % len(DASHES)],
            "marker": MARKERS[i % len(MARKERS)],
        }
        for i, name in enumerate(names)
    }


def legend_outside(fig, axes) -> None:
    """One legend for the whole figure, right of the panels, so that it hides no curve; built
    from every panel's labelled lines (a codec may be missing from one panel), each name once."""
    handles: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if not label.startswith("_"):
                handles.setdefault(label, handle)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if handles:
        fig.legend(
            list(handles.values()),
            list(handles),
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
            fontsize=8,
            frameon=False,
        )
