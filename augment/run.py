"""The augment stage: accepted, training-split images -> `augmented/` + `augmented.parquet`.

Every augmented file is a pure function of (parent image, pipeline, seed,
copy index): the per-copy seed is a hash of those, passed to
`Compose.set_random_seed` (albumentations 2.x ignores the global `random` and
`numpy` seeds). So a rerun writes byte-identical files, and changing the
pipeline changes exactly the outputs it touches. The applied parameters
(`save_applied_params`) are stored per row as the replay.

Boxes travel with the image (`pascal_voc` pixels, `clip=True` so float drift
never raises "x_min outside [0, 1]"); boxes pushed out of the image are
dropped and counted. Work is spread over joblib workers in batches, holding
one batch of images in memory at a time.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from augment.pipelines import A, fingerprint, load
from dataprep.core import store
from dataprep.core.atomic import atomic_path, record_write, write_bytes, write_text
from dataprep.core.errors import UserError
from dataprep.core.ids import content_id
from dataprep.core.images import DEFAULT_MAX_PIXELS, image_size, load_rgb
from dataprep.core.parallel import map_batches
from dataprep.core.project import Project

BATCH = 64
README = "README.txt"     # keeps the folder non-empty before the first accepted image


def seed_for(parent_id: str, fp: str, seed: int, copy: int) -> int:
    h = hashlib.blake2b(f"{parent_id}:{fp}:{seed}:{copy}".encode(), digest_size=4).digest()
    return int.from_bytes(h, "little") & 0x7FFFFFFF


def _jsonable(v):
    """The replay as JSON: parameters and small matrices; large arrays (a noise map is one
    value per pixel) are summarised by shape, since (parent, pipeline, seed) regenerates them."""
    if isinstance(v, np.ndarray):
        return v.round(6).tolist() if v.size <= 64 else {"array_shape": list(v.shape), "dtype": str(v.dtype)}
    if isinstance(v, (np.floating, float)):
        return round(float(v), 6)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def compose(pipeline_doc: dict, detection: bool, min_visibility: float) -> A.Compose:
    base = A.from_dict(pipeline_doc)
    bbox = A.BboxParams(format="pascal_voc", clip=True, min_visibility=min_visibility,
                        label_fields=["labels"]) if detection else None
    return A.Compose(base.transforms, bbox_params=bbox, save_applied_params=True)


def augment_one(comp: A.Compose, img: np.ndarray, label: str, detection: bool, seed: int) -> tuple[np.ndarray, str, Any, int]:
    """One augmented copy: (image, label, replay, boxes dropped)."""
    comp.set_random_seed(seed)
    if detection:
        boxes = json.loads(label)
        # each box travels with its index, so what it carries besides corners (class, annotators,
        # score: its lineage) follows it into the copy
        r = comp(image=img, bboxes=np.array([[b["x_min"], b["y_min"], b["x_max"], b["y_max"]] for b in boxes],
                                            dtype=np.float32).reshape(-1, 4), labels=list(range(len(boxes))))
        out = [{**boxes[int(k)], "x_min": round(float(b[0]), 2), "y_min": round(float(b[1]), 2),
                "x_max": round(float(b[2]), 2), "y_max": round(float(b[3]), 2)} for b, k in zip(r["bboxes"], r["labels"])]
        # dropped: boxes with no copy left in the image (reflection padding may also mirror a box in)
        return r["image"], json.dumps(out), r["applied_transforms"], len(set(range(len(boxes))) - set(map(int, r["labels"])))
    r = comp(image=img)
    return r["image"], label, r["applied_transforms"], 0


def _png_bytes(arr: np.ndarray, grey: bool) -> bytes:
    im = Image.fromarray(arr)
    if grey and im.mode != "L":
        im = im.convert("L")
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _scale_boxes(label: str, factor: float) -> str:
    """Pixel boxes of the image as displayed -> the same boxes on a copy `factor` times its size."""
    return json.dumps([{**b, **{k: round(b[k] * factor, 2) for k in ("x_min", "y_min", "x_max", "y_max")}}
                       for b in json.loads(label)])


def _batch(items: list[dict], doc: dict, fp: str, seed: int, out_dir: str, detection: bool, mv: float,
           max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[list[dict], int]:
    comp = compose(doc, detection, mv)
    rows, dropped = [], 0
    for it in items:
        # as displayed (transparency, EXIF, deep and huge images: dataprep.core.images); a file over the
        # pixel budget is augmented shrunk, its boxes scaled with it
        im = load_rgb(it["path"], max_pixels=max_pixels)
        img = np.asarray(im)
        grey = bool((img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all())
        parent_label = it["label"]
        width = image_size(it["path"])[0]
        if detection and isinstance(parent_label, str) and im.width != width:
            parent_label = _scale_boxes(parent_label, im.width / width)
        for c in range(it["copies"]):
            s = seed_for(it["sample_id"], fp, seed, c)
            out, label, replay, d = augment_one(comp, img, parent_label, detection, s)
            if out.shape == img.shape and np.array_equal(out, img):
                continue        # every transform skipped by its p: a copy of the parent adds nothing
            dropped += d
            data = _png_bytes(out, grey)
            sid = content_id(data)
            dest = Path(out_dir) / f"{sid}.png"
            if not dest.exists():
                write_bytes(dest, data, fsync=False)
            record_write(dest)
            rows.append({"sample_id": sid, "parent_id": it["sample_id"], "path": f"augmented/{sid}.png",
                         "label": label, "transform": json.dumps(_jsonable(replay)), "seed": s, "copy": c})
    return rows, dropped


def augment_items(items: pd.DataFrame, data_dir: Path, pipeline: str | dict, copies: int,
                  copies_per_class: dict[str, int] | None = None, seed: int = 0, n_jobs: int = 2,
                  detection: bool = False, min_visibility: float = 0.3,
                  max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Augment `items` (sample_id, path relative to data_dir, label). Returns the rows and a summary."""
    comp = load(pipeline)
    doc, fp = A.to_dict(comp), fingerprint(comp)
    out_dir = data_dir / "augmented"
    out_dir.mkdir(parents=True, exist_ok=True)
    per = copies_per_class or {}
    work = [{"sample_id": r.sample_id, "path": str(data_dir / r.path), "label": r.label,
             "copies": int(per.get(str(r.label), copies))} for r in items.itertuples()]
    work = [w for w in work if w["copies"] > 0]
    rows, dropped = [], 0
    for part, d in map_batches(_batch, work, BATCH, n_jobs, "augment", doc, fp, seed, str(out_dir), detection,
                               min_visibility, max_pixels):
        rows += part
        dropped += d
    df = pd.DataFrame(rows, columns=["sample_id", "parent_id", "path", "label", "transform", "seed", "copy"])
    for path in df["path"]:             # written in worker processes: record them here
        record_write(data_dir / path)
    n_all = len(df)
    df = df.drop_duplicates("sample_id").reset_index(drop=True)   # two copies that came out identical
    if not (out_dir / README).exists():       # never an empty folder (DVC warns on every repro)
        write_text(out_dir / README, "Augmented copies of accepted training images; lineage in ../augmented.parquet.\n")
    return df, {"parents": len(work), "augmented": int(len(df)), "identical_copies_dropped": int(n_all - len(df)),
                "boxes_dropped": int(dropped), "pipeline": fp}


