import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from active_learning import strategies as S
from active_learning.round import run_round, selectable
from dataprep.core import store
from dataprep.core.acquire import acquire
from dataprep.cli import app
from dataprep.core.project import open_project
from dataprep.demo.examples import broad_and_compact

runner = CliRunner()


@pytest.fixture
def blobs(project, tmp_path):
    X, y = make_blobs(n_samples=400, centers=4, n_features=6, cluster_std=2.5, random_state=0)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]).assign(label=[f"c{v}" for v in y])
    df.to_csv(tmp_path / "blobs.csv", index=False)
    root = project(acquire={"source": "blobs.csv", "test_fraction": 0.25},
                   select={"batch_size": 10, "cold_start_min_labels": 8})
    p = open_project(root / "params.yaml")
    acquire(p)
    return p


def _label(p, n, seed=0):
    man = store.read_table(p.data, "manifest")
    pool = man[man["split"] == "pool"].sample(n, random_state=seed)
    store.write_table(p.data, "labels", pd.DataFrame({"sample_id": pool["sample_id"], "label": pool["source_label"],
                      "confidence": 1.0, "method": "single", "n_annotations": 1}))
    return pool


@pytest.mark.parametrize("strategy", list(S.STRATEGIES))
def test_each_strategy_picks_distinct_selectable_ids(blobs, strategy):
    _label(blobs, 30)
    allowed = set(selectable(blobs, store.read_table(blobs.data, "manifest")))
    m = run_round(open_project(blobs.root / "params.yaml", {"select.strategy": strategy}))
    sel = store.read_table(blobs.data, "selection")
    assert sel["sample_id"].is_unique and set(sel["sample_id"]) <= allowed
    picks, gold = sel[sel["strategy"] != "gold"], sel[sel["strategy"] == "gold"]
    assert len(picks) == 10 and len(gold) == 1           # label.gold_share 0.05 on top of the batch
    assert m["strategy"] == strategy and sel["rank"].tolist() == list(range(1, 12))


@pytest.mark.parametrize("strategy", list(S.STRATEGIES))
def test_each_strategy_picks_on_text_too(project, tmp_path, strategy):
    """Text: the model reads sparse TF-IDF and distances are taken on the dense geometry; the
    cold_start strategy read the sparse matrix and crashed."""
    from dataprep.core.features import build_features
    from dataprep.demo.examples import text_csv

    text_csv(tmp_path / "corpus.csv", n_per_class=30)
    root = project(acquire={"source": "corpus.csv", "test_fraction": 0.25},
                   select={"batch_size": 10, "cold_start_min_labels": 8, "strategy": strategy})
    p = open_project(root / "params.yaml")
    acquire(p)
    build_features(p)
    _label(p, 20)
    allowed = set(selectable(p, store.read_table(p.data, "manifest")))
    m = run_round(p)
    sel = store.read_table(p.data, "selection")
    picks = sel[sel["strategy"] != "gold"]
    assert m["strategy"] == strategy and len(picks) == 10
    assert sel["sample_id"].is_unique and set(sel["sample_id"]) <= allowed


def test_excluded_samples_are_never_picked(blobs):
    labeled = _label(blobs, 30)
    man = store.read_table(blobs.data, "manifest")
    pool = man[(man["split"] == "pool") & ~man["sample_id"].isin(labeled["sample_id"])]["sample_id"].tolist()
    queued, quarantined, harmful = pool[:100], pool[100:150], pool[150:200]
    now = pd.Timestamp.now(tz="UTC")
    store.write_table(blobs.data, "tasks", pd.DataFrame({"sample_id": queued, "task_id": range(100),
                      "created_at": now, "gold": False, "prediction": None, "round": 1}))
    store.write_table(blobs.data, "quarantine", pd.DataFrame({"sample_id": quarantined, "annotation_id": None,
                      "annotator": None, "check": "t", "reason": "t"}))
    store.write_table(blobs.data, "triage", pd.DataFrame({"sample_id": harmful, "dup_of": None, "cluster": 0,
                      "outlier_score": 1.0, "flags": "x", "triage": "harmful", "reason": "t"}))
    excluded = set(queued) | set(quarantined) | set(harmful) | set(labeled["sample_id"])
    for strategy in ("margin_kmeans", "cold_start", "random"):
        p = open_project(blobs.root / "params.yaml", {"select.strategy": strategy, "select.batch_size": 40})
        run_round(p)
        picked = set(store.read_table(blobs.data, "selection")["sample_id"])
        assert not picked & excluded
    assert run_round(p)["round"] == 2       # tasks of round 1 exist


