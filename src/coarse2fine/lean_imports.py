"""Keep CompressAI's point-cloud half out of every job's start-up.

`import compressai` imports all of its subpackages, and two of them import torch_geometric (and
through it torch._dynamo) for point-cloud datasets and transforms this project never uses: about
2 s of every pipeline job's start-up, and half a second more on a cold file cache (BENCHMARKS.md,
"Start-up cost of a pipeline job"). The two entry points whose start-up is paid on every call,
a pipeline job's `commands.run_stage` and the `c2f` tool's `cli.main`, call
`defer_unused_compressai_imports()` before they import a command's module; importing the package
does not (a library user's CompressAI stays as CompressAI makes it). It puts in front of it:

- `compressai.datasets` and `compressai.transforms` as stand-ins that import the real package,
  unchanged, the first time a name is read from them, so code that uses them still works;
- `compressai.registry.transforms`, whose import builds its TRANSFORMS table from
  torch_geometric's transforms at once, as the same module without those entries: the registry's
  decorator and torchvision's transforms stay; torch_geometric's are added the moment anything
  imports it;
- `scipy.stats`, which CompressAI's entropy models import for one call (a Gaussian quantile
  when a scale table is built, never when a trained model codes), as the same kind of stand-in:
  about 0.5 s of every `c2f encode` / `c2f decode` call. (Not the standard library's LazyLoader:
  torch's import walks sys.modules reading every module's __file__, which would load it.)

CompressAI is pinned (requirements.txt); tests/test_lean_imports.py checks that the coding stack
works this way, that torch_geometric stays out, and that the deferred subpackages still load.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types

DEFERRED_SUBPACKAGES = ("compressai.datasets", "compressai.transforms")
DEFERRED_MODULES = ("scipy.stats",)


class _DeferredPackage(types.ModuleType):
    """Stands in sys.modules for a package (a CompressAI subpackage, scipy.stats) until a name is read from it; then the
    real package is imported (unchanged) and takes its place. Its __spec__, __file__ and __path__
    are the real package's, so the import system and tools that walk sys.modules read them
    without loading anything."""

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self.load(), attr)

    def load(self) -> types.ModuleType:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        return importlib.import_module(name)


def _deferred_package(name: str, search_path: list[str]):
    spec = importlib.machinery.PathFinder.find_spec(name, search_path)
    if spec is None or not spec.submodule_search_locations:
        return None
    module = _DeferredPackage(name)
    module.__file__ = spec.origin
    module.__path__ = list(spec.submodule_search_locations)
    module.__spec__ = spec  # read, not loaded: the import system sees a module already imported
    module.__package__ = name
    sys.modules[name] = module
    return module


class _DeferredTransforms(dict):
    """CompressAI's TRANSFORMS table: torchvision's and torch_geometric's transforms are added the
    first time anything reads it; names registered before then keep their registration."""

    def _fill(self):
        if self.__dict__.get("filled"):
            return
        self.__dict__["filled"] = True
        import torchvision.transforms

        sources = [torchvision.transforms]
        if importlib.util.find_spec("torch_geometric") is not None:
            import torch_geometric.transforms

            sources.append(torch_geometric.transforms)
        for source in sources:
            for key, value in vars(source).items():
                if key[0].isupper():
                    self.setdefault(key, value)
        # CompressAI's own transforms register themselves when their package is imported
        package = sys.modules.get("compressai.transforms")
        if isinstance(package, _DeferredPackage):
            package.load()

    def _reader(name):
        def read(self, *args, **kwargs):
            self._fill()
            return getattr(dict, name)(self, *args, **kwargs)

        read.__name__ = name
        return read

    for _name in (
        "__getitem__",
        "__contains__",
        "__iter__",
        "__len__",
        "__repr__",
        "get",
        "keys",
        "values",
        "items",
        "copy",
    ):
        locals()[_name] = _reader(_name)
    del _name, _reader


def _registry_transforms() -> types.ModuleType:
    module = types.ModuleType(
        "compressai.registry.transforms", "CompressAI's transform registry; its table filled on first read"
    )
    module.TRANSFORMS = _DeferredTransforms()

    def register_transform(name: str):
        def decorator(cls):
            dict.__setitem__(module.TRANSFORMS, name, cls)
            return cls

        return decorator

    module.register_transform = register_transform
    module.__all__ = ["TRANSFORMS", "register_transform"]
    return module


def _defer_module(name: str) -> None:
    """`name` (a package) in sys.modules as a stand-in until a name is read from it."""
    if name in sys.modules:
        return
    parent = importlib.util.find_spec(name.rpartition(".")[0])  # finds, does not import, the parent
    if parent is not None and parent.submodule_search_locations:
        _deferred_package(name, list(parent.submodule_search_locations))


def defer_unused_compressai_imports() -> bool:
    """Install the lazy modules if CompressAI has not been imported yet; True if installed."""
    if "compressai" in sys.modules:
        return False
    spec = importlib.util.find_spec("compressai")  # finds, does not import, a top-level package
    if spec is None or not spec.submodule_search_locations:
        return False
    search_path = list(spec.submodule_search_locations)
    for name in DEFERRED_SUBPACKAGES:
        if _deferred_package(name, search_path) is None:
            return False
    sys.modules["compressai.registry.transforms"] = _registry_transforms()
    for name in DEFERRED_MODULES:
        _defer_module(name)
    return True
