"""The studio tests again, on a Label Studio whose database is a real PostgreSQL server: the
local cluster `dataprep studio start --db postgresql` runs (Debian's postgresql package,
loopback only, password auth). Push, pull, idempotence after a crash, history, quarantine,
boxes, re-annotation to a new annotator, per-task overlap and the auto-label review project
must hold there as on SQLite; the rows must really be in PostgreSQL. The server is the one
`dataprep studio start --db postgresql` starts, and `studio stop` must stop both (the fixture)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from labeling import studio_postgres
# collected here again, in test_studio's order, against the PostgreSQL server below
from test_studio import studio_server  # noqa: F401,E402
from test_studio import test_round_trip_push_annotate_pull  # noqa: F401,E402
from test_studio import test_push_is_idempotent_even_after_a_crash  # noqa: F401,E402
from test_studio import test_incremental_pull_and_history  # noqa: F401,E402
from test_studio import test_an_annotation_stamped_behind_the_cursor_is_still_pulled  # noqa: F401,E402
from test_studio import test_unknown_label_is_quarantined  # noqa: F401,E402
from test_studio import test_bad_token_and_server_down_exit_2_and_change_nothing  # noqa: F401,E402
from test_studio import test_personal_access_token_is_accepted_and_never_written  # noqa: F401,E402
from test_studio import test_detection_boxes_round_trip_in_pixels  # noqa: F401,E402
from test_studio import test_reannotation_request_reaches_only_a_new_annotator  # noqa: F401,E402
from test_studio import test_cold_start_tasks_reach_three_annotators_later_tasks_one  # noqa: F401,E402
from test_studio import test_auto_labels_are_shown_for_review_and_withdrawn_when_revoked  # noqa: F401,E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from studio_server(tmp_path_factory, "postgresql")


def _psql(server, sql: str) -> str:
    state = yaml.safe_load((server["root"] / "postgres.json").read_text())["settings"]
    pw = (server["root"] / "postgres_password").read_text().strip()
    res = subprocess.run([studio_postgres._bin("psql"), "-h", state["POSTGRE_HOST"], "-p", state["POSTGRE_PORT"],
                          "-U", state["POSTGRE_USER"], "-d", state["POSTGRE_NAME"], "-tAc", sql],
                         capture_output=True, text=True, env={**os.environ, "PGPASSWORD": pw})
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_the_rows_are_in_postgresql(server):
    """Runs after the round trips above: their tasks and annotations are rows of PostgreSQL,
    and Label Studio made no SQLite file."""
    assert int(_psql(server, "SELECT count(*) FROM task")) > 0
    assert int(_psql(server, "SELECT count(*) FROM task_completion")) > 0
    assert not list(server["root"].rglob("*.sqlite3"))
    # the password is kept 0600 and never in the state file
    assert oct((server["root"] / "postgres_password").stat().st_mode)[-3:] == "600"
    assert "PASSWORD" not in (server["root"] / "postgres.json").read_text()


def test_studio_start_with_an_unknown_database_is_one_line(tmp_path):
    """`studio start --db mysql`: exit 2 naming the option. (`--db postgresql` itself, and
    `studio stop` stopping both servers, are what the `server` fixture above runs and checks.)"""
    from dataprep.core.config import default_params_yaml

    (tmp_path / "params.yaml").write_text(default_params_yaml())
    bad = subprocess.run([sys.executable, "-m", "dataprep", "studio", "start", "--db", "mysql"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--db mysql" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
