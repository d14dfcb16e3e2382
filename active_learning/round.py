"""One active-learning round: fit on accepted labels, score the pool, select, evaluate.

All loop state lives in tables keyed by `sample_id` (labels, tasks, quarantine,
triage); row positions are used only inside one call, against the feature
index. Writes `selection.parquet`, appends to `reports/learning_curve.csv` and
writes `reports/al_metrics.json`.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from dataprep.core.models import accepted_part, make_model, model_version
from active_learning.strategies import DEFAULT_CHUNK, STRATEGIES, _top, cold_start, query, scoring_ranges
from dataprep.core import model_store, progress, stage_metrics, store
from dataprep.core.annotation_value import p_wrong
from dataprep.core.atomic import write_json, write_text
from dataprep.core.errors import UserError
from dataprep.core.ids import among, seeded_key
from dataprep.core.features import load_features, model_features, rows_of, take
from dataprep.core.parallel import map_batches
from dataprep.core.project import Project
from dataprep.core.rows import Rows
from dataprep.core.triage import set_aside

CURVE_COLUMNS = ["round", "n_labels", "accuracy", "macro_f1", "strategy", "model_version", "stop_agreement"]


def current_round(data) -> int:
    """The round being selected: one past the last round that was pushed."""
    tasks = store.read_table(data, "tasks", ["round"])
    return int(tasks["round"].max()) + 1 if len(tasks) else 1


def gold_positions(project: Project, manifest: pd.DataFrame, candidates: pd.Series, picked: np.ndarray) -> np.ndarray:
    """Positions in `candidates` of this round's gold tasks: samples with a known (source)
    label, not picked, `label.gold_share` of what is sent, in a seeded order."""
    share = project.cfg.label.gold_share
    n_gold = int(round(share * len(picked) / (1 - share))) if share else 0
    known = set(manifest.loc[manifest["source_label"].notna(), "sample_id"])
    pos = np.setdiff1d(np.flatnonzero(among(candidates, known)), picked)
    if n_gold == 0 or len(pos) == 0:
        return pos[:0]
    key = seeded_key(candidates.iloc[pos], f"gold{project.cfg.project.seed}:")
    return pos[np.argsort(key.to_numpy(), kind="stable")[:n_gold]]


def _gold_rows(project: Project, manifest: pd.DataFrame, candidates: pd.Series, picked: np.ndarray,
               model, Xc, version: str, rnd: int) -> pd.DataFrame:
    """Gold tasks for this round: selectable samples with a known (source) label, a
    `label.gold_share` of what is sent. They carry the model's guess like any other
    task, so annotators cannot tell them apart."""
    pos = gold_positions(project, manifest, candidates, picked)
    if len(pos) == 0:
        return pd.DataFrame(columns=list(store.SCHEMAS["selection"]))
    pred, conf = _guess(model, take(Xc, pos))
    return pd.DataFrame({"sample_id": candidates.iloc[pos].to_numpy(), "score": None,
                         "rank": np.arange(len(picked) + 1, len(picked) + len(pos) + 1), "strategy": "gold",
                         "model_version": version, "round": rnd, "prediction": pred, "confidence": conf})


def reannotation_share(project: Project, model, Xc, requests: pd.DataFrame, batch: int,
                       n_classes: int) -> int:
    """How many of this round's `batch` annotations go back to doubtful samples: the requests
    that rank among the batch's top by the one score (`dataprep.core.annotation_value`), pooled
    with every selectable sample's probability that the model's guess is wrong (a uniform guess
    before there is a model)."""
    if requests.empty or batch <= 0:
        return 0
    if model is None:
        pool = np.full(min(len(Xc), batch), 1.0 - 1.0 / max(n_classes, 2))
    else:
        step = project.cfg.select.chunk_size
        tops = []
        for start in range(0, len(Xc), step):
            p = p_wrong(model.predict_proba(take(Xc, slice(start, start + step))))
            tops.append(np.sort(p)[-batch:])
        pool = np.sort(np.concatenate(tops))[-batch:] if tops else np.zeros(0)
    return requests_in_batch(requests, pool, batch)


def requests_in_batch(requests: pd.DataFrame, pool_p_wrong: np.ndarray, batch: int) -> int:
    """How many of `batch` annotations the requests win against the pool, by p_wrong."""
    if requests.empty or batch <= 0:
        return 0
    req = np.sort(requests["p_wrong"].to_numpy())[::-1][:batch]
    pool = np.sort(np.asarray(pool_p_wrong, float))[-batch:]
    both = np.concatenate([req, pool])
    order = np.argsort(-both, kind="stable")[:batch]      # a tie goes to the doubtful sample
    return int((order < len(req)).sum())


def open_requests(data, requests: pd.DataFrame) -> pd.DataFrame:
    """Requests not already waiting for the annotation asked in an earlier round."""
    if requests.empty:
        return requests
    sel = store.read_table(data, "selection", ["sample_id", "strategy", "n_wanted"])
    asked = sel[sel["strategy"] == "reannotate"].groupby("sample_id")["n_wanted"].max()
    wanted = asked.reindex(requests["sample_id"]).to_numpy()
    waiting = ~np.isnan(wanted.astype(float)) & (wanted.astype(float) > requests["n_annotations"].to_numpy())
    return requests[~waiting].sort_values(["p_wrong", "sample_id"], ascending=[False, True]).reset_index(drop=True)


def _reannotation_rows(requests: pd.DataFrame, n: int, first_rank: int, version: str, rnd: int) -> pd.DataFrame:
    take_ = requests.head(n)
    return pd.DataFrame({"sample_id": take_["sample_id"].to_numpy(), "score": take_["p_wrong"].to_numpy(),
                         "rank": np.arange(first_rank, first_rank + len(take_)), "strategy": "reannotate",
                         "model_version": version, "round": rnd, "prediction": None, "confidence": None,
                         "n_wanted": take_["n_annotations"].to_numpy() + 1})


def audit_picks(project: Project, model, candidates: pd.Series, picked: np.ndarray, rnd: int
                ) -> tuple[np.ndarray, int]:
    """With `label.auto_accept`, the last `audit_share` of the new picks become an audit: pool
    samples drawn at random (seeded hash) from the whole pool not picked, whatever the model
    says of them. Validate reads the audit by each sample's confidence *now*, so the audited
    samples above a threshold are a random sample of the pool above it, the region the
    auto-labels come from. Drawn only among the samples confident when drawn (as before), the
    audit missed the samples that became confident later, which the auto-labels then were: on
    newsarticles (`benchmarks/labeling_cost.py --policies ours`, 6 seeds) two seeds' auto-labels
    were 8.6% and 16% wrong under a 5% bound; drawn from the whole pool, every seed with
    auto-labels kept them within it in every round, at the same cost and coverage on digits
    (15 seeds)."""
    auto = project.cfg.label.auto_accept
    if auto is None or model is None or len(picked) == 0:
        return picked, 0
    n = int(round(auto.audit_share * len(picked)))
    if n == 0:
        return picked, 0
    eligible = np.setdiff1d(np.arange(len(candidates)), picked)
    if len(eligible) == 0:
        return picked, 0
    key = seeded_key(candidates.iloc[eligible], f"audit{project.cfg.project.seed}:{rnd}:")
    chosen = eligible[np.argsort(key.to_numpy(), kind="stable")[:n]]
    # fewer samples left than the audit share: the strategy keeps the rest of the batch
    return np.concatenate([picked[: len(picked) - len(chosen)], chosen]), int(len(chosen))


def _guess(model, X) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The model's predicted class and its probability (what Label Studio shows as `score`)."""
    if model is None:
        return None, None
    if X.shape[0] == 0:
        return np.zeros(0, dtype=str), np.zeros(0)
    p = model.predict_proba(X)
    return np.asarray(model.classes_)[p.argmax(1)].astype(str), p.max(1).astype(np.float64)


