
import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from dataprep.core import store
from dataprep.core.acquire import acquire
from dataprep.core.project import open_project
from dataprep.core.triage import triage


def _scene(seed, size=96):
    """A smooth random picture (blurred noise with a few shapes): photo-like, all different."""
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC)
    return base.filter(ImageFilter.GaussianBlur(2))


def _save(img, path, fmt="PNG", **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format=fmt, **kw)


def _triaged(project, source):
    """Acquire `source` and triage it; return (manifest by id, triage table)."""
    root = project(acquire={"source": source})
    p = open_project(root / "params.yaml")
    acquire(p)
    triage(p)
    return store.read_table(p.data, "manifest").set_index("sample_id"), store.read_table(p.data, "triage")


def test_injected_cases(project, tmp_path):
    src = tmp_path / "imgs"
    for i in range(40):
        _save(_scene(i), src / f"scene{i:02d}.png")
    orig = _scene(0)
    _save(orig.resize((70, 70), Image.BILINEAR), src / "dup_resized.png")
    _save(orig, src / "dup_jpeg.jpg", fmt="JPEG", quality=60)
    w, h = orig.size
    _save(orig.crop((5, 5, w - 5, h - 5)), src / "dup_cropped.png")          # ~5% per side
    _save(ImageEnhance.Brightness(orig).enhance(1.15), src / "dup_brighter.png")
    _save(Image.new("RGB", (96, 96), (128, 128, 128)), src / "blank.png")
    # a red disc on a green ground of the same grey level: flat in grey, no blank
    iso = Image.new("RGB", (96, 96), (0, 130, 0))
    ImageDraw.Draw(iso).ellipse([20, 20, 76, 76], fill=(254, 0, 0))
    assert np.asarray(iso.convert("L"), dtype=float).std() < 4
    _save(iso, src / "red_on_green.png")
    _save(Image.fromarray(np.random.default_rng(9).integers(0, 255, (96, 96, 3), dtype=np.uint8)), src / "noise.png")
    man, t = _triaged(project, "imgs")
    t["name"] = t["sample_id"].map(man["source"]).str.split("/").str[-1]
    t = t.set_index("name")
    orig_id = man.index[man["source"].str.endswith("scene00.png")][0]
    for dup in ("dup_resized.png", "dup_jpeg.jpg", "dup_cropped.png", "dup_brighter.png"):
        assert t.loc[dup, "triage"] == "redundant" and t.loc[dup, "dup_of"] == orig_id, (dup, t.loc[dup].to_dict())
    assert t.loc["scene00.png", "triage"] == "keep"
    assert t.loc["blank.png", "triage"] == "harmful" and "blank" in t.loc["blank.png", "reason"]
    assert "blank" not in t.loc["red_on_green.png", "reason"], t.loc["red_on_green.png"].to_dict()
    assert t.loc["noise.png", "triage"] == "harmful" and "out of distribution" in t.loc["noise.png", "reason"]
    normal = t.loc[[f"scene{i:02d}.png" for i in range(1, 40)], "triage"]
    assert (normal == "keep").mean() >= 0.95


def test_texts_differing_by_punctuation_are_duplicates(project, tmp_path):
    texts = ["The movie was great!", "the movie was great", "The movie, was great.", "A dull, slow film.",
             "Loved the soundtrack and the cast", "", "ok"] + [f"review number {i} about plot {i * 7}" for i in range(20)]
    pd.DataFrame({"text": texts}).to_csv(tmp_path / "t.csv", index=False)
    man, t = _triaged(project, "t.csv")
    t["text"] = t["sample_id"].map(man["text"])
    great = t[t["text"].str.lower().str.contains("movie")]
    assert (great["triage"] == "redundant").sum() == 2 and great["dup_of"].dropna().nunique() == 1
    assert t.set_index("text").loc["ok", "triage"] == "harmful"


def test_a_clump_of_similar_outliers_cannot_hide_in_itself():
    """30 near-identical out-of-domain rows are one another's nearest neighbours; they must still
    be flagged, and the bulk must not be."""
    from dataprep.core.config import Triage
    from dataprep.core.triage import triage_frame

    rng = np.random.default_rng(0)
    centres = rng.normal(0, 4, (5, 16))
    bulk = centres[rng.integers(5, size=3000)] + rng.normal(0, 1, (3000, 16))
    clump = rng.normal(0, 0.3, (30, 16)) + 25.0
    X = np.r_[bulk, clump].astype(np.float32)
    man = pd.DataFrame({"sample_id": [f"s{i:05d}" for i in range(len(X))], "modality": "tabular",
                        "width": np.nan, "height": np.nan})
    out = triage_frame(man, X, Triage(), None)
    ood = out["is_outlier"].to_numpy(bool)
    assert (out["is_near_duplicate"] == out["dup_of"].notna()).all()
    assert (out["is_junk"] | out["is_outlier"] | (out["flags"] == "")).all()
    assert ood[3000:].all()
    assert ood[:3000].mean() < 0.01


