"""`dataprep studio connect-model` / `disconnect-model`: the backend on a Label Studio project.

Connecting (idempotent: run it again after a new secret or URL and it updates in place):
- registers the backend (`/api/ml`) with Basic auth carrying the shared secret; Label
  Studio checks `/health` and `/setup` right then, so the backend must be running;
- sets the project's `model_version` to the backend's title and turns on
  `show_collab_predictions`: that is what makes Label Studio ask the backend for a
  prediction whenever an annotator opens a task without one from the current version;
- gives the webhook Label Studio created at `<url>/webhook` the secret's `Authorization`
  header (Label Studio sends webhooks with the webhook's own headers, not the backend's
  auth), creating it if it was deleted.

A local setup (`dataprep studio start`) runs Label Studio with `ML_BLOCK_LOCAL_IP=false`
and `SSRF_PROTECTION_ENABLED=false`, which a backend on loopback needs; a team server
must set them itself or reach the backend at a routable address (README).
"""

from __future__ import annotations

from typing import Any

from dataprep.core import store
from dataprep.core.errors import UserError
from dataprep.core.project import Project
from labeling.ml_backend.secret import USER, header, secret
from labeling.studio_backend import ensure_project, find_project
from labeling.studio_client import client, explained

TITLE = "dataprep"


def _hook_url(url: str) -> str:
    return url.rstrip("/") + "/webhook"


def _modality(project: Project) -> str:
    man = store.read_table(project.data, "manifest", ["modality"])
    if man.empty:
        raise UserError(f"{project.data / 'manifest.parquet'}: no samples; run `dataprep acquire` first")
    return str(man["modality"].iloc[0])


def connect(project: Project, url: str) -> dict[str, Any]:
    ls, ls_url = client(project)
    key = secret(project)
    proj = ensure_project(ls, ls_url, project, _modality(project))
    kw = dict(url=url, title=TITLE, auth_method="BASIC_AUTH", basic_auth_user=USER, basic_auth_pass=key,
              is_interactive=False, auto_update=True)
    with explained(ls_url, f"registering the ML backend {url} (is `dataprep serve` running there?)"):
        same = [m for m in ls.ml.list(project=proj.id) if (m.url or "").rstrip("/") == url.rstrip("/")]
        # an update names the project too: Label Studio 1.23 re-runs /setup on it and fails without one
        ml = ls.ml.update(same[0].id, project=proj.id, **kw) if same else ls.ml.create(project=proj.id, **kw)
        ls.projects.update(proj.id, show_collab_predictions=True, model_version=TITLE)
        hooks = [w for w in ls.webhooks.list(project=str(proj.id)) if (w.url or "") == _hook_url(url)]
        auth = {"Authorization": header(key)}
        if hooks:
            ls.webhooks.update(hooks[0].id, url=_hook_url(url), headers=auth)
        else:
            ls.webhooks.create(url=_hook_url(url), project=proj.id, send_payload=True, send_for_all_actions=True,
                               headers=auth)
        ml = ls.ml.get(ml.id)
    return {"project_id": proj.id, "ml_backend_id": ml.id, "url": url, "state": ml.state,
            "model_version": ml.model_version, "updated": bool(same)}


def disconnect(project: Project, url: str | None = None) -> dict[str, Any]:
    ls, ls_url = client(project)
    title = project.cfg.label.project_title
    with explained(ls_url, "removing the ML backend"):
        proj = find_project(ls, title)
        if proj is None:
            return {"removed": 0, "note": f"Label Studio has no project {title!r}"}
        gone = [m for m in ls.ml.list(project=proj.id)
                if (url is None and m.title == TITLE) or (url and (m.url or "").rstrip("/") == url.rstrip("/"))]
        for m in gone:
            ls.ml.delete(m.id)
            for w in ls.webhooks.list(project=str(proj.id)):
                if (w.url or "") == _hook_url(m.url or ""):
                    ls.webhooks.delete(w.id)
        if gone:
            ls.projects.update(proj.id, model_version="")
    return {"project_id": proj.id, "removed": len(gone)}
