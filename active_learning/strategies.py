"""Query strategies, all with modAL's shape: `strategy(model, X, n, **kw) -> indices`.

Each strategy names the keywords it takes in its signature and nowhere else
(no `**kwargs` that swallows a typo) and declares, with `@reads(...)`, which
of the round's context it reads (`chunk_size`, `shortlist_factor`,
`random_state`, `X_labeled`, `X_embed`). `query()` calls a strategy with
exactly those: a strategy that declares a context key the round does not have
is a `KeyError` naming it, and a keyword a strategy does not take is Python's
`TypeError`.

`X` may be a memory-mapped matrix larger than memory: everything here streams
it in chunks of `chunk_size` rows and keeps only O(chunk + shortlist) floats.
No strategy builds an N x N or N x k matrix for the pool. Scoring is cut into
row ranges of `PART_CHUNKS` chunks (`most_informative`); each range keeps its
own best rows and the merge, as the ranges arrive, keeps the best of those
(never more than two ranges' worth), which is exactly the pool's best. On a Dask cluster (`dataprep.core.parallel`) each range is a task
that maps the features file itself (`dataprep.core.rows`), so no process but
the one scoring a range holds its rows; here the ranges run in this process.

- `uncertainty`, `margin`, `entropy`: modAL's own functions (`margin_sampling`
  etc.) when the pool fits one chunk, modAL's measures chunk by chunk otherwise.
- `margin_kmeans` (default): the most uncertain `n * shortlist_factor`
  samples by margin, clustered into `n` groups with k-means weighted by
  uncertainty; from each group the sample nearest its centre. Uncertain, but
  not n copies of the same confusion (after Zhdanov 2019, "Diverse mini-batch
  active learning").
- `margin_kcenter`: same shortlist, then k-center greedy seeded with the
  labeled set.
- `cold_start`: no model needed; clusters the pool (a bounded subsample) with
  the labeled rows, and takes one sample from each of the largest clusters no
  label covers yet (TypiClust's rule, Hacohen et al. 2022). The sample is a
  random member of its cluster by default (`stratified`): TypiClust's most
  typical member (`typical`, highest k-NN density) puts every pick in compact
  classes when broad ones surround them, and the first model then misses the
  commonest classes (`python benchmarks/cold_start.py` measures both).
- `random`: the honest baseline.
- `box_uncertainty_kmeans` (detection's default): each image's uncertainty from the user's
  detector (`dataprep.core.detectors`: the least decided of its boxes), then the same
  shortlist and k-means spread on the image embeddings as `margin_kmeans`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from modAL.uncertainty import (classifier_entropy, classifier_margin, classifier_uncertainty, entropy_sampling,
                               margin_sampling, uncertainty_sampling)
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.neighbors import NearestNeighbors

from dataprep.core.features import take
from dataprep.core.parallel import map_batches
from dataprep.core.rows import Rows

DEFAULT_CHUNK = 50_000
CONTEXT = ("chunk_size", "shortlist_factor", "random_state", "X_labeled", "X_embed")


def reads(*keys: str):
    """Declare the context keywords a strategy takes (each must be in CONTEXT)."""
    unknown = set(keys) - set(CONTEXT)
    if unknown:
        raise KeyError(f"unknown strategy context {sorted(unknown)}; known: {', '.join(CONTEXT)}")

    def mark(fn):
        fn.reads = tuple(keys)
        return fn
    return mark


def query(strategy, model, X, n: int, context: dict) -> np.ndarray:
    """Call `strategy` with the context keys it declares, and nothing else."""
    missing = [k for k in strategy.reads if k not in context]
    if missing:
        raise KeyError(f"strategy {strategy.__name__} reads {missing}, which the caller did not provide")
    return np.asarray(strategy(model, X, n, **{k: context[k] for k in strategy.reads})).ravel()

# name -> (modAL sampling function, modAL measure, True if a higher measure is more informative)
_MODAL = {
    "uncertainty": (uncertainty_sampling, classifier_uncertainty, True),
    "margin": (margin_sampling, classifier_margin, False),
    "entropy": (entropy_sampling, classifier_entropy, True),
}


def informativeness(model, X, measure: str = "margin", chunk_size: int = DEFAULT_CHUNK) -> np.ndarray:
    """Per-row informativeness (higher = more worth labeling), streamed in chunks."""
    _, fn, higher = _MODAL[measure]
    out = np.empty(X.shape[0], dtype=np.float64)
    for s in range(0, X.shape[0], chunk_size):
        v = fn(model, take(X, slice(s, s + chunk_size)))
        out[s:s + chunk_size] = v if higher else -v
    return out


def modal_indices(result) -> np.ndarray:
    """modAL 0.4 strategies return `(indices, scores)`; keep the indices."""
    return np.asarray(result[0] if isinstance(result, tuple) else result).ravel().astype(np.int64)


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n highest scores, best first; ties broken by index (deterministic)."""
    n = min(n, len(scores))
    part = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


