"""Sessions end: once a session's time is up, its cookie opens no page and no API call."""

from __future__ import annotations

import sqlite3

import httpx


def test_an_expired_session_is_sent_to_sign_in_again(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.env["RELAYFLOW_ADMIN_PASSWORD"] = "correct-horse-battery"
    rf.start()
    with httpx.Client(base_url=rf.url, follow_redirects=False) as web:
        signed = web.post("/login", data={"username": "admin", "password": "correct-horse-battery"})
        assert signed.status_code == 303
        assert web.get("/workflows").status_code == 200
        assert web.get("/api/v1/workflows").status_code == 200
        with sqlite3.connect(rf.home / "relayflow.db") as db:  # the session's time is up
            assert db.execute("UPDATE sessions SET expires_at = 1").rowcount == 1
        page = web.get("/workflows")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert web.get("/api/v1/workflows").status_code == 401
