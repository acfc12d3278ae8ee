"""`pip install .` gives a working package: the config schemas are package data, and the CLI's
default model is found, in order, through $C2F_DEFAULT_MODEL, the copy a built package carries
(setup.py), and the checkout's models/default/c2f/model.pt; where there is none, the error says
where it looked and how to get one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from coarse2fine.cli import common, main
from conftest import REPO, save_tiny_checkpoint


@pytest.fixture
def png(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, size=(48, 80, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def no_shipped_model(tmp_path, monkeypatch):
    """A package with no default model: not installed with it, none in the checkout, no variable."""
    monkeypatch.delenv(common.MODEL_VARIABLE, raising=False)
    monkeypatch.setattr(common, "PACKAGED_MODEL", tmp_path / "package" / "model.pt")
    monkeypatch.setattr(common, "CHECKOUT_MODEL", tmp_path / "checkout" / "model.pt")


def test_a_missing_default_model_says_where_it_looked_and_what_to_do(tmp_path, png, no_shipped_model, capsys):
    assert main(["encode", str(png), "-o", str(tmp_path / "x.c2f")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line
    assert err.startswith("c2f encode: error: no --model given and no default model found")
    for where in ("$C2F_DEFAULT_MODEL (not set)", str(tmp_path / "package"), str(tmp_path / "checkout")):
        assert where in err
    assert "make pull-models" in err and "set C2F_DEFAULT_MODEL" in err and "--model" in err
    assert not (tmp_path / "x.c2f").exists()


def test_the_variable_names_the_default_model(tmp_path, png, no_shipped_model, monkeypatch, capsys):
    monkeypatch.setenv(common.MODEL_VARIABLE, str(tmp_path / "nowhere.pt"))
    assert main(["decode", str(tmp_path / "x.c2f"), "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"C2F_DEFAULT_MODEL={tmp_path / 'nowhere.pt'} is not a file" in err

    checkpoint = save_tiny_checkpoint(tmp_path / "tiny" / "model.pt")
    monkeypatch.setenv(common.MODEL_VARIABLE, str(checkpoint))
    stream = tmp_path / "x.c2f"
    assert main(["encode", str(png), "-o", str(stream), "--quiet"]) == 0
    assert main(["info", str(stream)]) == 0
    assert "the default model ($C2F_DEFAULT_MODEL)" in capsys.readouterr().out
    monkeypatch.setenv(common.MODEL_VARIABLE, "")  # empty: unset
    assert main(["info", str(stream)]) == 0
    assert "unknown (no default model here)" in capsys.readouterr().out


def test_the_schemas_are_package_data():
    from coarse2fine import config_schema

    package = Path(common.__file__).resolve().parents[1]
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["coarse2fine"]
    schemas = sorted((package / "schemas").iterdir())
    assert {config_schema.CONFIG_SCHEMA, config_schema.HIERARCHY_SCHEMA} <= set(schemas)
    for schema in schemas:
        assert any(fnmatch(schema.relative_to(package).as_posix(), glob) for glob in globs), schema
    assert not (REPO / "workflow" / "schemas").exists()  # one copy


# What a build reads from a checkout (pyproject.toml names README.md as the readme).
BUILD_FILES = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "src"]
SHIPPED = ["models/default/c2f/model.pt", "models/default/c2f/provenance.json"]


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.slow
def test_a_non_editable_install_runs_with_its_shipped_default_model(tmp_path, png):
    """Builds and installs a copy of the checkout (not editable) into a fresh environment and runs
    `c2f encode`, `info` and `decode` from a folder outside it, with the default model the package
    carries. The pinned dependencies come from the environment running the tests (that pyproject
    pins them as requirements.txt does is tests/test_user_commands.py's check), so the
    environment is built in seconds: it sees that environment's site-packages as a path, without
    its .pth files (the checkout's editable install among them), and coarse2fine only from its
    own site-packages."""
    if not (REPO / SHIPPED[0]).is_file():
        pytest.skip(f"{SHIPPED[0]} is not pulled here (make pull-models): nothing to ship")
    started = time.monotonic()
    source = tmp_path / "checkout"
    source.mkdir()
    for name in BUILD_FILES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(REPO / name, source / name)
    for name in SHIPPED:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python, c2f = venv / "bin" / "python", venv / "bin" / "c2f"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_test_dependencies.pth").write_text("".join(f"{path}\n" for path in sorted(dependencies)))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", common.MODEL_VARIABLE)}
    # --ignore-installed: the tests' environment's coarse2fine (an editable install) is visible
    # through the path above; pip must neither see it as installed nor remove it
    _run(
        [python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--ignore-installed", "-q", str(source)],
        env=env,
        cwd=source,
    )
    built = time.monotonic()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = dict(env=env, cwd=elsewhere)
    imported = _run([python, "-c", "import coarse2fine; print(coarse2fine.__file__)"], **run).stdout.strip()
    assert Path(imported).is_relative_to(site), imported  # the installed package, not src/
    schema = "from coarse2fine.config_schema import schema_default; print(schema_default('view.size'))"
    assert _run([python, "-c", schema], **run).stdout.strip().isdigit()
    assert (site / "coarse2fine" / "resources" / "default_model" / "provenance.json").is_file()

    shutil.copy2(png, elsewhere / "photo.png")
    _run([c2f, "encode", "photo.png", "-o", "photo.c2f", "--threads", "2"], **run)
    info = _run([c2f, "info", "photo.c2f"], **run).stdout
    assert "the default model (installed with the package)" in info, info
    _run([c2f, "decode", "photo.c2f", "-o", "photo_decoded.png", "--threads", "2"], **run)
    with Image.open(elsewhere / "photo_decoded.png") as decoded, Image.open(png) as original:
        assert decoded.size == original.size == (80, 48)
    print(f"build and install {built - started:.1f} s, commands {time.monotonic() - built:.1f} s")
