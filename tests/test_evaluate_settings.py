"""The evaluation jobs' settings: typed, filled from the config schema's defaults, unknown keys
and wrong types refused by name, and written in the order the jobs' command lines always had."""

import pytest

from coarse2fine.config_schema import schema_default
from coarse2fine.errors import SettingsError
from coarse2fine.evaluate.settings import TablesSettings, ViewsSettings

REFERENCE = {"kind": "reference"}


def test_absent_keys_take_the_schema_defaults():
    views = ViewsSettings.from_dict({"provider": REFERENCE, "view": None})
    assert views.classifiers == tuple(schema_default("evaluate.classifiers"))
    assert views.splits == tuple(schema_default("evaluate.splits"))
    assert views.reconstructions == schema_default("evaluate.reconstructions") and views.cpips is None
    tables = TablesSettings.from_dict({})
    assert (tables.bootstrap, tables.confidence, tables.bd_anchor) == (
        schema_default("evaluate.bootstrap"),
        schema_default("evaluate.confidence"),
        schema_default("evaluate.bd_anchor"),
    )
    assert tables.seed == schema_default("seed") and tables.judge is None


@pytest.mark.parametrize(
    "cls, data, message",
    [
        (ViewsSettings, {"provider": REFERENCE, "view": None, "bootstraps": 3}, r"unknown settings \['bootstraps'\]"),
        (ViewsSettings, {"view": None}, "provider: expected a mapping"),
        (ViewsSettings, {"provider": REFERENCE, "splits": ["val", "train"]}, "never evaluated"),
        (ViewsSettings, {"provider": REFERENCE, "classifiers": "efficientnet_lite1"}, "classifiers: expected a list"),
        (ViewsSettings, {"provider": REFERENCE, "threads": 1.5}, "threads: expected an integer"),
        (ViewsSettings, {"provider": REFERENCE, "max_images": True}, "max_images: expected an integer or null"),
        (TablesSettings, {"confidence": 95}, r"confidence: expected a number in \(0, 1\)"),
        (TablesSettings, {"bootstrap": None}, "bootstrap: expected an integer, got null"),
        (TablesSettings, {"judge": 3}, "judge: expected a name or null"),
        (TablesSettings, [], "must be a mapping"),
    ],
)
def test_bad_settings_are_refused_by_name(cls, data, message):
    with pytest.raises(SettingsError, match=message):
        cls.from_dict(data)


def test_a_round_trip_keeps_the_command_lines_order():
    data = {
        "provider": REFERENCE,
        "view": {"size": 224},
        "classifiers": ["efficientnet_lite1"],
        "splits": ["val", "test"],
        "max_images": None,
        "reconstructions": 0,
        "threads": 2,
    }
    assert list(ViewsSettings.from_dict(data).to_dict().items()) == list(data.items())
    with_cpips = ViewsSettings.from_dict({**data, "cpips": "results/checkpoints/x/model.pt"}).to_dict()
    assert list(with_cpips)[-1] == "cpips"
    tables = {"bootstrap": 200, "confidence": 0.9, "bd_anchor": None, "seed": 1, "judge": "efficientnet_lite1"}
    assert list(TablesSettings.from_dict(tables).to_dict().items()) == list(tables.items())
