"""Decode images as people have them, into the RGB every stage works on.

One function, `load_rgb`, is the only way the stages read pixels, so what a
sample looks like to acquisition, features, triage, augmentation and the report
is the same:

- **Transparency** (RGBA, LA, palette with a transparent index) is composited
  over a background that contrasts with the visible drawing: a black icon on a
  transparent canvas lands on white, a white one on black. Plain
  `convert("RGB")` keeps whatever colour the transparent pixels happen to hold,
  which for icons, logos and cut-outs is one flat colour: the drawing, which
  lives in the alpha channel, disappears.
- **Orientation**: the EXIF orientation tag is applied (what the camera meant,
  and what a browser shows the annotator).
- **Modes**: 16-bit and 32-bit grey are scaled by their bit depth (a 12-bit
  scan in a 16-bit file is not shown black), float images by their range,
  CMYK / YCbCr / LAB converted, 1-bit and palette expanded; animated images
  give their first frame.
- **HEIC / HEIF** (phone photos) are decoded through pillow-heif, registered with
  Pillow here, so every reader of pixels gets them; browsers do not show them, so
  Label Studio gets a PNG view (`view_path`).
- **Size**: decoding costs memory in proportion to the pixels, not to the
  file (a 484 KB PNG can hold 169 megapixels). Images above `max_pixels` are
  decoded shrunk: JPEG at a reduced DCT scale (`Image.draft`), other formats
  through libvips' streaming thumbnailer, which reads the file in strips and
  never holds the full image. Memory is then bounded by the budget, not by the
  largest file; an image neither path can shrink raises `ImageTooLarge` with
  the reason.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image, ImageOps

from dataprep.core.atomic import write_bytes

pillow_heif.register_heif_opener()      # HEIC/HEIF: phone photos (module docstring)

DEFAULT_MAX_PIXELS = 40_000_000

# 2x the budget is still decoded by PIL without complaint; the budget is ours to enforce.
Image.MAX_IMAGE_PIXELS = None


class ImageTooLarge(ValueError):
    """The image cannot be decoded within the pixel budget."""


def _oriented_size(im: Image.Image) -> tuple[int, int]:
    w, h = im.size
    if im.format == "PNG" and "exif" not in im.info:
        return w, h         # PIL's PNG getexif() decodes the whole image to look for a late eXIf chunk
    try:
        orientation = im.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block is no reason to refuse the pixels
        orientation = 1
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) as displayed (EXIF orientation applied), from the header only."""
    with Image.open(path) as im:
        return _oriented_size(im)


def _scale_deep(arr: np.ndarray) -> np.ndarray:
    """Integer images deeper than 8 bits -> uint8, scaled by the bit depth their values use."""
    arr = arr.astype(np.float64)
    top = float(arr.max()) if arr.size else 0.0
    if top <= 255:
        return arr.clip(0, 255).astype(np.uint8)
    depth = math.ceil(math.log2(top + 1))
    return (arr.clip(0, None) * (255.0 / (2 ** depth - 1))).round().clip(0, 255).astype(np.uint8)


def _to_rgba_or_rgb(im: Image.Image) -> Image.Image:
    """Any PIL mode -> 'RGB' or 'RGBA' (uint8)."""
    mode = im.mode
    if mode in ("RGB", "RGBA"):
        return im
    if mode.startswith("I") or mode == "F":
        arr = np.asarray(im)
        if mode == "F":
            lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
            arr8 = ((np.nan_to_num(arr, nan=lo) - lo) / ((hi - lo) or 1.0) * 255).round().astype(np.uint8)
        else:
            arr8 = _scale_deep(arr)
        return Image.fromarray(arr8, "L").convert("RGB")
    if mode == "P":
        return im.convert("RGBA" if "transparency" in im.info else "RGB")
    if mode in ("LA", "La", "PA", "RGBa", "RGBX"):
        return im.convert("RGBA")
    if mode == "L" and "transparency" in im.info:
        return im.convert("RGBA")
    return im.convert("RGB")


