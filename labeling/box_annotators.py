"""Each box annotator's estimates and verdict (trusted | watch | blocked) with the evidence.

What classification weighs (`labeling.annotators`), measured on boxes: F1 of their boxes
against the consensus (a box counts with IoU >= 0.5 and the right class) on the images where
something else speaks, with its 90% interval; gold F1 against the gold boxes; a systematic
class map from their learned class confusion; speed; and the frauds only boxes have:
- one box over (nearly) the whole image where the consensus has none;
- copying the pre-annotation unchanged where it is wrong (every corner within a pixel of the
  pre-annotation, on images where the pre-annotation does not match the consensus);
- random boxes show as F1 near zero (most of their boxes are extra), a class swap as the map.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dataprep.core import store
from labeling import boxes as bx
from labeling.annotators import wilson_interval, class_maps
from labeling.box_consensus import BoxConsensus


def _covers(box: dict, size: tuple[float, float] | None, share: float = 0.9) -> bool:
    if size is None or not size[0] or not size[1]:
        return False
    return (box["x_max"] - box["x_min"]) * (box["y_max"] - box["y_min"]) >= share * float(size[0]) * float(size[1])


def _same_boxes(a: list[dict], b: list[dict], tol: float = 1.0) -> bool:
    if len(a) != len(b):
        return False
    key = lambda x: tuple(round(float(x[k])) for k in bx.CORNERS)      # noqa: E731
    return all(p["label"] == q["label"] and all(abs(float(p[k]) - float(q[k])) <= tol for k in bx.CORNERS)
               for p, q in zip(sorted(a, key=key), sorted(b, key=key)))


def _matches(a: list[dict], b: list[dict]) -> bool:
    """The two box sets are the same objects (every box matched with IoU >= 0.5 and its class)."""
    tp, fp, fn = bx.f1_against(a, b)
    return fp == 0 and fn == 0


def box_annotator_quality(annotations: pd.DataFrame, consensus: BoxConsensus, tasks: pd.DataFrame,
                          gold_truth: pd.Series, sizes: dict, cfg) -> pd.DataFrame:
    """Per annotator: box F1 against the consensus and against gold, recall, extra boxes,
    localisation, class accuracy and map, covering boxes, copied pre-annotations, speed, and
    a verdict with the evidence. Same columns as `annotators.annotator_quality` plus the box ones."""
    a = annotations.merge(tasks[["sample_id", "prediction"]].drop_duplicates("sample_id"), on="sample_id", how="left")
    a["lead_time_s"] = store.counted_lead_time(a["lead_time_s"])
    crowd_lead = float(a["lead_time_s"].median()) if a["lead_time_s"].notna().any() else np.nan
    long = pd.DataFrame({"task": a["sample_id"], "worker": a["annotator"], "label": a["label"]})
    stats = consensus.worker_table(long).set_index("annotator")
    ds = consensus.class_model_
    # per true class, how many consensus boxes each annotator met (the support a class map needs)
    met: dict[str, pd.Series] = {}
    for row in consensus.clusters_.itertuples():
        if row.p_real >= 0.5:
            for w in row.members:
                met.setdefault(w, []).append(row.label)
    rows = []
    for name, g in a.groupby("annotator"):
        st = stats.loc[name] if name in stats.index else None
        tp, fp, fn = (int(st[k]) for k in ("tp", "fp", "fn")) if st is not None else (0, 0, 0)
        n = tp + fp + fn
        f1 = 2 * tp / (2 * tp + fp + fn) if n else np.nan
        lower, upper = wilson_interval(f1, n)
        gold = g[g["sample_id"].isin(gold_truth.index)]
        gtp = gfp = gfn = 0
        for sid, label in zip(gold["sample_id"], gold["label"]):
            x, y, z = bx.f1_against(bx.parse(label), bx.parse(gold_truth[sid]))
            gtp, gfp, gfn = gtp + x, gfp + y, gfn + z
        gn = gtp + gfp + gfn
        gold_f1 = 2 * gtp / (2 * gtp + gfp + gfn) if gn else np.nan
        covering = copied = copy_chances = 0
        for sid, label, pred in zip(g["sample_id"], g["label"], g["prediction"]):
            mine, ref = bx.parse(label), consensus.boxes_.get(sid, [])
            if any(_covers(b, sizes.get(sid)) for b in mine) and not any(_covers(b, sizes.get(sid)) for b in ref):
                covering += 1
            if isinstance(pred, str) and pred.startswith("["):
                pre = bx.parse(pred)
                if pre and not _matches(pre, ref):
                    copy_chances += 1
                    copied += _same_boxes(mine, pre)
        maps = class_maps(ds, name, pd.Series(met.get(name, [])).value_counts()) if ds is not None else []
        lead = float(g["lead_time_s"].median()) if g["lead_time_s"].notna().any() else np.nan
        evidence, verdict = [], "trusted"
        if name in cfg.blocked_annotators:
            verdict, evidence = "blocked", ["listed in validate.blocked_annotators"]
        if upper < cfg.block_accuracy:
            verdict = "blocked"
            evidence.append(f"box F1 against the consensus {f1:.2f} (90% interval {lower:.2f}-{upper:.2f}; "
                            f"{tp} matched, {fp} extra or wrong, {fn} missed) < {cfg.block_accuracy}")
        elif upper < cfg.watch_accuracy:
            verdict = "watch" if verdict == "trusted" else verdict
            evidence.append(f"box F1 against the consensus {f1:.2f} (90% interval {lower:.2f}-{upper:.2f}) "
                            f"< {cfg.watch_accuracy}")
        g_lo, g_hi = wilson_interval(gold_f1, gn)
        if len(gold) >= 3 and gn >= 5 and g_hi < cfg.block_accuracy:
            verdict = "blocked"
            evidence.append(f"gold box F1 {gold_f1:.2f} on {len(gold)} gold images (90% interval "
                            f"{g_lo:.2f}-{g_hi:.2f}) < {cfg.block_accuracy}")
        if maps:
            verdict = "blocked"
            evidence.append("systematically maps " + ", ".join(maps))
        if len(g) >= 5 and covering / len(g) > 0.5:
            verdict = "blocked"
            evidence.append(f"draws one box over the whole image on {covering} of {len(g)} images")
        if copy_chances >= 5 and copied / copy_chances > 0.8:
            verdict = "blocked"
            evidence.append(f"copies the pre-annotation unchanged where it is wrong ({copied} of {copy_chances} images)")
        if crowd_lead and not np.isnan(lead) and lead < 0.3 * crowd_lead:
            verdict = "watch" if verdict == "trusted" else verdict
            evidence.append(f"median lead time {lead:.1f}s vs crowd {crowd_lead:.1f}s")
        rows.append({"annotator": name, "n_annotations": len(g),
                     "n_checked": int(st["n_checked_images"]) if st is not None else 0,
                     "est_accuracy": round(f1, 4) if n else np.nan, "est_accuracy_low": round(lower, 4),
                     "est_accuracy_high": round(upper, 4), "consensus_agreement": round(f1, 4) if n else np.nan,
                     "gold_accuracy": gold_f1, "n_gold": len(gold), "median_lead_time_s": round(lead, 2),
                     "accepts_wrong_preannotation": copied / copy_chances if copy_chances >= 5 else np.nan,
                     "class_map": ", ".join(maps), "verdict": verdict, "evidence": "; ".join(evidence),
                     "box_f1": f1, "recall": float(st["recall"]) if st is not None else np.nan,
                     "extra_per_image": float(st["extra_per_image"]) if st is not None else np.nan,
                     "mean_iou": float(st["mean_iou"]) if st is not None else np.nan,
                     "loc_error": float(st["loc_error"]) if st is not None else np.nan,
                     "class_accuracy": float(st["class_accuracy"]) if st is not None else np.nan,
                     "covering_boxes": covering})
    return pd.DataFrame(rows)
