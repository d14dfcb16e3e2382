"""`dataprep report`: one self-contained HTML file (plots and images embedded).

Sections: headline, learning curve against a random baseline, labeling cost,
label quality and the gate, annotators with verdicts, a gallery of quarantined
samples, triage, class balance, and the augmentation preview. Every section
reads the stage outputs on disk, so the report can be rebuilt at any time.

The random baseline is computed here when the pool carries source labels: the
same model trained on random pool samples with their source labels, at the
label counts of the learning curve (3 draws). Its labels are clean, ours come
from (noisy, simulated or real) annotators, so the comparison favours random.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dataprep import store
from dataprep.atomic import write_text
from dataprep.images import load_rgb
from dataprep.project import Project


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"/>'


def _img_file(path: Path, width: int = 96) -> str:
    """A thumbnail of the image as the stages see it (transparency composited, EXIF applied)."""
    buf = io.BytesIO()
    load_rgb(path, max_side=2 * width).save(buf, format="PNG")
    return f'<img width="{width}" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"/>'


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, border=0, classes="t", float_format=lambda v: f"{v:.3f}", na_rep="")


def random_baseline(project: Project, counts: list[int], draws: int = 3) -> pd.DataFrame:
    """Accuracy of the model on random pool samples with source labels, per label count."""
    from active_learning.models import make_model
    from dataprep.features import model_features, rows_of, take

    man = store.read_table(project.data, "manifest")
    pool = man[(man["split"] == "pool") & man["source_label"].notna()]
    test = man[(man["split"] == "test") & man["source_label"].notna()]
    if pool.empty or test.empty:
        return pd.DataFrame(columns=["n_labels", "accuracy"])
    X, index = model_features(project, man)
    Xt, yt = take(X, rows_of(index, test["sample_id"])), test["source_label"].astype(str).to_numpy()
    cfg = project.cfg.select
    rows = []
    for n in sorted(set(counts)):
        accs = []
        for d in range(draws):
            pick = pool.sample(min(n, len(pool)), random_state=cfg.random_state + d)
            y = pick["source_label"].astype(str).to_numpy()
            if len(set(y)) < 2:
                continue
            m = make_model(cfg.model, cfg.model_params, cfg.random_state).fit(take(X, rows_of(index, pick["sample_id"])), y)
            accs.append(float(m.score(Xt, yt)))
        if accs:
            rows.append({"n_labels": n, "accuracy": float(np.mean(accs))})
    return pd.DataFrame(rows)


def _interval(pair) -> str:
    return f"{pair[0]:.2f}-{pair[1]:.2f}" if pair else "-"


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def build(project: Project) -> dict[str, Any]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rep, data = project.reports, project.data
    parts: list[str] = []
    info: dict[str, Any] = {}
    curve = pd.read_csv(rep / "learning_curve.csv") if (rep / "learning_curve.csv").exists() else pd.DataFrame()
    ann = store.read_table(data, "annotations")
    # ---- learning curve
    if len(curve):
        base = random_baseline(project, curve["n_labels"].tolist())
        base.to_csv(rep / "baseline_curve.csv", index=False)
        last = curve.iloc[-1]
        info.update({"labels": int(last["n_labels"]), "accuracy": float(last["accuracy"])})
        if len(base):
            b = base.set_index("n_labels")["accuracy"]
            info["random_accuracy"] = float(b.get(int(last["n_labels"]), np.nan))
        fig, ax = plt.subplots(figsize=(6, 3.6))
        ax.plot(curve["n_labels"], curve["accuracy"], "o-", label="dataprep (annotated labels)")
        if len(base):
            ax.plot(base["n_labels"], base["accuracy"], "s--", label="random samples (clean labels)")
        ax.set_xlabel("accepted labels")
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=.3)
        ax.legend()
        parts.append("<h2>Learning curve</h2>" + _png(fig) + _table(curve))
    # ---- labeling cost
    if len(ann):
        cur = store.current_annotations(ann)
        cur = cur.assign(lead_time_s=store.counted_lead_time(cur["lead_time_s"]))   # impossible times do not count
        cost = cur.groupby("round").agg(annotations=("annotation_id", "size"),
                                        annotator_hours=("lead_time_s", lambda s: s.sum() / 3600)).reset_index()
        if len(curve):
            acc = curve.set_index("round")["accuracy"]
            cost["accuracy_after"] = cost["round"].map(lambda r: acc.get(r + 1, np.nan))
            gained = cost["accuracy_after"].diff()
            cost["accuracy_gain_per_hour"] = gained / cost["annotator_hours"]
        info["annotator_hours"] = float(cost["annotator_hours"].sum())
        parts.append("<h2>Labeling cost</h2>" + _table(cost))
    # ---- label quality and annotators
    lq = _read_json(rep / "label_quality.json")
    if lq:
        gate = lq.get("gate", {})
        verdict = "passed" if gate.get("passed") else "FAILED: " + "; ".join(gate.get("reasons", []))
        keep = {k: v for k, v in lq.items() if not isinstance(v, dict) and not isinstance(v, list)}
        parts.append(f"<h2>Label quality</h2><p>Gate {html.escape(verdict)} (alpha {gate.get('alpha', float('nan')):.3f}, "
                     f"90% interval {_interval(gate.get('alpha_interval'))}, "
                     f"{gate.get('quarantined_share', 0):.0%} of round {gate.get('round', '-')} quarantined).</p>"
                     + _table(pd.DataFrame([keep])))
    if (rep / "annotators.csv").exists():
        q = pd.read_csv(rep / "annotators.csv")
        if len(q) and "est_accuracy" in q:
            fig, ax = plt.subplots(figsize=(6, 3))
            colors = q["verdict"].map({"trusted": "tab:green", "watch": "tab:orange", "blocked": "tab:red"})
            ax.bar(q["annotator"], q["est_accuracy"], color=colors)
            ax.set_ylabel("estimated accuracy")
            ax.set_ylim(0, 1)
            ax.tick_params(axis="x", rotation=45)
            parts.append("<h2>Annotators</h2>" + _png(fig) + _table(q))
    # ---- quarantine gallery
    quar = store.read_table(data, "quarantine")
    if len(quar):
        man = store.read_table(data, "manifest").set_index("sample_id")
        samples = quar[quar["annotation_id"].isna()].head(24)
        cells = []
        for sid, reason in zip(samples["sample_id"], samples["reason"]):
            path = man["path"].get(sid)
            pic = _img_file(data / path) if isinstance(path, str) and (data / path).suffix != ".parquet" else \
                html.escape(str(man["text"].get(sid, ""))[:120])
            cells.append(f"<div class='g'>{pic}<br/><small>{html.escape(reason)}</small></div>")
        by = quar.groupby("check").size().rename("n").reset_index()
        parts.append("<h2>Quarantine</h2>" + _table(by) + "<div>" + "".join(cells) + "</div>")
    # ---- triage
    if store.exists(data, "triage"):
        tri = store.read_table(data, "triage")
        man = store.read_table(data, "manifest").set_index("sample_id")
        counts = tri.assign(kind=tri["reason"].str.split(" \\(| of ", regex=True).str[0])
        html_t = _table(counts.groupby(["triage", "kind"]).size().rename("n").reset_index())

        def pic(sid):
            path = man["path"].get(sid)
            return _img_file(data / path, 64) if isinstance(path, str) and man["modality"].get(sid) == "image" \
                else html.escape(str(man["text"].get(sid, ""))[:80])
        groups = tri[tri["dup_of"].notna()].groupby("dup_of", sort=False)["sample_id"].apply(list).head(12)
        cells = [f"<div class='g'>{pic(rep_id)} {' '.join(pic(d) for d in members[:5])}<br/>"
                 f"<small>kept, and {len(members)} near-duplicate(s)</small></div>" for rep_id, members in groups.items()]
        worst = tri.sort_values("outlier_score", ascending=False).head(12)
        cells += [f"<div class='g'>{pic(sid)}<br/><small>{html.escape(r or f'outlier score {o:.1f}')}</small></div>"
                  for sid, r, o in zip(worst["sample_id"], worst["reason"], worst["outlier_score"])]
        parts.append("<h2>Triage</h2>" + html_t + "<div>" + "".join(cells) + "</div>")
    # ---- class balance
    labels = store.read_table(data, "labels")
    if len(labels):
        counts = labels["label"].value_counts().sort_index()
        fig, ax = plt.subplots(figsize=(6, 2.6))
        ax.bar(counts.index.astype(str), counts.values)
        ax.set_ylabel("accepted labels")
        parts.append("<h2>Class balance</h2>" + _png(fig))
    if (rep / "augment_preview.png").exists():
        parts.append("<h2>Augmentation preview</h2>" + _img_file(rep / "augment_preview.png", 800))
    head = headline(info)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>dataprep report</title><style>"
            "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
            ".t{border-collapse:collapse;font-size:12px}.t td,.t th{padding:2px 8px;border-bottom:1px solid #ddd}"
            ".g{display:inline-block;width:150px;margin:4px;vertical-align:top;font-size:11px}</style></head><body>"
            f"<h1>dataprep report</h1><p><b>{html.escape(head)}</b></p>{''.join(parts)}</body></html>")
    out = rep / "report.html"
    write_text(out, page)
    info["path"] = str(out)
    info["headline"] = head
    return info


def headline(info: dict[str, Any]) -> str:
    if "accuracy" not in info:
        return "No learning curve yet: run a few rounds."
    s = f"Accuracy {info['accuracy']:.1%} with {info['labels']} accepted labels"
    if not np.isnan(info.get("random_accuracy", np.nan)):
        s += f" vs {info['random_accuracy']:.1%} for the same number of random samples"
    if info.get("annotator_hours"):
        s += f"; {info['annotator_hours']:.1f} annotator hours"
    return s + "."
