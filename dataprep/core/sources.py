"""Bundled demo source: scikit-learn's digits written out as PNG files.

The 8x8 images are upscaled (nearest neighbour, x8) and inverted to a dark
digit on white so the Label Studio UI shows something an annotator can read.
Files are written once into class subfolders; their bytes are deterministic,
so sample ids are the same on every machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from dataprep.core.atomic import atomic_path, write_text

DIGITS_SCALE = 8


def digit_image(pixels_8x8: np.ndarray, scale: int = DIGITS_SCALE) -> Image.Image:
    arr = 255 - np.clip(pixels_8x8 * 16, 0, 255).astype(np.uint8)
    return Image.fromarray(arr.reshape(8, 8), mode="L").resize((8 * scale, 8 * scale), Image.NEAREST)


DIGITS_COUNT = 1797
WRITTEN = ".written"      # the count of files written, once all are


def _count(folder: Path) -> int:
    return sum(1 for d in folder.iterdir() if d.is_dir() for f in d.iterdir() if f.suffix == ".png")


def write_digits(folder: Path) -> Path:
    """Write digits to `folder/<label>/<index>.png` (skipping files already there). Once all
    are written a marker says so, and later calls only count the files (every `acquire` of the
    demo calls this: loading scikit-learn to check 1,797 files took two seconds)."""
    marker = folder / WRITTEN
    if marker.exists() and marker.read_text().strip() == str(DIGITS_COUNT) and _count(folder) == DIGITS_COUNT:
        return folder
    from sklearn.datasets import load_digits

    digits = load_digits()
    for i, (img, label) in enumerate(zip(digits.images, digits.target)):
        path = folder / str(label) / f"{i:04d}.png"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            digit_image(img).save(tmp, format="PNG", optimize=False)
    write_text(marker, f"{len(digits.images)}\n")
    return folder
