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
class totals, the (worker x label, class) counts and the log-likelihood, so no worker and
not the client ever holds more than one range's annotations. The local path runs the same
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
        # M[(worker, observed label), task] = number of such annotations
        # float32 throughout: EM is memory-bound, and halving the bytes halves the time
        M = sp.csr_matrix((np.ones(len(t_idx), np.float32), (w_idx * K + codes, t_idx)), shape=(W * K, N))
        Mt = M.T.tocsr()
        # The M-step learns a worker's confusion only from tasks where something besides that one
        # annotation speaks: another annotation, or the prior. A lone label agrees with itself, so
        # counting it would let a worker who only ever answered alone confirm their own accuracy
        # (EM stops wherever it starts); such a worker keeps the pseudo-count confusion instead.
        evidence = np.bincount(t_idx, minlength=N) >= 2
        if prior is not None and self.prior_weight > 0:
            evidence[:] = True
        M_fit = M @ sp.diags(evidence.astype(np.float32)) if not evidence.all() else M
        log_prior = None
        if prior is not None:
            log_prior = (self.prior_weight * np.log(np.clip(np.asarray(prior, np.float64), 1e-6, 1.0))).astype(np.float32)
        post = np.bincount(t_idx * K + codes, minlength=N * K).reshape(N, K).astype(np.float32)
        post += 1e-3
        if prior is not None:
            post += np.asarray(prior, np.float32)
        post /= post.sum(1, keepdims=True)
        address = scheduler()
        step = self.partition_size if address else max(N, 1)
        ranges = [(a, min(a + step, N)) for a in range(0, N, step)] or [(0, 0)]
        parts = [(M_fit[:, a:b], Mt[a:b], post[a:b], None if log_prior is None else log_prior[a:b]) for a, b in ranges]
        run = _Cluster(address, parts) if address else _Local(parts)
        del M, Mt, M_fit
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
def _range_stats(part) -> tuple[np.ndarray, np.ndarray]:
    """Class totals and (worker x label, class) counts of a range's current posterior."""
    M_fit, _, post, _ = part
    return post.sum(0, dtype=np.float64), np.asarray(M_fit @ post, np.float64)


def _range_estep(part, L: np.ndarray, log_pi: np.ndarray):
    """The range's new posterior under the confusions `L` and class prior; with its log-likelihood."""
    M_fit, Mt, _, log_prior = part
    logp = Mt @ L
    logp += log_pi
    if log_prior is not None:
        logp += log_prior
    mx = logp.max(1, keepdims=True)
    logp -= mx
    np.exp(logp, out=logp)
    s = logp.sum(1, keepdims=True)
    logp /= s
    return (M_fit, Mt, logp, log_prior), float(mx.sum(dtype=np.float64) + np.log(s).sum(dtype=np.float64))


def _range_post(part) -> np.ndarray:
    return part[2]


def _range_ll(result) -> float:
    return result[1]


def _range_part(result):
    return result[0]


class _Local:
    def __init__(self, parts):
        self.parts = parts

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

    def __init__(self, address: str, parts):
        self.c = client(address)
        self.parts = self.c.scatter(parts)

    def stats(self):
        return self.c.gather([self.c.submit(_range_stats, p, pure=False) for p in self.parts])

    def estep(self, L, log_pi) -> float:
        shared = self.c.scatter([L, log_pi], broadcast=True)
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
