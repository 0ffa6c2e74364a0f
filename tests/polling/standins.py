"""Local stand-ins for what polling sources read over HTTP, on 127.0.0.1: a JSON API with
cursor and next-link pages, RSS and Atom feeds, and Google's token endpoint with the Sheets
API v4 `values.get`, as Google documents them (checked against Google's own client
libraries in test_google_sheets.py)."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TOKEN = "api-token-123"
RANGE = re.compile(r"^(?P<sheet>[^!]+)(?:!A(?P<start>\d+):[A-Z]+)?$")


def service_account(token_uri: str) -> tuple[dict[str, Any], Any]:
    """A service account key file's JSON (a fresh RSA key) and its public key."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    key = {
        "type": "service_account",
        "project_id": "relayflow-test",
        "private_key_id": "key-1",
        "private_key": pem,
        "client_email": "poller@relayflow-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    return key, private.public_key()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StandIn:
    """Serves what the tests set: `items` (newest first), `feed` (XML), `sheets`."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.feed = ""
        self.sheets: dict[str, dict[str, list[list[str]]]] = {}
        self.fail = 0  # answer 503 to the next N requests
        self.public_keys: dict[str, Any] = {}  # client_email -> public key
        self.tokens: set[str] = {TOKEN}
        self.token_requests: list[dict[str, Any]] = []
        self.page_size = 2
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                standin.get(self)

            def do_POST(self) -> None:  # noqa: N802
                standin.post(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    # Requests ------------------------------------------------------------------------

    def get(self, req: BaseHTTPRequestHandler) -> None:
        parsed = urlparse(req.path)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        if self.fail > 0:
            self.fail -= 1
            return self.answer(req, 503, {"error": "temporarily unavailable"})
        if parsed.path in ("/feed.xml", "/atom.xml"):
            return self.answer(req, 200, self.feed, "application/xml")
        if not self.signed_in(req):
            return self.answer(req, 401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})
        if parsed.path == "/api/items":  # cursor pages: {"data": [...], "next_cursor": ...}
            start = int(query.get("cursor", 0))
            page = self.items[start : start + self.page_size]
            more = start + self.page_size < len(self.items)
            body = {"data": page, "next_cursor": str(start + self.page_size) if more else None}
            return self.answer(req, 200, body)
        if parsed.path == "/api/linked":  # next links: {"results": [...], "links": {"next"}}
            start = int(query.get("from", 0))
            page = self.items[start : start + self.page_size]
            more = start + self.page_size < len(self.items)
            nxt = f"{self.url}/api/linked?from={start + self.page_size}" if more else None
            return self.answer(req, 200, {"results": page, "links": {"next": nxt}})
        found = re.match(r"^/v4/spreadsheets/([^/]+)/values/(.+)$", parsed.path)
        if found:
            return self.values(req, unquote(found.group(1)), unquote(found.group(2)))
        self.answer(req, 404, {"error": "not found"})

    def values(self, req: BaseHTTPRequestHandler, spreadsheet: str, a1: str) -> None:
        """spreadsheets.values.get: the rows of the range, trailing empties left out."""
        book = self.sheets.get(spreadsheet)
        match = RANGE.match(a1)
        if book is None or match is None or match["sheet"] not in book:
            status = {"code": 404 if book is None else 400, "message": f"bad range {a1}"}
            return self.answer(req, status["code"], {"error": status})
        rows = book[match["sheet"]]
        start = int(match["start"] or 1)
        body: dict[str, Any] = {"range": a1, "majorDimension": "ROWS"}
        if rows[start - 1 :]:
            body["values"] = rows[start - 1 :]
        self.answer(req, 200, body)

    def post(self, req: BaseHTTPRequestHandler) -> None:
        """Google's OAuth 2.0 token endpoint for a service account's signed JWT."""
        length = int(req.headers.get("content-length") or 0)
        form = {k: v[0] for k, v in parse_qs(req.rfile.read(length).decode()).items()}
        self.token_requests.append(form)
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self.answer(req, 400, {"error": "unsupported_grant_type"})
        try:
            head, claims, signature = form["assertion"].split(".")
            payload = json.loads(_unb64(claims))
            key = self.public_keys[payload["iss"]]
            key.verify(
                _unb64(signature), f"{head}.{claims}".encode(), padding.PKCS1v15(),
                hashes.SHA256(),
            )  # fmt: skip
            assert payload["aud"] == "https://oauth2.googleapis.com/token"
            assert payload["exp"] > time.time()
            assert "spreadsheets" in payload["scope"]
        except Exception as exc:  # noqa: BLE001 - any flaw: Google's invalid_grant
            return self.answer(req, 400, {"error": "invalid_grant", "detail": repr(exc)})
        token = f"ya29.test-{len(self.tokens)}"
        self.tokens.add(token)
        self.answer(req, 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def signed_in(self, req: BaseHTTPRequestHandler) -> bool:
        given = req.headers.get("authorization") or ""
        return given.removeprefix("Bearer ") in self.tokens

    def answer(
        self, req: BaseHTTPRequestHandler, status: int, body: Any, kind: str = "application/json"
    ) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        req.send_response(status)
        req.send_header("content-type", kind)
        req.send_header("content-length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)


def rss(items: list[tuple[str, str, str]]) -> str:
    """An RSS 2.0 feed of (guid, title, RFC 822 date) items, newest first."""
    entries = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>https://example.com/{guid}</link>"
        f"<pubDate>{date}</pubDate><description>About {title}</description></item>"
        for guid, title, date in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Example blog</title>'
        f"<link>https://example.com/</link>{entries}</channel></rss>"
    )


def atom(items: list[tuple[str, str, str]]) -> str:
    """An Atom feed of (id, title, RFC 3339 date) entries."""
    entries = "".join(
        f"<entry><id>{eid}</id><title>{title}</title><updated>{date}</updated>"
        f'<link href="https://example.com/{eid}"/></entry>'
        for eid, title, date in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Example atom</title><id>urn:example</id>{entries}</feed>"
    )
