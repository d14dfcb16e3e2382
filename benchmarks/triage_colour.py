"""Near-duplicates in colour: does the colour check (`dataprep.core.triage.same_colours`) keep
the copies and part the recolourings?

Data: 200 patches (96-192 px, resized to 128) cut at random from scikit-learn's two sample
photos (china, flower): colourful natural images, which no threshold was chosen on. For each of
the first 100, one copy of each kind:
- copies that must stay near-duplicates: JPEG at quality 50, brighter (x1.25), darker (x0.8),
  5% cropped a side, half size, grey, a white-balance shift (red x1.06, blue x0.94);
- recolourings that must not: the chroma swapped (YCbCr with Cb and Cr exchanged: the same grey
  image), the hue turned by a third (RGB -> GBR).
Rows: triage's near-duplicate search with the colour check (the product) and without it (the
grey thumbnails alone, as before). Reported: the share of each kind linked to its original, and
the pairs among the 200 distinct patches (false near-duplicates).

    python benchmarks/triage_colour.py [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageEnhance

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dataprep.core import triage as T  # noqa: E402
from dataprep.core.config import Triage  # noqa: E402

KEEP = ("jpeg50", "brighter", "darker", "crop5", "half", "grey", "white_balance")
PART = ("chroma_swap", "hue_third")


def patches(n: int, rng) -> list[Image.Image]:
    from sklearn.datasets import load_sample_images

    photos = [Image.fromarray(a) for a in load_sample_images().images]
    out = []
    while len(out) < n:
        im = photos[rng.integers(len(photos))]
        s = int(rng.integers(96, 193))
        x, y = int(rng.integers(0, im.width - s)), int(rng.integers(0, im.height - s))
        out.append(im.crop((x, y, x + s, y + s)).resize((128, 128), Image.BICUBIC))
    return out


def variant(im: Image.Image, kind: str) -> Image.Image:
    if kind == "brighter":
        return ImageEnhance.Brightness(im).enhance(1.25)
    if kind == "darker":
        return ImageEnhance.Brightness(im).enhance(0.8)
    if kind == "crop5":
        return im.crop((6, 6, 122, 122))
    if kind == "half":
        return im.resize((64, 64), Image.BILINEAR)
    if kind == "grey":
        return im.convert("L").convert("RGB")
    if kind == "white_balance":
        a = np.asarray(im, np.float32) * np.array([1.06, 1.0, 0.94])
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if kind == "chroma_swap":
        y, cb, cr = im.convert("YCbCr").split()
        return Image.merge("YCbCr", (y, cr, cb)).convert("RGB")
    if kind == "hue_third":
        return Image.fromarray(np.asarray(im)[:, :, [1, 2, 0]])
    raise ValueError(kind)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    base = patches(200, rng)
    with tempfile.TemporaryDirectory() as tmp:
        paths, kinds, origin = [], [], []
        for i, im in enumerate(base):
            p = Path(tmp) / f"p{i:03d}.png"
            im.save(p)
            paths.append(str(p)), kinds.append("original"), origin.append(i)
        for i, im in enumerate(base[:100]):
            for k in KEEP + PART:
                p = Path(tmp) / f"p{i:03d}_{k}.{'jpg' if k == 'jpeg50' else 'png'}"
                (im if k == "jpeg50" else variant(im, k)).save(p, **({"quality": 50} if k == "jpeg50" else {}))
                paths.append(str(p)), kinds.append(k), origin.append(i)
        stats = [T.image_stats(p) for p in paths]
        thumbs = np.stack([s["thumbs"] for s in stats])
        colours = np.stack([s["colour"] for s in stats])
        pairs = T._pairs(thumbs.reshape(len(paths), -1), len(T.CROPS), Triage().near_dup_threshold, None, 0, 1)
    kinds, origin = np.array(kinds), np.array(origin)
    rows = []
    for check in ("grey thumbnails alone (before)", "with the colour check (now)"):
        kept = pairs if check.startswith("grey") else pairs[T.same_colours(colours[pairs[:, 0]], colours[pairs[:, 1]])]
        linked = set()
        for a, b in kept:
            if origin[a] == origin[b]:
                linked.add(a if kinds[a] != "original" else b)
        row = {"rows": check}
        for k in KEEP + PART:
            idx = np.flatnonzero(kinds == k)
            row[k] = np.mean([i in linked for i in idx])
        orig = kinds == "original"
        row["false_pairs_among_200"] = int(sum(orig[a] and orig[b] for a, b in kept))
        rows.append(row)
    df = pd.DataFrame(rows).set_index("rows")
    print("share linked to its original (copies: higher is better; recolourings: lower is better)")
    print(df.round(2).T.to_string())


if __name__ == "__main__":
    main()