def test_triage_warns_with_the_likely_cause(tmp_path):
    """A dataset that decodes to flat images is called out, not silently emptied."""
    import json
    import subprocess

    import yaml

    from conftest import write_png

    for i in range(30):
        write_png(tmp_path / "src" / "a" / f"{i}.png", value=100 + i, size=20)
    for i in range(4):
        write_png(tmp_path / "src" / "b" / f"n{i}.png", size=20, seed=i)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"acquire": {"source": str(tmp_path / "src")}}))
    for cmd in ("acquire", "features"):
        assert subprocess.run(["dataprep", cmd], cwd=tmp_path, capture_output=True).returncode == 0
    res = subprocess.run(["dataprep", "--json", "triage"], cwd=tmp_path, capture_output=True, text=True)
    warnings = json.loads(res.stdout)["warnings"]
    assert any("nearly constant after decoding" in w and "transparency" in w for w in warnings), warnings


def _modality_sources(root):
    """A generated source per modality the near-duplicate search serves, each with a planted
    near-duplicate: images of every stored kind (alpha, EXIF, palette, 16-bit, CMYK) plus a
    resized copy of one and a cropped copy of another; texts plus a copy of one with a common word
    added (a different text, a nearly equal feature vector); tabular rows plus one scaled by 1.001."""
    from dataprep.demo.examples import image_folder, tabular_csv, text_csv

    src = image_folder(root / "images", n_per_class=10, seed=3)
    first, second = sorted((src / "ring").glob("alpha_*.png"))[:2]
    with Image.open(first) as im:
        im.resize((im.width * 2, im.height * 2)).save(src / "ring" / "planted_bigger.png")
    with Image.open(second) as im:
        w, h = im.size
        im.crop((2, 2, w - 2, h - 2)).save(src / "ring" / "planted_cropped.png")
    text = pd.read_csv(text_csv(root / "text.csv", n_per_class=25, seed=3))
    words = text.loc[0, "text"].split()
    text = pd.concat([text, pd.DataFrame({"text": [" ".join(words + ["the"])], "label": [text.loc[0, "label"]]})])
    text.to_csv(root / "text.csv", index=False)
    tab = pd.read_csv(tabular_csv(root / "tabular.csv", n_per_class=40, seed=3)).dropna()
    copy = tab.iloc[[0]].copy()
    copy[[c for c in tab.columns if c != "label"]] *= 1.001
    pd.concat([tab, copy]).to_csv(root / "tabular.csv", index=False)
    return {"image": (src, {"ring/planted_bigger.png": f"ring/{first.name}",
                                   "ring/planted_cropped.png": f"ring/{second.name}"}), "text": (root / "text.csv", None),
            "tabular": (root / "tabular.csv", None)}


def test_triage_by_ranges_and_cells_equals_triage_in_one_piece_in_every_modality(tmp_path, monkeypatch):
    """The near-duplicate search by cells (`dataprep.core.near_duplicates.sharded_pairs`, what a
    Dask cluster and pools over 2M items use) cut into many cells, ranges and buckets, and the
    per-sample pass (outlier distance, cluster) cut into many row ranges, run through worker
    processes, give the same triage as one index and one piece, and find the planted copies."""
    import yaml

    from dataprep.core import near_duplicates
    from dataprep.core import triage as triage_module

    for modality, (source, planted) in _modality_sources(tmp_path / "src").items():
        frames = {}
        for how in ("one_index", "cells"):
            root = tmp_path / modality / how
            root.mkdir(parents=True)
            (root / "params.yaml").write_text(yaml.safe_dump({"acquire": {"source": str(source)}}))
            if how == "cells":
                monkeypatch.setattr(near_duplicates, "LOCAL_MAX", 0)
                monkeypatch.setattr(near_duplicates, "PART", 16)       # 5-10 ranges and buckets
                monkeypatch.setattr(near_duplicates, "CELL", 6)        # 10-25 cells
                monkeypatch.setattr(triage_module, "PART", 16)         # per-sample pass: 5-10 ranges
            p = open_project(root / "params.yaml")
            acquire(p)
            triage(p)
            monkeypatch.undo()
            frames[how] = store.read_table(p.data, "triage")
            assert not list(p.data.glob(".near-duplicates-*")) and not list(p.data.glob(".triage-*"))
        pd.testing.assert_frame_equal(frames["one_index"], frames["cells"])
        t = frames["cells"]
        man = store.read_table(p.data, "manifest").set_index("sample_id")
        if planted:         # each copy and its original: one is the other's representative
            by_name = t.set_index(t["sample_id"].map(man["source"]).str.split("/").str[-2:].str.join("/"))
            for copy, original in planted.items():
                a, b = by_name.loc[copy], by_name.loc[original]
                assert a["dup_of"] == b["sample_id"] or b["dup_of"] == a["sample_id"], (copy, a.to_dict(), b.to_dict())
        else:
            assert (t["triage"] == "redundant").sum() >= 1, modality
        assert t["dup_of"].notna().sum() >= (2 if planted else 1), modality


