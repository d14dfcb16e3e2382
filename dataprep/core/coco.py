"""COCO detection files: the true boxes a detection source may come with (gold tasks and the
simulated annotators read them as source labels), in the label format of the pipeline (a JSON
list of pixel boxes, `labeling.boxes`)."""

from __future__ import annotations

import json
import math
from pathlib import Path, PurePosixPath

from dataprep.core.errors import UserError


def read_boxes(path: Path, files: list[str], labels: list[str]) -> tuple[dict[str, str], list[str]]:
    """{relative image path: JSON boxes} for the images of `files` the COCO file `path` lists
    (matched on the path under the source folder, or on the bare file name when that is
    unique), and warnings. An image listed without annotations has no objects: '[]'. Bad input
    is a `UserError` naming the file and the key: a bbox that is not four finite numbers. A box
    reaching past its image (the COCO entry's `width` and `height`) is cut to it; one with no
    area left (a width or height of 0 or less, as real files have) is left out, as detection
    libraries do; both are counted in a warning naming the first."""
    try:
        coco = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"acquire.boxes: {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a JSON file ({exc})") from None
    for key in ("images", "annotations", "categories"):
        if not isinstance(coco, dict) or not isinstance(coco.get(key), list):
            raise UserError(f"{path}: a COCO file needs a list under {key!r}")
    try:
        names = {c["id"]: str(c["name"]) for c in coco["categories"]}
        images = {im["id"]: str(im["file_name"]) for im in coco["images"]}
    except (KeyError, TypeError) as exc:
        raise UserError(f"{path}: every category needs id and name, every image id and file_name (missing {exc})") from None
    for key, ids in (("categories", [c["id"] for c in coco["categories"]]), ("images", [im["id"] for im in coco["images"]])):
        seen: dict = {}
        for k, i in enumerate(ids):
            if i in seen:       # the later entry would take the id, and the earlier one's boxes would go to it
                raise UserError(f"{path}: {key}[{k}] has id {i!r}, as {key}[{seen[i]}] has; ids must be unique")
            seen[i] = k
    unknown = sorted(set(names.values()) - set(labels)) if labels else []
    if unknown:
        raise UserError(f"{path}: categories {', '.join(unknown)} are not in project.labels")
    sizes = {im["id"]: (im.get("width"), im.get("height")) for im in coco["images"]}
    boxes: dict[int, list[dict]] = {i: [] for i in images}
    cut, empty = [], []
    for k, a in enumerate(coco["annotations"]):
        try:
            x, y, w, h = (float(v) for v in a["bbox"])
            if not all(map(math.isfinite, (x, y, w, h))):
                raise ValueError(f"bbox {a['bbox']} is not four finite numbers")
            box = {"label": names[a["category_id"]], "x_min": x, "y_min": y, "x_max": x + w, "y_max": y + h}
            target = boxes[a["image_id"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"{path}: annotations[{k}] needs image_id, category_id and a 4-number bbox "
                            f"of a listed image and category ({exc})") from None
        width, height = sizes[a["image_id"]]
        if isinstance(width, (int, float)) and isinstance(height, (int, float)):
            inside = {"x_min": min(max(box["x_min"], 0.0), width), "y_min": min(max(box["y_min"], 0.0), height),
                      "x_max": min(max(box["x_max"], 0.0), width), "y_max": min(max(box["y_max"], 0.0), height)}
            if inside != {c: box[c] for c in inside}:
                cut.append(k)
                box.update(inside)
        if box["x_max"] <= box["x_min"] or box["y_max"] <= box["y_min"]:
            empty.append(k)
            continue
        target.append(box)
    warnings = []
    if cut:
        warnings.append(f"{path}: {len(cut)} boxes reach past their image and were cut to it "
                        f"(e.g. annotations[{cut[0]}])")
    if empty:
        warnings.append(f"{path}: {len(empty)} boxes have no area and were left out (e.g. annotations[{empty[0]}]: "
                        f"bbox {coco['annotations'][empty[0]]['bbox']})")
    by_name: dict[str, list[int]] = {}
    for i, name in images.items():
        by_name.setdefault(PurePosixPath(name).name, []).append(i)
    full = {str(PurePosixPath(name)): i for i, name in images.items()}
    out = {}
    for rel in files:
        i = full.get(str(PurePosixPath(Path(rel).as_posix())))
        if i is None and len(by_name.get(PurePosixPath(rel).name, [])) == 1:
            i = by_name[PurePosixPath(rel).name][0]
        if i is not None:
            out[rel] = json.dumps(boxes[i])
    return out, warnings