def _waiting_batch(data, version: str) -> int | None:
    """The round of the last batch if it came from a model of the same accepted labels and was
    already sent (samples still waiting may have changed: they do not count as new labels)."""
    sel = store.read_table(data, "selection", ["sample_id", "round", "model_version"])
    if sel.empty:
        return None
    last = sel[sel["round"] == sel["round"].max()]
    sent = set(store.read_table(data, "tasks", ["sample_id"])["sample_id"])
    if (last["model_version"].map(accepted_part) == accepted_part(version)).all() and last["sample_id"].isin(sent).all():
        return int(last["round"].iloc[0])
    return None


def selectable(project: Project, manifest: pd.DataFrame) -> pd.Series:
    """Pool sample ids that may be selected: no task yet, not quarantined, not
    judged redundant/harmful by triage (unless listed in `triage.keep`)."""
    data = project.data
    pool = manifest.loc[store.in_split(manifest, "pool"), "sample_id"]
    taken = set(store.read_table(data, "tasks", ["sample_id"])["sample_id"])
    taken |= set(store.read_table(data, "quarantine", ["sample_id", "annotation_id"])
                 .query("annotation_id.isna()")["sample_id"])
    lab = store.read_table(data, "labels", ["sample_id", "method"])
    taken |= set(lab.loc[lab["method"] != "auto", "sample_id"])     # an auto-label may still be audited
    taken |= set_aside(project)
    return pool[~among(pool, taken)].reset_index(drop=True)


