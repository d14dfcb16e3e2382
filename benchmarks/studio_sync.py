"""Label Studio sync: dataprep's push and pull against the naive SDK calls, side by side, one server
per database (SQLite, PostgreSQL), and many annotators posting while `label pull` runs.

    python benchmarks/studio_sync.py [--n 10000] [--changed 100] [--repeats 3] [--db sqlite,postgresql]
                                     [--parts sync,concurrent,profile] [--annotators 10] [--annotations 5000]

Starts its own Label Studio (the `.venv-studio` one, or DATAPREP_LABEL_STUDIO_BIN)
on a free loopback port with a temporary data folder, then measures:
- push of N text tasks, each with one pre-annotation: one inline
  `projects.import_tasks` call (naive) vs `labeling.studio_backend.push_items`;
- full read of N annotated tasks: `tasks.list(fields="all")` and the synchronous
  JSON export (naive) vs dataprep's pull fetch (snapshot export) + mirror rows;
- listing the sample ids of N tasks (what push asks first): `tasks.list(fields=
  "task_only")` (naive) vs `existing_sample_ids` (only `id,data` included);
- incremental pull after `--changed` annotations were updated;
- a push killed half way (SIGKILL) and re-run: tasks on the server, duplicates.
Part `concurrent`: `--annotators` annotator accounts (threads, each its own token) post
`--annotations` annotations in all on tasks of a project while dataprep's `pull` (the product's
function: fetch from the cursor, mirror into the append-only log) runs every 2 s; a last pull
after they stop. Counted: annotations the server holds, distinct annotation ids in the mirror,
lost (on the server, not in the mirror), duplicated (a version of an annotation twice in the
log, or a task-annotator pair twice in the mirror's current view), posting errors (HTTP errors the clients saw, for example SQLite's
"database is locked"), pulls made and their median time.
With `--db sqlite,postgresql` every part runs on a server of each kind (PostgreSQL: the local
cluster `dataprep studio start --db postgresql` runs) and the table puts them side by side.
Prints a table and writes benchmarks/out/studio_sync.csv.

Part `profile` (needs py-spy, in the `bench` extra): the server sampled by py-spy while one
inline `import_tasks` of N tasks with pre-annotations runs; the share of the server's busy
samples inside `update_tasks_counters` and inside SQL execution, and the hottest
Label Studio functions, per database.

Why push cannot beat one inline import by much (label-studio 1.23; `--parts profile
--n 10000` measured 51% of the server's busy samples on SQLite and 58% on PostgreSQL, with
the load of a concurrent benchmark on the machine): about half of the server's time for an
import with predictions goes to recounting every new task's annotations and predictions from scratch (Django
`bulk_update` with one CASE WHEN per task), although the counts were set when the
tasks were created. Any route that creates predictions (inline, or
`import_predictions` afterwards) pays it per task, and the server takes one write
at a time, so client-side batching or parallel requests cannot remove it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).parent / "out"
sys.path.insert(0, str(ROOT))

XML = ('<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
       '<Choice value="a"/><Choice value="b"/><Choice value="c"/></Choices></View>')


def _choice(v: str) -> list[dict]:
    return [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [v]}}]


def items(n: int, annotator: int | None = None) -> list[dict]:
    out = []
    for i in range(n):
        it = {"data": {"sample_id": f"s{i:06d}", "round": 1, "text": f"sample text number {i}, a few words long"},
              "predictions": [{"model_version": "bench", "score": 0.7, "result": _choice("abc"[i % 3])}]}
        if annotator is not None:
            it["annotations"] = [{"completed_by": annotator, "lead_time": 4.0, "result": _choice("abc"[(i + 1) % 3])}]
        out.append(it)
    return out


def new_project(ls, name: str) -> int:
    return ls.projects.create(title=f"{name}-{time.time_ns()}", label_config=XML).id


def count_tasks(ls, pid: int) -> tuple[int, int]:
    sids = [(t.data or {}).get("sample_id") for t in ls.tasks.list(project=pid, fields="task_only", include="id,data",
                                                                page_size=1000)]
    return len(sids), len(set(sids))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def child_push(url: str, token: str, pid: int, n: int, marker: str) -> None:
    """Run push_items in its own process (the parent kills it half way)."""
    from label_studio_sdk import LabelStudio
    from labeling.studio_backend import push_items

    ls = LabelStudio(base_url=url, api_key=token, timeout=600)
    push_items(ls, url, pid, items(n), Path(marker))


def concurrent(url: str, token: str, tmp: Path, n_annotators: int, n_annotations: int, row) -> None:
    """The `concurrent` part (module docstring)."""
    import statistics
    import threading

    import requests
    import yaml
    from label_studio_sdk import LabelStudio

    from dataprep.core import store
    from dataprep.core.config import default_params_yaml
    from dataprep.core.project import open_project
    from dataprep.demo.studio_users import annotator_token
    from labeling.studio_backend import pull, push_items

    title = f"concurrent-{time.time_ns()}"
    folder = tmp / title
    folder.mkdir()
    raw = yaml.safe_load(default_params_yaml())
    raw["label"].update({"backend": "studio", "project_title": title})
    (folder / "params.yaml").write_text(yaml.safe_dump(raw))
    os.environ.update({"LABEL_STUDIO_URL": url, "LABEL_STUDIO_API_KEY": token})
    project = open_project(folder / "params.yaml")
    project.data.mkdir(parents=True, exist_ok=True)
    ls = LabelStudio(base_url=url, api_key=token, timeout=600)
    n_tasks = -(-n_annotations // n_annotators)
    pid = ls.projects.create(title=title, label_config=XML).id
    push_items(ls, url, pid, [{"data": it["data"]} for it in items(n_tasks)], tmp / f"{title}.marker")
    task_ids = [t.id for t in ls.tasks.list(project=pid, fields="task_only", page_size=1000)]
    tokens = [annotator_token(url, token, f"ann{k}@bench.example", "pw-Annot8tor!") for k in range(n_annotators)]
    errors, posted = [0] * n_annotators, [0] * n_annotators
    todo = [task_ids[:] for _ in range(n_annotators)]
    quota = [n_annotations // n_annotators + (k < n_annotations % n_annotators) for k in range(n_annotators)]

    def annotate(k: int) -> None:
        s = requests.Session()
        s.headers["Authorization"] = f"Token {tokens[k]}"
        order = todo[k][k:] + todo[k][:k]
        for tid in order[:quota[k]]:
            body = {"result": _choice("abc"[(tid + k) % 3]), "lead_time": 3.0}
            for _ in range(5):          # what an annotator does when saving fails: try again
                r = s.post(f"{url}/api/tasks/{tid}/annotations/", json=body, timeout=60)
                if r.status_code in (200, 201):
                    posted[k] += 1
                    break
                errors[k] += 1
                time.sleep(0.5)

    threads = [threading.Thread(target=annotate, args=(k,)) for k in range(n_annotators)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    pulls = []
    while any(t.is_alive() for t in threads):
        secs, _ = timed(lambda: pull(project))
        pulls.append(secs)
        time.sleep(2.0)
    for t in threads:
        t.join()
    secs, _ = timed(lambda: pull(project))
    pulls.append(secs)
    wall = time.perf_counter() - t0
    server_ids = set()
    for t in ls.tasks.list(project=pid, fields="all", page_size=500):
        server_ids |= {a["id"] if isinstance(a, dict) else a.id for a in (t.annotations or [])}
    log = store.read_table(project.data, "annotations")
    cur = store.current_annotations(log)
    mirrored = set(pd.to_numeric(cur["annotation_id"]).astype(int))
    pairs = cur.groupby(["task_id", "annotator"]).size()
    row(f"{n_annotators} annotators post {n_annotations} annotations while pull runs every 2 s",
        "dataprep pull (studio backend)", wall, posted=sum(posted), on_server=len(server_ids),
        mirrored=len(mirrored), lost=len(server_ids - mirrored),
        duplicated=int(log.duplicated(["annotation_id", "updated_at", "status", "label"]).sum() + (pairs > 1).sum()),
        post_errors=sum(errors), pulls=len(pulls), median_pull_secs=round(statistics.median(pulls), 2))


def _shares(raw: Path) -> tuple[int, dict[str, float], list[tuple[str, float]]]:
    """From py-spy's collapsed stacks ("frame;frame;... count", outermost first): busy samples,
    the share inside counter updates and inside SQL execution, and the Label Studio functions
    most often innermost among Label Studio's frames (time in them or in what they call outside
    Label Studio: Django, the database driver)."""
    total, inside, per_fn = 0, {"update_tasks_counters": 0, "SQL execute (django.db)": 0}, {}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        c = int(count)
        total += c
        frames = stack.split(";")
        if any("update_tasks_counters" in f for f in frames):
            inside["update_tasks_counters"] += c
        if any("execute" in f.split(" (")[0] and "django/db/" in f for f in frames):
            inside["SQL execute (django.db)"] += c
        ours = [f.split(" (")[0] for f in frames if "label_studio/" in f]
        if ours:                                    # the innermost Label Studio function of the stack
            per_fn[ours[-1]] = per_fn.get(ours[-1], 0) + c
    top = sorted(per_fn.items(), key=lambda kv: -kv[1])
    return total, {k: v / max(1, total) for k, v in inside.items()}, [(k, v / max(1, total)) for k, v in top]


def profile(ls, server_pid: int, n: int, tmp: Path, row) -> None:
    """py-spy on the server (and its children) during one inline import of N tasks with
    pre-annotations. py-spy is our own child; we stop it with SIGINT so it writes its file."""
    from labeling.studio_client import NO_RETRY

    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("--parts profile needs py-spy: pip install -e '.[bench]'")
    pid = new_project(ls, "profiled-push")
    raw = tmp / f"profile-{pid}.txt"
    p = subprocess.Popen([spy, "record", "--pid", str(server_pid), "--subprocesses", "--rate", "200",
                          "--format", "raw", "--output", str(raw), "--nonblocking"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(2.0)                                  # attached before the work starts
    secs, _ = timed(lambda: ls.projects.import_tasks(id=pid, request=items(n), request_options=NO_RETRY))
    p.send_signal(signal.SIGINT)
    err = p.communicate(timeout=120)[1].decode(errors="replace")
    if not raw.exists():
        raise SystemExit(f"py-spy wrote no profile: {err.strip()[-500:]}")
    total, inside, top = _shares(raw)
    row("server profile of one inline import of N tasks with pre-annotations", "py-spy, busy samples", secs,
        samples=total, **{f"share_{k}": round(v, 3) for k, v in inside.items()},
        hottest="; ".join(f"{k} {v:.0%}" for k, v in top[:5]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--changed", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved runs of each push and full-pull method")
    ap.add_argument("--db", default="sqlite", help="sqlite, postgresql or both (comma-separated)")
    ap.add_argument("--parts", default="sync,concurrent", help="sync, concurrent, profile (comma-separated)")
    ap.add_argument("--annotators", type=int, default=10)
    ap.add_argument("--annotations", type=int, default=5000)
    ap.add_argument("--child", nargs=5)
    a = ap.parse_args()
    if a.child:
        child_push(a.child[0], a.child[1], int(a.child[2]), int(a.child[3]), a.child[4])
        return
    os.environ.setdefault("DATAPREP_LABEL_STUDIO_BIN", str(ROOT / ".venv-studio" / "bin" / "label-studio"))
    OUT.mkdir(exist_ok=True)
    rows = []
    for db in a.db.split(","):
        rows += run_db(a, db.strip())
    df = pd.DataFrame(rows)
    df.to_csv(OUT / "studio_sync.csv", index=False)
    summary = df.groupby(["what", "method", "db"], sort=False).agg(
        median_secs=("secs", "median"), runs=("secs", "size")).unstack("db")
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_colwidth", 70):
        print(df.astype(object).fillna("").to_string(index=False))
        print()
        print(summary.to_string())


def run_db(a, db: str) -> list[dict]:
    from label_studio_sdk import LabelStudio
    from labeling import studio_postgres
    from labeling.studio_backend import _filter_after, existing_sample_ids, fetch_tasks, mirror_rows, push_items
    from labeling.studio_client import NO_RETRY, field
    from labeling.studio_server import credentials, start_server, stop_pid
    from dataprep.core import store

    tmp = Path(tempfile.mkdtemp(prefix=f"studio-sync-{db}-"))
    t_start, info = timed(lambda: start_server(tmp / "server", tmp, db=db))
    token = credentials(tmp / "server")["token"]
    url = info["url"]
    ls = LabelStudio(base_url=url, api_key=token, timeout=600)
    print(f"{db} server up in {t_start:.0f} s at {url}", file=sys.stderr)
    rows = []

    def row(what, method, secs, **kw):
        rows.append({"db": db, "what": what, "method": method, "secs": round(secs, 2), **kw})
        print(json.dumps(rows[-1]), file=sys.stderr)

    try:
        if "profile" in a.parts:
            profile(ls, info["pid"], a.n, tmp, row)
        if "concurrent" in a.parts:
            concurrent(url, token, tmp, a.annotators, a.annotations, row)
        if "sync" not in a.parts:
            return rows
        n = a.n
        # ---- push: alternate naive and ours, `repeats` times each, on fresh projects (the machine's
        # speed drifts; medians of interleaved runs compare like with like)
        for rep in range(a.repeats):
            pid = new_project(ls, "naive-push")
            secs, _ = timed(lambda: ls.projects.import_tasks(id=pid, request=items(n), request_options=NO_RETRY))
            row("push N tasks with pre-annotations", "one inline import_tasks (naive)", secs,
                tasks=count_tasks(ls, pid)[0], rep=rep)
            pid = new_project(ls, "ours-push")
            secs, res = timed(lambda: push_items(ls, url, pid, items(n), tmp / "marker.json"))
            row("push N tasks with pre-annotations", "dataprep push_items", secs, tasks=count_tasks(ls, pid)[0], rep=rep)
        secs, res = timed(lambda: push_items(ls, url, pid, items(n), tmp / "marker.json"))
        row("push again (nothing new)", "dataprep push_items", secs, pushed=res["pushed"])

        # ---- pull
        me = ls.users.whoami().id
        pid = new_project(ls, "annotated")
        ls.projects.import_tasks(id=pid, request=items(n, annotator=me), request_options=NO_RETRY)
        users = {u.id: u.email or u.username for u in ls.users.list()}
        empty = pd.DataFrame(columns=list(store.SCHEMAS["annotations"]))
        def ours_full():
            tasks = fetch_tasks(ls, pid, None)
            return mirror_rows(tasks, users, "classification", empty, None)
        for rep in range(a.repeats):     # what push asks first: which sample ids the project has
            secs, got = timed(lambda: list(ls.tasks.list(project=pid, fields="task_only", page_size=1000)))
            row("list the sample ids of N tasks", "tasks.list(fields='task_only') (naive)", secs, tasks=len(got), rep=rep)
            secs, got = timed(lambda: existing_sample_ids(ls, pid))
            row("list the sample ids of N tasks", "dataprep existing_sample_ids (include=id,data)", secs,
                tasks=len(got), rep=rep)
        for rep in range(a.repeats):
            secs, got = timed(lambda: list(ls.tasks.list(project=pid, fields="all", page_size=500)))
            row("full pull of N annotated tasks", "tasks.list(fields='all') (naive)", secs, tasks=len(got), rep=rep)
            secs, got = timed(lambda: json.loads(b"".join(ls.projects.exports.download_sync(
                pid, export_type="JSON", download_all_tasks=True))))
            row("full pull of N annotated tasks", "synchronous JSON export (naive)", secs, tasks=len(got), rep=rep)
            secs, (tdf, adf, cursor) = timed(ours_full)
            row("full pull of N annotated tasks", "dataprep fetch_tasks (snapshot) + mirror_rows", secs,
                tasks=len(tdf), annotations=len(adf), rep=rep)

        # ---- incremental: update some annotations, then pull from the cursor
        changed = [t for t in ls.tasks.list(project=pid, fields="all", page_size=a.changed)][:a.changed]
        for t in changed:
            ann = t.annotations[0]
            ann_id = field(ann, "id")
            ls.annotations.update(id=ann_id, result=_choice("c"), lead_time=5.0)

        def ours_incremental():
            tasks = fetch_tasks(ls, pid, cursor)
            return mirror_rows(tasks, users, "classification", adf, cursor)
        secs, (tdf2, adf2, _) = timed(ours_incremental)
        row(f"incremental pull, {a.changed} changed of N", "dataprep fetch_tasks (cursor) + mirror_rows", secs,
            tasks=len(tdf2), annotations=len(adf2))
        secs, _ = timed(lambda: list(ls.tasks.list(project=pid, fields="all", page_size=500, query=_filter_after(cursor))))
        row(f"incremental pull, {a.changed} changed of N", "tasks.list(fields='all') with the filter", secs)

        # ---- killed push
        pid = new_project(ls, "killed-push")
        marker = tmp / "killed-marker.json"
        p = subprocess.Popen([sys.executable, __file__, "--child", url, token, str(pid), str(n), str(marker)],
                             start_new_session=True)
        while ls.projects.get(id=pid).task_number < n // 2 and p.poll() is None:   # a cheap count
            time.sleep(0.1)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        at_kill = count_tasks(ls, pid)[0]
        secs, res = timed(lambda: push_items(ls, url, pid, items(n), marker))
        total, distinct = count_tasks(ls, pid)
        row("push killed half way, then re-run", "dataprep push_items", secs, tasks_at_kill=at_kill,
            tasks=total, duplicates=total - distinct, duplicates_removed=res["duplicates_removed"])
    finally:
        stop_pid(info["pid"])
        if db == "postgresql":
            studio_postgres.remove_local(tmp / "server")
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


if __name__ == "__main__":
    main()
