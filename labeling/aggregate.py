"""Truth inference from the annotation log: Dawid-Skene with an optional per-item prior.

Follows the crowd-kit shape (`fit` on a long table `X` of (task, worker, label))
and scikit-learn's estimator conventions: parameters are set in `__init__` and
checked in `fit` (a bad one is a `ValueError` naming it), `get_params` /
`set_params` / `clone` work, learned attributes end in `_` (`labels_`,
`confidence_`, `posterior_`, `confusion_`, `skill_`), `fit_predict(X)` gives the
inferred labels and `predict(X)` / `predict_proba(X)` infer the tasks of any
annotation table from the learned worker confusions (a worker never seen in
`fit` counts as uninformative). Both EM steps
are one sparse product with the (worker x label, task) count matrix, so a
round costs O(annotations x classes) time and O(annotations + tasks x classes)
memory: 1M tasks x 3 labels converge in seconds.

A worker's confusion is learned only from tasks where something else speaks too (another
annotation or the prior): a worker seen only on tasks they answered alone keeps the
pseudo-count confusion (`diag_prior`, `smoothing`), whatever their labels say. Each row of
a worker's confusion is shrunk toward that worker's pooled (one-coin) accuracy with
`shrinkage` pseudo-annotations, so ten checked answers say something about every class
(a full K x K matrix alone would need ~K^2 of them).

On a Dask cluster (`compute.scheduler`, `dataprep.core.parallel`) the tasks are cut into
contiguous ranges of `partition_size` (tasks sorted by id) that stay on the workers: each
EM step sends the workers the class prior and confusions, and gets back per range the
class totals, the (worker x label, class) counts and the log-likelihood, so no worker
ever holds more than its ranges' annotations. From a table the client cuts the ranges (it
holds the table); from `AnnotationFiles` (one parquet file per range of tasks) each worker
reads and builds its own range, and the client holds only the confusions and, at the end,
the posteriors. The local path runs the same
range functions on one range. Sums are added in another order, so posteriors agree to
float32 rounding and the labels are the same (`tests/test_dask.py`).

The prior is where the model helps: `prior` holds out-of-sample class
probabilities per task (cross-validated, so a task's own label never leaks
into its prior). It multiplies into the posterior like one more annotator of
weight `prior_weight`, which settles tasks where two of three annotators are
unreliable, and gives a posterior to tasks that have no usable annotation.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from dataprep.core.parallel import client, scheduler


def _check(name: str, value, kind: type | tuple, low: float, strict: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or value < low or (strict and value == low):
        raise ValueError(f"DawidSkene: {name} must be a {'whole ' if kind is numbers.Integral else ''}number "
                         f"{'>' if strict else '>='} {low}, got {value!r}")


class AnnotationFiles:
    """Annotations stored as parquet files (columns task, worker, label), each holding every
    annotation of one range of tasks, the files in task order: `DawidSkene().fit(
    AnnotationFiles(paths))` reads each file where its range will stay (module docstring).
    The workers must see the files at the same paths."""

    def __init__(self, paths):
        self.paths = [str(p) for p in paths]
        if not self.paths:
            raise ValueError("AnnotationFiles: no files")


class DawidSkene(BaseEstimator):
    """Full confusion matrix per worker, EM from a (soft) majority vote."""

    def __init__(self, n_iter: int = 100, tol: float = 1e-6, smoothing: float = 0.1, diag_prior: float = 1.0,
                 prior_weight: float = 1.0, class_smoothing: float = 0.01, shrinkage: float = 2.0,
                 partition_size: int = 250_000):
        self.partition_size = partition_size   # tasks per range on a Dask cluster (module docstring)
        self.n_iter = n_iter
        self.tol = tol
        self.smoothing = smoothing      # pseudo-count per class in a worker's pooled accuracy
        self.diag_prior = diag_prior    # extra pseudo-count on the diagonal: a worker is assumed
        self.prior_weight = prior_weight  # better than chance until the data says otherwise
        self.class_smoothing = class_smoothing  # pseudo-count per class in the class prior: no class
        # share can collapse to zero, so no prior can push a class out of existence
        self.shrinkage = shrinkage      # pseudo-annotations per confusion row drawn from the worker's
        # pooled (one-coin) accuracy: a row the worker rarely met looks like the worker's other rows

    def fit(self, X: pd.DataFrame, y=None, *, classes: list[str] | None = None, prior: np.ndarray | None = None,
            tasks: np.ndarray | None = None) -> "DawidSkene":
        """`X`: the annotations, columns task, worker, label (`y` is ignored: there is no truth).
        `tasks`: every task to infer (default: the annotated ones), sorted; `prior`:
        (len(tasks) x len(classes)) probabilities in that order."""
        _check("n_iter", self.n_iter, numbers.Integral, 1)
        _check("tol", self.tol, numbers.Real, 0)
        _check("smoothing", self.smoothing, numbers.Real, 0, strict=True)
        _check("diag_prior", self.diag_prior, numbers.Real, 0)
        _check("prior_weight", self.prior_weight, numbers.Real, 0)
        _check("class_smoothing", self.class_smoothing, numbers.Real, 0, strict=True)
        _check("shrinkage", self.shrinkage, numbers.Real, 0)
        _check("partition_size", self.partition_size, numbers.Integral, 1)
        if isinstance(X, AnnotationFiles):
            if prior is not None or tasks is not None:
                raise ValueError("DawidSkene.fit: annotation files take no `prior` or `tasks`")
            return self._fit_files(X, classes)
        missing = {"task", "worker", "label"} - set(getattr(X, "columns", []))
        if missing:
            raise ValueError(f"DawidSkene.fit: X needs the columns task, worker, label (missing {sorted(missing)})")
        annotations = X
        task_col = annotations["task"].to_numpy()
        tasks = np.unique(task_col) if tasks is None else np.asarray(tasks)
        t_idx = np.searchsorted(tasks, task_col)
        if len(task_col) and ((t_idx >= len(tasks)).any() or (tasks[np.minimum(t_idx, len(tasks) - 1)] != task_col).any()):
            raise ValueError("annotations name tasks missing from `tasks`")
        workers, w_idx = np.unique(annotations["worker"].to_numpy(), return_inverse=True)
        classes = list(classes) if classes is not None else sorted(annotations["label"].unique())
        codes = pd.Categorical(annotations["label"], categories=classes).codes
        if (codes < 0).any():
            raise ValueError("labels outside `classes`; run the schema check first")
        N, W, K = len(tasks), len(workers), len(classes)
        prior = None if prior is None else np.asarray(prior)
        address = scheduler()
        step = self.partition_size if address else max(N, 1)
        starts = list(range(0, N, step)) or [0]
        order = np.argsort(t_idx, kind="stable")
        t_idx, w_idx, codes = t_idx[order], w_idx[order], codes[order]
        cut = np.searchsorted(t_idx, starts + [N])
        parts = [_part(t_idx[cut[i]:cut[i + 1]] - a, w_idx[cut[i]:cut[i + 1]], codes[cut[i]:cut[i + 1]],
                       min(a + step, N) - a, W, K, None if prior is None else prior[a:a + step], self.prior_weight)
                 for i, a in enumerate(starts)]
        run = _Cluster(address, parts) if address else _Local(parts)
        del parts
        return self._em(run, tasks, workers, classes)

    def _fit_files(self, files: "AnnotationFiles", classes) -> "DawidSkene":
        """Each file's range built where it stays (a cluster's worker, or this process); the client
        only learns each file's size, first and last task, workers and labels."""
        address = scheduler()
        c = client(address) if address else None

        def each(fn, items, *args):
            if c is None:
                return [fn(i, *args) for i in items]
            return c.gather([c.submit(fn, i, *args, pure=False) for i in items])

        heads = each(_file_summary, files.paths)
        for (path, a), (nxt, b) in zip(zip(files.paths, heads), zip(files.paths[1:], heads[1:])):
            if not a[2] < b[1]:
                raise ValueError(f"{nxt}: its tasks must all follow those of {path} (one range of tasks per file, in order)")
        workers = np.unique(np.concatenate([h[3] for h in heads]))
        classes = list(classes) if classes is not None else sorted(set().union(*[h[4] for h in heads]))
        if c is None:
            run = _Local([_file_part(p, workers, classes) for p in files.paths])
        else:
            shared = c.scatter([workers, classes], broadcast=True, hash=False)
            run = _Cluster(address, futures=[c.submit(_file_part, p, *shared, pure=False) for p in files.paths])
        return self._em(run, None, workers, classes)

    def _em(self, run, tasks, workers, classes) -> "DawidSkene":
        N, W, K = run.n_tasks, len(workers), len(classes)
        last = -np.inf
        for it in range(1, self.n_iter + 1):
            # M-step: class prior, confusion[w, true, observed], from every range's totals
            stats = run.stats()
            pi = (np.sum([t for t, _ in stats], axis=0) + self.class_smoothing) / (N + K * self.class_smoothing)
            counts = np.sum([c for _, c in stats], axis=0).reshape(W, K, K).transpose(0, 2, 1)
            # each row is shrunk toward the worker's pooled accuracy (diag_prior and smoothing are
            # its pseudo-counts): a full K x K matrix needs ~K^2 annotations per worker, one
            # accuracy needs a handful, so rarely met rows borrow from the worker's other rows
            total = counts.sum((1, 2))
            acc = (np.einsum("wkk->w", counts) + self.diag_prior + self.smoothing) / (
                total + self.diag_prior + K * self.smoothing)
            off = (1.0 - acc) / max(K - 1, 1)
            one_coin = off[:, None, None] * (1 - np.eye(K)) + acc[:, None, None] * np.eye(K)
            counts += self.shrinkage * one_coin + 1e-6
            conf = counts / counts.sum(2, keepdims=True)
            # E-step: log p(true | task) = log pi + sum over its annotations of log conf + prior
            L = np.log(conf).transpose(0, 2, 1).reshape(W * K, K).astype(np.float32)
            ll = run.estep(L, np.log(pi).astype(np.float32))
            if abs(ll - last) <= self.tol * abs(ll):
                break
            last = ll
        post = run.posterior()
        if tasks is None:
            tasks = run.tasks()
        self.tasks_, self.workers_, self.classes_ = tasks, workers, np.asarray(classes, dtype=object)
        self.posterior_ = post
        self.confusion_ = conf
        self.class_prior_ = pi / pi.sum()
        self.skill_ = pd.Series(np.einsum("k,wkk->w", self.class_prior_, conf), index=workers)
        self.n_iter_ = it
        self.labels_ = pd.Series(self.classes_[post.argmax(1)], index=tasks)
        self.confidence_ = pd.Series(post.max(1), index=tasks)
        return self

    def fit_predict(self, X: pd.DataFrame, y=None, **fit_params) -> pd.Series:
        """The inferred label of every task (indexed by task)."""
        return self.fit(X, **fit_params).labels_

    def predict_proba(self, X: pd.DataFrame) -> pd.DataFrame:
        """Posterior class probabilities of the tasks of `X` (rows: sorted tasks, columns: classes_),
        from the learned class prior and worker confusions; no prior, no refit."""
        check_is_fitted(self, "confusion_")
        tasks, t_idx = np.unique(X["task"].to_numpy(), return_inverse=True)
        codes = pd.Categorical(X["label"], categories=list(self.classes_)).codes
        if (codes < 0).any():
            raise ValueError("labels outside classes_")
        known = {w: i for i, w in enumerate(self.workers_)}
        w_idx = X["worker"].map(known)
        logp = np.tile(np.log(self.class_prior_), (len(tasks), 1))
        log_conf = np.log(self.confusion_)                  # [worker, true, observed]
        seen = w_idx.notna().to_numpy()
        np.add.at(logp, t_idx[seen], log_conf[w_idx[seen].astype(int).to_numpy(), :, codes[seen]])
        logp -= logp.max(1, keepdims=True)
        p = np.exp(logp)
        return pd.DataFrame(p / p.sum(1, keepdims=True), index=tasks, columns=list(self.classes_))

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """The most probable label of every task of `X` (see `predict_proba`)."""
        proba = self.predict_proba(X)
        return pd.Series(np.asarray(proba.columns)[proba.to_numpy().argmax(1)], index=proba.index)


