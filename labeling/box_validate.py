"""Truth inference and checks for detection: the box counterpart of `validate.infer_labels`.

1. schema and provenance checks quarantine single annotations (as for classes);
2. box consensus (`labeling.box_consensus`) on what is left estimates every annotator; those
   judged blocked (`labeling.box_annotators`: low box F1, failed gold, a class map, one box over
   the whole image, copying a wrong pre-annotation) are quarantined whole;
3. box consensus again on the kept annotations gives the fused boxes of every image, each box
   with a score (P(real) x P(class)) and the annotators who drew it;
4. an image is accepted when none of its boxes is in doubt: its confidence is that of its least
   certain decision (a kept box's score, or 1 - P(real) of a box left out), and it must reach
   `validate.min_confidence`. Otherwise it goes back for another annotation with the reason
   (which box, drawn by whom, missed by whom): `unconfirmed` for a lone annotator's image,
   `tie` where two kept annotators split 1-1 on every doubtful box (one drew it, the other
   did not, or they gave two classes: not counted by the gate, like a class tie),
   `low_agreement` where several disagree otherwise; `blocked_only` where only blocked annotators
   answered. Gold images are accepted as their gold boxes;
5. with the team's detector (`select.detector`), its disagreements with the boxes about to be
   accepted (`labeling.box_label_errors`: missing, spurious, wrong class, badly placed) are
   weighed by how good the detector is on the labels it can be checked on: a detector that has
   earned trust (box F1 >= `validate.label_error_min_accuracy`) quarantines the image
   (`label_error`); a weaker one only lists it as doubtful and asks for another annotation
   (`label_error_unconfirmed`): it never costs a correct label.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from dataprep.core.config import Validate
from labeling import boxes as bx
from labeling import checks
from labeling.box_annotators import box_annotator_quality
from labeling.box_consensus import BoxConsensus
from labeling.box_label_errors import detector_f1, find_box_issues


def _consensus(ann: pd.DataFrame, classes: list[str], gold: dict) -> BoxConsensus:
    long = pd.DataFrame({"task": ann["sample_id"].to_numpy(), "worker": ann["annotator"].to_numpy(),
                         "label": ann["label"].to_numpy()})
    return BoxConsensus().fit(long, classes=classes, gold=gold)


def _doubt(c: pd.DataFrame, threshold: float, ann: pd.DataFrame) -> tuple[list[str], bool]:
    """Why an image's boxes are in doubt: each decision under `threshold`, named; and whether
    every one of them is a 1-1 split of two kept annotators (one drew the box and the other
    did not, or they gave it different classes): a tie, which another annotation breaks."""
    out, ties = [], True
    labels = dict(zip(ann["annotator"], ann["label"]))
    for row in c.itertuples():
        kept = row.p_real >= 0.5
        sure = row.box["score"] if kept else 1 - row.p_real
        if sure >= threshold:
            continue
        two = len(row.members) + len(row.missed_by) == 2
        split = len(row.members) == 1 or len({_class_of(labels.get(w), row.box) for w in row.members}) == 2
        ties = ties and two and split
        who = f"drawn by {', '.join(row.members)}" + (f", missed by {', '.join(row.missed_by)}" if row.missed_by else "")
        out.append(f"{'kept' if kept else 'left out'} {bx.describe(row.box)} ({who}; P(real) {row.p_real:.2f}, "
                   f"P({row.label}) {row.p_label:.2f})")
    return out, ties and bool(out)


def _class_of(label, box: dict) -> str | None:
    """The class an annotator gave the object at `box`: their best-overlapping box's."""
    mine = bx.parse(label)
    if not mine:
        return None
    m = bx.iou(bx.to_array([box]), bx.to_array(mine))[0]
    return mine[int(m.argmax())]["label"]


