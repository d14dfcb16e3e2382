"""`dataprep studio start|stop|status`: a local Label Studio for one-machine use.

SQLite and all server data live under the project's git-ignored work folder
(`.dataprep/studio/`); `db="postgresql"` uses PostgreSQL instead
(`labeling.studio_postgres`: a team's server, or a local cluster started here). On first start an admin user, a random password and a
legacy API token are created (env vars read by Label Studio at organisation
creation) and kept in `.dataprep/studio/credentials.json`, mode 0600, never in
a tracked file. The server runs offline and closed: no version check, no
analytics, no sign-up without an invite link. Images are served from the
dataset folder itself through Label Studio's local-files storage (no copies).

A fresh SQLite server spends its first start (about a minute) on Django migrations. Test
suites and CI, which start many throwaway servers, can set `$DATAPREP_STUDIO_TEMPLATE` to
the folder of a server started once and stopped: a new folder then starts from copies of
its database and credentials (`from_template`), the same migrated schema and admin.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from dataprep.core.atomic import write_json
from dataprep.core.errors import UserError
from dataprep.core.project import Project

ADMIN = "admin@dataprep.local"
TEMPLATE_ENV = "DATAPREP_STUDIO_TEMPLATE"
DATABASE = "label_studio.sqlite3"


def studio_dir(project: Project) -> Path:
    return project.work / "studio"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def label_studio_bin() -> str:
    """The `label-studio` executable: $DATAPREP_LABEL_STUDIO_BIN, the Makefile's .venv-studio, or PATH."""
    env = os.environ.get("DATAPREP_LABEL_STUDIO_BIN")
    if env:
        return env
    for base in (Path.cwd(), Path(__file__).resolve().parents[1]):
        cand = base / ".venv-studio" / "bin" / "label-studio"
        if cand.exists():
            return str(cand)
    found = shutil.which("label-studio")
    if not found:
        raise UserError("label-studio not found: run `make studio-venv` (or pip install label-studio==1.23.2) "
                        "or set DATAPREP_LABEL_STUDIO_BIN")
    return found


def credentials(folder: Path) -> dict[str, str]:
    """The local server's admin credentials (created once, 0600)."""
    path = folder / "credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    creds = {"username": ADMIN, "password": secrets.token_urlsafe(16), "token": secrets.token_hex(20)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh)
    return creds


def from_template(data_dir: Path) -> bool:
    """Seed a server folder that has no database yet from `$DATAPREP_STUDIO_TEMPLATE` (a folder
    `start_server` used, its server stopped): its SQLite database and credentials (0600) are
    copied. Whether it did."""
    template = os.environ.get(TEMPLATE_ENV)
    if not template or (data_dir / "data" / DATABASE).exists() or (data_dir / "credentials.json").exists():
        return False
    src = Path(template)
    if not (src / "data" / DATABASE).is_file() or not (src / "credentials.json").is_file():
        raise UserError(f"${TEMPLATE_ENV}={template}: no data/{DATABASE} and credentials.json there; point it at the "
                        "folder of a Label Studio started once (`dataprep studio start`'s .dataprep/studio) and "
                        "stopped, or unset it")
    (data_dir / "data").mkdir(parents=True, exist_ok=True)
    for f in sorted((src / "data").glob(DATABASE + "*")):       # the database and any write-ahead log
        shutil.copyfile(f, data_dir / "data" / f.name)
    fd = os.open(data_dir / "credentials.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write((src / "credentials.json").read_text())
    return True


def server_env(document_root: Path, creds: dict[str, str], postgres: dict[str, str] | None = None) -> dict[str, str]:
    """Label Studio's environment: offline, closed, local files served from `document_root`;
    SQLite, or PostgreSQL reached with the `postgres` POSTGRE_* settings."""
    env = dict(os.environ)
    env.update({
        "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",         # no error reports (with request data) to a third party
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(document_root.resolve()),
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_USERNAME": creds["username"], "LABEL_STUDIO_PASSWORD": creds["password"],
        "LABEL_STUDIO_USER_TOKEN": creds["token"],
        "DJANGO_DB": "sqlite", "PYTHONUNBUFFERED": "1",
        # a loopback server on one machine: let it call an ML backend and its webhook on loopback too
        "ML_BLOCK_LOCAL_IP": "false", "SSRF_PROTECTION_ENABLED": "false",
    })
    env.pop("LABEL_STUDIO_API_KEY", None)
    if postgres is not None:
        env.update({"DJANGO_DB": "default", **postgres})
    return env


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def start_server(data_dir: Path, document_root: Path, port: int | None = None, wait_s: float = 300,
                 host: str = "127.0.0.1", db: str = "sqlite") -> dict[str, Any]:
    """Start `label-studio` in the background; return {url, pid, port, log, db} once /health answers.
    `host` is the address it listens on (loopback unless annotators reach it from elsewhere);
    `db`: sqlite, or postgresql (`labeling.studio_postgres`: the POSTGRE_* server, else a local
    cluster of the project's own, started here)."""
    if db not in ("sqlite", "postgresql"):
        raise UserError(f"--db {db}: expected sqlite or postgresql")
    postgres, pg_kind = None, None
    if db == "postgresql":
        from labeling import studio_postgres
        postgres = studio_postgres.external()
        pg_kind = "external" if postgres else "local"
        if postgres is None:
            postgres = studio_postgres.start_local(data_dir)
    else:
        from_template(data_dir)
    creds = credentials(data_dir)
    if port is not None:
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError as exc:
                raise UserError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}); pick another") from None
    port = port or free_port()
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    log = data_dir / "server.log"
    cmd = [label_studio_bin(), "start", "--no-browser", "--port", str(port), "--internal-host", host,
           "--data-dir", str(data_dir / "data"), "--host", url]
    with open(log, "ab") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=server_env(document_root, creds, postgres),
                                start_new_session=True, cwd=data_dir)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise UserError(f"label-studio exited with code {proc.returncode}; see {log}:\n" + "\n".join(tail))
        if healthy(url):
            return {"url": url, "pid": proc.pid, "port": port, "log": str(log), "db": db,
                    **({"postgres": pg_kind} if pg_kind else {}), **identity(proc.pid)}
        time.sleep(1.0)
    stop_pid(proc.pid)
    raise UserError(f"label-studio did not answer {url}/health within {wait_s:.0f}s; see {log}")