def augment(project: Project) -> dict[str, Any]:
    """The stage: accepted labels of the training (pool) split only; the test split never."""
    cfg = project.cfg.augment
    data = project.data
    man = store.read_table(data, "manifest")
    labels = store.read_table(data, "labels")
    items = labels.merge(man[["sample_id", "path", "split", "gone_at", "modality"]], on="sample_id")
    items = items[store.in_split(items, "pool") & (items["modality"] == "image")].sort_values("sample_id")
    classes = set(man["source_label"].dropna().astype(str))     # the data's: augment does not declare project.labels
    if project.cfg.project.task == "classification" and classes:     # known before anyone labels
        unknown = sorted(set(cfg.copies_per_class) - classes - set(labels["label"].astype(str)))
        if unknown:
            raise UserError(f"augment.copies_per_class: {', '.join(map(repr, unknown))} is no class of this project "
                            f"(classes: {', '.join(sorted(classes)[:12])})")
    df, summary = augment_items(items[["sample_id", "path", "label"]], data, cfg.pipeline, cfg.copies,
                                cfg.copies_per_class, cfg.seed, cfg.n_jobs,
                                project.cfg.project.task == "detection", cfg.min_visibility,
                                project.cfg.acquire.max_pixels)
    store.write_table(data, "augmented", df)
    remove_stale(data / "augmented", df)      # only now: until the new table is in, the old one's files stay
    if items.empty and len(man) and man["modality"].iloc[0] != "image":
        summary["note"] = "augmentation applies to images; nothing to do for this dataset"
    preview(data, df, project.reports / "augment_preview.png", project.cfg.project.task == "detection",
            empty_note=summary.get("note", "no augmented copies yet (no accepted image labels)"))
    return summary


