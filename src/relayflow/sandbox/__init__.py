"""A local CleverTap: the REST API with CleverTap's rules, SQLite storage and a dashboard."""

from relayflow.sandbox.app import DEFAULT_ACCOUNTS, create_app
from relayflow.sandbox.server import SandboxServer

__all__ = ["DEFAULT_ACCOUNTS", "SandboxServer", "create_app"]