def test_two_level_quantizer_finds_the_nearest_cells_of_a_flat_search():
    """The near-duplicate cells' quantizer (two levels, a faiss IVF over the fine centroids, 8 of
    its top cells probed) gives every row a valid cell, and almost always the cell an exhaustive
    search over all fine centroids gives; the cells' sizes stay near the target."""
    import faiss

    from dataprep.core.near_duplicates import TOP_PROBES, _nearest_cells, _quantizer, unit

    rng = np.random.default_rng(3)
    X = unit(rng.normal(0, 1, (40_000, 24)).astype(np.float32) + rng.normal(0, 2, (6, 24)).astype(np.float32)[
        rng.integers(0, 6, 40_000)])
    quantizer, cells = _quantizer(X[:20_000], 400, seed=0)
    index = faiss.deserialize_index(quantizer)
    assert index.nlist > TOP_PROBES and 300 <= cells <= 400 and index.ntotal == cells
    got = _nearest_cells(quantizer, X[20_000:], 3)
    assert got.min() >= 0 and got.max() < cells
    flat = faiss.IndexFlatL2(24)
    index.make_direct_map()
    flat.add(index.reconstruct_n(0, cells))
    _, exact = flat.search(X[20_000:], 3)
    assert (got[:, 0] == exact[:, 0]).mean() >= .97
    sizes = np.bincount(got[:, 0], minlength=cells)
    assert sizes.max() <= 4 * len(got) / cells


def test_table_rows_are_near_duplicates_when_close_not_when_they_point_the_same_way():
    """In 2 columns most rows point the way of some other row: by cosine distance 84% of a
    Gaussian table and half of iris were 'near-duplicates'. Rows are near-duplicates when close
    (under .13 of the median nearest-neighbour distance): planted copies with a little noise
    are found, and the rest stay."""
    from sklearn.datasets import load_iris

    from dataprep.core.config import Triage
    from dataprep.core.triage import triage_frame

    def frame(X):
        X = (X - X.mean(0)) / X.std(0)
        man = pd.DataFrame({"sample_id": [f"s{i:05d}" for i in range(len(X))], "modality": "tabular",
                            "width": np.nan, "height": np.nan})
        return triage_frame(man, X.astype(np.float32), Triage(), None)

    rng = np.random.default_rng(0)
    for d in (2, 3, 8):
        base = rng.normal(size=(600, d))
        copies = base[:20] + rng.normal(0, 1e-3, (20, d))
        out = frame(np.r_[base, copies])
        dup = out["is_near_duplicate"].to_numpy()
        for i in range(20):
            a, b = out.iloc[i], out.iloc[600 + i]
            assert a["dup_of"] == b["sample_id"] or b["dup_of"] == a["sample_id"], (d, i)
        assert dup[20:600].mean() < 0.03, (d, dup[20:600].mean())
    assert frame(load_iris().data)["is_near_duplicate"].mean() < 0.03


def test_a_picture_in_other_colours_is_no_near_duplicate_but_a_grey_copy_is(project, tmp_path):
    """The near-duplicate thumbnails are grey: the same picture with its colours swapped (a red
    and a blue shirt in one pose) was a near-duplicate and set aside. Its colours now tell it
    apart; a grey, cropped, recompressed or brighter copy is still found."""
    src = tmp_path / "imgs"
    for i in range(30):
        _save(_scene(i), src / f"scene{i:02d}.png")
    y, cb, cr = _scene(0).convert("YCbCr").split()                             # same grey picture, other colours
    swapped = Image.merge("YCbCr", (y, cr, cb)).convert("RGB")
    assert np.abs(np.asarray(swapped.convert("L"), float) - np.asarray(_scene(0).convert("L"), float)).mean() < 2
    _save(swapped, src / "recoloured.png")
    _save(_scene(1).convert("L"), src / "grey_copy.png")
    w, h = _scene(2).size
    _save(_scene(2).crop((4, 4, w - 4, h - 4)), src / "cropped_copy.jpg", fmt="JPEG", quality=70)
    _save(ImageEnhance.Brightness(_scene(3)).enhance(1.2), src / "brighter_copy.png")
    man, t = _triaged(project, "imgs")
    t["name"] = t["sample_id"].map(man["source"]).str.split("/").str[-1]
    t = t.set_index("name")
    ids = {n: man.index[man["source"].str.endswith(n)][0] for n in ("scene00.png", "scene01.png", "scene02.png", "scene03.png")}
    for copy, original in (("grey_copy.png", "scene01.png"), ("cropped_copy.jpg", "scene02.png"),
                           ("brighter_copy.png", "scene03.png")):
        a, b = t.loc[copy], t.loc[original]
        assert a["dup_of"] == ids[original] or b["dup_of"] == a["sample_id"], (copy, a.to_dict())
    assert t.loc["recoloured.png", "triage"] == "keep" and t.loc["scene00.png", "triage"] == "keep", \
        t.loc[["recoloured.png", "scene00.png"]].to_dict()
