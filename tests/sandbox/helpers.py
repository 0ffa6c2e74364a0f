"""Small helpers shared by the sandbox tests."""

from __future__ import annotations

from typing import Any

import httpx


def upload(client: httpx.Client, *records: dict[str, Any], params: dict | None = None) -> dict:
    """POST the records to /1/upload, check for HTTP 200 and return the body."""
    response = client.post("/1/upload", json={"d": list(records)}, params=params)
    assert response.status_code == 200, response.text
    return response.json()
