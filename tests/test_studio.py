"""Label Studio round trip against a real server (started once per test session).

If the server cannot start, these tests fail and say why; nothing is skipped.
"""

import json
import os
import urllib.request

import numpy as np
import pandas as pd
import pytest
import yaml
from label_studio_sdk import LabelStudio
from typer.testing import CliRunner

from dataprep.core import store
from dataprep.core.acquire import acquire
from dataprep.cli import app
from dataprep.core.config import default_params_yaml
from dataprep.core.project import open_project
from labeling import label_config
from labeling.studio_backend import push, pull, result_to_label
from labeling.studio_client import field
from labeling import studio_postgres
from labeling.studio_server import credentials, server_env, start_server, stop_pid
from dataprep.demo.studio_users import annotator_token

runner = CliRunner()
ANNOTATORS = ["ann.a@example.org", "ann.b@example.org", "ann.c@example.org"]


def studio_server(tmp_path_factory, db: str = "sqlite"):
    """A real Label Studio on loopback with a project acquired from digits; LABEL_STUDIO_URL /
    _API_KEY point at it meanwhile. SQLite: started here from the session's migrated template.
    PostgreSQL (`tests/test_studio_postgres.py`): started and stopped by the commands a user
    runs, `dataprep studio start --db postgresql` (which must say so and leave its cluster
    running) and `dataprep studio stop` (which must stop both servers): one migration pays for
    every PostgreSQL test."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp(f"studio_{db}")
    proj = root / "proj"
    proj.mkdir()
    raw = yaml.safe_load(default_params_yaml())
    raw["label"].update({"backend": "studio", "project_title": "dataprep-test", "gold_share": 0.1})
    raw["select"]["batch_size"] = 12
    (proj / "params.yaml").write_text(yaml.safe_dump(raw))
    p = open_project(proj / "params.yaml")
    acquire(p)
    dp = [sys.executable, "-m", "dataprep"]
    if db == "postgresql":
        folder = proj / ".dataprep" / "studio"
        res = subprocess.run(dp + ["studio", "start", "--db", "postgresql"], cwd=proj, capture_output=True, text=True)
        assert res.returncode == 0 and "(postgresql)" in res.stdout, res.stdout + res.stderr
        assert studio_postgres.running(studio_postgres.cluster_dir(folder))
        info = json.loads((folder / "server.json").read_text())
    else:
        folder = root / "server"
        info = start_server(folder, p.data, db=db)
    token = credentials(folder)["token"]
    old = {k: os.environ.get(k) for k in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY")}
    os.environ.update({"LABEL_STUDIO_URL": info["url"], "LABEL_STUDIO_API_KEY": token})
    try:
        yield {"url": info["url"], "token": token, "project": p, "root": folder, "db": db}
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        if db == "postgresql":
            stop = subprocess.run(dp + ["studio", "stop"], cwd=proj, capture_output=True, text=True)
            down = not studio_postgres.running(studio_postgres.cluster_dir(folder))
            studio_postgres.remove_local(folder)        # as root the cluster lives outside tmp
            assert stop.returncode == 0 and "stopped" in stop.stdout and down, stop.stdout + stop.stderr
        else:
            stop_pid(info["pid"])


@pytest.fixture(scope="module")
def server(tmp_path_factory, studio_template):
    yield from studio_server(tmp_path_factory)


def _side_project(server, tmp_path, title: str, **label) -> object:
    """A project of its own on the shared server and manifest (its own data folder and title)."""
    raw = yaml.safe_load((server["project"].root / "params.yaml").read_text())
    raw["label"].update({"project_title": title, "gold_share": 0.0, **label})
    data = tmp_path / "data"
    data.mkdir()
    store.write_table(data, "manifest", store.read_table(server["project"].data, "manifest"))
    (data / "raw").symlink_to(server["project"].data / "raw")
    raw["project"]["data_dir"] = str(data)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    return open_project(tmp_path / "params.yaml")


def _annotate(server, label_of=lambda task, i: None, title: str = "dataprep-test", to_name: str = "image"):
    """Each annotator (own account, own token) answers every task of project `title` they have
    not answered."""
    url = server["url"]
    done = 0
    for i, email in enumerate(ANNOTATORS):
        ls = LabelStudio(base_url=url, api_key=annotator_token(url, server["token"], email, "pw-Annot8tor!"))
        admin = LabelStudio(base_url=url, api_key=server["token"])
        proj = [x for x in admin.projects.list() if x.title == title][0]
        me = ls.users.whoami().id
        for t in admin.tasks.list(project=proj.id, fields="all"):
            if any(field(a, "completed_by") == me for a in t.annotations or []):
                continue
            pred = result_to_label(field(t.predictions[0], "result"), "classification") if t.predictions else None
            choice = label_of(t, i) or pred or "0"
            ls.annotations.create(id=t.id, result=[{"from_name": "label", "to_name": to_name, "type": "choices",
                                                    "value": {"choices": [choice]}}], lead_time=3.0 + i)
            done += 1
    return done


def _pushed(p):
    """A batch out in Label Studio, so a test runs alone as well as after the others."""
    if store.read_table(p.data, "tasks").empty:
        from active_learning.round import run_round

        run_round(p)
        push(p)
    return p


def test_round_trip_push_annotate_pull(server, tmp_path):
    from active_learning.round import run_round

    p = _side_project(server, tmp_path, "dataprep-roundtrip", gold_share=0.1)
    run_round(p)
    sel = store.read_table(p.data, "selection")
    res = push(p)
    assert res["pushed"] == len(sel) and res["gold"] == (sel["strategy"] == "gold").sum() > 0
    n = _annotate(server, title="dataprep-roundtrip")
    assert n == 3 * len(sel)
    s = pull(p)
    assert s["new_annotations"] == n and s["new_tasks"] == len(sel)
    tasks, ann = store.read_table(p.data, "tasks"), store.read_table(p.data, "annotations")
    assert set(tasks["sample_id"]) == set(sel["sample_id"])
    assert tasks.set_index("sample_id")["gold"].to_dict() == (sel.set_index("sample_id")["strategy"] == "gold").to_dict()
    assert set(ann["annotator"]) == set(ANNOTATORS) and (ann.groupby("sample_id").size() == 3).all()
    assert (ann["created_by"] == ann["annotator"]).all()          # each wrote their own
    assert sorted(ann["lead_time_s"].unique()) == [3.0, 4.0, 5.0]
    # the image an annotator sees is served from the dataset itself
    man = store.read_table(p.data, "manifest").set_index("sample_id")
    path = man.loc[tasks["sample_id"].iloc[0], "path"]
    req = urllib.request.Request(f"{server['url']}/data/local-files/?d={path}",
                                 headers={"Authorization": f"Token {server['token']}"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 200 and r.read() == (p.data / path).read_bytes()
    assert pull(p)["new_annotations"] == 0


def test_push_is_idempotent_even_after_a_crash(server):
    from labeling.mirror import batch_to_push
    from labeling.studio_backend import ensure_project, task_payload

    p = _pushed(server["project"])
    assert push(p)["pushed"] == 0                      # same selection again: nothing new
    _annotate(server)                                  # (answered already when the tests run in order)
    pull(p)
    from active_learning.round import run_round
    from labeling.validate import validate
    validate(p)
    assert run_round(p)["round"] == 2                  # a new batch...
    batch = batch_to_push(p)
    assert len(batch) > 5
    ls = LabelStudio(base_url=server["url"], api_key=server["token"])
    proj = ensure_project(ls, server["url"], p, "image")
    man = store.read_table(p.data, "manifest").set_index("sample_id")
    half = [task_payload(r, man.loc[r.sample_id], "image", "classification") for r in batch.iloc[:5].itertuples()]
    ls.projects.import_tasks(id=proj.id, request=half)  # ...of which a killed push got 5 across
    res = push(p)
    assert res["already_there"] == 5 and res["pushed"] == len(batch) - 5
    ids = [t.data["sample_id"] for t in ls.tasks.list(project=proj.id, fields="task_only")]
    assert len(ids) == len(set(ids))
    # a killed push whose last import the server finished after the re-run had listed the project:
    # the marker says the push was interrupted, and the re-run removes the orphan's duplicate
    ls.projects.import_tasks(id=proj.id, request=half[:1])
    (p.work / "push_in_progress.json").write_text("{}")
    res = push(p)
    assert res["duplicates_removed"] == 1 and not (p.work / "push_in_progress.json").exists()
    ids = [t.data["sample_id"] for t in ls.tasks.list(project=proj.id, fields="task_only")]
    assert len(ids) == len(set(ids))
    # ...but a duplicate someone already annotated is work: it is kept, never deleted
    dup = ls.projects.import_tasks(id=proj.id, request=half[:1], return_task_ids=True).task_ids[0]
    ls.annotations.create(id=dup, result=[{"from_name": "label", "to_name": "image", "type": "choices",
                                           "value": {"choices": ["1"]}}])
    (p.work / "push_in_progress.json").write_text("{}")
    assert push(p)["duplicates_removed"] == 0
    ls.tasks.delete(dup)


def test_incremental_pull_and_history(server):
    p = _pushed(server["project"])
    pull(p)
    _annotate(server)
    assert pull(p)["incremental"] is True
    ls = LabelStudio(base_url=server["url"], api_key=server["token"])
    ann = store.read_table(p.data, "annotations")
    target = ann.iloc[0]
    ls.annotations.update(id=int(target["annotation_id"]), result=[{"from_name": "label", "to_name": "image",
                          "type": "choices", "value": {"choices": ["7"]}}])
    s = pull(p)
    assert s["incremental"] is True and s["new_annotations"] == 1
    log = store.read_table(p.data, "annotations")
    versions = log[log["annotation_id"] == target["annotation_id"]]
    assert len(versions) == 2                          # the earlier version is kept
    cur = store.current_annotations(log).set_index("annotation_id")
    assert cur.loc[target["annotation_id"], "label"] == "7"
    ls.annotations.delete(id=int(target["annotation_id"]))
    pull(p)
    log = store.read_table(p.data, "annotations")
    assert log[log["annotation_id"] == target["annotation_id"]]["status"].tolist()[-1] == "deleted"
    assert target["annotation_id"] not in set(store.current_annotations(log)["annotation_id"])


def test_an_annotation_stamped_behind_the_cursor_is_still_pulled(server):
    """Concurrent writers commit out of stamp order: a pull may see a later `updated_at` first and
    move its cursor past an annotation that commits a moment after. Here the cursor is set ahead of
    a fresh annotation's stamp (as such a pull leaves it): the next pull still mirrors it, once."""
    p = _pushed(server["project"])
    pull(p)
    ls = LabelStudio(base_url=server["url"], api_key=server["token"])
    proj = [x for x in ls.projects.list() if x.title == "dataprep-test"][0]
    t = next(iter(ls.tasks.list(project=proj.id, fields="task_only")))       # a new annotation, by the admin
    made = ls.annotations.create(id=t.id, result=[{"from_name": "label", "to_name": "image", "type": "choices",
                                                   "value": {"choices": ["2"]}}])
    stamp = pd.Timestamp(ls.tasks.get(id=t.id).updated_at)
    state = json.loads((p.data / "pull_state.json").read_text())
    state["cursor"] = (stamp + pd.Timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    (p.data / "pull_state.json").write_text(json.dumps(state))
    s = pull(p)
    assert s["incremental"] is True and s["new_annotations"] == 1, s
    cur = store.current_annotations(store.read_table(p.data, "annotations"))
    assert (cur["annotation_id"] == made.id).sum() == 1
    assert pull(p)["new_annotations"] == 0                 # read again inside the overlap, kept once


def test_unknown_label_is_quarantined(server, tmp_path):
    from active_learning.round import run_round
    from labeling.validate import validate

    p = _side_project(server, tmp_path, "dataprep-banana")
    assert "skipped" not in run_round(p)
    push(p)
    _annotate(server, label_of=lambda t, i: "banana" if i == 0 else None, title="dataprep-banana")
    pull(p)
    validate(p)
    q = store.read_table(p.data, "quarantine")
    bad = q[q["check"] == "schema"]
    assert len(bad) > 0 and bad["reason"].str.contains("'banana' is not in the label set").all()


def test_bad_token_and_server_down_exit_2_and_change_nothing(server, monkeypatch):
    p = _pushed(server["project"])
    pull(p)
    params = str(p.root / "params.yaml")
    before = {f: (p.data / f).read_bytes() for f in ("tasks.parquet", "annotations.parquet")}
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "0" * 40)
    res = runner.invoke(app, ["--params", params, "label", "pull"])
    assert res.exit_code == 2 and "LABEL_STUDIO_API_KEY" in res.output, res.output
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")
    res = runner.invoke(app, ["--params", params, "label", "pull"])
    assert res.exit_code == 2 and "cannot reach Label Studio" in res.output, res.output
    res = runner.invoke(app, ["--params", params, "label", "push"])
    assert res.exit_code == 2
    assert before == {f: (p.data / f).read_bytes() for f in before}


