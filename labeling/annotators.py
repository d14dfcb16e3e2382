"""Each annotator's estimates and verdict (trusted | watch | blocked) with the evidence: accuracy
under Dawid-Skene, agreement with the consensus, gold accuracy, speed, accepting wrong
pre-annotations, and systematic class maps from the learned confusion matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dataprep.core import store


def wilson_interval(est: float, n: int, z: float = 1.645) -> tuple[float, float]:
    """90% Wilson interval of a share (an accuracy, a quarantined share) estimated from n items (never outside [0, 1],
    wide for a handful of annotations)."""
    if n <= 0 or np.isnan(est):
        return 0.0, 1.0
    centre = (est + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(est * (1 - est) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def answered_alone_first(annotations: pd.DataFrame, tasks: pd.DataFrame) -> pd.Series:
    """True for each annotation a sample got first on a task that asked for one annotator
    (the tasks' `overlap`): whether anything else ever spoke to it depended on its own answer
    (it was sent for another annotation because it looked doubtful), so where it was checked
    it overstates its annotator's error rate, and where it was not it says nothing. It is
    left out of its annotator's estimate. A later annotation was asked for before it was
    given, and counts; so does every annotation of a task that asked for two or more at once.
    Tasks mirrored before the column existed (no overlap) count as before."""
    out = pd.Series(False, index=annotations.index)
    if "overlap" not in tasks.columns or annotations.empty:
        return out
    first = tasks.sort_values("task_id").drop_duplicates("sample_id").set_index("sample_id")["overlap"]
    alone = annotations["sample_id"].map(first) == 1
    order = annotations.sort_values(["created_at", "annotation_id"]) if "created_at" in annotations else annotations
    opener = order.groupby("sample_id", sort=False).head(1).index
    out.loc[opener] = True
    return out & alone.fillna(False).astype(bool)


def class_maps(ds, name: str, support: pd.Series, said: pd.DataFrame | None = None) -> list[str]:
    """A worker's systematic class maps ('3->8') read from their learned Dawid-Skene confusion:
    a true class they give mostly (> 60%) as another, on 8 or more consensus items of it.

    With `said` (their checked annotations: `consensus`, `label`), the map must also be what
    they did there: more than 60% of those items of the class given as the other. Dawid-Skene
    alone can settle on a map for an honest annotator of two confusable classes whose answers
    are mostly single (an .88 annotator of a news set, 'bbc.co.uk->rte.ie', blocked and, with
    `label.remove_blocked`, removed)."""
    if name not in set(ds.workers_):
        return []
    classes = list(ds.classes_)
    conf = ds.confusion_[list(ds.workers_).index(name)]
    maps = []
    for k, c in enumerate(classes):
        j = int(np.argmax(conf[k]))
        if j != k and conf[k, j] > 0.6 and support.get(c, 0) >= 8:
            if said is not None:
                seen = said.loc[said["consensus"] == c, "label"]
                if not len(seen) or (seen == classes[j]).mean() <= 0.6:
                    continue
            maps.append(f"{c}->{classes[j]}")
    return maps


def annotator_quality(annotations: pd.DataFrame, consensus: pd.Series, ds, tasks: pd.DataFrame,
                      gold_truth: pd.Series, cfg, opener: pd.Series | None = None, unbiased=None) -> pd.DataFrame:
    """Per annotator: estimated accuracy and confusion, gold accuracy, agreement with
    consensus, speed, pre-annotation acceptance, and a verdict with the evidence.

    Two estimates of accuracy. `ds` learns from every checked annotation, the first answer of a
    task asking for one annotator included where it was checked (`opener`,
    `answered_alone_first`): such an answer is checked mostly where it looked doubtful, so this
    estimate reads low for everyone alike; it keeps the order of the crowd, and blocking a
    spammer or reading a class map from it is fast. `unbiased` (a Dawid-Skene fit that leaves
    the openers out) is what the annotator gets right on answers checked whatever they said: a
    watch, which holds each of their single labels for another annotation, rests on it (an
    honest .9 annotator of a news set read .6-.65 from the doubted answers and went on watch)."""
    a = annotations.merge(tasks[["sample_id", "prediction", "gold"]].drop_duplicates("sample_id"), on="sample_id", how="left")
    a["consensus"] = a["sample_id"].map(consensus)
    a["lead_time_s"] = store.counted_lead_time(a["lead_time_s"])
    crowd_lead = float(a["lead_time_s"].median()) if a["lead_time_s"].notna().any() else np.nan
    rows = []
    # an annotation is evidence about its annotator only where something else speaks on the same
    # sample (another annotation, or a gold label): a single label agrees with itself
    crowded = a.groupby("sample_id")["annotator"].transform("nunique") >= 2
    # (the annotation a task asking for one annotator got first is left out: `answered_alone_first`)
    if opener is None:
        opener = answered_alone_first(annotations, tasks)
    gold_item = a["sample_id"].isin(gold_truth.index)
    a["checked"] = crowded | gold_item
    # without the openers (the watch's fit), a sample is checked where two or more answers remain
    rest = ~opener.reindex(annotations.index).fillna(False).to_numpy(bool)
    crowded_rest = a["annotator"].where(rest).groupby(a["sample_id"]).transform("nunique") >= 2
    a["checked_whatever"] = (crowded_rest & rest) | gold_item
    # the crowd's accuracy on the same kind of answers: what a watch is measured against as well as
    # the bar, since the answers checked whatever they said are the harder ones for everyone
    # (re-annotation goes where the model and the annotators find it hard)
    seen = a.loc[a["checked_whatever"], "annotator"].unique()
    crowd_fair = (unbiased if unbiased is not None else ds).skill_.reindex(seen).dropna()
    for name, g in a.groupby("annotator"):
        est = float(ds.skill_.get(name, np.nan))
        agree = float((g["label"] == g["consensus"]).mean())
        gold = g[g["sample_id"].isin(gold_truth.index)]
        gold_acc = float((gold["label"] == gold["sample_id"].map(gold_truth)).mean()) if len(gold) else np.nan
        lead = float(g["lead_time_s"].median()) if g["lead_time_s"].notna().any() else np.nan
        with_pred = g[g["prediction"].notna() & (g["prediction"] != g["consensus"])]
        accept_wrong = float((with_pred["label"] == with_pred["prediction"]).mean()) if len(with_pred) >= 5 else np.nan
        checked = g[g["checked"]]      # a map is read where something else speaks to the sample
        maps = class_maps(ds, name, checked.groupby("consensus").size(), checked[["consensus", "label"]])
        evidence, verdict = [], "trusted"
        if name in cfg.blocked_annotators:
            verdict, evidence = "blocked", ["listed in validate.blocked_annotators"]
        # a verdict needs the interval, not the point estimate: blocked or watched only when even
        # the top of the 90% interval is below the bar (a good annotator with a handful of unlucky
        # annotations, or an estimate the data cannot pin down, stays trusted)
        lower, upper = wilson_interval(est, int(g["checked"].sum()))
        fair = float(unbiased.skill_.get(name, np.nan)) if unbiased is not None else est
        fair_lower, fair_upper = wilson_interval(fair, int(g["checked_whatever"].sum()) if unbiased is not None
                                                 else int(g["checked"].sum()))
        if upper < cfg.block_accuracy:
            verdict = "blocked"
            evidence.append(f"estimated accuracy {est:.2f} (90% interval {lower:.2f}-{upper:.2f}) < {cfg.block_accuracy}")
        elif fair_upper < cfg.watch_accuracy and fair_upper < (peers := float(np.nan_to_num(
                crowd_fair.drop(name, errors="ignore").median(), nan=1.0))):
            verdict = "watch" if verdict == "trusted" else verdict
            evidence.append(f"estimated accuracy {fair:.2f} on answers checked whatever they said "
                            f"(90% interval {fair_lower:.2f}-{fair_upper:.2f}) < {cfg.watch_accuracy}, and below "
                            f"the other annotators' median {peers:.2f} there")
        # gold answers are weighed the same way: 3 of 7 right is within an 0.8 annotator's bad luck
        gold_lower, gold_upper = wilson_interval(gold_acc, len(gold))
        if len(gold) >= 5 and gold_upper < cfg.block_accuracy:
            verdict = "blocked"
            evidence.append(f"gold accuracy {gold_acc:.2f} on {len(gold)} gold tasks "
                            f"(90% interval {gold_lower:.2f}-{gold_upper:.2f}) < {cfg.block_accuracy}")
        if maps:
            verdict = "blocked"
            evidence.append("systematically maps " + ", ".join(maps))
        # and so is taking wrong pre-annotations: 5 of 6 is within an honest annotator's luck
        # (the consensus may be the wrong one); the bottom of the 90% interval must pass half
        accept_lower = wilson_interval(accept_wrong, len(with_pred))[0]
        if not np.isnan(accept_wrong) and accept_lower > 0.5:
            verdict = "blocked"
            evidence.append(f"accepts the pre-annotation even when it is wrong ({accept_wrong:.0%} of "
                            f"{len(with_pred)}; 90% interval from {accept_lower:.2f})")
        if crowd_lead and not np.isnan(lead) and lead < 0.3 * crowd_lead:
            verdict = "watch" if verdict == "trusted" else verdict
            evidence.append(f"median lead time {lead:.1f}s vs crowd {crowd_lead:.1f}s")
        rows.append({"annotator": name, "n_annotations": len(g), "n_checked": int(g["checked"].sum()), "est_accuracy": round(est, 4),
                     "est_accuracy_low": round(lower, 4), "est_accuracy_high": round(upper, 4),
                     "n_checked_whatever": int(g["checked_whatever"].sum()), "est_accuracy_unbiased": round(fair, 4),
                     "consensus_agreement": round(agree, 4), "gold_accuracy": gold_acc, "n_gold": len(gold),
                     "median_lead_time_s": round(lead, 2), "accepts_wrong_preannotation": accept_wrong,
                     "class_map": ", ".join(maps), "verdict": verdict, "evidence": "; ".join(evidence)})
    return pd.DataFrame(rows)