def test_deterministic_for_fixed_random_state(blobs):
    _label(blobs, 30)
    picks = []
    for _ in range(2):
        run_round(blobs)
        picks.append(store.read_table(blobs.data, "selection")["sample_id"].tolist())
    assert picks[0] == picks[1]


@pytest.mark.parametrize("name", ["margin", "entropy", "uncertainty", "margin_kmeans", "margin_kcenter"])
def test_chunked_scoring_matches_in_memory(name, tmp_path):
    X, y = make_blobs(n_samples=3000, centers=5, n_features=8, cluster_std=3.0, random_state=1)
    X = X.astype(np.float32)
    model = LogisticRegression(max_iter=500).fit(X[:60], y[:60])
    np.save(tmp_path / "X.npy", X)
    mm = np.load(tmp_path / "X.npy", mmap_mode="r")
    fn = S.STRATEGIES[name]
    ctx = {"shortlist_factor": 10, "random_state": 0, "X_labeled": X[:60], "X_embed": None}
    whole = S.query(fn, model, X, 25, ctx | {"chunk_size": 10_000})
    chunked = S.query(fn, model, mm, 25, ctx | {"chunk_size": 128})
    assert list(whole) == list(chunked)


def test_strategies_take_no_keyword_they_do_not_name():
    """A typo is an error, never a setting silently dropped: no strategy swallows **kwargs, each
    declares the round context it reads, and that declaration matches its signature."""
    import inspect

    X, y = make_blobs(n_samples=300, centers=3, n_features=4, random_state=0)
    model = LogisticRegression(max_iter=500).fit(X[:30], y[:30])
    for name, fn in S.STRATEGIES.items():
        params = inspect.signature(fn).parameters
        assert not any(p.kind == p.VAR_KEYWORD for p in params.values()), name
        assert set(fn.reads) <= set(params) and set(fn.reads) <= set(S.CONTEXT), name
        with pytest.raises(TypeError):
            fn(model, X, 5, shortlist_factr=3)
    with pytest.raises(KeyError, match="X_embed"):
        S.query(S.margin_kmeans, model, X, 5, {"chunk_size": 100, "shortlist_factor": 2, "random_state": 0})
    with pytest.raises(KeyError, match="unknown strategy context"):
        S.reads("chunksize")


@pytest.mark.parametrize("pick", S.COLD_PICKS)
def test_cold_start_is_diverse(pick):
    X, y = make_blobs(n_samples=2000, centers=8, n_features=4, cluster_std=0.5, random_state=2)
    picks = S.cold_start(None, X, 8, random_state=0, pick=pick)
    assert len(set(y[picks])) == 8          # one per blob, not 8 from the biggest one
    with pytest.raises(ValueError, match="stratified, typical"):
        S.cold_start(None, X, 8, pick="typicall")


def test_a_second_cold_start_round_fills_what_the_first_left_uncovered():
    X, y = make_blobs(n_samples=2000, centers=8, n_features=4, cluster_std=0.5, random_state=2)
    first = S.cold_start(None, X, 4, random_state=0)
    rest = np.setdiff1d(np.arange(len(X)), first)
    second = rest[S.cold_start(None, X[rest], 4, random_state=1, X_labeled=X[first])]
    assert len(set(y[first])) == 4 and set(y[first]).isdisjoint(y[second]) and len(set(y[second])) == 4


def test_cold_start_is_not_worse_than_random_when_broad_classes_surround_compact_ones():
    """Density-based picks all land in the compact classes here and the first model misses the
    two commonest classes (61% of the pool); a random member of each cluster does not."""
    acc = {"stratified": [], "typical": [], "random": []}
    for seed in range(3):
        X, y = broad_and_compact(seed=seed)
        pool, test = np.arange(4000), np.arange(4000, 6000)
        for name in acc:
            for draw in range(2):
                pick = (np.random.default_rng(draw).choice(pool, 20, replace=False) if name == "random"
                        else S.cold_start(None, X[pool], 20, random_state=draw, pick=name))
                model = LogisticRegression(max_iter=2000).fit(X[pick], y[pick])
                acc[name].append(model.score(X[test], y[test]))
    mean = {k: float(np.mean(v)) for k, v in acc.items()}
    assert mean["stratified"] >= mean["random"] - 0.01, mean
    assert mean["typical"] < mean["random"] - 0.1, mean       # the failure the default avoids


