"""Triage: sort acquired samples into keep / redundant / harmful before anyone pays to label them.

- Near-duplicates. Images: a 16x16 grey thumbnail, mean-centred and
  L2-normalised, so resizing, re-encoding and brightness/contrast changes barely
  move it; text: the normalised text (case, punctuation, spacing) and the
  feature vectors; tabular: the standardised rows, by Euclidean distance
  (`close_rows`). Neighbours come from a faiss
  HNSW index (approximate, about N log N: never the N x N matrix), or, on a Dask
  cluster and above 2M items, from the cells of a coarse quantizer searched as
  tasks (`dataprep.core.near_duplicates`); pairs within
  `near_dup_threshold` cosine distance (tables: closer than `near_dup_tabular`
  of the median nearest-neighbour distance) form star groups around a
  representative; the others are `redundant`, with `dup_of`. Each image is
  indexed with slightly cropped variants too, so a 5%-cropped copy still matches.
  The grey thumbnail cannot see colour: a pair of colourful images whose 4 x 4
  chromaticity grids differ (`same_colours`) is no near-duplicate (one picture
  recoloured, a red and a blue shirt in one pose); a grey copy still is.
- Junk. Images that are tiny, blank or near-constant (in every colour channel:
  a shape on a ground of another colour but the same grey is no blank), too dark or bright, or
  too blurry; texts that are empty or too short. Each flag carries a reason.
- Out of distribution. The mean distance to the k nearest of a random
  reference sample in feature space (so a clump of similar outliers cannot
  hide itself), scaled by the dataset's median; above Q3 + `outlier_iqr` x IQR
  of the dataset's own scores the sample is `harmful`. The threshold adapts to
  each dataset instead of flagging a fixed share.
- Clusters. Mini-batch k-means over the features, for browsing and cold start.

Findings are data, as cleanlab's Datalab keeps them, not prose to parse back:
per sample a boolean per issue (`is_near_duplicate`, `is_junk`,
`is_outlier`), a score (`outlier_score`), the machine codes of its flags
(`flags`: `tiny`, `blank`, `dark`, `bright`, `blurry`, `empty_text`,
`short_text`, `outlier`, comma-separated), and `reason`, the sentence a person
reads.

`triage.keep` lists sample ids a person has looked at and wants kept.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from dataprep.core import stage_metrics, store
from dataprep.core.atomic import write_json
from dataprep.core.config import Triage
from dataprep.core.features import load_features, rows_of
from dataprep.core.images import DEFAULT_MAX_PIXELS, image_size, load_rgb
from dataprep.core.near_duplicates import median_nn_distance, near_duplicate_pairs, on_sphere, shard, sharded_pairs, unit
from dataprep.core.parallel import map_batches
from dataprep.core.project import Project
from dataprep.core.rows import Rows

THUMB = 16
CROPS = (0.0, 0.025, 0.05, 0.075)   # per side: a slightly cropped copy matches one of these


def _thumb(g: Image.Image, f: float) -> np.ndarray:
    w, h = g.size
    c, r = int(round(w * f)), int(round(h * f))
    t = np.asarray(g.crop((c, r, w - c, h - r)).resize((THUMB, THUMB), Image.BOX), dtype=np.float32).ravel()
    t = t - t.mean()
    n = np.linalg.norm(t)
    return t / n if n > 1e-6 else t


def image_stats(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """Thumbnail descriptor and quality numbers of one image (as displayed: see `dataprep.core.images`)."""
    w, h = image_size(path)
    rgb = load_rgb(path, max_side=256, max_pixels=max_pixels)
    g = rgb.convert("L")
    arr = np.asarray(g, dtype=np.float32)
    thumbs = np.stack([_thumb(g, f) for f in CROPS])
    lap = arr[1:-1, 1:-1] * 4 - arr[:-2, 1:-1] - arr[2:, 1:-1] - arr[1:-1, :-2] - arr[1:-1, 2:] if min(arr.shape) > 2 else arr
    # blank means flat in every colour channel: a red shape on a green ground of the same grey level has a
    # flat grey image and is no blank
    std = float(np.asarray(rgb, dtype=np.float32).reshape(-1, 3).std(0).max())
    colour = np.stack([_colour_grid(rgb, f) for f in CROPS])
    return {"thumbs": thumbs, "width": w, "height": h, "mean": float(arr.mean()),
            "std": std, "sharpness": float(lap.var()), "colour": colour}


COLOUR_GRID = 4           # the colour signature: mean RGB of 4 x 4 cells
COLOURFUL = 0.2           # a cell this saturated (max - min channel, over 255) makes an image colourful
CHROMA_APART = 0.15       # chromaticities this far apart (L1, in some cell) are different colours


def _colour_grid(rgb: Image.Image, f: float) -> np.ndarray:
    """Mean RGB of `COLOUR_GRID` x `COLOUR_GRID` cells of the image cropped by `f` a side (the
    thumbnails' crops, so a cropped copy's colours line up with one of them)."""
    w, h = rgb.size
    c, r = int(round(w * f)), int(round(h * f))
    return np.asarray(rgb.crop((c, r, w - c, h - r)).resize((COLOUR_GRID, COLOUR_GRID), Image.BOX),
                      dtype=np.uint8).reshape(-1, 3)


def same_colours(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For pairs of colour signatures (n x crops x cells x RGB, uint8, variant 0 the whole
    image): False where both images are colourful and, however one is cropped against the
    other's whole, some cell's chromaticity (RGB over its sum: brightness cancels) differs by over
    `CHROMA_APART`. The near-duplicate thumbnails are grey, so a red and a blue shirt in one pose
    matched; a grey copy of a colour picture still does."""
    def chroma(x):
        x = x.astype(np.float32)
        return x / (x.sum(-1, keepdims=True) + 30.0), (x[:, 0].max(-1) - x[:, 0].min(-1)).max(-1) / 255.0
    ca, sa = chroma(a)
    cb, sb = chroma(b)
    gap = np.minimum(np.abs(ca - cb[:, :1]).sum(-1).max(-1).min(-1),        # a's crops against b's whole
                     np.abs(cb - ca[:, :1]).sum(-1).max(-1).min(-1))        # and b's against a's
    return ~((gap > CHROMA_APART) & (sa >= COLOURFUL) & (sb >= COLOURFUL))


