import json
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import write_png
from dataprep.core import store
from dataprep.core.acquire import acquire
from dataprep.core.columns import is_row_index
from dataprep.cli import app
from dataprep.core.project import open_project

runner = CliRunner()


def _images(root):
    src = root / "imgs"
    for i in range(6):
        write_png(src / "cat" / f"{i}.png", seed=i)
        write_png(src / "dog" / f"{i}.png", seed=100 + i)
    return src


def test_image_folder_labels_duplicates_and_corrupt(project, tmp_path):
    src = _images(tmp_path)
    shutil.copy(src / "cat" / "0.png", src / "dog" / "copy_of_cat0.png")       # exact duplicate
    good = (src / "cat" / "1.png").read_bytes()
    (src / "cat" / "truncated.png").write_bytes(good[: len(good) // 2])        # truncated PNG
    (src / "dog" / "notes.png").write_text("this is not an image")              # text named .png
    root = project(acquire={"source": "imgs", "n_jobs": 1})
    s = acquire(open_project(root / "params.yaml"))
    assert s["samples"] == 12 and s["duplicates_collapsed"] == 1 and s["unreadable"] == 2
    bad = {b["source"].split("/")[-1] for b in s["unreadable_files"]}
    assert bad == {"truncated.png", "notes.png"}
    errors = [b["error"] for b in s["unreadable_files"]]
    assert not any("object at 0x" in e for e in errors), errors       # the file named, never a buffer's repr
    assert any("notes.png" in e for e in errors), errors
    assert s["duplicate_files"] == [{"sample_id": s["duplicate_files"][0]["sample_id"],
                                     "sources": ["imgs/cat/0.png", "imgs/dog/copy_of_cat0.png"]}]
    man = store.read_table(root / "data", "manifest").set_index("sample_id")
    assert set(man["source_label"].dropna()) == {"cat", "dog"}
    dup = man[man["sources"].str.contains("copy_of_cat0")]
    assert json.loads(dup["sources"].iloc[0]) == ["imgs/cat/0.png", "imgs/dog/copy_of_cat0.png"]
    assert dup["source_label"].isna().all()         # filed under cat and dog: the truth is unknown, not "cat"
    for sid, row in man.iterrows():
        assert (root / "data" / row["path"]).exists() and row["path"].startswith(f"raw/{sid}.")
    report = json.loads((root / "reports" / "acquire.json").read_text())
    assert report["unreadable"] == 2
    assert report["conflicting_labels"][0]["labels"] == ["cat", "dog"] and len(report["warnings"]) == 1


def test_rerun_is_noop_and_new_files_add_rows(project, tmp_path):
    src = _images(tmp_path)
    root = project(acquire={"source": "imgs", "test_fraction": 0.5, "n_jobs": 2})
    p = open_project(root / "params.yaml")
    acquire(p)
    path = root / "data" / "manifest.parquet"
    before, mtime = store.read_table(root / "data", "manifest"), path.stat().st_mtime_ns
    assert acquire(p)["changed"] is False
    assert path.stat().st_mtime_ns == mtime
    assert (before["split"] == "test").groupby(before["source_label"]).sum().tolist() == [3, 3]  # stratified
    write_png(src / "cat" / "new.png", seed=999)
    s = acquire(p)
    after = store.read_table(root / "data", "manifest")
    assert s["new_samples"] == 1 and len(after) == 13
    old = after[after["sample_id"].isin(before["sample_id"])].set_index("sample_id")
    assert old["split"].to_dict() == before.set_index("sample_id")["split"].to_dict()
    assert old["acquired_at"].to_dict() == before.set_index("sample_id")["acquired_at"].to_dict()


def test_text_and_tabular(project, tmp_path):
    pd.DataFrame({"body": ["good movie", "bad movie", "good movie", None], "y": ["pos", "neg", "pos", "neg"]}) \
        .to_csv(tmp_path / "reviews.csv", index=False)
    root = project(acquire={"source": "reviews.csv", "text_column": "body", "label_column": "y"})
    s = acquire(open_project(root / "params.yaml"))
    assert s["kind"] == "text" and s["samples"] == 2 and s["duplicates_collapsed"] == 1 and s["unreadable"] == 1
    assert "row 4" in s["unreadable_files"][0]["error"]

    pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.5, 0.5, 0.1], "label": ["x", "y", "x"]}).to_parquet(tmp_path / "t.parquet")
    (tmp_path / "params.yaml").write_text("acquire:\n  source: t.parquet\nproject:\n  data_dir: tab\n")
    s = acquire(open_project(tmp_path / "params.yaml"))
    assert s["kind"] == "tabular" and s["samples"] == 3
    feats = pd.read_parquet(tmp_path / "tab" / "raw" / "tabular.parquet")
    assert list(feats.columns) == ["sample_id", "a", "b"]


def test_missing_text_column_exits_2_and_names_it(project, tmp_path):
    pd.DataFrame({"body": ["x"]}).to_csv(tmp_path / "r.csv", index=False)
    root = project(acquire={"source": "r.csv", "kind": "text", "text_column": "content"})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 2
    assert "'content'" in res.output and "r.csv" in res.output and "Traceback" not in res.output
    assert not (root / "data" / "manifest.parquet").exists()


@pytest.mark.parametrize("content, says", [("x1,x2,label\n", "only the header: x1, x2, label"),
                                           ("", "the file is empty")])
def test_a_table_without_rows_exits_2_and_says_so(project, tmp_path, content, says):
    """A header alone was "no numeric feature columns (columns: x1, x2, label)", which it has."""
    (tmp_path / "r.csv").write_text(content)
    root = project(acquire={"source": "r.csv"})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "r.csv: no rows" in res.output and says in res.output
    assert not (root / "data" / "manifest.parquet").exists()


