"""Triage quality and speed: injected near-duplicates and out-of-domain images, ours vs cleanlab Datalab.

    python benchmarks/triage.py [--sizes 20000,100000] [--jobs 2] [--methods dataprep,datalab,datalab+thumbs]

Data: N digits-derived 64x64 images (two-digit numbers: two of scikit-learn's
1,797 digits, each resized, rotated and placed at random, so no two are alike:
one digit alone gives too few distinct images for 100k), then 5% of N injected
near-duplicates of random originals (resized to 48 or 96 px, JPEG-recompressed,
5%-cropped, or brightened; often two at once) and 1% of N out-of-domain images
(drawn shapes, and patches cut from scikit-learn's sample photos). The images
are written once under benchmarks/out/triage_data/<N>.

What each row gets:
- `dataprep`: dataprep's image features (16x16 pixels + HOG), and inside
  triage its own thumbnails (16x16 grey, mean-centred, L2-normalised, with
  5%-cropped variants) for near-duplicates and the native-resolution Laplacian
  texture energy for outliers;
- `datalab`: cleanlab's Datalab on the same image features;
- `datalab+thumbs`: Datalab given what ours reads besides: the features, the
  whole-image thumbnail and the log texture energy, stacked (the row where the
  baseline gets our extra information); its time includes computing them, as
  ours includes its own.

Metrics:
- near-duplicate precision: predicted pairs whose two images come from the same
  original, over all predicted pairs; recall: injected copies linked to their
  original's group, over all injected copies;
- outlier AUROC: out-of-domain vs the rest, from the outlier score;
- wall time and peak memory (max RSS of the process that ran the method).

Each (size, method) runs in its own process so the peak memory is its own.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).parent / "out"


# ---------------------------------------------------------------------- data

def _base_image(pair: tuple[np.ndarray, np.ndarray], rng: np.random.Generator):
    """A two-digit number: two of scikit-learn's digits, each warped and placed at random."""
    from PIL import Image
    from dataprep.core.sources import digit_image

    canvas = Image.new("L", (64, 64), 255)
    for slot, digit in enumerate(pair):
        w, h = int(rng.integers(22, 30)), int(rng.integers(30, 44))
        im = digit_image(digit, scale=8).resize((w, h), Image.BILINEAR)
        im = im.rotate(float(rng.uniform(-12, 12)), Image.BILINEAR, expand=True, fillcolor=255)
        x = int(rng.integers(0, 6)) + slot * 32
        y = int(rng.integers(0, max(1, 64 - im.size[1])))
        canvas.paste(Image.fromarray(np.minimum(np.asarray(canvas.crop((x, y, x + im.size[0], y + im.size[1]))),
                                                np.asarray(im))), (x, y))
    arr = np.asarray(canvas, dtype=np.float32)
    arr = np.clip(arr * rng.uniform(0.85, 1.0) + rng.uniform(0, 30), 0, 255)   # ink and paper vary
    return Image.fromarray(arr.astype(np.uint8), mode="L")


def _near_duplicate(im, rng: np.random.Generator):
    from PIL import Image, ImageEnhance

    kinds = rng.choice(["resize", "jpeg", "crop", "bright"], size=rng.integers(1, 3), replace=False)
    for k in kinds:
        if k == "resize":
            side = int(rng.choice([48, 96]))
            im = im.resize((side, side), Image.BILINEAR)
        elif k == "crop":
            w, h = im.size
            m = int(round(0.05 * w))
            im = im.crop((m, m, w - m, h - m))
        elif k == "bright":
            im = ImageEnhance.Brightness(im).enhance(float(rng.uniform(0.85, 1.15)))
        elif k == "jpeg":
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=int(rng.integers(60, 90)))
            buf.seek(0)
            im = Image.open(buf).convert("L")
    return im, "+".join(kinds)


def _ood_image(rng: np.random.Generator, photos: list[np.ndarray]):
    from PIL import Image, ImageDraw

    if rng.random() < 0.5:
        p = photos[rng.integers(len(photos))]
        side = int(rng.integers(64, 200))
        y, x = rng.integers(0, p.shape[0] - side), rng.integers(0, p.shape[1] - side)
        return Image.fromarray(p[y:y + side, x:x + side]).resize((64, 64), Image.BILINEAR), "photo patch"
    im = Image.new("RGB", (64, 64), tuple(int(v) for v in rng.integers(0, 256, 3)))
    d = ImageDraw.Draw(im)
    for _ in range(rng.integers(2, 6)):
        box = sorted(rng.integers(0, 64, 2)), sorted(rng.integers(0, 64, 2))
        xy = [box[0][0], box[1][0], box[0][1] + 4, box[1][1] + 4]
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        [d.ellipse, d.rectangle][int(rng.integers(2))](xy, fill=fill)
    return im, "drawn shapes"


