"""Errors the CLI turns into one line and an exit code, never a traceback."""


class UserError(Exception):
    """Bad usage or input (exit 2). The message names the file, row or key."""

    exit_code = 2


class GateFailed(Exception):
    """The data failed a quality gate (exit 1), so `dvc repro` stops here."""

    exit_code = 1


def printable(text: str) -> str:
    """`text` safe for any terminal and any file: undecodable file-name bytes (surrogates)
    shown as escapes instead of failing to encode."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")   # the bytes: caf\xe9
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
