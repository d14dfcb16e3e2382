"""The label validation gate: from the annotation log to accepted labels and quarantine.

Order matters and is deliberate:
1. schema and provenance checks quarantine single annotations;
2. Dawid-Skene on what is left estimates every annotator's confusion matrix;
   annotators judged blocked (low skill, failed gold, a systematic class map,
   accepting wrong pre-annotations, or listed in params) are quarantined whole;
3. Dawid-Skene again on the remaining annotations, now with the model's
   out-of-sample probabilities as a per-item prior, weighted by how well that
   prior predicts the labels the kept annotators settled without it (agreement,
   or one annotator confident enough on their checked record; no weight before
   20 such items, or when it is no better than a uniform guess);
4. the evidence is never overruled: a label no kept annotator gave, a 1-1 tie
   among the kept annotators, and (from a model that has earned trust) an
   agreed label the model gives under 5% await another annotation
   (`tie`, `model_disagrees`; not counted by the gate); where a model not yet
   trusted (step 5) pulls the inference to a label nobody gave, the inference
   without its prior stands, listed as doubtful (`model_disagrees_unconfirmed`;
   its request for another annotation is scored by the posterior with the prior,
   which is what `posterior` holds), unless the model is surer of its label than that answer is of its own (then
   `model_disagrees`: another annotation decides);
   a single annotation too unconfident to accept awaits one too (`unconfirmed`: with one annotation per
   task, unconfirmed is the normal state of new work, not a fault of the batch),
   as does a single annotation by an annotator on watch, and a sample answered
   only by annotators now blocked (`blocked_only`: the gate weighs blocked work on
   its own, `validate.max_blocked_share` of the batch's annotations);
5. singly-labeled samples go through confident learning (cleanlab) on the
   model's probabilities; only a model that has earned it (out-of-sample
   accuracy on agreed items >= `validate.label_error_min_accuracy`, on 30 or
   more, and not over-confident) quarantines them; a weaker model's flags keep
   the label and list it as doubtful in `label_quality.json`;
6. samples whose accepted label is not confident enough are quarantined and
   listed for another annotation instead of being silently accepted;
7. the gate: the share of the latest batch quarantined and Krippendorff's alpha
   against params. A failed gate writes the reports and quarantine (to look
   at) but keeps the previous `labels.parquet`, and exits 1.

Nothing is deleted: quarantined annotations stay in `annotations.parquet`.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np
import pandas as pd

from dataprep.core import annotation_value, progress, stage_metrics, store
from dataprep.core.ids import among
from dataprep.core.atomic import write_json, write_text
from dataprep.core.config import Validate
from dataprep.core.detectors import load_detector
from dataprep.core.errors import GateFailed
from dataprep.core.features import model_features, rows_of, take
from dataprep.core.project import Project
from dataprep.core.triage import set_aside
from labeling import agreement, annotators, auto_labels, box_validate, checks, label_errors
from labeling.aggregate import DawidSkene


def label_set(project: Project, manifest: pd.DataFrame, annotations: pd.DataFrame) -> list[str]:
    """The classes validation infers over, sorted (probabilities and confusions index them by
    `np.searchsorted`); detection keeps `project.labels` in its order (a detector's class ids)."""
    if project.cfg.project.labels:
        listed = list(map(str, project.cfg.project.labels))
        return listed if project.cfg.project.task == "detection" else sorted(listed)
    known = manifest["source_label"].dropna().unique().tolist()
    return sorted(map(str, known)) if known else sorted(annotations["label"].dropna().astype(str).unique())


def _aggregate(ann: pd.DataFrame, classes: list[str], prior: np.ndarray | None = None,
               tasks: np.ndarray | None = None, weight: float = 1.0) -> DawidSkene:
    long = pd.DataFrame({"task": ann["sample_id"].to_numpy(), "worker": ann["annotator"].to_numpy(),
                         "label": ann["label"].to_numpy()})
    return DawidSkene(prior_weight=weight).fit(long, classes=classes, prior=prior, tasks=tasks)


def model_prior(X: np.ndarray, y: pd.Series, classes: list[str], folds: int, seed: int,
                clean: bool = True) -> np.ndarray | None:
    """Class probabilities per row of X (columns in `classes` order): out-of-sample
    (cross-validated) where y is known, from a model fit on all of y elsewhere. `clean`
    (`validate.clean_folds`): the folds train without the labels a first pass flags."""
    known = y.notna().to_numpy()
    yk = y[known].astype(str).to_numpy()
    proba = label_errors.out_of_sample_proba(X[known], yk, folds, seed, clean=clean)
    if proba is None:
        return None
    present = sorted(set(yk))
    full = np.full((X.shape[0], len(classes)), 1e-3)
    cols = [classes.index(c) for c in present]
    full[np.ix_(known, cols)] = proba
    if (~known).any():
        full[np.ix_(~known, cols)] = label_errors.fit_proba(X[known], yk, X[~known], seed)
    return full / full.sum(1, keepdims=True)


def prior_weight(prior: np.ndarray, labels: np.ndarray, classes: list[str]) -> float:
    """How much the model's prior should count: the temperature w that makes prior**w
    best predict the labels of items where several annotators agreed (maximum
    likelihood over a grid). A strong model earns w > 1, a weak one w < 1, one no
    better than a uniform guess w = 0 (no prior at all), and so does a model with
    fewer than 20 agreed items to be judged on: it has earned nothing yet."""
    if len(labels) < 20:
        return 0.0
    y = np.searchsorted(classes, labels)
    logp = np.log(np.clip(prior, 1e-6, 1.0))
    best, best_ll = 0.0, -np.inf
    for w in np.r_[0.0, np.geomspace(0.25, 4.0, 25)]:
        z = w * logp
        z -= z.max(1, keepdims=True)
        ll = float((z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))).mean())
        if ll > best_ll:
            best, best_ll = float(w), ll
    return best


