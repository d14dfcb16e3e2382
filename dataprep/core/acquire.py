"""Acquisition: sources -> content-addressed `raw/` + `manifest.parquet`.

A sample's id is the hex BLAKE2b-128 of its content (image bytes, the text, or
the tabular row's values), so it is stable across machines and exact
duplicates collapse to one row that lists every source path. Unreadable images
are skipped and reported, never silently dropped. Re-running on the same
sources rewrites nothing; new files add rows; existing rows keep their split
and acquisition time.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from dataprep.core import stage_metrics, store
from dataprep.core.atomic import atomic_path, record_write, write_bytes, write_json
from dataprep.core.coco import read_boxes
from dataprep.core.columns import (CATEGORIES_MAX, JOINED, find_label_column, find_text_column, has_numbers,
                                   is_categorical, is_free_text, is_row_index, joined_text, labels_of, text_columns)
from dataprep.core.errors import UserError, printable
from dataprep.core.ids import among, content_id, seeded_key
from dataprep.core.image_folders import IMAGE_EXTS, Listing, count_kinds, labels_from_file, list_images
from dataprep.core.images import check_image, view_path, write_view
from dataprep.core.parallel import map_batches
from dataprep.core.project import Project
from dataprep.core.sources import write_digits
from dataprep.core.tables import TABLE_EXTS, TABLES, read_source_table, table_suffix
from dataprep.core.written_numbers import as_days, read_written_numbers
from dataprep.core.yolo import read_yolo

TABULAR_FILE = "raw/tabular.parquet"
TEXT_FILE = "raw/text.parquet"


def now_utc() -> pd.Timestamp:
    """Acquisition time; `SOURCE_DATE_EPOCH` pins it for reproducible runs."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return pd.Timestamp(int(epoch), unit="s", tz="UTC")
    return pd.Timestamp(datetime.now(timezone.utc))


# ---------------------------------------------------------------- images
def _image_batch(files: list[tuple[str, str | None]], source_root: str, shown_root: str, raw_dir: str,
                 max_pixels: int) -> list[dict]:
    """Hash, check and store a batch of images (runs in a worker process)."""
    out = []
    for rel, label in files:
        path = Path(source_root) / rel
        shown = str(Path(shown_root) / rel)
        try:
            data = path.read_bytes()
            fmt, w, h = check_image(path, max_pixels)
        except Exception as exc:  # any decoder error means the file is unusable
            out.append({"error": f"{type(exc).__name__}: {exc}".strip(), "source": shown})
            continue
        sid = content_id(data)
        ext = {"jpeg": "jpg", "tiff": "tif", "mpo": "jpg", "jpeg2000": "jp2"}.get(fmt, fmt)
        dest = Path(raw_dir) / f"{sid}.{ext}"
        if not dest.exists() or dest.stat().st_size != len(data):
            # no fsync per file: a content-addressed file is re-created from its
            # source on the next run if a crash ever left it short
            write_bytes(dest, data, fsync=False)
        record_write(dest)
        if view := write_view(dest, max_pixels):       # what an annotator's browser can show
            record_write(view)
        out.append({"sample_id": sid, "modality": "image", "path": f"raw/{dest.name}", "text": None,
                    "source": shown, "source_label": label, "width": w, "height": h})
    return out


