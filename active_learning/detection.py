"""A detection round: the images worth boxing next, with the detector's boxes as pre-annotations.

The model is the team's detector (`dataprep.core.detectors`, `select.detector`); dataprep
trains none. Without one (the first rounds, or a team that has none yet) every round is a
cold start: diverse images on the embeddings (`strategies.cold_start`, clustered with the
images already labeled so each round fills what the last left). With one: the least decided
images by their boxes' scores, spread out on the embeddings (`box_uncertainty_kmeans`), and
every pick carries the detector's boxes scoring `select.preannotate_min_score` or more as its
pre-annotation. Re-annotation requests from validation (an image whose boxes are in doubt)
win a share of the batch by the same one score as for classes (`round.requests_in_batch`):
1 - the image's confidence, against 1 - the chance the detector's boxes are all right.
Gold images (known boxes) go out like classification's gold tasks.

Writes what a classification round writes (selection, al_state, al_metrics, learning curve
untouched: there is no test accuracy of a detector here).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from dataprep.core.detectors import load_detector
from active_learning.round import (_finish, gold_positions, _reannotation_rows, _sent_any, _waiting_batch, _why_not_selectable,
                                   current_round, open_requests, requests_in_batch, selectable)
from active_learning.strategies import DETECTION_STRATEGIES, cold_start, query, random_sampling
from dataprep.core import progress, store
from dataprep.core.ids import among
from dataprep.core.errors import UserError
from dataprep.core.features import load_features, rows_of
from dataprep.core.models import model_version
from dataprep.core.project import Project


def _strategy(name: str) -> str:
    if name in DETECTION_STRATEGIES or name in ("random", "cold_start"):
        return name
    if name == "margin_kmeans":          # the default names the classification strategy
        return "box_uncertainty_kmeans"
    raise UserError(f"select.strategy: {name!r} is for classification; detection rounds use "
                    f"{', '.join([*DETECTION_STRATEGIES, 'random', 'cold_start'])}")


def preannotation(boxes: list[dict], min_score: float) -> tuple[str | None, float | None]:
    """The pre-annotation shown to annotators (JSON boxes at or above `min_score`) and its
    confidence (the mean score of those boxes), or (None, None) when no box qualifies."""
    keep = [b for b in boxes if b.get("score", 1.0) >= min_score]
    if not keep:
        return None, None
    return json.dumps(keep), float(np.mean([b.get("score", 1.0) for b in keep]))


def _p_wrong(boxes: list[dict]) -> float:
    """The chance the detector's boxes of an image are not all right: 1 - prod max(s, 1 - s)."""
    s = np.array([b.get("score", 1.0) for b in boxes], float)
    return float(1 - np.prod(np.maximum(s, 1 - s))) if len(s) else 0.5