# ---- one range of tasks: the EM's work, the same locally and on a cluster's worker
# A range is (M_fit, Mt, posterior, log prior or None, its task ids or None).
def _part(t_idx: np.ndarray, w_idx: np.ndarray, codes: np.ndarray, n_tasks: int, W: int, K: int,
          prior: np.ndarray | None = None, prior_weight: float = 1.0, tasks: np.ndarray | None = None):
    """One range from its annotations (task numbers from 0 within the range, global worker and
    label numbers): M[(worker, observed label), task] = number of such annotations, float32
    throughout (EM is memory-bound, and halving the bytes halves the time)."""
    M = sp.csr_matrix((np.ones(len(t_idx), np.float32), (w_idx * K + codes, t_idx)), shape=(W * K, n_tasks))
    Mt = M.T.tocsr()
    # The M-step learns a worker's confusion only from tasks where something besides that one
    # annotation speaks: another annotation, or the prior. A lone label agrees with itself, so
    # counting it would let a worker who only ever answered alone confirm their own accuracy
    # (EM stops wherever it starts); such a worker keeps the pseudo-count confusion instead.
    evidence = np.bincount(t_idx, minlength=n_tasks) >= 2
    if prior is not None and prior_weight > 0:
        evidence[:] = True
    M_fit = M @ sp.diags(evidence.astype(np.float32)) if not evidence.all() else M
    log_prior = None
    if prior is not None:
        log_prior = (prior_weight * np.log(np.clip(np.asarray(prior, np.float64), 1e-6, 1.0))).astype(np.float32)
    post = np.bincount(t_idx * K + codes, minlength=n_tasks * K).reshape(n_tasks, K).astype(np.float32)
    post += 1e-3
    if prior is not None:
        post += np.asarray(prior, np.float32)
    post /= post.sum(1, keepdims=True)
    return M_fit, Mt, post, log_prior, tasks