def infer_boxes(ann: pd.DataFrame, usable: pd.DataFrame, flags: list[pd.DataFrame], classes: list[str],
                tasks: pd.DataFrame, gold_truth: pd.Series, cfg: Validate, sizes: pd.DataFrame | None = None,
                detector=None) -> dict[str, Any]:
    """Steps 2-5 of the module docstring on data frames, after `validate.infer_labels` ran the
    annotation checks (`flags`; `usable`: the annotations they left, not empty): accepted
    `labels` (JSON boxes), `quarantine`, annotator `quality`, `inferred`, `kept`, `blocked`,
    `p_wrong` per image, the fitted `consensus`, and, with a `detector`, the label errors it
    finds (quarantined, or `doubtful`) and how far it is trusted (`label_error_model`)."""
    wh = ({s: (w, h) for s, w, h in zip(sizes["sample_id"], sizes["width"], sizes["height"])}
          if sizes is not None else {})
    gold = {s: bx.parse(v) for s, v in gold_truth.items()}
    everyone = np.unique(ann["sample_id"].to_numpy())
    first = _consensus(usable, classes, gold)
    quality = box_annotator_quality(usable, first, tasks, gold_truth, wh, cfg)
    blocked, blocked_flags, kept = checks.split_blocked(usable, quality, cfg.blocked_annotators)
    flags.append(blocked_flags)
    second = _consensus(kept, classes, gold) if len(kept) else None
    n = kept.groupby("sample_id").size().reindex(everyone, fill_value=0)
    labels, sample_flags, p_wrong = [], [], {}
    clusters = second.clusters_.groupby("task") if second is not None else {}
    for sid in everyone:
        if n[sid] == 0:
            continue
        c = clusters.get_group(sid) if second is not None and sid in second.confidence_.index and \
            sid in set(second.clusters_["task"]) else pd.DataFrame(columns=second.clusters_.columns)
        decisions = [(r.box["score"] if r.p_real >= 0.5 else 1 - r.p_real) for r in c.itertuples()]
        unseen = _nothing_missed(second, sid, kept)
        conf = float(min(decisions + [unseen]))
        p_wrong[sid] = 1 - conf
        labels.append({"sample_id": sid, "label": json.dumps(second.boxes_.get(sid, [])), "confidence": conf,
                       "method": "single" if n[sid] == 1 else "box_consensus", "n_annotations": int(n[sid])})
        if conf < cfg.min_confidence:
            why, tie = _doubt(c, cfg.min_confidence, kept[kept["sample_id"] == sid])
            if unseen < cfg.min_confidence:
                why.append(f"an object none of its {n[sid]} annotators drew is {1 - unseen:.0%} likely (their recall)")
                tie = False
            check = "unconfirmed" if n[sid] == 1 else "tie" if tie else "low_agreement"
            sample_flags.append({"sample_id": sid, "annotation_id": None, "annotator": None, "check": check,
                                 "reason": "; ".join(why) + ": send for another annotation"})
    labels = pd.DataFrame(labels, columns=["sample_id", "label", "confidence", "method", "n_annotations"])
    only_blocked = [s for s in everyone if n[s] == 0 and s in set(usable["sample_id"])]
    nothing = [s for s in everyone if n[s] == 0 and s not in set(usable["sample_id"])]
    for s in only_blocked:
        sample_flags.append({"sample_id": s, "annotation_id": None, "annotator": None, "check": "blocked_only",
                             "reason": "every annotation came from a blocked annotator: send for another annotation"})
        p_wrong[s] = 1.0
    for s in nothing:
        sample_flags.append({"sample_id": s, "annotation_id": None, "annotator": None, "check": "no_usable_annotation",
                             "reason": "every annotation was quarantined: send for another annotation"})
        p_wrong[s] = 1.0
    gold_rows = gold_truth[gold_truth.index.isin(everyone)]
    labels = labels[~labels["sample_id"].isin(gold_rows.index)]
    labels = pd.concat([labels, pd.DataFrame({"sample_id": gold_rows.index, "label": gold_rows.to_numpy(),
                        "confidence": 1.0, "method": "gold", "n_annotations": ann.groupby("sample_id").size()
                        .reindex(gold_rows.index).to_numpy()})], ignore_index=True)
    sample_q = pd.DataFrame(sample_flags, columns=checks.FLAG_COLUMNS)
    sample_q = sample_q[~sample_q["sample_id"].isin(gold_rows.index)]
    model_check, doubtful = {"trusted": False, "accuracy": None, "agreed_items": 0}, checks.no_flags()
    if detector is not None:
        found, model_check = detector_label_errors(detector, labels, sample_q, gold_rows, cfg)
        if model_check["trusted"]:
            sample_q = pd.concat([sample_q, found], ignore_index=True)
        elif len(found):
            doubtful = found.assign(check="label_error_unconfirmed",
                                    reason=[f"{r} (kept: the detector's box F1 is {model_check['accuracy'] or 0:.2f} on "
                                            f"{model_check['agreed_items']} images it can be checked on, under "
                                            f"validate.label_error_min_accuracy {cfg.label_error_min_accuracy}); "
                                            "worth another annotation" for r in found["reason"]])
    accepted = labels[~labels["sample_id"].isin(sample_q["sample_id"])].sort_values("sample_id").reset_index(drop=True)
    quarantine = pd.concat([f for f in flags + [sample_q] if len(f)] or [checks.no_flags()], ignore_index=True)
    inferred = labels.set_index("sample_id")["label"]
    return {"agreement": pairwise_agreement(kept), "labels": accepted, "quarantine": quarantine, "sample_quarantine": sample_q, "quality": quality,
            "inferred": inferred, "kept": kept, "blocked": blocked, "prior_weight": 0.0,
            "p_wrong": pd.Series(p_wrong, dtype=float), "consensus": second, "doubtful": doubtful,
            "label_error_model": model_check}