def test_personal_access_token_is_accepted_and_never_written(server, monkeypatch):
    """A PAT (a JWT refresh token: the SDK exchanges it for access tokens and sends Bearer) works
    like the legacy token, and neither token lands in any file of the project."""
    p = _pushed(server["project"])
    admin = LabelStudio(base_url=server["url"], api_key=server["token"])
    settings = admin.jwt_settings.get()
    if not settings.api_tokens_enabled:
        admin.jwt_settings.update(api_token_ttl_days=settings.api_token_ttl_days or 30, api_tokens_enabled=True)
    pat = admin.tokens.create().token
    assert pat.count(".") == 2                               # a JWT, not a legacy token
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", pat)
    res = runner.invoke(app, ["--params", str(p.root / "params.yaml"), "label", "pull"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["--params", str(p.root / "params.yaml"), "--json", "label", "push"])
    assert res.exit_code == 0, res.output                  # the selection is already there: nothing new, no error
    for f in p.root.rglob("*"):
        if f.is_file() and server["root"] not in f.parents:  # the local server's own credentials (0600) live there
            body = f.read_bytes()
            assert pat.encode() not in body and server["token"].encode() not in body, f


def test_local_server_keeps_to_itself(tmp_path, monkeypatch):
    """The local server calls no one (no version check, analytics or error reports), lets no one sign up
    without an invite link, and never sees the user's token for a team server."""
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "team-server-token")
    env = server_env(tmp_path, {"username": "a@b.c", "password": "p", "token": "t"})
    assert env["LATEST_VERSION_CHECK"] == env["COLLECT_ANALYTICS"] == "false"
    assert env["SENTRY_DSN"] == env["FRONTEND_SENTRY_DSN"] == ""
    assert env["LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK"] == "true"
    assert "LABEL_STUDIO_API_KEY" not in env


