"""`dataprep serve` as a child process: started, waited for, asked, stopped. For the tests, the
ML-backend benchmark and `make ui-check` (a demo helper: no stage or part imports it). It stops
only the process it started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from dataprep.core.errors import UserError
from dataprep.core.project import open_project
from labeling.ml_backend.secret import secret, serve_dir


class ServeProcess:
    def __init__(self, root: Path, port: int, workers: int = 1, env: dict[str, str] | None = None):
        self.root, self.port, self.workers = Path(root), port, workers
        self.env = dict(os.environ) if env is None else env
        self.url = f"http://127.0.0.1:{port}"
        self.log = serve_dir(open_project(self.root / "params.yaml")).parent / "serve-process.log"
        self.proc: subprocess.Popen | None = None

    @property
    def auth(self) -> tuple[str, str]:
        return "dataprep", secret(open_project(self.root / "params.yaml"))

    def start(self, wait_s: float = 60) -> "ServeProcess":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen([sys.executable, "-m", "dataprep", "serve", "--port", str(self.port),
                                          "--workers", str(self.workers)], cwd=self.root, env=self.env,
                                         stdout=fh, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if requests.get(self.url + "/health", auth=self.auth, timeout=1).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise UserError(f"dataprep serve did not answer {self.url}/health: {self.log.read_text()[-2000:]}")

    def stop(self, kill: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:      # the process this object started
            self.proc.kill() if kill else self.proc.terminate()
            self.proc.wait(30)

    def version(self) -> str:
        return requests.get(self.url + "/health", auth=self.auth, timeout=5).json()["model_version"]

    def trainer(self) -> dict:
        path = serve_dir(open_project(self.root / "params.yaml")) / "trainer.json"
        return json.loads(path.read_text()) if path.exists() else {}
