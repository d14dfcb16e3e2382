"""PostgreSQL for a team's Label Studio (`dataprep studio start --db postgresql`).

Label Studio on SQLite serialises every write; a team with many annotators at once wants
PostgreSQL. Two ways:
- an existing server: the usual `POSTGRE_HOST`, `POSTGRE_PORT`, `POSTGRE_NAME`,
  `POSTGRE_USER`, `POSTGRE_PASSWORD` settings (Label Studio's own names) are passed through;
- none set: dataprep runs a local one, Debian's `postgresql` package (`initdb`, `pg_ctl`):
  a cluster of its own, listening on loopback only (no Unix socket), password auth
  (scram-sha-256), the password made once and kept 0600 beside the studio credentials. Its
  data lives under the project's work folder (`.dataprep/studio/postgres/`), except when
  dataprep runs as root: PostgreSQL refuses to run as root, so the cluster then runs as the
  `postgres` system user in a folder of its own under /var/lib/dataprep (named after the
  project's path). `dataprep studio stop` stops it with `pg_ctl stop`, which signals only
  the postmaster recorded in that cluster's own `postmaster.pid`.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

from dataprep.core.atomic import write_json
from dataprep.core.errors import UserError

SETTINGS = ("POSTGRE_HOST", "POSTGRE_PORT", "POSTGRE_NAME", "POSTGRE_USER", "POSTGRE_PASSWORD")
USER, NAME = "dataprep", "labelstudio"


def external() -> dict[str, str] | None:
    """The existing server named by POSTGRE_* settings, or None (none set)."""
    if not os.environ.get("POSTGRE_HOST"):
        return None
    return {k: os.environ[k] for k in SETTINGS if os.environ.get(k)}


def _bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise UserError(f"--db postgresql: `{name}` not found; install PostgreSQL (Debian: apt-get install postgresql) "
                        "or name an existing server with POSTGRE_HOST, POSTGRE_PORT, POSTGRE_NAME, POSTGRE_USER, "
                        "POSTGRE_PASSWORD")
    return found


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def cluster_dir(studio: Path) -> Path:
    if not _as_root():
        return studio / "postgres"
    key = hashlib.blake2b(str(studio.resolve()).encode(), digest_size=8).hexdigest()
    return Path("/var/lib/dataprep/postgres") / key


def _run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    if _as_root():
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        said = (res.stderr.strip() or res.stdout.strip()).splitlines()
        raise UserError(f"--db postgresql: `{' '.join(cmd[:4])} ...` failed (code {res.returncode})"
                        + (f": {said[-1]}" if said else ""))
    return res


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _password(studio: Path) -> str:
    path = studio / "postgres_password"
    if path.exists():
        return path.read_text().strip()
    studio.mkdir(parents=True, exist_ok=True)
    pw = secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(pw)
    return pw


def running(folder: Path) -> bool:
    if not (folder / "PG_VERSION").exists():
        return False
    cmd = [_bin("pg_ctl"), "-D", str(folder), "status"]
    if _as_root():
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, capture_output=True).returncode == 0


def start_local(studio: Path) -> dict[str, Any]:
    """Start (creating on first use) the project's local PostgreSQL cluster and its database;
    the POSTGRE_* settings Label Studio needs to reach it."""
    folder = cluster_dir(studio)
    pw = _password(studio)
    state_path = studio / "postgres.json"
    if not (folder / "PG_VERSION").exists():
        folder.mkdir(parents=True, exist_ok=True)
        pwfile = folder.parent / f".{folder.name}.pw"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)   # 0600 before it holds the password
        with os.fdopen(fd, "w") as fh:
            fh.write(pw)
        if _as_root():
            folder.parent.chmod(0o755)
            shutil.chown(folder, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        folder.chmod(0o700)
        try:
            _run([_bin("initdb"), "-D", str(folder), "-U", USER, "--auth=scram-sha-256", f"--pwfile={pwfile}",
                  "-E", "UTF8", "--locale=C"])
        finally:
            pwfile.unlink(missing_ok=True)
    if running(folder):
        if state_path.exists():
            return {**json.loads(state_path.read_text())["settings"], "POSTGRE_PASSWORD": pw}
        _run([_bin("pg_ctl"), "-D", str(folder), "stop", "-m", "fast", "-w"])
    port = _free_port()
    log = folder.parent / f"{folder.name}.log" if _as_root() else studio / "postgres.log"
    if _as_root() and not log.exists():
        log.touch()
        shutil.chown(log, "postgres", "postgres")
    _run([_bin("pg_ctl"), "-D", str(folder), "-l", str(log), "-w", "-t", "60",
          "-o", f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''", "start"])
    settings = {"POSTGRE_HOST": "127.0.0.1", "POSTGRE_PORT": str(port), "POSTGRE_NAME": NAME,
                "POSTGRE_USER": USER, "POSTGRE_PASSWORD": pw}
    env = {**os.environ, "PGPASSWORD": pw}
    have = subprocess.run([_bin("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, "-d", "postgres", "-tAc",
                           f"SELECT 1 FROM pg_database WHERE datname = '{NAME}'"], capture_output=True, text=True, env=env)
    if have.stdout.strip() != "1":
        res = subprocess.run([_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, NAME],
                             capture_output=True, text=True, env=env)
        if res.returncode != 0:
            raise UserError(f"--db postgresql: createdb {NAME} failed: {res.stderr.strip()}")
    write_json(state_path, {"cluster": str(folder), "log": str(log),
                            "settings": {k: v for k, v in settings.items() if k != "POSTGRE_PASSWORD"}})
    return settings


def stop_local(studio: Path) -> bool:
    """Stop the project's local cluster if it runs (pg_ctl signals only its own postmaster)."""
    folder = cluster_dir(studio)
    if not running(folder):
        return False
    _run([_bin("pg_ctl"), "-D", str(folder), "stop", "-m", "fast", "-w"])
    return True


def remove_local(studio: Path) -> None:
    """Stop the local cluster of `studio` and delete it and its log (a throwaway server's:
    tests and benchmarks). As root the cluster lives outside `studio`, so removing `studio`
    alone would leave it behind."""
    stop_local(studio)
    cluster = cluster_dir(studio)
    shutil.rmtree(cluster, ignore_errors=True)
    cluster.with_name(cluster.name + ".log").unlink(missing_ok=True)