def infer_labels(ann: pd.DataFrame, classes: list[str], features: Callable[[np.ndarray], np.ndarray] | None,
                 tasks: pd.DataFrame, gold_truth: pd.Series, cfg: Validate, seed: int = 0,
                 task_type: str = "classification", sizes: pd.DataFrame | None = None,
                 known: set[str] | None = None, log: pd.DataFrame | None = None, detector=None) -> dict[str, Any]:
    """Steps 1-5 of the module docstring on data frames (no files): the stage's logic.

    `features(sample_ids)` returns their feature rows (for the model prior), or
    None to infer from annotations alone. Returns accepted `labels`, `quarantine`
    flags, annotator `quality`, `inferred` (the best guess for every annotated
    sample, quarantined or not), and the `kept` annotations. `detector` (detection only): the
    team's detector (`dataprep.core.detectors`), for model-based box label errors.
    """
    flags = [checks.schema(ann, set(classes), task_type, sizes), checks.provenance(ann)]
    if known is not None:
        flags.append(checks.unknown_samples(ann, known))
    if log is not None:
        flags.append(checks.conflicting_versions(log, ann))
    bad_ids = set(pd.concat(flags)["annotation_id"])
    usable = ann[~ann["annotation_id"].isin(bad_ids)]
    if known is not None:
        ann = ann[among(ann["sample_id"], known)]     # flagged above; no label can be inferred for them
    if usable.empty:                                  # every annotation quarantined: nothing to infer from
        return _all_quarantined(ann, flags)
    if task_type == "detection":                      # boxes: consensus instead of Dawid-Skene on classes
        return box_validate.infer_boxes(ann, usable, flags, classes, tasks, gold_truth, cfg, sizes, detector)
    # pass 1: who can be trusted?
    # an answer given alone and checked because it looked doubtful overstates its annotator's
    # errors: a watch rests on a fit without such answers (`annotator_quality`). Left out, not
    # merely kept from teaching: an answer that speaks in the posterior but is never held to it
    # lets EM blame the annotators who checked it (they were read as mapping its mistakes)
    opener = annotators.answered_alone_first(ann, tasks)
    ds1 = _aggregate(usable, classes)
    fair = _aggregate(usable[~opener.reindex(usable.index).to_numpy()], classes) if opener.any() else ds1
    quality = annotators.annotator_quality(usable, ds1.labels_, ds1, tasks, gold_truth, cfg, opener, fair)
    blocked, blocked_flags, kept = checks.split_blocked(usable, quality, cfg.blocked_annotators)
    flags.append(blocked_flags)
    # pass 2: truth with a model prior, for every annotated sample
    everyone = np.unique(ann["sample_id"].to_numpy())
    ds0 = _aggregate(kept, classes, tasks=everyone)
    prior = None
    if features is not None:
        y0 = ds0.labels_.where(pd.Series(everyone, index=everyone).isin(kept["sample_id"]))
        prior = model_prior(features(everyone), y0, classes, cfg.cv_folds, seed, cfg.clean_folds)
    weight = 1.0
    if prior is not None:
        # judged on the labels the crowd settled without the model: agreement, or one
        # annotator whose checked record makes the label confident on its own
        settled = ds0.confidence_[ds0.confidence_.index.isin(kept["sample_id"]) &
                                  (ds0.confidence_ >= cfg.min_confidence)].index
        pos = pd.Index(everyone).get_indexer(settled)
        weight = prior_weight(prior[pos], ds0.labels_.loc[settled].to_numpy().astype(str), classes)
    ds = _aggregate(kept, classes, prior, tasks=everyone, weight=weight) if prior is not None and weight > 0 else ds0
    pred, conf = ds.labels_, ds.confidence_
    # with the model's say, also where it is not let to move a label below: what a request is scored on
    posterior = pd.DataFrame(ds.posterior_, index=everyone, columns=classes)
    model_check = {"trusted": False, "accuracy": None, "agreed_items": 0}
    if prior is not None:
        model_check = model_earned(prior, everyone, kept, classes, cfg.label_error_min_accuracy,
                                   doubted=set(ann.loc[opener[opener].index, "sample_id"]))
    # why a weak model's say costs at most another annotation, never a correct label
    untrusted = why_untrusted(model_check, cfg.label_error_min_accuracy)
    overruled = checks.no_flags()
    if ds is not ds0 and not model_check["trusted"]:
        # a model that has not earned trust never overrules the annotators: where its prior
        # pulls the inference to a label no kept annotator gave, the inference without it stands
        # (when that is a label someone gave), and the sample is listed as worth another annotation
        # ... unless the model is surer of the label it pulls to (its out-of-sample probability)
        # than the annotators' answer is of theirs (its confidence without the prior): then neither
        # is accepted and another annotation decides (`model_disagrees`, evidence_flags)
        given = kept.groupby("sample_id")["label"].agg(set)
        at = pd.Index(everyone)
        back = [s for s in everyone if pred[s] not in given.get(s, ()) and ds0.labels_[s] in given.get(s, ())
                and prior[at.get_loc(s), classes.index(pred[s])] < ds0.confidence_[s]]
        if back:
            overruled = checks.flags_of(pd.DataFrame({"sample_id": back, "annotation_id": None, "annotator": None}),
                                        "model_disagrees_unconfirmed",
                                        [f"the model's prior would infer {pred[s]!r}, a label no kept annotator "
                                         f"gave (kept their {ds0.labels_[s]!r}: {untrusted}); worth another "
                                         "annotation" for s in back])
            pred, conf = pred.copy(), conf.copy()
            pred[back], conf[back] = ds0.labels_[back], ds0.confidence_[back]
    n = kept.groupby("sample_id").size().reindex(everyone, fill_value=0)
    unanimous = kept.groupby("sample_id")["label"].nunique().reindex(everyone, fill_value=0) == 1
    method = np.where(n == 1, "single", np.where(unanimous, "agreement", "dawid_skene"))
    labels = pd.DataFrame({"sample_id": everyone, "label": pred.to_numpy(), "confidence": conf.to_numpy(),
                           "method": method, "n_annotations": n.to_numpy()})
    sample_flags = []
    orphan = labels[labels["n_annotations"] == 0]
    by_blocked = orphan["sample_id"].isin(usable["sample_id"])      # usable, but only from blocked annotators
    sample_flags.append(checks.flags_of(orphan[by_blocked].assign(annotation_id=None, annotator=None),
                                      "blocked_only", ["every annotation came from a blocked annotator: send for "
                                                       "another annotation"] * int(by_blocked.sum())))
    orphan = orphan[~by_blocked]
    sample_flags.append(checks.flags_of(orphan.assign(annotation_id=None, annotator=None), "no_usable_annotation",
                                      ["every annotation was quarantined: send for another annotation"] * len(orphan)))
    labels = labels[labels["n_annotations"] > 0]
    sample_flags += evidence_flags(kept, labels)
    single = labels[labels["method"] == "single"]
    doubtful = checks.no_flags()
    if prior is not None and model_check["trusted"]:
        sample_flags.append(strong_disagreements(labels, prior, everyone, classes))
    if len(single) and prior is not None:
        pos = pd.Index(everyone).get_indexer(single["sample_id"])
        found = label_errors.label_errors(single["sample_id"].to_numpy(), single["label"].to_numpy(),
                                          prior[pos], classes)
        if model_check["trusted"]:
            sample_flags.append(found)
        elif len(found):
            doubtful = found.assign(check="label_error_unconfirmed",
                                    reason=[f"{r} (kept: {untrusted}); worth another annotation" for r in found["reason"]])
    doubtful = pd.concat([f for f in (overruled, doubtful) if len(f)] or [checks.no_flags()],
                         ignore_index=True).drop_duplicates("sample_id")
    watched = set(quality.loc[quality["verdict"] == "watch", "annotator"])
    sole = kept.groupby("sample_id")["annotator"].first()
    by_watched = (labels["n_annotations"] == 1) & labels["sample_id"].map(sole).isin(watched)
    low = labels[(labels["confidence"] < cfg.min_confidence) | by_watched]
    alone = low[low["n_annotations"] == 1]      # one label nothing else confirms yet: not a disagreement
    low = low[low["n_annotations"] != 1]
    sample_flags.append(checks.flags_of(alone.assign(annotation_id=None, annotator=None), "unconfirmed",
                                      [(f"the only annotation, {l!r}, is by {sole[sid]}, who is on watch"
                                        if sole.get(sid) in watched else
                                        f"a single annotation {l!r} with confidence {c:.2f} < {cfg.min_confidence} "
                                        "(its annotator or the model cannot vouch for it yet)") +
                                       ": send for another annotation"
                                       for sid, l, c in zip(alone["sample_id"], alone["label"], alone["confidence"])]))
    sample_flags.append(checks.flags_of(low.assign(annotation_id=None, annotator=None), "low_agreement",
                                      [f"accepted label {l!r} has confidence {c:.2f} < {cfg.min_confidence}: "
                                       "send for another annotation" for l, c in zip(low["label"], low["confidence"])]))
    # gold tasks: the known label is the accepted label
    gold_rows = gold_truth[gold_truth.index.isin(everyone)]
    labels = labels[~labels["sample_id"].isin(gold_rows.index)]
    labels = pd.concat([labels, pd.DataFrame({"sample_id": gold_rows.index, "label": gold_rows.to_numpy(),
                        "confidence": 1.0, "method": "gold", "n_annotations": ann.groupby("sample_id").size()
                        .reindex(gold_rows.index).to_numpy()})], ignore_index=True)
    sample_q = pd.concat([f for f in sample_flags if len(f)] or [checks.no_flags()], ignore_index=True)
    sample_q = sample_q.drop_duplicates("sample_id")
    sample_q = sample_q[~sample_q["sample_id"].isin(gold_rows.index)]
    accepted = labels[~labels["sample_id"].isin(sample_q["sample_id"])].sort_values("sample_id").reset_index(drop=True)
    quarantine = pd.concat([f for f in flags + [sample_q] if len(f)] or [checks.no_flags()], ignore_index=True)
    return {"labels": accepted, "quarantine": quarantine, "sample_quarantine": sample_q, "quality": quality,
            "inferred": pred, "kept": kept, "blocked": blocked, "prior_weight": weight,
            "posterior": posterior,
            "doubtful": doubtful[~doubtful["sample_id"].isin(sample_q["sample_id"])], "label_error_model": model_check}