def test_round_end_to_end_cli(blobs):
    params = str(blobs.root / "params.yaml")
    res = runner.invoke(app, ["--params", params, "--json", "select"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["cold_start"] is True
    _label(blobs, 40)
    res = runner.invoke(app, ["--params", params, "--json", "select"])
    m = json.loads(res.output)
    assert m["cold_start"] is False and m["accuracy"] > 0.5 and m["n_labels"] == 40
    curve = pd.read_csv(blobs.reports / "learning_curve.csv")
    assert curve["n_labels"].tolist() == [40]
    assert json.loads((blobs.reports / "al_metrics.json").read_text())["round"] == 1


def test_bad_requests_exit_2(blobs):
    params = str(blobs.root / "params.yaml")
    res = runner.invoke(app, ["--params", params, "--json", "select", "-n", "100000"])    # more than the pool
    m = json.loads(res.output)
    assert res.exit_code == 0 and m["selected"] == m["selectable"] and "took the last" in m["note"]
    res = runner.invoke(app, ["--params", params, "select", "--strategy", "clever"])
    assert res.exit_code == 2 and "unknown strategy 'clever'" in res.output
    res = runner.invoke(app, ["--params", params, "select", "--model", "sklearn.nothing.Here"])
    assert res.exit_code == 2 and "unknown model" in res.output
    man = store.read_table(blobs.data, "manifest")
    pool = man.loc[man["split"] == "pool", "sample_id"]
    store.write_table(blobs.data, "tasks", pd.DataFrame({                                 # every one sent
        "sample_id": pool, "task_id": range(len(pool)), "created_at": pd.Timestamp("2026-01-01", tz="UTC"),
        "gold": False, "prediction": None, "round": 1}))
    res = runner.invoke(app, ["--params", params, "--json", "select", "-n", "5"])
    m = json.loads(res.output)            # labeling is complete, not an error: the model is still evaluated
    assert res.exit_code == 0 and m["exhausted"] and m["selected"] == 0 and "labeling is complete" in m["note"]
    assert m["n_labels"] == 0 and (blobs.reports / "metrics" / "select.json").exists()
    store.write_table(blobs.data, "tasks", store.empty("tasks"))                          # none sent
    store.write_table(blobs.data, "triage", pd.DataFrame({                                # all set aside
        "sample_id": man["sample_id"], "dup_of": None, "cluster": 0, "outlier_score": 0.0, "flags": "blank",
        "triage": "harmful", "reason": "blank"}))
    res = runner.invoke(app, ["--params", params, "select", "-n", "5"])
    assert res.exit_code == 2 and "no pool sample left" in res.output and "triage set most of the pool aside" in res.output


def _rounds_answered_by_the_truth(params, n: int) -> list[dict]:
    """Acquire, build features and run `n` select rounds, each batch labeled with its true label
    at once; returns each round's summary."""
    from dataprep.core.features import build_features

    p = open_project(params)
    acquire(p)
    build_features(p)
    man = store.read_table(p.data, "manifest").set_index("sample_id")
    verdicts = []
    for _ in range(n):
        m = run_round(p)
        sel = store.read_table(p.data, "selection")
        ids = sel.loc[sel["round"] == sel["round"].max(), "sample_id"]
        labels = pd.concat([store.read_table(p.data, "labels"), pd.DataFrame({
            "sample_id": ids, "label": man.loc[ids, "source_label"].to_numpy(), "confidence": 1.0,
            "method": "single", "n_annotations": 1})], ignore_index=True)
        store.write_table(p.data, "labels", labels)
        tasks = pd.DataFrame({"sample_id": ids, "task_id": range(len(ids)), "created_at": pd.Timestamp("2026-01-01", tz="UTC"),
                              "gold": False, "prediction": None, "round": m["round"]})
        store.write_table(p.data, "tasks", pd.concat([store.read_table(p.data, "tasks"), tasks], ignore_index=True))
        verdicts.append(m)
    return verdicts


def test_stopping_is_not_suggested_for_a_model_that_learned_nothing(tmp_path):
    """Features that carry nothing about the label (a row number against a label that repeats
    every 4 rows): consecutive models agree (both guess the commonest class), which must not
    read as 'labeling is done'."""
    import yaml

    pattern = ["c0", "c1", "c0", "c2"]
    rows = [{"a": 1.0, "b": float(i), "label": pattern[i % 4]} for i in range(400)]
    pd.DataFrame(rows).to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({
        "acquire": {"source": "t.csv", "test_fraction": 0.3, "feature_columns": ["a", "b"]},
        "select": {"batch_size": 30, "cold_start_min_labels": 10, "stop_agreement": 0.9}}))
    verdicts = _rounds_answered_by_the_truth(tmp_path / "params.yaml", 4)
    agreed = [m for m in verdicts if m.get("stop_agreement", 0) >= 0.9]
    assert agreed, verdicts                              # the models do agree...
    assert not any(m["should_stop"] for m in agreed)     # ...and stopping is still not suggested
    assert all("most common class" in m["stop_blocked"] for m in agreed)


def test_rare_class_reserve_by_row_ranges_equals_one_pass():
    """`reserve_rare` keeps, per row range and class, only the rows that can make the cut: cut
    into 30 ranges it swaps in the same samples as over the pool in one piece, ties included
    (features rounded to one decimal), for 2 to 6 classes."""
    from sklearn.linear_model import LogisticRegression

    from active_learning.round import reserve_rare

    rng = np.random.default_rng(0)
    for K in (2, 3, 6):
        y = rng.integers(0, K, 30_000)
        X = np.round(rng.normal(size=(30_000, 5)) + np.eye(K, 5)[y] * (1 + (y == 0))[:, None], 1).astype(np.float32)
        model = LogisticRegression(max_iter=300).fit(X[:2000], y[:2000])
        picked = rng.choice(30_000, 50, replace=False)
        for n_rare in (1, 10, 30):
            by_ranges = reserve_rare(model, X, picked, n_rare, chunk_size=200)
            whole = reserve_rare(model, X, picked, n_rare, chunk_size=10**9)
            np.testing.assert_array_equal(by_ranges, whole)
            assert len(set(by_ranges.tolist())) == 50 and (by_ranges[:50 - n_rare] == picked[:50 - n_rare]).all()


def test_the_audit_is_a_random_sample_of_the_pool_whatever_the_model_says():
    """Auto-labels are read against the audit by each sample's confidence now, so the audit must
    be drawn from the whole pool: drawn only among samples the model was sure of when drawn, it
    missed those it became sure of later, and on a news set those auto-labels were 8.6% wrong under
    a 5% bound. Here half the pool is one the model is unsure of: the audit holds about as many of
    them as the pool does, and none of the strategy's own picks."""
    from types import SimpleNamespace

    from active_learning.round import audit_picks
    from dataprep.core.config import AutoAccept

    X, y = make_blobs(n_samples=2000, centers=[[0, 0], [8, 0], [1.5, 0]], cluster_std=1.0, random_state=0)
    model = LogisticRegression().fit(X, y)
    sure = model.predict_proba(X).max(1) >= 0.8
    assert 0.2 < (~sure).mean() < 0.8
    project = SimpleNamespace(cfg=SimpleNamespace(label=SimpleNamespace(auto_accept=AutoAccept(audit_share=0.5)),
                                                  project=SimpleNamespace(seed=0)))
    ids = pd.Series([f"s{i:04d}" for i in range(len(X))])
    picked = np.arange(200)                                   # the strategy's batch
    out, n = audit_picks(project, model, ids, picked, rnd=3)
    audit = out[-n:]
    assert n == 100 and len(set(out)) == 200 and not set(audit) & set(picked[:100])
    assert abs((~sure[audit]).mean() - (~sure[200:]).mean()) < 0.15, ((~sure[audit]).mean(), (~sure[200:]).mean())
    again, _ = audit_picks(project, model, ids, picked, rnd=3)
    assert (again == out).all()                               # seeded: the same round draws the same audit


def test_a_model_no_better_than_guessing_says_what_to_try(tmp_path):
    """Two columns whose XOR is the label: logistic regression stays at a coin toss however
    many labels come. select says so, and that a random forest does better on the labels so
    far; with select.model: random_forest the model learns it and nothing is said."""
    import yaml

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (500, 2))
    pd.DataFrame({"x": X[:, 0], "y": X[:, 1], "label": np.where(X[:, 0] * X[:, 1] > 0, "same", "opposite")}) \
        .to_csv(tmp_path / "xor.csv", index=False)
    for model in ("logistic", "random_forest"):
        (tmp_path / model).mkdir()
        (tmp_path / model / "params.yaml").write_text(yaml.safe_dump({
            "acquire": {"source": str(tmp_path / "xor.csv"), "test_fraction": 0.3},
            "select": {"batch_size": 20, "cold_start_min_labels": 10, "model": model}}))
        last = _rounds_answered_by_the_truth(tmp_path / model / "params.yaml", 4)[-1]
        assert last["n_labels"] >= 60
        if model == "logistic":
            assert last["accuracy"] < 0.65 and "set select.model: random_forest" in last["model_warning"], last
        else:
            assert last["accuracy"] > 0.8 and "model_warning" not in last, last


