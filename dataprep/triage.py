"""Triage: sort acquired samples into keep / redundant / harmful before anyone pays to label them.

- Near-duplicates. Images: a 16x16 grey thumbnail, mean-centred and
  L2-normalised, so resizing, re-encoding and brightness/contrast changes barely
  move it; text: the normalised text (case, punctuation, spacing) and the
  feature vectors; tabular: the feature vectors. Neighbours come from a faiss
  HNSW index (approximate, about N log N: never the N x N matrix); pairs within
  `near_dup_threshold` cosine distance form star groups around a
  representative; the others are `redundant`, with `dup_of`. Each image is
  indexed with slightly cropped variants too, so a 5%-cropped copy still matches.
- Junk. Images that are tiny, blank or near-constant, too dark or bright, or
  too blurry; texts that are empty or too short. Each flag carries a reason.
- Out of distribution. The mean distance to the k nearest neighbours in
  feature space, scaled by the dataset's median; above Q3 + `outlier_iqr` x IQR
  of the dataset's own scores the sample is `harmful`. The threshold adapts to
  each dataset instead of flagging a fixed share.
- Clusters. Mini-batch k-means over the features, for browsing and cold start.

`triage.keep` lists sample ids a person has looked at and wants kept.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from PIL import Image

from dataprep import console, store
from dataprep.atomic import write_json
from dataprep.config import Triage
from dataprep.features import load_features, rows_of
from dataprep.project import Project

THUMB = 16
CROPS = (0.0, 0.025, 0.05, 0.075)   # per side: a slightly cropped copy matches one of these


def _thumb(g: Image.Image, f: float) -> np.ndarray:
    w, h = g.size
    c, r = int(round(w * f)), int(round(h * f))
    t = np.asarray(g.crop((c, r, w - c, h - r)).resize((THUMB, THUMB), Image.BOX), dtype=np.float32).ravel()
    t = t - t.mean()
    n = np.linalg.norm(t)
    return t / n if n > 1e-6 else t


def image_stats(path: str) -> dict[str, Any]:
    """Thumbnail descriptor and quality numbers of one image."""
    with Image.open(path) as im:
        w, h = im.size
        im.draft("L", (256, 256))
        g = im.convert("L")
        if max(g.size) > 256:
            g.thumbnail((256, 256))
        arr = np.asarray(g, dtype=np.float32)
        thumbs = np.stack([_thumb(g, f) for f in CROPS])
    lap = arr[1:-1, 1:-1] * 4 - arr[:-2, 1:-1] - arr[2:, 1:-1] - arr[1:-1, :-2] - arr[1:-1, 2:] if min(arr.shape) > 2 else arr
    return {"thumbs": thumbs, "width": w, "height": h, "mean": float(arr.mean()),
            "std": float(arr.std()), "sharpness": float(lap.var())}


def _stats_batch(paths: list[str]) -> list[dict[str, Any]]:
    return [image_stats(p) for p in paths]


def _neighbours(V: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k nearest neighbours (excluding self) by L2 on rows of V, via faiss HNSW."""
    import faiss

    V = np.ascontiguousarray(V, dtype=np.float32)
    k = min(k, len(V) - 1)
    if k < 1:
        return np.zeros((len(V), 0), np.float32), np.zeros((len(V), 0), np.int64)
    if len(V) <= 5000:
        index = faiss.IndexFlatL2(V.shape[1])         # small: exact is as fast
    else:
        index = faiss.IndexHNSWFlat(V.shape[1], 32)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = max(64, 2 * k)
    index.add(V)
    d, i = index.search(V, k + 1)
    # drop self (it may not be first when exact duplicates tie)
    self_mask = i == np.arange(len(V))[:, None]
    keep = ~self_mask
    keep[self_mask.sum(1) == 0, -1] = False
    return np.sqrt(np.maximum(d[keep].reshape(len(V), k), 0)), i[keep].reshape(len(V), k)


def near_duplicate_pairs(V: np.ndarray, threshold: float, k: int = 8) -> np.ndarray:
    """(i, j) pairs within `threshold` cosine distance. V: (n, variants, d) unit vectors; each
    item's first variant is searched against every variant of the others (crop variants)."""
    n, m, dim = V.shape
    import faiss

    flat = np.ascontiguousarray(V.reshape(n * m, dim), dtype=np.float32)
    index = faiss.IndexFlatL2(dim) if n * m <= 20000 else faiss.IndexHNSWFlat(dim, 32)
    if hasattr(index, "hnsw"):
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 96
    index.add(flat)
    d, i = index.search(np.ascontiguousarray(V[:, 0, :]), min(k * m, n * m))
    item = i // m
    ok = (i >= 0) & (d / 2 <= threshold) & (item != np.arange(n)[:, None])
    rows, cols = np.nonzero(ok)
    pairs = np.c_[rows, item[rows, cols]]
    return np.unique(np.sort(pairs, axis=1), axis=0) if len(pairs) else pairs.reshape(0, 2)


