"""Table files as people write them, read into a frame: CSV (its separator and decimal mark
found from the file, a space after every separator dropped), TSV, JSON lines, parquet, Excel
workbooks (a sheet, its header the first row with anything in it), any of them compressed.
Text that is not the given encoding, a JSON line that is not JSON, a broken archive: one line
naming the file and the place.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
from pathlib import Path

import pandas as pd

from dataprep.core.errors import UserError

TABLE_EXTS = {".csv", ".tsv", ".jsonl", ".json", ".parquet", ".xlsx", ".xlsm"}
EXCEL_EXTS = {".xlsx", ".xlsm"}       # read with openpyxl, pandas' engine for them; .xls (before 2007) is not
COMPRESSIONS = {".gz": gzip, ".bz2": bz2, ".xz": lzma}     # a table may come compressed: t.csv.gz
TABLES = f"{', '.join(sorted(TABLE_EXTS))} file (or one compressed: {', '.join(f'.csv{c}' for c in COMPRESSIONS)}, ...)"


def read_source_table(path: Path, encoding: str = "utf-8", text_column: str | list[str] | None = None,
                      sheet: str | int | None = None) -> pd.DataFrame:
    """A CSV/TSV/JSONL/parquet source as a frame; text that is not `encoding` is one line naming
    the line and byte, not a rejection of the whole file without a word. The suffix is read in
    any case (`.CSV`); a CSV whose header has no comma but a semicolon, tab or bar is read with
    that separator (spreadsheets in many locales write `;`), and with decimal commas where they
    make more columns numbers (the same spreadsheets write 3,14). A CSV's `text_column` (one or a list) is read as
    written: '007', '1e3' and 'NA' are texts, not the numbers 7 and 1000 or a missing value.
    An Excel workbook (.xlsx, .xlsm) is read from `sheet` (`acquire.sheet`: a name or a number
    from 0), else its first sheet; the names of the others are in `df.attrs["other_sheets"]`."""
    suffix = table_suffix(path)
    raw = read_bytes(path)
    if suffix in EXCEL_EXTS:
        df = read_excel(path, raw, sheet)
        if df.empty:
            raise UserError(f"{path}: sheet {df.attrs['sheet']!r} has no rows; set acquire.sheet to the sheet with "
                            f"the data (sheets: {', '.join(map(repr, [df.attrs['sheet'], *df.attrs['other_sheets']]))})")
        return df
    if suffix in {".csv", ".tsv", ".jsonl", ".json"}:
        try:
            text = raw.decode(encoding)
        except LookupError:
            raise UserError(f"acquire.encoding: unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise UserError(f"{path}: line {line} is not valid {encoding} (byte 0x{raw[exc.start]:02x}); "
                            "set acquire.encoding, for example latin-1") from None
    try:
        if suffix in {".csv", ".tsv"}:
            sep = "\t" if suffix == ".tsv" else separator(text)
            # `text, label` / `"a text", pos`: a space after every separator of the header is the file's
            # style, not part of names and values (and a quote after it opens a quoted field)
            fields = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r").split(sep)
            spaced = len(fields) > 1 and all(f.startswith(" ") for f in fields[1:])
            df = pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=spaced)
            decimals = (".",)
            if sep != ",":          # a spreadsheet that separates with ';' may write decimal commas too: 3,14
                commas = pd.read_csv(io.StringIO(text), sep=sep, decimal=",", skipinitialspace=spaced)
                decimals = (".", ",")
                if n_numeric(commas) > n_numeric(df):
                    df, decimals = commas, (",", ".")
            header = next(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=sep, skipinitialspace=spaced), [])
            df.attrs["repeated_columns"] = sorted({c for c in header if header.count(c) > 1})
            for col in [text_column] if isinstance(text_column, str) else text_column or []:
                if col in df.columns and header.count(col) == 1:
                    df[col] = pd.read_csv(io.StringIO(text), sep=sep, usecols=[col], dtype=str, keep_default_na=False,
                                          skipinitialspace=spaced)[col].to_numpy()
            df.attrs["decimals"] = decimals     # the marks its written numbers may use (`written_numbers`)
        elif suffix == ".json":
            df = read_json_records(path, text)
        elif suffix == ".jsonl":
            df = pd.read_json(io.StringIO(text), lines=True)
        else:
            df = pd.read_parquet(io.BytesIO(raw))
    except pd.errors.EmptyDataError:
        df = pd.DataFrame()
    except UserError:
        raise
    except Exception as exc:
        if suffix == ".jsonl" and (bad := first_bad_json_line(text)):
            raise UserError(f"{path}: {bad}") from None
        raise UserError(f"{path}: cannot read as {suffix.lstrip('.')} ({exc})") from exc
    if df.empty:        # a header alone read as "no numeric feature columns (columns: x1, x2, label)"
        raise UserError(f"{path}: no rows" + (f" (only the header: {', '.join(map(str, df.columns))})"
                                              if len(df.columns) else " (the file is empty)")
                        + "; point acquire.source at the table with the data")
    return df


def cell_text(v) -> str | None:
    """A cell as the text it shows: None when empty; a whole number read as a float (pandas'
    type for integers beside a missing value, Excel's for every number) as 3, not 3.0."""
    if v is None or (pd.api.types.is_scalar(v) and not isinstance(v, str) and pd.isna(v)):
        return None
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()


def read_excel(path: Path, raw: bytes, sheet: str | int | None) -> pd.DataFrame:
    """One sheet of a workbook as a frame: cells keep the type Excel gave them (a number typed
    as text stays text); `attrs` name the sheet read and the others."""
    try:
        book = pd.ExcelFile(io.BytesIO(raw), engine="openpyxl")
    except Exception as exc:            # zipfile.BadZipFile, KeyError, openpyxl's InvalidFileException
        raise UserError(f"{path}: not a readable Excel workbook ({type(exc).__name__}: {exc}); open and save it "
                        "again in a spreadsheet program, or export the sheet as .csv") from None
    names = list(book.sheet_names)
    if sheet is None:
        chosen = names[0]
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise UserError(f"acquire.sheet: {path} has {len(names)} sheets (0 to {len(names) - 1}: "
                            f"{', '.join(map(repr, names))}), not {sheet}")
        chosen = names[sheet]
    elif sheet in names:
        chosen = sheet
    else:
        raise UserError(f"acquire.sheet: {path} has no sheet {sheet!r} (sheets: {', '.join(map(repr, names))})")
    # the header is the first row with anything in it (a sheet often starts with a title or blank
    # rows); blank rows and columns around and between the data are not rows or columns of it
    cells = book.parse(chosen, header=None).dropna(how="all").dropna(axis=1, how="all")
    if cells.empty:
        df = pd.DataFrame()
    else:
        head = [cell_text(v) or f"Unnamed: {i}" for i, v in enumerate(cells.iloc[0])]
        df = cells.iloc[1:].reset_index(drop=True).infer_objects()
        df.columns = head
    df.attrs.update(sheet=chosen, other_sheets=[n for n in names if n != chosen], repeated_columns=[])
    return df


def read_json_records(path: Path, text: str) -> pd.DataFrame:
    """A JSON file of records: a list of objects, or one object holding them under a key
    (`{"version": 1, "data": [...]}`, as many exports write), the key being the one whose value
    is a list of objects; nested objects become `outer.inner` columns. Anything else is read as
    pandas reads JSON (the layouts `DataFrame.to_json` writes)."""
    doc = json.loads(text)
    if isinstance(doc, dict):
        lists = [k for k, v in doc.items() if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)]
        if len(lists) == 1:
            doc = doc[lists[0]]
    if isinstance(doc, list) and all(isinstance(r, dict) for r in doc):
        return pd.json_normalize(doc) if doc else pd.DataFrame()
    return pd.read_json(io.StringIO(text))      # pandas' other layouts (`to_json`'s columns, index, split...)


