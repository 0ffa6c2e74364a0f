"""Roles: what a user or an API token may do.

- viewer: read (workflows, runs, events, accounts without secrets, stores, the audit log);
- editor: and change workflows and data stores, test, deploy, roll back, pause, replay;
- owner: and manage users, accounts, other people's tokens (the installation's own
  `api-token` is an owner's).

`needed(method, path)` is the role an `/api/v1` (or web UI) request needs.
"""

from __future__ import annotations

ROLES = ("viewer", "editor", "owner")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OWNER_PATHS = ("/api/v1/users", "/api/v1/accounts", "/api/v1/apps")  # changes need owner
SELF_PATHS = ("/api/v1/tokens",)  # anyone manages their own; the endpoint checks whose


def check_role(role: str) -> str:
    """The role, or ValueError naming the ones there are."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


def at_least(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


def needed(method: str, path: str) -> str:
    if method.upper() in SAFE_METHODS or path.startswith(SELF_PATHS):
        return "viewer"
    if path.startswith(OWNER_PATHS):
        return "owner"
    return "editor"


def refusal(role: str, method: str, path: str) -> str | None:
    """Why `role` may not make this request, or None when it may."""
    want = needed(method, path)
    if at_least(role, want):
        return None
    return f"{method} {path} needs the {want} role; this is a {role}'s (ask an owner)"
