"""Commands of the labeling package: `validate` (and the Label Studio groups)."""

from __future__ import annotations

import typer

from dataprep import console
from dataprep.cli_base import make_app, project_from

app = make_app("Labeling and label validation.")


@app.command()
def validate(ctx: typer.Context) -> None:
    """Check annotations, infer the true labels, rate annotators, and apply the gate (exit 1 on failure)."""
    from labeling.validate import validate as run

    project = project_from(ctx)
    s = run(project)
    if not s["annotations"]:
        return console.result(s, "no annotations yet: wrote empty labels and quarantine")
    g = s["gate"]
    lines = [f"accepted {s['accepted']} labels from {s['annotations']} annotations on {s['samples_annotated']} samples "
             f"(mean confidence {s['mean_confidence'] or 0:.3f})",
             f"quarantined: {s['quarantined_samples']} samples, {s['quarantined_annotations']} annotations "
             f"{s['by_check']}",
             f"blocked annotators: {', '.join(s['blocked_annotators']) or 'none'}; "
             f"watch: {', '.join(s['watch_annotators']) or 'none'}",
             f"gate passed: alpha {g['alpha']:.3f} (90% interval {g['alpha_interval'][0]:.2f}-{g['alpha_interval'][1]:.2f}), {g['quarantined_share']:.0%} of round {g['round']} quarantined"]
    if s.get("reannotation_requests"):
        lines.append(f"worth another annotation: {s['reannotation_requests']} samples {s['requests_by_check']}")
    auto = s.get("auto_accept")
    if auto:
        lines.append(f"auto-labels: {auto['auto_labels']} at model confidence >= {auto['threshold']} (error <= "
                     f"{auto['bound']:.1%} with {auto['confidence']:.0%} confidence, from {auto['audit_n']} audited)"
                     if auto["auto_labels"] else f"auto-labels: none ({auto.get('note', 'no threshold passed')})")
        if auto.get("revoked"):
            lines.append(f"auto-labels revoked: {auto['revoked']} (the audit no longer bounds their error)")
        if auto.get("sent_to_annotators"):
            lines.append(f"auto-labels since sent to annotators: {auto['sent_to_annotators']} (a human label replaces them)")
    console.result(s, *lines)


label = make_app("Send tasks to the labeling backend and mirror annotations back.")
app.add_typer(label, name="label")


@label.command()
def push(ctx: typer.Context) -> None:
    """Send the selected samples (plus gold tasks) with the model's pre-annotations."""
    from dataprep.core.atomic import write_json
    from labeling.backend import push as run

    project = project_from(ctx)
    s = run(project)
    write_json(project.reports / "push.json", s)
    gone = s.get("removed_annotators") or []
    console.result(s, f"pushed {s['pushed']} tasks ({s['gold']} gold) to the {s['backend']} backend" +
                   (f"; blocked annotators taken off the work: {', '.join(gone)}" if gone else "")
                   + (f"; withdrew {s['withdrawn']} unanswered tasks of samples gone from the source"
                      if s.get("withdrawn") else ""))


@label.command()
def pull(ctx: typer.Context) -> None:
    """Mirror tasks and annotations from the backend into tasks/annotations.parquet."""
    from labeling.backend import pull as run

    s = run(project_from(ctx))
    console.result(s, f"pulled {s['new_annotations']} new annotations and {s['new_tasks']} new tasks "
                      f"({s['annotations']} annotations on {s['tasks']} tasks in all)"
                      + (f"; {s['withdrawn_tasks']} unanswered tasks the backend no longer holds left the mirror "
                         "(their samples can be sent again)" if s.get("withdrawn_tasks") else ""))


studio = make_app("A local Label Studio server for one-machine use.")
app.add_typer(studio, name="studio")


