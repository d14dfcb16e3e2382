"""The README's newcomer path, verbatim: its shell blocks are extracted from README.md (the
blocks under `<!-- newcomer: NAME -->`), never retyped, and run by bash from the checkout as a
new user would, with TMPDIR pointing into the test's folder so `mktemp -d` lands there.

Checked on what the person sees: every command succeeds, no Python or DVC warning reaches the
console, `status` names accepted labels and one next step, and every sample picture in the
report has its id beside it.
"""

from __future__ import annotations

import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import write_params

ROOT = Path(__file__).resolve().parents[1]
WARNING = re.compile(r"\b\w*Warning\b|WARNING:|warnings\.warn")


def readme_block(name: str) -> str:
    text = (ROOT / "README.md").read_text()
    m = re.search(rf"<!-- newcomer: {name} -->\s*```sh\n(.*?)```", text, re.S)
    assert m, f"README.md has no ```sh block under <!-- newcomer: {name} -->"
    return m.group(1)


MARK = "=== the tutorial starts ==="


def run_readme(tmp_path: Path, *names: str) -> str:
    """Run the blocks in one shell (the activation carries over); returns the output of the last one."""
    parts = [readme_block(n) for n in names]
    script = ("set -euo pipefail\n" + "\n".join(parts[:-1]) + f"\necho '{MARK}'; echo '{MARK}' >&2\n" + parts[-1]
              + "\npwd > \"$TMPDIR/project-dir\"\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "LABEL_STUDIO"))}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(ROOT / ".venv")))
    env["TMPDIR"] = str(tmp_path)
    res = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    out = res.stdout + res.stderr
    assert res.returncode == 0, f"the README's {names} lines failed (exit {res.returncode}):\n{out[-3000:]}"
    return res.stdout.split(MARK, 1)[1] + res.stderr.split(MARK, 1)[1]


class _Pictures(HTMLParser):
    """Every <img> of the report with whether it is a plot and whether its sample cell carries an id."""

    def __init__(self):
        super().__init__()
        self.stack: list[dict] = []
        self.images: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div":
            self.stack.append({"cell": "g" in (a.get("class") or "").split(), "imgs": [], "sid": False})
        elif tag == "img":
            img = {"plot": "plot" in (a.get("class") or "").split(), "cell": None}
            self.images.append(img)
            cell = next((c for c in reversed(self.stack) if c["cell"]), None)
            if cell is not None:
                cell["imgs"].append(img)
                img["cell"] = cell
        elif tag == "code" and "sid" in (a.get("class") or "").split():
            cell = next((c for c in reversed(self.stack) if c["cell"]), None)
            if cell is not None:
                cell["sid"] = True

    def handle_endtag(self, tag):
        if tag == "div" and self.stack:
            self.stack.pop()


def samples_without_id(report: Path) -> tuple[int, int]:
    p = _Pictures()
    p.feed(report.read_text())
    samples = [i for i in p.images if not i["plot"]]
    return len(samples), sum(1 for i in samples if i["cell"] is None or not i["cell"]["sid"])


@pytest.mark.parametrize("tutorial", ["images", "text"])
def test_readme_newcomer_path_verbatim(tmp_path, tutorial):
    out = run_readme(tmp_path, "setup", tutorial)
    project = Path((tmp_path / "project-dir").read_text().strip())
    assert project.is_relative_to(tmp_path)                           # the README's mktemp -d, under our TMPDIR
    noisy = [line for line in out.splitlines() if WARNING.search(line)]
    assert not noisy, f"warnings reached the console: {noisy[:5]}"
    assert "Traceback" not in out
    assert re.search(r"validation: \d+ accepted", out) and out.count("next: ") == 1
    if tutorial == "images":
        assert "blocked annotators: ann07" in out                     # the spammer, caught in round 1's answers
        report = project / "reports" / "report.html"
        n, bare = samples_without_id(report)
        assert n > 20 and bare == 0, f"{bare} of {n} sample pictures in the report have no id beside them"
        page = report.read_text()
        assert "id='confusion'" in page and "id=\"issues-table\"" in page
        assert "<h2>Labeling cost</h2>" in page and "where a fixed overlap of 3 takes" in page
    else:
        assert re.search(r"reports/metrics/select\.json\s+\S", out)    # dvc metrics show: one readable table
        assert "failed to load" not in out


def test_default_demo_round_prints_no_warning(tmp_path):
    """`dataprep demo` and then a round as the user runs it (`dvc repro` in the demo project, where
    the model trains, the label checks run and the stopping rule is asked): nothing but our lines."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    demo = subprocess.run(["dataprep", "demo", "--rounds", "1", "--dir", str(tmp_path / "demo")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    again = subprocess.run(["dvc", "repro"], cwd=tmp_path / "demo", env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    out = demo.stdout + demo.stderr + again.stdout + again.stderr
    noisy = [line for line in out.splitlines() if WARNING.search(line)]
    assert not noisy, f"warnings reached the console: {noisy[:5]}"
    assert "test accuracy" in again.stdout                # round 2 trained and evaluated a model


def test_library_warnings_become_one_note(tmp_path):
    """A user's encoder that returns one vector for every image makes scikit-learn's k-means warn
    at the cold start: the console shows our one-line note naming the cause, not the warning;
    the warning itself is in .dataprep/warnings.log."""
    from dataprep.demo.examples import image_folder

    image_folder(tmp_path / "src", n_per_class=40)
    (tmp_path / "flat.py").write_text("import numpy as np\n\ndef embed(paths):\n"
                                      "    return np.ones((len(paths), 8), np.float32)\n")
    write_params(tmp_path, "src", init=True, features__embedding="flat:embed")
    out = ""
    for cmd in (["acquire"], ["features"], ["triage"], ["select"]):
        res = subprocess.run(["dataprep", *cmd], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stdout + res.stderr
        out += res.stdout + res.stderr
    assert not [line for line in out.splitlines() if WARNING.search(line)], out
    assert out.count("note: k-means found 1 distinct cluster(s)") == 1 and "features.embedding" in out
    log = (tmp_path / ".dataprep" / "warnings.log").read_text()
    assert "ConvergenceWarning" in log and "Number of distinct clusters (1)" in log
