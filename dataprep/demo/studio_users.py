"""Annotator accounts on a Label Studio server, for simulated annotators that answer
through the real API as themselves (tests, benchmarks, `dataprep demo --studio`).

Label Studio's API ignores the password of users it creates, and a legacy token
can only be read by its own user, so an annotator joins the way a person
would: the organisation's invite link, then sign-up (or log-in) and reading
their own token.
"""

from __future__ import annotations

import requests

from dataprep.core.errors import UserError


def _session_token(session: requests.Session, url: str) -> str:
    r = session.get(f"{url}/api/current-user/token", timeout=30)
    if r.status_code != 200:
        raise UserError(f"Label Studio at {url}: could not read the annotator's token (HTTP {r.status_code})")
    return r.json()["token"]


def annotator_token(url: str, admin_token: str, email: str, password: str) -> str:
    """Log in as `email` (signing up through the invite link the first time); return their token."""
    s = requests.Session()
    s.get(f"{url}/user/login/", timeout=30)
    r = s.post(f"{url}/user/login/", data={"email": email, "password": password,
               "csrfmiddlewaretoken": s.cookies.get("csrftoken", "")}, headers={"Referer": f"{url}/user/login/"},
               timeout=30)
    if s.get(f"{url}/api/current-user/whoami", timeout=30).status_code == 200:
        return _session_token(s, url)
    inv = requests.get(f"{url}/api/invite", headers={"Authorization": f"Token {admin_token}"}, timeout=30)
    if inv.status_code != 200:
        raise UserError(f"Label Studio at {url}: no invite link (HTTP {inv.status_code}); is the token an admin's?")
    link = f"{url}{inv.json()['invite_url']}"
    s = requests.Session()
    s.get(link, timeout=30)
    r = s.post(link, data={"email": email, "password": password, "csrfmiddlewaretoken": s.cookies.get("csrftoken", ""),
                           "how_find_us": "", "allow_newsletters": "false"}, headers={"Referer": link}, timeout=30)
    if s.get(f"{url}/api/current-user/whoami", timeout=30).status_code != 200:
        raise UserError(f"Label Studio at {url}: sign-up of {email} failed (HTTP {r.status_code})")
    return _session_token(s, url)
