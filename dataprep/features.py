"""Feature matrices per modality, cached by sample id.

Images: grey pixels resized to a small square plus a HOG descriptor (cheap,
robust to small shifts) and per-channel colour statistics; a user can register
an embedding function instead (`features.embedding: module:function`, taking
a list of image paths and returning an array). Text: TF-IDF reduced by
truncated SVD to a dense matrix so the same strategies and triage run on
every modality. Tabular: the numeric columns, median-imputed and standardised.

The cache is `data/features.npy` (float32, one row per sample) plus
`data/features.index.json` (the sample ids in row order and the settings that
made them). A round only computes rows for new samples; changing a setting
recomputes everything.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from typing import Callable

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from PIL import Image

from dataprep import console, store
from dataprep.atomic import atomic_path, write_json
from dataprep.errors import UserError
from dataprep.images import DEFAULT_MAX_PIXELS, load_rgb
from dataprep.project import Project

_EMBEDDERS: dict[str, Callable[[list[str]], np.ndarray]] = {}


def register_embedding(name: str, fn: Callable[[list[str]], np.ndarray]) -> None:
    """Register an image embedding usable as `features.embedding: <name>`."""
    _EMBEDDERS[name] = fn


def hog(gray: np.ndarray, cells: int = 4, bins: int = 8) -> np.ndarray:
    """Histogram of oriented gradients over a cells x cells grid (unsigned, L2-normalised)."""
    gy, gx = np.gradient(gray.astype(np.float32))
    mag = np.hypot(gx, gy)
    ang = (np.arctan2(gy, gx) % np.pi) / np.pi * bins
    b = np.minimum(ang.astype(int), bins - 1)
    h, w = gray.shape
    ys = np.minimum(np.arange(h) * cells // h, cells - 1)
    xs = np.minimum(np.arange(w) * cells // w, cells - 1)
    cell = ys[:, None] * cells + xs[None, :]
    hist = np.zeros(cells * cells * bins, np.float32)
    np.add.at(hist, (cell * bins + b).ravel(), mag.ravel())
    return hist / (np.linalg.norm(hist) + 1e-6)


def image_vector(path: str, size: int, with_hog: bool, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Grey pixels at size x size, colour mean and std, HOG: of the image as displayed
    (`dataprep.images.load_rgb`: transparency composited, EXIF applied, huge files shrunk)."""
    im = load_rgb(path, max_side=256, max_pixels=max_pixels)
    rgb = np.asarray(im, dtype=np.float32) / 255.0
    gray = np.asarray(im.convert("L").resize((size, size), Image.BILINEAR), dtype=np.float32) / 255.0
    parts = [gray.ravel(), rgb.reshape(-1, 3).mean(0), rgb.reshape(-1, 3).std(0)]
    if with_hog:
        parts.append(hog(gray))
    return np.concatenate(parts).astype(np.float32)


def _image_batch(paths: list[str], size: int, with_hog: bool, max_pixels: int) -> np.ndarray:
    return np.stack([image_vector(p, size, with_hog, max_pixels) for p in paths])


def _embedder(spec: str) -> Callable[[list[str]], np.ndarray]:
    if spec in _EMBEDDERS:
        return _EMBEDDERS[spec]
    mod, _, fn = spec.partition(":")
    try:
        return getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UserError(f"features.embedding: cannot load {spec!r} ({exc}); use 'module:function'") from exc


def image_features(paths: list[str], project: Project) -> np.ndarray:
    f = project.cfg.features
    if f.embedding:
        return np.asarray(_embedder(f.embedding)(paths), dtype=np.float32)
    size = 256
    batches = [paths[i:i + size] for i in range(0, len(paths), size)]
    n_jobs = min(project.cfg.acquire.n_jobs, len(batches)) or 1
    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    parts = runner(delayed(_image_batch)(b, f.image_size, f.hog, project.cfg.acquire.max_pixels) for b in batches)
    return np.concatenate(list(console.track(parts, total=len(batches), description="image features")))


