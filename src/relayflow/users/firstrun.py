"""What `relayflow up` says about signing in when nobody can sign in yet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from relayflow.users.store import ADMIN, ADMIN_PASSWORD_ENV, UserStore

if TYPE_CHECKING:
    from relayflow.runtime import Runtime


def first_run_message(runtime: Runtime) -> str | None:
    """None when users exist; else create `admin` from RELAYFLOW_ADMIN_PASSWORD, or issue
    a one-time setup link, and return the line to print.

    Call it after `runtime.config.public_url` is final (the link is built from it). It
    applies migrations first, so it works before the runtime has started.
    """
    runtime.db.upgrade()
    users = UserStore(runtime.db)
    if users.count():
        return None
    if users.ensure_admin_from_env() is not None:
        return f"  sign in   user {ADMIN!r}, with the password in {ADMIN_PASSWORD_ENV}"
    token = users.issue_setup_token()
    url = f"{runtime.config.public_url.rstrip('/')}/setup?token={token}"
    return f"  set up    {url}  (one-time link, valid 24 h: choose the admin's password)"