def test_detection_boxes_round_trip_in_pixels(server):
    """A RectangleLabels project: a box drawn in percent comes back in pixels."""
    ls = LabelStudio(base_url=server["url"], api_key=server["token"])
    xml = label_config.generate("detection", "image", ["car", "boat"])
    proj = ls.projects.create(title="dataprep-detection", label_config=xml)
    man = store.read_table(server["project"].data, "manifest")
    path = man["path"].iloc[0]
    ls.import_storage.local.create(project=proj.id, path=str((server["project"].data / "raw").resolve()))
    ids = ls.projects.import_tasks(id=proj.id, request=[{"data": {"image": f"/data/local-files/?d={path}"}}],
                                   return_task_ids=True).task_ids
    box = {"x": 25.0, "y": 12.5, "width": 50.0, "height": 25.0, "rectanglelabels": ["boat"]}
    ls.annotations.create(id=ids[0], result=[{"from_name": "label", "to_name": "image", "type": "rectanglelabels",
                                              "original_width": 64, "original_height": 64, "value": box}])
    t = ls.tasks.get(id=ids[0])
    a = t.annotations[0]
    label = json.loads(result_to_label(field(a, "result"), "detection"))
    assert label == [{"label": "boat", "x_min": 16.0, "y_min": 8.0, "x_max": 48.0, "y_max": 24.0}]