def _stats_batch(paths: list[str], max_pixels: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Thumbnails stacked (one array crosses the process boundary, not one per image) and stats."""
    stats = [image_stats(p, max_pixels) for p in paths]
    return np.stack([s.pop("thumbs") for s in stats]), stats


def normalise_text(t: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", "", t.lower())).strip()


PART = 250_000           # rows per task of the per-sample pass (outlier distance, cluster, row hash)
KMEANS_FIT = 100_000     # rows the clusters are fit on (all of them up to this many; a random sample past it)


def _reference(n: int, reference: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(n, min(n, reference), replace=False))


def _knn_to_reference(block: np.ndarray, start: int, ref: np.ndarray, R: np.ndarray, k: int) -> np.ndarray:
    """Mean distance of each row of `block` (rows start.. of the pool) to its k nearest among the
    reference rows `ref` (vectors `R`), itself left out when it is one of them."""
    import faiss
    from threadpoolctl import threadpool_limits

    index = faiss.IndexFlatL2(R.shape[1])
    index.add(np.ascontiguousarray(R, dtype=np.float32))
    with threadpool_limits(1):      # one thread, as on a Dask worker: the float32 sums round the same way
        d, i = index.search(np.ascontiguousarray(block, dtype=np.float32), k + 1)
    d = np.sqrt(np.maximum(d, 0))
    m = len(block)
    is_self = ref[np.maximum(i, 0)] == (start + np.arange(m))[:, None]
    drop = np.where(is_self.any(1), is_self.argmax(1), k)       # itself if it is in the sample, else the farthest
    keep = np.ones_like(d, bool)
    keep[np.arange(m), drop] = False
    return d[keep].reshape(m, k).mean(1)


def outlier_scores(X: np.ndarray, k: int, reference: int = 500, seed: int = 0) -> np.ndarray:
    """Mean distance to the k nearest of a random reference sample, over the median score.

    Why a sample and not the whole set: out-of-domain data tends to come in clumps (a folder of
    photos, a batch of scans), and in the whole set each clump's members are one another's
    nearest neighbours, so none looks far. Among `reference` random samples a clump holding
    under k/reference of the data has fewer than k members, so its points reach into the bulk
    (IsolationForest subsamples for the same reason). `_scan` computes the same range by range."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = len(X)
    if n < 2:
        return np.ones(n)
    ref = _reference(n, reference, seed)
    s = _knn_to_reference(X, 0, ref, X[ref], min(k, len(ref) - 1))
    return s / (np.median(s) + 1e-9)


def _row_hashes(block: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row rounded to 4 decimals (-0.0 counted as 0.0)."""
    r = np.round(np.asarray(block, dtype=np.float32), 4) + np.float32(0.0)
    words = np.ascontiguousarray(r).view(np.uint32).astype(np.uint64)
    mult = np.random.default_rng(12345).integers(1, 2**63, words.shape[1], dtype=np.uint64) | np.uint64(1)
    with np.errstate(over="ignore"):
        return (words * mult).sum(1, dtype=np.uint64) ^ (words * (mult >> np.uint64(7))).sum(1, dtype=np.uint64)


def _scan_range(ranges, V, ref: np.ndarray, R: np.ndarray, k: int, km):
    """One task of the per-sample pass: outlier distances, cluster and row hash of a row range."""
    (start, stop), = ranges
    block = np.ascontiguousarray(V[slice(start, stop)], dtype=np.float32)
    return _knn_to_reference(block, start, ref, R, k), km.predict(block).astype(np.int64), _row_hashes(block)


def _scan(V, cfg: Triage, seed: int, n_jobs: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Outlier scores, k-means clusters and the number of distinct rows of the feature rows `V`,
    one task per PART rows (`dataprep.core.parallel`: this machine's processes or the cluster):
    only the reference rows and the rows the clusters are fit on come to this process."""
    from sklearn.cluster import MiniBatchKMeans

    n = V.shape[0]
    rows = Rows.of(V)
    ref = _reference(n, cfg.outlier_reference, seed)
    R = np.ascontiguousarray(rows[ref], dtype=np.float32)
    fit_rows = slice(None) if n <= KMEANS_FIT else np.sort(np.random.default_rng(seed).choice(n, KMEANS_FIT, replace=False))
    km = MiniBatchKMeans(n_clusters=min(cfg.n_clusters, n), random_state=seed, n_init=3, batch_size=4096).fit(
        np.asarray(rows[fit_rows], dtype=np.float32))
    k = min(cfg.n_neighbors, len(ref) - 1)
    ranges = [(a, min(n, a + PART)) for a in range(0, n, PART)]
    parts = list(map_batches(_scan_range, ranges, 1, n_jobs, f"triage {n} feature rows", rows, ref, R, k, km))
    s = np.concatenate([p[0] for p in parts])
    score = s / (np.median(s) + 1e-9) if n >= 2 else np.ones(n)
    return score, np.concatenate([p[1] for p in parts]), len(np.unique(np.concatenate([p[2] for p in parts])))


def _pairs(V, m: int, threshold: float, data_dir, seed: int, n_jobs: int) -> np.ndarray:
    """Near-duplicate pairs of the rows of `V` (m variants of one length each): one index in this
    process, or cells searched as tasks (`dataprep.core.near_duplicates.shard`), reading the rows
    from a file the workers can map (`Rows`)."""
    n = V.shape[0]
    if not shard(n):
        return near_duplicate_pairs(unit(np.asarray(V).reshape(n, m, -1)), threshold, seed=seed)
    if isinstance(V, Rows):
        return sharded_pairs(V, m, threshold, data_dir, seed, n_jobs)
    folder = Path(tempfile.mkdtemp(prefix=".triage-", dir=data_dir))
    try:
        np.save(folder / "vectors.npy", np.ascontiguousarray(np.asarray(V).reshape(n, -1), dtype=np.float32))
        return sharded_pairs(Rows(np.load(folder / "vectors.npy", mmap_mode="r")), m, threshold, data_dir, seed, n_jobs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def close_rows(X, share: float, data_dir, seed: int, n_jobs: int) -> np.ndarray:
    """Near-duplicate pairs of table rows: closer than `share` of the median distance from a row
    to its nearest other row (cleanlab Datalab's rule for near_duplicate, and its default .13).
    A cosine distance suits vectors whose direction is their content (thumbnails, texts), not
    the points of a table: in 2 to 4 columns most rows point the way of some other row (half of
    iris's rows and 80% of a 2-column Gaussian table were 'near-duplicates' by it). The search is
    the same one (one index, or cells), on the rows put on a sphere by a map that keeps near
    points near (`on_sphere`), with a radius that holds every pair this close; each pair found
    is then checked on the rows themselves."""
    rows = Rows.of(X)
    n = len(rows)
    if n < 2:
        return np.zeros((0, 2), np.int64)
    A = np.asarray(rows[0:n], dtype=np.float64)
    radius = share * median_nn_distance(A, seed=seed)
    scale = 3 * max(float(np.median(np.linalg.norm(A, axis=1))), 1e-6)
    cosine = min(1.0, 2 * (max(radius, 1e-9) / scale) ** 2)
    pairs = _pairs(on_sphere(A, scale), 1, cosine, data_dir, seed, n_jobs)
    if len(pairs):
        pairs = pairs[np.linalg.norm(A[pairs[:, 0]] - A[pairs[:, 1]], axis=1) <= radius]
    return pairs


def triage_frame(man: pd.DataFrame, X, cfg: Triage, data_dir, seed: int = 0,
                 n_jobs: int = 2, max_pixels: int = DEFAULT_MAX_PIXELS) -> pd.DataFrame:
    """The stage's logic on a manifest and its feature rows (same order): an array, or `Rows` of
    the features file, which the tasks then read themselves."""
    return _triage(man, X, cfg, data_dir, seed, n_jobs, max_pixels)[0]


def _triage(man: pd.DataFrame, X, cfg: Triage, data_dir, seed: int, n_jobs: int,
            max_pixels: int) -> tuple[pd.DataFrame, int]:
    """`triage_frame`, and the number of distinct feature rows (for `sanity_warnings`)."""
    n = len(man)
    flags: list[list[tuple[str, str]]] = [[] for _ in range(n)]     # per sample: (issue code, what a person reads)
    modality = man["modality"].iloc[0]
    if modality == "image":
        paths = [str(data_dir / p) for p in man["path"]]
        work = Path(tempfile.mkdtemp(prefix=".triage-", dir=data_dir)) if shard(n) else None
        try:
            # searched by cells, the thumbnails go straight to a file the tasks map, never whole in memory
            shape = (n, len(CROPS) * THUMB * THUMB)             # a row: the variants one after another
            thumbs = (np.lib.format.open_memmap(work / "thumbs.npy", mode="w+", dtype=np.float32, shape=shape)
                      if work is not None else np.empty(shape, np.float32))
            rows: list[dict[str, Any]] = []
            for t, part in map_batches(_stats_batch, paths, 512, n_jobs, "triage images", max_pixels):
                thumbs[len(rows):len(rows) + len(part)] = t.reshape(len(t), -1)
                rows.extend(part)
            st = pd.DataFrame(rows)
            w, h, mean, std, sharp = (st[c].to_numpy() for c in ("width", "height", "mean", "std", "sharpness"))
            checks = [("tiny", np.minimum(w, h) < cfg.min_size, lambda j: f"tiny ({int(w[j])}x{int(h[j])})"),
                      ("blank", std < cfg.min_std, lambda j: f"blank or near-constant (std {std[j]:.1f} in its most varied colour channel)"),
                      ("dark", (std >= cfg.min_std) & (mean < cfg.dark), lambda j: f"too dark (mean {mean[j]:.0f})"),
                      ("bright", (std >= cfg.min_std) & (mean > cfg.bright), lambda j: f"too bright (mean {mean[j]:.0f})"),
                      ("blurry", sharp < cfg.min_sharpness, lambda j: f"too blurry (Laplacian variance {sharp[j]:.1f})")]
            for code, mask, why in checks:
                for j in np.flatnonzero(mask):
                    flags[j].append((code, why(j)))
            if work is None:
                pairs = _pairs(thumbs, len(CROPS), cfg.near_dup_threshold, data_dir, seed, n_jobs)
            else:
                thumbs.flush()
                pairs = sharded_pairs(Rows(np.load(work / "thumbs.npy", mmap_mode="r")), len(CROPS),
                                      cfg.near_dup_threshold, data_dir, seed, n_jobs)
            del thumbs
            if len(pairs):
                colours = np.stack(st.pop("colour").to_numpy())
                pairs = pairs[same_colours(colours[pairs[:, 0]], colours[pairs[:, 1]])]
        finally:
            if work is not None:
                shutil.rmtree(work, ignore_errors=True)
    elif modality == "tabular":
        pairs = close_rows(X, cfg.near_dup_tabular, data_dir, seed, n_jobs)
    else:
        pairs = _pairs(X, 1, cfg.near_dup_threshold, data_dir, seed, n_jobs)
        if modality == "text":
            norm = man["text"].fillna("").map(normalise_text)
            same = norm.groupby(norm).ngroup().to_numpy()
            first = pd.Series(np.arange(n)).groupby(same).transform("min").to_numpy()
            pairs = np.r_[pairs, np.c_[np.arange(n), first][first != np.arange(n)]]
            for j, t in enumerate(norm):
                if len(t) < cfg.min_text_chars:
                    flags[j].append(("empty_text", "empty text") if not t else
                                    ("short_text", f"text too short ({len(t)} chars)"))
    score, cluster, distinct = _scan(X, cfg, seed, n_jobs)
    q1, q3 = np.percentile(score, [25, 75])
    cut = q3 + cfg.outlier_iqr * (q3 - q1)
    for j in np.flatnonzero(score > cut):
        flags[j].append((OUTLIER, f"out of distribution (k-NN distance {score[j]:.1f}x the median)"))
    if modality == "image":
        # texture the resized features cannot see (noise averages to grey when shrunk): the
        # Laplacian energy at native resolution, as a robust z-score against the dataset
        ls = np.log1p(st["sharpness"].to_numpy())
        mad = np.median(np.abs(ls - np.median(ls))) * 1.4826 + 1e-6
        z = (ls - np.median(ls)) / mad
        for j in np.flatnonzero(np.abs(z) > 4 * cfg.outlier_iqr):
            if not any(code in (OUTLIER, "blank") for code, _ in flags[j]):
                flags[j].append((OUTLIER, f"out of distribution (texture: Laplacian energy z={z[j]:.0f})"))
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
    verdict, reason = [], []
    for j in range(n):
        if ids[j] in cfg.keep:
            verdict.append("keep"), reason.append("kept by triage.keep")
        elif flags[j]:
            verdict.append("harmful"), reason.append("; ".join(text for _, text in flags[j]))
        elif dup_of[j] is not None:
            verdict.append("redundant"), reason.append(f"near-duplicate of {dup_of[j]}")
        else:
            verdict.append("keep"), reason.append("")
    codes = [[code for code, _ in f] for f in flags]
    return pd.DataFrame({"sample_id": ids, "dup_of": dup_of, "cluster": cluster.astype(np.int64),
                         "outlier_score": score.astype(np.float64), "flags": [",".join(c) for c in codes],
                         "is_near_duplicate": [d is not None for d in dup_of],
                         "is_junk": [any(c != OUTLIER for c in cs) for cs in codes],
                         "is_outlier": [OUTLIER in cs for cs in codes],
                         "triage": verdict, "reason": reason}), distinct


VERDICTS = ("keep", "redundant", "harmful")
OUTLIER = "outlier"
JUNK_CODES = ("tiny", "blank", "dark", "bright", "blurry", "empty_text", "short_text")


def has_flag(tri: pd.DataFrame, code: str) -> pd.Series:
    """Whether each sample carries the flag `code` (OUTLIER or one of JUNK_CODES)."""
    return tri["flags"].fillna("").str.split(",").map(lambda cs: code in cs)


def sanity_warnings(out: pd.DataFrame, distinct: int, cfg: Triage, modality: str) -> list[str]:
    """What a user must hear before the pool empties silently: too much flagged, and the likely
    cause. `distinct`: how many different feature rows (to 4 decimals) the samples have."""
    n = len(out)
    if n == 0:
        return []
    warnings = []
    if distinct < max(2, 0.5 * n):
        warnings.append(f"features are near-constant: {distinct} distinct rows for {n} samples; "
                        + ("are the images blank after decoding (transparency, 16-bit, unusual modes)?"
                           if modality == "image" else "check acquire.text_column / acquire.feature_columns"))
    flagged = (out["triage"] != "keep").mean()
    if flagged > cfg.warn_share:
        blank = has_flag(out, "blank").mean()
        cause = (f"{blank:.0%} of images are nearly constant after decoding: do they carry transparency, "
                 "or are they scans of empty pages?" if blank > 0.5 * flagged else
                 f"{(out['triage'] == 'redundant').mean():.0%} are near-duplicates (triage.near_dup_threshold "
                 f"{cfg.near_dup_threshold}) and {(out['triage'] == 'harmful').mean():.0%} junk or outliers "
                 f"(triage.outlier_iqr {cfg.outlier_iqr}, min_std {cfg.min_std})")
        warnings.append(f"triage set aside {flagged:.0%} of the dataset (over triage.warn_share "
                        f"{cfg.warn_share:.0%}): {cause}; see data/triage.parquet, or list ids in triage.keep")
    return warnings


def set_aside(project) -> set[str]:
    """Sample ids triage judged redundant or harmful, minus those listed in `triage.keep`:
    never selected, never auto-labeled."""
    if not store.exists(project.data, "triage"):
        return set()
    tri = store.read_table(project.data, "triage", ["sample_id", "triage"])
    return set(tri.loc[tri["triage"] != "keep", "sample_id"]) - set(project.cfg.triage.keep)


def triage(project: Project) -> dict[str, Any]:
    full = store.read_table(project.data, "manifest")
    # what the source holds now: a gone sample is nobody's near-duplicate original
    man = full[store.in_source(full)].reset_index(drop=True)
    X, index = load_features(project, man)
    rows = Rows(X, rows_of(index, man["sample_id"]))        # read range by range, here or on the workers
    out, distinct = _triage(man, rows, project.cfg.triage, project.data, project.cfg.project.seed,
                            project.cfg.acquire.n_jobs, project.cfg.acquire.max_pixels)
    store.write_table(project.data, "triage", out)
    counts = out["triage"].value_counts()
    summary = {"samples": int(len(out)), "verdicts": {v: int(counts.get(v, 0)) for v in VERDICTS},
               "duplicate_groups": int(out["dup_of"].dropna().nunique()),
               "class_balance": man["source_label"].value_counts().to_dict(),
               "warnings": sanity_warnings(out, distinct, project.cfg.triage, man["modality"].iloc[0])}
    unknown = sorted(set(project.cfg.triage.keep) - set(full["sample_id"]))
    if unknown:                         # a path or a typo keeps nothing: say so
        summary["warnings"].append(f"triage.keep: {len(unknown)} of its {len(project.cfg.triage.keep)} ids name no "
                                   f"sample ({', '.join(unknown[:3])}{' ...' if len(unknown) > 3 else ''}); it takes "
                                   "the sample_id column of data/triage.parquet")
    write_json(project.reports / "triage.json", summary)
    stage_metrics.write(project.reports, "triage", summary)
    return summary
