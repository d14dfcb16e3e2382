"""Near-duplicate pairs: one index in one process, or cells of a shared coarse quantizer across many.

Input: per item `m` unit vectors (variant 0 the whole item, the others crops of it, so a
slightly cropped copy still matches its original). A pair (i, j) is a near-duplicate when
some variant of i is within `threshold` cosine distance of j's whole vector.

- `near_duplicate_pairs`: the pool in memory, one faiss index (exact up to 5,000 items, HNSW
  above), k nearest neighbours per query.
- `sharded_pairs`: the pool read range by range from a features file (`Rows`), never whole
  in one process. This is faiss's IVF cut along its cells, as a map and a reduce:
  1. a coarse quantizer (about `CELL` items a cell) and the PCA projection are fit on a
     random sample, on the caller. The quantizer has two levels (`_quantizer`): a flat one
     costs sample x cells to train and N x cells to assign, which grows as N squared when
     the cells grow with N (`benchmarks/scale.py --parts neardup`: 10M items took 18x
     the time of 1M with one level, 10x with two); two levels cost about
     sqrt(cells) for each;
  2. each row range (a task) assigns every whole vector to its nearest cell and every
     variant to its `nprobe` nearest cells, and writes them, projected (float16: half the
     disk and memory; candidates are checked on the full vectors), sorted by bucket of cells
     (cells packed into buckets by their size in the sample, largest first, so each bucket
     holds about `PART` whole vectors): a few files a range, with each bucket's edges;
  3. each bucket (a task) reads its slice of every range's files, compares, cell by cell,
     the variants with the whole vectors that share the cell, keeps those within the radius
     (a projection only shrinks distances, so no true pair is lost there), and checks each
     candidate on the full vectors.
  A pair is missed only when the nearest cell of j is not among the `nprobe` nearest of
  i's variant, which near-duplicates, a hair apart, almost never are
  (`python benchmarks/scale.py --parts neardup` measures recall against injected
  duplicates at 1M-10M items, beside the single index).
  The tasks run where `dataprep.core.parallel` sends them (a Dask cluster, or this
  machine's processes); the range files live in a temporary folder under `work_dir`,
  which the workers must see at the same path (the project's data folder).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import numpy as np

from dataprep.core.parallel import map_batches, scheduler
from dataprep.core.rows import Rows

PCA_DIM = 48
LOCAL_MAX = 2_000_000     # items above which even this machine shards (one HNSW over more holds several GB)
PART = 250_000            # rows per assigning task, and whole vectors per bucket
CELL = 2_000              # items per cell of the coarse quantizer
NPROBE = 3
TOP_PROBES = 8            # top cells of the two-level quantizer searched for a vector's nearest cells
MAX_CELLS = 65_536        # the quantizer sample (SAMPLE_PER_CELL a cell) is read and fit on the caller
QUANTIZER_SAMPLE = 100_000  # rows the quantizer is fit on, at least, and SAMPLE_PER_CELL a cell
                            # (with fewer, cells come out uneven, and a cell's cost is its size squared)
SAMPLE_PER_CELL = 64


def _index(dim: int, n: int):
    """Exact search for small sets, HNSW (about N log N) above that."""
    import faiss

    if n <= 5000:
        return faiss.IndexFlatL2(dim)
    index = faiss.IndexHNSWFlat(dim, 32)
    index.hnsw.efConstruction = 64
    index.hnsw.efSearch = 64
    return index


def _pca(sample: np.ndarray, seed: int):
    """PCA to PCA_DIM dimensions fit on up to 10,000 of `sample`'s rows, or None when the vectors
    are short already or there are too few to be worth it (5,000 or fewer)."""
    if sample.shape[1] <= PCA_DIM or len(sample) <= 5000:
        return None
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    rows = rng.choice(len(sample), min(len(sample), 10000), replace=False)
    return PCA(PCA_DIM, random_state=seed).fit(sample[rows])


def _project(P, a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a if P is None else P.transform(a), dtype=np.float32)


def unit(a: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (all-zero rows stay zero)."""
    a = np.asarray(a, dtype=np.float32)
    n = np.linalg.norm(a, axis=-1, keepdims=True)
    return a / np.where(n > 1e-12, n, 1.0)


