"""The few numbers per stage that `dvc metrics show` / `dvc metrics diff` compare across rounds.

Each stage's full summary (`reports/acquire.json`, `triage.json`,
`label_quality.json`, `al_metrics.json`) keeps everything a person or script
may look up; DVC is pointed only at `reports/metrics/<stage>.json`, a flat file
of headline numbers with names unique across stages, so `dvc metrics show` is
one readable table (a row per stage, about a dozen columns) and `dvc metrics
diff HEAD~1` says what a round changed. A value a summary lacks is left out,
never written as a placeholder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataprep.core.atomic import write_json

# stage -> {metric name: dotted key in that stage's summary}
HEADLINE: dict[str, dict[str, str]] = {
    "acquire": {"samples": "samples", "new_samples": "new_samples", "unreadable": "unreadable"},
    "triage": {"keep": "verdicts.keep", "redundant": "verdicts.redundant", "harmful": "verdicts.harmful"},
    "validate": {"accepted": "accepted", "quarantined": "quarantined_samples", "alpha": "agreement.alpha",
                 "gate_passed": "gate.passed"},
    "select": {"labels": "n_labels", "accuracy": "accuracy", "macro_f1": "macro_f1",
               "stop_agreement": "stop_agreement"},
}


def path(reports: Path, stage: str) -> Path:
    return reports / "metrics" / f"{stage}.json"


def write(reports: Path, stage: str, summary: dict[str, Any]) -> dict[str, Any]:
    """Write the stage's headline numbers taken from its full summary; returns them."""
    out: dict[str, Any] = {}
    for name, dotted in HEADLINE[stage].items():
        node: Any = summary
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, float):
            node = round(node, 4)
        if node is not None:
            out[name] = node
    write_json(path(reports, stage), out)
    return out
