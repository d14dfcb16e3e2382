"""Feature matrices per modality, cached by sample id in `data/features/`.

- Images: grey pixels resized to a small square plus a HOG descriptor (cheap,
  robust to small shifts) and per-channel colour statistics, of the image as
  displayed (`dataprep.core.images`).
- Text: sparse TF-IDF (1-2 grams, sublinear tf) is what the model learns from
  (`model_features`): a dense projection loses accuracy (on a 12-class real
  text set, 256 SVD dimensions reached 0.659 where sparse TF-IDF + logistic
  regression reached 0.733). Stages that need geometry (triage's neighbours,
  diversity in selection, cold start) use the L2-normalised truncated-SVD
  projection (`load_features`).
- Tabular: the numeric columns, median-imputed and standardised; categorical ones one-hot.
- The user's own (`features.embedding`): a precomputed embeddings file
  (`.parquet` with a `sample_id` or `path` key column, `.npz` with `keys` and
  `embeddings`, or `.npy` with a `<name>.keys.txt` beside it; keys are sample
  ids or source paths), an ONNX image or text encoder run with onnxruntime in
  batches (`path/to/model.onnx`), or `module:function` (importable from the
  project folder) mapping a list of image paths, or texts, to an array.

The cache is `data/features/dense.npy` (float32, one row per sample),
`data/features/index.json` (sample ids in row order and the settings that made
them) and, for text, `data/features/sparse.npz`. A round computes image and
embedding rows only for new samples; changing a setting (or the embeddings
file) recomputes everything.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import sys
from pathlib import Path
from typing import Callable

import joblib
import numpy as np
import pandas as pd
import scipy.sparse as sp
from PIL import Image

from dataprep.core import progress, store
from dataprep.core.acquire import TABULAR_FILE
from dataprep.core.atomic import atomic_path, write_json
from dataprep.core.errors import UserError
from dataprep.core.images import DEFAULT_MAX_PIXELS, load_rgb
from dataprep.core.parallel import map_batches
from dataprep.core.project import Project

FOLDER = "features"
VECTORIZER = "tfidf.joblib"         # text: the fitted vocabulary, to featurise texts outside the pool
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
    (`dataprep.core.images.load_rgb`: transparency composited, EXIF applied, huge files shrunk)."""
    im = load_rgb(path, max_side=256, max_pixels=max_pixels)
    rgb = np.asarray(im, dtype=np.float32) / 255.0
    gray = np.asarray(im.convert("L").resize((size, size), Image.BILINEAR), dtype=np.float32) / 255.0
    parts = [gray.ravel(), rgb.reshape(-1, 3).mean(0), rgb.reshape(-1, 3).std(0)]
    if with_hog:
        parts.append(hog(gray))
    return np.concatenate(parts).astype(np.float32)


def _image_batch(paths: list[str], size: int, with_hog: bool, max_pixels: int) -> np.ndarray:
    return np.stack([image_vector(p, size, with_hog, max_pixels) for p in paths])


def _embedder(spec: str, root: Path) -> Callable[[list[str]], np.ndarray]:
    if spec in _EMBEDDERS:
        return _EMBEDDERS[spec]
    mod, _, fn = spec.partition(":")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))          # a module in the project folder loads as it is
    try:
        return getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UserError(f"features.embedding: cannot load {spec!r} ({exc}); use 'module:function', "
                        "an .onnx model or an embeddings file (.parquet, .npz, .npy)") from exc


EMBEDDING_FILES = (".parquet", ".npz", ".npy")


def _embedding_path(project: Project) -> Path | None:
    """The file `features.embedding` names (embeddings or an ONNX model), if it names one."""
    spec = project.cfg.features.embedding
    if not spec or not spec.lower().endswith(EMBEDDING_FILES + (".onnx",)):
        return None
    path = Path(spec) if Path(spec).is_absolute() else project.root / spec
    if not path.exists():
        raise UserError(f"features.embedding: {path} does not exist")
    return path