def test_label_config_checks_user_xml(tmp_path):
    from dataprep.core.errors import UserError

    good = tmp_path / "good.xml"
    good.write_text(label_config.generate("classification", "image", ["cat", "dog"]))
    assert "cat" in label_config.check_user_config(good, ["cat", "dog"], "classification")
    with pytest.raises(UserError, match=r"missing \['bird'\]"):
        label_config.check_user_config(good, ["cat", "dog", "bird"], "classification")


def test_prediction_score_is_the_models_probability():
    """Label Studio shows a prediction's `score` as the model's confidence in it."""
    from labeling.studio_backend import task_payload

    row = pd.Series({"sample_id": "s1", "round": 2, "gold": False, "prediction": "7", "confidence": 0.83,
                     "score": 0.4, "model_version": "m1"})
    item = task_payload(next(pd.DataFrame([row]).itertuples()), {"path": "raw/s1.png"}, "image", "classification")
    assert item["predictions"][0]["score"] == pytest.approx(0.83)


def test_a_new_server_folder_starts_from_the_template_database(tmp_path, monkeypatch):
    import stat

    from dataprep.core.errors import UserError
    from labeling.studio_server import DATABASE, TEMPLATE_ENV, from_template

    template = tmp_path / "template"
    (template / "data").mkdir(parents=True)
    (template / "data" / DATABASE).write_bytes(b"migrated")
    (template / "credentials.json").write_text('{"token": "t"}')
    monkeypatch.setenv(TEMPLATE_ENV, str(template))
    assert from_template(tmp_path / "new")
    assert (tmp_path / "new" / "data" / DATABASE).read_bytes() == b"migrated"
    assert credentials(tmp_path / "new") == {"token": "t"}
    assert stat.S_IMODE((tmp_path / "new" / "credentials.json").stat().st_mode) == 0o600
    (tmp_path / "new" / "data" / DATABASE).write_bytes(b"in use")
    assert not from_template(tmp_path / "new")                        # a folder with a database keeps it
    assert (tmp_path / "new" / "data" / DATABASE).read_bytes() == b"in use"
    monkeypatch.setenv(TEMPLATE_ENV, str(tmp_path / "nothing"))
    with pytest.raises(UserError, match="DATAPREP_STUDIO_TEMPLATE"):
        from_template(tmp_path / "other")


