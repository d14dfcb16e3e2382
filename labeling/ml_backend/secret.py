"""The backend's shared secret: what a request must carry to be answered.

Label Studio's ML connector authenticates with HTTP Basic auth (`auth_method:
BASIC_AUTH`), so the secret is the Basic password (user `dataprep`). It comes from
`DATAPREP_SERVE_SECRET`, else from `.dataprep/serve/secret` (created once, 0600).
`connect-model` hands the same value to Label Studio, for predictions and for the
webhook's `Authorization` header. The secret is never logged or printed.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
from pathlib import Path

from dataprep.core.project import Project

USER = "dataprep"
ENV = "DATAPREP_SERVE_SECRET"


def serve_dir(project: Project) -> Path:
    return project.work / "serve"


def secret(project: Project) -> str:
    if os.environ.get(ENV):
        return os.environ[ENV]
    path = serve_dir(project) / "secret"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:           # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def header(value: str) -> str:
    """The `Authorization` header value that carries `value`."""
    return "Basic " + base64.b64encode(f"{USER}:{value}".encode()).decode()


def allowed(authorization: str | None, value: str) -> bool:
    """Does this `Authorization` header carry the secret? (constant-time comparison)"""
    if not authorization or not authorization.startswith("Basic "):
        return False
    try:
        _, _, given = base64.b64decode(authorization[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(given.encode(), value.encode())
