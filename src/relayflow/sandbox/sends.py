"""Messages to named users: External Trigger (/1 and /2) and Create Campaign by user.

The sandbox delivers nothing: it records one message per user it knows on that user's
profile (the dashboard lists them) and answers, per user, whether it was sent. A user
without a profile is not sent to; the answer lists it in `unprocessed` with code 404.
CleverTap's pages do not show a per-user answer; this one is the sandbox's own (see
docs/clevertap-api.md §M), shaped like the upload answer: `status` success / partial /
fail, `processed`, `unprocessed`.

- POST /1/send/externaltrigger.json `{"to", "campaign_id", "ExternalTrigger"}`
- POST /2/send/externaltrigger.json `{"d": [send, ...]}` with the account's
  X-CleverTap-Token; each send may name `campaign_id_list` instead of `campaign_id`
  (every campaign is sent). At most 5 distinct campaigns and 1000 users per request.
  Answers `{"status", "results": [one answer per send]}`.
- POST /1/send/{push,webpush,email,sms,whatsapp}.json `{"to", "content", ...}`.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from relayflow.apps.clevertap.messages import (
    MAX_CAMPAIGNS_PER_BULK,
    MAX_USERS_PER_SEND,
    Recipient,
    SendError,
    campaign_id_of,
    check_content,
    check_key_values,
    recipients_of,
)
from relayflow.sandbox.store import SandboxStore
from relayflow.sandbox.web import (
    ApiError,
    JSONResponse,
    account_of,
    fail,
    json_object,
    read_json,
    state_of,
)

EXTERNAL_TRIGGER = "external trigger"
_COLUMNS = {"identity": "identity", "email": "email", "objectId": "object_id"}
_COLUMNS.update({"FBID": "fbid", "GPID": "gpid"})


async def external_trigger(request: Request) -> JSONResponse:
    send = _parse_send(json_object(await read_json(request), "The request"), "")
    return JSONResponse(await _deliver(request, [send]))


async def external_trigger_bulk(request: Request) -> JSONResponse:
    token = request.headers.get("x-clevertap-token", "")
    expected = state_of(request).tokens.get(account_of(request), "")
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        return fail(
            "Invalid Credentials: /2/send/externaltrigger.json needs the account's "
            "X-CleverTap-Token header",
            401,
        )
    body = json_object(await read_json(request), "The request")
    entries = body.get("d")
    if not isinstance(entries, list) or not entries:
        raise ApiError('Send {"d": [{"to": ..., "campaign_id": ..., "ExternalTrigger": ...}]}')
    sends = [_parse_send(json_object(e, f"d[{n}]"), f"d[{n}].") for n, e in enumerate(entries)]
    users = sum(len(recipients) for _, recipients, _ in sends)
    if users > MAX_USERS_PER_SEND:
        raise ApiError(f"The request names {users} users; send at most {MAX_USERS_PER_SEND}")
    campaigns = {campaign for ids, _, _ in sends for campaign in ids}
    if len(campaigns) > MAX_CAMPAIGNS_PER_BULK:
        raise ApiError(
            f"The request triggers {len(campaigns)} campaigns; send at most "
            f"{MAX_CAMPAIGNS_PER_BULK} per request"
        )
    results = [await _deliver(request, [send]) for send in sends]
    return JSONResponse({"status": _overall(results), "results": results})


async def send_to_users(request: Request) -> JSONResponse:
    channel = request.path_params["channel"]
    body = json_object(await read_json(request), "The request")
    try:
        check_content(channel, body.get("content"))
        recipients = recipients_of(body.get("to"))
    except SendError as exc:
        raise ApiError(str(exc)) from None
    campaign = body.get("campaign_id")
    ids = [campaign_id_or_fail(campaign, "campaign_id")] if campaign is not None else [None]
    answer = await _deliver(request, [(ids, recipients, body["content"])], channel)
    return JSONResponse({**answer, "message": "Added to queue for processing"})


def campaign_id_or_fail(value: Any, where: str) -> int:
    try:
        return campaign_id_of(value, where)
    except SendError as exc:
        raise ApiError(str(exc)) from None


_Send = tuple[list[Any], list[Recipient], Any]  # campaign ids, users, content


def _parse_send(body: dict[str, Any], where: str) -> _Send:
    if "campaign_id_list" in body:
        listed = body["campaign_id_list"]
        if not isinstance(listed, list) or not listed:
            raise ApiError(f"{where}campaign_id_list must be a non-empty array of campaign ids")
        ids = [campaign_id_or_fail(v, f"{where}campaign_id_list") for v in listed]
    else:
        ids = [campaign_id_or_fail(body.get("campaign_id"), f"{where}campaign_id")]
    values = body.get("ExternalTrigger", {})
    try:
        recipients = recipients_of(body.get("to"), f"{where}to")
        check_key_values(values, f"{where}ExternalTrigger")
    except SendError as exc:
        raise ApiError(str(exc)) from None
    return ids, recipients, values


async def _deliver(request: Request, sends: list[_Send], channel: str = EXTERNAL_TRIGGER) -> dict:
    store = state_of(request).store
    account = account_of(request)
    processed = 0
    unprocessed: list[dict[str, Any]] = []
    for ids, recipients, content in sends:
        found = await run_in_threadpool(_profiles, store, account, recipients)
        rows = []
        for recipient in recipients:
            pk = found.get((recipient.kind, recipient.value))
            if pk is None:
                unprocessed.append(_not_found(recipient))
                continue
            processed += 1
            rows.extend((pk, channel, campaign, content) for campaign in ids)
        if rows:
            await run_in_threadpool(store.record_messages, account, rows)
    status = "success" if not unprocessed else "partial" if processed else "fail"
    return {"status": status, "processed": processed, "unprocessed": unprocessed}


def _profiles(
    store: SandboxStore, account: str, recipients: list[Recipient]
) -> dict[tuple[str, str], int]:
    by_kind: dict[str, list[str]] = {}
    for recipient in recipients:
        by_kind.setdefault(recipient.kind, []).append(recipient.value)
    found: dict[tuple[str, str], int] = {}
    for kind, values in by_kind.items():
        for value, profile in store.profiles_by(account, _COLUMNS[kind], values).items():
            if profile.pk is not None:
                found[(kind, value)] = profile.pk
    return found


def _not_found(recipient: Recipient) -> dict[str, Any]:
    return {
        "status": "fail",
        "code": 404,
        "error": f"No user with {recipient.kind} {recipient.value!r} in this account; "
        "upload the profile first",
        "to": recipient.as_dict(),
    }


def _overall(results: list[dict[str, Any]]) -> str:
    statuses = {r["status"] for r in results}
    return statuses.pop() if len(statuses) == 1 else "partial"


routes = [
    Route("/1/send/externaltrigger.json", external_trigger, methods=["POST"]),
    Route("/2/send/externaltrigger.json", external_trigger_bulk, methods=["POST"]),
    Route("/1/send/{channel:str}.json", send_to_users, methods=["POST"]),
]
