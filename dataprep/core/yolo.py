"""YOLO label folders: the true boxes a detection source may come with, as most detection
datasets are shared today (`labels/<image name>.txt`, a line per object: the class number and
the box's centre, width and height as fractions of the image; segmentation datasets write a
polygon instead, read as its bounding box). Read into the pipeline's label format (a JSON
list of pixel boxes, `labeling.boxes`), like a COCO file (`dataprep.core.coco`).

Class names come from `classes.txt` in the folder, else the `names` of a `data.yaml` in the
folder or beside it, else `project.labels` in its order. An image with an empty label file has
no objects ('[]'); an image with no label file has no known boxes (it is not a gold image).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import yaml

from dataprep.core.errors import UserError
from dataprep.core.images import image_size


def class_names(folder: Path, labels: list[str]) -> list[str]:
    """The class of each YOLO class number (module docstring)."""
    listed = folder / "classes.txt"
    if listed.is_file():
        return [line.strip() for line in listed.read_text(encoding="utf-8").splitlines() if line.strip()]
    for spec in (folder / "data.yaml", folder.parent / "data.yaml"):
        if spec.is_file():
            try:
                names = (yaml.safe_load(spec.read_text(encoding="utf-8")) or {}).get("names")
            except yaml.YAMLError as exc:
                raise UserError(f"{spec}: not YAML ({exc})") from None
            if isinstance(names, dict):
                return [str(names[k]) for k in sorted(names)]
            if isinstance(names, list):
                return [str(n) for n in names]
            raise UserError(f"{spec}: needs a list (or a number -> name map) under 'names'")
    if labels:
        return list(labels)
    raise UserError(f"acquire.boxes: {folder} names no classes: add classes.txt (a name per line, in class-number "
                    "order) or a data.yaml with names, or list them in project.labels")


def read_yolo(folder: Path, source: Path, files: list[str], labels: list[str]) -> tuple[dict[str, str], list[str]]:
    """{relative image path: JSON boxes} for the images of `files` (under `source`) that have a
    label file in `folder`, matched on the path under the folder without its suffix (images/
    and labels/ trees side by side) or on the file's stem where that is unique; and warnings.
    A line that is not a class number and 4 (or a polygon's 6 or more) fractions, or a class
    number with no name, is a `UserError` naming the file and line."""
    names = class_names(folder, labels)
    unknown = sorted(set(names) - set(labels)) if labels else []
    if unknown:
        raise UserError(f"{folder}: classes {', '.join(unknown)} are not in project.labels; add them there, or "
                        "fix the class names (classes.txt or data.yaml)")
    texts = [p for p in sorted(folder.rglob("*.txt")) if p.name != "classes.txt"]
    by_path = {p.relative_to(folder).with_suffix("").as_posix(): p for p in texts}
    stems: dict[str, list[Path]] = {}
    for p in texts:
        stems.setdefault(p.stem, []).append(p)
    out, cut, empty = {}, [], []
    for rel in files:
        key = Path(rel).with_suffix("").as_posix()
        found = by_path.get(key) or by_path.get(key.split("/", 1)[-1] if "/" in key else key)
        if found is None and len(stems.get(Path(rel).stem, [])) == 1:
            found = stems[Path(rel).stem][0]
        if found is None:
            continue
        W, H = image_size(source / rel)
        boxes = []
        for n, line in enumerate(found.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                fields = line.split()
                k = int(fields[0])
                v = [float(x) for x in fields[1:]]
                if len(v) != 4 and (len(v) < 6 or len(v) % 2) or not all(map(math.isfinite, v)) or not 0 <= k < len(names):
                    raise ValueError
            except (ValueError, IndexError):
                raise UserError(f"{found}:{n}: expected a class number (0 to {len(names) - 1}) and 4 fractions "
                                f"(centre x, centre y, width, height) or a polygon, got {line.strip()[:60]!r}") from None
            if len(v) == 4:
                cx, cy, w, h = v
                x0, y0, x1, y1 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
            else:
                x0, x1, y0, y1 = min(v[0::2]), max(v[0::2]), min(v[1::2]), max(v[1::2])
            inside = [min(max(x0, 0.0), 1.0), min(max(y0, 0.0), 1.0), min(max(x1, 0.0), 1.0), min(max(y1, 0.0), 1.0)]
            if inside != [x0, y0, x1, y1]:
                cut.append(f"{found.name}:{n}")
            if inside[2] <= inside[0] or inside[3] <= inside[1]:
                empty.append(f"{found.name}:{n}")
                continue
            boxes.append({"label": names[k], "x_min": round(inside[0] * W, 2), "y_min": round(inside[1] * H, 2),
                          "x_max": round(inside[2] * W, 2), "y_max": round(inside[3] * H, 2)})
        out[rel] = json.dumps(boxes)
    warnings = []
    if cut:
        warnings.append(f"{folder}: {len(cut)} boxes reach past their image and were cut to it (e.g. {cut[0]})")
    if empty:
        warnings.append(f"{folder}: {len(empty)} boxes have no area and were left out (e.g. {empty[0]})")
    if not out and files:
        warnings.append(f"{folder}: no label file matches an image (e.g. {Path(files[0]).stem}.txt for {files[0]})")
    return out, warnings
