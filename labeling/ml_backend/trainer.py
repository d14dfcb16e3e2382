"""Retraining beside the HTTP workers, never inside a request.

One trainer process per backend. Any HTTP worker records an annotation event by
appending one byte to `.dataprep/serve/events` (`O_APPEND`: safe from several
processes); `START_TRAINING` also drops `train_now`. The trainer retrains once
`serve.retrain_after` events arrived, or `serve.debounce_s` seconds after the first
of them, or at once on `train_now`; and every `serve.reconcile_s` seconds whatever
happened, because Label Studio sends a webhook once, with a 1 s timeout, and forgets
it: a pull of the annotation log catches what a missed event would have said.

A retrain is: `label pull` under the project lock (the same append-only mirror as the
command; a busy lock means "later", not a failure), then the truth inference of
`dataprep validate` on what was pulled (`labeling.validate.infer`: blocked annotators'
annotations, ties and quarantined samples do not train), then `model_store.train` on the
accepted human labels. The store's atomic swap puts the new version live; the HTTP
workers pick it up at their next request. Labels that did not change give the same
version, and nothing is stored twice.

Training in its own process keeps `/predict` off the training's CPU and GIL. The
trainer leaves when its parent (`dataprep serve`) is gone.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from dataprep.core import model_store
from dataprep.core.atomic import write_json
from dataprep.core.errors import UserError
from dataprep.core.lock import project_lock
from dataprep.core.models import model_version
from dataprep.core.project import Project, open_project
from labeling import backend, validate
from labeling.ml_backend.secret import serve_dir

log = logging.getLogger("dataprep.serve")
EVENTS, FORCE, STATE = "events", "train_now", "trainer.json"
LOCK_WAIT = 2.0
TICK = 0.2
TRAINING_ACTIONS = {"ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED", "ANNOTATIONS_DELETED",
                    "START_TRAINING"}


def record_event(project: Project, action: str) -> bool:
    """Called by the HTTP worker that received a webhook: cheap, never blocks on training."""
    if action not in TRAINING_ACTIONS:
        return False
    d = serve_dir(project)
    d.mkdir(parents=True, exist_ok=True)
    fd = os.open(d / EVENTS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, b".")
    finally:
        os.close(fd)
    if action == "START_TRAINING":
        (d / FORCE).touch()
    return True


def _events(d: Path) -> int:
    try:
        return (d / EVENTS).stat().st_size
    except OSError:
        return 0


def retrain(project: Project) -> dict[str, Any]:
    """Pull, infer, train if the validated labels changed. Returns what happened."""
    pulled: dict[str, Any] = {}
    if project.cfg.label.backend == "studio":     # a simulated crowd answers on pull: never from here
        with project_lock(project.work, command="dataprep serve (reconciliation pull)", timeout=LOCK_WAIT):
            pulled = backend.pull(project)
    inferred = validate.infer(project)
    if inferred is None:
        return {"status": "no annotations yet", "new_annotations": pulled.get("new_annotations", 0)}
    cfg = project.cfg.select
    validated, requests = validate.what_models_learn(project, inferred)       # a failed batch teaches nothing
    accepted, labels = model_store.learning_sets(validated, inferred["manifest"], requests if cfg.train_on_waiting else None)
    if len(accepted) < cfg.cold_start_min_labels or accepted.nunique() < 2:
        return {"status": f"{len(accepted)} validated labels: fewer than select.cold_start_min_labels or one class",
                "labels": int(len(accepted))}
    version = model_version(cfg.model, cfg.model_params, labels, accepted)
    if version == model_store.current_version(project):
        return {"status": "unchanged", "version": version, "labels": int(len(labels)),
                "new_annotations": pulled.get("new_annotations", 0)}
    t0 = time.monotonic()
    stored = model_store.train(project, labels, inferred["X"], inferred["index"], trained_by="serve", accepted=accepted)
    return {"status": "trained", "version": stored.version, "labels": stored.n_labels,
            "fit_s": round(time.monotonic() - t0, 3), "new_annotations": pulled.get("new_annotations", 0)}


def run(params: str, parent_pid: int) -> None:
    """The trainer loop (the target of the process `dataprep serve` starts)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))       # `serve` stopping us: still stop our workers
    logging.basicConfig(level=logging.INFO, format="%(asctime)s trainer %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)         # one line per Label Studio call otherwise
    project = open_project(params)
    cfg = project.cfg.serve
    d = serve_dir(project)
    d.mkdir(parents=True, exist_ok=True)
    seen, first, next_reconcile = _events(d), None, 0.0       # reconcile at once: events missed while down
    history: list[dict[str, Any]] = []
    try:
        _loop(project, cfg, d, parent_pid, seen, first, next_reconcile, history)
    finally:
        _stop_workers()


def _stop_workers() -> None:
    """The worker processes this trainer's model fits started (joblib's reusable loky pool): at
    exit the interpreter would otherwise wait minutes for their idle timeout, a trainer lingering
    after `dataprep serve` is gone. They are this process's own children."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=False, kill_workers=True)


def _loop(project: Project, cfg, d: Path, parent_pid: int, seen: int, first: float | None,
          next_reconcile: float, history: list[dict[str, Any]]) -> None:
    while os.getppid() == parent_pid:
        now = time.monotonic()
        size, force = _events(d), (d / FORCE).exists()
        if size > seen and first is None:
            first = now
        due = (force or now >= next_reconcile
               or (first is not None and (size - seen >= cfg.retrain_after or now - first >= cfg.debounce_s)))
        if not due:
            time.sleep(TICK)
            continue
        why = "start_training" if force else ("events" if first is not None else "reconcile")
        if force:
            (d / FORCE).unlink(missing_ok=True)
        started = time.time()
        try:
            out = retrain(project)
            seen, first = size, None
        except UserError as exc:          # Label Studio down, the project lock busy: try again later
            out = {"status": "retry", "error": str(exc)}
        except Exception as exc:          # keep serving the last good model whatever training does
            log.exception("retrain failed")
            out = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
        next_reconcile = time.monotonic() + (cfg.reconcile_s if out["status"] != "retry" else min(cfg.reconcile_s, 5.0))
        out |= {"why": why, "at": started, "took_s": round(time.time() - started, 3)}
        log.info("%s", {k: v for k, v in out.items() if k != "error"} | ({"error": out["error"][:200]}
                                                                        if "error" in out else {}))
        history = (history + [out])[-20:]
        write_json(d / STATE, {"pid": os.getpid(), "last": out, "history": history})
