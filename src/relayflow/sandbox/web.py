"""Request and response helpers shared by the sandbox's CleverTap endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from relayflow.sandbox.state import SandboxState

ACCOUNT_SCOPE_KEY = "relayflow.sandbox.account"


class JSONResponse(Response):
    """JSON rendered with orjson (uploads answer up to 1000 echoed records)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ApiError(Exception):
    """A request CleverTap would refuse (400 unless said); the message says what to send."""

    def __init__(self, message: str, code: int = 400, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status or code

    def response(self) -> JSONResponse:
        return fail(self.message, self.code, self.http_status)


def fail(error: str, code: int, http_status: int | None = None) -> JSONResponse:
    """CleverTap's fail body `{"status":"fail","error":…,"code":…}`."""
    body = {"status": "fail", "error": error, "code": code}
    return JSONResponse(body, status_code=http_status or code)


def state_of(request: Request) -> SandboxState:
    return request.app.state.sandbox


def account_of(request: Request) -> str:
    """The account the gate authenticated for this request."""
    return request.scope[ACCOUNT_SCOPE_KEY]


async def read_json(request: Request, *, default: Any = None) -> Any:
    """The JSON body, `default` when the body is empty; ApiError when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        if default is None:
            raise ApiError("The request body is empty; send a JSON object")
        return default
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(
            f"The request body is not valid JSON ({exc}); remove comments and trailing commas"
        ) from None


def json_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def day_start(value: Any, name: str) -> int:
    """Epoch seconds at 00:00 UTC of a YYYYMMDD day given as int or string."""
    text = str(value)
    try:
        if isinstance(value, bool) or len(text) != 8:
            raise ValueError
        day = datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC)
    except ValueError:
        raise ApiError(f"{name} is {value!r}; give a day as YYYYMMDD, e.g. 20240501") from None
    return int(day.timestamp())


def day_range(query: dict[str, Any], *, required: bool = True) -> tuple[int, int]:
    """The [from 00:00, to 23:59:59] UTC range of a query's `from` and `to` days."""
    if "from" not in query or "to" not in query:
        if required:
            raise ApiError('Give "from" and "to" as YYYYMMDD days, e.g. 20240501')
        return 0, 2**62
    start = day_start(query["from"], "from")
    end = day_start(query["to"], "to") + 86399
    if end < start:
        raise ApiError(f"to ({query['to']}) is before from ({query['from']})")
    return start, end


def compact_ts(epoch: int) -> int:
    """Epoch seconds as CleverTap's yyyyMMddHHmmss number (UTC)."""
    return int(datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d%H%M%S"))
