"""Errors the CLI turns into one line and an exit code, never a traceback."""


class UserError(Exception):
    """Bad usage or input (exit 2). The message names the file, row or key."""

    exit_code = 2


class GateFailed(Exception):
    """The data failed a quality gate (exit 1), so `dvc repro` stops here."""

    exit_code = 1