def normalise_text(t: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", "", t.lower())).strip()


def outlier_scores(X: np.ndarray, k: int) -> np.ndarray:
    d, _ = _neighbours(X, k)
    s = d.mean(1) if d.shape[1] else np.zeros(len(X))
    return s / (np.median(s) + 1e-9)


def triage_frame(man: pd.DataFrame, X: np.ndarray, cfg: Triage, data_dir, seed: int = 0,
                 n_jobs: int = 2) -> pd.DataFrame:
    """The stage's logic on a manifest and its feature rows (same order)."""
    n = len(man)
    flags: list[list[str]] = [[] for _ in range(n)]
    modality = man["modality"].iloc[0]
    if modality == "image":
        paths = [str(data_dir / p) for p in man["path"]]
        batches = [paths[i:i + 512] for i in range(0, n, 512)]
        runner = Parallel(n_jobs=min(n_jobs, len(batches)) or 1, return_as="generator")
        stats = [s for part in console.track(runner(delayed(_stats_batch)(b) for b in batches),
                                             total=len(batches), description="triage images") for s in part]
        st = pd.DataFrame([{k: v for k, v in s.items() if k != "thumbs"} for s in stats])
        for j, s in st.iterrows():
            if min(s["width"], s["height"]) < cfg.min_size:
                flags[j].append(f"tiny ({int(s['width'])}x{int(s['height'])})")
            if s["std"] < cfg.min_std:
                flags[j].append(f"blank or near-constant (grey std {s['std']:.1f})")
            elif s["mean"] < cfg.dark:
                flags[j].append(f"too dark (mean {s['mean']:.0f})")
            elif s["mean"] > cfg.bright:
                flags[j].append(f"too bright (mean {s['mean']:.0f})")
            if cfg.min_sharpness and s["sharpness"] < cfg.min_sharpness:
                flags[j].append(f"too blurry (Laplacian variance {s['sharpness']:.1f})")
        pairs = near_duplicate_pairs(np.stack([s["thumbs"] for s in stats]), cfg.near_dup_threshold)
    else:
        from sklearn.preprocessing import normalize
        Vn = normalize(np.asarray(X, dtype=np.float32))
        pairs = near_duplicate_pairs(Vn[:, None, :], cfg.near_dup_threshold)
        if modality == "text":
            norm = man["text"].fillna("").map(normalise_text)
            same = norm.groupby(norm).ngroup().to_numpy()
            first = pd.Series(np.arange(n)).groupby(same).transform("min").to_numpy()
            pairs = np.r_[pairs, np.c_[np.arange(n), first][first != np.arange(n)]]
            for j, t in enumerate(norm):
                if len(t) < cfg.min_text_chars:
                    flags[j].append("empty text" if not t else f"text too short ({len(t)} chars)")
    score = outlier_scores(np.asarray(X, dtype=np.float32), cfg.n_neighbors)
    q1, q3 = np.percentile(score, [25, 75])
    cut = q3 + cfg.outlier_iqr * (q3 - q1)
    for j in np.flatnonzero(score > cut):
        flags[j].append(f"out of distribution (k-NN distance {score[j]:.1f}x the median)")
    if modality == "image":
        # texture the resized features cannot see (noise averages to grey when shrunk): the
        # Laplacian energy at native resolution, as a robust z-score against the dataset
        ls = np.log1p(st["sharpness"].to_numpy())
        mad = np.median(np.abs(ls - np.median(ls))) * 1.4826 + 1e-6
        z = (ls - np.median(ls)) / mad
        for j in np.flatnonzero(np.abs(z) > 4 * cfg.outlier_iqr):
            if not any(f.startswith("out of distribution") or f.startswith("blank") for f in flags[j]):
                flags[j].append(f"out of distribution (texture: Laplacian energy z={z[j]:.0f})")
        score = np.maximum(score, np.abs(z) / (4 * cfg.outlier_iqr) * cut)
    # star groups, not chains: the best remaining sample becomes a representative and takes its
    # direct near-duplicates (not junk first, then the largest, then by id)
    ids = man["sample_id"].to_numpy()
    area = (man["width"].fillna(0) * man["height"].fillna(0)).to_numpy()
    order = np.lexsort((ids, -area, np.array([len(f) > 0 for f in flags])))
    adj: dict[int, list[int]] = {}
    for a, b in pairs:
        adj.setdefault(int(a), []).append(int(b))
        adj.setdefault(int(b), []).append(int(a))
    dup_of = np.full(n, None, dtype=object)
    taken = np.zeros(n, bool)
    for j in order:
        if taken[j]:
            continue
        taken[j] = True
        for o in adj.get(int(j), []):
            if not taken[o]:
                taken[o] = True
                dup_of[o] = ids[j]
    from sklearn.cluster import MiniBatchKMeans
    k = min(cfg.n_clusters, n)
    cluster = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=4096).fit_predict(np.asarray(X))
    verdict, reason = [], []
    for j in range(n):
        if ids[j] in cfg.keep:
            verdict.append("keep"), reason.append("kept by triage.keep")
        elif flags[j]:
            verdict.append("harmful"), reason.append("; ".join(flags[j]))
        elif dup_of[j] is not None:
            verdict.append("redundant"), reason.append(f"near-duplicate of {dup_of[j]}")
        else:
            verdict.append("keep"), reason.append("")
    return pd.DataFrame({"sample_id": ids, "dup_of": dup_of, "cluster": cluster.astype(np.int64),
                         "outlier_score": score.astype(np.float64), "flags": [", ".join(f) for f in flags],
                         "triage": verdict, "reason": reason})


def triage(project: Project) -> dict[str, Any]:
    man = store.read_table(project.data, "manifest")
    X, index = load_features(project, man)
    Xm = np.asarray(X[rows_of(index, man["sample_id"])])
    out = triage_frame(man, Xm, project.cfg.triage, project.data, project.cfg.project.seed, project.cfg.acquire.n_jobs)
    store.write_table(project.data, "triage", out)
    summary = {"samples": int(len(out)), "verdicts": out["triage"].value_counts().to_dict(),
               "duplicate_groups": int(out["dup_of"].dropna().nunique()),
               "class_balance": man["source_label"].value_counts().to_dict()}
    write_json(project.reports / "triage.json", summary)
    return summary