def _read_embeddings(path: Path) -> tuple[list[str], np.ndarray]:
    """(keys, matrix) of a precomputed embeddings file."""
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
            key = next((c for c in ("sample_id", "path", "source") if c in df.columns), None)
            if key is None:
                raise UserError(f"{path}: needs a 'sample_id' or 'path' column naming each row's sample")
            if "embedding" in df.columns:
                mat = np.stack([np.asarray(v, np.float32) for v in df["embedding"]])
            else:
                mat = df.drop(columns=[key]).select_dtypes("number").to_numpy(np.float32)
            return df[key].astype(str).tolist(), mat
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if "keys" not in z or "embeddings" not in z:
                    raise UserError(f"{path}: needs arrays 'keys' and 'embeddings' (has {', '.join(z.files)})")
                return [str(k) for k in z["keys"]], np.asarray(z["embeddings"], np.float32)
        keys_file = path.with_suffix(".keys.txt")
        if not keys_file.exists():
            raise UserError(f"{path}: a .npy needs {keys_file.name} beside it (one sample id or path per row)")
        mat = np.load(path, allow_pickle=False).astype(np.float32)
        keys = keys_file.read_text().splitlines()
        if len(keys) != len(mat):
            raise UserError(f"{keys_file}: {len(keys)} keys for {len(mat)} rows in {path.name}")
        return keys, mat
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read embeddings ({exc})") from exc


def precomputed_features(path: Path, man: pd.DataFrame, project: Project) -> np.ndarray:
    """Rows of a precomputed embeddings file for `man`'s samples, matched by sample id or by
    any of the sample's source paths (as recorded, absolute, or relative to the source folder)."""
    keys, mat = _read_embeddings(path)
    if mat.ndim != 2 or not np.isfinite(mat).all():
        raise UserError(f"{path}: embeddings must be a finite 2-d matrix (got shape {mat.shape})")
    pos = {k: i for i, k in enumerate(keys)}
    pos.update({str(Path(k).resolve()): i for i, k in enumerate(keys) if "/" in k or "." in k})
    src = Path(project.cfg.acquire.source)
    src = src if src.is_absolute() else project.root / src
    rows = []
    for sid, sources in zip(man["sample_id"], man["sources"]):
        cands = [sid]
        for s in json.loads(sources):
            s = s.split(":")[0] if man["modality"].iloc[0] != "image" and ":" in s else s
            full = Path(s) if Path(s).is_absolute() else project.root / s
            cands += [s, str(full.resolve())]
            if full.resolve().is_relative_to(src.resolve()):
                cands.append(str(full.resolve().relative_to(src.resolve())))
        hit = next((pos[c] for c in cands if c in pos), None)
        if hit is None:
            missing = int(len(man) - len(rows))
            raise UserError(f"{path}: no embedding for sample {sid} ({json.loads(sources)[0]}); "
                            f"key rows by sample id or source path ({missing} samples unmatched from here on)")
        rows.append(hit)
    return mat[np.asarray(rows, dtype=np.int64)]