def table_suffix(path: Path) -> str:
    """The format a table file is in, whatever its case or compression: '.csv' for t.CSV and t.csv.gz."""
    parts = [x.lower() for x in path.suffixes]
    if parts and parts[-1] in COMPRESSIONS:
        parts.pop()
    return parts[-1] if parts else ""


def read_bytes(path: Path) -> bytes:
    """A table file's bytes, decompressed where its name says it is compressed (`COMPRESSIONS`)."""
    raw = path.read_bytes()
    codec = COMPRESSIONS.get(path.suffix.lower())
    if codec is None:
        return raw
    try:
        return codec.decompress(raw)
    except Exception as exc:        # gzip.BadGzipFile, OSError, lzma.LZMAError, EOFError: all one answer
        raise UserError(f"{path}: not a readable {codec.__name__} file ({exc}); point acquire.source at a whole "
                        f"copy, or name the file without {path.suffix} if it is not compressed") from None


def first_bad_json_line(text: str) -> str | None:
    """Where a JSONL text stops being JSON ("line 12 is not JSON (…): '{not json'"); pandas says only
    "at position 589". None if every non-blank line parses."""
    for i, line in enumerate(text.splitlines(), 1):
        try:
            if line.strip():
                json.loads(line)
        except json.JSONDecodeError as exc:
            return f"line {i} is not JSON ({exc.msg}, column {exc.colno}): {line[:60]!r}"
    return None


def n_numeric(df: pd.DataFrame) -> int:
    return sum(pd.api.types.is_numeric_dtype(df[c]) for c in df.columns)


def separator(text: str) -> str:
    """A CSV's separator, from its header line: a comma unless the header has none and has one
    of `;`, tab or `|`."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    if "," in header:
        return ","
    return next((c for c in (";", "\t", "|") if c in header), ",")
