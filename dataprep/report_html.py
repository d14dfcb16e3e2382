"""HTML pieces of the report: plots, sample cells, sortable tables, the page.

A sample is never shown without who it is: every thumbnail (or text snippet)
sits in a cell with its sample id (`<code class="sid">`), its source path and,
when the project labels in Label Studio, a link to its task. Plots are images
of class `plot`; everything else that is an image is a sample. Tables are
plain HTML whose columns sort on a click (a few lines of inline JavaScript, so
the file stays self-contained) and are never truncated.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import pandas as pd

from dataprep.core.acquire import TABULAR_FILE
from dataprep.core.images import load_rgb


def png(fig, alt: str) -> str:
    """A matplotlib figure as an embedded plot image (closed after)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return (f'<img class="plot" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"/>')


def thumb(path: Path, width: int = 96) -> str:
    """A thumbnail of the image as the stages see it (transparency composited, EXIF applied)."""
    buf = io.BytesIO()
    load_rgb(path, max_side=2 * width).save(buf, format="PNG")
    return f'<img class="thumb" width="{width}" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"/>'


def boxes_thumb(path: Path, size: tuple[float, float], boxes: list[dict], width: int = 200) -> str:
    """The image as the stages see it with boxes drawn over it. `size` is the displayed size the
    boxes' pixels refer to; a box with `doubt` set is drawn thin in magenta (no class colour), the others thick in
    their class colour (`colour`), each with its `tag` written at its corner."""
    from PIL import ImageDraw

    im = load_rgb(path, max_side=2 * width)
    scale = im.width / float(size[0])
    d = ImageDraw.Draw(im)
    for b in boxes:
        xy = [b["x_min"] * scale, b["y_min"] * scale, b["x_max"] * scale, b["y_max"] * scale]
        colour = "#ff00ff" if b.get("doubt") else b.get("colour", "#1f77b4")
        d.rectangle(xy, outline=colour, width=1 if b.get("doubt") else 3)
        if b.get("tag"):
            d.text((xy[0] + 2, max(xy[1] - 11, 0)), str(b["tag"]), fill=colour)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return f'<img class="thumb" width="{width}" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"/>'


class Samples:
    """Sample cells of one project: the picture (or text), id, source path and task link."""

    def __init__(self, data: Path, manifest: pd.DataFrame, task_links: dict[str, str]):
        self.data = data
        self.man = manifest.set_index("sample_id") if len(manifest) else manifest
        self.links = task_links

    def source(self, sid: str) -> str:
        return str(self.man["source"].get(sid, "")) if len(self.man) else ""

    def link(self, sid: str) -> str:
        url = self.links.get(sid)
        return f'<a href="{html.escape(url)}">task</a>' if url else ""

    def picture(self, sid: str, width: int) -> str:
        if not len(self.man) or sid not in self.man.index:
            return "<i>(not in the manifest)</i>"
        path, modality = self.man["path"].get(sid), self.man["modality"].get(sid)
        if modality == "image" and isinstance(path, str) and (self.data / path).exists():
            return thumb(self.data / path, width)
        if modality == "tabular":
            return f"<div class='txt'>{html.escape(self.row(sid)[:160])}</div>"
        return f"<div class='txt'>{html.escape(str(self.man['text'].get(sid, ''))[:160])}</div>"

    def row(self, sid: str) -> str:
        """A table row as `column=value` pairs (numbers to 3 significant digits; missing left out)."""
        if not hasattr(self, "_rows"):
            path = self.data / TABULAR_FILE
            self._rows = pd.read_parquet(path).set_index("sample_id") if path.exists() else pd.DataFrame()
        if sid not in self._rows.index:
            return ""
        values = self._rows.loc[sid]
        return ", ".join(f"{c}={v:.3g}" if isinstance(v, float) else f"{c}={v}"
                         for c, v in values.items() if not pd.isna(v))

    def cell(self, sid: str, caption: str = "", width: int = 96, picture: str | None = None) -> str:
        """One sample: picture, id, source path, task link and a caption (already HTML)."""
        src = self.source(sid)
        return (f"<div class='g' data-sample-id='{html.escape(sid)}'>"
                f"{picture if picture is not None else self.picture(sid, width)}<br/>"
                f"<code class='sid' title='{html.escape(sid)}'>{html.escape(sid[:12])}</code> {self.link(sid)}<br/>"
                f"<span class='src' title='{html.escape(src)}'>{html.escape(src[-40:])}</span>"
                + (f"<br/>{caption}" if caption else "") + "</div>")


def table(df: pd.DataFrame, sortable: bool = True, escape: bool = True, table_id: str | None = None) -> str:
    """A whole table (never truncated); columns sort on a click of their header."""
    classes = "t sortable" if sortable else "t"
    out = df.to_html(index=False, border=0, classes=classes, float_format=lambda v: f"{v:.3f}", na_rep="",
                     escape=escape, max_rows=None, max_cols=None, table_id=table_id)
    return f"<div class='scroll'>{out}</div>"


def key_values(d: dict[str, Any]) -> str:
    """A flat dict as a two-column table (a wide one-row table gets cut off on screen)."""
    def show(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    rows = [{"key": k, "value": show(v)} for k, v in d.items()]
    return table(pd.DataFrame(rows, columns=["key", "value"]), sortable=False)


def legend(items: dict[str, str]) -> str:
    """A colour legend: label -> CSS colour."""
    return "<p class='legend'>" + " ".join(
        f"<span class='sw' style='background:{c}'></span>{html.escape(k)}" for k, c in items.items()) + "</p>"


STYLE = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
         ".t{border-collapse:collapse;font-size:12px}.t td,.t th{padding:2px 8px;border-bottom:1px solid #ddd;"
         "text-align:left;vertical-align:top}.sortable th{cursor:pointer;background:#f3f3f3}"
         ".sortable th:after{content:' \\2195';color:#999}.scroll{overflow-x:auto}"
         ".g{display:inline-block;width:160px;margin:4px;vertical-align:top;font-size:11px;word-break:break-all}"
         ".txt{font-size:11px;background:#f6f6f6;padding:3px;max-height:6em;overflow:hidden}"
         "code.sid{background:#eef;padding:0 2px}.src{color:#666}"
         ".legend{font-size:12px}.sw{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;"
         "vertical-align:middle}.meta{font-size:12px;color:#444}")

SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th, i){
    th.addEventListener('click', function(){
      var body = t.tBodies[0], rows = Array.from(body.rows), asc = th.dataset.asc !== '1';
      rows.sort(function(a, b){
        var x = a.cells[i].innerText, y = b.cells[i].innerText, nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function(r){ body.appendChild(r); });
      t.querySelectorAll('th').forEach(function(h){ delete h.dataset.asc; });
      th.dataset.asc = asc ? '1' : '0';
    });
  });
});
"""


def page(title: str, headline: str, meta: str, sections: list[str]) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p><b>{html.escape(headline)}</b></p>{meta}{''.join(sections)}<script>{SORT_JS}</script></body></html>")
