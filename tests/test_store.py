import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataprep.core import store
from dataprep.core.errors import UserError


def _selection(n=5):
    return pd.DataFrame({"sample_id": [f"s{i}" for i in range(n)], "score": [0.5] * n, "rank": range(n),
                         "strategy": "margin", "model_version": "m1", "round": 1, "prediction": None})


def test_schema_round_trip(tmp_path):
    for name in store.SCHEMAS:
        df = store.empty(name)
        store.write_table(tmp_path, name, df)
        back = store.read_table(tmp_path, name)
        assert list(back.columns) == list(store.SCHEMAS[name])
    sel = _selection()
    store.write_table(tmp_path, "selection", sel)
    back = store.read_table(tmp_path, "selection")
    pd.testing.assert_frame_equal(back[["sample_id", "rank"]], sel[["sample_id", "rank"]].astype({"rank": "int64"}),
                                  check_dtype=False)


def test_wrong_schema_names_file_and_column(tmp_path):
    path = tmp_path / "selection.parquet"
    pq.write_table(pa.table({"sample_id": ["a"], "score": ["high"]}), path)
    with pytest.raises(UserError, match=r"selection\.parquet.*'score'"):
        store.read_table(tmp_path, "selection")
    pq.write_table(pa.table({"sample_id": ["a"]}), path)
    with pytest.raises(UserError, match=r"selection\.parquet: missing column 'score'"):
        store.read_table(tmp_path, "selection")


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    store.write_table(tmp_path, "selection", _selection(3))

    def boom(table, where, **kw):
        open(where, "wb").write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError):
        store.write_table(tmp_path, "selection", _selection(10))
    monkeypatch.undo()
    assert len(store.read_table(tmp_path, "selection")) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["selection.parquet"]


def test_killed_writer_leaves_a_readable_file(tmp_path):
    """SIGKILL a process that rewrites a big table in a loop: the file is always whole."""
    store.write_table(tmp_path, "selection", _selection(3))
    code = (
        "import pandas as pd, sys\n"
        "from dataprep.core import store\n"
        "n = 300_000\n"
        "df = pd.DataFrame({'sample_id': [f's{i}' for i in range(n)], 'score': 0.1, 'rank': range(n),"
        " 'strategy': 'x', 'model_version': 'm', 'round': 2, 'prediction': None})\n"
        "print('ready', flush=True)\n"
        "while True:\n    store.write_table(sys.argv[1], 'selection', df)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n = len(store.read_table(tmp_path, "selection"))
    assert n in (3, 300_000)


def test_append_keeps_old_rows(tmp_path):
    store.write_table(tmp_path, "selection", _selection(2))
    store.append_table(tmp_path, "selection", _selection(3).assign(round=2))
    back = store.read_table(tmp_path, "selection")
    assert back["round"].tolist() == [1, 1, 2, 2, 2]


def test_sample_states(tmp_path):
    now = pd.Timestamp.now(tz="UTC")
    man = pd.DataFrame({"sample_id": list("abcde"), "modality": "image", "path": None, "text": None,
                        "source": "x", "sources": "[]", "source_label": "1", "split": "pool",
                        "width": 1, "height": 1, "acquired_at": now})
    store.write_table(tmp_path, "manifest", man)
    store.write_table(tmp_path, "tasks", pd.DataFrame({"sample_id": list("bcde"), "task_id": range(4),
                      "created_at": now, "gold": False, "prediction": None, "round": 1}))
    store.write_table(tmp_path, "annotations", pd.DataFrame({
        "annotation_id": [1, 2, 3], "sample_id": list("cde"), "task_id": [1, 2, 3], "annotator": "a",
        "created_by": None, "label": "1", "lead_time_s": 1.0, "created_at": now, "updated_at": now,
        "round": 1, "status": "active"}))
    store.write_table(tmp_path, "labels", pd.DataFrame({"sample_id": ["d"], "label": ["1"], "confidence": [0.9],
                      "method": ["single"], "n_annotations": [1]}))
    store.write_table(tmp_path, "quarantine", pd.DataFrame({"sample_id": ["e"], "annotation_id": [None],
                      "annotator": [None], "check": ["x"], "reason": ["y"]}))
    st = store.sample_states(tmp_path).set_index("sample_id")["state"].to_dict()
    assert st == {"a": "unlabeled", "b": "queued", "c": "annotated", "d": "accepted", "e": "quarantined"}


def test_rows_of_a_features_file_index_like_numpy_and_travel_as_a_path(tmp_path):
    """`Rows` over a memory-mapped .npy, here and after pickling (as a worker receives it): slices
    with steps and reversed, masks, negative and scattered row numbers, a row subset; and the
    pickle holds the path, not the rows."""
    import pickle

    import numpy as np

    from dataprep.core.rows import Rows

    A = np.arange(3000 * 5, dtype=np.float32).reshape(3000, 5)
    np.save(tmp_path / "f.npy", A)
    X = np.load(tmp_path / "f.npy", mmap_mode="r")
    mask = np.zeros(3000, bool)
    mask[[4, 999, 2999]] = True
    keys = [slice(10, 500, 7), slice(None, None, -1), slice(5, 2), mask, -1, np.array([-2, 0, 1500, 17]),
            np.arange(0, 3000, 997), np.arange(100, 300)]
    for rows in (None, np.array([2999, 5, 7, 1200] + list(range(3000 - 4)))):
        ref = A if rows is None else A[rows]
        for r in (Rows(X, rows), pickle.loads(pickle.dumps(Rows(X, rows)))):
            for key in keys:
                if rows is not None and isinstance(key, np.ndarray) and key.dtype == bool:
                    key = key[:len(rows)]
                np.testing.assert_array_equal(r[key], ref[key])
            np.testing.assert_array_equal(np.asarray(r), ref)
    assert len(pickle.dumps(Rows(X))) < 1000


def test_among_answers_as_isin_does():
    """`ids.among` (the stages' id lookup, a set: pandas' isin takes seconds on a million string
    values) gives isin's answer for every kind of input the stages pass it."""
    from dataprep.core.ids import among

    rng = np.random.default_rng(0)
    values = pd.Series([f"{i:032x}" for i in rng.integers(0, 500, 300)])
    ids = pd.Series([f"{i:032x}" for i in rng.integers(0, 500, 200)])
    want = ids.isin(values).to_numpy()
    for v in (values, set(values), list(values), pd.Index(values), values.to_numpy()):
        assert (among(ids, v) == want).all()
    assert (among(pd.Index(ids), values) == want).all() and (among(ids.to_numpy(), values) == want).all()
    assert among(ids.iloc[:0], values).shape == (0,) and not among(ids, []).any()
