"""Sources: triggers that an app provides, declared in `apps/<app>/sources/<name>.py`.

A webhook source is a function `receive(delivery, ctx) -> Received` that verifies one HTTP
request exactly as the app signs it (raising `Refused` when it does not check out) and
turns it into events, each with its idempotency key and whether the workflow subscribed
to its type:

    @webhook_source("stripe.new_event", title="New Event", sample=SAMPLE, signer=sign)
    def new_event(delivery: Delivery, ctx: SourceContext[Inputs]) -> Received:
        verify_stripe(delivery, ctx.secret("webhook_secret"))
        event = delivery.json()
        return Received.one(event, key=event["id"], type=event["type"],
                            wanted=not ctx.inputs.types or event["type"] in ctx.inputs.types)

The platform does the rest: nothing is stored for a refused delivery (401 naming the
check that failed); a repeat of a key within the dedupe window is acknowledged and makes
no run; the dedupe row and the new run commit in one transaction.
"""

from __future__ import annotations

import inspect
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson

from relayflow.sdk.actions import ActionInputs
from relayflow.sdk.context import HttpResponse

if TYPE_CHECKING:
    from relayflow.sdk.polling import PollingSource

# Every source declared so far, by key, in the order the decorators ran (see registry.py).
DECLARED: dict[str, Source | PollingSource] = {}

InputsT = TypeVar("InputsT", bound=ActionInputs)


class SourceInputs(ActionInputs):
    """Base of a source's `with:` inputs: unknown inputs are an error."""


class Refused(Exception):
    """A delivery that failed a check: answered with `status` (401 by default) and
    `reason`, which names what failed (never the expected signature); nothing is stored."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Delivery:
    """One HTTP request exactly as it arrived."""

    method: str
    path: str
    headers: Mapping[str, str]  # names lower-cased
    query: Mapping[str, Any]
    body: bytes  # the exact bytes received: signatures are over these
    received_at: float = field(default_factory=time.time)
    client_ip: str | None = None
    url: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def require(self, name: str) -> str:
        """A header the scheme needs; its absence refuses the delivery, naming it."""
        value = self.header(name)
        if not value:
            raise Refused(f"the {name} header is missing; this endpoint takes signed deliveries")
        return value

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON refuses the delivery (400)."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise Refused(f"the body is not valid JSON ({exc})", status=400) from None


@dataclass(frozen=True)
class Emitted:
    """One event a delivery carries.

    `key` identifies it across the app's retries (None: never deduplicated); `wanted` is
    False for a type the workflow did not subscribe to (acknowledged and counted, no run);
    `context` goes to `steps.trigger.context.source` (topic, shop, …).
    """

    event: Any
    key: str | None = None
    type: str | None = None
    wanted: bool = True
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    """What a delivery produced, and optionally a particular answer for the app."""

    events: tuple[Emitted, ...] = ()
    response: HttpResponse | None = None

    @classmethod
    def one(cls, event: Any, **details: Any) -> Received:
        return cls((Emitted(event, **details),))


@dataclass
class SourceContext(Generic[InputsT]):
    """What a source function gets besides the delivery: its inputs and its account."""

    inputs: InputsT
    account: dict[str, Any] = field(default_factory=dict)  # fields, secrets included
    account_name: str | None = None

    def secret(self, name: str) -> str:
        """A field of the source's account that the scheme needs (e.g. webhook_secret)."""
        value = self.account.get(name)
        if not value:
            where = f"account {self.account_name!r}" if self.account_name else "the account"
            raise Refused(
                f"{where} has no {name}; set it with relayflow accounts add … --replace",
                status=500,
            )
        return str(value)


