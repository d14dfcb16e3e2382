"""Box consensus: several annotators' boxes on an image become one set of fused boxes, each
with a confidence, and every annotator gets estimates of their recall, extra boxes, class
confusion and localisation error, learned jointly (EM, in the spirit of Dawid-Skene).

The model, per image:
- its boxes are clustered across annotators: each annotator's boxes are matched one-to-one
  (Hungarian, IoU >= `iou_threshold`, whatever the class) to the clusters so far, most
  reliable annotator first; a box that matches nothing starts a cluster. Matching ignores the
  class on purpose: a systematic class swap shows up as a confusion (and is caught), not as a
  missed box plus an extra one;
- a cluster is a real object or a spurious box. A real object is drawn by each annotator who
  saw the image with probability `recall_[a]`; an annotator also draws on average
  `extra_rate_[a]` spurious boxes per image, and two spurious boxes rarely coincide
  (`coincidence` per extra member). So, with M the annotators who drew the cluster and N those
  who saw the image and did not, and mu the mean number of objects per image:
      P(real) / P(spurious) = mu * prod_M recall * prod_N (1 - recall) / (prod_M extra_rate * coincidence^(|M|-1));
- the class of a real cluster is Dawid-Skene on its members' classes (`labeling.aggregate`),
  so each annotator has a confusion matrix and a class map can be read from it;
- its fused corners are the members' corners weighted by 1 / (annotator's localisation
  variance), relative to the box size.
Recall, extra rate and localisation error are learned only from images where something else
speaks: a second annotator, or a gold answer (a lone annotator's boxes agree with themselves);
an annotator never checked keeps the pseudo-counts, and mu starts from `objects_prior` with
the same weight. Gold answers take part as an annotator
who is always right: on a gold image the clusters holding a gold box are real, the others
spurious.

Follows scikit-learn's conventions: parameters in `__init__`, checked in `fit`; learned
attributes end in `_`. `fit(X)` takes the long annotation table (task, worker, label: a JSON
list of pixel boxes, see `labeling.boxes`).
"""

from __future__ import annotations

import json
import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from labeling import boxes as bx
from labeling.aggregate import DawidSkene

GOLD = "__gold__"