def test_studio_start_port_in_use_is_one_line(tmp_path):
    import socket

    from dataprep.core.errors import UserError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(UserError, match=r"--port \d+: cannot listen"):
            start_server(tmp_path, tmp_path, port=s.getsockname()[1])


def test_reannotation_request_reaches_only_a_new_annotator(server, tmp_path):
    """A task that needs another annotation goes back into Label Studio's labeling stream, to an
    annotator who has not answered it, and to nobody who has (the server's own next-task API)."""
    import requests as http

    from active_learning.round import run_round

    url, admin = server["url"], LabelStudio(base_url=server["url"], api_key=server["token"])
    p = _side_project(server, tmp_path, "dataprep-requeue", overlap=2, calibration_overlap=2)
    run_round(p)
    push(p)
    proj = [x for x in admin.projects.list() if x.title == "dataprep-requeue"][0]
    tokens = {e: annotator_token(url, server["token"], e, "pw-Annot8tor!") for e in ANNOTATORS}

    def next_task(email):
        r = http.get(f"{url}/api/projects/{proj.id}/next", headers={"Authorization": f"Token {tokens[email]}"})
        return r.json()["id"] if r.status_code == 200 else None

    a, b, c = ANNOTATORS
    tasks = list(admin.tasks.list(project=proj.id, fields="all"))
    for email in (a, b):
        ls = LabelStudio(base_url=url, api_key=tokens[email])
        for t in tasks:
            ls.annotations.create(id=t.id, result=[{"from_name": "label", "to_name": "image", "type": "choices",
                                                    "value": {"choices": ["1" if email == b else "0"]}}])
    assert next_task(c) is None              # every task has the two annotators it wanted
    pull(p)
    target = store.read_table(p.data, "tasks").iloc[0]
    sel = store.read_table(p.data, "selection")
    extra = pd.DataFrame([{"sample_id": target["sample_id"], "score": 0.5, "rank": len(sel) + 1, "strategy": "reannotate",
                           "model_version": "x", "round": int(sel["round"].max()), "prediction": None,
                           "confidence": None, "n_wanted": 3}])
    store.write_table(p.data, "selection", pd.concat([sel, extra], ignore_index=True))
    assert push(p)["reannotate"] == 1
    assert push(p)["reannotate"] == 0        # idempotent: the overlap is already raised
    assert next_task(a) is None and next_task(b) is None       # they answered it: never offered again
    assert next_task(c) == int(target["task_id"])
    ls = LabelStudio(base_url=url, api_key=tokens[c])
    ls.annotations.create(id=int(target["task_id"]), result=[{"from_name": "label", "to_name": "image",
                                                              "type": "choices", "value": {"choices": ["0"]}}])
    assert next_task(c) is None
    got = pull(p)
    assert got["new_annotations"] == 1
    ann = store.read_table(p.data, "annotations")
    assert sorted(ann.loc[ann["task_id"] == target["task_id"], "annotator"]) == sorted(ANNOTATORS)


