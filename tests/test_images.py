"""Images as people have them decode to what a person sees; huge files stay within memory;
the user's own embeddings (a file, an ONNX encoder built here) feed the features stage."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from dataprep.demo.examples import huge_png, image_folder, shape_mask, text_csv, write_image
from PIL import Image

from dataprep.core import store
from dataprep.core.images import check_image, load_rgb


def _shape_visible(img: Image.Image, shape: str, seed: int) -> float:
    """Correlation of the decoded grey image with the drawn mask (sign-free)."""
    mask = np.asarray(shape_mask(shape, 48, np.random.default_rng(seed)), np.float32)
    grey = np.asarray(img.convert("L").resize((48, 48)), np.float32)
    return abs(float(np.corrcoef(mask.ravel(), grey.ravel())[0, 1]))


@pytest.mark.parametrize("kind", ["alpha", "exif", "palette", "deep", "cmyk", "heic"])
def test_each_kind_shows_its_shape(tmp_path, kind):
    ext = {"alpha": "png", "exif": "jpg", "palette": "gif", "deep": "png", "cmyk": "jpg", "heic": "heic"}[kind]
    for seed in range(4):
        path = write_image(tmp_path / f"{kind}{seed}.{ext}", "triangle", kind, np.random.default_rng(seed))
        # the mask is drawn from the same generator first, so re-drawing it with the seed gives it back
        img = load_rgb(path)
        assert img.mode == "RGB" and img.size == (48, 48)
        assert _shape_visible(img, "triangle", seed) > 0.8, (kind, seed)
        fmt, w, h = check_image(path)
        assert (w, h) == (48, 48)


def test_a_folder_of_phone_photos_is_acquired_with_views_and_other_files_are_named(tmp_path):
    """HEIC (what phones store) was not an image suffix: a folder of phone photos was "no image
    files found", and beside other images they were left out without a word, as was every other
    file that is not an image. Now they are samples whose Label Studio view is a PNG, and the
    files left out are counted by kind in a warning (and in the no-images error)."""
    from dataprep.core.acquire import acquire
    from dataprep.core.images import view_path
    from dataprep.core.project import open_project

    image_folder(tmp_path / "photos", n_per_class=4, kinds=("heic",))
    (tmp_path / "photos" / "ring" / "notes.txt").write_text("taken on a Tuesday")
    (tmp_path / "photos" / "logo.svg").write_text("<svg/>")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"acquire": {"source": "photos"}}))
    s = acquire(open_project(tmp_path / "params.yaml"))
    assert s["samples"] == 12 and s["unreadable"] == 0, s
    assert any("2 files in photos are not images acquire reads and were left out: 1 .svg, 1 .txt" in w
               for w in s["warnings"]), s["warnings"]
    man = store.read_table(tmp_path / "data", "manifest")
    assert set(man["width"]) == {48} and man["path"].str.endswith(".heif").all()
    for rel in man["path"]:
        view = tmp_path / "data" / view_path(rel)
        assert view.suffix == ".png" and Image.open(view).size == (48, 48)
    only_text = tmp_path / "texts"
    only_text.mkdir()
    (only_text / "a.txt").write_text("x")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"acquire": {"source": "texts"}, "project": {"data_dir": "d2"}}))
    from dataprep.core.errors import UserError
    with pytest.raises(UserError, match="no image files .* found; it holds 1 .txt"):
        acquire(open_project(tmp_path / "params.yaml"))


def test_train_and_val_folders_holding_class_folders_give_the_class_labels(tmp_path):
    """A dataset as it is often shared, `train/<class>/` and `val/<class>/`, was labelled 'train'
    and 'val'. The class folders under the split folders are the labels now (with a warning);
    classes that happen to be named like a split, with images directly inside, stay classes."""
    from dataprep.core.acquire import acquire
    from dataprep.core.project import open_project

    image_folder(tmp_path / "ds" / "train", n_per_class=4, kinds=("alpha", "exif"), seed=0)
    image_folder(tmp_path / "ds" / "val", n_per_class=2, kinds=("alpha", "exif"), seed=1)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"acquire": {"source": "ds"}}))
    s = acquire(open_project(tmp_path / "params.yaml"))
    man = store.read_table(tmp_path / "data", "manifest")
    assert s["samples"] == 18 and sorted(man["source_label"].unique()) == ["ring", "square", "triangle"], s
    assert (man["source_label"] == man["source"].str.split("/").str[-2]).all()
    assert any("split folders (train, val)" in w for w in s["warnings"]), s["warnings"]
    # classes named 'train' and 'test' (images directly inside) are classes
    for cls in ("train", "test"):
        for i in range(3):
            write_image(tmp_path / "cls" / cls / f"{i}.png", "ring" if cls == "train" else "bar", "alpha",
                        np.random.default_rng(i))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"acquire": {"source": "cls"}, "project": {"data_dir": "d2"}}))
    s = acquire(open_project(tmp_path / "params.yaml"))
    man = store.read_table(tmp_path / "d2", "manifest")
    assert sorted(man["source_label"].unique()) == ["test", "train"] and not any("split folders" in w for w in s["warnings"])


def test_labels_from_a_table_beside_a_flat_folder_of_images(tmp_path):
    """A folder of images and a CSV `id,label` (ids without the suffix), as many datasets come:
    every image came unlabeled (and the CSV was a stray file). `acquire.labels_file` reads it."""
    from dataprep.core.acquire import acquire
    from dataprep.core.errors import UserError
    from dataprep.core.project import open_project

    src = image_folder(tmp_path / "cls", n_per_class=3, kinds=("alpha", "exif"))
    flat = tmp_path / "images"
    flat.mkdir()
    rows = []
    for i, p in enumerate(sorted(src.rglob("*.*"))):
        p.rename(flat / f"img{i:02d}{p.suffix}")
        rows.append({"image_id": f"img{i:02d}", "class": p.parent.name})
    table = pd.DataFrame(rows[1:] + [{"image_id": "img99", "class": "ring"}])    # one image has no row
    table.to_csv(flat / "train.csv", index=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(
        {"acquire": {"source": "images", "labels_file": "images/train.csv", "label_column": "class"}}))
    s = acquire(open_project(tmp_path / "params.yaml"))
    man = store.read_table(tmp_path / "data", "manifest").sort_values("source")
    want = {f"images/img{i:02d}": r["class"] for i, r in enumerate(rows)}
    got = dict(zip(man["source"].str.rsplit(".", n=1).str[0], man["source_label"]))
    assert s["samples"] == 9 and {k: v for k, v in got.items() if pd.notna(v)} == {
        k: v for k, v in want.items() if k != "images/img00"} and pd.isna(got["images/img00"]), got
    assert any("1 rows name no image of the source (e.g. 'img99')" in w for w in s["warnings"]), s["warnings"]
    assert any("1 of 9 images have no row" in w for w in s["warnings"]) and not any(".csv" in w and "not images" in w
                                                                                      for w in s["warnings"])
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(
        {"acquire": {"source": "images", "labels_file": "images/train.csv", "label_column": "kind"},
         "project": {"data_dir": "d2"}}))
    with pytest.raises(UserError, match="has no label column 'kind'"):
        acquire(open_project(tmp_path / "params.yaml"))


def test_naive_decoding_loses_alpha_and_exif(tmp_path):
    """What the decoder fixes: plain PIL conversion shows nothing / the wrong way up."""
    a = write_image(tmp_path / "a.png", "ring", "alpha", np.random.default_rng(0))
    assert np.asarray(Image.open(a).convert("L")).std() == 0
    e = write_image(tmp_path / "e.jpg", "triangle", "exif", np.random.default_rng(0))
    naive = Image.open(e).convert("RGB")
    assert _shape_visible(naive, "triangle", 0) < 0.5 < _shape_visible(load_rgb(e), "triangle", 0)


def test_huge_png_features_stay_under_500mb(tmp_path):
    """A 150-megapixel PNG (a few MB on disk) goes through acquire, features and triage in a child
    process whose peak RSS stays under 500 MB (PIL would need ~600 MB for its pixels alone)."""
    src = image_folder(tmp_path / "src", n_per_class=4, kinds=("alpha", "cmyk"))
    huge_png(src / "ring" / "huge.png", megapixels=150)
    assert (src / "ring" / "huge.png").stat().st_size < 20e6
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "params.yaml").write_text(yaml.safe_dump({"acquire": {"source": str(src), "n_jobs": 1}}))
    code = ("import resource, subprocess, sys\n"
            "for cmd in (['acquire'], ['features'], ['triage']):\n"
            "    subprocess.run(['dataprep', *cmd], check=True, cwd=sys.argv[1])\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "p")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    peak_mb = int(out.stdout.split()[-1]) / 1024
    assert peak_mb < 500, f"peak RSS {peak_mb:.0f} MB"
    man = store.read_table(tmp_path / "p" / "data", "manifest")
    big = man[man["width"] > 10000]
    assert len(big) == 1 and int(big["width"].iloc[0]) * int(big["height"].iloc[0]) >= 149e6
    tri = store.read_table(tmp_path / "p" / "data", "triage")
    assert not tri.set_index("sample_id").loc[big["sample_id"].iloc[0], "flags"].startswith("blank")


def _image_encoder(path, dim: int = 8):
    """A tiny ONNX image encoder: NCHW float -> 4x4 average pool -> flatten -> linear -> dim."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).normal(size=(3 * 4 * 4, dim)).astype(np.float32)
    nodes = [helper.make_node("AveragePool", ["x"], ["p"], kernel_shape=[8, 8], strides=[8, 8]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("MatMul", ["f", "w"], ["y"])]
    graph = helper.make_graph(nodes, "enc", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", dim])],
                              [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def _text_encoder(path, vocab: list[str]):
    """A tiny ONNX text encoder taking a string tensor: split on spaces, count vocabulary words."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("StringSplit", ["x"], ["tok", "n"], delimiter=" "),
             helper.make_node("TfIdfVectorizer", ["tok"], ["y"], mode="TF", min_gram_length=1, max_gram_length=1,
                              max_skip_count=0, ngram_counts=[0], ngram_indexes=list(range(len(vocab))),
                              pool_strings=vocab)]
    graph = helper.make_graph(nodes, "txt", [helper.make_tensor_value_info("x", TensorProto.STRING, ["N"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", len(vocab)])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), str(path))
    return path


def _run(cwd, *args):
    res = subprocess.run(["dataprep", *args], cwd=cwd, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def test_onnx_image_encoder(tmp_path):
    src = image_folder(tmp_path / "src", n_per_class=5)
    (tmp_path / "p").mkdir()
    model = _image_encoder(tmp_path / "p" / "enc.onnx")
    (tmp_path / "p" / "params.yaml").write_text(yaml.safe_dump(
        {"acquire": {"source": str(src)}, "features": {"embedding": "enc.onnx"}}))
    _run(tmp_path / "p", "acquire")
    _run(tmp_path / "p", "features")
    X = np.load(tmp_path / "p" / "data" / "features" / "dense.npy")
    assert X.shape == (15, 8) and np.isfinite(X).all() and X.std(0).min() > 0
    # the same numbers as onnxruntime on the same decoded pixels
    import onnxruntime as ort

    man = store.read_table(tmp_path / "p" / "data", "manifest")
    ids = json.loads((tmp_path / "p" / "data" / "features" / "index.json").read_text())["ids"]
    first = man.set_index("sample_id").loc[ids[0], "path"]
    arr = np.asarray(load_rgb(tmp_path / "p" / "data" / first).resize((32, 32), Image.BILINEAR), np.float32)
    x = ((arr.transpose(2, 0, 1) / 255 - np.array([0.485, 0.456, 0.406])[:, None, None])
         / np.array([0.229, 0.224, 0.225])[:, None, None]).astype(np.float32)[None]
    want = ort.InferenceSession(str(model)).run(None, {"x": x})[0][0]
    np.testing.assert_allclose(X[0], want, rtol=1e-4, atol=1e-4)


def test_onnx_text_encoder_and_precomputed_file(tmp_path):
    src = text_csv(tmp_path / "t.csv", n_per_class=10)
    p = tmp_path / "p"
    p.mkdir()
    vocab = sorted({w for words in __import__("dataprep.demo.examples", fromlist=["TOPICS"]).TOPICS.values() for w in words})
    _text_encoder(p / "txt.onnx", vocab)
    (p / "params.yaml").write_text(yaml.safe_dump({"acquire": {"source": str(src)}, "features": {"embedding": "txt.onnx"}}))
    _run(p, "acquire")
    _run(p, "features")
    X = np.load(p / "data" / "features" / "dense.npy")
    assert X.shape == (40, len(vocab)) and X.sum() > 0

    # precomputed embeddings keyed by sample id, in a parquet file
    man = store.read_table(p / "data", "manifest")
    emb = pd.DataFrame({"sample_id": man["sample_id"], "embedding": [np.full(4, i, np.float32) for i in range(len(man))]})
    emb.sample(frac=1.0, random_state=0).to_parquet(p / "emb.parquet")
    (p / "params.yaml").write_text(yaml.safe_dump({"acquire": {"source": str(src)}, "features": {"embedding": "emb.parquet"}}))
    _run(p, "features")
    X = np.load(p / "data" / "features" / "dense.npy")
    ids = json.loads((p / "data" / "features" / "index.json").read_text())["ids"]
    order = dict(zip(man["sample_id"], range(len(man))))
    assert [int(v) for v in X[:, 0]] == [order[s] for s in ids]


def test_precomputed_by_source_path_and_missing_rows(tmp_path):
    src = image_folder(tmp_path / "src", n_per_class=3, kinds=("alpha",))
    p = tmp_path / "p"
    files = sorted(str(f.relative_to(src)) for f in src.rglob("*.png"))
    p.mkdir()
    np.save(p / "emb.npy", np.arange(len(files) * 3, dtype=np.float32).reshape(-1, 3))
    (p / "emb.keys.txt").write_text("\n".join(files))
    (p / "params.yaml").write_text(yaml.safe_dump({"acquire": {"source": str(src)}, "features": {"embedding": "emb.npy"}}))
    _run(p, "acquire")
    _run(p, "features")
    assert np.load(p / "data" / "features" / "dense.npy").shape == (9, 3)
    (p / "emb.keys.txt").write_text("\n".join(files[:-1] + ["elsewhere.png"]))
    res = subprocess.run(["dataprep", "features"], cwd=p, capture_output=True, text=True)
    assert res.returncode == 2 and "no embedding for sample" in res.stderr and "Traceback" not in res.stderr


def test_image_features_are_written_batch_by_batch_and_extended_in_place(tmp_path):
    """Over 256 images of every stored kind (two decoding batches and more): the cache written
    batch by batch equals the rows computed in one piece, and images added later extend it
    (only the new ones decoded), ending where a fresh computation of all of them ends."""
    import shutil

    from dataprep.core.acquire import acquire
    from dataprep.core.features import build_features, image_features
    from dataprep.core.project import open_project

    src = image_folder(tmp_path / "src", n_per_class=100, seed=5)             # 300 images
    extra = sorted((src / "square").iterdir())[-40:]
    held = tmp_path / "held"
    held.mkdir()
    for f in extra:
        shutil.move(str(f), held / f.name)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "params.yaml").write_text(yaml.safe_dump({"acquire": {"source": str(src)}}))
    p = open_project(tmp_path / "p" / "params.yaml")
    acquire(p)
    X, index = build_features(p)
    man = store.read_table(p.data, "manifest").set_index("sample_id")
    assert len(index) == 260 and X.dtype == np.float32
    whole = image_features([str(p.data / man.loc[s, "path"]) for s in index], p)
    np.testing.assert_array_equal(np.asarray(X), whole)
    for f in extra:
        shutil.move(str(held / f.name), src / "square" / f.name)
    acquire(p)
    X2, index2 = build_features(p)
    assert len(index2) == 300 and list(index2[:260]) == list(index)
    man = store.read_table(p.data, "manifest").set_index("sample_id")
    np.testing.assert_array_equal(np.asarray(X2), image_features([str(p.data / man.loc[s, "path"]) for s in index2], p))
    assert not list((p.data / "features").glob(".*.tmp"))
