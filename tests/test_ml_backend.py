"""The ML backend against a real Label Studio: `dataprep serve` as its own process, connected
with `dataprep studio connect-model`, answering what Label Studio asks when an annotator opens
a task, retraining on annotations posted by annotator accounts (the webhook Label Studio
creates), keeping its model across a restart, and catching up by reconciliation on what it
missed while down.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import requests
from label_studio_sdk import LabelStudio
from typer.testing import CliRunner

from dataprep.cli import app
from dataprep.core import model_store, store
from dataprep.core.acquire import acquire
from dataprep.core.features import build_features, new_sample_features
from dataprep.core.lock import project_lock
from dataprep.core.project import open_project
from dataprep.demo.examples import KINDS, SHAPES, image_folder, text_csv
from dataprep.demo.serve_process import ServeProcess
from dataprep.demo.studio_project import studio_project
from dataprep.demo.studio_users import annotator_token
from labeling.ml_backend.secret import header, secret
from labeling.studio_backend import find_project
from labeling.studio_client import field
from labeling.studio_server import free_port, stop_pid

runner = CliRunner()
TITLE = "dataprep-ml"
ANNOTATORS = ["ml.a@example.org", "ml.b@example.org", "ml.c@example.org"]
NEWCOMER = "ml.new@example.org"
PASSWORD = "pw-Annot8tor!"


class Backend(ServeProcess):
    def wait_version(self, other_than: str, timeout: float = 90, quiet_s: float = 4.0) -> str:
        """The served version once it differs from `other_than` and has held for `quiet_s`
        (longer than serve.debounce_s: the trainer has caught up with every event)."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            v = self.version()
            if v != last:
                last, since = v, time.monotonic()
            elif v != other_than and time.monotonic() - since >= quiet_s:
                return v
            time.sleep(0.3)
        raise AssertionError(f"served version still {other_than}; trainer: {self.trainer() or 'no state'}")