# Signs a delivery as the app would: (body, secret, now) -> headers to send with it.
Signer = Callable[[bytes, str, float], dict[str, str]]
# A new sample delivery from the sample, unique by `suffix` (ids the app keeps per event):
# (sample body, sample headers, suffix) -> (body, headers). Default: the sample as it is.
Freshen = Callable[[dict[str, Any], dict[str, str], str], tuple[dict[str, Any], dict[str, str]]]


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    description: str
    app: str
    docs: str | None
    inputs: type[SourceInputs]
    receive: Callable[[Delivery, SourceContext[Any]], Received]
    needs_account: bool
    sample: dict[str, Any]  # a delivery's body, as the app documents it
    signer: Signer | None  # for `relayflow send-sample` and the tests
    secret_field: str | None  # the account field the signer signs with
    sample_headers: dict[str, str]  # headers the app sends besides the signature
    freshen: Freshen | None = None
    dedupe_window: float = 7 * 86400.0  # unless the trigger sets `dedupe_window:`
    kind: str = "webhook"

    def sample_delivery(self, secret: str, suffix: str, now: float) -> tuple[bytes, dict[str, str]]:
        """A delivery of the sample signed with `secret` as the app signs it, unique by
        `suffix`: its body and headers (for `relayflow send-sample` and tests)."""
        body, headers = self.sample, dict(self.sample_headers)
        if self.freshen is not None:
            body, headers = self.freshen(body, headers, suffix)
        raw = orjson.dumps(body)
        signed = self.signer(raw, secret, now) if self.signer is not None else {}
        return raw, {"content-type": "application/json", **headers, **signed}

    def sample_event(self) -> Any:
        """What the sample delivery becomes as `steps.trigger.event` (for the builder's
        data explorer and test runs before the first real delivery)."""
        secret = "sample-secret"
        body, headers = self.sample_delivery(secret, "", time.time())
        delivery = Delivery("POST", "/sample", {k.lower(): v for k, v in headers.items()}, {}, body)
        account = {self.secret_field: secret} if self.secret_field else {}
        received = self.receive(delivery, SourceContext(self.inputs(), account))
        return received.events[0].event if received.events else self.sample

    def schema(self) -> dict[str, Any]:
        return schema_of(self, secret_field=self.secret_field)


def schema_of(source: Any, **details: Any) -> dict[str, Any]:
    """A source as the API, the CLI and the builder show it (`details`: its kind's own)."""
    return {
        "key": source.key,
        "title": source.title,
        "description": source.description,
        "app": source.app,
        "docs": source.docs,
        "kind": source.kind,
        "needs_account": source.needs_account,
        **details,
        "inputs": source.inputs.model_json_schema(),
        "sample": source.sample,
    }


def webhook_source(
    key: str,
    *,
    title: str,
    sample: dict[str, Any],
    docs: str | None = None,
    needs_account: bool = True,
    signer: Signer | None = None,
    secret_field: str | None = "webhook_secret",
    sample_headers: dict[str, str] | None = None,
    freshen: Freshen | None = None,
    dedupe_window: float = 7 * 86400.0,
) -> Callable[[Callable[..., Received]], Callable[..., Received]]:
    """Declare `receive(delivery, ctx)` as the webhook source `key` (`<app>.<name>`).

    The type of `ctx` (`SourceContext[Inputs]`) names the source's inputs model;
    `dedupe_window` is how long a delivery's key counts as seen, unless the workflow's
    trigger says otherwise (shorter where the app retries only within seconds).
    """

    def register(fn: Callable[..., Received]) -> Callable[..., Received]:
        declare(
            Source,
            key,
            fn,
            SourceContext,
            title=title,
            docs=docs,
            receive=fn,
            needs_account=needs_account,
            sample=sample,
            signer=signer,
            secret_field=secret_field,
            sample_headers=dict(sample_headers or {}),
            freshen=freshen,
            dedupe_window=dedupe_window,
        )
        return fn

    return register


def declare(kind: type, key: str, fn: Callable[..., Any], context: type, **fields: Any) -> None:
    """Register the source `key` that `fn` implements, as a `kind` (Source, PollingSource)
    with `fields`; its inputs model is the parameter of `ctx: context[Inputs]`."""
    if key in DECLARED:
        raise ValueError(f"source {key} is declared twice")
    DECLARED[key] = kind(
        key=key,
        description=inspect.cleandoc(fn.__doc__ or ""),
        app=key.split(".", 1)[0],
        inputs=_inputs_model(fn, key, context),
        **fields,
    )


def _inputs_model(
    fn: Callable[..., Any], key: str, context: type = SourceContext
) -> type[SourceInputs]:
    hint = typing.get_type_hints(fn).get("ctx")
    args = typing.get_args(hint)
    model = args[0] if args else None
    if not (inspect.isclass(model) and issubclass(model, SourceInputs)):
        raise TypeError(f"source {key}: annotate `ctx` as {context.__name__}[YourInputs]")
    return model