def _stat_key(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _acquire_images(folder: Path, shown: str, raw_dir: Path, n_jobs: int, max_pixels: int,
                    cache_file: Path, follow_links: str = "inside", boxes: dict[str, str] | None = None,
                    named: dict[str, str | None] | None = None,
                    ignore: frozenset[Path] = frozenset()) -> tuple[list[dict], list[dict], Listing]:
    """Hash and check the images of `folder`; with what `list_images` found besides. A file whose
    size and modification time match the stat cache (and whose raw copy exists) is not read
    again, as DVC does for its own hashes, so the stage can run every round at the cost of
    listing the folder."""
    listing = list_images(folder, follow_links, ignore)
    files = listing.files
    if not files:
        raise UserError(f"{folder}: no image files ({', '.join(sorted(IMAGE_EXTS))}) found"
                        + (f"; it holds {count_kinds(listing.others)}" if listing.others else ""))
    if boxes is not None:             # detection: the source label is the image's true boxes, if known
        files = [(rel, boxes.get(rel)) for rel, _ in files]
    elif named is not None:           # acquire.labels_file: its label wins over the class folder
        files = [(rel, named[rel] if rel in named else label) for rel, label in files]
    raw_dir.mkdir(parents=True, exist_ok=True)
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    cache = cache.get(str(folder.resolve()), {}) if cache.get("max_pixels") == max_pixels else {}
    known: list[dict] = []
    todo: list[tuple[str, str | None]] = []
    stats = {}
    for rel, label in files:
        stats[rel] = _stat_key(folder / rel)
        hit = cache.get(rel)
        if hit and hit["stat"] == stats[rel] and hit["row"]["source_label"] == label \
                and (raw_dir.parent / hit["row"]["path"]).exists() \
                and (raw_dir.parent / view_path(hit["row"]["path"])).exists():
            known.append({**hit["row"], "source": str(Path(shown) / rel)})
        else:
            todo.append((rel, label))
    files = todo
    size = max(64, min(1000, len(files) // (n_jobs * 4) or 1))
    rows: list[dict] = []
    for part in map_batches(_image_batch, files, size, n_jobs, f"acquire {len(files)} images",
                            str(folder), shown, str(raw_dir), max_pixels):
        rows.extend(part)
    good = [r for r in rows if "error" not in r]
    bad = [r for r in rows if "error" in r]
    for r in good:                      # written in worker processes: record them here
        record_write(raw_dir.parent / r["path"])
    fresh = {rel: {"stat": stats[rel], "row": {k: v for k, v in r.items() if k != "source"}}
             for (rel, _), r in zip(todo, rows) if "error" not in r}
    kept = {rel: cache[rel] for rel in stats if rel in cache and rel not in fresh and rel not in dict(todo)}
    write_json(cache_file, {"max_pixels": max_pixels, str(folder.resolve()): {**kept, **fresh}})
    return known + good, bad, listing


# ---------------------------------------------------------------- tables
def check_known_labels(src: Path, found, expected: list[str], where: str, fix: str) -> None:
    """Labels that enter with the data must be among `project.labels` (when it is set)."""
    extra = sorted({str(v) for v in found if v is not None and not pd.isna(v)} - set(expected)) if expected else []
    if extra:
        raise UserError(f"{src}: {where} {', '.join(map(repr, extra[:10]))} are not in project.labels "
                        f"({', '.join(expected)}); add them there or {fix}")


def check_label_column(src: Path, df: pd.DataFrame, label_col: str | None, expected: list[str]) -> list[str]:
    """A named label column must exist when `project.labels` is set, and hold only those labels.
    Returns warnings for the summary."""
    if not label_col:
        return []
    if label_col not in df.columns:
        if expected:
            raise UserError(f"{src}: label column {label_col!r} not found (columns: {', '.join(map(str, df.columns))}); "
                            "set acquire.label_column, or null for unlabeled data")
        return [f"{src.name} has no column {label_col!r}: its samples come without labels"]
    check_known_labels(src, df[label_col], expected, f"column {label_col!r} labels", "fix the source")
    return []


def similar_labels(labels) -> list[list[str]]:
    """Groups of distinct labels that differ only in case ('Cat', 'cat'): most likely one class
    typed two ways."""
    by: dict[str, set[str]] = {}
    for v in labels:
        if v is not None and not pd.isna(v):
            by.setdefault(str(v).casefold(), set()).add(str(v))
    return [sorted(g) for g in by.values() if len(g) > 1]


def _acquire_text(path: str, df: pd.DataFrame, text_col: str, label_col: str | None,
                  named: str | None = None) -> tuple[list[dict], list[dict]]:
    """Text samples from `df[text_col]` (`named`: how errors name it, for joined columns)."""
    good, bad = [], []
    labels = labels_of(df, label_col)
    for i, (text, label) in enumerate(zip(df[text_col], labels)):
        if isinstance(text, (int, float, np.number)) and not isinstance(text, bool) and not pd.isna(text):
            text = str(text)            # a JSON or parquet number is text too ('2024', a product code)
        if not isinstance(text, str) or not text:
            bad.append({"source": f"{path}:{i + 1}", "error": f"row {i + 1}: no text in column {named or repr(text_col)}"})
            continue
        good.append({"sample_id": content_id(text.encode("utf-8")), "modality": "text", "path": None,
                     "text": text, "source": f"{path}:{i + 1}", "source_label": label,
                     "width": None, "height": None})
    return good, bad


def _feature_columns(path: str, df: pd.DataFrame, label_col: str | None) -> tuple[list[str], list[str]]:
    """The numeric columns but the label and a row index, and the categorical ones
    (`is_categorical`), in the file's order; warnings naming what was left out."""
    others = [c for c in df.columns if c != label_col]
    numeric = [c for c in others if pd.api.types.is_numeric_dtype(df[c])]
    index = [c for c in numeric if is_row_index(df[c])]
    categorical = [c for c in others if c not in numeric and is_categorical(df[c])]
    feats = [c for c in others if (c in numeric and c not in index) or c in categorical]
    warnings = []
    if index:
        warnings.append(f"{path}: column {', '.join(map(repr, index))} numbers the rows and is not a feature "
                        "(list it in acquire.feature_columns to use it)")
    if skipped := [c for c in others if c not in numeric and c not in categorical]:
        texts = [c for c in skipped if is_free_text(df[c])]
        warnings.append(f"{path}: column {', '.join(map(repr, skipped[:5]))}"
                        f"{f' and {len(skipped) - 5} more' if len(skipped) > 5 else ''} left out of the features: "
                        f"neither numbers nor categories (over {CATEGORIES_MAX} distinct values, or hardly a repeat)"
                        + (f"; {texts[0]!r} reads as text people wrote: to learn from it instead, set "
                           f"acquire.text_column: {texts[0]} (the numbers are then not used)" if texts else ""))
    if not feats:
        raise UserError(f"{path}: no feature columns (numbers or categories)"
                        f"{f' besides the row index {index[0]!r}' if index else ''}; set acquire.feature_columns")
    return feats, warnings


def _acquire_tabular(path: str, df: pd.DataFrame, features: list[str], label_col: str | None,
                     data_dir: Path) -> tuple[list[dict], list[dict], list[str]]:
    """Rows of the feature columns (`features`, else `_feature_columns`'s choice): numbers, and
    categories kept as text (a non-numeric feature column; listed by hand, it must be one by
    `is_categorical`). A row with no value is unreadable; an infinite value is read as missing
    (the features stage imputes it), with a warning naming the first."""
    warnings = []
    target = data_dir / TABULAR_FILE
    # a row's sample id is its feature values, so the first acquire fixes the columns for good
    known = [c for c in pq.read_schema(target).names if c != "sample_id"] if target.exists() else None
    schema = pq.read_schema(target) if target.exists() else None
    categories = {c for c in (known or []) if str(schema.field(c).type) in ("string", "large_string")}
    # 1,234.5, 1.234,5, $1,200, 12% read as numbers, but the label and the project's categories
    shown = df
    settled = {label_col} | categories | (set(df.columns) - set(known or features or df.columns))
    df, written = read_written_numbers(df, settled, df.attrs.get("decimals", (".",)))
    dated = [c for c in written if as_days(shown[c]) is not None]
    if numbers := [c for c in written if c not in dated]:
        c = numbers[0]
        i = shown[c].first_valid_index()
        warnings.append(f"{path}: column {', '.join(map(repr, numbers))} read as numbers written with separators or "
                        f"signs (e.g. {shown[c][i]!r} as {df[c][i]:g})")
    if dated:
        c = dated[0]
        i = shown[c].first_valid_index()
        warnings.append(f"{path}: column {', '.join(map(repr, dated))} read as dates, a feature in days since "
                        f"1970-01-01 (e.g. {str(shown[c][i])!r} as {df[c][i]:g})")
    if features and known is not None and list(features) != known:
        raise UserError(f"{path}: acquire.feature_columns {list(features)} differ from the columns this project's "
                        f"samples were acquired with {known} (a row's sample id is its feature values): set them "
                        "back, or start a new project")
    if features or known is not None:
        feats = list(features) or known
        missing = [c for c in feats if c not in df.columns]
        if missing:
            raise UserError(f"{path}: feature column {missing[0]!r} not found "
                            f"(columns: {', '.join(map(str, df.columns))})")
        if label_col is not None and label_col in feats:     # the answer as a feature: a model that cannot fail
            raise UserError(f"{path}: acquire.feature_columns lists {label_col!r}, the label column; leave it out")
        text_cols = [c for c in feats if not pd.api.types.is_numeric_dtype(df[c])]
        if known is not None:        # the project's table says which columns are categories
            text_cols = [c for c in feats if c in categories]
        for c in text_cols:
            if known is None and not is_categorical(df[c]):
                example = df[c].dropna().astype(str).iloc[0] if df[c].notna().any() else ""
                raise UserError(f"{path}: feature column {c!r} is neither numbers (e.g. {example!r}) nor a category "
                                f"of at most {CATEGORIES_MAX} repeated values; convert it to numbers or leave it out")
    else:
        feats, more = _feature_columns(path, df, label_col)
        warnings += more
        text_cols = [c for c in feats if not pd.api.types.is_numeric_dtype(df[c])]
    num = [c for c in feats if c not in text_cols]
    values = df[num].apply(pd.to_numeric, errors="coerce")
    infinite = np.isinf(values.to_numpy(np.float64))
    if infinite.any():
        r, c = np.argwhere(infinite)[0]
        warnings.append(f"{int(infinite.sum())} infinite values read as missing (e.g. {path} row {r + 1}, "
                        f"column {num[c]!r})")
        values = values.mask(infinite)
    cats = df[text_cols].astype(object).where(df[text_cols].notna(), None)
    labels = labels_of(df, label_col)
    good, bad, rows = [], [], []
    for i, (vals, kinds, label) in enumerate(zip(values.itertuples(index=False), cats.itertuples(index=False), labels)):
        vec = np.asarray(vals, dtype=np.float64)
        by = dict(zip(num, [None if np.isnan(v) else v for v in vec.tolist()]))
        by.update(zip(text_cols, [None if k is None else str(k) for k in kinds]))
        if all(v is None for v in by.values()):
            bad.append({"source": f"{path}:{i + 1}", "error": f"row {i + 1}: no feature values"})
            continue
        sid = content_id(json.dumps({c: by[c] for c in feats}).encode())
        good.append({"sample_id": sid, "modality": "tabular", "path": TABULAR_FILE, "text": None,
                     "source": f"{path}:{i + 1}", "source_label": label, "width": None, "height": None})
        rows.append([sid, *[np.nan if by[c] is None and c in num else by[c] for c in feats]])
    table = pd.DataFrame(rows, columns=["sample_id", *feats]).drop_duplicates("sample_id")
    table = table.astype({**{c: np.float64 for c in num}, **{c: "string" for c in text_cols}})
    if target.exists():
        table = pd.concat([pd.read_parquet(target), table]).drop_duplicates("sample_id")
    _write_if_changed(target, table)
    return good, bad, warnings


def _write_if_changed(target: Path, table: pd.DataFrame) -> None:
    """Sorted by sample id; left untouched when equal, so DVC sees no change."""
    table = table.sort_values("sample_id").reset_index(drop=True)
    if not target.exists() or not pd.read_parquet(target).equals(table):
        with atomic_path(target) as tmp:
            table.to_parquet(tmp, index=False)
    record_write(target)


# ---------------------------------------------------------------- merge
def _collapse(rows: list[dict]) -> tuple[pd.DataFrame, list[dict]]:
    """One row per sample id; `sources` lists every path it was found at. Exact duplicates
    that came with different labels keep no label (the truth is unknown) and are returned."""
    if not rows:
        return store.empty("manifest"), []
    df = pd.DataFrame([{**r, "source": printable(r["source"])} for r in rows])   # names that are not UTF-8
    df = df.sort_values(["sample_id", "source"], kind="stable")
    srcs = df.groupby("sample_id", sort=False)["source"].agg(list)
    n_labels = df.groupby("sample_id", sort=False)["source_label"].nunique()
    first = df.drop_duplicates("sample_id").set_index("sample_id")
    first["sources"] = srcs.map(json.dumps)
    clash = n_labels[n_labels > 1].index
    conflicts = [{"sample_id": sid, "sources": srcs[sid],
                  "labels": sorted(df.loc[df["sample_id"] == sid, "source_label"].dropna().astype(str).unique())}
                 for sid in clash]
    first.loc[clash, "source_label"] = None
    return first.reset_index(), conflicts


def _assign_split(new: pd.DataFrame, fraction: float, seed: int) -> pd.Series:
    """Stratified by source label: within each label the `fraction` of samples whose
    seeded hash ranks lowest go to test. Depends only on ids, not file order."""
    split = pd.Series("pool", index=new.index, dtype=object)
    if fraction <= 0 or new.empty:
        return split
    key = seeded_key(new["sample_id"], f"{seed}:")
    strata = new["source_label"].fillna("\0")
    for _, idx in new.groupby(strata).groups.items():
        ranked = key.loc[idx].sort_values().index
        split.loc[ranked[: int(round(fraction * len(ranked)))]] = "test"
    return split


def merge_manifest(old: pd.DataFrame, found: pd.DataFrame, fraction: float, seed: int,
                   relabeled: list[dict] | None = None, scope: str | None = None,
                   gone: list[dict] | None = None) -> pd.DataFrame:
    """Existing rows keep split and time (their source list may grow); new rows are added. A
    label the source now gives differently (corrected in the file, or the image moved to
    another class folder) replaces the old one: it is the truth the test split is scored on;
    each change is appended to `relabeled`. A row the source no longer labels keeps its label.

    `scope` (the source as recorded, read whole this time): a row every source of which lies
    in it and that was not found again (the file deleted, the row removed, the content
    edited) is marked `gone_at` and appended to `gone`; found again, it is back. A row found
    elsewhere before (another `acquire.source`) is never judged by this one."""
    if scope is not None and not old.empty:
        old = old.copy()
        present = pd.Series(among(old["sample_id"], found["sample_id"]), index=old.index)
        now_gone = (~present & store.in_source(old)).to_numpy().copy()
        # only the rows not found are read (a JSON list each: 5 s for 500,000 rows otherwise)
        now_gone[now_gone] = [all(_within(p, scope) for p in json.loads(s)) for s in old.loc[now_gone, "sources"]]
        if gone is not None:
            gone += old.loc[now_gone, ["sample_id", "source"]].to_dict("records")
        old["gone_at"] = old["gone_at"].where(~present.to_numpy(), pd.NaT)
        old.loc[now_gone, "gone_at"] = now_utc()
    if not old.empty and not found.empty:
        both = old.set_index("sample_id")
        extra = found.set_index("sample_id")
        common = both.index.intersection(extra.index)
        # only rows whose source list or label differs are touched (row by row, they took 1.4 s
        # for digits' 1,797 unchanged rows on every acquire)
        grown = common[(both.loc[common, "sources"] != extra.loc[common, "sources"]).to_numpy()]
        for sid in grown:
            merged = sorted(set(json.loads(both.at[sid, "sources"])) | set(json.loads(extra.at[sid, "sources"])))
            both.at[sid, "sources"] = json.dumps(merged)
        was_all, now_all = both.loc[common, "source_label"], extra.loc[common, "source_label"]
        changed = common[(now_all.notna() & (now_all.astype(object) != was_all.astype(object))).to_numpy()]
        for sid in changed:
            was, now = both.at[sid, "source_label"], extra.at[sid, "source_label"]
            both.at[sid, "source_label"] = now
            if relabeled is not None:
                relabeled.append({"sample_id": sid, "source": extra.at[sid, "source"],
                                  "was": None if was is None or pd.isna(was) else was, "now": now})
        old = both.reset_index()
        found = found[~among(found["sample_id"], old["sample_id"])]
    if found.empty:
        return old.reset_index(drop=True)
    found = found.copy()
    found["split"] = _assign_split(found, fraction, seed)
    found["acquired_at"] = now_utc()
    found["gone_at"] = pd.NaT
    merged = found if old.empty else pd.concat([old, found[old.columns]], ignore_index=True)
    return merged.reset_index(drop=True)


def renamed_classes(changed: list[dict], manifest: pd.DataFrame) -> dict[str, str]:
    """Old class -> new, where every sample that changed from a class went to one other and no
    sample of the source carries the old one any more: what a renamed class folder looks like."""
    left = set(manifest.loc[store.in_source(manifest), "source_label"].dropna().astype(str))
    moves: dict[str, set[str]] = {}
    for r in changed:
        moves.setdefault(str(r["was"]), set()).add(str(r["now"]))
    return {was: next(iter(now)) for was, now in moves.items() if len(now) == 1 and was not in left}


def _last_summary(project: Project) -> dict[str, Any]:
    """The last acquire's `reports/acquire.json` (empty if none or unreadable)."""
    try:
        return json.loads((project.reports / "acquire.json").read_text())
    except (OSError, ValueError):
        return {}


def _within(source: str, scope: str) -> bool:
    """`source` (a file, or a table's 'file:row') lies in `scope` (the folder or table read)."""
    return source == scope or source.startswith((scope + os.sep, scope + "/", scope + ":"))


def resolve_source(project: Project) -> tuple[Path, str]:
    """The source path and its kind (images | text | tabular)."""
    a = project.cfg.acquire
    if a.source == "digits":
        return write_digits(project.work / "sources" / "digits"), "images"
    src = Path(a.source)
    src = src if src.is_absolute() else project.root / src
    if not src.exists():
        raise UserError(f"acquire.source: {src} does not exist")
    if not src.is_dir() and table_suffix(src) == ".xls":
        raise UserError(f"{src}: an Excel file from before 2007 (.xls) is not read; save it as .xlsx or .csv")
    if a.kind == "images" and not src.is_dir():
        raise UserError(f"acquire.kind: images reads a folder of images; {src} is a file (acquire.kind: auto "
                        "tells text from tabular)")
    if a.kind in ("text", "tabular") and (src.is_dir() or table_suffix(src) not in TABLE_EXTS):
        raise UserError(f"acquire.kind: {a.kind} reads a {TABLES}; {src} is "
                        + ("a folder (acquire.kind: images or auto for images)" if src.is_dir() else "not one"))
    if a.kind != "auto":
        return src, a.kind
    if src.is_dir():
        return src, "images"
    if table_suffix(src) not in TABLE_EXTS:
        raise UserError(f"acquire.source: {src}: expected an image folder or a {TABLES}")
    df = read_source_table(src, a.encoding, sheet=a.sheet)
    if all(c in df.columns for c in text_columns(a.text_column)):
        return src, "text"
    label_col = find_label_column(df, a.label_column)[0]
    if has_numbers(df, label_col):
        return src, "tabular"
    if a.text_column == "text" and find_text_column(df, label_col)[0] is not None:
        return src, "text"
    if len(df) >= 10 and any(is_categorical(df[c]) for c in df.columns if c != label_col):   # mushrooms, cars
        return src, "tabular"
    raise UserError(f"{src}: text column {', '.join(map(repr, text_columns(a.text_column)))} not found and no "
                    "feature columns (numbers or categories) "
                    f"(columns: {', '.join(map(str, df.columns))}); set acquire.text_column or acquire.kind")


def acquire(project: Project) -> dict[str, Any]:
    """Run acquisition; returns the summary also written to `reports/acquire.json`."""
    a = project.cfg.acquire
    src, kind = resolve_source(project)
    data = project.data
    data.mkdir(parents=True, exist_ok=True)
    # Sources under the project are recorded relative to it, so manifests match across clones.
    shown = os.path.relpath(src, project.root) if src.resolve().is_relative_to(project.root) else str(src)
    skipped, warnings, others = [], [], {}
    detection = project.cfg.project.task == "detection"
    if kind == "images":
        boxes = None
        if detection and a.boxes:
            coco = Path(a.boxes) if Path(a.boxes).is_absolute() else project.root / a.boxes
            rels = [rel for rel, _ in list_images(src, a.follow_links).files]
            if coco.is_dir():           # a YOLO labels folder
                boxes, warnings = read_yolo(coco, src, rels, list(project.cfg.project.labels))
            else:
                boxes, warnings = read_boxes(coco, rels, list(project.cfg.project.labels))
        elif detection:
            boxes = {}                # no truth: class folders say nothing about boxes
        named, ignore = None, frozenset()
        if a.labels_file and not detection:
            table = Path(a.labels_file) if Path(a.labels_file).is_absolute() else project.root / a.labels_file
            if not table.is_file():
                raise UserError(f"acquire.labels_file: {table} does not exist; point it at the table of image labels")
            ignore = frozenset({table.resolve()})      # beside the images, the table is no stray file
            rels = [rel for rel, _ in list_images(src, a.follow_links).files]
            if rels:                  # none: the no-images error below says so
                named, warnings = labels_from_file(table, rels, a.label_column, a.encoding, a.sheet)
        good, bad, listing = _acquire_images(src, shown, data / "raw", a.n_jobs, a.max_pixels,
                                             project.work / "acquire_cache.json", a.follow_links, boxes, named, ignore)
        skipped, others = listing.skipped, listing.others
        if listing.split_folders and not detection:
            warnings.append(f"{shown} holds split folders ({', '.join(listing.split_folders)}) with the class folders "
                            "inside: the labels are the class folders' names, and every image joins one dataset "
                            "that acquire splits itself (acquire.test_fraction)")
        if not detection:
            check_known_labels(src, [r["source_label"] for r in good], list(project.cfg.project.labels),
                               *(("labels", f"fix {a.labels_file}") if named is not None else
                                 ("class folders", "move the folders")))
            loose = [r["source"] for r in good if r["source_label"] is None]
            if loose and len(loose) < len(good):        # beside class folders: most likely not meant so
                warnings.append(f"{len(loose)} images lie directly in {shown}, beside its class folders "
                                f"(e.g. {loose[0]}): they come unlabeled")
    else:
        df = read_source_table(src, a.encoding, a.text_column if kind == "text" else None, a.sheet)
        label_col, warnings = find_label_column(df, a.label_column)
        text_col = a.text_column
        if kind == "text" and not isinstance(text_col, str):       # title and body: one text, a blank line between
            if missing := [c for c in text_col if c not in df.columns]:
                raise UserError(f"{src}: text column {missing[0]!r} not found "
                                f"(columns: {', '.join(map(str, df.columns))}); set acquire.text_column")
            df = df.assign(**{JOINED: joined_text(df, text_col)})
            text_col = JOINED
        if kind == "text" and text_col not in df.columns and text_col == "text":
            found_text, why = find_text_column(df, label_col)
            if found_text is not None:      # read again, so its values are texts as written ('007')
                text_col = found_text
                df = read_source_table(src, a.encoding, text_col, a.sheet)
                warnings.append(why)
        if df.attrs.get("sheet") is not None:       # a workbook's rows are 'book.xlsx[sheet]:row': another
            shown = f"{shown}[{df.attrs['sheet']}]"  # sheet read later is another source, judging none of these
        if df.attrs.get("other_sheets") and a.sheet is None:
            warnings.append(f"{src.name}: read its first sheet, {df.attrs['sheet']!r}; it has "
                            f"{len(df.attrs['other_sheets'])} more ({', '.join(map(repr, df.attrs['other_sheets'][:5]))}"
                            f"{', ...' if len(df.attrs['other_sheets']) > 5 else ''}): set acquire.sheet to read another")
        # pandas reads a repeated header name as 'x', 'x.1': say so rather than leave it to be found
        warnings += [f"{src}: column {c!r} is in the header more than once; pandas read the others as "
                     f"'{c}.1' and so on (rename them to say which is which)" for c in df.attrs.get("repeated_columns", [])]
        warnings += check_label_column(src, df, label_col, list(project.cfg.project.labels))
        if kind == "text":
            if text_col not in df.columns:
                raise UserError(f"{src}: text column {text_col!r} not found "
                                f"(columns: {', '.join(map(str, df.columns))}); set acquire.text_column")
            good, bad = _acquire_text(shown, df, text_col, label_col,
                                      " or ".join(map(repr, text_columns(a.text_column))) if text_col == JOINED else None)
        else:
            good, bad, more = _acquire_tabular(shown, df, a.feature_columns, label_col, data)
            warnings += more
    found, conflicts = _collapse(good)
    bad = [{**b, "source": printable(str(b["source"])), "error": printable(str(b["error"]))} for b in bad]
    if conflicts:
        warnings.append(f"{len(conflicts)} exact duplicates came with different labels (e.g. "
                        f"{', '.join(conflicts[0]['sources'][:2])}): they are unlabeled; see acquire.json")
    if others:
        warnings.append(f"{sum(others.values())} files in {shown} are not images acquire reads and were left "
                        f"out: {count_kinds(others)}")
    if skipped:
        warnings.append(f"{len(skipped)} symbolic links skipped (e.g. {skipped[0]['source']}: {skipped[0]['reason']})")
    named = {v for v in found["source_label"] if v is not None and not pd.isna(v)} if len(found) else set()
    if groups := similar_labels(named):
        warnings.append(f"{len(groups)} labels differ only in case (e.g. {', '.join(map(repr, groups[0]))}): "
                        "they are different classes until the source spells them one way")
    if len(named) == 1 and len(project.cfg.project.labels) < 2:
        warnings.append(f"every labeled sample is {next(iter(named))!r}: a classifier needs two classes or more; "
                        "list them all in project.labels so annotators can choose them")
    if found.empty and bad:      # every stage after would say "run acquire first", which just ran; and a source
        # that went unreadable as a whole (a mount that failed) must not mark every sample gone
        fix = "acquire.source" if kind != "text" else "acquire.text_column and acquire.source"
        raise UserError(f"{src}: no sample could be read: all {len(bad)} {'files' if kind == 'images' else 'rows'} "
                        f"were skipped (first: {bad[0]['source']}: {bad[0]['error']}); check {fix}")
    old = store.read_table(data, "manifest")
    relabeled: list[dict] = []
    gone: list[dict] = []
    back = int((~store.in_source(old)).sum()) if len(old) else 0
    manifest = merge_manifest(old, found, a.test_fraction, project.cfg.project.seed, relabeled,
                              printable(shown), gone)
    back -= int((~store.in_source(manifest)).sum()) - len(gone)
    if len(old) and (was := _last_summary(project).get("test_fraction")) not in (None, a.test_fraction):
        warnings.append(f"acquire.test_fraction changed from {was} to {a.test_fraction}: it splits the samples "
                        f"acquired from now on; the {len(old)} acquired before keep their split (a test sample "
                        "moved into training would inflate the score); to split every sample anew, acquire "
                        "into a new project")
    if gone:
        warnings.append(f"{len(gone)} samples are no longer in the source (e.g. {gone[0]['source']}: deleted, "
                        "removed or edited): they leave the pool, the test split and the export; their "
                        "annotations stay, and put back they return")
    if back:
        warnings.append(f"{back} samples no longer in the source are back in it")
    if changed_labels := [r for r in relabeled if r["was"] is not None]:
        first = changed_labels[0]
        warnings.append(f"{len(changed_labels)} samples' labels changed in the source (e.g. {first['source']}: "
                        f"{first['was']!r} -> {first['now']!r}); the source's label is the one kept"
                        + "".join(f"; every {was!r} is now {now!r}: if the class was renamed, set label.rename: "
                                  f"{{{was}: {now}}} so the labels people gave follow (else they are unknown labels)"
                                  for was, now in renamed_classes(changed_labels, manifest).items()))
    if kind == "text":   # the raw corpus, like raw/ images and raw/tabular.parquet: data/raw holds every modality
        _write_if_changed(data / TEXT_FILE, manifest[["sample_id", "text"]].copy())
    changed = old.empty or len(manifest) != len(old) or not manifest["sources"].equals(old["sources"]) \
        or bool(relabeled) or bool(gone) or bool(back)
    if changed:
        store.write_table(data, "manifest", manifest)
    summary = {
        "source": str(a.source), "kind": kind, "files_seen": len(good) + len(bad),
        "samples": int(store.in_source(manifest).sum()), "new_samples": int(len(manifest) - len(old)),
        "test_fraction": a.test_fraction,
        "gone": int((~store.in_source(manifest)).sum()), "newly_gone": gone[:1000], "back": back,
        "duplicates_collapsed": int(len(good) - len(found)),
        "duplicate_files": [{"sample_id": sid, "sources": json.loads(s)} for sid, s in
                            zip(found["sample_id"], found["sources"]) if len(json.loads(s)) > 1][:1000],
        "unreadable": len(bad), "unreadable_files": bad[:1000],
        "splits": manifest.loc[store.in_source(manifest), "split"].value_counts().to_dict(), "changed": bool(changed),
        "conflicting_labels": conflicts[:1000], "skipped_links": skipped[:1000], "relabeled": relabeled[:1000],
        "warnings": warnings,
    }
    write_json(project.reports / "acquire.json", summary)
    stage_metrics.write(project.reports, "acquire", summary)
    return summary
