"""Triage of tables: which rows are near-duplicates, which are set aside as outliers, and what
setting them aside costs the model.

Data, each through the product's own acquire and features stages (a CSV in a fresh project, so
the geometry is exactly what triage reads: standardised numeric columns, categorical columns
one-hot): scikit-learn's iris, wine and breast_cancer; a 2-column Gaussian table (3 blobs, 600
rows); `dataprep.demo.examples.tabular_csv` (3 classes, 6 columns, some values missing). To each
table, noisy copies of 5% of its rows are added (every column moved by 1% of its standard
deviation): near-duplicates that must be found.

Rows, all on the same geometry rows and the same search (`dataprep.core.near_duplicates`):
- `cosine`: pairs within `triage.near_dup_threshold` cosine distance, the rule images and
  texts use (and tables used before `close_rows`);
- `close_rows`: the product's rule for tables, closer than `triage.near_dup_tabular` (.13) of
  the median nearest-neighbour distance (cleanlab Datalab's rule and default).
Reported: the share of the original rows either rule calls a near-duplicate of another
original row (false near-duplicates: the originals are distinct measurements, iris's one exact
duplicate aside) and the share of planted copies linked to their row.

Outliers (the rule is the same for every modality: k-NN distance to a reference sample over
Q3 + 3 IQR): rows set aside, their class mix against the table's, and the test accuracy of the
selection model (`select.model`, logistic regression) trained on every other pool row with its
true label, with and without the rows set aside (5 stratified splits, 30% test; the outlier
rule sees only the pool).

    python benchmarks/triage_tabular.py

What it printed (seed 0): originals called near-duplicates, cosine / close_rows: iris .840 /
.013 (its one exact duplicate pair and one more), gaussian_2col 1.000 / .017, generated_6col
.047 / 0, wine and breast_cancer 0 / 0. Planted copies linked: 1.0 either way, except
gaussian_2col .967 / .200: in 2 columns a row 1% of a standard deviation away is as close as
the table's own neighbouring rows are, and the rule does not call it a copy. Outliers:
breast_cancer 8.2 rows a split set aside, .785 of them malignant (.372 of the pool); the model
without them .980 vs .977 with (+.004, sd .005); wine -.007 (sd .010); the others within .001.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dataprep.core import triage as T  # noqa: E402
from dataprep.core.config import Triage, default_params_yaml  # noqa: E402

OUT = Path(__file__).parent / "out"


def tables(seed: int) -> dict[str, pd.DataFrame]:
    from sklearn import datasets

    from dataprep.demo.examples import tabular_csv

    out = {}
    for name in ("iris", "wine", "breast_cancer"):
        d = getattr(datasets, f"load_{name}")(as_frame=True)
        df = d.data.copy()
        df["label"] = d.target.map(dict(enumerate(d.target_names)))
        out[name] = df
    X, y = datasets.make_blobs(600, n_features=2, centers=3, random_state=seed)
    out["gaussian_2col"] = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "label": [f"c{k}" for k in y]})
    with tempfile.TemporaryDirectory() as tmp:
        out["generated_6col"] = pd.read_csv(tabular_csv(Path(tmp) / "t.csv", n_per_class=200, seed=seed))
    return out


def with_copies(df: pd.DataFrame, share: float, rng) -> tuple[pd.DataFrame, np.ndarray]:
    """`df` plus noisy copies of `share` of its rows; the copied row's position for each copy."""
    src = rng.choice(len(df), max(1, int(share * len(df))), replace=False)
    num = df.drop(columns="label").select_dtypes("number").columns
    copies = df.iloc[src].copy()
    copies[num] = copies[num] + rng.normal(0, 0.01, (len(src), len(num))) * df[num].std().to_numpy()
    return pd.concat([df, copies], ignore_index=True), src


def geometry(df: pd.DataFrame, folder: Path):
    """The features stage's geometry row of each row of `df`, through a fresh project."""
    from dataprep.core import store
    from dataprep.core.acquire import acquire
    from dataprep.core.features import build_features
    from dataprep.core.project import open_project

    df.to_csv(folder / "table.csv", index=False)
    raw = yaml.safe_load(default_params_yaml())
    raw["acquire"].update({"source": str(folder / "table.csv"), "test_fraction": 0.0})
    (folder / "params.yaml").write_text(yaml.safe_dump(raw))
    p = open_project(folder / "params.yaml")
    acquire(p)
    man = store.read_table(p.data, "manifest")
    G, index = build_features(p, man)
    pos = {sid: i for i, sid in enumerate(index)}
    row_of = {src: pos[sid] for sid, srcs in zip(man["sample_id"], man["sources"]) for src in json.loads(srcs)}
    # exact duplicate rows are one sample (acquire collapses them): each row gets its sample's geometry
    return np.asarray(G, np.float32)[[row_of[f"table.csv:{i + 1}"] for i in range(len(df))]]