def _file_summary(path: str) -> tuple[int, object, object, np.ndarray, list]:
    """Tasks, first and last task, workers and labels of one annotation file."""
    df = pd.read_parquet(path, columns=["task", "worker", "label"])
    if df.empty:
        raise ValueError(f"{path}: no annotations")
    tasks = df["task"]
    return (int(tasks.nunique()), tasks.min(), tasks.max(), np.unique(df["worker"].to_numpy()),
            sorted(df["label"].unique()))


def _file_part(path: str, workers: np.ndarray, classes: list):
    """One range read from its annotation file, on the worker that will keep it."""
    df = pd.read_parquet(path, columns=["task", "worker", "label"])
    tasks, t_idx = np.unique(df["task"].to_numpy(), return_inverse=True)
    codes = pd.Categorical(df["label"], categories=classes).codes
    if (codes < 0).any():
        raise ValueError(f"{path}: labels outside `classes`")
    return _part(t_idx, np.searchsorted(workers, df["worker"].to_numpy()), codes, len(tasks), len(workers),
                 len(classes), tasks=tasks)


def _range_stats(part) -> tuple[np.ndarray, np.ndarray]:
    """Class totals and (worker x label, class) counts of a range's current posterior."""
    M_fit, _, post, _, _ = part
    return post.sum(0, dtype=np.float64), np.asarray(M_fit @ post, np.float64)