AWAITING = ("tie", "model_disagrees", "unconfirmed", "blocked_only")     # sample checks that ask for another annotation, not a verdict
# sample checks another annotation can settle: these samples are offered for re-annotation
REQUEUE = AWAITING + ("low_agreement", "no_usable_annotation", "label_error", "label_error_unconfirmed",
                      "model_disagrees_unconfirmed")


def reannotation_requests(res: dict[str, Any], ann: pd.DataFrame, tasks: pd.DataFrame, classes: list[str],
                          max_annotations: int, away: set[str] | frozenset = frozenset()) -> pd.DataFrame:
    """Samples another annotation can settle (a tie, a label the model contradicts, low
    confidence, every annotation quarantined, a label-error flag), scored by the probability
    that the label we would use is wrong (`dataprep.core.annotation_value`). Gold tasks, and
    samples already answered by `max_annotations` annotators (or by everyone known but those
    `away`: blocked and taken off the work), are not offered again: they stay quarantined."""
    flagged = pd.concat([res["sample_quarantine"], res.get("doubtful", checks.no_flags())], ignore_index=True)
    flagged = flagged[flagged["check"].isin(REQUEUE)].drop_duplicates("sample_id")
    gold = set(tasks.loc[tasks["gold"], "sample_id"])
    flagged = flagged[~flagged["sample_id"].isin(gold)]
    if flagged.empty:
        return store.empty("requests")
    who = ann.groupby("sample_id")["annotator"].agg(lambda a: sorted(set(a)))
    n = who.map(len).reindex(flagged["sample_id"]).fillna(0).astype(int).to_numpy()
    left = set(ann["annotator"]) - set(away)          # who could still answer (known, not taken off the work)
    open_to = np.array([bool(left - set(who.get(s, []))) for s in flagged["sample_id"]], dtype=bool)
    flagged = flagged[(n < max_annotations) & open_to]
    if flagged.empty:
        return store.empty("requests")
    ids = flagged["sample_id"].to_numpy()
    label = [None] * len(ids)
    if "p_wrong" in res:            # boxes: 1 - the image's confidence (`labeling.box_validate`)
        wrong = res["p_wrong"].reindex(ids).fillna(1.0).to_numpy()
    else:
        # the posterior has the model's say even where it was not let to move the label: a lone
        # answer the model contradicts is doubted as much as the combined evidence says
        post = res["posterior"].reindex(ids).fillna(1.0 / len(classes)).to_numpy()
        kept = res["kept"]
        votes = (pd.crosstab(kept["sample_id"], kept["label"]).reindex(index=ids, columns=classes, fill_value=0)
                 .fillna(0).to_numpy() if len(kept) else np.zeros_like(post))
        used = res["inferred"].reindex(ids)
        wrong = annotation_value.p_wrong(annotation_value.blend(post, votes),
                                         [classes.index(u) if u in classes else -1 for u in used])
        # the label a waiting sample may teach the loop's model (`select.train_on_waiting`): one a
        # kept annotator gave, never the model's own pull
        label = [u if u in classes and votes[i, classes.index(u)] > 0 else None for i, u in enumerate(used)]
    task_of = tasks.drop_duplicates("sample_id", keep="last").set_index("sample_id")["task_id"]
    return pd.DataFrame({"sample_id": ids, "task_id": task_of.reindex(ids).to_numpy(), "label": label,
                         "p_wrong": wrong,
                         "check": flagged["check"].to_numpy(), "n_annotations": who.map(len).reindex(ids).to_numpy(),
                         "annotators": [json.dumps(who.get(s, [])) for s in ids]})