def composite(rgba: np.ndarray) -> np.ndarray:
    """RGBA (uint8) -> RGB over a background that contrasts with what is visible."""
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32)
    if float(a.min()) >= 1.0:
        return rgba[..., :3].copy()
    lum = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    weight = a[..., 0]
    fg = float((lum * weight).sum() / weight.sum()) if weight.sum() > 0 else 0.0
    bg = 255.0 if fg < 128 else 0.0
    return (rgb * a + bg * (1.0 - a)).round().clip(0, 255).astype(np.uint8)


def _via_vips(path: str, side: int) -> Image.Image:
    """Streaming shrink-on-load to fit a side x side box (alpha kept, orientation applied)."""
    try:
        import pyvips
    except ImportError as exc:     # pragma: no cover - pyvips is a dependency
        raise ImageTooLarge("install pyvips[binary] to decode images over the pixel budget") from exc
    try:
        v = pyvips.Image.new_from_file(path, access="sequential", fail_on="error")
        v = v.thumbnail_image(side, height=side, size="down").autorot()   # streams: never the whole image
        if v.interpretation in ("cmyk", "lab", "labs", "lch", "xyz", "hsv", "scrgb"):
            v = v.colourspace("srgb")
        arr = v.numpy()
    except pyvips.Error as exc:
        raise ImageTooLarge(f"libvips could not decode it shrunk ({str(exc).splitlines()[0]})") from exc
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.dtype != np.uint8:
        arr = _scale_deep(arr)
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[arr.shape[2]]
    return Image.fromarray(arr[..., 0] if mode == "L" else arr, mode)


def load_rgb(path: str | Path, max_side: int | None = None,
             max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """The image as displayed, in RGB, at most `max_side` on its longer side (if given).

    Raises `ImageTooLarge` when it cannot be decoded within `max_pixels`, and
    PIL's own errors for files that are not images or are damaged."""
    path = str(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # PIL's palette/EXIF chatter; damage still raises
        with Image.open(path) as im:
            w, h = im.size
            budget = max_pixels if not max_side else min(max_pixels, max_side * max_side * 4)
            if w * h > budget and im.format == "JPEG":
                scale = math.sqrt(budget / (w * h))
                im.draft("RGB" if im.mode not in ("L", "RGB") else im.mode,
                         (max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))))
            if im.size[0] * im.size[1] > max_pixels:
                side = int(math.sqrt(max_pixels * max(w, h) / min(w, h)))
                out = _via_vips(path, min(side, max_side or side))
            else:
                im.seek(0)
                im.load()
                out = ImageOps.exif_transpose(im)
                if out is im:
                    out = im.copy()
    out = _to_rgba_or_rgb(out)
    if max_side and max(out.size) > max_side:
        out.thumbnail((max_side, max_side), Image.BILINEAR)
    if out.mode == "RGBA":
        out = Image.fromarray(composite(np.asarray(out)), "RGB")
    return out


BROWSER_SHOWS = {"png", "jpg", "jpeg", "gif", "webp", "bmp", "avif"}   # what every browser shows an annotator


def view_path(path: str) -> str:
    """Where the image an annotator's browser shows lives: `path` itself when browsers show its
    format, else its PNG rendition beside it (`raw/<id>.view.png`, written by acquire): a TIFF,
    PPM or JPEG 2000 reached Label Studio as a broken image."""
    p = Path(path)
    return path if p.suffix.lower().lstrip(".") in BROWSER_SHOWS else str(p.with_suffix(".view.png"))


def write_view(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Path | None:
    """Write the PNG rendition of `path` (as displayed: oriented, deep and CMYK files converted,
    transparency composited) where `view_path` says, unless browsers show the file itself or the
    rendition is there. Returns what it wrote."""
    view = Path(view_path(str(path)))
    if view == Path(path) or view.exists():
        return None
    buf = io.BytesIO()
    load_rgb(path, max_pixels=max_pixels).save(buf, "PNG")
    write_bytes(view, buf.getvalue(), fsync=False)
    return view


def check_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[str, int, int]:
    """Decode the whole file (a header check misses truncation) within the budget;
    return (format, width, height) as displayed."""
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        fmt = (im.format or Path(path).suffix.lstrip(".")).lower()
        w, h = _oriented_size(im)
    if w * h > max_pixels:
        load_rgb(path, max_side=64, max_pixels=max_pixels)
    else:
        with warnings.catch_warnings(), Image.open(path) as im:
            warnings.simplefilter("ignore")
            im.load()
    return fmt, w, h