def _why_not_selectable(project: Project, manifest: pd.DataFrame) -> str:
    """The real reason the pool is short: where its samples went."""
    data = project.data
    pool = set(manifest.loc[store.in_split(manifest, "pool"), "sample_id"])
    tasked = len(pool & set(store.read_table(data, "tasks", ["sample_id"])["sample_id"]))
    why = [f"{len(pool)} pool samples", f"{tasked} already tasked"]
    aside = 0
    if store.exists(data, "triage"):
        tri = store.read_table(data, "triage", ["sample_id", "triage"])
        tri = tri[among(tri["sample_id"], pool)]
        for verdict in ("redundant", "harmful"):
            k = int((tri["triage"] == verdict).sum())
            if k:
                why.append(f"{k} {verdict} by triage")
                aside += k
    head = f"no pool sample left to select ({', '.join(why)})"
    if aside > len(pool) / 2:
        return head + ("; triage set most of the pool aside: see `dataprep triage`'s warning and "
                       "data/triage.parquet, or list ids in triage.keep")
    return head + "; labeling is complete: every pool sample has been sent (acquire more data for another round)"


def _sent_any(data, manifest: pd.DataFrame) -> bool:
    pool = set(manifest.loc[store.in_split(manifest, "pool"), "sample_id"])
    return bool(pool & set(store.read_table(data, "tasks", ["sample_id"])["sample_id"]))


def _exhausted(project: Project, manifest: pd.DataFrame, labels: pd.Series, X, index) -> dict[str, Any]:
    """Every pool sample is tasked or set aside: labeling is complete, not an error. The model of
    the last labels is still trained and evaluated (the final point of the learning curve) and
    the stages after select run as usual; nothing new is selected."""
    cfg, data, reports = project.cfg.select, project.data, project.reports
    rnd = current_round(data)
    version = model_version(cfg.model, cfg.model_params, labels)
    metrics: dict[str, Any] = {"round": rnd, "n_labels": int(len(labels)), "strategy": "none",
                               "model_version": version, "selected": 0, "selectable": 0, "exhausted": True,
                               "note": _why_not_selectable(project, manifest)}
    model = None
    if len(labels) >= 2 and labels.nunique() >= 2:
        model = make_model(cfg.model, cfg.model_params, cfg.random_state)
        with progress.activity(f"select: training {cfg.model} on {len(labels)} labels"):
            model.fit(take(X, rows_of(index, labels.index)), labels.to_numpy().astype(str))
    metrics.update(_evaluate(model, X, index, manifest, reports) or {})
    return _finish(project, metrics)