def test_a_text_column_is_read_as_written(project, tmp_path):
    """pandas read a text column of numbers as numbers: every row of a column of codes or years
    was "no text", acquire ended with 0 samples and exit 0, and each later stage said "run
    `dataprep acquire` first". '007', '1e3' and 'NA' are texts; an empty cell is none."""
    texts = ["007", "1e3", "NA", "2024", "", "null"]
    (tmp_path / "codes.csv").write_text("text,label\n" + "".join(f"{t},{'ab'[i % 2]}\n" for i, t in enumerate(texts)))
    root = project(acquire={"source": "codes.csv", "kind": "text"})
    s = acquire(open_project(root / "params.yaml"))
    assert s["samples"] == 5 and s["unreadable"] == 1 and "row 5: no text" in s["unreadable_files"][0]["error"]
    corpus = pd.read_parquet(root / "data" / "raw" / "text.parquet")
    assert sorted(corpus["text"]) == sorted(["007", "1e3", "NA", "2024", "null"])
    (tmp_path / "codes.jsonl").write_text("".join(json.dumps({"text": t, "label": "a"}) + "\n" for t in (5, 2024, "x y")))
    (tmp_path / "params.yaml").write_text("acquire:\n  source: codes.jsonl\n  kind: text\nproject:\n  data_dir: js\n")
    s = acquire(open_project(tmp_path / "params.yaml"))
    assert s["samples"] == 3
    assert sorted(pd.read_parquet(tmp_path / "js" / "raw" / "text.parquet")["text"]) == ["2024", "5", "x y"]


@pytest.mark.parametrize("kind", ["text", "images"])
def test_a_source_none_of_which_can_be_read_is_one_line(project, tmp_path, kind):
    """0 samples read, exit 0, and every later stage said "no samples; run `dataprep acquire`
    first": the command the user had just run."""
    if kind == "text":
        (tmp_path / "src.csv").write_text("text,label\n,a\n,b\n,a\n")
        source, says = "src.csv", "all 3 rows were skipped (first: src.csv:1: row 1: no text in column 'text')"
    else:
        for c in ("cat", "dog"):
            (tmp_path / "imgs" / c).mkdir(parents=True)
            (tmp_path / "imgs" / c / "0.png").write_bytes(b"not a png")
        source, says = "imgs", "all 2 files were skipped (first: imgs/"
    root = project(acquire={"source": source})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert "no sample could be read" in res.output and says in res.output and len(res.output.strip().splitlines()) == 1
    assert res.output.strip().endswith("check acquire.text_column and acquire.source" if kind == "text" else "check acquire.source")
    assert not (root / "data" / "manifest.parquet").exists()


def test_a_source_that_turns_unreadable_as_a_whole_marks_nothing_gone(project, tmp_path):
    """Every file unreadable at once (a failed mount, a botched copy) is one line and exit 2,
    not every sample gone from the source (and its open tasks withdrawn at the next push)."""
    src = _images(tmp_path)
    root = project(acquire={"source": "imgs"})
    acquire(open_project(root / "params.yaml"))
    before = store.read_table(root / "data", "manifest")
    for f in src.rglob("*.png"):
        f.write_bytes(b"not a png")
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 2 and "no sample could be read" in res.output, res.output
    after = store.read_table(root / "data", "manifest")
    assert after["gone_at"].isna().all() and len(after) == len(before)


