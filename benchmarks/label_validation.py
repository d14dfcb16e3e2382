"""Label validation: truth inference, annotator verdicts, single-label error detection, scale.

1. Crowd: scikit-learn digits as ground truth; every item labeled by 3 of 10
   simulated annotators (7 good, accuracy .96 to .84 with confusions between
   similar digits; a spammer; an adversary mapping 3->8, 4->9, 7->1; a lazy
   annotator accepting the pre-annotation of a weak model). Inferred-truth
   accuracy overall and on the hard items (2 of 3 annotators bad), for
   majority vote, plain Dawid-Skene, cleanlab CROWDLAB (with 5-fold logistic
   regression probabilities, as the issue measured it; `_our_proba`: with the
   LR + k-NN probabilities our validation uses), and ours (the stage's
   `infer_labels`). 5 seeds. Validation's defaults were set on digits:
   `--crowd-datasets newsarticles` reports the crowd on a set they never saw.
2. Single-label noise: 20% and 5% (`--rates`) uniform, class-conditional and
   instance-dependent noise; F1 of the flagged set against the truly flipped items.
   Every row gets the same noisy labels, features and 5 folds. Rows:
   `ours`: the stage's detector (`validate.clean_folds`: 5-fold probabilities of LR +
   15-NN, LR alone on sparse text, from folds that train without the labels a first
   pass flags; then cleanlab's `prune_by_class`); `ours_one_pass`: the same without the
   cleaning (the detector until stop 31); `cleanlab_lr_<filter>`: cleanlab's
   `find_label_issues` on plain 5-fold logistic-regression probabilities (the usual way);
   `cleanlab_lr_cleaned`: the baseline given our cleaning (plain LR folds without plain
   LR's own `prune_by_class` flags, then that filter); `cleanlab_ours_proba_<filter>`:
   cleanlab's other filters on our probabilities, so the table separates the
   probabilities from the filter. For text, `ours_dense` is our detector on the dense SVD
   projection. Instance-dependent noise comes from a random forest, a model family no row
   uses (`noise`). The cleaning and LR-alone-on-text were chosen on digits and
   newsarticles (`--single-datasets digits,newsarticles`); report them on the others
   (`--single-datasets healthtweets,icons,breast_cancer,wine --per-class 250 --tag _heldout`),
   which they never saw.
3. Weak-model regime (`weak`): the stage's inference after the first 50, 100, 200 labels of a
   loop with one annotation per task (the first 40 by three), honest annotators only: the
   label-error flags that quarantine (a label lost; precision must be >= .8, or none) and those
   that only ask for another annotation, on the `--single-datasets`.
4. Scale: Dawid-Skene on 1,000,000 items x 3 annotations: time and peak memory.

    python benchmarks/label_validation.py [--seeds 5] [--skip-scale] [--crowd-datasets digits,newsarticles]
        [--single-datasets digits,newsarticles] [--rates 0.2,0.05] [--per-class 250] [--tag _heldout]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_data import load  # noqa: E402
from dataprep.core import linear  # noqa: E402
from dataprep.core.config import Annotator, Validate  # noqa: E402
from labeling import label_errors  # noqa: E402
from labeling.aggregate import DawidSkene, majority_vote  # noqa: E402
from labeling.simulate import annotate, similarity_confusion  # noqa: E402
from labeling.validate import infer_labels  # noqa: E402

warnings.filterwarnings("ignore")
OUT = Path(__file__).parent / "out"
BAD = {"spam", "adv", "lazy"}


def crew(classes: list[str] | None = None) -> list[Annotator]:
    """Seven honest annotators, a spammer, an adversary and a lazy one. The adversary maps
    3->8, 4->9, 7->1 on digits, and on another set its first three classes round in a cycle."""
    good = [Annotator(name=f"good{i}", profile="good", accuracy=a)
            for i, a in enumerate([0.96, 0.94, 0.92, 0.90, 0.88, 0.86, 0.84])]
    cmap = {"3": "8", "4": "9", "7": "1"} if classes is None or "8" in classes else \
        {classes[0]: classes[1], classes[1]: classes[2], classes[2]: classes[0]}
    return good + [Annotator(name="spam", profile="spammer"),
                   Annotator(name="adv", profile="adversarial", class_map=cmap),
                   Annotator(name="lazy", profile="lazy_accept")]


def digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    ids = np.array([f"d{i:04d}" for i in range(len(d.target))])
    return d.data.astype(np.float32), d.target.astype(str), ids


def crowd_data(dataset: str):
    """(model features, geometry, labels, ids, classes, the annotators' class confusion) of
    `dataset`: digits, or any set of `bench_data` (features as the stages read them)."""
    if dataset == "digits":
        X, y, ids = digits()
        G = X
    else:
        X, G, y, _ = load(dataset)
        y = np.asarray(y).astype(str)
        ids = np.array([f"s{i:05d}" for i in range(len(y))])
    classes = sorted(set(y))
    conf = similarity_confusion(classes, np.stack([np.asarray(G[y == c]).mean(0) for c in classes]))
    return X, G, y, ids, classes, conf


def crowd(seeds: int, dataset: str = "digits") -> pd.DataFrame:
    """The simulated crowd on `dataset`: digits (where validation's defaults were set) or any
    set of `bench_data` (features as the stages read them: sparse TF-IDF for text, with the
    dense projection for the annotators' class similarity)."""
    X, G, y, ids, classes, conf = crowd_data(dataset)
    truth = pd.Series(y, index=ids)
    rows = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        weak = label_errors.fit_proba(X[(few := rng.choice(X.shape[0], 60, replace=False))], y[few], X, seed)
        pred = np.asarray(sorted(set(y[few])))[weak.argmax(1)]
        tasks = pd.DataFrame({"sample_id": ids, "task_id": np.arange(len(ids)), "prediction": pred, "gold": False})
        ann = annotate(tasks, truth, crew(classes), 3, classes, conf, random_state=seed)
        long = pd.DataFrame({"task": ann["sample_id"], "worker": ann["annotator"], "label": ann["label"]})
        hard = ann.groupby("sample_id")["annotator"].agg(lambda a: len(set(a) & BAD) >= 2)
        hard = hard[hard].index
        methods = {}
        t = time.perf_counter()
        methods["majority_vote"] = (majority_vote(long), time.perf_counter() - t)
        t = time.perf_counter()
        methods["dawid_skene"] = (DawidSkene().fit_predict(long, classes=classes), time.perf_counter() - t)
        t = time.perf_counter()
        methods["cleanlab_crowdlab"] = (crowdlab(ann, X, ids, classes, seed), time.perf_counter() - t)
        t = time.perf_counter()
        methods["cleanlab_crowdlab_our_proba"] = (crowdlab(ann, X, ids, classes, seed, ours=True),
                                                  time.perf_counter() - t)
        t = time.perf_counter()
        pos = pd.Series(np.arange(len(ids)), index=ids)
        res = infer_labels(ann.assign(created_by=None), classes, lambda s: X[pos.loc[s].to_numpy()], tasks,
                           pd.Series(dtype=str), Validate(), seed)
        methods["ours"] = (res["inferred"], time.perf_counter() - t)
        q = res["quality"].set_index("annotator")
        for name, (guess, secs) in methods.items():
            guess = guess.reindex(ids)
            r = {"dataset": dataset, "seed": seed, "method": name, "accuracy": float((guess == truth).mean()),
                 "hard_accuracy": float((guess.loc[hard] == truth.loc[hard]).mean()), "n_hard": len(hard),
                 "secs": secs}
            if name == "ours":
                acc = res["labels"]
                r.update({"accepted_share": len(acc) / len(ids),
                          "accepted_accuracy": float((acc["label"] == acc["sample_id"].map(truth)).mean()),
                          "blocked": ",".join(sorted(res["blocked"])),
                          "watch": ",".join(sorted(q.index[q["verdict"] == "watch"])),
                          "adv_map": q.loc["adv", "class_map"],
                          "good_blocked": int(sum(q.loc[a, "verdict"] == "blocked" for a in q.index if a.startswith("good")))})
            rows.append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def lr_proba(X, y, seed, clean=False):
    """Plain 5-fold logistic-regression probabilities (the baseline of the issue), on the same
    folds as ours; `clean`: the same cleaned second pass as ours, on its own flags."""
    return label_errors.out_of_sample_proba(X, y, 5, seed, model=linear.logistic(seed), clean=clean)


def crowdlab(ann, X, ids, classes, seed, ours: bool = False):
    """CROWDLAB on majority-vote labels with plain 5-fold LR probabilities, or with `ours`, the
    probability model our validation uses (5-fold LR + 15-NN): the row where it gets ours."""
    from cleanlab.multiannotator import get_label_quality_multiannotator

    wide = ann.pivot_table(index="sample_id", columns="annotator", values="label", aggfunc="first").reindex(ids)
    coded = wide.apply(lambda col: col.map({c: i for i, c in enumerate(classes)}))
    mv = majority_vote(pd.DataFrame({"task": ann["sample_id"], "worker": ann["annotator"], "label": ann["label"]}))
    y = mv.reindex(ids).to_numpy()
    probs = label_errors.out_of_sample_proba(X, y, 5, seed, clean=Validate().clean_folds) if ours else lr_proba(X, y, seed)
    out = get_label_quality_multiannotator(coded, probs, verbose=False)
    return pd.Series(np.asarray(classes)[out["label_quality"]["consensus_label"].to_numpy()], index=ids)


def noise(kind: str, y: np.ndarray, X: np.ndarray, rate: float, rng, G: np.ndarray | None = None) -> np.ndarray:
    """Flip `rate` of y. Class-conditional flips go to the nearest class centroid in G (dense
    geometry; X itself if not given). Instance-dependent ones go to the runner-up class of a
    random forest on G (5-fold, out of sample, true labels), most often where its margin is
    small: a model family no detector in the table uses, so no row shares the generator's
    mistakes. (Until stop 31 this was plain LR on X, which favoured the plain-LR rows.)"""
    classes = np.unique(y)
    noisy = y.copy()
    n = int(rate * len(y))
    if kind == "uniform":
        idx = rng.choice(len(y), n, replace=False)
        for i in idx:
            noisy[i] = rng.choice(classes[classes != y[i]])
    elif kind == "class_conditional":
        geo = X if G is None else G
        cent = np.stack([geo[y == c].mean(0) for c in classes])
        d = ((cent[:, None] - cent[None]) ** 2).sum(-1)
        np.fill_diagonal(d, np.inf)
        target = dict(zip(classes, classes[d.argmin(1)]))       # each class flips to its nearest class
        idx = rng.choice(len(y), n, replace=False)
        noisy[idx] = [target[v] for v in y[idx]]
    else:   # instance-dependent: the least clear-cut items flip to their runner-up class
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        forest = RandomForestClassifier(300, min_samples_leaf=2, random_state=0, n_jobs=2)
        p = cross_val_predict(forest, X if G is None else G, y, cv=StratifiedKFold(5, shuffle=True, random_state=0),
                              method="predict_proba")
        order = np.argsort(p, 1)
        margin = p[np.arange(len(y)), order[:, -1]] - p[np.arange(len(y)), order[:, -2]]
        w = np.exp(-margin / 0.2)
        idx = rng.choice(len(y), n, replace=False, p=w / w.sum())
        runner = classes[order[:, -2]]
        top = classes[order[:, -1]]
        noisy[idx] = np.where(top[idx] == y[idx], runner[idx], top[idx])
    return noisy


def single_label(seeds: int, dataset: str = "digits", rates=(0.2, 0.05), per_class: int = 0) -> pd.DataFrame:
    """`rates` of noise on `dataset` (digits, or any set of `bench_data`, `per_class` rows a
    class if > 0: for text the model reads the features stage's sparse TF-IDF, and `ours_dense`
    is the same detector on its dense SVD projection)."""
    from cleanlab.filter import find_label_issues

    if dataset == "digits":
        X, y, ids = digits()
        G = X
    else:
        X, G, y, _ = load(dataset, per_class)
        ids = np.array([f"s{i:05d}" for i in range(len(y))])
    y = np.asarray(y).astype(str)
    classes = sorted(set(y))
    clean = Validate().clean_folds
    rows = []
    for rate in rates:
        for kind in ("uniform", "class_conditional", "instance_dependent"):
            for seed in range(seeds):
                rng = np.random.default_rng(seed)
                noisy = noise(kind, y, X, rate, rng, G)
                flipped = noisy != y
                codes = np.searchsorted(classes, noisy)
                lr = lr_proba(X, noisy, seed)   # cleanlab on plain LR probabilities, as the issue measured it
                found = {f"cleanlab_lr_{f}": find_label_issues(codes, lr, filter_by=f) for f in
                         ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given")}
                found["cleanlab_lr_cleaned"] = find_label_issues(codes, lr_proba(X, noisy, seed, clean=True),
                                                                 filter_by="prune_by_class")
                ours_p = label_errors.out_of_sample_proba(X, noisy, 5, seed, clean=clean)
                found["ours"] = np.isin(ids, label_errors.label_errors(ids, noisy, ours_p, classes)["sample_id"])
                one = label_errors.label_errors(ids, noisy, label_errors.out_of_sample_proba(X, noisy, 5, seed), classes)
                found["ours_one_pass"] = np.isin(ids, one["sample_id"])
                # the rows where cleanlab's other filters get our probabilities: what the
                # probabilities buy, apart from the filter (ours is cleanlab's prune_by_class on them)
                found.update({f"cleanlab_ours_proba_{f}": find_label_issues(codes, ours_p, filter_by=f)
                              for f in ("prune_by_noise_rate", "both", "confident_learning")})
                if G is not X:
                    dense = label_errors.out_of_sample_proba(G, noisy, 5, seed, clean=clean)
                    found["ours_dense"] = np.isin(ids, label_errors.label_errors(ids, noisy, dense, classes)["sample_id"])
                for name, f in found.items():
                    tp = (f & flipped).sum()
                    prec, rec = tp / max(1, f.sum()), tp / flipped.sum()
                    rows.append({"dataset": dataset, "rate": rate, "noise": kind, "seed": seed, "method": name,
                                 "precision": prec, "recall": rec, "f1": 2 * prec * rec / max(1e-9, prec + rec)})
            print(json.dumps({"dataset": dataset, "rate": rate, "noise": kind}), file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def weak_model(seeds: int, dataset: str = "digits", sizes=(50, 100, 200)) -> pd.DataFrame:
    """The weak-model regime: the stage's own inference (`infer_labels`) after the first `sizes`
    labels of a loop with one annotation per task (the first 40 tasks by three, as the cold start
    calibrates), honest annotators only (.96 to .84), so every label-error flag is the model's
    doing. A flag that quarantines costs a label: its precision must be >= .8, or there must be
    none. A flag from a model that has not earned trust only asks for another annotation: the
    table gives how many and how many of them were truly wrong. `held_back`: labels not accepted
    because the inference, with the model's prior, landed on a label nobody gave
    (`model_disagrees`; they wait for another annotation)."""
    X, G, y, ids, classes, conf = crowd_data(dataset)
    truth = pd.Series(y, index=ids)
    honest = crew(classes)[:7]
    pos = pd.Series(np.arange(len(ids)), index=ids)
    rows = []
    for seed in range(seeds):
        order = np.random.default_rng(seed).permutation(len(ids))
        for n in sizes:
            pick = ids[order[:n]]
            tasks = pd.DataFrame({"sample_id": pick, "task_id": np.arange(n), "prediction": None, "gold": False})
            per = np.where(np.arange(n) < 40, 3, 1)
            ann = annotate(tasks, truth, honest, 1, classes, conf, random_state=seed, n_per_task=per)
            res = infer_labels(ann.assign(created_by=None), classes, lambda s: X[pos.loc[s].to_numpy()], tasks,
                               pd.Series(dtype=str), Validate(), seed)
            sq, doubt = res["sample_quarantine"], res["doubtful"]
            flagged = sq.loc[sq["check"] == "label_error", "sample_id"]
            given = ann.groupby("sample_id")["label"].first()
            wrong = lambda ids_: int((given.loc[ids_] != truth.loc[ids_]).sum())     # noqa: E731
            m = res["label_error_model"]
            rows.append({"dataset": dataset, "seed": seed, "labels": n, "model_trusted": bool(m["trusted"]),
                         "model_accuracy": m["accuracy"], "quarantined": len(flagged),
                         "quarantined_precision": wrong(flagged) / len(flagged) if len(flagged) else np.nan,
                         "held_back": int((held := sq.loc[sq["check"] == "model_disagrees", "sample_id"]).size),
                         "held_back_wrong": wrong(held) if len(held) else 0,
                         "asked_again": len(doubt),
                         "asked_again_wrong": wrong(doubt["sample_id"]) if len(doubt) else 0,
                         "wrong_singles": wrong(pick[40:]) if n > 40 else 0})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def scale_child(n: int) -> None:
    rng = np.random.default_rng(0)
    K, W = 10, 10
    truth = rng.integers(0, K, n)
    acc = np.array([.96, .94, .92, .9, .88, .86, .84, .1, .6, .1])
    tasks = np.repeat(np.arange(n), 3)
    workers = np.argsort(rng.random((n, W)), 1)[:, :3].ravel()
    ok = rng.random(len(tasks)) < acc[workers]
    lab = np.where(ok, truth[tasks], rng.integers(0, K, len(tasks)))
    names = np.array([str(i) for i in range(K)], dtype=object)
    df = pd.DataFrame({"task": tasks, "worker": workers, "label": names[lab]})
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0 = time.perf_counter(), time.process_time()
    ds = DawidSkene().fit(df, classes=list(names))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"items": n, "annotations": len(df), "wall_s": wall, "cpu_s": cpu,
                      "extra_peak_mb": peak - base, "iterations": ds.n_iter_,
                      "accuracy": float((ds.labels_.to_numpy() == names[truth]).mean())}))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--scale-child":
        return scale_child(int(sys.argv[2]))
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--parts", default="crowd,single,weak,scale")
    ap.add_argument("--crowd-datasets", default="digits",
                    help="datasets for the crowd part: digits or any of benchmarks/bench_data.py")
    ap.add_argument("--rates", default="0.2,0.05", help="noise rates of the single-label part")
    ap.add_argument("--per-class", type=int, default=0,
                    help="single-label part: rows a class of a bench_data set (0: all; healthtweets has 60,000)")
    ap.add_argument("--tag", default="", help="suffix of the single-label part's csv")
    ap.add_argument("--single-datasets", default="digits",
                    help="datasets for the single-label part: digits or any of benchmarks/bench_data.py")
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    pd.set_option("display.width", 200)
    parts = a.parts.split(",")
    if "crowd" in parts:
        c = pd.concat([crowd(a.seeds, d) for d in a.crowd_datasets.split(",")])
        c.to_csv(OUT / "label_validation_crowd.csv", index=False)
        print("== truth inference (mean over seeds)")
        print(c.groupby(["dataset", "method"], sort=False)[["accuracy", "hard_accuracy", "secs"]]
              .agg(["mean", "std"]).round(4).to_string())
        ours = c[c["method"] == "ours"]
        print(ours[["dataset", "seed", "accepted_share", "accepted_accuracy", "blocked", "watch", "adv_map",
                    "good_blocked"]].to_string(index=False))
    if "single" in parts:
        rates = tuple(float(r) for r in a.rates.split(","))
        s = pd.concat([single_label(a.seeds, d, rates, a.per_class) for d in a.single_datasets.split(",")])
        s.to_csv(OUT / f"label_validation_single{a.tag}.csv", index=False)
        print("== single-label error detection (mean over seeds)")
        t = s.groupby(["dataset", "rate", "method", "noise"], sort=False)[["precision", "recall", "f1"]].mean()
        print(t.unstack("noise").round(3).to_string())
    if "weak" in parts:
        w = pd.concat([weak_model(a.seeds, d) for d in a.single_datasets.split(",")])
        w.to_csv(OUT / "label_validation_weak.csv", index=False)
        print("== weak-model regime: label-error flags after the first labels (sums over seeds; "
              "precision = truly wrong share of the quarantined)")
        g = w.groupby(["dataset", "labels"])
        t = g[["quarantined", "held_back", "held_back_wrong", "asked_again", "asked_again_wrong", "wrong_singles"]].sum()
        t["quarantined_precision"] = g.apply(lambda d: (d["quarantined_precision"] * d["quarantined"]).sum()
                                             / max(1, d["quarantined"].sum()) if d["quarantined"].sum() else np.nan)
        t["model_trusted"] = g["model_trusted"].sum().astype(str) + f"/{a.seeds}"
        print(t.to_string())
    if "scale" in parts and not a.skip_scale:
        res = subprocess.run([sys.executable, __file__, "--scale-child", "1000000"], capture_output=True, text=True)
        print("== Dawid-Skene at scale")
        print(res.stdout.strip() or res.stderr[-500:])


if __name__ == "__main__":
    main()
