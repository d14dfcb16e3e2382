"""Every modality a user brings, through `dataprep init` + 3 real `dvc repro` rounds.

Images as people have them (transparency carrying the class, EXIF rotation,
palette and animated GIFs, 16-bit, CMYK), a CSV of texts and a tabular CSV,
with simulated annotators. Each run is traced (`DATAPREP_TRACE`) and the trace
checked against `dvc.yaml`: every setting a stage's code read is declared in
its `params:` (or interpolated into its paths), every file it wrote is one of
its outputs. The declarations are thus derived from the code, not a hand list.
"""

from __future__ import annotations

import json
import os
import re

import pandas as pd
import pytest
import yaml
from dataprep.demo.examples import SHAPES, image_folder, tabular_csv, text_csv

from dataprep.core import store
from conftest import write_params
from dataprep.demo.run import dvc_env, repro

ROUNDS = 3


def _project(path, source, **overrides):
    return write_params(path, source, init=True, **{"select__batch_size": 15, "select__cold_start_min_labels": 10,
                                                    **overrides})


def _rounds(path, n=ROUNDS):
    trace = path / "trace.jsonl"
    env = {**dvc_env(), "DATAPREP_TRACE": str(trace)}
    curve = []
    for _ in range(n):
        res = repro(path, env)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "Traceback" not in res.stdout + res.stderr
        m = json.loads((path / "reports" / "al_metrics.json").read_text())
        curve.append(m)
    return curve, [json.loads(line) for line in trace.read_text().splitlines()]


def _stage_of(argv: list[str], stages: dict) -> str | None:
    cmd = "dataprep " + " ".join(a for a in argv if not a.startswith("-"))
    return next((name for name, st in stages.items() if st["cmd"] == cmd), None)


def check_contract(path, traces):
    """Each stage declares what its code read and wrote (see module docstring)."""
    stages = yaml.safe_load((path / "dvc.yaml").read_text())["stages"]
    params = yaml.safe_load((path / "params.yaml").read_text())
    data, reports = params["project"]["data_dir"], params["project"]["reports_dir"]
    seen, problems = set(), set()
    for t in traces:
        name = _stage_of(t["argv"], stages)
        assert name, f"a traced command is no stage: {t['argv']}"
        seen.add(name)
        st = stages[name]
        text = json.dumps(st)
        declared = set(st.get("params", []))
        for key in t["reads"]:
            section = key.split(".")[0]
            ok = key in declared or section in declared or "${" + key + "}" in text
            if not ok:
                problems.add(f"stage {name} reads {key} but does not declare it in dvc.yaml")
        outs = []
        for kind in ("outs", "metrics", "plots"):
            for o in st.get(kind, []):
                p = o if isinstance(o, str) else next(iter(o))
                outs.append(p.replace("${project.data_dir}", data).replace("${project.reports_dir}", reports))
        for w in t["writes"]:
            rel = os.path.relpath(w, path)
            if rel.startswith(".dataprep" + os.sep) or rel.startswith(".."):
                continue        # scratch outside the dataset (caches, the simulated backend's side)
            if not any(rel == o or rel.startswith(o.rstrip("/") + "/") for o in outs):
                problems.add(f"stage {name} writes {rel} but does not declare it")
    assert not problems, "\n".join(sorted(problems))
    assert seen == set(stages), f"stages never traced: {set(stages) - seen}"
    assert not deprecated_calls_of_ours(path)


DEPRECATIONS = ("DeprecationWarning", "PendingDeprecationWarning", "FutureWarning", "Pandas4Warning")
OURS = ("dataprep", "labeling", "active_learning", "augment")


def deprecated_calls_of_ours(path) -> list[str]:
    """Lines of the project's warnings log where our own code calls what a library says will
    change or go (pandas' "in a future version ... will raise"): they work today and break on
    the next upgrade, and no console shows them."""
    log = path / ".dataprep" / "warnings.log"
    rows = [line.split("\t") for line in log.read_text().splitlines()] if log.exists() else []
    return [" ".join(r) for r in rows if len(r) > 3 and r[2] in DEPRECATIONS
            and any(f"{os.sep}{part}{os.sep}" in r[3] for part in OURS)]


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    src = image_folder(root / "src", n_per_class=36, shapes=SHAPES)
    path = _project(root / "p", src)
    # 4 rounds: three models on the learning curve
    return path, *_rounds(path, n=ROUNDS + 1)