def onnx_features(model_path: Path, inputs: list[str], modality: str, project: Project) -> np.ndarray:
    """Run an ONNX encoder over image paths (NCHW float, resized, normalised) or texts (a string
    tensor: the tokenizer inside the graph), in batches with a progress bar. Outputs of more than
    two dimensions (tokens x dims, or maps) are mean-pooled to one vector per sample."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise UserError("features.embedding: an .onnx encoder needs onnxruntime: pip install 'dataprep[onnx]'") from exc
    f = project.cfg.features
    try:
        sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for a bad file
        raise UserError(f"{model_path}: not a loadable ONNX model ({str(exc).splitlines()[0]})") from exc
    inp = sess.get_inputs()[0]
    takes_text = inp.type == "tensor(string)"
    if takes_text != (modality == "text"):
        raise UserError(f"{model_path}: its input {inp.name!r} is {inp.type}, but the dataset is {modality}")
    size = f.onnx_input_size
    if not takes_text and not size:
        dims = [d for d in inp.shape[2:4] if isinstance(d, int)]
        size = dims[0] if len(dims) == 2 and dims[0] == dims[1] else 224
    mean = np.asarray(f.onnx_mean, np.float32)[:, None, None]
    std = np.asarray(f.onnx_std, np.float32)[:, None, None]

    def batch_input(items: list[str]) -> np.ndarray:
        if takes_text:
            return np.asarray(items, dtype=object)
        ims = [np.asarray(load_rgb(p, max_pixels=project.cfg.acquire.max_pixels)
                          .resize((size, size), Image.BILINEAR), np.float32).transpose(2, 0, 1) / 255.0
               for p in items]
        return ((np.stack(ims) - mean) / std).astype(np.float32)

    out = []
    chunks = [inputs[i:i + f.batch_size] for i in range(0, len(inputs), f.batch_size)]
    for chunk in progress.track(chunks, total=len(chunks), description=f"encode with {model_path.name}"):
        y = np.asarray(sess.run(None, {inp.name: batch_input(chunk)})[0], np.float32)
        out.append(y.reshape(len(chunk), -1) if y.ndim <= 2 else y.reshape(len(chunk), y.shape[1], -1).mean(1))
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def image_batches(paths: list[str], project: Project):
    """The built-in image features of `paths`, a batch of rows at a time, in order (decoded on
    this machine's processes or the cluster's workers)."""
    f = project.cfg.features
    return map_batches(_image_batch, paths, 256, project.cfg.acquire.n_jobs, "image features",
                       f.image_size, f.hog, project.cfg.acquire.max_pixels)


def image_features(paths: list[str], project: Project) -> np.ndarray:
    f = project.cfg.features
    if f.embedding:
        return np.asarray(_embedder(f.embedding, project.root)(paths), dtype=np.float32)
    return np.concatenate(list(image_batches(paths, project)))


def _streamed(project: Project, modality: str) -> bool:
    """Whether the features come batch by batch (the built-in image features): they are then
    written to the cache as they come, never whole in this process."""
    return modality == "image" and _embedding_path(project) is None and not project.cfg.features.embedding


def _write_streamed(target: Path, cached, batches, n: int) -> None:
    """`target` (.npy, float32): the rows of `cached` (or none), then each batch's, n in all;
    one batch in memory at a time."""
    out = None
    at = 0
    for batch in batches:
        batch = np.asarray(batch, dtype=np.float32)
        if out is None:
            d = batch.shape[1] if cached is None else cached.shape[1]
            out = np.lib.format.open_memmap(target, mode="w+", dtype=np.float32, shape=(n, d))
            if cached is not None:
                for a in range(0, len(cached), 1_000_000):
                    b = min(len(cached), a + 1_000_000)
                    out[a:b] = cached[a:b]
                at = len(cached)
        _check(batch, len(batch), "features")
        if batch.shape[1] != out.shape[1] or at + len(batch) > n:
            raise UserError(f"features: expected {n} rows of {out.shape[1]} values, got a batch of shape {batch.shape}")
        out[at:at + len(batch)] = batch
        at += len(batch)
    if out is None or at != n:
        raise UserError(f"features: expected one feature row per sample ({n}), got {at}")
    out.flush()
    del out


UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
                      "\uac00-\ud7af\uf900-\ufaff]")
"""Letters of scripts written without spaces between words (Thai, Lao, Myanmar, Khmer, kana, CJK
ideographs; Hangul is spaced, but its syllables carry particles, so words rarely repeat whole)."""


def unspaced_share(texts: list[str], sample: int = 2000) -> float:
    """The share of letters, in (up to `sample` of) `texts`, from scripts written without
    spaces: there a word analyzer sees a whole clause as one token, and no two texts share one
    (a 3-topic Chinese set: logistic regression at chance, 1.0 on character n-grams)."""
    step = max(1, len(texts) // sample)
    chars = "".join(t for t in texts[::step] if isinstance(t, str))
    letters = sum(ch.isalpha() for ch in chars)
    return len(UNSPACED.findall(chars)) / letters if letters else 0.0


def text_features(texts: list[str], project: Project) -> tuple[np.ndarray, sp.csr_matrix]:
    """(dense projection for geometry, sparse TF-IDF for the model)."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    f = project.cfg.features
    kind = f.text_analyzer if f.text_analyzer != "auto" else ("char" if unspaced_share(texts) > 0.3 else "word")
    tfidf = TfidfVectorizer(sublinear_tf=True, max_features=f.text_max_features, min_df=1, dtype=np.float32,
                            **({"analyzer": "char_wb", "ngram_range": (1, 3)} if kind == "char" else
                               {"ngram_range": (1, 2)}))
    m = tfidf.fit_transform(texts).tocsr()
    (project.data / FOLDER).mkdir(parents=True, exist_ok=True)
    with atomic_path(project.data / FOLDER / VECTORIZER) as tmp:     # for texts the pool never had
        joblib.dump(tfidf, tmp)
    k = min(256, m.shape[1] - 1, m.shape[0] - 1)
    if k < 2:
        return m.toarray().astype(np.float32), m
    dense = TruncatedSVD(n_components=k, random_state=project.cfg.project.seed).fit_transform(m)
    return normalize(dense).astype(np.float32), m


def tabular_features(ids: list[str], project: Project) -> np.ndarray:
    """Numeric columns median-imputed and standardised; a categorical column (text, see
    `columns.is_categorical`) one-hot, a missing value all zeros, each one at 1/sqrt(2) so two
    rows of different categories are as far apart as one standard deviation of a number."""
    table = pd.read_parquet(project.data / TABULAR_FILE).set_index("sample_id").loc[ids]
    cats = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    values = table.drop(columns=cats).to_numpy(np.float64)
    med = np.nanmedian(values, axis=0) if values.shape[1] else np.zeros(0)
    values = np.where(np.isnan(values), np.nan_to_num(med)[None, :], values)
    std = values.std(0)
    parts = [(values - values.mean(0)) / np.where(std > 0, std, 1)]
    if cats:
        onehot = pd.get_dummies(table[cats].astype("string"), dummy_na=False, dtype=np.float64)
        parts.append(onehot[sorted(onehot.columns)].to_numpy() / np.sqrt(2))
    return np.hstack(parts).astype(np.float32)


