"""Generated datasets of every modality dataprep claims, as people have them.

Nothing is downloaded; every generator is seeded, so a fixture is the same
bytes on every machine. Used by the tests, the benchmarks and `dataprep example`
(the data of the README's tutorials). A demo helper, not a stage: no core
module imports it.

Images carry their class as a shape (ring, square, triangle, cross, bar) drawn
in one of the ways real files hide it:

- `alpha`: RGBA PNG whose colour channels are one flat colour; the shape is
  only in the alpha channel (icons, logos, cut-outs);
- `exif`: JPEG stored rotated, with the EXIF orientation that turns it back;
- `palette`: palette GIF with a transparent index, some animated (2 frames);
- `deep`: 16-bit grey PNG using 12 bits of range;
- `cmyk`: CMYK JPEG;
- `heic`: HEIC, as phones store photos (browsers do not show it: Label Studio gets a PNG view);
- `huge`: one 150-megapixel PNG (`huge_png`), a few hundred KB on disk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("ring", "square", "triangle", "cross", "bar")
KINDS = ("alpha", "exif", "palette", "deep", "cmyk", "heic")


def shape_mask(shape: str, size: int, rng: np.random.Generator) -> Image.Image:
    """A white-on-black 'L' mask of `shape`, jittered in place, size and stroke."""
    m = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(m)
    s = size * rng.uniform(0.28, 0.4)
    cx, cy = size / 2 + rng.uniform(-0.1, 0.1) * size, size / 2 + rng.uniform(-0.1, 0.1) * size
    w = max(2, int(size * rng.uniform(0.06, 0.1)))
    if shape == "ring":
        d.ellipse([cx - s, cy - s, cx + s, cy + s], outline=255, width=w)
    elif shape == "square":
        d.rectangle([cx - s, cy - s, cx + s, cy + s], outline=255, width=w)
    elif shape == "triangle":
        d.polygon([(cx, cy - s), (cx - s, cy + s), (cx + s, cy + s)], outline=255, width=w)
    elif shape == "cross":
        d.line([(cx - s, cy - s), (cx + s, cy + s)], fill=255, width=w)
        d.line([(cx - s, cy + s), (cx + s, cy - s)], fill=255, width=w)
    else:
        d.rectangle([cx - s, cy - w, cx + s, cy + w], fill=255)
    return m


def _flat(size: int, rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def write_image(path: Path, shape: str, kind: str, rng: np.random.Generator, size: int = 48) -> Path:
    """One image of `shape` stored the `kind` way (see module docstring)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mask = shape_mask(shape, size, rng)
    if kind == "alpha":
        # colour channels: one flat colour everywhere (transparent pixels too); shape only in alpha
        im = Image.new("RGBA", (size, size), _flat(size, rng) + (0,))
        im.putalpha(mask)
        im.save(path, "PNG")
    elif kind == "exif":
        fg, bg = np.array(_flat(size, rng)), np.array(_flat(size, rng))
        lum = np.array([0.299, 0.587, 0.114])
        if abs(float(fg @ lum) - float(bg @ lum)) < 80:
            bg = np.where(fg @ lum < 128, 235, 20) * np.ones(3)
        m = np.asarray(mask, np.float32)[..., None] / 255
        shown = Image.fromarray((fg * m + bg * (1 - m)).astype(np.uint8), "RGB")
        # stored turned 90 degrees counter-clockwise, tagged 6 ("rotate 90 clockwise to display")
        exif = Image.Exif()
        exif[0x0112] = 6
        shown.transpose(Image.Transpose.ROTATE_90).save(path, "JPEG", quality=92, exif=exif)
    elif kind == "palette":
        frame = Image.new("P", (size, size), 0)
        frame.putpalette([0, 0, 0] + list(_flat(size, rng)) + [0, 0, 0] * 254)
        frame.paste(1, mask=mask.point(lambda v: 255 if v > 127 else 0))
        if rng.random() < 0.5:
            second = Image.new("P", (size, size), 0)
            second.putpalette(frame.getpalette())
            frame.save(path, "GIF", transparency=0, save_all=True, append_images=[second], duration=200)
        else:
            frame.save(path, "GIF", transparency=0)
    elif kind == "deep":
        lo, hi = int(rng.integers(100, 600)), int(rng.integers(2500, 4095))     # 12 bits used of 16
        arr = (lo + (np.asarray(mask, np.float64) / 255) * (hi - lo)).astype(np.uint16)
        Image.fromarray(arr).save(path, "PNG")
    elif kind == "cmyk":
        m = np.asarray(mask, np.float32)[..., None] / 255
        fg = np.array([0, 0, 0, 230], np.float32)
        bg = np.array([rng.integers(0, 60), rng.integers(0, 60), rng.integers(0, 60), 0], np.float32)
        Image.fromarray((fg * m + bg * (1 - m)).astype(np.uint8), "CMYK").save(path, "JPEG", quality=92)
    elif kind == "heic":
        import pillow_heif

        pillow_heif.register_heif_opener()

        fg, bg = np.array(_flat(size, rng)), np.array(_flat(size, rng))
        if abs(float(fg.mean()) - float(bg.mean())) < 80:
            bg = np.where(fg.mean() < 128, 235, 20) * np.ones(3)
        m = np.asarray(mask, np.float32)[..., None] / 255
        Image.fromarray((fg * m + bg * (1 - m)).astype(np.uint8), "RGB").save(path, "HEIF", quality=90)
    else:
        raise ValueError(kind)
    return path