def _check(name: str, value, low: float, high: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < low or (high is not None and value > high):
        raise ValueError(f"BoxConsensus: {name} must be a number in [{low}, {high if high is not None else 'inf'}], "
                         f"got {value!r}")


class BoxConsensus(BaseEstimator):
    def __init__(self, iou_threshold: float = 0.5, n_iter: int = 30, coincidence: float = 0.02,
                 recall_prior: float = 0.8, extra_prior: float = 0.2, pseudo_count: float = 2.0,
                 loc_prior: float = 0.05, objects_prior: float = 1.0, n_rounds: int = 2):
        self.iou_threshold = iou_threshold    # boxes of two annotators are the same object from here
        self.n_iter = n_iter                  # EM iterations per clustering round
        self.coincidence = coincidence        # chance a spurious box lands on another's box
        self.recall_prior = recall_prior      # an annotator draws this share of objects until shown otherwise
        self.extra_prior = extra_prior        # ... and this many spurious boxes per image
        self.pseudo_count = pseudo_count      # weight of the priors, in images
        self.loc_prior = loc_prior            # localisation error (share of the box side) until shown otherwise
        self.objects_prior = objects_prior    # objects per image until shown otherwise (a few images cannot
                                              # argue the count down to nothing: every box would turn spurious)
        self.n_rounds = n_rounds              # cluster, estimate, cluster again with the estimates

    # ------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame, y=None, *, classes: list[str], gold: dict[str, list[dict]] | None = None
            ) -> "BoxConsensus":
        _check("iou_threshold", self.iou_threshold, 0.05, 1.0)
        _check("coincidence", self.coincidence, 1e-6, 1.0)
        _check("recall_prior", self.recall_prior, 0.01, 0.99)
        _check("extra_prior", self.extra_prior, 1e-3)
        _check("pseudo_count", self.pseudo_count, 0)
        _check("loc_prior", self.loc_prior, 1e-3)
        _check("objects_prior", self.objects_prior, 1e-3)
        for name in ("n_iter", "n_rounds"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"BoxConsensus: {name} must be a whole number >= 1, got {v!r}")
        missing = {"task", "worker", "label"} - set(getattr(X, "columns", []))
        if missing:
            raise ValueError(f"BoxConsensus.fit: X needs the columns task, worker, label (missing {sorted(missing)})")
        gold = {t: list(b) for t, b in (gold or {}).items()}
        self._gold_tasks = set(gold) & set(X["task"])
        self.classes_ = list(classes)
        answers = {}                               # task -> {worker: [boxes]}
        for t, w, label in zip(X["task"], X["worker"], X["label"]):
            answers.setdefault(t, {})[w] = bx.parse(label)
        for t, b in gold.items():
            if t in answers:
                answers[t][GOLD] = b
        self.tasks_ = np.array(sorted(answers), dtype=object)
        workers = sorted({w for a in answers.values() for w in a if w != GOLD})
        self.workers_ = np.array(workers, dtype=object)
        recall = pd.Series(self.recall_prior, index=workers)
        extra = pd.Series(self.extra_prior, index=workers)
        loc = pd.Series(self.loc_prior, index=workers)
        for _ in range(self.n_rounds):
            clusters = self._cluster(answers, recall, extra, loc)
            recall, extra, loc, p_real, mu = self._em(clusters, answers, workers)
        self.recall_, self.extra_rate_, self.loc_error_, self.objects_per_image_ = recall, extra, loc, mu
        self._finish(clusters, answers, p_real, workers, loc)
        return self

    def _cluster(self, answers, recall, extra, loc) -> list[dict]:
        """Per image: clusters {task, members: {worker: box index}, boxes: {worker: box}, center}."""
        order = (recall - extra).sort_values(ascending=False, kind="stable")
        rank = {w: i for i, w in enumerate(order.index)}
        weight = (1.0 / loc ** 2).to_dict()
        out = []
        for t in self.tasks_:
            ans = answers[t]
            mine = []
            for w in sorted(ans, key=lambda w: (-1 if w == GOLD else rank.get(w, len(rank)), str(w))):
                b = ans[w]
                arr = bx.to_array(b)
                centers = np.array([c["center"] for c in mine]).reshape(-1, 4)
                matched = set()
                for i, j, _ in bx.match(arr, centers, self.iou_threshold):
                    c = mine[j]
                    c["boxes"][w] = b[i]
                    c["coords"][w] = arr[i]
                    ws = np.array([1e6 if v == GOLD else weight.get(v, 1.0) for v in c["coords"]])
                    c["center"] = (np.stack(list(c["coords"].values())) * ws[:, None]).sum(0) / ws.sum()
                    matched.add(i)
                for i in range(len(b)):
                    if i not in matched:
                        mine.append({"task": t, "boxes": {w: b[i]}, "coords": {w: arr[i]}, "center": arr[i].copy()})
            out.extend(mine)
        return out

    def _em(self, clusters, answers, workers):
        W = len(workers)
        widx = {w: i for i, w in enumerate(workers)}
        C = len(clusters)
        task_of = np.array([c["task"] for c in clusters], dtype=object)
        member = np.zeros((C, W), bool)
        saw = np.zeros((C, W), bool)
        gold_state = np.full(C, np.nan)
        checked = np.zeros(C, bool)
        for k, c in enumerate(clusters):
            ans = answers[c["task"]]
            for w in c["boxes"]:
                if w != GOLD:
                    member[k, widx[w]] = True
            for w in ans:
                if w != GOLD:
                    saw[k, widx[w]] = True
            if GOLD in ans:
                gold_state[k] = 1.0 if GOLD in c["boxes"] else 0.0
            checked[k] = GOLD in ans or sum(w != GOLD for w in ans) >= 2
        n_tasks = len(self.tasks_)
        # images each annotator saw where something else speaks, for the extra-box rate
        checked_images = np.zeros(W)
        for t, ans in answers.items():
            if GOLD in ans or sum(w != GOLD for w in ans) >= 2:
                for w in ans:
                    if w != GOLD:
                        checked_images[widx[w]] += 1
        p = np.where(np.isnan(gold_state), np.clip(member.sum(1) / np.maximum(saw.sum(1), 1), 0.5, 1.0), gold_state)
        a0, k0 = self.recall_prior, self.pseudo_count
        for _ in range(self.n_iter):
            pc = p * checked
            recall = ((pc[:, None] * member).sum(0) + k0 * a0) / ((pc[:, None] * saw).sum(0) + k0)
            extra = ((((1 - p) * checked)[:, None] * member).sum(0) + k0 * self.extra_prior) / (checked_images + k0)
            recall = np.clip(recall, 1e-3, 1 - 1e-3)
            extra = np.clip(extra, 1e-4, None)
            mu = max((float(p.sum()) + k0 * self.objects_prior) / (n_tasks + k0), 1e-3)
            log_real = (np.log(mu) + member @ np.log(recall) + (saw & ~member) @ np.log(1 - recall))
            log_spur = member @ np.log(extra) + np.maximum(member.sum(1) - 1, 0) * np.log(self.coincidence)
            new = 1.0 / (1.0 + np.exp(np.clip(log_spur - log_real, -50, 50)))
            new = np.where(np.isnan(gold_state), new, gold_state)
            if np.abs(new - p).max() < 1e-6:
                p = new
                break
            p = new
        # localisation error: members' corners against the cluster centre, relative to its size
        res = np.zeros(W)
        cnt = np.zeros(W)
        for k, c in enumerate(clusters):
            if not checked[k] or p[k] < 0.5 or len(c["coords"]) < 2:
                continue
            ctr = c["center"]
            size = np.maximum(np.r_[ctr[2] - ctr[0], ctr[3] - ctr[1]], 1.0)
            coords = c["coords"]
            for w, xy in coords.items():
                if w == GOLD:
                    continue
                # against the others' mean (the annotator's own corners would pull the centre
                # toward them); with two members that residual holds both errors, so it is halved
                others = [v for o, v in coords.items() if o != w]
                ref = coords[GOLD] if GOLD in coords else np.mean(others, 0)
                share = 1.0 if GOLD in coords else len(others) / (len(others) + 1.0)
                e = (xy - ref) / np.r_[size, size]
                res[widx[w]] += p[k] * share * float((e ** 2).sum())
                cnt[widx[w]] += p[k] * 4
        loc = np.sqrt((res + k0 * 4 * self.loc_prior ** 2) / (cnt + k0 * 4))
        self._state = {"member": member, "saw": saw, "checked": checked, "task_of": task_of}
        return (pd.Series(recall, index=workers), pd.Series(extra, index=workers), pd.Series(loc, index=workers),
                p, mu)

    def _finish(self, clusters, answers, p_real, workers, loc) -> None:
        real = [k for k in range(len(clusters)) if p_real[k] >= 0.5]
        long = [{"task": f"{k}", "worker": w, "label": b["label"]}
                for k in real for w, b in clusters[k]["boxes"].items()]
        long = pd.DataFrame(long, columns=["task", "worker", "label"])
        classes = self.classes_
        long = long[long["label"].isin(classes)]
        ds = DawidSkene().fit(long, classes=classes) if len(long) else None
        self.class_model_ = ds
        weight = (1.0 / loc ** 2).to_dict()
        rows, fused, ranked = [], {t: [] for t in self.tasks_}, {t: [] for t in self.tasks_}
        post = (pd.DataFrame(ds.posterior_, index=ds.tasks_, columns=classes) if ds is not None
                else pd.DataFrame(columns=classes))
        for k, c in enumerate(clusters):
            members = sorted(w for w in c["boxes"] if w != GOLD)
            seen = sorted(w for w in answers[c["task"]] if w != GOLD)
            ws = np.array([1e6 if w == GOLD else weight.get(w, 1.0) for w in c["coords"]])
            xy = (np.stack(list(c["coords"].values())) * ws[:, None]).sum(0) / ws.sum()
            if GOLD in c["boxes"]:
                label, q = c["boxes"][GOLD]["label"], 1.0
                xy = bx.to_array([c["boxes"][GOLD]])[0]
            elif str(k) in post.index:
                row = post.loc[str(k)]
                label, q = str(row.idxmax()), float(row.max())
            else:                       # spurious, or no member's class is in the label set
                votes = pd.Series([b["label"] for w, b in c["boxes"].items()]).value_counts()
                label, q = str(votes.index[0]), float(votes.iloc[0] / votes.sum())
            # expected localisation error of the fused corners (share of the box side)
            sigma = 0.0 if GOLD in c["boxes"] else float(1.0 / np.sqrt(ws.sum()))
            box = {"label": label, **{n: round(float(v), 2) for n, v in zip(bx.CORNERS, xy)},
                   "score": round(float(p_real[k] * q), 4), "loc_error": round(sigma, 4), "annotators": members}
            rows.append({"task": c["task"], "cluster": k, "p_real": float(p_real[k]), "p_label": q,
                         "label": label, "members": members, "missed_by": sorted(set(seen) - set(members)),
                         "box": box})
            ranked[c["task"]].append(box)
            # the other classes the object may be, each a hypothesis of its own, ranked like a
            # detector's per-class output (a class the crowd split on is not lost to the ranking)
            if GOLD not in c["boxes"] and str(k) in post.index:
                ranked[c["task"]] += [{**box, "label": str(o), "score": round(float(p_real[k] * v), 4)}
                                      for o, v in post.loc[str(k)].items() if o != label and v > 1e-3]
            if p_real[k] >= 0.5:
                fused[c["task"]].append(box)
        self.clusters_ = pd.DataFrame(rows, columns=["task", "cluster", "p_real", "p_label", "label", "members",
                                                     "missed_by", "box"])
        self.boxes_ = fused                 # the accepted set: clusters more likely real than not
        self.scored_boxes_ = ranked         # every cluster, and each class it may be, with its score
                                            # (P(real) x P(class)), as a detector's output is ranked
        conf = {}
        for t, g in self.clusters_.groupby("task"):
            keep = g["p_real"] >= 0.5
            conf[t] = float(np.prod(np.where(keep, g["p_real"] * g["p_label"], 1 - g["p_real"])))
        self.confidence_ = pd.Series({t: conf.get(t, 1.0) for t in self.tasks_}, dtype=float)
        self.skill_ = ds.skill_ if ds is not None else pd.Series(dtype=float)

    # ------------------------------------------------------------------ results
    def labels(self) -> pd.Series:
        """The fused boxes of every task, as the JSON label the rest of the pipeline reads."""
        return pd.Series({t: json.dumps(self.boxes_[t]) for t in self.tasks_}, dtype=object)

    def worker_table(self, X: pd.DataFrame, threshold: float | None = None) -> pd.DataFrame:
        """Per annotator, on the images where something else speaks: true positives, extra boxes
        and misses against the consensus (IoU >= `iou_threshold` and the same class), F1, mean
        IoU of their matched boxes, recall, extra boxes per image and localisation error."""
        thr = self.iou_threshold if threshold is None else threshold
        checked = {t for t, g in X.groupby("task") if g["worker"].nunique() >= 2}
        checked |= set(getattr(self, "_gold_tasks", set()))
        rows = []
        for w, g in X.groupby("worker"):
            tp = fp = fn = 0
            ious = []
            for t, label in zip(g["task"], g["label"]):
                if t not in checked:
                    continue
                mine, ref = bx.parse(label), self.boxes_.get(t, [])
                x, y, z = bx.f1_against(mine, ref, thr)
                tp, fp, fn = tp + x, fp + y, fn + z
                ious += [m for _, _, m in bx.match(bx.to_array(mine), bx.to_array(ref), thr)]
            n = 2 * tp + fp + fn
            rows.append({"annotator": w, "n_checked_images": int(sum(t in checked for t in g["task"])),
                         "tp": tp, "fp": fp, "fn": fn, "box_f1": (2 * tp / n) if n else np.nan,
                         "mean_iou": float(np.mean(ious)) if ious else np.nan,
                         "recall": float(self.recall_.get(w, np.nan)), "extra_per_image": float(self.extra_rate_.get(w, np.nan)),
                         "loc_error": float(self.loc_error_.get(w, np.nan)),
                         "class_accuracy": float(self.skill_.get(w, np.nan))})
        return pd.DataFrame(rows)
