"""The dataset folder of DESIGN.md: one declared schema per parquet table.

Every table is written atomically (temp file + rename) with an explicit Arrow
schema, and checked on read: a missing or mistyped column fails with the file
name and the column, so a stage never runs on a half-understood file. No stage
edits another stage's output; per-sample state is derived by joining
(`sample_states`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dataprep.core.atomic import atomic_path
from dataprep.core.errors import UserError
from dataprep.core.ids import among

_TS = pa.timestamp("us", tz="UTC")

# name -> {column: arrow type}; column order is the file's column order.
SCHEMAS: dict[str, dict[str, pa.DataType]] = {
    "manifest": {
        "sample_id": pa.string(),
        "modality": pa.string(),        # image | text | tabular
        "path": pa.string(),            # relative to the dataset folder (images, tabular)
        "text": pa.string(),            # text samples
        "source": pa.string(),          # first source path seen
        "sources": pa.string(),         # JSON list of every source path (duplicates collapsed)
        "source_label": pa.string(),
        "split": pa.string(),           # pool | test
        "width": pa.int64(),
        "height": pa.int64(),
        "acquired_at": _TS,
        "gone_at": _TS,                 # the acquire that no longer found it in the source (null: still there)
    },
    "triage": {
        "sample_id": pa.string(),
        "dup_of": pa.string(),
        "cluster": pa.int64(),
        "outlier_score": pa.float64(),
        "flags": pa.string(),           # comma-separated issue codes (triage.JUNK_CODES, "outlier")
        "is_near_duplicate": pa.bool_(),
        "is_junk": pa.bool_(),
        "is_outlier": pa.bool_(),
        "triage": pa.string(),          # keep | redundant | harmful
        "reason": pa.string(),
    },
    "tasks": {
        "sample_id": pa.string(),
        "task_id": pa.int64(),
        "created_at": _TS,
        "gold": pa.bool_(),
        "prediction": pa.string(),      # the pre-annotation shown to annotators
        "round": pa.int64(),
        "audit": pa.bool_(),            # sent to audit the auto-labels (labeling.auto_labels)
        "overlap": pa.int64(),          # distinct annotators the task asked for when first mirrored
    },
    "annotations": {
        "annotation_id": pa.int64(),
        "sample_id": pa.string(),
        "task_id": pa.int64(),
        "annotator": pa.string(),       # completed_by
        "created_by": pa.string(),      # who actually wrote it, when the backend says
        "label": pa.string(),           # class name; detection: JSON list of boxes in pixels
        "lead_time_s": pa.float64(),
        "created_at": _TS,
        "updated_at": _TS,
        "round": pa.int64(),
        "status": pa.string(),          # active | superseded | deleted | cancelled
    },
    "labels": {
        "sample_id": pa.string(),
        "label": pa.string(),
        "confidence": pa.float64(),
        "method": pa.string(),          # agreement | dawid_skene | gold | single
        "n_annotations": pa.int64(),
        "bound": pa.float64(),          # method auto: upper bound on the error rate of auto-labels
        "model_version": pa.string(),   # method auto: the model that gave the label
    },
    "requests": {                       # validate: samples worth another annotation
        "sample_id": pa.string(),
        "task_id": pa.int64(),
        "label": pa.string(),           # the label we would use now (none for boxes, or where nobody's answer counts)
        "p_wrong": pa.float64(),        # probability that that label is wrong
        "check": pa.string(),           # why: tie | model_disagrees | unconfirmed | low_agreement | ...
        "n_annotations": pa.int64(),    # distinct annotators who answered (blocked ones too)
        "annotators": pa.string(),      # JSON list of them: the next annotation comes from someone else
    },
    "quarantine": {
        "sample_id": pa.string(),
        "annotation_id": pa.int64(),    # null: the whole sample is quarantined
        "annotator": pa.string(),
        "check": pa.string(),
        "reason": pa.string(),
    },
    "selection": {
        "sample_id": pa.string(),
        "score": pa.float64(),
        "rank": pa.int64(),
        "strategy": pa.string(),
        "model_version": pa.string(),
        "round": pa.int64(),
        "prediction": pa.string(),      # the model's guess: the pre-annotation sent with the task
        "confidence": pa.float64(),     # the model's probability of that guess (Label Studio's `score`)
        "n_wanted": pa.int64(),         # strategy reannotate: the annotations the task should reach
    },
    "augmented": {
        "sample_id": pa.string(),
        "parent_id": pa.string(),
        "path": pa.string(),
        "label": pa.string(),
        "transform": pa.string(),       # JSON replay of the applied albumentations params
        "seed": pa.int64(),
        "copy": pa.int64(),
    },
}


def table_path(root: str | os.PathLike, name: str) -> Path:
    _schema(name)
    return Path(root) / f"{name}.parquet"


def _schema(name: str) -> pa.Schema:
    if name not in SCHEMAS:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(SCHEMAS)}")
    return pa.schema(list(SCHEMAS[name].items()))


def empty(name: str) -> pd.DataFrame:
    """An empty frame with the table's columns and dtypes."""
    return _schema(name).empty_table().to_pandas()