def _modal_strategy(measure: str):
    sampler = _MODAL[measure][0]

    @reads("chunk_size")
    def strategy(model, X, n: int, chunk_size: int = DEFAULT_CHUNK) -> np.ndarray:
        if X.shape[0] <= chunk_size:
            return modal_indices(sampler(model, take(X, slice(None)), n_instances=min(n, X.shape[0])))
        idx, score = most_informative(model, X, n, measure, chunk_size)
        return idx[np.argsort(-score, kind="stable")]

    strategy.__name__ = measure
    strategy.__doc__ = f"modAL's {sampler.__name__}, chunked for large pools."
    return strategy


uncertainty = _modal_strategy("uncertainty")
margin = _modal_strategy("margin")
entropy = _modal_strategy("entropy")


@reads("random_state")
def random_sampling(model, X, n: int, random_state: int | None = 0) -> np.ndarray:
    return np.random.default_rng(random_state).choice(X.shape[0], size=min(n, X.shape[0]), replace=False)


PART_CHUNKS = 5      # chunks per scoring task: 250,000 rows at the default chunk size


def scoring_ranges(n: int, chunk_size: int) -> list[tuple[int, int]]:
    """The row ranges a pass over the pool is cut into: one task each (PART_CHUNKS chunks)."""
    step = max(1, chunk_size) * PART_CHUNKS
    return [(a, min(n, a + step)) for a in range(0, n, step)]