@studio.command("start")
def studio_start(
    ctx: typer.Context,
    port: int = typer.Option(None, help="port to listen on (default: a free one)", min=1, max=65535),
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0: reachable from other machines)"),
    db: str = typer.Option("sqlite", help="sqlite | postgresql (the server POSTGRE_HOST etc. name, else a local "
                                          "PostgreSQL cluster started for this project)"),
) -> None:
    """Start a local Label Studio (SQLite or PostgreSQL, data under .dataprep/studio, a free loopback port by default)."""
    from labeling.studio_server import start

    s = start(project_from(ctx), port=port, host=host, db=db)
    if s.get("already_running"):
        return console.result(s, f"already running at {s['url']}")
    console.result({k: v for k, v in s.items()}, f"Label Studio is up at {s['url']} ({s.get('db', 'sqlite')})",
                   f"log in as {s['username']}; the password and API token are in {s['credentials']} (mode 0600)")


@studio.command("stop")
def studio_stop(ctx: typer.Context) -> None:
    """Stop the local Label Studio started here."""
    from labeling.studio_server import stop

    s = stop(project_from(ctx))
    console.result(s, f"stopped {s['url']}" if s["stopped"] else s["note"])


@studio.command("status")
def studio_status(ctx: typer.Context) -> None:
    """Is the local Label Studio running?"""
    from labeling.studio_server import status

    s = status(project_from(ctx, writes=False))
    console.result(s, f"running at {s['url']}" if s["running"] else "not running")


@app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option(None, help="address to listen on (default serve.host)"),
    port: int = typer.Option(None, help="port (default serve.port)", min=1, max=65535),
    workers: int = typer.Option(None, help="HTTP worker processes (default serve.workers)", min=1),
) -> None:
    """Run the Label Studio ML backend: /predict from the current model, retraining on annotations."""
    from pathlib import Path

    from labeling.ml_backend.server import serve as run, url_of

    project = project_from(ctx, {"serve.host": host, "serve.port": port, "serve.workers": workers}, writes=False)
    cfg = project.cfg.serve
    params = Path((ctx.find_root().obj or {}).get("params", "params.yaml"))
    console.result({"url": url_of(cfg.host, cfg.port), "workers": cfg.workers},
                   f"ML backend at {url_of(cfg.host, cfg.port)} ({cfg.workers} worker(s) and a trainer); "
                   "connect it with `dataprep studio connect-model`; Ctrl-C stops it")
    run(project, params, cfg.host, cfg.port, cfg.workers)


def _backend_url(project, url: str | None) -> str:
    import json

    from labeling.ml_backend.secret import serve_dir
    from labeling.ml_backend.server import url_of

    if url:
        return url.rstrip("/")
    running = serve_dir(project) / "server.json"
    if running.exists():
        return json.loads(running.read_text())["url"]
    return url_of(project.cfg.serve.host, project.cfg.serve.port)


@studio.command("connect-model")
def connect_model(
    ctx: typer.Context,
    url: str = typer.Option(None, help="the backend's URL as Label Studio reaches it (default: the running "
                                       "`dataprep serve`, else serve.host:serve.port)"),
) -> None:
    """Register `dataprep serve` on the Label Studio project (idempotent)."""
    from labeling.ml_backend.connect import connect

    project = project_from(ctx, writes=False)
    s = connect(project, _backend_url(project, url))
    console.result(s, f"{'updated' if s['updated'] else 'connected'} the ML backend {s['url']} on project "
                      f"{s['project_id']} (state {s['state']}, model version {s['model_version']})")


@studio.command("disconnect-model")
def disconnect_model(
    ctx: typer.Context,
    url: str = typer.Option(None, help="only the backend at this URL (default: every dataprep backend)"),
) -> None:
    """Remove the ML backend (and its webhook) from the Label Studio project."""
    from labeling.ml_backend.connect import disconnect

    s = disconnect(project_from(ctx, writes=False), url)
    console.result(s, s.get("note") or f"removed {s['removed']} ML backend(s) from project {s['project_id']}")
