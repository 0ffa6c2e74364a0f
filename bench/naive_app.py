"""The comparison in bench/e2e.py: what one might write by hand with FastAPI and SQLite.

POST /hooks/signup commits the event (its own transaction, WAL, synchronous=FULL) and
answers 200; a background task then delivers it, as the relayflow workflow would, with
httpx: (a) a POST to the sink (`NAIVE_SINK_URL`), or (b) one CleverTap upload of the
profile and one of the event per sign-up (`NAIVE_CLEVERTAP_URL`, `NAIVE_ACCOUNT`,
`NAIVE_PASSCODE`), and marks it delivered. The benchmark's code, not the product's.

    NAIVE_DB=... NAIVE_SINK_URL=... uvicorn naive_app:app --port PORT
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time

import httpx
import orjson
from fastapi import BackgroundTasks, FastAPI, Request

DB = os.environ.get("NAIVE_DB", "naive.db")
SINK = os.environ.get("NAIVE_SINK_URL")
CLEVERTAP = os.environ.get("NAIVE_CLEVERTAP_URL")
HEADERS = {
    "X-CleverTap-Account-Id": os.environ.get("NAIVE_ACCOUNT", ""),
    "X-CleverTap-Passcode": os.environ.get("NAIVE_PASSCODE", ""),
}

app = FastAPI()
lock = threading.Lock()
conn = sqlite3.connect(DB, check_same_thread=False, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=FULL")
conn.execute(
    "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, body TEXT, received_at REAL,"
    " delivered_at REAL)"
)
client = httpx.AsyncClient(timeout=30)


def _commit(sql: str, params: tuple) -> int:
    with lock:
        cur = conn.execute(sql, params)
        return cur.lastrowid or 0


@app.post("/hooks/signup")
async def signup(request: Request, background: BackgroundTasks) -> dict:
    body = await request.body()
    event_id = _commit("INSERT INTO events (body, received_at) VALUES (?, ?)", (body, time.time()))
    background.add_task(deliver, event_id, orjson.loads(body))
    return {"ok": True, "event_id": event_id}


async def deliver(event_id: int, body: dict) -> None:
    if SINK:
        await client.post(SINK, json={"user": body.get("user_id"), "plan": body.get("plan")})
    elif CLEVERTAP:
        profile = {"identity": body["user_id"], "type": "profile", "profileData": {
            "Name": body.get("name"), "Email": body.get("email"), "Phone": body.get("phone")}}
        event = {"identity": body["user_id"], "type": "event", "evtName": "Signed Up",
                 "evtData": {"Source": body.get("utm_source")}}
        for record in (profile, event):
            await client.post(f"{CLEVERTAP}/1/upload", json={"d": [record]}, headers=HEADERS)
    _commit("UPDATE events SET delivered_at = ? WHERE id = ?", (time.time(), event_id))
