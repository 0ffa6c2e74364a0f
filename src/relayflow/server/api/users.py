"""`/api/v1/users`: who may sign in to the web UI (passwords go in, never come out)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from relayflow.server.api.deps import users_of
from relayflow.users.store import User, UserError, UserStore

router = APIRouter(prefix="/api/v1/users", tags=["users"])


class NewUser(BaseModel):
    name: str = Field(description="User name, e.g. ann or ann@example.com")
    password: str = Field(description="At least 10 characters")
    role: str = Field("owner", description="owner, editor or viewer")


class NewRole(BaseModel):
    role: str = Field(description="owner, editor or viewer")


class NewPassword(BaseModel):
    password: str = Field(description="At least 10 characters; the user's sessions end")


def _public(user: User, users: UserStore) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": users.role(user.name),
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


def _existing(users: UserStore, name: str) -> User:
    user = users.get(name)
    if user is None:
        raise HTTPException(404, f"there is no user {name!r}")
    return user


@router.get("", summary="Users who may sign in")
def list_users(users: UserStore = Depends(users_of)) -> list[dict[str, Any]]:
    return [_public(u, users) for u in users.list()]


@router.post("", status_code=201, summary="Add a user")
def add_user(body: NewUser, users: UserStore = Depends(users_of)) -> dict[str, Any]:
    if users.get(body.name) is not None:
        raise HTTPException(409, f"there is already a user {body.name!r}")
    try:
        return _public(users.add(body.name, body.password, body.role), users)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/{name}/password", summary="Set a user's password (their sessions end)")
def set_password(
    name: str, body: NewPassword, users: UserStore = Depends(users_of)
) -> dict[str, Any]:
    return _changed(users, name, lambda: users.set_password(name, body.password))


@router.delete("/{name}", summary="Remove a user and end their sessions")
def remove_user(name: str, users: UserStore = Depends(users_of)) -> dict[str, Any]:
    _existing(users, name)
    try:
        users.remove(name)
    except UserError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"removed": name}


@router.post("/{name}/role", summary="Set a user's role (owner, editor or viewer)")
def set_role(name: str, body: NewRole, users: UserStore = Depends(users_of)) -> dict[str, Any]:
    return _changed(users, name, lambda: users.set_role(name, body.role))


def _changed(users: UserStore, name: str, change: Any) -> dict[str, Any]:
    """Make `change` to an existing user; 404 if there is none, 422 with the reason."""
    _existing(users, name)
    try:
        change()
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    return _public(_existing(users, name), users)
