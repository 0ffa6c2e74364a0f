"""Signing in and out, and the one-time setup link that creates the first user."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from relayflow.server.ui.web import UI, safe_next
from relayflow.users.sessions import COOKIE, Session
from relayflow.users.store import ADMIN, ADMIN_PASSWORD_ENV, SetupLinkUsed, UserError


def add_routes(router: APIRouter, ui: UI) -> None:
    def no_users_hint() -> str | None:
        # `relayflow up` normally does this at start; a server started some other way
        # (or before the CLI called it) still honours RELAYFLOW_ADMIN_PASSWORD.
        if ui.users.count():
            return None
        try:
            if ui.users.ensure_admin_from_env() is not None:
                return None
        except UserError as exc:
            return str(exc)
        return (
            "Nobody can sign in yet. Open the one-time setup link that `relayflow up` printed,"
            f" run `relayflow users add NAME`, or start with {ADMIN_PASSWORD_ENV} set."
        )

    @router.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        """Signed in: the workflows. Signed out: the sign-in form, right here."""
        return login_page(request, "/workflows")

    @router.get("/login", include_in_schema=False)
    def login_page(request: Request, next: str = "") -> Response:
        request.state.t0 = time.perf_counter()
        if ui.sessions.from_request(request) is not None:
            return RedirectResponse(safe_next(next), 303)
        return ui.render(
            request, "login.html", None, next=safe_next(next), hint=no_users_hint(), error=None
        )

    @router.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        request.state.t0 = time.perf_counter()
        form = await request.form()
        name = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        target = safe_next(str(form.get("next") or ""))
        hint = await run_in_threadpool(no_users_hint)
        address = request.client.host if request.client else None
        refusal = ui.sign_in_limit.refusal(name, address)
        if refusal is not None:
            page = ui.render(
                request,
                "login.html",
                None,
                status_code=429,
                next=target,
                hint=hint,
                error=refusal.message,
                username=name,
            )
            page.headers["retry-after"] = str(refusal.seconds)
            return page
        user = await run_in_threadpool(ui.users.verify, name, password)
        if user is None:
            ui.sign_in_limit.failed(name, address)
            return ui.render(
                request,
                "login.html",
                None,
                status_code=401,
                next=target,
                hint=hint,
                error="That user name and password do not match.",
                username=name,
            )
        ui.sign_in_limit.succeeded(name, address)
        token, _session = await run_in_threadpool(ui.sessions.create, user.name)
        response = RedirectResponse(target, 303)
        ui.set_session_cookie(request, response, token)
        return response

    @router.post("/logout", include_in_schema=False)
    async def logout(request: Request, session: Session = Depends(ui.signed_in)) -> Response:
        form = await request.form()
        ui.check_form(session, form, change=False)
        ui.sessions.end(request.cookies.get(COOKIE))
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @router.get("/setup", include_in_schema=False)
    def setup_page(request: Request, token: str = "") -> Response:
        request.state.t0 = time.perf_counter()
        valid = ui.users.setup_token_valid(token)
        return ui.render(
            request,
            "setup.html",
            None,
            status_code=200 if valid else 410,
            token=token,
            valid=valid,
            done=ui.users.count() > 0,
            error=None,
            username=ADMIN,
        )

    @router.post("/setup", include_in_schema=False)
    async def setup(request: Request) -> Response:
        request.state.t0 = time.perf_counter()
        form = await request.form()
        token = str(form.get("token") or "")
        name = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        error, status = None, 400
        if password != str(form.get("confirm") or ""):
            error = "The two passwords differ."
        else:
            try:
                user = await run_in_threadpool(ui.users.complete_setup, token, name, password)
            except SetupLinkUsed as exc:  # expired, used, or another request won the race
                error, status = str(exc), 410
            except UserError as exc:
                error = str(exc)
        if error is not None:
            return ui.render(
                request,
                "setup.html",
                None,
                status_code=status,
                token=token,
                valid=ui.users.setup_token_valid(token),
                done=ui.users.count() > 0,
                error=error,
                username=name,
            )
        session_token, _session = await run_in_threadpool(ui.sessions.create, user.name)
        response = RedirectResponse("/workflows", 303)
        ui.set_session_cookie(request, response, session_token)
        return response