@pytest.fixture(scope="module")
def studio(tmp_path_factory, studio_template):
    root = tmp_path_factory.mktemp("mlb")
    src = image_folder(root / "src", n_per_class=30, shapes=SHAPES[:3])   # alpha, EXIF, palette, 16-bit, CMYK
    old = {k: os.environ.get(k) for k in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY")}
    p, info, token = studio_project(root, {
        "acquire": {"source": str(src), "test_fraction": 0.2},
        "label": {"backend": "studio", "project_title": TITLE, "gold_share": 0.0},
        "select": {"batch_size": 24, "cold_start_min_labels": 10},
        "serve": {"retrain_after": 3, "debounce_s": 1.0, "reconcile_s": 600.0}})
    proj = p.root
    backend = Backend(proj, free_port(), env=dict(os.environ))
    backend.start()
    yield {"url": info["url"], "token": token, "project": p, "backend": backend}
    backend.stop()
    stop_pid(info["pid"])
    for k, v in old.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _round(p):
    """select + push under the project lock (the backend's trainer pulls beside us)."""
    from active_learning.round import run_round
    from labeling.studio_backend import pull, push
    from labeling.validate import validate

    with project_lock(p.work, "test round"):
        pull(p)
        validate(p)
        run_round(p)
        push(p)


def _annotate_truly(server, annotators=ANNOTATORS) -> int:
    """Each annotator (own account) gives every open task of the loop its true label."""
    url, p = server["url"], server["project"]
    truth = store.read_table(p.data, "manifest").set_index("sample_id")["source_label"].astype(str)
    admin = LabelStudio(base_url=url, api_key=server["token"])
    pid = find_project(admin, TITLE).id
    done = 0
    for email in annotators:
        ls = LabelStudio(base_url=url, api_key=annotator_token(url, server["token"], email, PASSWORD))
        me = ls.users.whoami().id
        for t in admin.tasks.list(project=pid, fields="all"):
            sid = (t.data or {}).get("sample_id")
            if not sid or any(field(a, "completed_by") == me for a in t.annotations or []):
                continue
            ls.annotations.create(id=t.id, result=[{"from_name": "label", "to_name": "image", "type": "choices",
                                                    "value": {"choices": [truth[sid]]}}], lead_time=4.0)
            done += 1
    return done


def _connected(server):
    p, b = server["project"], server["backend"]
    res = runner.invoke(app, ["--params", str(p.root / "params.yaml"), "--json", "studio", "connect-model",
                              "--url", b.url])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_a_request_without_the_secret_is_refused(studio):
    b = studio["backend"]
    assert requests.get(b.url + "/health", timeout=5).status_code == 401
    assert requests.post(b.url + "/predict", json={"tasks": [{"id": 1, "data": {}}]}, timeout=5).status_code == 401
    assert requests.post(b.url + "/webhook", json={"action": "START_TRAINING"},
                         auth=("dataprep", "not-the-secret"), timeout=5).status_code == 401
    assert requests.get(b.url + "/health", auth=b.auth, timeout=5).status_code == 200
    log = b.log.read_text() + json.dumps(b.trainer())
    assert b.auth[1] not in log and studio["token"] not in log          # never logged


def test_annotations_retrain_and_an_outside_task_gets_the_served_prediction(studio):
    p, b = studio["project"], studio["backend"]
    _round(p)
    first = _connected(studio)
    again = _connected(studio)
    assert again["updated"] and again["ml_backend_id"] == first["ml_backend_id"]
    admin = LabelStudio(base_url=studio["url"], api_key=studio["token"])
    pid = first["project_id"]
    assert len(list(admin.ml.list(project=pid))) == 1
    hooks = [w for w in admin.webhooks.list(project=str(pid)) if w.url == b.url + "/webhook"]
    assert len(hooks) == 1 and hooks[0].headers == {"Authorization": header(b.auth[1])}

    before = b.version()
    assert _annotate_truly(studio) > 0              # webhooks from Label Studio reach the backend
    v1 = b.wait_version(before)
    stored = model_store.load(p)
    assert stored.version == v1 and stored.trained_by == "serve" and stored.n_labels >= 10
    # "Start training" in Label Studio's model settings reaches the trainer (START_TRAINING webhook)
    admin.ml.train(first["ml_backend_id"])
    deadline = time.monotonic() + 30
    while not any(h["why"] == "start_training" for h in b.trainer().get("history", [])):
        assert time.monotonic() < deadline, b.trainer()
        time.sleep(0.2)

    # a task imported by someone else: no sample_id, an image the pool never had (a transparent PNG:
    # the shape is only in its alpha channel)
    man = store.read_table(p.data, "manifest")
    test_row = man[(man["split"] == "test") & man["path"].str.endswith(".png")].iloc[0]
    outside = p.data / "outside" / "digit.png"
    outside.parent.mkdir(exist_ok=True)
    shutil.copy(p.data / test_row["path"], outside)
    # added the way another team member would: a storage of their own, a task pointing into it
    admin.import_storage.local.create(project=pid, path=str(outside.parent), title="someone else's")
    task = admin.tasks.create(project=pid, data={"image": "/data/local-files/?d=outside/digit.png"})
    # an annotator opens the next task in the labeling stream: the only one not fully labeled
    ann = requests.Session()
    ann.headers["Authorization"] = f"Token {annotator_token(studio['url'], studio['token'], NEWCOMER, PASSWORD)}"
    nxt = ann.get(f"{studio['url']}/api/projects/{pid}/next", timeout=30).json()
    assert nxt["id"] == task.id, nxt
    preds = nxt["predictions"]
    assert len(preds) == 1 and preds[0]["model_version"] == v1
    proba = stored.model.predict_proba(new_sample_features(p, "image", [str(outside)]))[0]
    assert preds[0]["result"][0]["value"]["choices"] == [stored.classes[proba.argmax()]]
    assert abs(preds[0]["score"] - proba.max()) < 1e-6

    # more annotations: a new version is served, and the task is predicted again by it
    _round(p)
    n = _annotate_truly(studio)
    assert n > 0
    v2 = b.wait_version(v1)
    nxt = ann.get(f"{studio['url']}/api/projects/{pid}/next", timeout=30).json()
    assert nxt["id"] == task.id and v2 in [x["model_version"] for x in nxt["predictions"]]


def test_restart_keeps_the_model_and_reconciliation_recovers_missed_webhooks(studio):
    p, b = studio["project"], studio["backend"]
    if model_store.current_version(p) is None:          # alone: the test above made the first model
        _round(p)
        _connected(studio)
        _annotate_truly(studio)
        b.wait_version("untrained")
    served = b.version()
    trainer = psutil.Process(json.loads((p.work / "serve" / "server.json").read_text())["trainer_pid"])
    left = [trainer, *trainer.children(recursive=True)]   # the trainer and any worker of its fits
    b.stop(kill=True)                                    # kill -9: nothing gets to save anything
    b.start()
    assert b.version() == served                         # the restart serves the last good model
    _, alive = psutil.wait_procs(left, timeout=15)
    assert not alive, f"processes of the killed backend still running: {alive}"

    b.stop()
    _round(p)
    events = p.work / "serve" / "events"
    size = events.stat().st_size if events.exists() else 0
    assert _annotate_truly(studio) > 0                   # every webhook of these fails: nobody listens
    assert (events.stat().st_size if events.exists() else 0) == size
    b.start()                                            # reconciles on start: pulls what it missed
    assert b.wait_version(served) != served
    state = json.loads((p.work / "serve" / "trainer.json").read_text())
    assert any(h["why"] == "reconcile" and h["status"] == "trained" for h in state["history"])


def test_features_of_new_samples_match_the_stage_for_every_kind(tmp_path):
    """What the backend computes for a task it never saw equals what the features stage computed
    for the same file or text: images of every kind people have (alpha, EXIF, palette, 16-bit,
    CMYK) and text through the pool's own TF-IDF vocabulary."""
    from conftest import write_params
    from dataprep.core.features import model_features

    src = image_folder(tmp_path / "src", n_per_class=len(KINDS) * 2, shapes=SHAPES[:2])
    p = open_project(write_params(tmp_path / "img", str(src)) / "params.yaml")
    acquire(p)
    build_features(p)
    X, index = model_features(p)
    man = store.read_table(p.data, "manifest")
    assert {Path(x).name.split("_")[0] for x in man["source"]} == set(KINDS)
    fresh = new_sample_features(p, "image", [str(p.data / x) for x in man["path"]])
    assert np.allclose(fresh, np.asarray(X)[index.get_indexer(man["sample_id"])], atol=1e-6)

    t = open_project(write_params(tmp_path / "txt", str(text_csv(tmp_path / "t.csv", n_per_class=20))) / "params.yaml")
    acquire(t)
    build_features(t)
    X, index = model_features(t)
    man = store.read_table(t.data, "manifest")
    fresh = new_sample_features(t, "text", man["text"].tolist())
    assert abs(fresh - X[index.get_indexer(man["sample_id"])]).max() < 1e-6
    unseen = new_sample_features(t, "text", ["a text with words the pool never had: zyxwv qutsr"])
    assert unseen.shape == (1, X.shape[1])


def test_text_predictions_for_an_outside_text_and_a_known_sample(tmp_path):
    """The real app (in process, over its ASGI interface) on a text project: a known sample reads
    its cached row, a text nobody imported is featurised with the pool's vocabulary, and the answer
    is what the stored model says of it; a malformed body is one 400 line, never a traceback."""
    from starlette.testclient import TestClient

    from conftest import write_params
    from dataprep.core.features import model_features
    from labeling.ml_backend.app import PARAMS_ENV, create_app

    t = open_project(write_params(tmp_path / "txt", str(text_csv(tmp_path / "t.csv", n_per_class=20))) / "params.yaml")
    acquire(t)
    build_features(t)
    X, index = model_features(t)
    man = store.read_table(t.data, "manifest")
    labels = man.set_index("sample_id")["source_label"].astype(str).iloc[:40]
    stored = model_store.train(t, labels, X, index, trained_by="test")
    os.environ[PARAMS_ENV] = str(t.root / "params.yaml")
    try:
        client = TestClient(create_app())
    finally:
        os.environ.pop(PARAMS_ENV)
    auth = ("dataprep", secret(t))
    text = "a new text: " + man["text"].iloc[-1]
    res = client.post("/predict", auth=auth, json={"tasks": [
        {"id": 1, "data": {"sample_id": man["sample_id"].iloc[0], "text": "ignored"}}, {"id": 2, "data": {"text": text}},
        {"id": 3, "data": {"other": 1}}]})
    assert res.status_code == 200
    out = res.json()["results"]
    assert len(out) == 3 and all(r["model_version"] == stored.version for r in out)
    want = [stored.model.predict_proba(X[index.get_indexer([man["sample_id"].iloc[0]])])[0],
            stored.model.predict_proba(new_sample_features(t, "text", [text]))[0]]
    for r, proba in zip(out[:2], want):
        assert r["result"][0]["value"]["choices"] == [stored.classes[proba.argmax()]]
        assert r["result"][0]["to_name"] == "text" and abs(r["score"] - proba.max()) < 1e-6
    assert out[2]["result"] == []                    # nothing to featurise: an empty prediction, not an error
    bad = client.post("/predict", auth=auth, content=b"{not json")
    assert bad.status_code == 400 and "expected" in bad.json()["error"]
    assert client.post("/predict", json={"tasks": []}).status_code == 401
