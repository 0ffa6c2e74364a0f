"""HTTP: send any request, and answer the request that started a run."""

from relayflow.sdk import App

APP = App(
    key="http",
    title="HTTP",
    description="Send any HTTP request, or answer the webhook that started the run",
)
