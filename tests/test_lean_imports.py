"""CompressAI's point-cloud half stays out of the jobs' imports, and still works when asked for
(coarse2fine/lean_imports.py), in the entry points that install the stand-ins (a pipeline job's
`run_stage`, the `c2f` tool's `main`) and nowhere else. Each check runs in a fresh interpreter:
the point is what an import does to sys.modules."""

import subprocess
import sys
import textwrap

# what an entry point does before it imports a command's module
ENTRY = "from coarse2fine.lean_imports import defer_unused_compressai_imports; defer_unused_compressai_imports()"


def run_fresh(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_coding_stack_imports_without_torch_geometric():
    out = run_fresh(f"""
        import sys
        {ENTRY}
        import coarse2fine.coding.codec_io
        from coarse2fine.models import build_codec
        print(sorted(m for m in ("torch_geometric", "torch._dynamo") if m in sys.modules))
    """)
    assert out.strip() == "[]"


def test_deferred_parts_of_compressai_still_load():
    out = run_fresh(f"""
        {ENTRY}
        import compressai
        from compressai.registry import TRANSFORMS
        from compressai.datasets import ImageFolder
        import compressai.transforms as transforms
        import torch_geometric.transforms
        print(ImageFolder.__name__, transforms.RandomSample.__name__,
              "RandomSample" in TRANSFORMS, "Compose" in TRANSFORMS, "NormalizeScale" in TRANSFORMS)
    """)
    assert out.split() == ["ImageFolder", "RandomSample", "True", "True", "True"]


def test_registry_is_the_same_as_compressai_alone():
    code = """
        {first}
        import compressai
        from compressai.registry import TRANSFORMS
        print(len(TRANSFORMS), sorted(TRANSFORMS)[:3], sorted(TRANSFORMS)[-3:])
    """
    alone = run_fresh(code.format(first=""))
    deferred = run_fresh(code.format(first=ENTRY))
    assert alone == deferred


def test_nothing_deferred_when_compressai_came_first():
    out = run_fresh("""
        import compressai
        from coarse2fine.lean_imports import defer_unused_compressai_imports
        import sys
        print(defer_unused_compressai_imports(), type(sys.modules["compressai.datasets"]).__name__)
    """)
    assert out.split() == ["False", "module"]


def test_coding_stack_leaves_scipy_stats_and_pandas_unloaded_until_used():
    """`c2f encode` / `c2f decode` pay for neither; scipy.stats still works when a name is read
    (CompressAI's Gaussian quantile, a statistic), from either import form."""
    out = run_fresh(f"""
        import sys
        {ENTRY}
        from coarse2fine.coding import decode_bitstream, encode_image, load_codec
        loaded = lambda: [m for m in ("scipy.stats._stats_py", "pandas") if m in sys.modules]
        print(loaded())
        from compressai.entropy_models import GaussianConditional
        print(round(float(GaussianConditional(None)._standardized_quantile(0.1)), 4))
        from scipy.stats import spearmanr
        import scipy.stats
        print(round(float(spearmanr([1, 2, 3], [1, 3, 2]).statistic), 2), type(scipy.stats.norm).__name__)
        print(loaded())
    """)
    lines = out.splitlines()
    assert lines[0] == "[]"
    assert lines[1] == "-1.2816" and lines[2] == "0.5 norm_gen"
    assert lines[3] == "['scipy.stats._stats_py']"


def test_importing_the_package_installs_no_stand_ins_and_the_entry_points_do():
    """No side effect on CompressAI from `import coarse2fine`; a pipeline job's entry point and
    the `c2f` tool's install the stand-ins before their command's module is imported."""
    out = run_fresh("""
        import sys
        import coarse2fine, coarse2fine.commands, coarse2fine.cli
        print(sorted(m for m in sys.modules if m.startswith("compressai")))
        from coarse2fine.commands import Command, run_stage
        run_stage("t", {"x": Command("", "builtins:id", "builtins:vars")}, ["x"])  # a command that does nothing
        print(type(sys.modules["compressai.datasets"]).__name__)
    """)
    lines = out.splitlines()
    assert lines[0] == "[]" and lines[-1] == "_DeferredPackage"
    out = run_fresh("""
        import sys
        from coarse2fine.cli import main
        main(["info", "/nonexistent.c2f"])  # a named error, exit status 1
        print(type(sys.modules["compressai.datasets"]).__name__)
    """)
    assert out.splitlines()[-1] == "_DeferredPackage"