def image_folder(root: Path, n_per_class: int = 24, kinds=KINDS, shapes=SHAPES[:3], seed: int = 0) -> Path:
    """`root/<shape>/<kind>_<i>.<ext>`: n_per_class images per class, the kinds in turn."""
    rng = np.random.default_rng(seed)
    ext = {"alpha": "png", "exif": "jpg", "palette": "gif", "deep": "png", "cmyk": "jpg", "heic": "heic"}
    for shape in shapes:
        for i in range(n_per_class):
            kind = kinds[i % len(kinds)]
            write_image(root / shape / f"{kind}_{i:03d}.{ext[kind]}", shape, kind, rng)
    return root


def huge_png(path: Path, megapixels: float = 150.0, shape: str = "ring") -> Path:
    """An RGB PNG of `megapixels`, the shape drawn large; small on disk (flat regions)."""
    import pyvips

    side = int(np.sqrt(megapixels * 1e6))
    mask = shape_mask(shape, 512, np.random.default_rng(1))
    small = pyvips.Image.new_from_array(np.asarray(mask)).cast("uchar")
    big = small.resize(side / 512, kernel="nearest")
    rgb = big.bandjoin([big, big]).linear([0.8, 0.1, 0.1], [20, 20, 200]).cast("uchar")
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb.pngsave(str(path), compression=1)
    return path


# ------------------------------------------------------------------ text and tabular
TOPICS = {
    "sport": "match goal team season coach league player score win stadium referee cup".split(),
    "science": "atom cell experiment theory energy particle lab molecule data physics gene orbit".split(),
    "cooking": "oven recipe flour butter garlic simmer sauce bake salt pepper onion dough".split(),
    "finance": "stock market bank loan interest rate bond fund price share inflation budget".split(),
}
COMMON = "the a of and to in is was for on with as by at from it this that we they said about".split()