def exists(root: str | os.PathLike, name: str) -> bool:
    return table_path(root, name).exists()


def _compatible(actual: pa.DataType, declared: pa.DataType) -> bool:
    if actual.equals(declared) or pa.types.is_null(actual):
        return True
    for check in (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_timestamp):
        if check(declared):
            return check(actual) or (check is pa.types.is_floating and pa.types.is_integer(actual))
    if pa.types.is_string(declared):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual)
    return False


# Columns added after a table was first written: files without them read them as null.
ADDED = {("manifest", "gone_at"), ("selection", "confidence"), ("selection", "n_wanted"), ("tasks", "audit"), ("tasks", "overlap"), ("labels", "bound"),
         ("labels", "model_version"), ("requests", "label"), ("triage", "is_near_duplicate"), ("triage", "is_junk"), ("triage", "is_outlier")}


def check_schema(path: Path, name: str) -> None:
    """Fail with the file and the column if `path` does not hold table `name`."""
    try:
        actual = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise UserError(f"{path}: not a readable parquet file ({exc})") from exc
    for col, typ in SCHEMAS[name].items():
        idx = actual.get_field_index(col)
        if idx < 0 and (name, col) in ADDED:
            continue
        if idx < 0:
            raise UserError(f"{path}: missing column {col!r} (table {name!r})")
        if not _compatible(actual.field(idx).type, typ):
            raise UserError(f"{path}: column {col!r} has type {actual.field(idx).type}, expected {typ}")