def fit(X, y, keep):
    """`select.model` (the product's logistic regression) on the rows `keep`."""
    from dataprep.core.models import make_model

    return make_model("logistic", {}, 0).fit(X[keep], y[keep])


def main() -> None:
    from sklearn.model_selection import StratifiedShuffleSplit

    cfg = Triage()
    rng = np.random.default_rng(0)
    near, outl = [], []
    for name, df in tables(0).items():
        # near-duplicates: the table and 5% noisy copies, through the product
        full, src = with_copies(df, 0.05, rng)
        work = Path(tempfile.mkdtemp(prefix="triage-tab-"))
        try:
            G = geometry(full, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        n = len(df)
        for rule in ("cosine", "close_rows"):
            pairs = (T._pairs(G, 1, cfg.near_dup_threshold, None, 0, 1) if rule == "cosine"
                     else T.close_rows(G, cfg.near_dup_tabular, None, 0, 1))
            orig = {int(a) for a, b in pairs if a < n and b < n} | {int(b) for a, b in pairs if a < n and b < n}
            linked = {int(max(a, b)) for a, b in pairs if max(a, b) >= n and min(a, b) == src[max(a, b) - n]}
            near.append({"table": name, "rows": n, "rule": rule, "originals_called_near_duplicates": len(orig) / n,
                         "planted_copies_linked": len(linked) / len(src)})
        # outliers: on the pool of each split, and the model with and without them
        Xn = df.drop(columns="label").select_dtypes("number").to_numpy(float)
        Gd = G[:n]
        y = df["label"].astype(str).to_numpy()
        ok = ~np.isnan(Xn).any(1)
        for split, (pool, test) in enumerate(StratifiedShuffleSplit(5, test_size=0.3, random_state=0).split(Xn, y)):
            pool, test = pool[ok[pool]], test[ok[test]]
            score, _, _ = T._scan(Gd[pool], cfg, split, 1)
            q1, q3 = np.percentile(score, [25, 75])
            out = score > q3 + cfg.outlier_iqr * (q3 - q1)
            share = pd.Series(y[pool][out]).value_counts(normalize=True)
            overall = pd.Series(y[pool]).value_counts(normalize=True)
            rare = overall.idxmin()
            acc_all = fit(Xn[pool], y[pool], np.ones(len(pool), bool)).score(Xn[test], y[test])
            acc_cut = fit(Xn[pool], y[pool], ~out).score(Xn[test], y[test])
            outl.append({"table": name, "split": split, "pool": len(pool), "set_aside": int(out.sum()),
                         "rarest_class": rare, "rarest_share_pool": overall[rare],
                         "rarest_share_set_aside": share.get(rare, 0.0) if out.any() else np.nan,
                         "accuracy_all_rows": acc_all, "accuracy_without_set_aside": acc_cut})
    near, outl = pd.DataFrame(near), pd.DataFrame(outl)
    OUT.mkdir(exist_ok=True)
    near.to_csv(OUT / "triage_tabular_near.csv", index=False)
    outl.to_csv(OUT / "triage_tabular_outliers.csv", index=False)
    print("near-duplicates: originals called near-duplicates (lower is better), planted copies linked (higher)")
    print(near.pivot(index="table", columns="rule", values=["originals_called_near_duplicates", "planted_copies_linked"])
          .round(3).to_string())
    o = outl.groupby("table").agg(pool=("pool", "mean"), set_aside=("set_aside", "mean"),
                                  rarest_share_pool=("rarest_share_pool", "mean"),
                                  rarest_share_set_aside=("rarest_share_set_aside", "mean"),
                                  accuracy_all_rows=("accuracy_all_rows", "mean"),
                                  accuracy_without=("accuracy_without_set_aside", "mean"))
    d = outl["accuracy_without_set_aside"] - outl["accuracy_all_rows"]
    o["difference"] = d.groupby(outl["table"]).mean()
    o["difference_sd"] = d.groupby(outl["table"]).std()
    print("\noutliers set aside (means over 5 splits), and the model on the pool's true labels with and without them")
    print(o.round(3).to_string())
    _plot(near, o)


def _plot(near: pd.DataFrame, o: pd.DataFrame) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    piv = near.pivot(index="table", columns="rule", values="originals_called_near_duplicates")
    piv.plot.bar(ax=axes[0], rot=20)
    axes[0].set_ylabel("originals called near-dups")
    o[["accuracy_all_rows", "accuracy_without"]].plot.bar(ax=axes[1], rot=20, ylim=(0.5, 1.0))
    axes[1].set_ylabel("test accuracy (true labels)")
    fig.tight_layout()
    fig.savefig(OUT / "triage_tabular.png", dpi=100)


if __name__ == "__main__":
    main()
