"""The parts and their import rules: each module imports on its own, and the contracts in
pyproject.toml ([tool.importlinter]) hold."""

import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("dataprep", "labeling", "active_learning", "augment")
MODULES = sorted(".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
                 for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py") if p.stem != "__main__")


def test_layer_contracts_hold():
    res = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in res.stdout


def test_the_tree_shows_the_parts():
    """The face (dataprep/ and its commands), the core (dataprep/core/), the three parts and the
    demo helpers apart (dataprep/demo/): a core module at the top of dataprep/ would mean the
    tree hides which is which again."""
    core = {p.stem for p in (REPO / "dataprep" / "core").glob("*.py")}
    face = {p.stem for p in (REPO / "dataprep").glob("*.py")}
    assert {"store", "config", "acquire", "features", "triage", "export", "progress"} <= core
    assert not core & face - {"__init__"}, core & face
    assert {"run", "examples", "studio_sim", "studio_users", "ui_check"} <= {p.stem for p in (REPO / "dataprep" / "demo").glob("*.py")}
    assert [p.parent.name for p in REPO.glob("*/cli.py")] == ["dataprep"]      # the parts hold no commands


# The third-party libraries the modules import, loaded once before the forks: only our own
# modules must import alone (a cycle among them cannot hide behind a library).
LIBRARIES = ("numpy", "pandas", "pyarrow.parquet", "scipy.sparse", "sklearn.linear_model", "sklearn.cluster",
             "sklearn.neighbors", "typer", "rich", "yaml", "requests", "joblib", "PIL.Image", "pydantic",
             "label_studio_sdk", "albumentations", "starlette.applications")
FORKED = """
import importlib, os, sys
for lib in sys.argv[1].split(","):
    try:
        importlib.import_module(lib)
    except ImportError:
        pass
for m in sys.argv[2:]:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(m)
        except BaseException as exc:
            sys.stderr.write(f"{m}: {type(exc).__name__}: {exc}\\n")
            sys.stderr.flush()
            os._exit(1)
        os._exit(0)
    if os.waitpid(pid, 0)[1] != 0:
        print(m, flush=True)
"""


def test_every_module_imports_alone():
    """Each of our modules imported into an interpreter that holds none of the others (a fork of
    one that loaded the third-party libraries only), so an import cycle cannot hide behind
    another import."""
    res = subprocess.run([sys.executable, "-c", FORKED, ",".join(LIBRARIES), *MODULES], cwd=REPO, capture_output=True,
                         text=True, env={"PATH": "", "NO_ALBUMENTATIONS_UPDATE": "1", "OPENBLAS_NUM_THREADS": "1",
                                         "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    assert not res.stdout.split(), res.stderr[-3000:]
    assert len(MODULES) > 40