@pytest.mark.parametrize("kind", ["images", "text", "table"])
def test_waiting_samples_teach_the_loops_model_under_an_answer_given_and_never_reach_the_export(tmp_path, kind):
    """`select.train_on_waiting`: a sample awaiting another annotation (a lone answer too unsure
    to accept, a tie) joins the loop's model under the label validate would give it now, only
    where a kept annotator gave that label; the accepted labels, the lineage and the export hold
    none of them. Annotators of accuracy .7 answering alone leave many such samples."""
    import yaml

    from dataprep.core import model_store
    from dataprep.core.errors import GateFailed
    from dataprep.core.models import model_version
    from dataprep.core.export import lineage
    from dataprep.core.features import build_features
    from dataprep.demo.examples import image_folder, tabular_csv, text_csv
    from labeling.backend import pull, push
    from labeling.validate import validate

    src = {"images": lambda: image_folder(tmp_path / "img", n_per_class=40),
           "text": lambda: text_csv(tmp_path / "t.csv", n_per_class=60),
           "table": lambda: tabular_csv(tmp_path / "t.csv", n_per_class=60)}[kind]()
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({
        "acquire": {"source": str(src)},
        "select": {"batch_size": 30, "cold_start_min_labels": 10, "train_on_waiting": True},
        "label": {"overlap": 1, "calibration_overlap": 3, "gold_share": 0.0},
        "simulate": {"annotators": [{"name": f"h{i}", "profile": "good", "accuracy": 0.7} for i in range(4)]}}))
    p = open_project(tmp_path / "params.yaml")
    acquire(p)
    build_features(p)
    for _ in range(4):
        pull(p)
        try:
            validate(p)
        except GateFailed:         # a failed gate keeps the last labels; the loop goes on
            pass
        run_round(p)
        push(p)
    man = store.read_table(p.data, "manifest")
    labels, req = store.read_table(p.data, "labels"), store.read_table(p.data, "requests")
    ann = store.current_annotations(store.read_table(p.data, "annotations"))
    answers = ann.groupby("sample_id")["label"].agg(set)
    taught = req[req["label"].notna()]
    assert len(taught), req
    assert all(lab in answers[s] for s, lab in zip(taught["sample_id"], taught["label"]))   # never the model's own
    m = json.loads((p.reports / "al_metrics.json").read_text())
    waiting = set(model_store.training_labels(labels, man, req).index) - set(labels["sample_id"])
    assert m["n_waiting"] == len(waiting) > 0, m
    # the version names the accepted labels first: waiting samples alone are not new labels
    accepted_only = model_store.training_labels(labels, man)
    assert m["model_version"].split("+")[0] == model_version("logistic", {}, accepted_only)
    assert m["n_labels"] == len(model_store.training_labels(labels, man)) + len(waiting)
    assert model_store.load(p).n_labels == m["n_labels"]
    assert not waiting & set(lineage(p)["sample_id"])          # the training set holds accepted labels only