def identity(pid: int) -> dict[str, Any]:
    """What tells this process apart from a later one that reuses its PID."""
    import psutil

    p = psutil.Process(pid)
    return {"create_time": p.create_time(), "cmdline": p.cmdline()}


def is_ours(info: dict[str, Any]) -> str | None:
    """None if `info`'s PID is still the server we started (same start time and command line,
    leading its own process group); otherwise why not."""
    import psutil

    pid = int(info.get("pid") or 0)
    if "create_time" not in info or "cmdline" not in info:
        return "server.json has no start time or command line to check the PID against"
    try:
        now = identity(pid)
        pgid = os.getpgid(pid)
    except (psutil.Error, ProcessLookupError, PermissionError):
        return f"no process {pid}"
    if abs(now["create_time"] - float(info["create_time"])) > 0.05 or now["cmdline"] != info["cmdline"]:
        return f"PID {pid} is another process now ({' '.join(now['cmdline'])[:80]!r})"
    if pgid != pid:
        return f"PID {pid} does not lead its process group"
    return None


def stop_pid(pid: int) -> None:
    """SIGTERM (then SIGKILL) the process group of a server this process verified as its own."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start(project: Project, port: int | None = None, host: str = "127.0.0.1", db: str = "sqlite") -> dict[str, Any]:
    folder = studio_dir(project)
    state = status(project)
    if state["running"]:
        return state | {"already_running": True}
    folder.mkdir(parents=True, exist_ok=True)
    info = start_server(folder, project.data, port=port, host=host, db=db)
    write_json(folder / "server.json", info)
    return info | {"running": True, "username": ADMIN, "credentials": str(folder / "credentials.json")}


def status(project: Project) -> dict[str, Any]:
    path = studio_dir(project) / "server.json"
    if not path.exists():
        return {"running": False}
    info = json.loads(path.read_text())
    return info | {"running": healthy(info["url"])}


def stop(project: Project) -> dict[str, Any]:
    path = studio_dir(project) / "server.json"
    if not path.exists():
        return {"stopped": False, "note": "no local server was started here"}
    info = json.loads(path.read_text())
    why = is_ours(info)
    if why is not None:         # never signal a process we cannot show is the server we started
        path.unlink()
        return {"stopped": False, "url": info.get("url"),
                "note": f"not running ({why}); removed the stale {path.name}, signalled nothing"}
    stop_pid(int(info["pid"]))
    path.unlink()
    out = {"stopped": True, "url": info["url"]}
    if info.get("postgres") == "local":          # the cluster this project started, stopped with it
        from labeling import studio_postgres
        out["postgres_stopped"] = studio_postgres.stop_local(studio_dir(project))
    return out


def local_connection(project: Project) -> tuple[str, str] | None:
    """(url, token) of this project's running local server, if any."""
    st = status(project)
    if not st.get("running"):
        return None
    return st["url"], credentials(studio_dir(project))["token"]


if __name__ == "__main__":     # manual check: python -m labeling.studio_server DATA_DIR DOC_ROOT
    print(start_server(Path(sys.argv[1]), Path(sys.argv[2])))
