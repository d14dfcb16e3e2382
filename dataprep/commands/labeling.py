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
    console.result(s, f"pushed {s['pushed']} tasks ({s['gold']} gold) to the {s['backend']} backend")


@label.command()
def pull(ctx: typer.Context) -> None:
    """Mirror tasks and annotations from the backend into tasks/annotations.parquet."""
    from labeling.backend import pull as run

    s = run(project_from(ctx))
    console.result(s, f"pulled {s['new_annotations']} new annotations and {s['new_tasks']} new tasks "
                      f"({s['annotations']} annotations on {s['tasks']} tasks in all)")


studio = make_app("A local Label Studio server for one-machine use.")
app.add_typer(studio, name="studio")


@studio.command("start")
def studio_start(
    ctx: typer.Context,
    port: int = typer.Option(None, help="port to listen on (default: a free one)", min=1, max=65535),
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0: reachable from other machines)"),
) -> None:
    """Start a local Label Studio (SQLite, data under .dataprep/studio, a free loopback port by default)."""
    from labeling.studio_server import start

    s = start(project_from(ctx), port=port, host=host)
    if s.get("already_running"):
        return console.result(s, f"already running at {s['url']}")
    console.result({k: v for k, v in s.items()}, f"Label Studio is up at {s['url']}",
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
