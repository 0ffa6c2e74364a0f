"""What an installation shows to anyone who can reach its port: /metrics only with
RELAYFLOW_METRICS_TOKEN when that is set, and no API docs with RELAYFLOW_API_DOCS=0."""

from __future__ import annotations

import httpx

DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


def test_metrics_wants_the_bearer_token_when_one_is_set(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.env["RELAYFLOW_METRICS_TOKEN"] = "scrape-me-7f3a"
    rf.start()
    bare = httpx.get(f"{rf.url}/metrics")
    assert bare.status_code == 401
    assert bare.headers["www-authenticate"] == "Bearer"
    assert "RELAYFLOW_METRICS_TOKEN" in bare.json()["detail"]
    wrong = httpx.get(f"{rf.url}/metrics", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    api_token = httpx.get(
        f"{rf.url}/metrics", headers={"authorization": f"Bearer {rf.api_token()}"}
    )
    assert api_token.status_code == 401, "the API token is not the metrics token"
    right = httpx.get(f"{rf.url}/metrics", headers={"authorization": "Bearer scrape-me-7f3a"})
    assert right.status_code == 200
    assert "relayflow_queue_depth" in right.text
    assert "(bearer token required)" in rf.output()


def test_metrics_and_docs_are_open_by_default(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.start()
    assert "relayflow_queue_depth" in httpx.get(f"{rf.url}/metrics").text
    for path in DOCS_PATHS:
        assert httpx.get(f"{rf.url}{path}").status_code == 200, path
    assert "/api/v1/workflows" in httpx.get(f"{rf.url}/openapi.json").json()["paths"]


def test_api_docs_off_hides_docs_redoc_and_the_schema(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.env["RELAYFLOW_API_DOCS"] = "0"
    rf.start()
    for path in DOCS_PATHS:
        answer = httpx.get(f"{rf.url}{path}", follow_redirects=False)
        assert answer.status_code == 404, (path, answer.status_code)
    with rf.api() as api:
        assert api.get("/workflows").status_code == 200
    assert "docs off" in rf.output()