def text_csv(path: Path, n_per_class: int = 60, seed: int = 0, label_column: str = "label") -> Path:
    """A topic-classification CSV (`text`, `label`), topic words diluted with common words
    and other topics' words so the task is learnable but not trivial."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    names = list(TOPICS)
    rows = []
    for c in names:
        for i in range(n_per_class):
            words = []
            for _ in range(int(rng.integers(12, 30))):
                r = rng.random()
                pool = TOPICS[c] if r < 0.45 else TOPICS[names[rng.integers(len(names))]] if r < 0.55 else COMMON
                words.append(pool[rng.integers(len(pool))])
            rows.append({"text": " ".join(words) + f" #{i}", label_column: c})
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).sample(frac=1.0, random_state=seed).to_csv(path, index=False)
    return path


def tabular_csv(path: Path, n_per_class: int = 80, n_features: int = 6, seed: int = 0,
                written: bool = False) -> Path:
    """Three Gaussian classes in `n_features` numeric columns (some values missing) and a label.
    `written`: f1 as a spreadsheet writes money, thousands times larger ('$1,234.56'), as
    `dataprep example tabular` writes it (acquire reads it as numbers)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1.6, (3, n_features))
    frames = []
    for k, c in enumerate(centres):
        x = c + rng.normal(0, 1.0, (n_per_class, n_features))
        df = pd.DataFrame(x, columns=[f"f{j}" for j in range(n_features)])
        df["label"] = f"class_{k}"
        frames.append(df)
    df = pd.concat(frames).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    df.loc[rng.random(len(df)) < 0.03, "f0"] = np.nan
    if written and n_features > 1:
        df["f1"] = [f"{'-' if v < 0 else ''}${abs(v) * 1000:,.2f}" for v in df["f1"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return path


def broad_and_compact(n: int = 6000, n_features: int = 32, seed: int = 0,
                      spread: tuple[float, float, float] = (0.2, 1.0, 0.5)) -> tuple[np.ndarray, np.ndarray]:
    """A pool where the two commonest of 9 classes (61%) are broad and surround seven compact
    ones: centres at scale `spread[0]`, broad classes with spread `spread[1]`, compact ones
    `spread[2]`. The shape of a real 9-class image set on which density-based cold-start picks
    landed only in the compact classes. Returns (X float32, y int)."""
    rng = np.random.default_rng(seed)
    y = rng.choice(9, size=n, p=np.r_[0.33, 0.28, np.full(7, 0.39 / 7)])
    centres = rng.normal(0, 1, (9, n_features)) * spread[0]
    std = np.r_[spread[1], spread[1], np.full(7, spread[2])]
    return (centres[y] + rng.normal(0, 1, (n, n_features)) * std[y, None]).astype(np.float32), y


def _draw_object(d: ImageDraw.ImageDraw, shape: str, box: tuple[float, float, float, float], width: int) -> None:
    """`shape` drawn so that its tight bounding box is `box` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    if shape == "ring":
        d.ellipse([x0, y0, x1 - 1, y1 - 1], outline=255, width=width)
    elif shape == "square":
        d.rectangle([x0, y0, x1 - 1, y1 - 1], outline=255, width=width)
    elif shape == "triangle":
        d.polygon([((x0 + x1) / 2, y0), (x0, y1 - 1), (x1 - 1, y1 - 1)], fill=255)
    elif shape == "cross":
        d.line([(x0, y0), (x1 - 1, y1 - 1)], fill=255, width=width)
        d.line([(x0, y1 - 1), (x1 - 1, y0)], fill=255, width=width)
    else:
        d.rectangle([x0, y0, x1 - 1, y1 - 1], fill=255)


def _texture(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A coloured low-frequency texture with fine grain, (h, w, 3) uint8."""
    coarse = rng.normal(0, 1, (max(2, h // 24), max(2, w // 24), 3))
    up = np.stack([np.asarray(Image.fromarray(((coarse[..., c] + 3) * 40).clip(0, 255).astype(np.uint8))
                              .resize((w, h), Image.BICUBIC), np.float32) for c in range(3)], -1)
    base = rng.uniform(40, 140, 3)
    return (0.5 * up + 0.5 * base + rng.normal(0, 6, (h, w, 3))).clip(0, 255).astype(np.uint8)


DETECTION_KINDS = ("rgb", "exif", "alpha", "deep")


def detection_folder(root: Path, n_images: int = 24, shapes=SHAPES[:4], kinds=DETECTION_KINDS, seed: int = 0,
                     sizes=((14, 26), (36, 64), (80, 130)), max_objects: int = 4) -> Path:
    """`root/images/<kind>_<i>.<ext>`: shapes (the classes) on textured backgrounds, 0 to
    `max_objects` per image at small, medium and large sizes, images 160-420 px a side; the true
    boxes in `root/annotations.json` (COCO, file names relative to `root/images`, pixels of the
    image as displayed: an `exif` image is stored turned and tagged to be turned back).
    Returns `root`."""
    import json

    rng = np.random.default_rng(seed)
    ext = {"rgb": "png", "exif": "jpg", "alpha": "png", "deep": "png"}
    (root / "images").mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for i in range(n_images):
        kind = kinds[i % len(kinds)]
        W, H = (int(v) for v in rng.integers(160, 420, 2))
        mask = Image.new("L", (W, H), 0)
        d = ImageDraw.Draw(mask)
        placed: list[tuple[float, float, float, float, str]] = []
        for _ in range(int(rng.integers(0, max_objects + 1))):
            for _try in range(20):
                lo, hi = sizes[int(rng.integers(len(sizes)))]
                shape = shapes[int(rng.integers(len(shapes)))]
                bw = int(rng.integers(lo, hi + 1))
                bh = max(6, int(bw * rng.uniform(0.25, 0.35))) if shape == "bar" else int(bw * rng.uniform(0.8, 1.25))
                if bw >= W - 4 or bh >= H - 4:
                    continue
                x0, y0 = int(rng.integers(2, W - bw - 2)), int(rng.integers(2, H - bh - 2))
                b = (x0, y0, x0 + bw, y0 + bh)
                if all(b[2] <= p[0] - 3 or p[2] <= b[0] - 3 or b[3] <= p[1] - 3 or p[3] <= b[1] - 3 for p in placed):
                    _draw_object(d, shape, b, max(2, bw // 8))
                    placed.append((*b, shape))
                    break
        m = np.asarray(mask, np.float32)[..., None] / 255
        fg = rng.uniform(190, 255, 3) if rng.random() < 0.5 else rng.uniform(0, 30, 3)
        path = root / "images" / f"{kind}_{i:03d}.{ext[kind]}"
        if kind == "alpha":        # the objects opaque, the textured background half transparent
            rgb = fg * m + _texture(W, H, rng) * (1 - m)
            rgba = np.concatenate([rgb, 255 * m + 128 * (1 - m)], -1).astype(np.uint8)
            Image.fromarray(rgba, "RGBA").save(path)
        elif kind == "deep":       # 16-bit grey, 12 bits of range
            grey = _texture(W, H, rng).mean(-1) * (1 - m[..., 0]) + 240 * m[..., 0]
            Image.fromarray((grey * 16).astype(np.uint16)).save(path)
        else:
            rgb = Image.fromarray((fg * m + _texture(W, H, rng) * (1 - m)).astype(np.uint8), "RGB")
            if kind == "exif":     # stored turned 90 degrees counter-clockwise, tagged 6
                exif = Image.Exif()
                exif[0x0112] = 6
                rgb.transpose(Image.Transpose.ROTATE_90).save(path, "JPEG", quality=92, exif=exif)
            else:
                rgb.save(path)
        images.append({"id": i + 1, "file_name": path.name, "width": W, "height": H})
        for x0, y0, x1, y1, shape in placed:
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": shapes.index(shape) + 1,
                         "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0), "iscrowd": 0})
    coco = {"images": images, "annotations": anns,
            "categories": [{"id": k + 1, "name": s} for k, s in enumerate(shapes)]}
    (root / "annotations.json").write_text(json.dumps(coco, indent=1))
    return root


def detection_truth(root: Path) -> list[dict]:
    """The true boxes `detection_folder(root)` wrote, an entry per image: its COCO `id`,
    `file_name`, `width`, `height` and `boxes` (`{label, x_min, y_min, x_max, y_max}` in
    pixels of the image as displayed)."""
    import json

    coco = json.loads((root / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    out = {im["id"]: {**{k: im[k] for k in ("id", "file_name", "width", "height")}, "boxes": []}
           for im in coco["images"]}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        out[a["image_id"]]["boxes"].append({"label": names[a["category_id"]], "x_min": x, "y_min": y,
                                            "x_max": x + w, "y_max": y + h})
    return list(out.values())