def test_compressed_tables_are_read_and_a_broken_one_is_one_line(project, tmp_path):
    """Tables often come compressed (t.csv.gz): it was "expected an image folder or .csv, ..."."""
    import bz2
    import io
    import gzip
    import lzma

    text = pd.DataFrame({"text": ["good film", "bad film", "fine film", "007"], "label": ["p", "n", "p", "n"]})
    (tmp_path / "r.CSV.gz").write_bytes(gzip.compress(text.to_csv(index=False).encode()))
    root = project(acquire={"source": "r.CSV.gz"})
    s = acquire(open_project(root / "params.yaml"))
    assert s["kind"] == "text" and s["samples"] == 4
    assert "007" in set(pd.read_parquet(root / "data" / "raw" / "text.parquet")["text"])
    table = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.5, 0.4, 0.1], "label": ["x", "y", "x"]})
    buf = io.BytesIO()
    table.to_parquet(buf)
    for name, packed in (("t.parquet.xz", lzma.compress(buf.getvalue())),
                         ("t.tsv.bz2", bz2.compress(table.to_csv(index=False, sep="\t").encode()))):
        (tmp_path / name).write_bytes(packed)
        (tmp_path / "params.yaml").write_text(f"acquire:\n  source: {name}\nproject:\n  data_dir: {name}.d\n")
        s = acquire(open_project(tmp_path / "params.yaml"))
        assert s["kind"] == "tabular" and s["samples"] == 3, name
    (tmp_path / "broken.csv.gz").write_bytes(b"not gzip at all")
    (tmp_path / "params.yaml").write_text("acquire:\n  source: broken.csv.gz\nproject:\n  data_dir: broken\n")
    res = runner.invoke(app, ["--params", str(tmp_path / "params.yaml"), "acquire"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "broken.csv.gz: not a readable gzip file" in res.output and len(res.output.strip().splitlines()) == 1
    assert "point acquire.source at a whole copy" in res.output


@pytest.mark.parametrize("decimal", [",", "."])
def test_a_spreadsheet_with_semicolons_and_decimal_commas_is_a_table(project, tmp_path, decimal):
    """Spreadsheets in many locales write `;` and 3,14: every number was read as text, and acquire
    said "no numeric feature columns (columns: a, b, c, label)"."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(30, 3)), columns=list("abc")).assign(label=["x", "y", "z"] * 10)
    table.to_csv(tmp_path / "eu.csv", sep=";", decimal=decimal, index=False)
    root = project(acquire={"source": "eu.csv"})
    s = acquire(open_project(root / "params.yaml"))
    assert s["kind"] == "tabular" and s["samples"] == 30 and not s["warnings"], s
    feats = pd.read_parquet(root / "data" / "raw" / "tabular.parquet")
    man = store.read_table(root / "data", "manifest")
    got = feats.set_index("sample_id").loc[man["sample_id"], ["a", "b", "c"]].to_numpy()
    assert np.allclose(np.sort(got, axis=0), np.sort(table[["a", "b", "c"]].to_numpy(), axis=0))


@pytest.mark.parametrize("sep, written", [
    (",", lambda v: f"{v:,.2f}"),                                             # 1,939.35
    (",", lambda v: f"${v:,.0f}"),                                            # $1,939
    (";", lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ",")),         # 1 939,35
    (";", lambda v: f"{v:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")),   # 1.939,35
    (",", lambda v: f"{v:.0f}%"),                                              # 1939% (kept as written)
], ids=["thousands-commas", "dollars", "spaces-decimal-comma", "dots-decimal-comma", "percent"])
def test_numbers_written_with_separators_are_numbers(project, tmp_path, sep, written):
    """A spreadsheet's `1,939.35`, `1.939,35`, `$1,939` or `19.4%` was text to pandas: the column was
    left out of the features ("neither numbers nor categories"), and in a project acquired before
    from the plain numbers every value became missing, every row a new sample and every old one
    gone. Read as numbers under one convention, it is the same feature with the same sample ids."""
    rng = np.random.default_rng(0)
    plain = pd.DataFrame(rng.normal(size=(40, 3)) * [1000, 1, 1], columns=list("abc")).assign(label=["x", "y"] * 20)
    plain["a"] = plain["a"].round(0)        # every form above shows all of a
    plain.to_csv(tmp_path / "t.csv", sep=sep, index=False)
    root = project(acquire={"source": "t.csv"})
    assert acquire(open_project(root / "params.yaml"))["samples"] == 40
    ids = set(store.read_table(root / "data", "manifest")["sample_id"])
    styled = plain.assign(a=plain["a"].map(written))
    styled.to_csv(tmp_path / "t.csv", sep=sep, index=False)
    again = acquire(open_project(root / "params.yaml"))
    assert again["new_samples"] == 0 and again["gone"] == 0 and set(store.read_table(root / "data", "manifest")["sample_id"]) == ids
    assert any("column 'a' read as numbers written with separators" in w for w in again["warnings"]), again["warnings"]
    # a new project reads the styled file alone: a is a feature, with the plain values
    root2 = project(acquire={"source": "t.csv"}, project={"data_dir": "d2"})
    s = acquire(open_project(root2 / "params.yaml"))
    feats = pd.read_parquet(root2 / "d2" / "raw" / "tabular.parquet")
    assert s["samples"] == 40 and "a" in feats.columns, (s, feats.columns)
    got = np.sort(feats["a"].to_numpy())
    assert np.array_equal(got, np.sort(plain["a"].to_numpy())), got[:5]
    assert set(feats["sample_id"]) == ids


def test_a_table_whose_only_numbers_are_written_ones_is_a_table(project, tmp_path):
    """Every feature column as money: acquire.kind auto said "no numeric feature columns"."""
    rng = np.random.default_rng(1)
    money = pd.DataFrame({c: [f"${v:,.2f}" for v in rng.uniform(1000, 9000, 30)] for c in ("price", "cost")})
    money.assign(label=["cheap", "dear", "fair"] * 10).to_csv(tmp_path / "m.csv", index=False)
    s = acquire(open_project(project(acquire={"source": "m.csv"}) / "params.yaml"))
    assert s["kind"] == "tabular" and s["samples"] == 30, s


@pytest.mark.parametrize("store_as", ["csv", "xlsx"])
def test_dates_are_a_feature_in_days(project, tmp_path, store_as):
    """A date column (ISO text in a CSV, dates in an Excel sheet) was left out of a table's
    features as "neither numbers nor categories"; it is days since 1970 now, a later date larger."""
    rng = np.random.default_rng(2)
    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, 40), unit="D")
    table = pd.DataFrame({"signed_up": when, "spend": rng.normal(size=40), "label": ["stay", "leave"] * 20})
    if store_as == "csv":
        table.assign(signed_up=table["signed_up"].dt.strftime("%Y-%m-%d")).to_csv(tmp_path / "t.csv", index=False)
    else:
        table.to_excel(tmp_path / "t.xlsx", index=False)
    s = acquire(open_project(project(acquire={"source": f"t.{store_as}"}) / "params.yaml"))
    feats = pd.read_parquet(tmp_path / "data" / "raw" / "tabular.parquet")
    assert s["kind"] == "tabular" and "signed_up" in feats.columns, (s, feats.columns)
    days = (when - pd.Timestamp("1970-01-01")).days.to_numpy()
    assert np.array_equal(np.sort(feats["signed_up"].to_numpy()), np.sort(days.astype(float)))
    assert any("'signed_up' read as dates" in w for w in s["warnings"]), s["warnings"]


@pytest.mark.parametrize("values", [
    ["12-345", "23-456", "34-567"],       # product codes
    ["1,2,3", "4,5,6", "7,8,9"],          # lists
    ["007,123", "012,345", "099,999"],    # codes with leading zeros
    ["1,234.5", "1.234,5", "2,000.0"],    # two conventions in one column
    ["1,23", "4,567", "8,9"],             # groups not of three
])
def test_text_that_only_looks_like_numbers_stays_text(values):
    from dataprep.core.written_numbers import as_numbers
    assert as_numbers(pd.Series(values * 4, dtype="string")) is None


@pytest.mark.parametrize("kind", ["text", "tabular"])
def test_an_excel_workbook_is_read_from_the_sheet_asked_for(project, tmp_path, kind):
    """Teams keep labelled data in Excel: a .xlsx source was "expected an image folder or a .csv,
    ... file". Its first sheet is read (the others named in a warning), or `acquire.sheet`."""
    rng = np.random.default_rng(0)
    if kind == "text":
        data = pd.DataFrame({"text": [f"note {i} about {['tea', 'tax'][i % 2]}" for i in range(19)] + [2024],
                             "label": ["drink", "money"] * 10})
    else:
        data = pd.DataFrame(rng.normal(size=(20, 3)), columns=list("abc")).assign(label=["x", "y"] * 10)
    with pd.ExcelWriter(tmp_path / "book.xlsx", engine="openpyxl") as xl:
        pd.DataFrame({"read me": ["the data is on the next sheet"]}).to_excel(xl, sheet_name="about", index=False)
        data.to_excel(xl, sheet_name="data", index=False, startrow=2)      # two blank rows above the header
    root = project(acquire={"source": "book.xlsx", "sheet": "data"})
    s = acquire(open_project(root / "params.yaml"))
    assert s["kind"] == kind and s["samples"] == 20 and s["unreadable"] == 0, s
    man = store.read_table(root / "data", "manifest")
    assert sorted(man["source_label"].unique()) == sorted(data["label"].unique())
    if kind == "text":                  # a cell Excel holds as a number is a text like any other
        assert "2024" in set(man["text"])
    else:
        feats = pd.read_parquet(root / "data" / "raw" / "tabular.parquet")
        assert np.allclose(np.sort(feats["a"]), np.sort(data["a"]))
    assert man["source"].str.startswith("book.xlsx[data]:").all(), man["source"].head(2).tolist()
    # by number too; the first sheet by default, with a warning naming the others
    assert acquire(open_project(root / "params.yaml", {"acquire.sheet": 1}))["new_samples"] == 0
    # a sheet added and read later (next week's rows) is another source: the first sheet's rows stay
    more = data.iloc[:5].copy()
    if kind == "text":
        more["text"] = [f"{t} again" for t in more["text"].astype(str)]
    else:
        more["a"] = more["a"] + 100
    with pd.ExcelWriter(tmp_path / "book.xlsx", engine="openpyxl", mode="a") as xl:
        more.to_excel(xl, sheet_name="week2", index=False)
    s2 = acquire(open_project(root / "params.yaml", {"acquire.sheet": "week2"}))
    assert s2["new_samples"] == 5 and s2["gone"] == 0 and s2["samples"] == 25, s2
    root2 = project(acquire={"source": "book.xlsx"}, project={"data_dir": "d2"})
    res = runner.invoke(app, ["--params", str(root2 / "params.yaml"), "acquire"])
    assert res.exit_code == 2 and "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1
    assert "text column 'text' not found" in res.output and "columns: read me" in res.output, res.output
    for sheet, says in ((5, "acquire.sheet: "), ("Data", "has no sheet 'Data' (sheets: 'about', 'data', 'week2')")):
        root3 = project(acquire={"source": "book.xlsx", "sheet": sheet}, project={"data_dir": "d3"})
        res = runner.invoke(app, ["--params", str(root3 / "params.yaml"), "acquire"])
        assert res.exit_code == 2 and says in res.output and len(res.output.strip().splitlines()) == 1, res.output


def test_an_old_or_broken_excel_file_is_one_line(project, tmp_path):
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0 not really")
    (tmp_path / "broken.xlsx").write_bytes(b"PK not a zip")
    for name, says in (("old.xls", "old.xls: an Excel file from before 2007 (.xls) is not read; save it as .xlsx"),
                       ("broken.xlsx", "broken.xlsx: not a readable Excel workbook")):
        root = project(acquire={"source": name, "kind": "tabular"})
        res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
        assert res.exit_code == 2 and "Traceback" not in res.output, res.output
        assert says in res.output and len(res.output.strip().splitlines()) == 1, res.output


def test_a_text_column_under_another_name_is_found(project, tmp_path):
    """A review set with columns `review, label` was "text column 'text' not found and no numeric
    feature columns"; with a star rating beside it, a table whose reviews were left out as
    "neither numbers nor categories", with no word of acquire.text_column."""
    words = "good bad slow quick broken lovely cheap pricey late early".split()
    rng = np.random.default_rng(0)
    reviews = [" ".join(rng.choice(words, 6)) + f" no {i}" for i in range(29)] + ["007 008 009 010"]
    pd.DataFrame({"title": [f"t{i % 3}" for i in range(30)], "review": reviews,
                  "label": ["pos", "neg", "mixed"] * 10}).to_csv(tmp_path / "r.csv", index=False)
    root = project(acquire={"source": "r.csv"})
    s = acquire(open_project(root / "params.yaml"))
    assert s["kind"] == "text" and s["samples"] == 30, s
    assert any("the texts are read from column 'review'" in w for w in s["warnings"]), s["warnings"]
    assert "007 008 009 010" in set(store.read_table(root / "data", "manifest")["text"])
    # with a number beside it the table stays a table (as before), and the warning says how to read the reviews
    pd.DataFrame({"review": reviews, "stars": rng.integers(1, 6, 30),
                  "label": ["pos", "neg", "mixed"] * 10}).to_csv(tmp_path / "s.csv", index=False)
    root = project(acquire={"source": "s.csv"}, project={"data_dir": "d2"})
    s = acquire(open_project(root / "params.yaml"))
    assert s["kind"] == "tabular" and any("set acquire.text_column: review" in w for w in s["warnings"]), s
    root = project(acquire={"source": "s.csv", "text_column": "review"}, project={"data_dir": "d3"})
    assert acquire(open_project(root / "params.yaml"))["kind"] == "text"
    # nothing like a text, no numbers, no categories (ids): the one line as before
    pd.DataFrame({"code": [f"c{i}" for i in range(30)], "label": ["a", "b"] * 15}).to_csv(tmp_path / "c.csv", index=False)
    root = project(acquire={"source": "c.csv"}, project={"data_dir": "d4"})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 2 and "text column 'text' not found and no feature columns" in res.output, res.output


def test_a_table_of_categories_only_is_a_table(project, tmp_path):
    """Tables whose every feature is a category (mushrooms, cars, tic-tac-toe) were "text column
    'text' not found and no numeric feature columns", or with acquire.kind: tabular "no numeric
    feature columns": one-hot features are features."""
    rng = np.random.default_rng(3)
    odor = rng.choice(list("anpf"), 60)
    table = pd.DataFrame({"cap": rng.choice(list("xbf"), 60), "odor": odor, "ring": rng.choice(list("pen"), 60),
                          "label": np.where(np.isin(odor, ["p", "f"]), "poison", "edible")})
    table.to_csv(tmp_path / "m.csv", index=False)
    s = acquire(open_project(project(acquire={"source": "m.csv"}) / "params.yaml"))
    assert s["kind"] == "tabular" and s["samples"] == len(table.drop_duplicates(["cap", "odor", "ring"])), s
    from dataprep.core.features import build_features
    build_features(open_project(tmp_path / "params.yaml"))
    X = np.load(tmp_path / "data" / "features" / "dense.npy")
    assert X.shape[1] == 3 + 4 + 3 and np.isfinite(X).all(), X.shape


def test_a_csv_written_with_a_space_after_each_comma(project, tmp_path):
    """`label, text` then `pos, "a text, with a comma"`: the header's names began with a space
    (the labels were read from ' text'), and a quoted text after ', ' was cut at its comma."""
    rows = ["label, text"] + [f'{["pos", "neg"][i % 2]}, "words {i}, then more words after the comma"'
                              for i in range(12)]
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    s = acquire(open_project(project(acquire={"source": "s.csv"}) / "params.yaml"))
    man = store.read_table(tmp_path / "data", "manifest")
    assert s["kind"] == "text" and s["samples"] == 12 and not s["warnings"], s
    assert set(man["source_label"]) == {"pos", "neg"}
    assert man["text"].str.endswith(", then more words after the comma").all(), man["text"].head(2).tolist()


def test_a_text_in_two_columns_is_one_text(project, tmp_path):
    """News as `headline, body`, products as `title, description`: only one column could be the
    text. `acquire.text_column: [headline, body]` joins them, a blank line between."""
    rows = [{"headline": f"Headline {i}", "body": f"body words {i} " * 3 if i % 5 else "", "label": "ab"[i % 2]}
            for i in range(20)]
    rows[3]["headline"], rows[3]["body"] = "", ""          # nothing in either: unreadable, named
    pd.DataFrame(rows).to_csv(tmp_path / "news.csv", index=False)
    root = project(acquire={"source": "news.csv", "text_column": ["headline", "body"]})
    s = acquire(open_project(root / "params.yaml"))
    man = store.read_table(root / "data", "manifest")
    assert s["kind"] == "text" and s["samples"] == 19 and s["unreadable"] == 1, s
    assert "Headline 1\n\nbody words 1 body words 1 body words 1" in set(man["text"])
    assert "Headline 5" in set(man["text"])                 # no body: the headline alone
    assert "no text in column 'headline' or 'body'" in json.dumps(s["unreadable_files"]), s["unreadable_files"]
    root = project(acquire={"source": "news.csv", "text_column": ["headline", "summary"]}, project={"data_dir": "d2"})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 2 and "text column 'headline', 'summary' not found" in res.output, res.output


@pytest.mark.parametrize("layout", ["records", "under_a_key", "pandas_columns"])
def test_a_json_file_of_records_in_the_layouts_exports_write(project, tmp_path, layout):
    """`{"version": 1, "data": [...records...]}`, as many exports write, was one row per key
    ("text column 'text' not found ... columns: version, data"); records and pandas' own layouts
    read as before, a text as written ('007'), a nested object as `meta.lang` columns."""
    recs = [{"text": f"words about thing {i}" if i else "007", "label": "ab"[i % 2], "meta": {"lang": "en"}}
            for i in range(12)]
    doc = {"records": recs, "under_a_key": {"version": 1, "data": recs}}.get(layout)
    if doc is None:
        pd.DataFrame([{k: v for k, v in r.items() if k != "meta"} for r in recs]).to_json(tmp_path / "t.json")
    else:
        (tmp_path / "t.json").write_text(json.dumps(doc))
    s = acquire(open_project(project(acquire={"source": "t.json"}) / "params.yaml"))
    man = store.read_table(tmp_path / "data", "manifest")
    assert s["kind"] == "text" and s["samples"] == 12 and set(man["source_label"]) == {"a", "b"}, s
    if layout != "pandas_columns":
        assert "007" in set(man["text"])


def test_a_jsonl_line_that_is_not_json_is_named(project, tmp_path):
    lines = [json.dumps({"text": f"t {i}", "label": "a"}) for i in range(5)]
    lines[3] = '{"text": "t 3", "label": a}'
    (tmp_path / "t.jsonl").write_text("\n".join(lines) + "\n")
    root = project(acquire={"source": "t.jsonl"})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "t.jsonl: line 4 is not JSON" in res.output and '"label": a}' in res.output


@pytest.mark.parametrize("kind, source, says", [
    ("images", "r.csv", "acquire.kind: images reads a folder of images; "),
    ("text", "imgs", "acquire.kind: text reads a .csv, .json, .jsonl, .parquet, .tsv, .xlsm, .xlsx file (or one compressed: .csv.gz"),
    ("tabular", "notes.txt", "acquire.kind: tabular reads a .csv, .json, .jsonl, .parquet, .tsv, .xlsm, .xlsx file (or one compressed: ")])
def test_a_kind_the_source_is_not_is_one_line(project, tmp_path, kind, source, says):
    """`acquire.kind: images` on a CSV was "unexpected NotADirectoryError"; `text` on an image
    folder said "cannot read as  (... Parquet magic bytes not found ...)"."""
    _images(tmp_path)
    pd.DataFrame({"text": ["a b", "c d"], "label": ["x", "y"]}).to_csv(tmp_path / "r.csv", index=False)
    (tmp_path / "notes.txt").write_text("a,b\n1,2\n")
    root = project(acquire={"source": source, "kind": kind})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 2 and says in res.output and source in res.output, res.output
    assert "unexpected" not in res.output and len(res.output.strip().splitlines()) == 1, res.output


def test_the_label_column_listed_as_a_feature_is_one_line(project, tmp_path):
    """`acquire.feature_columns: [label]` used to pass: every model then read the answer."""
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "a"]}).to_csv(tmp_path / "r.csv", index=False)
    root = project(acquire={"source": "r.csv", "feature_columns": ["x", "label"]})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 2 and "r.csv: acquire.feature_columns lists 'label', the label column" in res.output
    assert not (root / "data" / "manifest.parquet").exists()


