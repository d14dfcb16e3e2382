import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from augment.run import augment, augment_items
from dataprep.core import store
from dataprep.core.acquire import acquire
from dataprep.cli import app
from dataprep.core.project import open_project

runner = CliRunner()


def _detection_set(folder, n=12, size=96, seed=0):
    """Black images with one white rectangle each; the true box in pascal_voc pixels."""
    rng = np.random.default_rng(seed)
    rows = []
    (folder / "imgs").mkdir(parents=True)
    for i in range(n):
        x0, y0 = rng.integers(5, 40, 2)
        w, h = rng.integers(15, 40, 2)
        arr = np.zeros((size, size, 3), np.uint8)
        arr[y0:y0 + h, x0:x0 + w] = 255
        Image.fromarray(arr).save(folder / "imgs" / f"{i}.png")
        rows.append({"sample_id": f"d{i}", "path": f"imgs/{i}.png", "label": json.dumps(
            [{"label": "box", "x_min": int(x0), "y_min": int(y0), "x_max": int(x0 + w), "y_max": int(y0 + h)}])})
    return pd.DataFrame(rows)


def _bright_box(path):
    arr = np.asarray(Image.open(path).convert("L")) > 127
    ys, xs = np.nonzero(arr)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


@pytest.mark.parametrize("pipeline", [
    {"__class_fullname__": "Compose", "transforms": [{"__class_fullname__": "HorizontalFlip", "p": 1.0}]},
    {"__class_fullname__": "Compose", "transforms": [{"__class_fullname__": "RandomRotate90", "p": 1.0}]},
    "detection",
])
def test_boxes_follow_the_object(tmp_path, pipeline):
    items = _detection_set(tmp_path)
    df, s = augment_items(items, tmp_path, pipeline, copies=3, n_jobs=1, detection=True, min_visibility=0.3)
    assert len(df) > 0
    for row in df.itertuples():
        boxes = json.loads(row.label)
        W, H = Image.open(tmp_path / row.path).size
        for b in boxes:
            assert 0 <= b["x_min"] < b["x_max"] <= W and 0 <= b["y_min"] < b["y_max"] <= H
        if len(boxes) == 1 and pipeline != "detection":    # pure geometry: the drawn object is where the box says
            got = _bright_box(tmp_path / row.path)
            want = (boxes[0]["x_min"], boxes[0]["y_min"], boxes[0]["x_max"], boxes[0]["y_max"])
            assert np.allclose(got, want, atol=1.5), (got, want)


def test_boxes_pushed_out_are_dropped_not_crashing(tmp_path):
    items = _detection_set(tmp_path, n=4)
    shift = {"__class_fullname__": "Compose", "transforms": [
        {"__class_fullname__": "Affine", "translate_percent": {"x": [0.9, 0.9], "y": [0.9, 0.9]}, "p": 1.0}]}
    df, s = augment_items(items, tmp_path, shift, copies=1, n_jobs=1, detection=True)
    assert s["boxes_dropped"] == 4 and all(json.loads(x) == [] for x in df["label"])


@pytest.fixture
def digits_project(project, tmp_path):
    root = project(acquire={"source": "digits", "test_fraction": 0.3}, augment={"copies": 2, "n_jobs": 2})
    p = open_project(root / "params.yaml")
    acquire(p)
    man = store.read_table(p.data, "manifest")
    some = pd.concat([man[man["split"] == "pool"].head(30), man[man["split"] == "test"].head(10)])
    store.write_table(p.data, "labels", pd.DataFrame({"sample_id": some["sample_id"], "label": some["source_label"],
                      "confidence": 1.0, "method": "single", "n_annotations": 1}))
    return p, man


def test_reruns_are_byte_identical_and_test_split_untouched(digits_project):
    p, man = digits_project
    augment(p)
    aug = store.read_table(p.data, "augmented")
    first = {f.name: f.read_bytes() for f in (p.data / "augmented").iterdir()}
    table = (p.data / "augmented.parquet").read_bytes()
    augment(p)
    assert table == (p.data / "augmented.parquet").read_bytes()
    assert first == {f.name: f.read_bytes() for f in (p.data / "augmented").iterdir()}
    test_ids = set(man.loc[man["split"] == "test", "sample_id"])
    assert not set(aug["parent_id"]) & test_ids and set(aug["parent_id"]) <= set(man["sample_id"])
    assert (p.reports / "augment_preview.png").exists()
    replay = json.loads(aug["transform"].iloc[0])
    assert isinstance(replay, list) and all(len(step) == 2 for step in replay)


def test_the_preview_is_drawn_again_only_when_what_it_shows_changes(digits_project):
    p, _ = digits_project
    augment(p)
    out = p.reports / "augment_preview.png"
    out.touch()                                   # a redraw would replace the file, later
    touched = out.stat().st_mtime_ns
    augment(p)
    assert out.stat().st_mtime_ns == touched      # nothing it shows changed: not drawn again
    labels = store.read_table(p.data, "labels")
    shown = store.read_table(p.data, "augmented")["parent_id"].iloc[0]
    labels.loc[labels["sample_id"] == shown, "label"] = "relabelled"
    store.write_table(p.data, "labels", labels)
    augment(p)
    assert out.stat().st_mtime_ns != touched      # a parent on show has another label now: drawn again


