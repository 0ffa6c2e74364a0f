"""`/api/v1/tokens`: API tokens per user, each with a role; shown once, revocable.

Anyone signed in manages their own tokens; owners (and the installation's own token)
manage everyone's.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from relayflow.runtime import Runtime
from relayflow.server.api.deps import runtime_of
from relayflow.store.users import TokenRow
from relayflow.users import UserError
from relayflow.users.tokens import Tokens

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


class NewToken(BaseModel):
    user: str | None = Field(None, description="Whose token (default: the caller)")
    role: str | None = Field(None, description="owner, editor or viewer (default: the user's)")
    label: str = Field("", description="What it is for, e.g. grafana")


def _caller(request: Request) -> tuple[str | None, bool]:
    """(user name or None for the installation's token, whether they are an owner)."""
    return getattr(request.state, "user", None), request.state.role == "owner"


def _public(row: TokenRow) -> dict[str, Any]:
    return asdict(row)  # id, user, role, label, created_at, revoked_at; never the secret


def _tokens(runtime: Runtime = Depends(runtime_of)) -> Tokens:
    return Tokens(runtime.db)


@router.get("", summary="Tokens (owners see everyone's)")
def list_tokens(request: Request, tokens: Tokens = Depends(_tokens)) -> list[dict[str, Any]]:
    user, owner = _caller(request)
    return [_public(t) for t in tokens.list(None if owner else user)]


@router.post("", status_code=201, summary="Create a token; its secret is shown only here")
def create(
    body: NewToken, request: Request, tokens: Tokens = Depends(_tokens)
) -> dict[str, Any]:
    user, owner = _caller(request)
    whose = body.user or user
    if whose is None:
        raise HTTPException(422, "the installation's token belongs to nobody: name a `user`")
    if whose != user and not owner:
        raise HTTPException(403, "only an owner creates tokens for other users")
    try:
        secret, row = tokens.create(whose, body.role, body.label)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    return {**_public(row), "token": secret}


@router.delete("/{token_id}", summary="Revoke a token (it stops working at once)")
def revoke(token_id: str, request: Request, tokens: Tokens = Depends(_tokens)) -> dict[str, Any]:
    user, owner = _caller(request)
    try:
        found = tokens.get(token_id)
        if found.user != user and not owner:
            raise HTTPException(403, "only an owner revokes other users' tokens")
        return _public(tokens.revoke(token_id))
    except UserError as exc:
        raise HTTPException(404, str(exc)) from None
