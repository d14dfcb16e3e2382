"""Connecting to Label Studio, and turning its failures into one line that says what to check.

The connection comes from `LABEL_STUDIO_URL` and `LABEL_STUDIO_API_KEY` (the
SDK's own names; a personal access token, which the SDK exchanges and
refreshes, or a legacy token), else from this project's local server
(`dataprep studio start`). The key is never logged, written or echoed.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

import httpx
import requests

from dataprep.core.errors import UserError
from dataprep.core.project import Project
from labeling.studio_server import local_connection

NO_RETRY = {"max_retries": 0}     # for POSTs that must not run twice (imports)


def field(obj, name: str):
    """A field of an SDK object: nested parts (a task's annotations, predictions) arrive as plain
    dicts or as models depending on the endpoint and SDK version."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def connection(project: Project) -> tuple[str, str]:
    url, key = os.environ.get("LABEL_STUDIO_URL"), os.environ.get("LABEL_STUDIO_API_KEY")
    if url and key:
        return url.rstrip("/"), key

    local = local_connection(project)
    if local:
        return local
    raise UserError("no Label Studio to talk to: set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY, "
                    "or run `dataprep studio start`")


def client(project: Project):
    from label_studio_sdk import LabelStudio

    url, key = connection(project)
    return LabelStudio(base_url=url, api_key=key, timeout=120), url


@contextlib.contextmanager
def explained(url: str, what: str) -> Iterator[None]:
    """Run Label Studio calls; re-raise failures as UserError naming what to check."""
    from label_studio_sdk.core.api_error import ApiError

    try:
        yield
    except ApiError as exc:
        code = exc.status_code
        if code in (401, 403):
            raise UserError(f"Label Studio at {url} rejected the token (HTTP {code}) while {what}: "
                            "check LABEL_STUDIO_API_KEY (personal access token or legacy token, not expired)") from None
        if code == 404:
            raise UserError(f"Label Studio at {url}: not found (HTTP 404) while {what}: "
                            "was the project deleted? `dataprep label push` creates it again") from None
        body = str(exc.body)[:300]
        raise UserError(f"Label Studio at {url} answered HTTP {code} while {what}: {body}") from None
    except (httpx.TransportError, requests.ConnectionError, ConnectionError) as exc:
        raise UserError(f"cannot reach Label Studio at {url} while {what} ({type(exc).__name__}): "
                        "is it running (`dataprep studio status`)? check LABEL_STUDIO_URL") from None