def median_nn_distance(X, sample: int = 2000, seed: int = 0, chunk: int = 16384) -> float:
    """The median Euclidean distance from a row of `X` (an array or `Rows`) to its nearest other
    row, over a random sample of `sample` rows, each compared with every row (exact), chunk by
    chunk. 0 only when most rows have an exact copy."""
    rows = Rows.of(X)
    n = len(rows)
    if n < 2:
        return 0.0
    picked = np.sort(np.random.default_rng(seed).choice(n, min(n, sample), replace=False))
    Q = np.asarray(rows[picked], dtype=np.float64)
    qq = (Q ** 2).sum(1)
    best = np.full(len(Q), np.inf)
    for a in range(0, n, chunk):
        B = np.asarray(rows[a:min(n, a + chunk)], dtype=np.float64)
        d2 = qq[:, None] + (B ** 2).sum(1)[None, :] - 2 * Q @ B.T
        mine = np.flatnonzero((picked >= a) & (picked < a + len(B)))
        d2[mine, picked[mine] - a] = np.inf                   # not itself
        best = np.minimum(best, d2.min(1))
    return float(np.sqrt(max(float(np.median(best)), 0.0)))


def on_sphere(X: np.ndarray, scale: float) -> np.ndarray:
    """Rows of `X` as unit vectors, by the inverse stereographic projection with radius `scale`
    (one more dimension): near the centre, Euclidean distance d becomes cosine distance
    2 (d / scale)^2 / ((1 + |x|^2/scale^2)(1 + |y|^2/scale^2)), so the cosine search finds points
    that are close, whatever their direction from the centre."""
    X = np.asarray(X, dtype=np.float64)
    sq = (X ** 2).sum(1, keepdims=True)
    return (np.c_[2 * scale * X, sq - scale ** 2] / (sq + scale ** 2)).astype(np.float32)


def _sorted_pairs(pairs: np.ndarray) -> np.ndarray:
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return np.unique(np.sort(pairs, axis=1), axis=0) if len(pairs) else np.zeros((0, 2), np.int64)


def _within(queries: np.ndarray, q: np.ndarray, base: np.ndarray, r: np.ndarray, threshold: float) -> np.ndarray:
    """Which candidates (query row q, base row r) are within `threshold` cosine distance."""
    return np.concatenate([1.0 - np.einsum("ij,ij->i", queries[q[c:c + 65536]], base[r[c:c + 65536]]) <= threshold
                           for c in range(0, len(q), 65536)] or [np.zeros(0, bool)])