def test_changing_the_pipeline_changes_outputs(digits_project):
    p, _ = digits_project
    augment(p)
    a = set(store.read_table(p.data, "augmented")["sample_id"])
    q = open_project(p.root / "params.yaml", {"augment.pipeline": "medium"})
    augment(q)
    b = set(store.read_table(p.data, "augmented")["sample_id"])
    assert a and b and not a & b
    assert {f.name for f in (p.data / "augmented").iterdir()} == {f"{s}.png" for s in b} | {"README.txt"}


def test_augment_failing_before_its_table_is_written_leaves_the_old_copies_readable(digits_project, monkeypatch):
    """The older pipeline's files used to be deleted before the new table was written: a stage
    killed between the two left augmented.parquet naming files that were gone."""
    p, _ = digits_project
    augment(p)
    old = store.read_table(p.data, "augmented")
    q = open_project(p.root / "params.yaml", {"augment.pipeline": "medium"})
    real = store.write_table

    def dies(data, name, df):
        if name == "augmented":
            raise KeyboardInterrupt("killed while writing the table")
        return real(data, name, df)

    monkeypatch.setattr(store, "write_table", dies)
    with pytest.raises(KeyboardInterrupt):
        augment(q)
    assert store.read_table(p.data, "augmented").equals(old)
    assert all((p.data / path).exists() for path in old["path"])     # every row still has its file
    monkeypatch.setattr(store, "write_table", real)
    augment(q)
    new = store.read_table(p.data, "augmented")
    assert {f.name for f in (p.data / "augmented").iterdir()} == {f"{s}.png" for s in new["sample_id"]} | {"README.txt"}


def test_bad_transform_exits_2(project):
    import yaml
    root = project(augment={"pipeline": {"__class_fullname__": "Compose",
                                         "transforms": [{"__class_fullname__": "FlipSideways", "p": 1}]}})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "augment"])
    assert res.exit_code == 2 and "augment.pipeline.transforms[0]: unknown transform 'FlipSideways'" in res.output
    raw = yaml.safe_load((root / "params.yaml").read_text())
    raw["augment"]["pipeline"]["transforms"][0] = {"__class_fullname__": "HorizontalFlip", "prob": 1}
    (root / "params.yaml").write_text(yaml.safe_dump(raw))
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "augment"])
    assert res.exit_code == 2 and "augment.pipeline.transforms[0].prob" in res.output


def test_detection_exports_coco_with_augmented_boxes(project, tmp_path):
    from dataprep.core.export import export

    src = tmp_path / "src"
    items = _detection_set(src, n=8)
    root = project(project={"task": "detection", "labels": ["box"]}, acquire={"source": str(src / "imgs")},
                   augment={"pipeline": "detection", "copies": 1, "n_jobs": 1})
    p = open_project(root / "params.yaml")
    acquire(p)
    man = store.read_table(p.data, "manifest")
    truth = items.assign(name=items["path"].map(lambda s: s.split("/")[-1])).set_index("name")["label"]
    pool = man[man["split"] == "pool"]
    labels = pool["source"].map(lambda s: truth[s.split("/")[-1]])
    store.write_table(p.data, "labels", pd.DataFrame({"sample_id": pool["sample_id"], "label": labels.to_numpy(),
                      "confidence": 1.0, "method": "single", "n_annotations": 1}))
    augment(p)
    s = export(p)
    coco = json.loads((p.root / "export" / "annotations.json").read_text())
    assert s["rows"] == len(coco["images"]) == len(pool) + s["augmented"] and s["augmented"] > 0
    assert coco["categories"] == [{"id": 1, "name": "box", "supercategory": "none"}]
    by_sid = {im["sample_id"]: im for im in coco["images"]}
    for sid, label in zip(pool["sample_id"], labels):          # originals: the labelled box, as [x, y, w, h]
        im = by_sid[sid]
        (b,) = json.loads(label)
        (a,) = [a for a in coco["annotations"] if a["image_id"] == im["id"]]
        assert a["bbox"] == [b["x_min"], b["y_min"], b["x_max"] - b["x_min"], b["y_max"] - b["y_min"]]
        assert (p.root / "export" / "images" / im["file_name"]).exists()
    for a in coco["annotations"]:                               # every box inside its image
        im = coco["images"][a["image_id"] - 1]
        x, y, w, h = a["bbox"]
        assert 0 <= x and 0 <= y and x + w <= im["width"] + 1e-6 and y + h <= im["height"] + 1e-6
    lin = pd.read_parquet(p.root / "export" / "lineage.parquet")
    assert all((p.root / "export" / e).exists() for e in lin["export_path"])
