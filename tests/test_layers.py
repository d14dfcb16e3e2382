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


def test_every_module_imports_alone():
    """One fresh interpreter per module, so an import cycle cannot hide behind another import."""
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    failures = []
    for m in MODULES:
        res = subprocess.run([sys.executable, "-c", code, m], cwd=REPO, capture_output=True, text=True,
                             env={"PATH": "", "NO_ALBUMENTATIONS_UPDATE": "1"})
        if res.returncode != 0:
            failures.append(f"{m}: {res.stderr.strip().splitlines()[-1] if res.stderr.strip() else res.returncode}")
    assert not failures, "\n".join(failures)
    assert len(MODULES) > 40