def _finish(project: Project, metrics: dict[str, Any], curve: bool = True) -> dict[str, Any]:
    """Every way out of a round writes the same outputs (the stage's declared outs): the summary,
    its headline metrics, the learning-curve row (`curve`), and the state and test predictions
    as they were when this round did not make new ones."""
    data, reports = project.data, project.reports
    if not (data / "al_state.json").exists():
        write_json(data / "al_state.json", {"previous": None, "current": None})
    if not (reports / "test_predictions.csv").exists():
        write_text(reports / "test_predictions.csv", "sample_id,label,prediction\n")
    if curve:
        _append_curve(reports, metrics)
    write_json(reports / "al_metrics.json", metrics)
    stage_metrics.write(reports, "select", metrics)
    return metrics


def _rare_candidates(ranges, model, X, keep: int):
    """One row range: how often the model predicts each class, and for each class the `keep` rows
    it is surest of (with their probabilities): whatever classes turn out rare, the range's best
    non-picked rows for them are among these."""
    (start, stop), = ranges
    proba = model.predict_proba(X[slice(start, stop)])
    counts = np.bincount(proba.argmax(1), minlength=proba.shape[1])
    rows = np.unique(np.concatenate([_top(proba[:, c], keep) for c in range(proba.shape[1])]))
    return counts, start + rows, proba[rows]


