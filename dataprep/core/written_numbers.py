"""Numbers as spreadsheets and reports write them: `1,234.5`, `1.234,5`, `1 234,5`, `1'234.5`,
`$1,200`, `12.5%`, and dates (`2024-01-05`, or a column Excel holds as dates) as days. pandas reads such a column as text, and a table's feature column was left
out as "neither numbers nor categories" (or, in a project whose table already has it as
numbers, read as missing).

A column is read as numbers only when every value in it is a number under the file's decimal
mark and one thousands separator, in groups of three digits after a first group that does not
start with 0: a product code `12-345`, a list `1,2,3`, a code `007,123` or a mix of
conventions stays text. A currency sign before or after the number and a trailing `%` are
dropped; the number is kept as written (`12.5%` is 12.5: the features are scaled anyway).
"""

from __future__ import annotations

import re

import pandas as pd

GROUPS = {".": (",", " ", "'"), ",": (".", " ")}      # thousands separators that go with each decimal mark
SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})    # no-break and narrow no-break spaces group as a space
_CURRENCY_FIRST = re.compile(r"^([+-]?)\s*[$€£¥₹]\s*")        # $1,200, -$1,200: the sign stays
_AFTER = re.compile(r"\s*[$€£¥₹%]$")                              # 1.200 €, 12%


def _pattern(group: str, decimal: str) -> re.Pattern:
    g, d = re.escape(group), re.escape(decimal)
    return re.compile(rf"[+-]?(?:[1-9]\d{{0,2}}(?:{g}\d{{3}})+|\d+)(?:{d}\d+)?")


def as_numbers(col: pd.Series, decimal: str = ".") -> pd.Series | None:
    """`col` as floats if every non-empty value is a written number with decimal mark `decimal`
    and one thousands separator (module docstring), and at least one needed this reading (a
    group, a decimal comma, a currency sign, a percent); else None."""
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return None
    present = col[col.notna()]
    if present.empty or not all(isinstance(v, str) for v in present):
        return None
    present = present[present.str.strip() != ""]
    if present.empty:
        return None
    bare = [_AFTER.sub("", _CURRENCY_FIRST.sub(r"\1", v.translate(SPACES).strip())).strip() for v in present]
    for group in GROUPS[decimal]:
        pattern = _pattern(group, decimal)
        if all(pattern.fullmatch(v) for v in bare):
            plain = [v.replace(group, "").replace(decimal, ".") for v in bare]
            if plain == list(present):      # plain numbers: not what kept pandas from reading them
                return None
            out = pd.Series(float("nan"), index=col.index, dtype="float64")
            out[present.index] = [float(v) for v in plain]
            return out
    return None


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?")


def as_days(col: pd.Series) -> pd.Series | None:
    """Dates as days since 1970-01-01 (floats, so a time of day is a fraction): a column Excel or
    parquet holds as dates, or text whose every value is an ISO date (2024-01-05, with an
    optional time); else None. A date is then a feature like a number (later is larger)."""
    if pd.api.types.is_datetime64_any_dtype(col):
        when = col
    else:
        present = col[col.notna()]
        if present.empty or not all(isinstance(v, str) and ISO_DATE.fullmatch(v.strip()) for v in present):
            return None
        when = pd.to_datetime(col.where(col.notna()).map(lambda v: v.strip() if isinstance(v, str) else v),
                              errors="coerce", format="ISO8601", utc=True)
        if when[present.index].isna().any():        # 2024-13-45: shaped like a date, not one
            return None
    if getattr(when.dt, "tz", None) is not None:
        when = when.dt.tz_convert("UTC").dt.tz_localize(None)
    return (when - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)


def read_written_numbers(df: pd.DataFrame, skip: set, decimals: tuple[str, ...] = (".",)) -> tuple[pd.DataFrame, list]:
    """`df` with every column (but those in `skip`) that holds written numbers read as floats,
    and dates as days (`as_days`); with the names of the columns so read. `decimals`: the decimal
    marks the file may use, the likelier first; the one that reads more columns wins (one mark
    for the whole file)."""
    best: dict = {}
    for mark in decimals:
        found = {c: got for c in df.columns if c not in skip and (got := as_numbers(df[c], mark)) is not None}
        if len(found) > len(best):
            best = found
    best |= {c: got for c in df.columns if c not in skip and c not in best and (got := as_days(df[c])) is not None}
    if not best:
        return df, []
    out = df.copy()
    for c, v in best.items():
        out[c] = v
    return out, list(best)
