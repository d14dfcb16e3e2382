"""`dataprep export`: the training set, and a lineage table that traces every row back.

Images: `export/images/<label>/<sample_id>.<ext>` (a folder per class, the
layout every image-classification loader reads); detection: `export/images/`
and a COCO `export/annotations.json` (boxes `[x, y, width, height]` in pixels,
category ids from `project.labels`, each image carrying its `sample_id`); text and tabular: one
`export/train.csv` or `train.parquet`. Augmented copies (when the augment
stage ran) are included with their parent's lineage. `export/lineage.parquet`
has one row per exported row: the raw file and its sources, every annotation
id and annotator behind the label, how the label was accepted and with what
confidence, and the round, strategy and model that selected the sample.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from dataprep.core import store
from dataprep.core.acquire import TABULAR_FILE
from dataprep.core.atomic import swap_dir
from dataprep.core.errors import UserError
from dataprep.core.ids import among
from dataprep.core.images import image_size
from dataprep.core.project import Project


def lineage(project: Project) -> pd.DataFrame:
    data = project.data
    labels = store.read_table(data, "labels")
    if not project.cfg.export.include_auto:
        labels = labels[labels["method"] != "auto"]
    man = store.read_table(data, "manifest").set_index("sample_id")
    labels = labels[among(labels["sample_id"], man.index[store.in_source(man)])]    # gone from the source: out
    ann = store.current_annotations(store.read_table(data, "annotations"))
    quar = store.read_table(data, "quarantine")
    ann = ann[~ann["annotation_id"].isin(quar["annotation_id"].dropna())]
    per = ann.groupby("sample_id").agg(annotation_ids=("annotation_id", lambda s: json.dumps(sorted(map(int, s)))),
                                       annotators=("annotator", lambda s: json.dumps(sorted(set(s)))))
    sel = store.read_table(data, "selection")
    again = sel[sel["strategy"] == "reannotate"].groupby("sample_id")["round"].agg(lambda r: json.dumps(sorted(map(int, r))))
    # the round and strategy that selected the sample; re-annotation requests are listed apart
    sel = sel[sel["strategy"] != "reannotate"].drop_duplicates("sample_id", keep="last").set_index("sample_id")
    tasks = store.read_table(data, "tasks").drop_duplicates("sample_id", keep="last").set_index("sample_id")
    out = labels.set_index("sample_id").join(per, how="left")
    # a gold label is the known one: it stands even when its only annotation was quarantined
    human = out["method"] != "auto"                  # an auto-label has no annotation at all
    for col in ("annotation_ids", "annotators"):
        out[col] = out[col].astype(object).where(~(human & out[col].isna()), "[]")
    out["raw_path"] = man["path"].reindex(out.index)
    out["source"] = man["source"].reindex(out.index)
    out["sources"] = man["sources"].reindex(out.index)
    out["round"] = tasks["round"].reindex(out.index)
    out["gold"] = tasks["gold"].reindex(out.index)
    out["strategy"] = sel["strategy"].reindex(out.index)
    out["model_version"] = sel["model_version"].reindex(out.index)
    out["reannotated_in"] = again.reindex(out.index).astype(object).fillna("[]")     # rounds that asked for another annotation
    out["parent_id"] = None
    out["transform"] = None
    return out.reset_index()


FORMATS = {"detection": ("auto", "coco"), "images": ("auto", "folders"),    # auto: the first after it
           "text": ("auto", "csv", "parquet"), "tabular": ("auto", "csv", "parquet")}


def export(project: Project) -> dict[str, Any]:
    """Write the training set to `export/` (replaced as a whole, atomically by rename)."""
    data = project.data
    man = store.read_table(data, "manifest", ["modality"])
    if man.empty:
        raise UserError(f"{data / 'manifest.parquet'}: no samples; run `dataprep acquire` first")
    modality = man["modality"].iloc[0]
    detection = project.cfg.project.task == "detection"
    kind = "detection" if detection else {"image": "images"}.get(modality, modality)
    if project.cfg.export.format not in FORMATS[kind]:       # never another format than the one asked for
        what = kind if detection else f"{kind.removesuffix('s')} classification"
        raise UserError(f"export.format: {project.cfg.export.format} does not apply to {what}; "
                        f"use {' or '.join(FORMATS[kind])}")
    lin = lineage(project)
    aug = store.read_table(data, "augmented")
    if project.cfg.export.include_augmented and len(aug):
        parent = lin.set_index("sample_id")
        aug = aug[aug["parent_id"].isin(parent.index)]
        extra = parent.loc[aug["parent_id"]].reset_index(drop=True)
        extra["sample_id"], extra["parent_id"] = aug["sample_id"].to_numpy(), aug["parent_id"].to_numpy()
        extra["raw_path"], extra["transform"] = aug["path"].to_numpy(), aug["transform"].to_numpy()
        extra["label"] = aug["label"].to_numpy()
        lin = pd.concat([lin, extra], ignore_index=True)
    dest = project.root / "export"
    tmp = project.root / ".export.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if lin.empty and not detection:
        pass        # first round of a loop: an empty training set, written like any other
    elif detection:
        lin["export_path"] = write_coco(lin, data, tmp, list(project.cfg.project.labels))
    elif modality == "image":
        paths = []
        for sid, label, raw in zip(lin["sample_id"], lin["label"], lin["raw_path"]):
            rel = Path("images") / _safe(label) / f"{sid}{Path(raw).suffix}"
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(data / raw, tmp / rel)
            paths.append(str(rel))
        lin["export_path"] = paths
    else:
        man = store.read_table(data, "manifest").set_index("sample_id")
        if modality == "text":
            table = pd.DataFrame({"sample_id": lin["sample_id"], "text": man["text"].reindex(lin["sample_id"]).to_numpy(),
                                  "label": lin["label"]})
        else:
            feats = pd.read_parquet(data / TABULAR_FILE).set_index("sample_id")
            table = feats.reindex(lin["sample_id"]).reset_index().assign(label=lin["label"].to_numpy())
        fmt = "csv" if project.cfg.export.format in ("auto", "csv") else "parquet"
        name = f"train.{fmt}"
        table.to_csv(tmp / name, index=False) if fmt == "csv" else table.to_parquet(tmp / name, index=False)
        lin["export_path"] = name
    if lin.empty:
        lin["export_path"] = None
    lin.to_parquet(tmp / "lineage.parquet", index=False)
    swap_dir(tmp, dest)
    counts = (pd.Series([b["label"] for label in lin["label"] for b in json.loads(label or "[]")], dtype=object)
              .value_counts().sort_index() if detection else lin["label"].value_counts().sort_index())
    return {"rows": int(len(lin)), "augmented": int(lin["parent_id"].notna().sum()), "path": str(dest),
            "classes": {str(k): int(v) for k, v in counts.items()}}


def write_coco(lin: pd.DataFrame, data: Path, dest: Path, classes: list[str]) -> list[str]:
    """Copy the images to `dest/images/` and write `dest/annotations.json` (COCO); return the paths."""

    boxes = [json.loads(label) if isinstance(label, str) and label else [] for label in lin["label"]]
    names = classes + sorted({b["label"] for bs in boxes for b in bs} - set(classes))
    cats = {name: i for i, name in enumerate(names, start=1)}
    images, anns, paths = [], [], []
    (dest / "images").mkdir(parents=True, exist_ok=True)
    rounds = lin["round"] if "round" in lin else pd.Series(None, index=lin.index)
    who = lin["annotators"] if "annotators" in lin else pd.Series(None, index=lin.index)
    for image_id, (sid, raw, bs, rnd, people, method, parent) in enumerate(zip(
            lin["sample_id"], lin["raw_path"], boxes, rounds, who, lin["method"], lin["parent_id"]), start=1):
        rel = Path("images") / f"{sid}{Path(raw).suffix}"
        shutil.copyfile(data / raw, dest / rel)
        width, height = image_size(dest / rel)
        images.append({"id": image_id, "file_name": rel.name, "width": width, "height": height, "sample_id": sid,
                       **({"parent_id": parent} if isinstance(parent, str) else {})})
        image_people = json.loads(people) if isinstance(people, str) else []
        for b in bs:
            w, h = b["x_max"] - b["x_min"], b["y_max"] - b["y_min"]
            # lineage per box: who drew it (fused boxes name their annotators), the round, how accepted
            anns.append({"id": len(anns) + 1, "image_id": image_id, "category_id": cats[b["label"]],
                         "bbox": [b["x_min"], b["y_min"], w, h], "area": w * h, "iscrowd": 0,
                         "annotators": list(b.get("annotators", image_people)),
                         "round": int(rnd) if pd.notna(rnd) else None, "method": method,
                         **({"score": b["score"]} if "score" in b else {})})
        paths.append(str(rel))
    coco = {"images": images, "annotations": anns,
            "categories": [{"id": i, "name": n, "supercategory": "none"} for n, i in cats.items()]}
    (dest / "annotations.json").write_text(json.dumps(coco, indent=1))
    return paths


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(label)) or "_"