def reserve_rare(model, X, picked: np.ndarray, n_rare: int, chunk_size: int = DEFAULT_CHUNK) -> np.ndarray:
    """Swap the last `n_rare` picks for the pool samples most confidently predicted
    as the classes the model predicts least often (to find more of them). One pass over the
    pool by row ranges (here, or as cluster tasks), keeping per range and class only the rows
    that can make the cut: the same picks as scoring the whole pool at once."""
    if n_rare <= 0:
        return picked
    n = X.shape[0]
    parts = list(map_batches(_rare_candidates, scoring_ranges(n, chunk_size), 1, 1, f"rare classes in {n} samples",
                             model, Rows.of(X), n_rare + len(picked)))
    counts = np.sum([p[0] for p in parts], axis=0)
    rows = np.concatenate([p[1] for p in parts])
    proba = np.concatenate([p[2] for p in parts])
    rare = np.argsort(counts, kind="stable")[: max(1, len(counts) // 3)]
    score = proba[:, rare].max(1)
    score[np.isin(rows, picked[: len(picked) - n_rare])] = -1
    extra = rows[np.argsort(-score, kind="stable")[:n_rare]]       # rows ascending: ties go to the lower row
    return np.concatenate([picked[: len(picked) - n_rare], extra])


def stop_set(manifest: pd.DataFrame, size: int, seed: int) -> list[str]:
    """A fixed sample of the pool (by seeded hash of id) used to judge model stability."""
    pool = manifest.loc[store.in_split(manifest, "pool"), "sample_id"]
    key = seeded_key(pool, f"stop{seed}:")
    return pool.loc[key.sort_values().index[:size]].tolist()


def _evaluate(model, X, index, manifest, reports=None) -> dict[str, float] | None:
    """Test-split accuracy of `model`; its predictions go to `reports/test_predictions.csv`
    (the report's confusion matrix and per-class accuracy read them)."""
    from sklearn.metrics import accuracy_score, f1_score

    test = manifest[store.in_split(manifest, "test") & manifest["source_label"].notna()]
    if test.empty or model is None:
        if reports is not None:      # no model (cold start) or no test labels: no predictions
            write_text(reports / "test_predictions.csv", "sample_id,label,prediction\n")
        return None
    pred = model.predict(take(X, rows_of(index, test["sample_id"])))
    y = test["source_label"].astype(str).to_numpy()
    if reports is not None:
        write_text(reports / "test_predictions.csv", pd.DataFrame(
            {"sample_id": test["sample_id"].to_numpy(), "label": y, "prediction": pred.astype(str)}).to_csv(index=False))
    return {"accuracy": float(accuracy_score(y, pred)),
            "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
            "majority_accuracy": float(pd.Series(y).value_counts(normalize=True).iloc[0])}


def run_round(project: Project) -> dict[str, Any]:
    cfg = project.cfg.select
    data, reports = project.data, project.reports
    if cfg.strategy not in STRATEGIES:
        raise UserError(f"select.strategy: unknown strategy {cfg.strategy!r}; use one of {', '.join(STRATEGIES)}")
    manifest = store.read_table(data, "manifest")
    G, index = load_features(project, manifest)        # geometry: diversity, cold start
    X, _ = model_features(project, manifest)             # what the model reads (sparse TF-IDF for text)
    candidates = selectable(project, manifest)
    accepted, labels = model_store.learning_sets(store.read_table(data, "labels", ["sample_id", "label", "method"]),
                                                 manifest, store.read_table(data, "requests") if cfg.train_on_waiting else None)
    if len(candidates) == 0:
        if not _sent_any(data, manifest):
            raise UserError(_why_not_selectable(project, manifest))
        return _exhausted(project, manifest, labels, X, index)
    batch = min(cfg.batch_size, len(candidates))       # the last batch takes what is left
    rnd = current_round(data)
    model = make_model(cfg.model, cfg.model_params, cfg.random_state)   # validate the name before any work
    # the cold start lasts until enough labels are accepted (its answers by several calibrate the
    # annotators); samples still waiting do not end it
    cold = len(accepted) < cfg.cold_start_min_labels or accepted.nunique() < 2
    cand_rows = rows_of(index, candidates)
    Xc, Gc = Rows(X, cand_rows), Rows(G, cand_rows)
    version = model_version(cfg.model, cfg.model_params, labels, accepted)
    version = f"cold-{version}" if cold else version
    requests = (open_requests(data, store.read_table(data, "requests")) if project.cfg.label.reannotate
                else store.empty("requests"))
    waiting = _waiting_batch(data, version)
    if waiting is not None and requests.empty:
        # No new labels since the last batch and that batch is out with annotators: a second
        # batch from the same model would only flood them. Nothing to do until labels come back.
        metrics = {"round": waiting, "n_labels": int(len(labels)), "model_version": version, "selected": 0,
                   "strategy": "none", "skipped": f"no new labels since round {waiting}'s batch was sent"}
        # the same model as the last round: its stop verdict and test predictions still hold
        last = json.loads((reports / "al_metrics.json").read_text()) if (reports / "al_metrics.json").exists() else {}
        metrics.update({k: last[k] for k in ("stop_agreement", "should_stop", "stop_blocked", "model_warning") if k in last})
        return _finish(project, metrics, curve=False)
    lab_rows = rows_of(index, labels.index)
    if not cold:
        with progress.activity(f"select: training {cfg.model} on {len(labels)} labels"):
            model = model_store.train(project, labels, X, index, trained_by=f"select round {rnd}", accepted=accepted).model
    if waiting is not None:
        # the model the last batch came from, and validate has asked for annotations since (a
        # batch whose labels all await one, or a failed gate: no label changed): no new picks
        # from the same model, only the open requests, so the loop is never stuck waiting on itself
        n_re = batch = min(len(requests), batch)
    else:
        n_re = reannotation_share(project, None if cold else model, Xc, requests, batch,
                                  max(labels.nunique(), len(project.cfg.project.labels)))
    batch -= n_re
    n_audit = 0
    if cold:
        model, strategy_name = None, "cold_start"
        picked = (cold_start(None, Gc, batch, random_state=cfg.random_state + rnd, X_labeled=np.asarray(G[lab_rows]),
                             pick=cfg.cold_start) if batch else np.zeros(0, int))
        scores = np.linspace(1.0, 0.0, len(picked), endpoint=False)
    elif batch == 0:          # every annotation of this round goes back to doubtful samples
        strategy_name, picked, scores = cfg.strategy, np.zeros(0, int), np.zeros(0)
    else:
        strategy_name = cfg.strategy
        with progress.activity(f"select: scoring {len(candidates)} samples"):
            picked = query(STRATEGIES[cfg.strategy], model, Xc, batch, {
                "chunk_size": cfg.chunk_size, "shortlist_factor": cfg.shortlist_factor,
                "random_state": cfg.random_state + rnd, "X_labeled": np.asarray(G[lab_rows]), "X_embed": Gc})
        n_rare = int(math.floor(cfg.rare_class_share * batch))
        if n_rare:
            picked = reserve_rare(model, Xc, picked, n_rare, cfg.chunk_size)
        picked, n_audit = audit_picks(project, model, candidates, picked, rnd)
        p = model.predict_proba(take(Xc, picked))
        top2 = np.sort(p, axis=1)[:, -2:] if p.shape[1] > 1 else np.c_[np.zeros(len(p)), p]
        scores = 1.0 - (top2[:, 1] - top2[:, 0])      # 1 - margin: higher = more uncertain
    if len(set(picked.tolist())) != len(picked):
        raise RuntimeError(f"strategy {strategy_name} returned duplicate picks")
    strategies = np.array([strategy_name] * len(picked), dtype=object)
    if n_audit:
        strategies[len(picked) - n_audit:] = "audit"
    sel = pd.DataFrame({"sample_id": candidates.iloc[picked].to_numpy(), "score": scores,
                        "rank": np.arange(1, len(picked) + 1), "strategy": strategies,
                        "model_version": version, "round": rnd})
    sel["prediction"], sel["confidence"] = _guess(model, take(Xc, picked))
    calibrate = project.cfg.label.calibration_overlap
    if cold and calibrate > project.cfg.label.overlap:
        # no model yet, so only other annotators can check an annotator: the cold-start picks
        # are answered by several, which identifies who is reliable before tasks go out alone
        sel["n_wanted"] = calibrate
    elif project.cfg.label.overlap == 1 and project.cfg.label.check_share > 0:
        # later, a lone answer is checked mostly where it looks doubtful, which reads annotators and
        # the model as worse than they are; a seeded draw of the new picks goes to two annotators
        # whatever they answer, the unbiased part of the record (`annotators.answered_alone_first`)
        # (audit picks are the auto-labels' own random check and stay single)
        eligible = np.flatnonzero((sel["strategy"] != "audit").to_numpy())
        key = seeded_key(sel["sample_id"].iloc[eligible], f"check{project.cfg.project.seed}:{rnd}:").to_numpy()
        drawn = eligible[np.argsort(key, kind="stable")[:int(round(project.cfg.label.check_share * len(eligible)))]]
        sel["n_wanted"] = np.nan
        sel.loc[sel.index[drawn], "n_wanted"] = 2.0
    sel = pd.concat([sel, _gold_rows(project, manifest, candidates, picked, model, Xc, version, rnd)], ignore_index=True)
    if n_re:
        sel = pd.concat([sel, _reannotation_rows(requests, n_re, len(sel) + 1, version, rnd)], ignore_index=True)
    old = store.read_table(data, "selection")
    history = pd.concat([old[old["round"] != rnd], sel], ignore_index=True) if len(old) else sel
    store.write_table(data, "selection", history)       # every round's picks, for lineage
    metrics = {"round": rnd, "n_labels": int(len(labels)), "strategy": strategy_name, "model_version": version,
               "selected": int(len(sel)), "selectable": int(len(candidates)), "cold_start": bool(cold),
               "reannotate": int(n_re), "open_requests": int(len(requests))}
    if cfg.train_on_waiting:         # of n_labels: samples awaiting another annotation, under their label now
        metrics["n_waiting"] = int(len(labels) - len(accepted))
    if batch + n_re < cfg.batch_size:
        metrics["note"] = f"took the last {batch} selectable samples (select.batch_size is {cfg.batch_size})"
    metrics.update(_evaluate(model, X, index, manifest, reports) or {})
    if hint := _no_better_than_guessing(project, metrics, labels, X, index):
        metrics["model_warning"] = hint
    metrics.update(_stopping(project, model, X, index, manifest, version))
    if metrics.get("should_stop") and "accuracy" in metrics \
            and metrics["accuracy"] < metrics["majority_accuracy"] + TRIVIAL_MARGIN:
        # stable predictions of a model no better than always guessing the commonest class
        # mean it learned nothing (constant features?), not that labeling is done
        metrics["should_stop"] = False
        metrics["stop_blocked"] = (f"test accuracy {metrics['accuracy']:.0%} is not above always guessing the most "
                                   f"common class ({metrics['majority_accuracy']:.0%}): keep labeling, or check "
                                   "the features")
    return _finish(project, metrics)


TRIVIAL_MARGIN = 0.05      # a model must beat the majority-class guess by this much before stopping is suggested


def _no_better_than_guessing(project: Project, metrics: dict[str, Any], labels: pd.Series, X, index) -> str | None:
    """What to do when, with 30 labels or more (5 a class), the model's test accuracy is within
    `2 * TRIVIAL_MARGIN` of always guessing the commonest class. A linear model cannot learn a
    relation that is not linear in the features (an XOR of two columns); where the model is the
    default and a random forest does clearly better on the labels so far (3-fold), say so; else
    the features may not carry the label."""
    cfg = project.cfg.select
    counts = labels.value_counts()
    if "accuracy" not in metrics or len(labels) < max(30, 5 * len(counts)) or counts.min() < 3 \
            or metrics["accuracy"] >= metrics["majority_accuracy"] + 2 * TRIVIAL_MARGIN:
        return None
    said = (f"after {len(labels)} labels the model ({cfg.model}) barely beats always guessing the commonest "
            f"class (test accuracy {metrics['accuracy']:.0%} vs {metrics['majority_accuracy']:.0%})")
    if cfg.model == "logistic":
        from sklearn.model_selection import cross_val_score

        Xl, y = take(X, rows_of(index, labels.index)), labels.astype(str).to_numpy()
        forest = float(np.mean(cross_val_score(make_model("random_forest", {"n_jobs": 1}, cfg.random_state), Xl, y, cv=3)))
        guess = float(labels.value_counts(normalize=True).iloc[0])
        if forest >= guess + 2 * TRIVIAL_MARGIN:
            return (f"{said}; a random forest scores {forest:.0%} on the labeled samples (3-fold, against "
                    f"{guess:.0%} by guessing): the relation is not linear in these features; set select.model: "
                    "random_forest")
    return f"{said}: the features may not carry the label (check acquire.feature_columns or features.embedding)"


def _stopping(project, model, X, index, manifest, version) -> dict[str, Any]:
    """Agreement of this model with the previous one on a fixed stop set."""
    path = project.data / "al_state.json"
    if model is None:
        if not path.exists():
            write_json(path, {"previous": None, "current": None})
        return {}
    cfg = project.cfg.select
    ids = stop_set(manifest, cfg.stop_set_size, project.cfg.project.seed)
    pred = model.predict(take(X, rows_of(index, ids))).astype(str).tolist()
    state = json.loads(path.read_text()) if path.exists() else {}
    prev = state.get("previous") if (state.get("current") or {}).get("model_version") == version else state.get("current")
    out: dict[str, Any] = {}
    if prev and prev.get("ids") == ids:
        agree = float(np.mean([a == b for a, b in zip(prev["pred"], pred)]))
        out = {"stop_agreement": agree, "should_stop": agree >= cfg.stop_agreement}
    write_json(path, {"previous": prev, "current": {"model_version": version, "ids": ids, "pred": pred}})
    return out


def _append_curve(reports, m: dict[str, Any]) -> None:
    """One row per round; re-running a round replaces its row."""
    path = reports / "learning_curve.csv"
    old = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=CURVE_COLUMNS)
    row = pd.DataFrame([{c: m.get(c) for c in CURVE_COLUMNS}])
    if "accuracy" not in m:
        if not path.exists():
            write_text(path, ",".join(CURVE_COLUMNS) + "\n")
        return
    out = pd.concat([old[old["round"] != m["round"]], row], ignore_index=True).sort_values("round")
    write_text(path, out.to_csv(index=False))