def remove_stale(out_dir: Path, df: pd.DataFrame) -> None:
    """Delete the copies `df` (the augmented table just written) no longer lists: an older
    pipeline's, or of labels since withdrawn."""
    keep = set(df["path"].map(lambda p: Path(p).name)) | {README}
    for f in out_dir.iterdir():
        if f.name not in keep:
            f.unlink()


def preview(data_dir: Path, df: pd.DataFrame, out: Path, detection: bool, parents: int = 6, per: int = 3,
            empty_note: str = "no augmented copies") -> Path:
    """Originals beside their augmentations (boxes drawn for detection); a note when there are none,
    so the stage's declared output always exists. Not drawn again when what it would show (and
    how) is what the file already shows: a fingerprint rides in the PNG."""
    chosen = list(dict.fromkeys(df["parent_id"]))[:parents] if not df.empty else []
    labels = (store.read_table(data_dir, "labels").set_index("sample_id")["label"]
              if chosen and store.exists(data_dir, "labels") else pd.Series(dtype=str))
    shown = df[df["parent_id"].isin(chosen)].groupby("parent_id", sort=False).head(per) if chosen else df
    fp = hashlib.sha256(json.dumps([empty_note if df.empty else "", detection, per,
                                    [[pid, str(labels.get(pid))] for pid in chosen],
                                    shown[["parent_id", "path", "label"]].astype(str).values.tolist() if chosen else []]
                                   ).encode()).hexdigest()[:16]
    if _drawn(out) == fp:
        return out
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if df.empty:
        fig = plt.figure(figsize=(4, 0.6))
        fig.text(0.5, 0.5, empty_note, ha="center", va="center", fontsize=8)
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=80, format="png", metadata={PREVIEW_KEY: fp})
        plt.close(fig)
        return out

    man = store.read_table(data_dir, "manifest").set_index("sample_id")
    fig, axes = plt.subplots(len(chosen), per + 1, figsize=(1.8 * (per + 1), 1.8 * len(chosen)), squeeze=False)

    def show(ax, path, label, title):
        width, height = image_size(path)
        ax.imshow(np.asarray(load_rgb(path, max_side=256)), extent=(0, width, height, 0))
        if detection and isinstance(label, str):
            for b in json.loads(label):
                ax.add_patch(Rectangle((b["x_min"], b["y_min"]), b["x_max"] - b["x_min"], b["y_max"] - b["y_min"],
                                       fill=False, color="red", lw=1))
        ax.set_title(title, fontsize=7)
        ax.axis("off")

    for row, pid in zip(axes, chosen):
        kids = df[df["parent_id"] == pid].head(per)
        parent_path = data_dir / man.loc[pid, "path"] if pid in man.index else data_dir / kids["path"].iloc[0]
        show(row[0], parent_path, labels.get(pid), f"original {str(labels.get(pid, ''))[:12]}")
        for ax, k in zip(row[1:], kids.itertuples()):
            show(ax, data_dir / k.path, k.label, f"copy {k.copy}")
        for ax in row[1 + len(kids):]:
            ax.axis("off")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=80, format="png", metadata={PREVIEW_KEY: fp})
    plt.close(fig)
    return out


PREVIEW_KEY = "dataprep-preview"


def _drawn(path: Path) -> str | None:
    """The fingerprint of what the preview at `path` shows, if it carries one."""
    try:
        with Image.open(path) as im:
            return im.text.get(PREVIEW_KEY)
    except (OSError, ValueError, AttributeError):
        return None