def make_dataset(n: int) -> pd.DataFrame:
    """Write the images once; return the truth table (path, group, kind)."""
    folder = OUT / "triage_data" / str(n)
    truth_path = folder / "truth.parquet"
    if truth_path.exists():
        return pd.read_parquet(truth_path)
    from sklearn.datasets import load_digits, load_sample_images

    sys.path.insert(0, str(ROOT))
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n)
    digits = load_digits()
    photos = [np.asarray(p) for p in load_sample_images().images]
    rows = []
    n_dup, n_ood = n * 5 // 100, n // 100
    n_base = n - n_dup - n_ood
    bases = []
    for i in range(n_base):
        a, b = rng.integers(len(digits.images), size=2)
        im = _base_image((digits.images[a], digits.images[b]), rng)
        bases.append(im)
        rows.append({"path": f"b{i:06d}.png", "group": i, "kind": "original",
                     "digit": int(digits.target[a] * 10 + digits.target[b])})
        im.save(folder / rows[-1]["path"])
    for i, j in enumerate(rng.choice(n_base, size=n_dup, replace=True)):
        im, kind = _near_duplicate(bases[j], rng)
        rows.append({"path": f"d{i:06d}.png", "group": int(j), "kind": "copy:" + kind, "digit": rows[j]["digit"]})
        im.save(folder / rows[-1]["path"])
    for i in range(n_ood):
        im, kind = _ood_image(rng, photos)
        rows.append({"path": f"o{i:06d}.png", "group": -1 - i, "kind": "ood:" + kind, "digit": -1})
        im.save(folder / rows[-1]["path"])
    truth = pd.DataFrame(rows)
    truth.to_parquet(truth_path)
    return truth


def features(n: int, jobs: int) -> tuple[np.ndarray, float]:
    """dataprep's image features for the dataset (cached); returns (X, seconds)."""
    folder = OUT / "triage_data" / str(n)
    cache = folder / "features.npy"
    meta = folder / "features.json"
    if cache.exists() and meta.exists():
        return np.load(cache), json.loads(meta.read_text())["secs"]
    from joblib import Parallel, delayed
    from dataprep.core.features import _image_batch
    from dataprep.core.images import DEFAULT_MAX_PIXELS

    truth = make_dataset(n)
    paths = [str(folder / p) for p in truth["path"]]
    t0 = time.perf_counter()
    batches = [paths[i:i + 512] for i in range(0, len(paths), 512)]
    X = np.concatenate(Parallel(n_jobs=jobs)(delayed(_image_batch)(b, 16, True, DEFAULT_MAX_PIXELS) for b in batches))
    secs = time.perf_counter() - t0
    np.save(cache, X)
    meta.write_text(json.dumps({"secs": secs}))
    return X, secs


# ------------------------------------------------------------------- methods

def run_ours(n: int, jobs: int) -> dict:
    from dataprep.core.config import Triage
    from dataprep.core.triage import triage_frame

    truth = make_dataset(n)
    X, _ = features(n, jobs)
    man = pd.DataFrame({"sample_id": [f"s{i:07d}" for i in range(len(truth))], "path": truth["path"],
                        "modality": "image", "width": 64.0, "height": 64.0})
    t0 = time.perf_counter()
    out = triage_frame(man, X, Triage(), OUT / "triage_data" / str(n), seed=0, n_jobs=jobs)
    secs = time.perf_counter() - t0
    pos = {s: i for i, s in enumerate(man["sample_id"])}
    pairs = np.array([(i, pos[d]) for i, d in enumerate(out["dup_of"]) if isinstance(d, str)]).reshape(-1, 2)
    return {"secs": secs, "pairs": pairs.tolist(), "outlier_score": out["outlier_score"].tolist(),
            "flagged_ood": out["is_outlier"].astype(bool).tolist(),
            "harmful": (out["triage"] == "harmful").tolist()}


def our_inputs(n: int, jobs: int) -> np.ndarray:
    """The image features stacked with what our triage reads besides them: each image's
    whole-image thumbnail and its log texture energy (each block scaled to unit mean norm)."""
    from dataprep.core.images import DEFAULT_MAX_PIXELS
    from dataprep.core.parallel import map_batches
    from dataprep.core.triage import _stats_batch

    truth = make_dataset(n)
    X, _ = features(n, jobs)
    paths = [str(OUT / "triage_data" / str(n) / p) for p in truth["path"]]
    thumbs, texture = [], []
    for t, st in map_batches(_stats_batch, paths, 512, jobs, "thumbnails", DEFAULT_MAX_PIXELS):
        thumbs.append(t[:, 0, :])
        texture += [np.log1p(s["sharpness"]) for s in st]
    blocks = [np.asarray(X, np.float32), np.concatenate(thumbs), np.asarray(texture, np.float32)[:, None]]
    return np.hstack([b / (np.linalg.norm(b, axis=1).mean() + 1e-9) for b in blocks])