def test_cold_start_tasks_reach_three_annotators_later_tasks_one(server, tmp_path):
    """With one annotation per task, the cold-start batch still goes to three annotators (only
    they can check one another); the next batch wants one (Label Studio's own next-task API)."""
    import requests as http

    from active_learning.round import run_round

    p = _side_project(server, tmp_path, "dataprep-calibrate", overlap=1, calibration_overlap=3)
    url, admin = server["url"], LabelStudio(base_url=server["url"], api_key=server["token"])
    run_round(p)
    out = push(p)
    assert out["calibration_tasks"] == out["pushed"] > 0
    proj = [x for x in admin.projects.list() if x.title == "dataprep-calibrate"][0]
    assert proj.maximum_annotations == 1
    tokens = {e: annotator_token(url, server["token"], e, "pw-Annot8tor!") for e in ANNOTATORS}

    def served(email):
        r = http.get(f"{url}/api/projects/{proj.id}/next", headers={"Authorization": f"Token {tokens[email]}"})
        return r.json()["id"] if r.status_code == 200 else None

    for email in ANNOTATORS[:2]:                  # two have answered: every task still wants a third
        ls = LabelStudio(base_url=url, api_key=tokens[email])
        for t in admin.tasks.list(project=proj.id, fields="all"):
            ls.annotations.create(id=t.id, result=[{"from_name": "label", "to_name": "image", "type": "choices",
                                                    "value": {"choices": ["0"]}}])
    assert served(ANNOTATORS[2]) is not None and served(ANNOTATORS[0]) is None
    assert {t.overlap for t in admin.tasks.list(project=proj.id, fields="all")} == {3}
    # the mirror records what each task first asked for (validation reads it: `answered_alone_first`);
    # the snapshot export of a first pull leaves the task's overlap out, so it travels in the task's meta
    pull(p)
    assert set(store.read_table(p.data, "tasks")["overlap"]) == {3}


def test_auto_labels_are_shown_for_review_and_withdrawn_when_revoked(server, tmp_path):
    """Auto-labels go to a review project as predictions (never into the labeling stream); a
    push brings it in line with labels.parquet: revoked or relabelled ones are withdrawn."""
    from active_learning.round import run_round
    from labeling import auto_review
    from labeling.backend import push as backend_push

    p = _side_project(server, tmp_path, "dataprep-auto",
                      auto_accept={"max_error": 0.05, "confidence": 0.95, "audit_share": 0.2})
    run_round(p)
    man = store.read_table(p.data, "manifest")
    sent = set(store.read_table(p.data, "selection")["sample_id"])
    pool = man[(man["split"] == "pool") & ~man["sample_id"].isin(sent)].head(5)

    def auto(rows, version="m1"):
        store.write_table(p.data, "labels", pd.DataFrame({
            "sample_id": rows["sample_id"].to_numpy(), "label": rows["source_label"].astype(str).to_numpy(),
            "confidence": 0.99, "method": "auto", "n_annotations": 0, "bound": 0.031, "model_version": version}))

    auto(pool)
    out = backend_push(p)
    assert (out["auto_shown"], out["auto_added"], out["auto_withdrawn"]) == (5, 5, 0)
    admin = LabelStudio(base_url=server["url"], api_key=server["token"])
    review = [x for x in admin.projects.list() if x.title == auto_review.review_title(p)][0]
    tasks = list(admin.tasks.list(project=review.id, fields="all"))
    want = dict(zip(pool["sample_id"], pool["source_label"].astype(str)))
    assert {t.data["sample_id"]: result_to_label(field(t.predictions[0], "result"), "classification")
            for t in tasks} == want
    assert {t.data["bound"] for t in tasks} == {0.031} and all(t.meta["dataprep_auto"] for t in tasks)
    main = [x for x in admin.projects.list() if x.title == "dataprep-auto"][0]
    in_stream = {t.data["sample_id"] for t in admin.tasks.list(project=main.id, fields="task_only", include="id,data")}
    assert not in_stream & set(want)             # nobody is asked to label an auto-label
    kept = pool.head(3).copy()
    kept.loc[kept.index[0], "source_label"] = "9" if kept["source_label"].iloc[0] != "9" else "8"
    auto(kept)                                    # two revoked, one relabelled
    again = auto_review.sync(p)
    assert (again["auto_shown"], again["auto_added"], again["auto_withdrawn"]) == (3, 1, 3)
    shown = {t.data["sample_id"]: t.data["auto_label"] for t in admin.tasks.list(project=review.id, fields="task_only",
                                                                                  include="id,data")}
    assert shown == dict(zip(kept["sample_id"], kept["source_label"].astype(str)))
    assert auto_review.sync(p)["auto_added"] == 0 == auto_review.sync(p)["auto_withdrawn"]