def text_features(texts: list[str], project: Project) -> np.ndarray:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    tfidf = TfidfVectorizer(sublinear_tf=True, max_features=project.cfg.features.text_max_features,
                            ngram_range=(1, 2), min_df=1)
    m = tfidf.fit_transform(texts)
    k = min(256, m.shape[1] - 1, m.shape[0] - 1)
    if k < 2:
        return m.toarray().astype(np.float32)
    dense = TruncatedSVD(n_components=k, random_state=project.cfg.project.seed).fit_transform(m)
    return normalize(dense).astype(np.float32)


def tabular_features(ids: list[str], project: Project) -> np.ndarray:
    from dataprep.acquire import TABULAR_FILE

    table = pd.read_parquet(project.data / TABULAR_FILE).set_index("sample_id").loc[ids]
    values = table.to_numpy(np.float64)
    med = np.nanmedian(values, axis=0)
    values = np.where(np.isnan(values), np.nan_to_num(med)[None, :], values)
    std = values.std(0)
    return ((values - values.mean(0)) / np.where(std > 0, std, 1)).astype(np.float32)


def _settings_key(project: Project, modality: str) -> str:
    f = project.cfg.features.model_dump()
    f.pop("chunk_size", None)
    return hashlib.sha1(json.dumps([modality, f], sort_keys=True).encode()).hexdigest()[:12]


def load_features(project: Project, manifest: pd.DataFrame | None = None) -> tuple[np.ndarray, pd.Index]:
    """The feature matrix of every manifest sample (memory-mapped) and its sample-id index.

    Image features are computed only for samples not yet in the cache. Text and
    tabular features depend on the whole corpus (vocabulary, scaling), so any
    new sample recomputes them.
    """
    data = project.data
    man = manifest if manifest is not None else store.read_table(data, "manifest")
    if man.empty:
        raise UserError(f"{data / 'manifest.parquet'}: no samples; run `dataprep acquire` first")
    modalities = set(man["modality"])
    if len(modalities) > 1:
        raise UserError(f"{data / 'manifest.parquet'}: mixed modalities {sorted(modalities)}; use one dataset per modality")
    modality = modalities.pop()
    npy, idx_file = data / "features.npy", data / "features.index.json"
    key = _settings_key(project, modality)
    cached_ids: list[str] = []
    cached = None
    if npy.exists() and idx_file.exists():
        meta = json.loads(idx_file.read_text())
        if meta.get("key") == key:
            cached_ids, cached = meta["ids"], np.load(npy, mmap_mode="r")
    want = man["sample_id"].tolist()
    have = set(cached_ids)
    new = [s for s in want if s not in have]
    if new or cached is None:
        if modality == "image" and cached is not None:
            rows = man.set_index("sample_id").loc[new]
            extra = image_features([str(data / p) for p in rows["path"]], project)
            matrix, ids = np.concatenate([np.asarray(cached), extra]), cached_ids + new
        else:
            ids = want
            if modality == "image":
                matrix = image_features([str(data / p) for p in man["path"]], project)
            elif modality == "text":
                matrix = text_features(man["text"].tolist(), project)
            else:
                matrix = tabular_features(want, project)
        with atomic_path(npy) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, np.ascontiguousarray(matrix, dtype=np.float32))
        write_json(idx_file, {"key": key, "modality": modality, "ids": ids})
        cached_ids, cached = ids, np.load(npy, mmap_mode="r")
    return cached, pd.Index(cached_ids)


def rows_of(index: pd.Index, sample_ids) -> np.ndarray:
    """Row numbers of `sample_ids` in the feature matrix (never rely on row order elsewhere)."""
    pos = index.get_indexer(list(sample_ids))
    if (pos < 0).any():
        raise UserError("features cache is missing samples; delete data/features.npy and re-run")
    return pos
