"""`/api/v1/stores`, through FastAPI's test client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from relayflow.datastores.store import DataStores
from relayflow.server.api import stores
from relayflow.server.api.deps import data_stores_of

from .conftest import Stores


class Client:
    """Requests straight into the ASGI app, one event loop per request."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(send())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


@pytest.fixture
def client(ds: Stores) -> Iterator[Client]:
    app = FastAPI()
    app.include_router(stores.router)
    app.dependency_overrides[data_stores_of] = lambda: DataStores(ds.db, ds.writer)
    yield Client(app)


def test_set_get_list_and_delete_keys(client: Client) -> None:
    put = client.put("/api/v1/stores/users/keys/user:1", json={"value": {"name": "Ada"}})
    assert put.status_code == 200, put.text
    assert put.json()["value"] == {"name": "Ada"} and put.json()["expires_at"] is None
    client.put("/api/v1/stores/users/keys/team/a", json={"value": 1, "ttl": 60})
    got = client.get("/api/v1/stores/users/keys/team/a").json()
    assert got["key"] == "team/a" and got["value"] == 1 and got["expires_at"] is not None
    keys = client.get("/api/v1/stores/users/keys").json()
    assert [k["key"] for k in keys] == ["team/a", "user:1"] and "value" not in keys[0]
    with_values = client.get("/api/v1/stores/users/keys", params={"prefix": "user", "values": True})
    assert with_values.json()[0]["value"] == {"name": "Ada"}
    assert client.get("/api/v1/stores").json()[0] | {"updated_at": 0} == {
        "name": "users",
        "keys": 2,
        "updated_at": 0,
    }
    assert client.delete("/api/v1/stores/users/keys/user:1").json() == {
        "key": "user:1",
        "deleted": True,
    }
    missing = client.get("/api/v1/stores/users/keys/user:1")
    assert missing.status_code == 404 and "has no key 'user:1'" in missing.json()["detail"]
    assert client.delete("/api/v1/stores/users").json() == {"store": "users", "deleted": 1}


def test_atomic_operations(client: Client) -> None:
    base = "/api/v1/stores/counters/keys"
    assert client.post(f"{base}/hits/incr").json() == {"key": "hits", "value": 1}
    assert client.post(f"{base}/hits/incr", json={"amount": 5}).json()["value"] == 6
    first = client.post(f"{base}/lock/set-if-absent", json={"value": "me"}).json()
    second = client.post(f"{base}/lock/set-if-absent", json={"value": "you"}).json()
    assert (first["set"], second["set"]) == (True, False)
    cas = client.post(f"{base}/lock/compare-and-set", json={"expected": "me", "value": "done"})
    assert cas.json() == {"key": "lock", "set": True}
    stale = client.post(f"{base}/lock/compare-and-set", json={"expected": "me", "value": "x"})
    assert stale.json()["set"] is False
    assert client.post(f"{base}/lock/ttl", json={"ttl": 30}).json() == {"key": "lock", "ttl": 30}
    assert client.post(f"{base}/nope/ttl", json={"ttl": 30}).status_code == 404
    # A key may itself end in an operation's name.
    client.put(f"{base}/a/incr", json={"value": "literal"})
    assert client.get(f"{base}/a/incr").json()["value"] == "literal"


def test_refusals_are_client_errors_with_the_reason(client: Client) -> None:
    base = "/api/v1/stores/s/keys"
    client.put(f"{base}/name", json={"value": "Ada"})
    conflict = client.post(f"{base}/name/incr")
    assert conflict.status_code == 409
    assert "holds a string" in conflict.json()["detail"]
    bad = client.put("/api/v1/stores/bad%20name/keys/k", json={"value": 1})
    assert bad.status_code == 400 and "not a data store name" in bad.json()["detail"]
    ttl = client.put(f"{base}/k", json={"value": 1, "ttl": -5})
    assert ttl.status_code == 400 and "ttl" in ttl.json()["detail"]
