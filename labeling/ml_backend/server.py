"""`dataprep serve`: the trainer process and the HTTP workers, started together.

The trainer is a child process (spawned, so it shares nothing with uvicorn's
workers); uvicorn runs the app factory in `workers` processes. When uvicorn returns
(Ctrl-C, SIGTERM) the trainer we started is stopped; a trainer whose parent died
leaves by itself. `.dataprep/serve/server.json` says where the backend listens, for
`studio connect-model`.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
from pathlib import Path

from dataprep.core.atomic import write_json
from dataprep.core.errors import UserError
from dataprep.core.project import Project
from labeling.ml_backend import trainer
from labeling.ml_backend.app import PARAMS_ENV
from labeling.ml_backend.secret import secret, serve_dir


def url_of(host: str, port: int) -> str:
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"


def serve(project: Project, params: Path, host: str, port: int, workers: int) -> None:
    import uvicorn

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            s.bind((host, port))
        except OSError as exc:
            raise UserError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}); pick another") from None
    secret(project)                        # made once here, not raced by the workers
    d = serve_dir(project)
    d.mkdir(parents=True, exist_ok=True)
    os.environ[PARAMS_ENV] = str(params.resolve())
    proc = multiprocessing.get_context("spawn").Process(
        target=trainer.run, args=(str(params.resolve()), os.getpid()), name="dataprep-trainer", daemon=False)   # it may fan out (cleanlab)
    proc.start()
    write_json(d / "server.json", {"url": url_of(host, port), "pid": os.getpid(), "trainer_pid": proc.pid,
                                   "workers": workers})
    try:
        uvicorn.run("labeling.ml_backend.app:create_app", factory=True, host=host, port=port, workers=workers,
                    http="labeling.ml_backend.nodelay:NoDelayH11", timeout_graceful_shutdown=10,
                    log_level="warning", access_log=False)
    finally:
        if proc.is_alive():                # our own child: started above
            proc.terminate()
            proc.join(5)
        (d / "server.json").unlink(missing_ok=True)
