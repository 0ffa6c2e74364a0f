"""Everything an app may import: the app, its account fields, actions, sources (webhook and
polling), signatures.

    from relayflow.sdk import ActionInputs, App, StepContext, action, field

    APP = App(key="greet", title="Greetings")

    class Inputs(ActionInputs):
        name: str = field(label="Name")

    @action("greet.hello", title="Say Hello")
    async def hello(ctx: StepContext, inputs: Inputs) -> str:
        \"\"\"Return a greeting.\"\"\"
        return f"Hello, {inputs.name}"

Apps import only this package; the model, engine, server and CLI build on it. See
docs/writing-an-app.md for the whole recipe.
"""

from relayflow.sdk import metrics, signatures
from relayflow.sdk.actions import Action, ActionInputs, action, field
from relayflow.sdk.apps import AccountField, AccountUse, App
from relayflow.sdk.context import HttpResponse, Responder, StepContext, StepError
from relayflow.sdk.data_stores import DataStoreAccess, DataStoreError
from relayflow.sdk.durations import Duration, parse_duration
from relayflow.sdk.http import (
    EgressRefused,
    http_session,
    http_transport,
    query_values,
    sync_http_transport,
)
from relayflow.sdk.notify import send_notification
from relayflow.sdk.polling import (
    LocalFiles,
    PollContext,
    Polled,
    PollError,
    PollingSource,
    polling_source,
)
from relayflow.sdk.registry import Registry, discover
from relayflow.sdk.slots import Slots, shared_slots
from relayflow.sdk.sources import (
    Delivery,
    Emitted,
    Received,
    Refused,
    Signer,
    Source,
    SourceContext,
    SourceInputs,
    webhook_source,
)

__all__ = [
    "send_notification",
    "http_session",
    "http_transport",
    "query_values",
    "sync_http_transport",
    "AccountField",
    "AccountUse",
    "Action",
    "ActionInputs",
    "App",
    "DataStoreAccess",
    "Delivery",
    "Emitted",
    "DataStoreError",
    "Duration",
    "EgressRefused",
    "HttpResponse",
    "LocalFiles",
    "PollContext",
    "PollError",
    "Polled",
    "PollingSource",
    "Received",
    "Refused",
    "Registry",
    "Responder",
    "Signer",
    "Source",
    "SourceContext",
    "SourceInputs",
    "Slots",
    "StepContext",
    "StepError",
    "action",
    "discover",
    "field",
    "metrics",
    "parse_duration",
    "polling_source",
    "signatures",
    "webhook_source",
    "shared_slots",
]
