"""`dataprep demo --studio`: the loop through a real local Label Studio, annotators answering as
themselves through its API, mirrored back by the pull stage."""

from collections import Counter

from dataprep.core import store
from dataprep.demo.run import run_demo
from dataprep.core.project import open_project
from labeling.studio_backend import find_project
from labeling.studio_client import client
from labeling.studio_server import stop
from dataprep.demo.studio_sim import annotator_email


def test_studio_demo_runs_the_loop_through_label_studio(tmp_path, monkeypatch, studio_template):
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")       # a team server the demo must not touch
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "not-this-one")
    try:
        out = run_demo(tmp_path / "demo", rounds=2, studio=True)
    except BaseException:             # a demo that fails half way must not leave its server running
        if (tmp_path / "demo" / "params.yaml").exists():
            stop(open_project(tmp_path / "demo" / "params.yaml"))
        raise
    p = open_project(tmp_path / "demo" / "params.yaml")
    try:
        monkeypatch.delenv("LABEL_STUDIO_URL")
        monkeypatch.delenv("LABEL_STUDIO_API_KEY")
        ls, url = client(p)
        assert url == out["studio"]["url"]
        proj = find_project(ls, "dataprep-demo")
        remote = list(ls.tasks.list(project=proj.id, fields="all"))
        sel = store.read_table(p.data, "selection")
        assert sorted(t.data["sample_id"] for t in remote) == sorted(sel["sample_id"])      # both rounds, once each
        # every task got the annotators it asked for: three on the cold-start picks (the crowd
        # judges itself), two on the later picks drawn for label.check_share, the project's one elsewhere
        assert all(t.total_annotations == t.overlap for t in remote)
        first = set(sel.loc[(sel["round"] == 1) & (sel["strategy"] == "cold_start"), "sample_id"])
        drawn = set(sel.loc[(sel["round"] > 1) & (sel["n_wanted"] == 2), "sample_id"])
        assert drawn and len(drawn) <= 0.15 * (sel["round"] > 1).sum()
        assert {t.overlap for t in remote if t.data["sample_id"] in first} == {p.cfg.label.calibration_overlap}
        assert {t.overlap for t in remote if t.data["sample_id"] in drawn} == {2}
        assert {t.overlap for t in remote if t.data["sample_id"] not in first | drawn} == {p.cfg.label.overlap}
        # the pull of round 2 mirrored round 1's answers, each by the simulated annotator who gave it
        ann = store.read_table(p.data, "annotations")
        names = {annotator_email(a.name) for a in p.cfg.simulate.annotators}
        round1 = set(sel.loc[sel["round"] == 1, "sample_id"])
        assert len(ann) == sum(t.overlap for t in remote if t.data["sample_id"] in round1)
        assert set(ann["annotator"]) <= names
        assert (ann["created_by"] == ann["annotator"]).all()
        assert max(Counter(zip(ann["sample_id"], ann["annotator"])).values()) == 1
        assert len(store.read_table(p.data, "labels")) > 0
        assert (tmp_path / "demo" / "reports" / "report.html").exists()
    finally:
        stop(p)
