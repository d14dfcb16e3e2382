"""Image folders as datasets are shared: class subfolders (under `train/`, `val/`... too),
symbolic links, files that are not images, and labels listed in a table instead
(`acquire.labels_file`).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from dataprep.core.columns import find_label_column, labels_of
from dataprep.core.errors import UserError, printable
from dataprep.core.tables import cell_text, read_source_table


# what Pillow decodes (HEIF through pillow-heif); what browsers do not show gets a PNG view
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".jfif", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".avif", ".ppm", ".pgm",
              ".pbm", ".pnm", ".jp2", ".tga", ".heic", ".heif"}
SPLIT_FOLDERS = {"train", "training", "val", "valid", "validation", "dev", "test", "testing", "eval"}


class Listing(NamedTuple):
    files: list[tuple[str, str | None]]   # (path under the folder, class folder or None)
    skipped: list[dict]                   # symbolic links not followed, each with why
    others: dict                          # files that are not images, counted by suffix
    split_folders: list[str]              # train/, val/, ... read as splits holding the class folders


def list_images(folder: Path, follow_links: str = "inside", ignore: frozenset[Path] = frozenset()) -> Listing:
    """Image files under `folder` with the class subfolder (if any) as label, the symbolic
    links skipped under the `follow_links` policy (inside | all | none), each with why, and how
    many other files there are by suffix (not images acquire reads: named in a warning). A
    dataset stored as `train/<class>/`, `val/<class>/` (every top folder a split name, every
    image in a folder under it) takes its labels from the class folders, not 'train' and 'val'.
    Files in `ignore` (resolved paths: the labels table beside the images) are not counted."""
    root = folder.resolve()
    files, skipped, seen, others = [], [], {root}, {}

    def allowed(p: Path) -> str | None:
        target = p.resolve()
        if follow_links == "none":
            return f"a link (to {target}); acquire.follow_links is none"
        if follow_links == "inside" and not target.is_relative_to(root):
            return f"links outside the source folder (to {target}); set acquire.follow_links: all to take it"
        if not target.exists():
            return f"broken link (to {target})"
        return None

    def walk(d: Path) -> None:
        for p in sorted(d.iterdir()):
            if p.name.startswith("."):
                continue
            if p.is_symlink():
                why = allowed(p)
                if why is not None:
                    skipped.append({"source": printable(str(p.relative_to(folder))), "reason": why})
                    continue
            if p.is_dir():
                real = p.resolve()
                if real in seen:            # a link back up the tree: walk each folder once
                    continue
                seen.add(real)
                walk(p)
            elif p.is_file() and p.suffix.lower() in IMAGE_EXTS:
                rel = p.relative_to(folder)
                files.append((str(rel), rel.parts[0] if len(rel.parts) > 1 else None))
            elif p.is_file() and p.resolve() not in ignore:
                others[p.suffix.lower() or p.name] = others.get(p.suffix.lower() or p.name, 0) + 1

    walk(folder)
    parts = [Path(rel).parts for rel, _ in files]
    tops = {p[0] for p in parts if len(p) > 1}
    splits: list[str] = []
    if tops and all(t.casefold() in SPLIT_FOLDERS for t in tops) and all(len(p) > 2 for p in parts):
        splits = sorted(tops)
        files = [(rel, p[1]) for (rel, _), p in zip(files, parts)]
    return Listing(files, skipped, others, splits)


def labels_from_file(path: Path, rels: list[str], label_column: str | None, encoding: str = "utf-8",
                     sheet: str | int | None = None) -> tuple[dict[str, str | None], list[str]]:
    """`acquire.labels_file`: image (path under the source) -> label, from a table with a column
    naming each image by its path, file name, or name without suffix (whichever column and form
    names the most images) and the label column; with warnings for rows naming no image, images
    with no row, and images given two labels (those get none)."""
    df = read_source_table(path, encoding, sheet=sheet)
    label_col = find_label_column(df, label_column or "label")[0]
    if not label_col or label_col not in df.columns:
        raise UserError(f"acquire.labels_file: {path} has no label column {label_column!r} "
                        f"(columns: {', '.join(map(str, df.columns))}); set acquire.label_column")
    forms = {"path": [Path(r).as_posix() for r in rels], "name": [Path(r).name for r in rels],
             "stem": [Path(r).stem for r in rels]}
    keys = {f: {k: r for k, r in zip(v, rels)} for f, v in forms.items()
            if len(set(v)) == len(v)}                   # a form two images share names neither
    best, best_n = None, 0
    for c in df.columns:
        if c == label_col:
            continue
        vals = [cell_text(v) for v in df[c]]
        for form, index in keys.items():
            n = sum(v in index for v in vals)
            if n > best_n:
                best, best_n = (c, form, vals), n
    if best is None:
        raise UserError(f"acquire.labels_file: no column of {path} names the images (as {rels[0]!r}, "
                        f"{Path(rels[0]).name!r} or {Path(rels[0]).stem!r}; columns: {', '.join(map(str, df.columns))}); "
                        "add a column of the images' file names, or point acquire.labels_file at the table that has one")
    _, form, vals = best
    labels = labels_of(df, label_col)
    given: dict[str, set] = {}
    for v, lab in zip(vals, labels):
        if v in keys[form] and lab is not None:
            given.setdefault(keys[form][v], set()).add(lab)
    out = {r: (next(iter(s)) if len(s) == 1 else None) for r, s in given.items()}
    warnings = []
    if nowhere := [v for v in vals if v is not None and v not in keys[form]]:
        warnings.append(f"{path.name}: {len(nowhere)} rows name no image of the source (e.g. {nowhere[0]!r})")
    if twice := [r for r, s in given.items() if len(s) > 1]:
        warnings.append(f"{path.name}: {len(twice)} images have rows with different labels (e.g. {twice[0]}): "
                        "they are unlabeled")
    if missing := len(rels) - len(given):
        warnings.append(f"{path.name}: {missing} of {len(rels)} images have no row: they keep their class folder, "
                        "if any, else come unlabeled")
    return out, warnings


def count_kinds(counts: dict) -> str:
    """'12 .txt, 3 .svg' from {suffix: count}, the commonest first (at most five)."""
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{n} {k}" for k, n in top[:5]) + (", ..." if len(top) > 5 else "")