def near_duplicate_pairs(V: np.ndarray, threshold: float, k: int = 8, seed: int = 0) -> np.ndarray:
    """(i, j) pairs within `threshold` cosine distance, i < j. V: (n, variants, d) unit vectors in
    memory, one index. Candidates come from a search in a PCA projection above 5,000 items (5-10x
    cheaper than the full vectors), then every candidate is checked on the full vectors."""
    n, m, dim = V.shape
    if n < 2:
        return np.zeros((0, 2), np.int64)
    base = np.ascontiguousarray(V[:, 0, :], dtype=np.float32)
    queries = np.ascontiguousarray(V.reshape(n * m, dim), dtype=np.float32)
    P = _pca(base, seed)
    index = _index(base.shape[1] if P is None else PCA_DIM, n)
    index.add(_project(P, base))
    k = min(k, n)
    _, found = index.search(_project(P, queries), k)
    q = np.repeat(np.arange(n * m), k)
    r = found.ravel()
    ok = (r >= 0) & (r != q // m)
    q, r = q[ok], r[ok]
    keep = _within(queries, q, base, r, threshold)
    return _sorted_pairs(np.c_[q[keep] // m, r[keep]])


def _kmeans(x: np.ndarray, k: int, seed: int):
    import faiss

    km = faiss.Kmeans(x.shape[1], k, niter=10, seed=seed, max_points_per_centroid=256, min_points_per_centroid=1,
                      verbose=False)
    km.train(x)
    return km


def _quantizer(sample: np.ndarray, cells: int, seed: int) -> tuple[np.ndarray, int]:
    """The coarse quantizer, two-level: k-means puts the sample in about sqrt(`cells`) top cells,
    and each top cell is split by its own k-means into a share of `cells` proportional to its
    members. Returns a faiss IVF index over the fine centroids, the top cells its lists,
    serialized (it travels to the workers as bytes), and the number of cells. Training (sample x
    sqrt(cells) instead of sample x cells) and a vector's nearest cells (the top cells, then the
    fine centroids in TOP_PROBES of them) both cost about sqrt(cells) where one level costs
    `cells`. (faiss.contrib.clustering.two_level_clustering sets max_points_per_centroid itself,
    which clashes with ours, and can give a small top cell no centroid.)"""
    import faiss

    cells = max(1, min(cells, len(sample)))
    tops = max(1, min(int(round(math.sqrt(cells))), len(sample)))
    top = _kmeans(sample, tops, seed)
    _, member = top.index.search(sample, 1)
    member = member.ravel()
    sizes = np.bincount(member, minlength=tops)
    share = np.minimum(sizes, np.maximum(1, sizes * cells // max(1, sizes.sum())))
    fine = []
    for t in np.flatnonzero(sizes):
        rows = sample[member == t]
        fine.append(rows.mean(0, keepdims=True) if share[t] <= 1 else _kmeans(rows, int(share[t]), seed).centroids)
    fine = np.ascontiguousarray(np.vstack(fine), dtype=np.float32)
    lists = faiss.IndexFlatL2(sample.shape[1])
    lists.add(np.ascontiguousarray(top.centroids, dtype=np.float32))
    index = faiss.IndexIVFFlat(lists, sample.shape[1], tops)
    index.add(fine)
    return faiss.serialize_index(index), len(fine)


def _nearest_cells(quantizer: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """The `k` nearest cells of each row of `x` (fewer, padded with -1, only when the probed top
    cells hold fewer than `k`; a row that finds none is searched over all cells)."""
    import faiss

    index = faiss.deserialize_index(quantizer)
    index.nprobe = min(TOP_PROBES, index.nlist)
    _, cells = index.search(x, k)
    lost = np.flatnonzero(cells[:, 0] < 0)
    if len(lost):
        index.nprobe = index.nlist
        _, cells[lost] = index.search(x[lost], k)
    return cells


def _pack(sizes: np.ndarray, buckets: int) -> np.ndarray:
    """The bucket of each cell: largest cells first, each to the bucket holding least so far, so
    no reduce task gets much more than its share (cell sizes as the quantizer's sample saw them)."""
    load = np.zeros(buckets)
    bucket_of = np.zeros(len(sizes), np.int64)
    for c in np.argsort(-sizes, kind="stable"):
        b = int(np.argmin(load))
        bucket_of[c] = b
        load[b] += sizes[c] + 1
    return bucket_of


def _assign(ranges, V: Rows, m: int, P, quantizer: np.ndarray, nprobe: int, bucket_of: np.ndarray,
            folder: str) -> int:
    """Map: every variant of one row range to its `nprobe` nearest cells, the whole vector (variant
    0) to the first of them; written projected into two files (whole vectors, variants), each
    sorted by bucket (`bucket_of[cell]`) with the bucket edges beside it: four files a range, where
    one file per bucket and range made ranges x buckets (16M at 1B)."""
    (start, stop), = ranges
    k = stop - start
    block = unit(V[slice(start, stop)].reshape(k, m, -1))
    queries = _project(P, block.reshape(k * m, -1))
    qc = _nearest_cells(quantizer, queries, nprobe)
    bc = qc[::m, 0]
    base = queries[::m]
    qc = qc.ravel()
    qkey = np.repeat(start * m + np.arange(k * m, dtype=np.int64), nprobe)
    qrow = np.repeat(np.arange(k * m), nprobe)
    keep = qc >= 0
    qc, qkey, qrow = qc[keep], qkey[keep], qrow[keep]
    buckets = int(bucket_of.max()) + 1
    folder = Path(folder)
    for kind, ids, cells, vectors, rows in (("base", start + np.arange(k), bc, base, None),
                                            ("query", qkey, qc, queries, qrow)):
        order = np.argsort(bucket_of[cells], kind="stable")
        edges = np.searchsorted(bucket_of[cells][order], np.arange(buckets + 1))
        rec = np.empty(len(order), _record(vectors.shape[1]))
        rec["id"], rec["cell"] = ids[order], cells[order]
        for c in range(0, len(order), 1 << 20):          # float16 a chunk at a time, never all as float32 twice
            o = order[c:c + (1 << 20)]
            rec["v"][c:c + len(o)] = vectors[o if rows is None else rows[o]]
        np.save(folder / f"r{start}-{kind}.npy", rec)
        np.save(folder / f"r{start}-{kind}-edges.npy", edges)
    return k


def _record(dim: int) -> np.dtype:
    """One item (whole vector) or variant in a range file: its id (item row, or variant key), its
    cell, and its projection in float16."""
    return np.dtype([("id", np.int64), ("cell", np.int64), ("v", np.float16, (dim,))])


def _bucket_records(folder: Path, kind: str, b: int) -> np.ndarray:
    """Bucket `b`'s records of `kind` from every range's file (each file is sorted by bucket;
    its edges say where each bucket starts): only those rows are read."""
    parts = []
    for edges_file in sorted(folder.glob(f"r*-{kind}-edges.npy")):
        edges = np.load(edges_file)
        if edges[b + 1] > edges[b]:
            mapped = np.load(str(edges_file).replace("-edges.npy", ".npy"), mmap_mode="r")
            parts.append(np.array(mapped[edges[b]:edges[b + 1]]))
            del mapped
    return np.concatenate(parts) if parts else np.zeros(0, _record(1))


def _search_bucket(bucket_ids, V: Rows, m: int, threshold: float, folder: str) -> np.ndarray:
    """Reduce: in each cell of one bucket, the (variant, whole vector) pairs within the radius,
    checked on the full vectors. Returns item pairs."""
    b, = bucket_ids
    def sorted_by_cell(kind: str):
        rec = _bucket_records(Path(folder), kind, b)
        rec = rec[np.argsort(rec["cell"], kind="stable")]
        return rec["cell"], rec["v"].astype(np.float32), rec["id"]

    bcell, base, base_id = sorted_by_cell("base")
    qcell, query, query_key = sorted_by_cell("query")
    if not len(bcell) or not len(qcell):
        return np.zeros((0, 2), np.int64)
    # squared distance of unit vectors is 2 x cosine distance; the margin covers the float16 the
    # projections are stored in (candidates are checked on the full vectors anyway).
    # |q - b|^2 <= radius  <=>  [q, 1] . [2b, -|b|^2] >= |q|^2 - radius: one product and one
    # comparison a block (adding the norms and a 2-D nonzero cost more than the product itself)
    radius = 2.0 * threshold * 1.1 + 2e-3
    base = np.c_[2.0 * base, -(base ** 2).sum(1)].astype(np.float32)
    bound = (query ** 2).sum(1) - radius
    query = np.c_[query, np.ones(len(query), np.float32)]
    found_q, found_b = [], []
    for cell in np.unique(bcell):
        b0, b1 = np.searchsorted(bcell, [cell, cell + 1])
        q0, q1 = np.searchsorted(qcell, [cell, cell + 1])
        step = max(1, 16_000_000 // max(1, b1 - b0))           # bound the block to 16M floats
        for s in range(q0, q1, step):
            e = min(q1, s + step)
            hit = np.flatnonzero(query[s:e] @ base[b0:b1].T >= bound[s:e, None])
            qi, bi = np.divmod(hit, b1 - b0)
            found_q.append(query_key[s + qi])
            found_b.append(base_id[b0 + bi])
    qk = np.concatenate(found_q) if found_q else np.zeros(0, np.int64)
    bid = np.concatenate(found_b) if found_b else np.zeros(0, np.int64)
    ok = qk // m != bid
    qk, bid = qk[ok], bid[ok]
    if not len(qk):
        return np.zeros((0, 2), np.int64)
    items = np.unique(np.r_[qk // m, bid])                   # the full vectors of the candidates only
    full = unit(V[items].reshape(len(items), m, -1))
    qi, bi = np.searchsorted(items, qk // m), np.searchsorted(items, bid)
    queries = full.reshape(len(items) * m, -1)
    keep = _within(queries, qi * m + qk % m, full[:, 0, :], bi, threshold)
    return _sorted_pairs(np.c_[qk[keep] // m, bid[keep]])


def sharded_pairs(V: Rows, m: int, threshold: float, work_dir, seed: int = 0, n_jobs: int = 2,
                  part: int | None = None, nprobe: int | None = None, cell: int | None = None) -> np.ndarray:
    """(i, j) pairs within `threshold` cosine distance, i < j. V: n rows of m x d values (each
    variant is scaled to unit length here), read range by range; see the module docstring.
    `part`, `nprobe`, `cell`: PART, NPROBE and CELL unless given."""
    part, nprobe, cell = part or PART, nprobe or NPROBE, cell or CELL
    n = len(V)
    if n < 2:
        return np.zeros((0, 2), np.int64)
    cells = int(np.clip(n // cell, 1, MAX_CELLS))
    rng = np.random.default_rng(seed)
    sample_rows = np.sort(rng.choice(n, min(n, max(QUANTIZER_SAMPLE, SAMPLE_PER_CELL * cells)), replace=False))
    sample = unit(V[sample_rows].reshape(len(sample_rows), m, -1)[:, 0, :])
    P = _pca(sample, seed)
    projected = _project(P, sample)
    quantizer, cells = _quantizer(projected, cells, seed)
    buckets = max(1, math.ceil(n / part))
    sample_cell = _nearest_cells(quantizer, projected, 1).ravel()
    bucket_of = _pack(np.bincount(sample_cell, minlength=cells), buckets)
    ranges = [(s, min(n, s + part)) for s in range(0, n, part)]
    folder = tempfile.mkdtemp(prefix=".near-duplicates-", dir=work_dir)
    try:
        for _ in map_batches(_assign, ranges, 1, n_jobs, f"near-duplicates: cells of {n} items", V, m, P, quantizer,
                             min(nprobe, cells), bucket_of, folder):
            pass
        found = list(map_batches(_search_bucket, list(range(buckets)), 1, n_jobs, "near-duplicates: search the cells",
                                 V, m, threshold, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _sorted_pairs(np.concatenate(found)) if found else np.zeros((0, 2), np.int64)


def shard(n: int) -> bool:
    """Whether `n` items are searched by cells (on a cluster always; here above LOCAL_MAX)."""
    return bool(scheduler()) or n > LOCAL_MAX
