"""HTTP for apps: httpx transports whose connections go only where the egress policy allows
(relayflow/egress.py; a refusal raises EgressRefused, naming the rule).

    self.http = httpx.AsyncClient(transport=http_transport(limits=httpx.Limits(...)))
"""

from __future__ import annotations

from typing import Any

from relayflow import egress
from relayflow.egress import EgressRefused

__all__ = ["EgressRefused", "http_transport", "sync_http_transport"]


def http_transport(**options: Any) -> Any:
    """An httpx.AsyncHTTPTransport (same options) that follows this process's policy."""
    return egress.async_transport(**options)


def sync_http_transport(**options: Any) -> Any:
    """An httpx.HTTPTransport (same options) that follows this process's policy."""
    return egress.sync_transport(**options)