def evidence_flags(kept: pd.DataFrame, labels: pd.DataFrame) -> list[pd.DataFrame]:
    """Inference never overrules the evidence: a label no kept annotator gave is not accepted
    (the model prior outweighed every annotator: another annotation decides), and a tie among
    the kept annotators is not broken by the model or by skill estimates (another annotation
    breaks it)."""
    if kept.empty or labels.empty:
        return []
    votes = kept.groupby(["sample_id", "label"]).size().rename("n").reset_index()
    given = votes.groupby("sample_id")["label"].agg(set)
    top = votes.sort_values(["sample_id", "n", "label"], ascending=[True, False, True]).groupby("sample_id").head(2)
    pairs = top.groupby("sample_id").agg(first=("label", "first"), last=("label", "last"),
                                         n1=("n", "first"), n2=("n", "last"), k=("n", "size"))
    lab = labels.set_index("sample_id")
    out = []
    nobody = lab[[lab_ not in given.get(s, set()) for s, lab_ in zip(lab.index, lab["label"])]]
    out.append(checks.flags_of(nobody.reset_index().assign(annotation_id=None, annotator=None), "model_disagrees",
                               [f"inferred {l!r}, a label no kept annotator gave (they said "
                                f"{', '.join(sorted(map(repr, given.get(s, set()))))}): the model prior outweighed "
                                "them; send for another annotation" for s, l in zip(nobody.index, nobody["label"])]))
    ties = pairs[(pairs["k"] == 2) & (pairs["n1"] == pairs["n2"])]
    ties = ties[ties.index.isin(lab.index) & ~ties.index.isin(nobody.index)]
    out.append(checks.flags_of(ties.reset_index().assign(annotation_id=None, annotator=None), "tie",
                               [f"kept annotators split {a!r} vs {b!r} ({n}-{n}): send for another annotation"
                                for a, b, n in zip(ties["first"], ties["last"], ties["n1"])]))
    return out