def test_a_blocked_annotator_is_taken_off_the_work(server, tmp_path):
    """`label.remove_blocked`: the push after validation blocked an annotator removes them from
    the organization (the open-source server has no per-project membership). Label Studio then
    serves them no task and takes no annotation from them; the others go on, and the log still
    names the removed annotator's earlier work as theirs."""
    import requests as http

    from active_learning.round import run_round
    from dataprep.core.errors import GateFailed
    from labeling.validate import validate

    spam = "spam.remove@example.org"
    p = _side_project(server, tmp_path, "dataprep-remove", overlap=2, calibration_overlap=2)
    raw = yaml.safe_load((tmp_path / "params.yaml").read_text())
    raw["validate"]["blocked_annotators"] = [spam]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    p = open_project(tmp_path / "params.yaml")
    run_round(p)
    assert push(p)["removed_annotators"] == []           # nobody blocked yet
    url, admin = server["url"], LabelStudio(base_url=server["url"], api_key=server["token"])
    proj = [x for x in admin.projects.list() if x.title == "dataprep-remove"][0]
    tokens = {e: annotator_token(url, server["token"], e, "pw-Annot8tor!") for e in (spam, ANNOTATORS[0])}
    tasks = list(admin.tasks.list(project=proj.id, fields="all"))
    for t in tasks[:4]:
        LabelStudio(base_url=url, api_key=tokens[spam]).annotations.create(
            id=t.id, result=[{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": ["0"]}}])
    pull(p)
    try:
        validate(p)
    except GateFailed:                # a batch answered by a blocked annotator may fail the gate: still written
        pass
    assert push(p)["removed_annotators"] == [spam]
    assert push(p)["removed_annotators"] == []           # removed once; a second push leaves it alone

    def next_task(email):
        return http.get(f"{url}/api/projects/{proj.id}/next", headers={"Authorization": f"Token {tokens[email]}"})

    assert next_task(spam).status_code == 403
    late = http.post(f"{url}/api/tasks/{tasks[5].id}/annotations/", headers={"Authorization": f"Token {tokens[spam]}"},
                     json={"result": [{"from_name": "label", "to_name": "image", "type": "choices",
                                       "value": {"choices": ["0"]}}]})
    assert late.status_code == 403
    assert next_task(ANNOTATORS[0]).status_code == 200
    pull(p)
    ann = store.read_table(p.data, "annotations")
    assert (ann["annotator"] == spam).sum() == 4
    # the server now lists the removed member as 'Deleted': pulls keep the name they last saw
    from labeling.studio_backend import user_names
    state = json.loads((p.data / "pull_state.json").read_text())
    me = admin.users.whoami().id
    assert spam in state["users"].values() and "Deleted" not in state["users"].values()
    fresh = user_names(admin, {})                 # a first pull after the removal: a name of its own
    assert not {spam, "Deleted"} & set(fresh.values()) and len(set(fresh.values())) == len(fresh)
    assert fresh[me] == state["users"][str(me)]


def test_table_rows_are_labeled_in_label_studio(server, tmp_path):
    """A table went nowhere: 'Label Studio labeling needs images or text'. A row is now shown by
    Label Studio's Table tag ({column: value}, missing values left out) and labeled like any task."""
    from active_learning.round import run_round
    from dataprep.core.features import build_features

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(60, 2)), columns=["width", "height"]).assign(
        colour=rng.choice(["red", "blue"], 60), label=rng.choice(["a", "b"], 60))
    df.loc[0, "width"] = np.nan
    df.to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({
        "acquire": {"source": "t.csv"}, "select": {"batch_size": 6},
        "label": {"backend": "studio", "project_title": "dataprep-table", "gold_share": 0.0}}))
    p = open_project(tmp_path / "params.yaml")
    acquire(p)
    build_features(p)
    run_round(p)
    assert push(p)["pushed"] == 6
    admin = LabelStudio(base_url=server["url"], api_key=server["token"])
    proj = [x for x in admin.projects.list() if x.title == "dataprep-table"][0]
    assert '<Table name="row" value="$row"/>' in admin.projects.get(id=proj.id).label_config
    tasks = list(admin.tasks.list(project=proj.id, fields="all"))
    rows = {t.data["sample_id"]: t.data["row"] for t in tasks}
    table = pd.read_parquet(p.data / "raw" / "tabular.parquet").set_index("sample_id")
    for sid, row in rows.items():
        want = {c: v for c, v in table.loc[sid].items() if not pd.isna(v)}
        assert row.keys() == want.keys() and all(row[c] == want[c] for c in row), (row, want)
    _annotate(server, label_of=lambda t, i: "b", title="dataprep-table", to_name="row")
    pull(p)
    ann = store.read_table(p.data, "annotations")
    assert set(ann["sample_id"]) == set(rows) and (ann["label"] == "b").all()