def _best_of_range(ranges, model, X, measure: str, k: int, chunk_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The `k` most informative rows of one row range, in row order, and their scores."""
    (start, stop), = ranges
    scores = informativeness(model, X[slice(start, stop)], measure, chunk_size)
    best = np.sort(_top(scores, k))
    return start + best, scores[best]


def most_informative(model, X, k: int, measure: str = "margin", chunk_size: int = DEFAULT_CHUNK
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the `k` most informative samples (ties: the lower row), in row order, and their
    scores: the same rows as ranking the whole pool at once, computed range by range."""
    n = X.shape[0]
    ranges, rows = scoring_ranges(n, chunk_size), Rows.of(X)
    idx, score = np.zeros(0, np.int64), np.zeros(0)
    for part_idx, part_score in map_batches(_best_of_range, ranges, 1, 1, f"score {n} samples", model, rows, measure,
                                            k, chunk_size):
        # the best so far, then this range's (later rows): still in row order, so ties go to the lower row
        idx, score = np.concatenate([idx, part_idx]), np.concatenate([score, part_score])
        best = np.sort(_top(score, k))
        idx, score = idx[best], score[best]
    return idx, score


def _shortlist(model, X, n: int, factor: int, chunk_size: int) -> tuple[np.ndarray, np.ndarray]:
    return most_informative(model, X, max(n, n * factor), "margin", chunk_size)


def _nearest_to_centres(Xs: np.ndarray, centres: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """For each centre, the member of its cluster nearest to it (rows of Xs)."""
    d = ((Xs - centres[labels]) ** 2).sum(1)
    order = np.lexsort((d, labels))
    first = np.r_[True, labels[order][1:] != labels[order][:-1]]
    return order[first]


KMEANS_SWITCH = 2_500_000     # m x k above which the diversity step uses mini-batch k-means


def kmeans_for(m: int, k: int, random_state):
    """Lloyd k-means (k-means++ init) while m x k is small; above that, mini-batch k-means
    from a random init, because k-means++ seeding alone is O(m x k x d x log k) and dominates
    for 1,000 centres over 10,000 candidates (`python benchmarks/query_speed.py --kmeans`
    times both, built by this function)."""
    if m * k > KMEANS_SWITCH:
        return MiniBatchKMeans(n_clusters=k, random_state=random_state, n_init=1, batch_size=4096, max_iter=20,
                               init="random")
    return KMeans(n_clusters=k, random_state=random_state, n_init=1, max_iter=100)


def _kmeans(Xs: np.ndarray, k: int, random_state, weights=None):
    return kmeans_for(len(Xs), k, random_state).fit(Xs, sample_weight=weights)


def _fill(picked: np.ndarray, ranked: np.ndarray, n: int) -> np.ndarray:
    """Top up `picked` with the best-ranked others (empty clusters can leave it short)."""
    if len(picked) >= n:
        return picked[:n]
    rest = ranked[~np.isin(ranked, picked)]
    return np.concatenate([picked, rest[: n - len(picked)]])


@reads("shortlist_factor", "chunk_size", "random_state", "X_embed")
def margin_kmeans(model, X, n: int, shortlist_factor: int = 10, chunk_size: int = DEFAULT_CHUNK,
                  random_state: int | None = 0, X_embed=None) -> np.ndarray:
    """`X` is what the model reads; `X_embed` (same rows), if given, the space diversity is measured in."""
    idx, score = _shortlist(model, X, n, shortlist_factor, chunk_size)
    return idx[diverse(score, X if X_embed is None else X_embed, idx, n, random_state)]


def diverse(score: np.ndarray, X_embed, idx: np.ndarray, n: int, random_state) -> np.ndarray:
    """`n` of the shortlisted rows `idx` (their informativeness `score`), spread out: k-means
    with n centres on their `X_embed` rows, weighted by score, and the member nearest each
    centre, most informative first. Returns positions into `idx`."""
    if len(idx) <= n:
        return np.argsort(-score, kind="stable")
    Xs = np.asarray(X_embed[idx], dtype=np.float32)
    w = score - score.min() + 1e-3            # more uncertain = heavier
    km = _kmeans(Xs, n, random_state, w)
    picked = _nearest_to_centres(Xs, km.cluster_centers_.astype(np.float32), km.labels_)
    picked = picked[np.argsort(-score[picked], kind="stable")]
    return _fill(picked, np.argsort(-score, kind="stable"), n)


@reads("shortlist_factor", "random_state", "X_embed")
def box_uncertainty_kmeans(detector, X, n: int, shortlist_factor: int = 10, random_state: int | None = 0,
                           X_embed=None) -> np.ndarray:
    """Detection: `X` holds the candidates' sample ids, `detector.uncertainty(X)` one score per
    image (its boxes' uncertainty, aggregated); the most uncertain `n * shortlist_factor` are
    spread out on `X_embed` (image embeddings) as `margin_kmeans` does."""
    score = np.asarray(detector.uncertainty(X), dtype=float)
    idx = np.sort(_top(score, max(n, n * shortlist_factor)))
    return idx[diverse(score[idx], X_embed, idx, n, random_state)]


@reads("shortlist_factor", "chunk_size", "X_labeled", "X_embed")
def margin_kcenter(model, X, n: int, shortlist_factor: int = 10, chunk_size: int = DEFAULT_CHUNK,
                   X_labeled: np.ndarray | None = None, X_embed=None) -> np.ndarray:
    """`X_embed` and `X_labeled`, if given, are in the space distances are measured in."""
    idx, score = _shortlist(model, X, n, shortlist_factor, chunk_size)
    if len(idx) <= n:
        return idx[np.argsort(-score, kind="stable")]
    Xs = np.asarray((X if X_embed is None else X_embed)[idx], dtype=np.float32)
    mind = np.full(len(Xs), np.inf, dtype=np.float32)
    if X_labeled is not None and len(X_labeled):
        for s in range(0, len(X_labeled), 1024):    # shortlist x 1024 at a time
            L = np.asarray(X_labeled[s:s + 1024], dtype=np.float32)
            d = (Xs ** 2).sum(1)[:, None] - 2 * Xs @ L.T + (L ** 2).sum(1)[None, :]
            mind = np.minimum(mind, d.min(1))
    picks = []
    cur = int(np.argmax(score)) if not np.isfinite(mind).any() else int(np.argmax(mind))
    for _ in range(n):
        picks.append(cur)
        d = ((Xs - Xs[cur]) ** 2).sum(1)
        mind = np.minimum(mind, d)
        mind[picks] = -1
        cur = int(np.argmax(mind))
    return idx[np.asarray(picks)]


COLD_PICKS = ("stratified", "typical")


@reads("random_state", "X_labeled", "X_embed")
def cold_start(model, X, n: int, random_state: int | None = 0, X_labeled=None, pick: str = "stratified",
               max_rows: int = 10_000, X_embed=None) -> np.ndarray:
    """Diverse picks without a model (see module docstring), in the space distances are measured
    in: `X_embed` if given (the rows of `X`, as `X_labeled` is), else `X` (as select called it
    with the model's features: sparse TF-IDF for text, which crashed). The pool (a bounded random
    subsample) and the labeled rows are clustered together into `n + len(X_labeled)` groups;
    the largest groups without a labeled member come first, so a second cold-start round
    fills what the first left uncovered. From each group: a random member (`stratified`,
    every pool sample as likely as under random sampling within its group) or its most
    typical member (`typical`, highest k-NN density)."""
    if pick not in COLD_PICKS:
        raise ValueError(f"cold-start pick must be one of {', '.join(COLD_PICKS)}, got {pick!r}")
    X = X if X_embed is None else X_embed
    N = X.shape[0]
    n = min(n, N)
    rng = np.random.default_rng(random_state)
    sub = np.sort(rng.choice(N, size=min(N, max(max_rows, 5 * n)), replace=False))
    if len(sub) <= n:
        return sub
    Xs = np.asarray(X[sub], dtype=np.float32)
    L = np.zeros((0, Xs.shape[1]), np.float32) if X_labeled is None else np.asarray(X_labeled, dtype=np.float32)
    L = L[:max_rows]
    both = np.concatenate([Xs, L]) if len(L) else Xs
    labels = _kmeans(both, min(n + len(L), len(both)), random_state).labels_
    if pick == "stratified":
        return sub[_allocate(labels[: len(Xs)], labels[len(Xs):], n, rng)]
    covered = np.isin(np.arange(labels.max() + 1), labels[len(Xs):])
    labels = labels[: len(Xs)]
    k = min(20, len(sub) - 1)
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(Xs).kneighbors(Xs)
    rank = 1.0 / (dist[:, 1:].mean(1) + 1e-9)
    order = np.lexsort((-rank, labels))
    first = np.r_[True, labels[order][1:] != labels[order][:-1]]
    picked = order[first]
    size = np.bincount(labels, minlength=len(covered))
    # uncovered groups first, larger before smaller (ties by group number: deterministic)
    picked = picked[np.lexsort((labels[picked], -size[labels[picked]], covered[labels[picked]]))]
    return sub[_fill(picked, np.argsort(-rank, kind="stable"), n)]


def _allocate(groups: np.ndarray, labeled_groups: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` random members of `groups`, spread so every group ends with as equal a share of all
    labels (those it already has included) as its size allows; the most under-served group
    first (a group without a label before any with one), so the order is a priority. Equal
    shares, not shares by size: `python benchmarks/cold_start.py` with shares by size (or by
    its square root) gave less on digits and broad_compact and no more anywhere."""
    k = int(max(groups.max(initial=-1), labeled_groups.max(initial=-1))) + 1
    size = np.bincount(groups, minlength=k).astype(float)
    have = np.bincount(labeled_groups, minlength=k).astype(float)
    w = (size > 0).astype(float)
    quota = w / w.sum() * (n + have.sum())
    members = [rng.permutation(np.flatnonzero(groups == g)) for g in range(k)]
    taken = np.zeros(k, int)
    out = []
    for _ in range(min(n, len(groups))):
        gap = np.where(taken < size, quota - have - taken, -np.inf)
        g = int(np.argmax(gap))
        out.append(members[g][taken[g]])
        taken[g] += 1
    return np.asarray(out, dtype=np.int64)


STRATEGIES: dict[str, Callable[..., np.ndarray]] = {
    "margin_kmeans": margin_kmeans,
    "margin_kcenter": margin_kcenter,
    "margin": margin,
    "uncertainty": uncertainty,
    "entropy": entropy,
    "random": random_sampling,
    "cold_start": cold_start,
}
# detection rounds: the model is the user's detector, X the candidates' sample ids
DETECTION_STRATEGIES: dict[str, Callable[..., np.ndarray]] = {
    "box_uncertainty_kmeans": box_uncertainty_kmeans,
}