def strong_disagreements(labels: pd.DataFrame, prior: np.ndarray, everyone: np.ndarray, classes: list[str],
                         max_proba: float = 0.05) -> pd.DataFrame:
    """Samples labelled by several annotators whose accepted label a trusted model gives less
    than `max_proba` (out of sample), predicting another class: another annotation decides."""
    several = labels[labels["n_annotations"] >= 2]
    if several.empty:
        return checks.no_flags()
    p = prior[pd.Index(everyone).get_indexer(several["sample_id"])]
    k = np.searchsorted(classes, several["label"].astype(str).to_numpy())
    mine = p[np.arange(len(k)), k]
    bad = (mine < max_proba) & (p.argmax(1) != k)
    hit = several[bad]
    return checks.flags_of(hit.assign(annotation_id=None, annotator=None), "model_disagrees",
                           [f"the annotators' {l!r} gets {q:.0%} from a model that has earned trust, which says "
                            f"{classes[j]!r}: send for another annotation"
                            for l, q, j in zip(hit["label"], mine[bad], p[bad].argmax(1))])


MODEL_MIN_AGREED = 30       # agreed items a model is judged on before it may quarantine a label


def why_untrusted(check: dict[str, Any], min_accuracy: float) -> str:
    """Why a `model_earned` verdict is no: too few agreed items to judge it, too inaccurate, or
    surer than it is right. (It said "0% accurate on 10 agreed items" of a model never judged.)"""
    n, acc = check["agreed_items"], check.get("accuracy")
    if acc is None:
        return f"the model is not judged yet: {n} items agreed by two or more annotators, {MODEL_MIN_AGREED} needed"
    if acc < min_accuracy:
        return (f"the model is {acc:.0%} accurate on {n} agreed items, under validate.label_error_min_accuracy "
                f"{min_accuracy:.0%}")
    return f"the model is {acc:.0%} accurate on {n} agreed items but {check['confidence']:.0%} sure: over-confident"