def test_images_a_browser_cannot_show_reach_annotators_as_png(server, tmp_path):
    """A TIFF (here 16-bit), a PPM or a JPEG 2000 went to Label Studio as it was, and the
    annotator's browser showed a broken image. Each now goes as its PNG view, as displayed; a
    PNG goes as itself."""
    import io

    from PIL import Image

    from active_learning.round import run_round
    from dataprep.core.features import build_features

    rng = np.random.default_rng(0)
    kinds = {"tif": lambda a: Image.fromarray(a[..., 0].astype(np.uint16) * 257), "ppm": Image.fromarray,
             "jp2": Image.fromarray, "png": Image.fromarray}
    for c, shift in (("dark", 0), ("light", 120)):
        for i in range(12):
            kind = list(kinds)[i % 4]
            arr = rng.integers(0, 120, (20 + i, 30, 3), dtype=np.uint8) + shift
            path = tmp_path / "src" / c / f"{i}.{kind}"
            path.parent.mkdir(parents=True, exist_ok=True)
            kinds[kind](arr).save(path)
    data = tmp_path / "data"                     # its raw folder is under the server's document root
    data.mkdir()
    (data / "raw").symlink_to(server["project"].data / "raw")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({
        "acquire": {"source": "src"}, "project": {"data_dir": str(data)}, "select": {"batch_size": 40},
        "label": {"backend": "studio", "project_title": "dataprep-views", "gold_share": 0.0}}))
    p = open_project(tmp_path / "params.yaml")
    acquire(p)
    build_features(p)
    run_round(p)
    push(p)
    man = store.read_table(p.data, "manifest").set_index("sample_id")
    admin = LabelStudio(base_url=server["url"], api_key=server["token"])
    proj = [x for x in admin.projects.list() if x.title == "dataprep-views"][0]
    seen = set()
    for t in admin.tasks.list(project=proj.id, fields="all"):
        row = man.loc[t.data["sample_id"]]
        req = urllib.request.Request(server["url"] + t.data["image"], headers={"Authorization": f"Token {server['token']}"})
        with urllib.request.urlopen(req) as r:
            body = r.read()
        with Image.open(io.BytesIO(body)) as im:
            assert im.format in ("PNG", "JPEG", "GIF", "WEBP", "BMP"), (row["path"], im.format)
            assert im.size == (row["width"], row["height"])
        kind = row["path"].rsplit(".", 1)[1]
        seen.add(kind)
        if kind == "png":
            assert body == (p.data / row["path"]).read_bytes()        # shown as it is, no copy
    assert seen == {"tif", "ppm", "jp2", "png"}, seen


def test_unanswered_tasks_of_samples_gone_from_the_source_are_withdrawn(server, tmp_path):
    """A file its owner deleted (manifest `gone_at`) must not stay in front of annotators: push
    deletes its task, unless someone answered it, in the mirror or on the server since the last
    pull (an answer is history, never deleted)."""
    from active_learning.round import run_round

    p = _side_project(server, tmp_path, "dataprep-withdraw")
    run_round(p)
    push(p)
    url, admin = server["url"], LabelStudio(base_url=server["url"], api_key=server["token"])
    proj = [x for x in admin.projects.list() if x.title == "dataprep-withdraw"][0]
    tasks = sorted(admin.tasks.list(project=proj.id, fields="all"), key=lambda t: t.id)
    open_, answered, late = tasks[0], tasks[1], tasks[2]
    ls = LabelStudio(base_url=url, api_key=annotator_token(url, server["token"], ANNOTATORS[0], "pw-Annot8tor!"))
    choice = [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": ["0"]}}]
    ls.annotations.create(id=answered.id, result=choice)
    pull(p)
    ls.annotations.create(id=late.id, result=choice)          # after the pull: the mirror has not seen it
    man = store.read_table(p.data, "manifest")
    leaving = {t.data["sample_id"] for t in (open_, answered, late)}
    man.loc[man["sample_id"].isin(leaving), "gone_at"] = pd.Timestamp("2026-01-02", tz="UTC")
    store.write_table(p.data, "manifest", man)
    assert push(p)["withdrawn"] == 1
    left = {t.id for t in admin.tasks.list(project=proj.id, fields="task_only")}
    assert open_.id not in left and {answered.id, late.id} <= left and len(left) == len(tasks) - 1
    assert push(p)["withdrawn"] == 0                        # deleted once; the next push leaves it alone
    # the next pull sees the server hold fewer tasks: the withdrawn one leaves the mirror (its
    # sample, put back, can be sent again); the answered ones stay with their answers
    got = pull(p)
    mirrored = set(store.read_table(p.data, "tasks")["task_id"])
    assert got["withdrawn_tasks"] == 1 and open_.id not in mirrored and {answered.id, late.id} <= mirrored, got
    assert pull(p)["withdrawn_tasks"] == 0
