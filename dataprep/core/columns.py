"""Which column of a table is what: the label column (by its name, or one named like a label),
the text column (by its name, one named like a text, or the one column of free text), a
column that numbers the rows, a category; and a label column's values as text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dataprep.core.tables import cell_text
from dataprep.core.written_numbers import read_written_numbers


LABEL_NAMES = ("label", "labels", "class", "target", "category", "y")


def find_label_column(df: pd.DataFrame, configured: str | None) -> tuple[str | None, list[str]]:
    """The label column: `acquire.label_column` where the source has it; where the default
    'label' is missing, the one column named like a label ('Label', 'class', 'target', ...), with
    a warning. Otherwise a table's 'target' was a feature (the label given to the model) and its
    rows came unlabeled."""
    if configured is None or configured in df.columns or configured != "label":
        return configured, []
    like = [c for c in df.columns if str(c).strip().casefold() in LABEL_NAMES]
    if len(like) != 1:
        return configured, []
    return like[0], [f"no column 'label': the labels are read from column {like[0]!r} "
                     "(set acquire.label_column to choose another, or null for none)"]


def labels_of(df: pd.DataFrame, col: str | None) -> list[str | None]:
    """The label column as text. Whole numbers read as floats (pandas' type for integers beside a
    missing value) keep their integer spelling: 3, not 3.0, whether or not a row lacks a label."""
    if not col or col not in df.columns:
        return [None] * len(df)
    return [cell_text(v) or None for v in df[col]]    # spaces around a label are no part of it; a blank one is none


def is_row_index(col: pd.Series) -> bool:
    """A column that numbers the rows: 10 or more distinct integers, together a run with no gap
    (pandas' saved index `Unnamed: 0`, an `id` 1..n, shuffled or not). As a feature it only
    tells rows apart, and it would keep exact duplicate rows from collapsing."""
    v = pd.to_numeric(col, errors="coerce")
    if len(v) < 10 or v.isna().any() or not np.isfinite(v).all() or (v != np.round(v)).any():
        return False
    return bool(v.is_unique and v.max() - v.min() == len(v) - 1)


CATEGORIES_MAX = 50     # distinct values a non-numeric column may have and still be a categorical feature


def is_categorical(col: pd.Series) -> bool:
    """A non-numeric column of few distinct values (at most `CATEGORIES_MAX`, and repeated: at
    most half the rows): one-hot encoded by the features stage. Free text and ids are not."""
    distinct = col.dropna().astype(str).nunique()
    return 0 < distinct <= min(CATEGORIES_MAX, max(2, len(col) // 2))


TEXT_NAMES = ("text", "texts", "review", "sentence", "content", "body", "comment", "message", "tweet", "document",
              "utterance", "abstract", "description")


def is_free_text(col: pd.Series) -> bool:
    """Texts people wrote: ten or more strings, nearly all distinct, of several words on average."""
    v = col.dropna()
    if len(v) < 10 or not all(isinstance(x, str) for x in v.head(1000)):
        return False
    v = v.astype(str)
    return v.nunique() >= 0.9 * len(v) and v.str.split().str.len().mean() >= 4


JOINED = "\x00text"        # the column a list of text columns is joined into (no file has it)


def text_columns(setting: str | list[str]) -> list[str]:
    return [setting] if isinstance(setting, str) else list(setting)


def joined_text(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    """Several text columns (title, body) as one text per row: the non-empty parts in order, a
    blank line between; a row with none is empty (unreadable, as a row with no text)."""
    parts = [[cell_text(v) or "" for v in df[c]] for c in cols]
    return pd.Series(["\n\n".join(p for p in row if p) for row in zip(*parts)], index=df.index, dtype=object)


def has_numbers(df: pd.DataFrame, label_col: str | None) -> bool:
    """A column besides the label holds numbers, as read or as written ($1,234, 2024-01-05)."""
    return any(pd.api.types.is_numeric_dtype(df[c]) for c in df.columns if c != label_col) or \
        bool(read_written_numbers(df, {label_col}, df.attrs.get("decimals", (".",)))[1])


def find_text_column(df: pd.DataFrame, label_col: str | None) -> tuple[str | None, str]:
    """Where `acquire.text_column` is the default 'text' and the table has no such column nor any
    numeric feature: the one column of free text (`is_free_text`), preferring one named like a
    text ('review', 'sentence', ...), and the warning that says so; else None."""
    others = [c for c in df.columns if c != label_col]
    if has_numbers(df, label_col):
        return None, ""
    free = [c for c in others if is_free_text(df[c])]
    named = [c for c in free if str(c).strip().casefold() in TEXT_NAMES]
    pick = named if len(named) == 1 else free if len(free) == 1 else []
    if not pick:
        return None, ""
    return pick[0], (f"no column 'text': the texts are read from column {pick[0]!r} (set acquire.text_column to "
                     "choose another)")