def model_earned(prior: np.ndarray, everyone: np.ndarray, kept: pd.DataFrame, classes: list[str],
                 min_accuracy: float, min_items: int = MODEL_MIN_AGREED, doubted: set | frozenset = frozenset()) -> dict[str, Any]:
    """Whether the model may quarantine labels on its own word: its out-of-sample accuracy on
    the items where two or more kept annotators agreed must reach `min_accuracy`, on at least
    `min_items` of them, and its confidence must not exceed its accuracy by more than 10 points
    (a model that is sure and wrong has not earned it). `doubted`: samples answered alone first
    (`annotators.answered_alone_first`), left out: they were sent for another annotation mostly
    because the model disagreed, so the model is wrong on most of them by selection (a news
    model of .8 test accuracy read .36-.50 there)."""
    votes = kept[~kept["sample_id"].isin(doubted)].groupby("sample_id")["label"].agg(["nunique", "size", "first"])
    agreed = votes[(votes["size"] >= 2) & (votes["nunique"] == 1)]
    pos = pd.Index(everyone).get_indexer(agreed.index)
    if len(agreed) < min_items:
        return {"trusted": False, "accuracy": None, "agreed_items": int(len(agreed)), "confidence": None}
    p = prior[pos]
    acc = float((np.asarray(classes)[p.argmax(1)] == agreed["first"].astype(str).to_numpy()).mean())
    conf = float(p.max(1).mean())
    return {"trusted": bool(acc >= min_accuracy and conf - acc <= 0.1), "accuracy": acc,
            "agreed_items": int(len(agreed)), "confidence": conf}


def _all_quarantined(ann: pd.DataFrame, flags: list[pd.DataFrame]) -> dict[str, Any]:
    everyone = pd.Series(np.unique(ann["sample_id"].to_numpy()))
    sample_q = checks.flags_of(pd.DataFrame({"sample_id": everyone, "annotation_id": None, "annotator": None}),
                             "no_usable_annotation",
                             ["every annotation was quarantined: send for another annotation"] * len(everyone))
    quarantine = pd.concat([f for f in flags + [sample_q] if len(f)] or [checks.no_flags()], ignore_index=True)
    quality = pd.DataFrame(columns=["annotator", "n_annotations", "est_accuracy", "consensus_agreement",
                                    "gold_accuracy", "n_gold", "median_lead_time_s", "accepts_wrong_preannotation",
                                    "class_map", "verdict", "evidence"])
    labels = pd.DataFrame({"sample_id": pd.Series(dtype=str), "label": pd.Series(dtype=str),
                           "confidence": pd.Series(dtype=float), "method": pd.Series(dtype=str),
                           "n_annotations": pd.Series(dtype="int64")})
    return {"labels": labels, "quarantine": quarantine, "sample_quarantine": sample_q, "quality": quality,
            "inferred": pd.Series(dtype=object), "kept": ann.iloc[:0], "blocked": set(), "prior_weight": 1.0}


def _nothing_yet(project: Project) -> dict[str, Any]:
    """First round of a loop: no annotations yet. Write empty outputs so the pipeline goes on."""
    for name in ("labels", "quarantine", "requests"):
        store.write_table(project.data, name, store.empty(name))
    summary = {"annotations": 0, "accepted": 0, "note": "no annotations yet", "gate": {"passed": True}}
    write_json(project.reports / "label_quality.json", summary)
    stage_metrics.write(project.reports, "validate", summary)
    write_text(project.reports / "annotators.csv", "annotator,n_annotations,est_accuracy,verdict\n")
    return summary


def infer(project: Project) -> dict[str, Any] | None:
    """Truth inference and checks on the mirrored annotation log, nothing written: what
    `validate` gates and writes, and what the ML backend trains on. None before any annotation."""
    manifest = store.read_table(project.data, "manifest")
    tasks = store.read_table(project.data, "tasks")
    log = store.read_table(project.data, "annotations")
    log = renamed(log, project.cfg.label.rename)
    ann = store.current_annotations(log)
    if ann.empty:
        return None
    classes = label_set(project, manifest, ann)
    gold_tasks = tasks.loc[tasks["gold"], "sample_id"]
    gold_truth = manifest.set_index("sample_id")["source_label"].reindex(gold_tasks).dropna().astype(str)
    X, index = model_features(project, manifest)        # what the selection model reads: sparse TF-IDF for text
    known = set(manifest["sample_id"])
    detector = (load_detector(project.cfg.select.detector, project, manifest)
                if project.cfg.project.task == "detection" else None)
    with progress.activity(f"validate: truth inference and checks on {len(ann)} annotations"):
        res = infer_labels(ann, classes, lambda ids: take(X, rows_of(index, ids)), tasks, gold_truth,
                           project.cfg.validation, project.cfg.project.seed, project.cfg.project.task,
                           manifest[["sample_id", "width", "height"]], known=known, log=log, detector=detector)
    return {"res": res, "manifest": manifest, "tasks": tasks, "ann": ann, "classes": classes, "X": X,
            "index": index}


def renamed(log: pd.DataFrame, rename: dict[str, str]) -> pd.DataFrame:
    """The annotation log with classes renamed (`label.rename`), as validation reads it; the
    file keeps what was given."""
    return log.assign(label=log["label"].replace(rename)) if rename else log