def test_bad_param_exits_2(project):
    root = project(acquire={"test_fraction": 2})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 2 and "acquire.test_fraction" in res.output


def test_digits_source_json_output(project):
    root = project(acquire={"source": "digits", "test_fraction": 0.3})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "--json", "acquire"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["samples"] == 1797 and s["splits"]["test"] == pytest.approx(539, abs=10)
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "--json", "status"])
    info = json.loads(res.output)
    assert info["states"]["unlabeled"] == 1797 - info["test"]


def test_a_column_name_twice_in_the_header_is_named(project, tmp_path):
    """pandas reads a header `x,x,label` as columns 'x' and 'x.1' without a word."""
    rng = np.random.default_rng(0)
    rows = [f"{a:.3f},{b:.3f},{'p' if a > 0 else 'q'}" for a, b in rng.normal(size=(30, 2))]
    (tmp_path / "t.csv").write_text("x,x,label\n" + "\n".join(rows) + "\n")
    root = project(acquire={"source": "t.csv"})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 0, res.output
    assert "column 'x' is in the header more than once" in res.output and "'x.1'" in res.output
    assert "column 'x' is in the header" in json.loads((root / "reports" / "acquire.json").read_text())["warnings"][0]


def test_tabular_leaves_out_a_row_index_names_skipped_columns_and_reads_inf_as_missing(project, tmp_path):
    """Real tables carry pandas' saved index (`Unnamed: 0`), ids, categories, free text and an odd
    inf: an index or free text may not become a feature silently, a category is one (one-hot:
    it was left out, and with it what tells the classes apart), and an inf must not stop the
    features stage."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    df.loc[5, "b"] = np.inf
    df["colour"] = rng.choice(["red", "blue", None], 40)
    df["note"] = [f"free text {i}" for i in range(40)]
    df["id"] = rng.permutation(40) + 100          # an id, shuffled: still numbers the rows
    df["label"] = np.where(df["colour"] == "red", "p", "n")
    df.to_csv(tmp_path / "t.csv")                 # with the index: 'Unnamed: 0'
    root = project(acquire={"source": "t.csv"})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 0, res.output
    assert "'Unnamed: 0', 'id' numbers the rows" in res.output
    assert "column 'note' left out of the features" in res.output and "'colour'" not in res.output
    assert "1 infinite values read as missing (e.g. t.csv row 6, column 'b')" in res.output
    feats = pd.read_parquet(root / "data" / "raw" / "tabular.parquet")
    assert list(feats.columns) == ["sample_id", "a", "b", "c", "colour"] and feats["b"].isna().sum() == 1
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "features"])
    assert res.exit_code == 0, res.output
    from dataprep.core.features import load_features
    X, index = load_features(open_project(root / "params.yaml"))
    assert X.shape == (40, 3 + 2)                 # a, b, c, and colour one-hot: blue, red (missing: zeros)
    man = store.read_table(root / "data", "manifest").set_index("sample_id").loc[list(index)]
    red = np.asarray(X)[:, 4]
    assert ((red > 0) == (man["source_label"] == "p").to_numpy()).all()
    # the first acquire fixes the columns: a rerun keeps them, a different list is one line and exit 2
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 0 and store.read_table(root / "data", "manifest").shape[0] == 40
    project(acquire={"source": "t.csv", "feature_columns": ["a", "b"]})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 2 and "feature_columns ['a', 'b'] differ" in res.output and "Traceback" not in res.output
    assert store.read_table(root / "data", "manifest").shape[0] == 40


def test_is_row_index():
    assert is_row_index(pd.Series(np.arange(10)))
    assert is_row_index(pd.Series(np.random.default_rng(0).permutation(50) + 7.0))
    assert not is_row_index(pd.Series(np.arange(9)))                        # too few to tell
    assert not is_row_index(pd.Series(np.r_[np.arange(20), 25]))            # a gap
    assert not is_row_index(pd.Series(np.r_[np.arange(20), 5]))             # a repeat
    assert not is_row_index(pd.Series(np.arange(20) + 0.5))                 # not integers
    assert not is_row_index(pd.Series(np.r_[np.arange(20.0), np.nan]))


@pytest.mark.parametrize("name, write", [
    ("bom.csv", lambda df, p: df.to_csv(p, index=False, encoding="utf-8-sig")),      # Excel's "CSV UTF-8"
    ("semi.csv", lambda df, p: df.to_csv(p, index=False, sep=";")),                  # a comma-decimal locale
    ("t.tsv", lambda df, p: df.to_csv(p, index=False, sep="\t")),
    ("UPPER.CSV", lambda df, p: df.to_csv(p, index=False)),
])
def test_text_tables_as_spreadsheets_write_them(project, tmp_path, name, write):
    df = pd.DataFrame({"text": [f"doc {i}, with a comma; and a semicolon" for i in range(6)], "label": ["a", "b"] * 3})
    write(df, tmp_path / name)
    root = project(acquire={"source": name})
    res = runner.invoke(app, ["--params", str(root / "params.yaml"), "acquire"])
    assert res.exit_code == 0, res.output
    man = store.read_table(root / "data", "manifest")
    assert sorted(man["text"]) == sorted(df["text"]) and sorted(man["source_label"]) == sorted(df["label"])


def _topic_texts(topics: dict[str, list[str]], filler: list[str], joiner: str, n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for label, words in topics.items():
        for _ in range(n):
            w = list(rng.choice(words, 3)) + list(rng.choice(filler, 8))
            rng.shuffle(w)
            rows.append({"text": joiner.join(w), "label": label})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("language", ["chinese", "japanese", "thai", "english"])
def test_text_in_scripts_written_without_spaces_gets_features_a_model_can_learn(project, tmp_path, language):
    """A word analyzer sees a Chinese, Japanese or Thai clause as one token, so no two texts share
    one and the model stays at chance; those texts get character n-grams, spaced ones words."""
    import joblib
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    from dataprep.core.features import FOLDER, VECTORIZER, build_features, model_features

    topics, filler, joiner = {
        "chinese": ({"sport": ["比赛", "球队", "进球", "冠军", "教练"], "money": ["市场", "银行", "利率", "股票", "贸易"],
                     "tech": ["软件", "芯片", "手机", "网络", "算法"]}, ["我们", "今天", "这个", "非常", "已经", "因为"], ""),
        "japanese": ({"sport": ["試合", "チーム", "ゴール", "優勝", "監督"], "money": ["市場", "銀行", "金利", "株価", "貿易"],
                      "tech": ["ソフト", "半導体", "スマホ", "ネット", "アルゴリズム"]}, ["今日は", "とても", "すでに", "私たちの", "から"], ""),
        "thai": ({"sport": ["ฟุตบอล", "ทีม", "ประตู", "แชมป์", "โค้ช"], "money": ["ตลาด", "ธนาคาร", "ดอกเบี้ย", "หุ้น", "การค้า"],
                  "tech": ["ซอฟต์แวร์", "ชิป", "มือถือ", "เครือข่าย", "ข้อมูล"]}, ["วันนี้", "เรา", "มาก", "แล้ว", "เพราะ"], ""),
        "english": ({"sport": ["match", "team", "goal", "champion", "coach"], "money": ["market", "bank", "rate", "stock", "trade"],
                     "tech": ["software", "chip", "phone", "network", "data"]}, ["we", "today", "this", "very", "already"], " "),
    }[language]
    _topic_texts(topics, filler, joiner, 60).to_csv(tmp_path / "t.csv", index=False)
    root = project(acquire={"source": "t.csv"})
    p = open_project(root / "params.yaml")
    acquire(p)
    build_features(p)
    analyzer = joblib.load(p.data / FOLDER / VECTORIZER).analyzer
    assert analyzer == ("word" if language == "english" else "char_wb")
    man = store.read_table(p.data, "manifest")
    X, _ = model_features(p, man)
    assert cross_val_score(LogisticRegression(max_iter=1000), X, man["source_label"], cv=3).mean() > 0.9


def test_integer_labels_keep_their_spelling_when_some_rows_have_none(project, tmp_path):
    """pandas reads integers beside a missing value as floats: the labels were '1.0' and '2.0',
    and '1', '2' once every row had one (the same class under two names across acquires)."""
    pd.DataFrame({"text": [f"text number {i}" for i in range(6)], "label": [1, 2, None, 1, 2, 10]}) \
        .to_csv(tmp_path / "t.csv", index=False)
    root = project(acquire={"source": "t.csv"})
    acquire(open_project(root / "params.yaml"))
    labels = store.read_table(root / "data", "manifest")["source_label"]
    assert sorted(labels.dropna()) == ["1", "1", "10", "2", "2"]


def test_a_label_corrected_in_the_source_replaces_the_old_one(project, tmp_path):
    """An image moved to the right class folder, a label fixed in the CSV: the manifest kept the
    first label ('manifest unchanged'), and the test split went on being scored against it."""
    src = _images(tmp_path)
    root = project(acquire={"source": "imgs"})
    p = open_project(root / "params.yaml")
    acquire(p)
    shutil.move(src / "cat" / "0.png", src / "dog" / "moved.png")
    s = acquire(p)
    man = store.read_table(p.data, "manifest")
    moved = man[man["sources"].str.contains("dog/moved.png")]
    assert s["changed"] and len(man) == 12 and moved["source_label"].tolist() == ["dog"]
    assert s["relabeled"][0]["was"] == "cat" and "'cat' -> 'dog'" in s["warnings"][0]
    assert acquire(p)["changed"] is False                                 # once told, the rerun is a no-op

    pd.DataFrame({"text": ["alpha beta", "gamma delta"], "label": ["a", "b"]}).to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "t2").mkdir()
    root = project(acquire={"source": str(tmp_path / "t.csv")}, project={"data_dir": "t2/data"})
    p = open_project(root / "params.yaml")
    acquire(p)
    pd.DataFrame({"text": ["alpha beta", "gamma delta"], "label": ["b", None]}).to_csv(tmp_path / "t.csv", index=False)
    acquire(p)
    man = store.read_table(p.data, "manifest").set_index("text")
    assert man.loc["alpha beta", "source_label"] == "b"
    assert man.loc["gamma delta", "source_label"] == "b"             # a label the source dropped stays


def test_a_source_of_one_class_is_called_out_and_the_simulated_crowd_answers_it(project, tmp_path):
    """Every row labeled 'only': the simulated annotators crashed ('Probabilities contain NaN':
    a mistake had no other class to go to) and nothing said a classifier needs two classes."""
    from dataprep.core.config import Annotator
    from labeling.simulate import annotate, similarity_confusion

    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(30, 3)), columns=list("abc")).assign(label="only").to_csv(tmp_path / "t.csv", index=False)
    root = project(acquire={"source": "t.csv"})
    s = acquire(open_project(root / "params.yaml"))
    assert any("every labeled sample is 'only'" in w and "project.labels" in w for w in s["warnings"]), s["warnings"]
    tasks = pd.DataFrame({"sample_id": [f"s{i}" for i in range(20)], "task_id": range(20), "prediction": None, "gold": False})
    crowd = [Annotator(name="a", profile="good", accuracy=0.5), Annotator(name="b", profile="spammer")]
    ann = annotate(tasks, pd.Series("only", index=tasks["sample_id"]), crowd, 2, ["only"],
                   similarity_confusion(["only"], None))
    assert len(ann) == 40 and (ann["label"] == "only").all()


def test_a_class_no_sample_carries_is_one_the_simulated_crowd_can_answer(project, tmp_path):
    """project.labels may list a class the source never gives ('other', or one added mid-loop): the
    simulated crowd's confusion took the mean of no rows and pull crashed ('Probabilities contain
    NaN'). Its mistakes may now go to that class too, as a person's could."""
    from active_learning.round import run_round
    from dataprep.core.features import build_features
    from labeling.backend import pull, push

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(90, 3)), columns=list("abc")).assign(label=np.repeat(["x", "y", "z"], 30))
    df.loc[df["label"] == "y", "a"] += 4
    df.loc[df["label"] == "z", "b"] += 4
    df.to_csv(tmp_path / "t.csv", index=False)
    root = project(acquire={"source": "t.csv"}, project={"labels": ["x", "y", "z", "other"]},
                   select={"batch_size": 30}, label={"calibration_overlap": 3},
                   simulate={"annotators": [{"name": f"a{i}", "profile": "good", "accuracy": 0.6} for i in range(3)]})
    p = open_project(root / "params.yaml")
    acquire(p)
    build_features(p)
    run_round(p)
    push(p)
    pull(p)
    ann = store.read_table(p.data, "annotations")
    assert len(ann) >= 90 and ann["label"].isin(["x", "y", "z", "other"]).all()
    assert (ann["label"] == "other").any()          # 36 mistakes expected, a third of them to 'other'


def test_images_beside_class_folders_are_called_out_and_the_simulated_crowd_says_why(project, tmp_path):
    """Loose images beside class folders came unlabeled without a word, and the simulated push then
    said "check acquire.label_column", a setting images do not have."""
    from labeling.simulated_backend import require_truth
    from dataprep.core.errors import UserError

    src = _images(tmp_path)
    write_png(src / "loose.png", seed=7)
    root = project(acquire={"source": "imgs"})
    s = acquire(open_project(root / "params.yaml"))
    assert any(w.startswith("1 images lie directly in imgs, beside its class folders") for w in s["warnings"]), s["warnings"]
    man = store.read_table(root / "data", "manifest")
    with pytest.raises(UserError, match="put them in class folders") as err:
        require_truth(man, man["sample_id"])
    assert "acquire.label_column" not in str(err.value)
    shutil.rmtree(src)
    _images(tmp_path)
    assert not any("lie directly" in w for w in acquire(open_project(root / "params.yaml"))["warnings"])


def test_labels_are_trimmed_and_labels_differing_in_case_are_called_out(project, tmp_path):
    pd.DataFrame({"text": [f"text {i}" for i in range(6)], "label": ["cat", "cat ", " dog", "Dog", "  ", "dog"]}) \
        .to_csv(tmp_path / "t.csv", index=False)
    root = project(acquire={"source": "t.csv"})
    s = acquire(open_project(root / "params.yaml"))
    labels = store.read_table(root / "data", "manifest").set_index("text")["source_label"]
    assert labels["text 1"] == "cat" and labels["text 2"] == "dog" and pd.isna(labels["text 4"])
    assert any("differ only in case (e.g. 'Dog', 'dog')" in w for w in s["warnings"]), s["warnings"]


def test_a_label_column_named_otherwise_is_found_not_made_a_feature(project, tmp_path):
    """scikit-learn's frames call it 'target': it was a numeric feature (the answer handed to the
    model) and the rows came unlabeled."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "b", "c"]).assign(target=rng.integers(0, 3, 30))
    df.to_csv(tmp_path / "t.csv", index=False)
    root = project(acquire={"source": "t.csv"})
    s = acquire(open_project(root / "params.yaml"))
    assert any("read from column 'target'" in w for w in s["warnings"]), s["warnings"]
    assert list(pd.read_parquet(root / "data" / "raw" / "tabular.parquet").columns) == ["sample_id", "a", "b", "c"]
    assert set(store.read_table(root / "data", "manifest")["source_label"]) == {"0", "1", "2"}