def run_datalab_our_inputs(n: int, jobs: int) -> dict:
    """Datalab on our inputs; its time includes computing the thumbnails and texture, as ours does."""
    t0 = time.perf_counter()
    X = our_inputs(n, jobs)
    extra = time.perf_counter() - t0
    res = run_datalab(n, jobs, X)
    return res | {"secs": res["secs"] + extra}


def run_datalab(n: int, jobs: int, X: np.ndarray | None = None) -> dict:
    from cleanlab import Datalab

    truth = make_dataset(n)
    X = features(n, jobs)[0] if X is None else X
    lab = Datalab(data={"label": truth["digit"].to_numpy()}, label_name="label", verbosity=0)
    t0 = time.perf_counter()
    lab.find_issues(features=X, issue_types={"near_duplicate": {}, "outlier": {}})
    secs = time.perf_counter() - t0
    nd = lab.get_issues("near_duplicate")
    pairs = [(i, int(j)) for i, (flag, s) in enumerate(zip(nd["is_near_duplicate_issue"], nd["near_duplicate_sets"]))
             if flag for j in s]
    od = lab.get_issues("outlier")
    return {"secs": secs, "pairs": pairs, "outlier_score": (1 - od["outlier_score"]).tolist(),
            "flagged_ood": od["is_outlier_issue"].tolist(), "harmful": od["is_outlier_issue"].tolist()}


METHODS = {"dataprep": run_ours, "datalab": run_datalab,
           "datalab+thumbs": run_datalab_our_inputs}


def child(method: str, n: int, jobs: int) -> None:
    sys.path.insert(0, str(ROOT))
    res = METHODS[method](n, jobs)
    res["peak_mb"] = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                         resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(json.dumps(res))


# ------------------------------------------------------------------- scoring

def score(truth: pd.DataFrame, res: dict) -> dict:
    from sklearn.metrics import roc_auc_score

    group = truth["group"].to_numpy()
    pairs = np.asarray(res["pairs"], dtype=np.int64).reshape(-1, 2)
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    correct = group[pairs[:, 0]] == group[pairs[:, 1]] if len(pairs) else np.zeros(0, bool)
    copies = np.flatnonzero(truth["kind"].str.startswith("copy").to_numpy())
    linked = set(pairs[correct].ravel().tolist())
    ood = truth["kind"].str.startswith("ood").to_numpy()
    flagged = np.asarray(res["flagged_ood"], bool)
    return {"dup_precision": float(correct.mean()) if len(pairs) else float("nan"),
            "dup_recall": float(np.mean([c in linked for c in copies])),
            "dup_pairs": int(len(pairs)),
            "ood_auroc": float(roc_auc_score(ood, res["outlier_score"])),
            "ood_flag_precision": float(ood[flagged].mean()) if flagged.any() else float("nan"),
            "ood_flag_recall": float(flagged[ood].mean()),
            "secs": res["secs"], "peak_mb": res["peak_mb"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="20000,100000")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--methods", default="dataprep,datalab,datalab+thumbs")
    ap.add_argument("--child", nargs=3, metavar=("METHOD", "N", "JOBS"))
    a = ap.parse_args()
    if a.child:
        child(a.child[0], int(a.child[1]), int(a.child[2]))
        return
    sys.path.insert(0, str(ROOT))
    OUT.mkdir(exist_ok=True)
    rows = []
    for n in map(int, a.sizes.split(",")):
        t0 = time.perf_counter()
        truth = make_dataset(n)
        print(f"{n}: data ready in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        _, fsecs = features(n, a.jobs)
        print(f"{n}: features {fsecs:.1f} s", file=sys.stderr)
        for m in a.methods.split(","):
            p = subprocess.run([sys.executable, __file__, "--child", m, str(n), str(a.jobs)],
                               capture_output=True, text=True)
            if p.returncode:
                print(p.stderr[-3000:], file=sys.stderr)
                rows.append({"n": n, "method": m, "error": p.stderr.strip().splitlines()[-1]})
                continue
            r = {"n": n, "method": m, **score(truth, json.loads(p.stdout.strip().splitlines()[-1])),
                 "features_secs": fsecs}
            rows.append(r)
            print(json.dumps(r), file=sys.stderr)
    df = pd.DataFrame(rows)
    df.to_csv(OUT / "triage.csv", index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 3):
        print(df.to_string(index=False))


if __name__ == "__main__":
    main()
