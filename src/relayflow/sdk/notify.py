"""Sending a message by Apprise URL (email over SMTP, Slack, Teams, Discord, Telegram, JSON
webhooks, …): what the `notify` app and the engine's failure notifications share.

    await send_notification(["json://127.0.0.1:9000/hook"], "Title", "Body")
"""

from __future__ import annotations

import asyncio
from typing import Literal

from relayflow.sdk.context import StepError

Kind = Literal["info", "success", "warning", "failure"]


async def send_notification(
    urls: list[str], title: str, body: str, kind: Kind = "info"
) -> list[str]:
    """Send `title` and `body` to every URL; returns each URL as shown (secrets masked).

    Raises a StepError naming the URLs that are not Apprise URLs or that did not take
    the message. Apprise is synchronous: it runs in a thread, off the event loop.
    """
    return await asyncio.to_thread(_send, list(urls), title, body, kind)


def _send(urls: list[str], title: str, body: str, kind: Kind) -> list[str]:
    import apprise  # imported on first use: it loads every service it knows (~0.3 s)

    if not urls:
        raise StepError("no notification URL given: add at least one to `to:`", retryable=False)
    shown, bad, failed = [], [], []
    for url in urls:
        service = apprise.Apprise.instantiate(url)
        if not service:
            bad.append(_scheme(url))
            continue
        where = service.url(privacy=True)
        shown.append(where)
        if not service.notify(title=title or None, body=body, notify_type=kind):
            failed.append(where)
    if bad:
        raise StepError(
            f"not an Apprise URL: {', '.join(bad)}; write one such as mailto://user:pass@host,"
            " slack://tokenA/tokenB/tokenC or json://host/path (https://github.com/caronc/apprise/wiki)",
            retryable=False,
        )
    if failed:
        raise StepError(f"the notification was not accepted by {', '.join(failed)}")
    return shown


def _scheme(url: str) -> str:
    """What may be shown of a URL that did not parse: its scheme only (it may hold a key)."""
    return f"{url.split('://', 1)[0]}://…" if "://" in url else repr(url[:12] + "…")