def test_the_digits_source_is_written_once_and_mended_when_a_file_goes(tmp_path):
    from dataprep.core.sources import DIGITS_COUNT, WRITTEN, write_digits

    folder = write_digits(tmp_path / "digits")
    assert (folder / WRITTEN).read_text().strip() == str(DIGITS_COUNT)
    gone = folder / "3" / "0003.png"
    data = gone.read_bytes()
    gone.unlink()
    write_digits(folder)                          # the count no longer matches: written again
    assert gone.read_bytes() == data


def test_images_browsers_cannot_show_get_a_png_view_beside_them(project, tmp_path):
    """TIFF, PPM, JPEG 2000, TGA and AVIF files are read (PPM, JPEG 2000, TGA and AVIF were skipped
    without a word); those a browser cannot show get `raw/<id>.view.png`, as displayed, which
    Label Studio serves instead (`tests/test_studio.py`). A view deleted is written again."""
    from PIL import Image

    from dataprep.core.images import view_path

    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        for ext in ("tif", "ppm", "jp2", "tga", "avif", "png", "jfif"):
            path = tmp_path / "imgs" / c / f"x.{ext}"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (12, 20, 3), dtype=np.uint8)).save(path, "JPEG" if ext == "jfif" else None)
    root = project(acquire={"source": "imgs"})
    s = acquire(open_project(root / "params.yaml"))
    assert s["samples"] == 14 and s["unreadable"] == 0, s
    man = store.read_table(root / "data", "manifest")
    for path in man["path"]:
        view = root / "data" / view_path(path)
        ext = path.rsplit(".", 1)[1]
        assert (view == root / "data" / path) == (ext in ("png", "jpg", "avif")), path
        with Image.open(view) as im:
            assert im.size == (20, 12) and im.format in ("PNG", "JPEG", "AVIF")
    tif = root / "data" / view_path(man.loc[man["path"].str.endswith(".tif"), "path"].iloc[0])
    tif.unlink()
    acquire(open_project(root / "params.yaml"))
    assert tif.exists()
