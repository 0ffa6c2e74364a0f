"""What every UI page shares: templates, the signed-in session, CSRF, static files, headers."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from relayflow.runtime import Runtime
from relayflow.users.sessions import COOKIE, Session, Sessions
from relayflow.users.signin_limit import SignInLimit
from relayflow.users.store import UserStore

HERE = Path(__file__).parent
STATIC = HERE / "static"

# Pages load scripts and styles only from here and talk only to this server; page data
# travels in <script type="application/json">, which is not executed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self';"
    " img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none';"
    " form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    media_type: str
    version: str


def _load_static() -> dict[str, StaticFile]:
    files = {}
    for path in sorted(STATIC.iterdir()):
        if path.is_file():
            body = path.read_bytes()
            media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if media.startswith("text/") or media.endswith("javascript"):
                media += "; charset=utf-8"
            files[path.name] = StaticFile(body, media, hashlib.sha256(body).hexdigest()[:10])
    return files


def when(ts: float | None) -> str:
    """An epoch as ISO 8601 UTC (the browser shows it in local time)."""
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def time_tag(ts: float | None) -> Markup:
    if not ts:
        return Markup("<span class=muted>–</span>")
    iso = when(ts)
    text = iso.replace("T", " ").replace("Z", " UTC")
    return Markup('<time datetime="{0}" data-local>{1}</time>').format(iso, text)


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def page_data(value: Any) -> Markup:
    """JSON for <script type=application/json>: `<` escaped so no `</script>` can end it."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return Markup(text.replace("<", "\\u003c").replace("\u2028", "\\u2028"))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


class UI:
    """The runtime plus what pages need to render and to know who is signed in."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.sessions = Sessions(runtime.db)
        self.users = UserStore(runtime.db)
        config = runtime.config
        self.sign_in_limit = SignInLimit(
            config.signin_attempts, config.signin_address_attempts, config.signin_window
        )
        self.static = _load_static()
        self.env = Environment(
            loader=FileSystemLoader(str(HERE / "templates")),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["static"] = self.static_url
        self.env.filters["when"] = when
        self.env.filters["time"] = time_tag
        self.env.filters["pretty"] = pretty
        self.env.filters["data"] = page_data
        self.env.filters["duration"] = duration

    def static_url(self, name: str) -> str:
        return f"/ui/static/{name}?v={self.static[name].version}"

    # Sessions --------------------------------------------------------------------------

    def signed_in(self, request: Request) -> Session:
        """A dependency for pages: the session, or a redirect to the sign-in page."""
        request.state.t0 = time.perf_counter()
        session = self.sessions.from_request(request)
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise HTTPException(303, "sign in first", headers={"Location": _login_url(target)})
        request.state.user = session.user  # who the audit log names
        return session

    def signed_in_json(self, request: Request) -> Session:
        """A dependency for the UI's own JSON helpers: a session with its CSRF header."""
        from relayflow.users.sessions import CSRF_HEADER, SAFE_METHODS

        request.state.t0 = time.perf_counter()
        session = self.sessions.from_request(request)
        if session is None:
            raise HTTPException(401, "sign in first")
        if request.method not in SAFE_METHODS and not session.csrf_ok(
            request.headers.get(CSRF_HEADER)
        ):
            raise HTTPException(403, "send the session's CSRF token as X-Relayflow-CSRF")
        request.state.user = session.user
        if request.method not in SAFE_METHODS:
            self.check_editor(session)
        return session

    def check_form(self, session: Session, form: Any, *, change: bool = True) -> None:
        """Forms carry the session's CSRF token as `csrf`; those that `change` something
        need an editor (or owner)."""
        if not session.csrf_ok(str(form.get("csrf") or "")):
            raise HTTPException(403, "this form is stale (its CSRF token does not match); reload")
        if change:
            self.check_editor(session)

    def check_editor(self, session: Session) -> None:
        from relayflow.users.roles import at_least

        role = self.users.role(session.user) or "viewer"
        if not at_least(role, "editor"):
            raise HTTPException(403, f"{session.user} is a {role}: changes need an editor")

    # Rendering -------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        session: Session | None,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        html = self.env.get_template(template).render(
            session=session,
            csrf=session.csrf if session else "",
            path=request.url.path,
            **context,
        )
        response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
        started = getattr(request.state, "t0", None)
        if started is not None:
            elapsed = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}"
        return response

    def static_response(self, request: Request, name: str) -> Response:
        found = self.static.get(name)
        if found is None:
            raise HTTPException(404, f"no static file {name!r}")
        etag = f'"{found.version}"'
        cache = (
            "public, max-age=31536000, immutable"
            if request.query_params.get("v") == found.version
            else "no-cache"
        )
        headers = {"ETag": etag, "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type=found.media_type, headers=headers)

    def set_session_cookie(self, request: Request, response: Response, token: str) -> None:
        from relayflow.users.sessions import LIFETIME

        response.set_cookie(
            COOKIE,
            token,
            max_age=LIFETIME,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )


def _login_url(target: str) -> str:
    return f"/login?next={quote(target, safe='')}"


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after signing in (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/workflows"
    return target