def requests_of(project: Project, inferred: dict[str, Any]) -> pd.DataFrame:
    """The samples worth another annotation (`reannotation_requests`) of an `infer` result, as
    validate writes them and as the ML backend's trainer reads them (`select.train_on_waiting`)."""
    res = inferred["res"]
    if not project.cfg.label.reannotate or not ("posterior" in res or "p_wrong" in res):
        return store.empty("requests")
    out = reannotation_requests(res, inferred["ann"], inferred["tasks"], inferred["classes"],
                                project.cfg.label.max_annotations,
                                res["blocked"] if project.cfg.label.remove_blocked else set())
    man = inferred["manifest"]
    return out[among(out["sample_id"], store.in_source_ids(man))]    # gone from the source: no more


def batch_gate(project: Project, res: dict[str, Any], ann: pd.DataFrame) -> tuple[dict[str, Any], set[str], dict[str, Any]]:
    """The gate on the latest batch of an `infer` result: (the gate, the batch's sample ids, the
    agreement it read). `validate` writes labels only through a passed gate; the ML backend's
    trainer asks the same gate before it learns from the batch (`what_models_learn`)."""
    cfg = project.cfg.validation
    sample_q, kept, blocked = res["sample_quarantine"], res["kept"], res["blocked"]
    latest = int(ann["round"].max())
    batch = set(ann.loc[ann["round"] == latest, "sample_id"])
    # a tie or a label the model contradicts awaits another annotation: it keeps the sample out
    # of training, but says nothing bad about the batch, so the gate does not count it
    awaiting = set(sample_q.loc[sample_q["check"].isin(AWAITING), "sample_id"])
    q_share = len(batch & (set(sample_q["sample_id"]) - awaiting)) / max(1, len(batch))
    nan = float("nan")
    if "agreement" in res:          # boxes: pairwise box F1, no alpha (`labeling.box_validate`)
        agree = res["agreement"]
    else:
        agree = agreement.agreement(kept) if not kept.empty else {"alpha": nan, "alpha_interval": (nan, nan),
                                                               "alpha_per_class": {}}
    alpha, (alpha_lo, alpha_hi) = agree["alpha"], agree["alpha_interval"]
    reasons = []
    # a share fails the gate only when the bottom of its 90% Wilson interval is over the bar: one
    # sample of a 3-sample batch (what is left of a round whose picks went to re-annotation) is
    # not a third of a bad batch
    q_low = share_low(q_share, len(batch))
    if q_low > cfg.max_quarantined_share:
        reasons.append(f"{q_share:.0%} of round {latest}'s {len(batch)} samples quarantined (90% interval from "
                       f"{q_low:.0%}; max {cfg.max_quarantined_share:.0%})")
    # with one annotation per task a blocked annotator's sample is simply asked again, so blocked
    # work is weighed apart: a batch mostly answered by annotators we block is a failed batch
    mine = ann[ann["round"] == latest]
    b_share = float(mine["annotator"].isin(blocked).mean()) if len(mine) else 0.0
    b_low = share_low(b_share, len(mine))
    if b_low > cfg.max_blocked_share:
        reasons.append(f"{b_share:.0%} of round {latest}'s {len(mine)} annotations are by blocked annotators "
                       f"(90% interval from {b_low:.0%}; max {cfg.max_blocked_share:.0%}; who and why: "
                       f"{project.reports / 'annotators.csv'})")
    if not np.isnan(alpha_hi) and alpha_hi < cfg.min_agreement:   # below the bar beyond sampling noise
        reasons.append(f"Krippendorff's alpha {alpha:.2f} (90% interval {alpha_lo:.2f}-{alpha_hi:.2f}) "
                       f"< {cfg.min_agreement}")
    gate = {"passed": not reasons, "reasons": reasons, "round": latest, "batch_samples": len(batch),
            "quarantined_share": round(q_share, 4), "awaiting_share": round(len(batch & awaiting) / max(1, len(batch)), 4),
            "alpha": alpha,
            "alpha_interval": [alpha_lo, alpha_hi],
            "blocked_share": round(b_share, 4),
            "thresholds": {"max_quarantined_share": cfg.max_quarantined_share, "max_blocked_share": cfg.max_blocked_share,
                           "min_agreement": cfg.min_agreement}}
    return gate, batch, agree


def withheld(requests: pd.DataFrame, gate: dict[str, Any], batch: set[str]) -> pd.DataFrame:
    """`requests` with no label on the samples of a batch that failed its gate: a failed batch's
    answers teach no model (`select.train_on_waiting`)."""
    if not gate["passed"]:
        requests = requests.copy()
        requests.loc[requests["sample_id"].isin(batch), "label"] = None
    return requests