def _settings_key(project: Project, modality: str) -> str:
    f = project.cfg.features.model_dump()
    f.pop("chunk_size", None)
    f.pop("batch_size", None)
    path = _embedding_path(project)
    stamp = None
    if path is not None:        # the file (and a .npy's keys beside it): a new export recomputes
        stamp = [[f.stat().st_size, f.stat().st_mtime_ns] for f in (path, path.with_suffix(".keys.txt")) if f.exists()]
    return hashlib.sha1(json.dumps([modality, f, stamp, project.cfg.acquire.max_pixels, project.cfg.project.seed],
                                  sort_keys=True).encode()).hexdigest()[:12]


def _compute(project: Project, man: pd.DataFrame, modality: str) -> tuple[np.ndarray, sp.csr_matrix | None]:
    """Features of `man`'s samples, in its order: (dense, sparse for the model or None)."""
    data = project.data
    path = _embedding_path(project)
    if path is not None and path.suffix.lower() != ".onnx":
        return precomputed_features(path, man, project), None
    if modality == "image":
        paths = [str(data / p) for p in man["path"]]
        if path is not None:
            return onnx_features(path, paths, modality, project), None
        return image_features(paths, project), None
    if modality == "text":
        if path is not None:
            return onnx_features(path, man["text"].tolist(), modality, project), None
        if project.cfg.features.embedding:
            return np.asarray(_embedder(project.cfg.features.embedding, project.root)(man["text"].tolist()),
                              dtype=np.float32), None
        return text_features(man["text"].tolist(), project)
    return tabular_features(man["sample_id"].tolist(), project), None


def _check(matrix: np.ndarray, n: int, where: str, ids: list[str] | None = None) -> None:
    if matrix.ndim != 2 or len(matrix) != n:
        raise UserError(f"{where}: expected one feature row per sample ({n}), got shape {matrix.shape}")
    bad = ~np.isfinite(matrix).all(1)
    if bad.any():
        first = int(np.argmax(bad))
        raise UserError(f"{where}: {int(bad.sum())} samples have NaN or infinite features (the first: "
                        f"{f'sample {ids[first]}' if ids is not None else f'row {first + 1} of a batch'})")


def load_features(project: Project, manifest: pd.DataFrame | None = None) -> tuple[np.ndarray, pd.Index]:
    """The dense feature matrix of every manifest sample (memory-mapped) and its sample-id index,
    as the `features` stage left it. Only when the cache lacks samples (a stage run by hand before
    `dataprep features`) is it brought up to date here; the settings are the features stage's
    business, so the stages after it read no `features.*` parameter."""
    data = project.data
    man = manifest if manifest is not None else store.read_table(data, "manifest")
    idx_file, npy = data / FOLDER / "index.json", data / FOLDER / "dense.npy"
    if idx_file.exists() and npy.exists() and not man.empty:
        ids = json.loads(idx_file.read_text())["ids"]
        if set(man["sample_id"]) <= set(ids):
            return np.load(npy, mmap_mode="r"), pd.Index(ids)
    return build_features(project, man)


