"""The build step that ships the CLI's default model with the package.

Everything else is declared in pyproject.toml. The default model (models/default/c2f/model.pt)
is DVC-tracked, not committed, so it cannot be ordinary package data: where the checkout a
package is built from has it (`make pull-models`), a non-editable build copies it, with its
provenance.json (`c2f info` reads the model's identity there), into the built package as
coarse2fine/resources/default_model/, where the CLI looks after $C2F_DEFAULT_MODEL and before
the checkout (coarse2fine.cli.common.default_model). Without it the package builds with no
default model, and says so. MANIFEST.in carries the same files in a source distribution.
"""

import logging
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models" / "default" / "c2f"
DEFAULT_MODEL_FILES = ("model.pt", "provenance.json")
PACKAGED_DIR = ("coarse2fine", "resources", "default_model")  # as coarse2fine.cli.common.PACKAGED_MODEL


class BuildWithDefaultModel(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from the checkout, which finds models/ itself
        if not (DEFAULT_MODEL_DIR / "model.pt").is_file():
            self.announce(
                "warning: models/default/c2f/model.pt is not here (make pull-models): "
                "the package is built without a default model",
                level=logging.WARNING,
            )
            return
        target = Path(self.build_lib, *PACKAGED_DIR)
        self.mkpath(str(target))
        for name in DEFAULT_MODEL_FILES:
            if (DEFAULT_MODEL_DIR / name).is_file():
                self.copy_file(str(DEFAULT_MODEL_DIR / name), str(target / name))


setup(cmdclass={"build_py": BuildWithDefaultModel})