def read_table(root: str | os.PathLike, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Read table `name`; an absent file reads as an empty table."""
    path = table_path(root, name)
    if not path.exists():
        out = empty(name)
        return out[columns] if columns else out
    check_schema(path, name)
    cols = columns or list(SCHEMAS[name])
    have = set(pq.read_schema(path).names)
    present = [c for c in cols if c in have]
    df = pq.read_table(path, columns=present).cast(pa.schema([(c, SCHEMAS[name][c]) for c in present])).to_pandas()
    for c in cols:
        if c not in have:
            df[c] = pd.Series([None] * len(df), dtype=SCHEMAS[name][c].to_pandas_dtype())
    return df[cols]


def iter_table(root: str | os.PathLike, name: str, columns: list[str], batch_size: int = 65536) -> Iterator[pd.DataFrame]:
    """Stream a table in chunks so memory is bounded by the chunk, not the table."""
    path = table_path(root, name)
    if not path.exists():
        return
    check_schema(path, name)
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=columns):
        yield batch.to_pandas()


def to_arrow(df: pd.DataFrame, name: str, where: str = "") -> pa.Table:
    schema = _schema(name)
    added = [c for c in schema.names if c not in df.columns and (name, c) in ADDED]
    if added:
        df = df.assign(**{c: None for c in added})
    missing = [c for c in schema.names if c not in df.columns]
    if missing:
        raise ValueError(f"{where or name}: cannot write, missing column(s) {missing}")
    out = df[schema.names].copy()
    for col, typ in SCHEMAS[name].items():
        if pa.types.is_timestamp(typ):
            out[col] = pd.to_datetime(out[col], utc=True).astype("datetime64[us, UTC]")
        elif pa.types.is_string(typ):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return pa.Table.from_pandas(out, schema=schema, preserve_index=False)


def write_table(root: str | os.PathLike, name: str, df: pd.DataFrame) -> Path:
    """Write table `name` atomically; the previous file stays intact on failure."""
    path = table_path(root, name)
    table = to_arrow(df, name, str(path))
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def append_table(root: str | os.PathLike, name: str, new: pd.DataFrame) -> Path:
    """Append rows: the old rows are rewritten byte-for-byte in value, never edited."""
    old = read_table(root, name)
    new = new.assign(**{c: None for c in SCHEMAS[name] if c not in new.columns and (name, c) in ADDED})
    both = new if old.empty else pd.concat([old, new[list(SCHEMAS[name])]], ignore_index=True)
    return write_table(root, name, both)


def current_annotations(log: pd.DataFrame) -> pd.DataFrame:
    """The live version of each annotation: the log keeps every version (append-only);
    the one mirrored last wins (the order we received them, not the client's clock: an
    edit stamped in the year 2100 must not outrank every later one), and it counts only
    if its status is `active`."""
    if log.empty:
        return log
    last = log.drop_duplicates("annotation_id", keep="last")
    return last[last["status"] == "active"].sort_values("annotation_id").reset_index(drop=True)


LEAD_TIME_CAP_S = 8 * 3600      # a working day: a longer lead time is a tab left open, not work


def lead_time_problem(value) -> str | None:
    """Why a lead time cannot count as annotator time, or None."""
    v = float(value) if value is not None else float("nan")
    if np.isnan(v):
        return "lead time missing"
    if not np.isfinite(v) or v < 0 or v > LEAD_TIME_CAP_S:
        return f"lead time {v:g} s outside [0, {LEAD_TIME_CAP_S}] s"
    return None


def counted_lead_time(values: pd.Series) -> pd.Series:
    """Lead times with those that cannot count as annotator time (see `lead_time_problem`) as NaN."""
    v = pd.to_numeric(values, errors="coerce").astype(float)
    return v.where(v.map(lead_time_problem).isna())


def in_source(manifest: pd.DataFrame) -> pd.Series:
    """Rows the source still holds (`gone_at` null): a sample it no longer holds is neither
    selected, trained on, scored, asked about nor exported; its annotations stay."""
    return manifest["gone_at"].isna()


def in_source_ids(manifest: pd.DataFrame, gone: bool = False) -> pd.Series:
    """The sample ids the source still holds (or, `gone`, no longer holds)."""
    return manifest.loc[~in_source(manifest) if gone else in_source(manifest), "sample_id"]


def in_split(manifest: pd.DataFrame, split: str) -> pd.Series:
    """Rows of `split` (pool | test) that the source still holds (`in_source`)."""
    return (manifest["split"] == split) & in_source(manifest)


STATES = ("unlabeled", "queued", "annotated", "accepted", "quarantined")


def sample_states(root: str | os.PathLike, sent: Iterable[str] = ()) -> pd.DataFrame:
    """Per sample: its state, derived by joining manifest, tasks, annotations, labels, quarantine.
    `sent`: samples pushed to the backend that no pull has mirrored yet (queued too).

    accepted > quarantined (whole sample) > annotated > queued > unlabeled.
    """
    man = read_table(root, "manifest", ["sample_id", "source_label", "split", "gone_at"])
    tasks = read_table(root, "tasks", ["sample_id"])
    ann = current_annotations(read_table(root, "annotations"))
    labels = read_table(root, "labels", ["sample_id", "label"])
    quar = read_table(root, "quarantine", ["sample_id", "annotation_id"])
    state = pd.Series("unlabeled", index=man["sample_id"].values, dtype=object)
    state[among(state.index, tasks["sample_id"]) | among(state.index, sent)] = "queued"
    state[among(state.index, ann["sample_id"])] = "annotated"
    state[among(state.index, quar.loc[quar["annotation_id"].isna(), "sample_id"])] = "quarantined"
    state[among(state.index, labels["sample_id"])] = "accepted"
    out = man.copy()
    out["state"] = state.values
    out = out.merge(labels, on="sample_id", how="left")
    return out
