"""External Trigger sends from many runs, batched where CleverTap's API allows it.

- Without a token, `/1/send/externaltrigger.json` carries one campaign and one set of
  key-values for all its users, so only runs sending the same campaign with the same
  key-values share a request (up to 1000 users, none named twice).
- With the account's X-CleverTap-Token, `/2/send/externaltrigger.json` carries many sends,
  each with its own users and key-values: any runs share a request (up to 1000 users and
  5 campaigns).

Sends are not idempotent: a request is never retried after an answer that leaves it
unclear whether CleverTap sent it (5xx, a timeout), so nobody gets a message twice. Each
run gets its own users' results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from relayflow.apps.clevertap.batching import Batcher
from relayflow.apps.clevertap.messages import (
    MAX_CAMPAIGNS_PER_BULK,
    MAX_SENDS_PER_BULK,
    MAX_USERS_PER_SEND,
    Recipient,
    TriggerSend,
    to_object,
)
from relayflow.sdk import StepError

if TYPE_CHECKING:
    from relayflow.apps.clevertap.client import CleverTap

SINGLE = "/1/send/externaltrigger.json"
BULK = "/2/send/externaltrigger.json"
UserResults = list[dict[str, Any]]


def _same_message(send: TriggerSend) -> tuple[int, bytes]:
    return send.campaign_id, orjson.dumps(send.key_values, option=orjson.OPT_SORT_KEYS)


def _users(send: TriggerSend) -> int:
    return len(send.recipients)


def _take_single(sends: list[TriggerSend]) -> int:
    """Sends of one message whose users fit one request, none named twice."""
    seen: set[Recipient] = set()
    for count, send in enumerate(sends):
        if len(seen) + len(send.recipients) > MAX_USERS_PER_SEND or seen & set(send.recipients):
            return max(count, 1)
        seen.update(send.recipients)
    return len(sends)


def _take_bulk(sends: list[TriggerSend]) -> int:
    """Sends whose users and campaigns fit one bulk request."""
    users, campaigns = 0, set()
    for count, send in enumerate(sends):
        users += len(send.recipients)
        more = campaigns | {send.campaign_id}
        if users > MAX_USERS_PER_SEND or len(more) > MAX_CAMPAIGNS_PER_BULK:
            return max(count, 1)
        if count + 1 > MAX_SENDS_PER_BULK:
            return count
        campaigns = more
    return len(sends)


class MessageSender:
    """The batched External Trigger sends of one account on one event loop."""

    def __init__(self, client: CleverTap) -> None:
        self.client = client
        common = {"max_weight": MAX_USERS_PER_SEND, "linger": client.linger, "weight": _users}
        if client.has_token:
            self._batcher = Batcher(self._bulk, client.slots, take=_take_bulk, **common)
        else:
            self._batcher = Batcher(
                self._single, client.slots, key=_same_message, take=_take_single, **common
            )

    async def submit(self, send: TriggerSend) -> tuple[UserResults, int]:
        """Send; returns (per-user results, users in the request it shared)."""
        return await self._batcher.submit(send)

    async def drain(self) -> None:
        await self._batcher.drain()

    async def _single(self, sends: list[TriggerSend], slot: int) -> list[UserResults]:
        everyone = [r for send in sends for r in send.recipients]
        body = {
            "to": to_object(everyone),
            "campaign_id": sends[0].campaign_id,
            "ExternalTrigger": sends[0].key_values,
        }
        answer = await self._post(SINGLE, body, slot)
        missed = _unprocessed(answer)
        return [_user_results(send, missed) for send in sends]

    async def _bulk(self, sends: list[TriggerSend], slot: int) -> list[UserResults]:
        body = {"d": [send.entry() for send in sends]}
        answer = await self._post(BULK, body, slot, self.client.token_headers())
        results = answer.get("results")
        if not isinstance(results, list) or len(results) != len(sends):
            results = [answer] * len(sends)  # one answer for the whole request
        return [
            _user_results(send, _unprocessed(result if isinstance(result, dict) else {}))
            for send, result in zip(sends, results, strict=True)
        ]

    async def _post(
        self, path: str, body: dict[str, Any], slot: int, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        client = self.client
        response = await client.send(
            "POST", path, body=body, idempotent=False, slot=slot, headers=headers
        )
        client.raise_for_status(response, "POST", path)
        answer = response.body if isinstance(response.body, dict) else {}
        if answer.get("status") == "fail" and not answer.get("unprocessed"):
            raise StepError(
                f"CleverTap refused the message (POST {path}): {answer.get('error') or answer}",
                details=answer,
                retryable=False,
            )
        return answer


def _unprocessed(answer: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """CleverTap's `unprocessed` entries by the user each names."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    entries = answer.get("unprocessed")
    for entry in entries if isinstance(entries, list) else []:
        to = entry.get("to") if isinstance(entry, dict) else None
        if isinstance(to, dict):
            for kind, value in to.items():
                found[(kind, str(value))] = entry
    return found


def _user_results(send: TriggerSend, missed: dict[tuple[str, str], dict[str, Any]]) -> UserResults:
    results = []
    for recipient in send.recipients:
        entry = missed.get((recipient.kind, recipient.value))
        if entry is None:
            results.append({**recipient.as_dict(), "status": "sent"})
        else:
            results.append(
                {
                    **recipient.as_dict(),
                    "status": "not sent",
                    "code": entry.get("code"),
                    "error": entry.get("error"),
                }
            )
    return results