def detector_label_errors(detector, labels: pd.DataFrame, sample_q: pd.DataFrame, gold_rows: pd.Series,
                          cfg: Validate) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Step 5: the detector's say on the boxes about to be accepted (`labeling.box_label_errors`),
    one flag per image naming each issue, `label_error`; and how far the detector is trusted:
    its box F1 against the labels it can be checked on (gold images, and images several kept
    annotators agreed on with confidence), trusted from `validate.label_error_min_accuracy`
    on at least 10 such images."""
    ok = labels[~labels["sample_id"].isin(sample_q["sample_id"])]
    ok = ok[[detector.covers(s) for s in ok["sample_id"]]]
    if ok.empty:
        return checks.no_flags(), {"trusted": False, "accuracy": None, "agreed_items": 0}
    boxes = {s: bx.parse(v) for s, v in zip(ok["sample_id"], ok["label"])}
    pred = dict(zip(ok["sample_id"], detector.predict(list(ok["sample_id"]))))
    sure = ok[(ok["method"] == "gold") | ((ok["n_annotations"] >= 2) & (ok["confidence"] >= cfg.min_confidence))]
    f1, n = detector_f1({s: boxes[s] for s in sure["sample_id"]}, pred)
    model_check = {"trusted": bool(f1 is not None and n >= 10 and f1 >= cfg.label_error_min_accuracy),
                   "accuracy": None if f1 is None else round(float(f1), 4), "agreed_items": int(n)}
    mine = ok[ok["method"] != "gold"]
    issues = find_box_issues({s: boxes[s] for s in mine["sample_id"]}, pred)
    if issues.empty:
        return checks.no_flags(), model_check
    why = issues.groupby("sample_id")["reason"].agg("; ".join)
    return (pd.DataFrame({"sample_id": why.index, "annotation_id": None, "annotator": None, "check": "label_error",
                          "reason": [f"the detector disagrees: {r}" for r in why.to_numpy()]},
                         columns=checks.FLAG_COLUMNS), model_check)


def _nothing_missed(consensus: BoxConsensus, sid: str, kept: pd.DataFrame) -> float:
    """The chance that no object of the image was missed by all its kept annotators (each misses
    a real object with 1 - recall; objects per image as the prior count)."""
    who = kept.loc[kept["sample_id"] == sid, "annotator"]
    miss = float(np.prod([1 - consensus.recall_.get(w, consensus.recall_prior) for w in who]))
    mu = consensus.objects_per_image_
    # P(at least one object nobody drew) under a Poisson(mu * miss) count of such objects
    return float(np.exp(-mu * miss))


f1_of = bx.micro_f1         # the name the stage's summary and the tests use


def pairwise_agreement(kept: pd.DataFrame) -> dict[str, Any]:
    """Agreement between kept box annotators: micro box F1 over every pair answering the same
    image. Krippendorff's alpha is for classes; it stays NaN here, so the alpha gate is off."""
    nan = float("nan")
    tp = fp = fn = pairs = 0
    for _, g in kept.groupby("sample_id"):
        labs = list(g["label"])
        for i in range(len(labs)):
            for j in range(i + 1, len(labs)):
                x, y, z = bx.f1_against(bx.parse(labs[i]), bx.parse(labs[j]))
                tp, fp, fn, pairs = tp + x, fp + y, fn + z, pairs + 1
    f1 = 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else nan
    return {"alpha": nan, "alpha_interval": (nan, nan), "alpha_per_class": {}, "box_f1_pairwise": f1,
            "pairs": pairs}
