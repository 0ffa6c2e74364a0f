"""A local CleverTap: the REST API with CleverTap's rules, SQLite storage and a dashboard."""

from relayflow.sandbox.app import DEFAULT_ACCOUNTS, DEFAULT_TOKEN, create_app
from relayflow.sandbox.server import SandboxServer

__all__ = ["DEFAULT_ACCOUNTS", "DEFAULT_TOKEN", "SandboxServer", "create_app"]
