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

from dataprep.core.atomic import atomic_path

DIGITS_SCALE = 8


def digit_image(pixels_8x8: np.ndarray, scale: int = DIGITS_SCALE) -> Image.Image:
    arr = 255 - np.clip(pixels_8x8 * 16, 0, 255).astype(np.uint8)
    return Image.fromarray(arr.reshape(8, 8), mode="L").resize((8 * scale, 8 * scale), Image.NEAREST)


def write_digits(folder: Path) -> Path:
    """Write digits to `folder/<label>/<index>.png` (skipping files already there)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    for i, (img, label) in enumerate(zip(digits.images, digits.target)):
        path = folder / str(label) / f"{i:04d}.png"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            digit_image(img).save(tmp, format="PNG", optimize=False)
    return folder