def run_detection_round(project: Project) -> dict[str, Any]:
    cfg = project.cfg.select
    data = project.data
    strategy = _strategy(cfg.strategy)
    manifest = store.read_table(data, "manifest")
    G, index = load_features(project, manifest)
    candidates = selectable(project, manifest)
    labels = store.read_table(data, "labels", ["sample_id", "label", "method"])
    labels = labels[labels["method"] != "auto"]
    detector = load_detector(cfg.detector, project, manifest)
    rnd = current_round(data)
    name = detector.fingerprint if detector is not None else "no-detector"
    version = model_version(f"detector:{name}", {}, labels.set_index("sample_id")["label"])
    if len(candidates) == 0:
        if not _sent_any(data, manifest):
            raise UserError(_why_not_selectable(project, manifest))
        metrics = {"round": rnd, "n_labels": int(len(labels)), "strategy": "none", "model_version": version,
                   "selected": 0, "selectable": 0, "exhausted": True,
                   "note": _why_not_selectable(project, manifest)}
        return _finish(project, metrics)
    waiting = _waiting_batch(data, version)
    if waiting is not None:
        return _finish(project, {"round": waiting, "n_labels": int(len(labels)), "model_version": version,
                                 "selected": 0, "strategy": "none",
                                 "skipped": f"no new labels or detector since round {waiting}'s batch was sent"},
                       curve=False)
    batch = min(cfg.batch_size, len(candidates))
    requests = (open_requests(data, store.read_table(data, "requests")) if project.cfg.label.reannotate
                else store.empty("requests"))
    ids = candidates.to_numpy()
    Gc = np.asarray(G[rows_of(index, ids)], dtype=np.float32)
    lab_rows = rows_of(index, labels["sample_id"][among(labels["sample_id"], index)])
    cold = detector is None or strategy == "cold_start"
    with progress.activity(f"select: scoring {len(ids)} images" + ("" if cold else f" with {name}")):
        predicted = detector.predict(ids) if detector is not None else [[] for _ in ids]
    pool_wrong = np.array([_p_wrong(b) for b in predicted]) if detector is not None else np.full(len(ids), 0.5)
    n_re = requests_in_batch(requests, pool_wrong, batch)
    batch -= n_re
    if batch == 0:
        picked = np.zeros(0, int)
    elif cold:
        strategy = "cold_start"
        picked = cold_start(None, Gc, batch, random_state=cfg.random_state + rnd,
                            X_labeled=np.asarray(G[lab_rows]), pick=cfg.cold_start)
    elif strategy == "random":
        picked = random_sampling(None, Gc, batch, random_state=cfg.random_state + rnd)
    else:
        picked = query(DETECTION_STRATEGIES[strategy], detector, ids, batch, {
            "chunk_size": cfg.chunk_size, "shortlist_factor": cfg.shortlist_factor,
            "random_state": cfg.random_state + rnd, "X_labeled": np.asarray(G[lab_rows]), "X_embed": Gc})
    picked = np.asarray(picked, int)
    scores = np.array([1 - _p_wrong(predicted[i]) for i in picked]) if detector is not None else \
        np.linspace(1.0, 0.0, len(picked), endpoint=False)
    pre = [preannotation(predicted[i], cfg.preannotate_min_score) for i in picked]
    sel = pd.DataFrame({"sample_id": ids[picked], "score": scores, "rank": np.arange(1, len(picked) + 1),
                        "strategy": strategy, "model_version": version, "round": rnd,
                        "prediction": [p for p, _ in pre], "confidence": [c for _, c in pre]})
    if cold and project.cfg.label.calibration_overlap > project.cfg.label.overlap and len(labels) == 0:
        sel["n_wanted"] = project.cfg.label.calibration_overlap      # who is reliable, before tasks go out alone
    sel = pd.concat([sel, _gold(project, manifest, candidates, picked, predicted, version, rnd)], ignore_index=True)
    if n_re:
        sel = pd.concat([sel, _reannotation_rows(requests, n_re, len(sel) + 1, version, rnd)], ignore_index=True)
    old = store.read_table(data, "selection")
    store.write_table(data, "selection", pd.concat([old[old["round"] != rnd], sel], ignore_index=True)
                      if len(old) else sel)
    metrics = {"round": rnd, "n_labels": int(len(labels)), "strategy": strategy, "model_version": version,
               "selected": int(len(sel)), "selectable": int(len(candidates)), "cold_start": bool(cold),
               "reannotate": int(n_re), "open_requests": int(len(requests)), "detector": name,
               "preannotated": int(sum(p is not None for p, _ in pre))}
    return _finish(project, metrics)      # no test accuracy: the learning curve keeps its header only


def _gold(project: Project, manifest: pd.DataFrame, candidates: pd.Series, picked: np.ndarray,
          predicted: list[list[dict]], version: str, rnd: int) -> pd.DataFrame:
    """Gold images (true boxes known) for this round, `label.gold_share` of what is sent, with
    the detector's pre-annotation like any other task."""
    pos = gold_positions(project, manifest, candidates, picked)
    if len(pos) == 0:
        return pd.DataFrame(columns=list(store.SCHEMAS["selection"]))
    pre = [preannotation(predicted[i], project.cfg.select.preannotate_min_score) for i in pos]
    return pd.DataFrame({"sample_id": candidates.iloc[pos].to_numpy(), "score": None,
                         "rank": np.arange(len(picked) + 1, len(picked) + len(pos) + 1), "strategy": "gold",
                         "model_version": version, "round": rnd, "prediction": [p for p, _ in pre],
                         "confidence": [c for _, c in pre]})