def what_models_learn(project: Project, inferred: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the accepted labels, the re-annotation requests) a model may learn from now, the ML
    backend's trainer between two `validate` runs: the labels of an `infer` result when its latest
    batch passes the gate, else what `validate` leaves (`labels.parquet` as it was, the failed
    batch's waiting samples under no label)."""
    gate, batch, _ = batch_gate(project, inferred["res"], inferred["ann"])
    requests = withheld(requests_of(project, inferred), gate, batch)
    labels = inferred["res"]["labels"] if gate["passed"] else store.read_table(project.data, "labels")
    return labels, requests


def share_low(share: float, n: int) -> float:
    """The bottom of the 90% Wilson interval of a batch's share: what the gate holds to its bar."""
    return annotators.wilson_interval(share, n)[0]


def validate(project: Project) -> dict[str, Any]:
    data, reports = project.data, project.reports
    inferred = infer(project)
    if inferred is None:
        return _nothing_yet(project)
    res, manifest, tasks, ann, classes, X, index = (inferred[k] for k in (
        "res", "manifest", "tasks", "ann", "classes", "X", "index"))
    accepted, quarantine, sample_q = res["labels"], res["quarantine"], res["sample_quarantine"]
    doubtful = res.get("doubtful", checks.no_flags())         # none when every annotation was quarantined
    quality, blocked = res["quality"], res["blocked"]

    gate, batch, agree = batch_gate(project, res, ann)
    reasons = gate["reasons"]
    summary = {
        "annotations": int(len(ann)), "samples_annotated": int(ann["sample_id"].nunique()),
        "accepted": int(len(accepted)), "quarantined_samples": int(sample_q["sample_id"].nunique()),
        "quarantined_annotations": int(quarantine["annotation_id"].notna().sum()),
        "by_check": quarantine.groupby("check").size().to_dict(),
        "methods": accepted["method"].value_counts().to_dict(),
        "mean_confidence": float(accepted["confidence"].mean()) if len(accepted) else None,
        "blocked_annotators": sorted(blocked),
        "watch_annotators": sorted(quality.loc[quality["verdict"] == "watch", "annotator"]),
        "agreement": agree, "gate": gate,
        "lead_time_flags": checks.lead_times(ann),      # excluded from cost figures, not quarantined
        "label_error_model": res.get("label_error_model", {"trusted": False, "accuracy": None, "agreed_items": 0}),
        "doubtful": int(len(doubtful)),
        "doubtful_samples": doubtful[["sample_id", "check", "reason"]].head(1000).to_dict("records"),
    }
    truth = manifest.set_index("sample_id")["source_label"]
    if truth.notna().any() and len(accepted):
        t = accepted["sample_id"].map(truth)
        if project.cfg.project.task == "detection":     # boxes: F1 of the accepted boxes against the known ones
            known = t.notna().to_numpy()
            summary["box_f1_vs_source_labels"] = box_validate.f1_of(accepted["label"][known], t[known])
        else:
            summary["accuracy_vs_source_labels"] = float((accepted["label"] == t).mean())
    requests = withheld(requests_of(project, inferred), gate, batch)
    summary["reannotation_requests"] = int(len(requests))
    summary["requests_by_check"] = requests.groupby("check").size().to_dict()
    store.write_table(data, "requests", requests)
    store.write_table(data, "quarantine", quarantine.astype({"annotation_id": "Int64"}))
    write_text(reports / "annotators.csv", quality.to_csv(index=False))
    write_json(reports / "label_quality.json", summary)
    stage_metrics.write(reports, "validate", summary)
    if not gate["passed"]:
        raise GateFailed("validation gate failed: " + "; ".join(reasons) +
                         f" (labels.parquet left as it was; see {reports / 'label_quality.json'})")
    if project.cfg.label.auto_accept is not None and project.cfg.project.task != "detection":
        with progress.activity("validate: auditing the model's labels"):
            auto, audit = auto_labels.auto_labels(
                project, accepted[accepted["method"] != "gold"][["sample_id", "label"]],
                set(tasks.loc[tasks["audit"].fillna(False).astype(bool), "sample_id"]),
                _unlabeled_pool(project, manifest, tasks), lambda ids: take(X, rows_of(index, ids)))
        before = store.read_table(data, "labels", ["sample_id", "method"])
        previous = set(before.loc[before["method"] == "auto", "sample_id"])
        gone = previous - set(auto["sample_id"])
        # an auto-labeled sample may be picked for annotators later (the audit draws from the whole
        # pool, and a small pool runs out): its human label replaces the model's, which is no revocation
        asked = gone & set(tasks["sample_id"])
        audit["revoked"] = int(len(gone - asked))           # the bound no longer covers them
        audit["sent_to_annotators"] = int(len(asked))
        summary["auto_accept"] = audit
        write_json(reports / "label_quality.json", summary)
        stage_metrics.write(reports, "validate", summary)
        accepted = pd.concat([accepted, auto], ignore_index=True) if len(auto) else accepted
    store.write_table(data, "labels", accepted)
    return summary


def _unlabeled_pool(project: Project, manifest: pd.DataFrame, tasks: pd.DataFrame) -> np.ndarray:
    """Pool samples no human was asked about, that triage kept: what auto-labels may cover."""
    pool = manifest.loc[store.in_split(manifest, "pool"), "sample_id"]
    pool = pool[~among(pool, tasks["sample_id"]) & ~among(pool, set_aside(project))]
    return np.sort(pool.to_numpy())
