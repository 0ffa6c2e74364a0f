"""Data store pages: the stores, one store's keys and values, editing and deleting keys.

Plain forms (no JavaScript needed) over `relayflow.datastores.DataStores`, the same
operations `/api/v1/stores` offers.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from relayflow.server.ui.web import UI
from relayflow.users.sessions import Session

SHOWN = 500


def _stores(ui: UI):
    from relayflow.datastores import DataStores

    return DataStores(ui.db, ui.runtime.writer)


def _back(store: str, **params: str) -> str:
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items() if v)
    return f"/stores/{quote(store, safe='')}" + (f"?{query}" if query else "")


def add_routes(router: APIRouter, ui: UI) -> None:
    @router.get("/stores", include_in_schema=False)
    async def stores_page(
        request: Request, open: str = "", session: Session = Depends(ui.signed_in)
    ) -> Response:
        if open.strip():
            return RedirectResponse(_back(open.strip()), 303)
        found = await _stores(ui).stores()
        return ui.render(request, "stores.html", session, stores=found)

    @router.get("/stores/{store}", include_in_schema=False)
    async def store_page(
        store: str,
        request: Request,
        prefix: str = "",
        message: str = "",
        error: str = "",
        session: Session = Depends(ui.signed_in),
    ) -> Response:
        from relayflow.datastores import DataStoreError

        try:
            entries = await _stores(ui).entries(store, prefix)
        except DataStoreError as exc:
            entries, error = [], exc.message
        return ui.render(
            request,
            "store.html",
            session,
            store=store,
            prefix=prefix,
            entries=entries[:SHOWN],
            total=len(entries),
            shown=SHOWN,
            message=message,
            error=error,
            to_json=lambda v: json.dumps(v, indent=2, ensure_ascii=False),
        )

    @router.post("/stores/{store}/set", include_in_schema=False)
    async def set_key(store: str, request: Request, session: Session = Depends(ui.signed_in)):
        from relayflow.datastores import DataStoreError

        form = await request.form()
        ui.check_form(session, form)
        key = str(form.get("key") or "")
        raw = str(form.get("value") or "")
        ttl_text = str(form.get("ttl") or "").strip()
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            message = f"the value of {key!r} is not JSON ({exc.msg}); strings need quotes"
            return RedirectResponse(_back(store, error=message), 303)
        try:
            ttl = float(ttl_text) if ttl_text else None
            await _stores(ui).set(store, key, value, ttl=ttl)
        except ValueError:
            return RedirectResponse(_back(store, error=f"TTL {ttl_text!r} is not seconds"), 303)
        except DataStoreError as exc:
            return RedirectResponse(_back(store, error=exc.message), 303)
        return RedirectResponse(_back(store, message=f"Saved {key}"), 303)

    @router.post("/stores/{store}/delete", include_in_schema=False)
    async def delete_key(
        store: str, request: Request, session: Session = Depends(ui.signed_in)
    ) -> Response:
        from relayflow.datastores import DataStoreError

        form = await request.form()
        ui.check_form(session, form)
        key = str(form.get("key") or "")
        try:
            deleted = await _stores(ui).delete(store, key)
        except DataStoreError as exc:
            return RedirectResponse(_back(store, error=exc.message), 303)
        note = f"Deleted {key}" if deleted else f"{key} was already gone"
        return RedirectResponse(_back(store, message=note), 303)