def build_features(project: Project, manifest: pd.DataFrame | None = None) -> tuple[np.ndarray, pd.Index]:
    """The `features` stage: bring the cache up to date with the manifest and the settings.

    Image and embedding rows are computed only for samples not yet in the cache.
    Text and tabular features depend on the whole corpus (vocabulary, scaling),
    so any new sample recomputes them."""
    data = project.data
    man = manifest if manifest is not None else store.read_table(data, "manifest")
    if man.empty:
        raise UserError(f"{data / 'manifest.parquet'}: no samples; run `dataprep acquire` first")
    modalities = set(man["modality"])
    if len(modalities) > 1:
        raise UserError(f"{data / 'manifest.parquet'}: mixed modalities {sorted(modalities)}; use one dataset per modality")
    modality = modalities.pop()
    folder = data / FOLDER
    npy, idx_file, sparse_file = folder / "dense.npy", folder / "index.json", folder / "sparse.npz"
    key = _settings_key(project, modality)
    cached_ids: list[str] = []
    cached = None
    if npy.exists() and idx_file.exists():
        meta = json.loads(idx_file.read_text())
        # text: a cache from before the vocabulary was kept is recomputed, so new texts can be featurised
        lacks_vocabulary = meta.get("sparse") and not (folder / VECTORIZER).exists()
        if meta.get("key") == key and not lacks_vocabulary:
            cached_ids, cached = meta["ids"], np.load(npy, mmap_mode="r")
    want = man["sample_id"].tolist()
    have = set(cached_ids)
    new = [s for s in want if s not in have]
    if new or cached is None:
        # image rows and user embeddings are per sample; TF-IDF and tabular scaling are per corpus
        incremental = cached is not None and (modality == "image" or bool(project.cfg.features.embedding))
        sparse = None
        folder.mkdir(parents=True, exist_ok=True)
        if _streamed(project, modality):
            todo = man.set_index("sample_id").loc[new].reset_index() if incremental else man
            ids = cached_ids + new if incremental else want
            with atomic_path(npy) as tmp:
                _write_streamed(Path(tmp), cached if incremental else None,
                                image_batches([str(data / p) for p in todo["path"]], project), len(ids))
            if sparse_file.exists():
                sparse_file.unlink()
            write_json(idx_file, {"key": key, "modality": modality, "ids": ids, "sparse": False})
            return np.load(npy, mmap_mode="r"), pd.Index(ids)
        if incremental:
            extra, _ = _compute(project, man.set_index("sample_id").loc[new].reset_index(), modality)
            _check(extra, len(new), "features", new)
            matrix, ids = np.concatenate([np.asarray(cached), extra]), cached_ids + new
        else:
            matrix, sparse = _compute(project, man, modality)
            _check(matrix, len(want), "features", want)
            ids = want
        with atomic_path(npy) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, np.ascontiguousarray(matrix, dtype=np.float32))
        if sparse is not None:
            with atomic_path(sparse_file) as tmp:
                with open(tmp, "wb") as fh:
                    sp.save_npz(fh, sparse.astype(np.float32))
        elif sparse_file.exists():
            sparse_file.unlink()
        write_json(idx_file, {"key": key, "modality": modality, "ids": ids, "sparse": sparse is not None})
        cached_ids, cached = ids, np.load(npy, mmap_mode="r")
    return cached, pd.Index(cached_ids)


def model_features(project: Project, manifest: pd.DataFrame | None = None):
    """What a model learns from, with its sample-id index: sparse TF-IDF (CSR) for text,
    the dense matrix otherwise. Row `i` is the same sample as in `load_features`."""
    dense, index = load_features(project, manifest)
    sparse_file = project.data / FOLDER / "sparse.npz"
    if sparse_file.exists():
        return sp.load_npz(sparse_file).tocsr(), index
    return dense, index


def new_sample_features(project: Project, modality: str, values: list[str]):
    """Model features of samples the project has never seen (image files or texts), computed as
    the features stage computes them: the same image descriptor or encoder, the pool's own
    TF-IDF vocabulary. What the ML backend reads for a task imported outside the loop."""
    path = _embedding_path(project)
    if path is not None and path.suffix.lower() != ".onnx":
        raise UserError(f"features.embedding: {path.name} is a precomputed file; samples outside it have no "
                        "features (use an .onnx encoder or module:function to featurise new samples)")
    if modality == "image":
        if path is not None:
            return onnx_features(path, values, modality, project)
        f = project.cfg.features
        if f.embedding:
            return np.asarray(_embedder(f.embedding, project.root)(values), dtype=np.float32)
        return _image_batch(values, f.image_size, f.hog, project.cfg.acquire.max_pixels)
    if modality == "text":
        if path is not None:
            return onnx_features(path, values, modality, project)
        if project.cfg.features.embedding:
            return np.asarray(_embedder(project.cfg.features.embedding, project.root)(values), dtype=np.float32)
        vec = project.data / FOLDER / VECTORIZER
        if not vec.exists():
            raise UserError(f"{vec}: missing; run `dataprep features` (or `dvc repro`) to compute the text features")
        return joblib.load(vec).transform(values).tocsr()
    raise UserError(f"features of new {modality} samples are not computed on the fly; only images and texts")


def take(X, rows) -> np.ndarray | sp.csr_matrix:
    """`X[rows]` as an in-memory matrix: sparse stays sparse, a memory map becomes an array."""
    part = X[rows]
    return part if sp.issparse(part) else np.asarray(part)


def rows_of(index: pd.Index, sample_ids) -> np.ndarray:
    """Row numbers of `sample_ids` in the feature matrix (never rely on row order elsewhere)."""
    pos = index.get_indexer(list(sample_ids))
    if (pos < 0).any():
        raise UserError("features cache is missing samples; delete data/features/ and re-run `dataprep features`")
    return pos