def test_images_as_people_have_them(image_run):
    path, curve, traces = image_run
    man = store.read_table(path / "data", "manifest")
    assert len(man) == 180
    tri = store.read_table(path / "data", "triage")
    # transparent icons keep their drawing: nothing is called blank, almost everything is kept
    assert not tri["flags"].str.contains("blank").any(), tri["flags"].value_counts()
    assert (tri["triage"] == "keep").mean() > 0.9
    labels = store.read_table(path / "data", "labels")
    assert len(labels) > 0
    acc = [m["accuracy"] for m in curve if "accuracy" in m]
    n = [m["n_labels"] for m in curve if "accuracy" in m]
    # the shapes are easy (a 15-label model already reaches ~.95), so the check is that the loop
    # keeps learning from real labels: labels grow and the last model is good and near the best
    # (at 15-40 labels over 5 classes one round can dip while ties await re-annotation, and on 55
    # test images a dip is a few images: one machine gave 1.0 then .945 (3 images; one of 44
    # accepted labels wrong) on every run, where the same code passed on another)
    assert len(acc) >= 2 and n == sorted(n) and n[-1] > n[0], curve
    assert acc[-1] > 0.85 and acc[-1] >= max(acc) - 0.1, curve
    lin = pd.read_parquet(path / "export" / "lineage.parquet")
    assert len(lin) and (path / "reports" / "augment_preview.png").exists()


def test_images_contract(image_run):
    path, _, traces = image_run
    check_contract(path, traces)


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("text")
    src = text_csv(root / "corpus.csv", n_per_class=60)
    # 20 a round: at 15, round 3's model learned from 27 labels once label.check_share's pairs
    # could tie (a tie waits for a third annotator), and read .597 against .79 from 30
    path = _project(root / "p", src, select__batch_size=20)
    return path, *_rounds(path)


def test_text_rounds(text_run):
    path, curve, traces = text_run
    assert (path / "data" / "raw" / "text.parquet").exists()
    assert (path / "data" / "features" / "sparse.npz").exists()
    acc = [m["accuracy"] for m in curve if "accuracy" in m]
    assert acc and acc[-1] > 0.6, curve
    assert len(store.read_table(path / "data", "labels")) > 0
    check_contract(path, traces)


def test_tabular_rounds(tmp_path):
    src = tabular_csv(tmp_path / "table.csv", written=True)     # f1 as money: $1,234.56
    path = _project(tmp_path / "p", src)
    curve, traces = _rounds(path)
    acc = [m["accuracy"] for m in curve if "accuracy" in m]
    assert acc and acc[-1] > 0.6, curve
    check_contract(path, traces)
    # the money column is a feature, read as the numbers it shows
    table = pd.read_parquet(path / "data" / "raw" / "tabular.parquet")
    assert table["f1"].dtype == "float64" and table["f1"].abs().max() > 100, table.dtypes
    # the report shows a row by its values (it showed 'nan', the text a table row lacks)
    import subprocess
    res = subprocess.run(["dataprep", "report"], cwd=path, capture_output=True, text=True, env=dvc_env())
    assert res.returncode == 0, res.stderr
    assert not deprecated_calls_of_ours(path)
    # the random baseline reads true labels, and the headline says so and gives ours on true labels beside it
    assert re.search(r"\(\d+\.\d% had each its true label\) vs \d+\.\d% for as many random samples with their true "
                     r"labels", res.stdout), res.stdout
    cells = re.findall(r"<div class='txt'>([^<]*)</div>", (path / "reports" / "report.html").read_text())
    assert cells and all(c.startswith("f0=") or c.startswith("f1=") for c in cells), cells[:3]


def test_edit_params_then_repro(text_run):
    """Editing params.yaml is enough: a changed setting re-runs the stages that read it."""
    path, _, _ = text_run
    raw = yaml.safe_load((path / "params.yaml").read_text())
    raw["triage"]["n_clusters"] = 7
    raw["select"]["batch_size"] = 5
    (path / "params.yaml").write_text(yaml.safe_dump(raw))
    res = repro(path, dvc_env())
    assert res.returncode == 0, res.stdout + res.stderr
    ran = {line.split("'")[1] for line in res.stdout.splitlines() if line.startswith("Running stage")}
    assert {"triage", "select"} <= ran
    assert store.read_table(path / "data", "triage")["cluster"].nunique() <= 7