def _range_estep(part, L: np.ndarray, log_pi: np.ndarray):
    """The range's new posterior under the confusions `L` and class prior; with its log-likelihood."""
    M_fit, Mt, _, log_prior, tasks = part
    logp = Mt @ L
    logp += log_pi
    if log_prior is not None:
        logp += log_prior
    mx = logp.max(1, keepdims=True)
    logp -= mx
    np.exp(logp, out=logp)
    s = logp.sum(1, keepdims=True)
    logp /= s
    return (M_fit, Mt, logp, log_prior, tasks), float(mx.sum(dtype=np.float64) + np.log(s).sum(dtype=np.float64))


def _range_post(part) -> np.ndarray:
    return part[2]


def _range_tasks(part) -> np.ndarray:
    return part[4]


def _range_size(part) -> int:
    return len(part[2])


def _range_ll(result) -> float:
    return result[1]


def _range_part(result):
    return result[0]


class _Local:
    def __init__(self, parts):
        self.parts = parts
        self.n_tasks = sum(_range_size(p) for p in parts)

    def tasks(self) -> np.ndarray:
        return np.concatenate([_range_tasks(p) for p in self.parts])

    def stats(self):
        return [_range_stats(p) for p in self.parts]

    def estep(self, L, log_pi) -> float:
        done = [_range_estep(p, L, log_pi) for p in self.parts]
        self.parts = [d[0] for d in done]
        return float(sum(d[1] for d in done))

    def posterior(self) -> np.ndarray:
        return np.concatenate([_range_post(p) for p in self.parts]) if len(self.parts) > 1 else _range_post(self.parts[0])


class _Cluster:
    """The ranges as futures on a Dask cluster: they stay on the workers between EM steps."""

    def __init__(self, address: str, parts=None, futures=None):
        """`parts` built here and sent, or `futures` of parts built on the workers."""
        self.c = client(address)
        self.parts = self.c.scatter(parts, hash=False) if futures is None else futures
        self.n_tasks = sum(self.c.gather([self.c.submit(_range_size, p, pure=False) for p in self.parts]))

    def tasks(self) -> np.ndarray:
        return np.concatenate(self.c.gather([self.c.submit(_range_tasks, p, pure=False) for p in self.parts]))

    def stats(self):
        return self.c.gather([self.c.submit(_range_stats, p, pure=False) for p in self.parts])

    def estep(self, L, log_pi) -> float:
        shared = self.c.scatter([L, log_pi], broadcast=True, hash=False)   # fresh keys: never one being released
        done = [self.c.submit(_range_estep, p, *shared, pure=False) for p in self.parts]
        self.parts = [self.c.submit(_range_part, d, pure=False) for d in done]
        return float(sum(self.c.gather([self.c.submit(_range_ll, d, pure=False) for d in done])))

    def posterior(self) -> np.ndarray:
        return np.concatenate(self.c.gather([self.c.submit(_range_post, p, pure=False) for p in self.parts]))


def majority_vote(annotations: pd.DataFrame) -> pd.Series:
    """Per task: the most common label (ties broken by label order)."""
    counts = annotations.groupby(["task", "label"]).size().rename("n").reset_index()
    counts = counts.sort_values(["task", "n", "label"], ascending=[True, False, True])
    return counts.drop_duplicates("task").set_index("task")["label"]
