"""Task dicts in, one prediction per task out, from the model the store names current.

The model is loaded once per version (when `current.json` changes), never per request;
a request sees the old model or the new one. Tasks pushed by the loop carry their
`sample_id` and read the cached feature row; a task imported by anyone else is
featurised on the fly (`dataprep.core.features.new_sample_features`): its text, or its
image fetched from Label Studio with the token `/setup` handed over.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import requests
import scipy.sparse as sp

from dataprep.core import model_store
from dataprep.core.features import FOLDER, model_features, new_sample_features
from dataprep.core.errors import UserError
from dataprep.core.project import Project
from labeling import label_config
from labeling.studio_client import connection

log = logging.getLogger("dataprep.serve")
UNTRAINED = "untrained"
FETCH_TIMEOUT = 10.0
AUTH_TTL = 60.0           # seconds an exchanged access token is reused


@dataclass(frozen=True)
class Target:
    from_name: str
    to_name: str
    data_key: str
    modality: str


@lru_cache(maxsize=32)
def target(config: str | None, modality: str) -> Target:
    """Where a prediction goes, read from the project's label config (the control named
    `label`, the object it labels and the task data key that object shows)."""
    default = Target(label_config.FROM_NAME, label_config.to_name(modality), label_config.to_name(modality), modality)
    if not config:
        return default
    try:
        root = ET.fromstring(config)
    except ET.ParseError:
        return default
    ctrl = next((e for e in root.iter() if e.get("name") == label_config.FROM_NAME and e.get("toName")), None)
    if ctrl is None:
        return default
    to = ctrl.get("toName").split(",")[0]
    obj = next((e for e in root.iter() if e.get("name") == to and e.get("value", "").startswith("$")), None)
    if obj is None:
        return default
    kind = "text" if obj.tag in ("Text", "HyperText", "Paragraphs") else "tabular" if obj.tag == "Table" else "image"
    return Target(label_config.FROM_NAME, to, obj.get("value")[1:], kind)


class Predictor:
    def __init__(self, project: Project):
        self.project = project
        self._lock = threading.Lock()
        self._stored: model_store.Stored | None = None
        self._stamp: int | None = None
        self._features = None
        self._feature_stamp: int | None = None
        self._modality = "image"
        self._own_auth: tuple[float, str, dict[str, str]] | None = None
        self.studio: dict[str, str] = {}      # hostname and access token from /setup, in memory only

    # -- the model, reloaded when the store names another one -------------------------------
    def model(self) -> model_store.Stored | None:
        cur = model_store.folder(self.project) / model_store.CURRENT
        try:
            stamp = cur.stat().st_mtime_ns
        except OSError:
            return self._stored
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    stored = model_store.load(self.project)
                    if stored is not None:
                        self._stored = stored
                    self._stamp = stamp
        return self._stored

    @property
    def version(self) -> str:
        m = self.model()
        return m.version if m is not None else UNTRAINED

    # -- features ----------------------------------------------------------------------------
    def _known(self):
        idx = self.project.data / FOLDER / "index.json"
        try:
            stamp = idx.stat().st_mtime_ns
        except OSError:
            return None
        if stamp != self._feature_stamp:
            with self._lock:
                if stamp != self._feature_stamp:
                    X, index = model_features(self.project)
                    self._features = (X, {sid: i for i, sid in enumerate(index)})
                    self._modality = json.loads(idx.read_text()).get("modality", "image")
                    self._feature_stamp = stamp
        return self._features

    def _studio_auth(self) -> tuple[str, dict[str, str]]:
        """Label Studio's address and the header to read its files with: what `/setup` handed this
        worker, else the project's own connection (LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY or the
        local server; with several workers, `/setup` reaches only one of them)."""
        if self.studio.get("hostname") and self.studio.get("access_token"):
            return self.studio["hostname"].rstrip("/"), {"Authorization": f"Token {self.studio['access_token']}"}
        now = time.monotonic()
        if self._own_auth is None or now - self._own_auth[0] > AUTH_TTL:
            url, key = connection(self.project)
            if key.count(".") == 2:      # a personal access token: exchanged for an access token, as the SDK does
                r = requests.post(f"{url}/api/token/refresh", json={"refresh": key}, timeout=FETCH_TIMEOUT)
                r.raise_for_status()
                header = f"Bearer {r.json()['access']}"
            else:
                header = f"Token {key}"
            self._own_auth = (now, url.rstrip("/"), {"Authorization": header})
        return self._own_auth[1], self._own_auth[2]

    def _fetch(self, url: str, folder: Path) -> str:
        host, headers = self._studio_auth()
        if url.startswith("/"):
            url = host + url
        elif urlsplit(url).netloc != urlsplit(host).netloc:
            raise ValueError("image is not served by the connected Label Studio")
        r = requests.get(url, headers=headers, timeout=FETCH_TIMEOUT)
        r.raise_for_status()
        path = folder / f"image{len(list(folder.iterdir()))}"
        path.write_bytes(r.content)
        return str(path)

    def features(self, tasks: list[dict], tgt: Target) -> tuple[Any, list[int]]:
        """Feature rows of the tasks it could featurise, and their positions in `tasks`."""
        known = self._known()
        rows: list[Any] = [None] * len(tasks)
        new_pos, new_vals = [], []
        with tempfile.TemporaryDirectory(prefix="dataprep-serve-") as tmp:
            for i, t in enumerate(tasks):
                d = t.get("data") or {}
                sid = d.get("sample_id")
                if known is not None and sid in known[1]:
                    rows[i] = known[0][known[1][sid]]
                    continue
                value = d.get(tgt.data_key)
                if not isinstance(value, str):
                    continue
                try:
                    new_vals.append(self._fetch(value, Path(tmp)) if tgt.modality == "image" else value)
                    new_pos.append(i)
                except (requests.RequestException, ValueError, KeyError, UserError) as exc:
                    log.warning("task %s: no features (%s)", t.get("id"), type(exc).__name__)
            if new_vals:
                try:
                    fresh = new_sample_features(self.project, tgt.modality, new_vals)
                except Exception as exc:  # a file that does not decode is one task's problem, not the batch's
                    log.warning("tasks %s: no features (%s)", [tasks[i].get("id") for i in new_pos], exc)
                    fresh, new_pos = None, []
                for k, i in enumerate(new_pos):
                    rows[i] = fresh[k]
        have = [i for i, r in enumerate(rows) if r is not None]
        if not have:
            return None, []
        parts = [rows[i] for i in have]
        if sp.issparse(parts[0]):
            X = sp.vstack([p if sp.issparse(p) else sp.csr_matrix(p) for p in parts]).tocsr()
        else:
            X = np.vstack([np.asarray(p, dtype=np.float32).reshape(1, -1) for p in parts])
        return X, have

    # -- predictions ---------------------------------------------------------------------------
    def predict(self, tasks: list[dict], config: str | None) -> list[dict]:
        """One prediction per task, in order: the predicted class as a `choices` result,
        `score` its probability, `model_version`. A task without a model or features gets an
        empty result (Label Studio needs one entry per task)."""
        stored = self.model()
        version = stored.version if stored is not None else UNTRAINED
        out = [{"result": [], "score": 0.0, "model_version": version} for _ in tasks]
        if stored is None or not tasks:
            return out
        self._known()
        tgt = target(config, self._modality)
        X, have = self.features(tasks, tgt)
        if not have:
            return out
        proba = model_store.predict_proba(stored, X)
        best = proba.argmax(1)
        for k, i in enumerate(have):
            out[i] = {"model_version": version, "score": float(proba[k, best[k]]),
                      "result": [{"from_name": tgt.from_name, "to_name": tgt.to_name, "type": "choices",
                                  "value": {"choices": [stored.classes[best[k]]]}}]}
        return out
