"""Utilities: small steps for shaping data between other steps."""

from relayflow.sdk import App

APP = App(key="util", title="Utilities", description="Shape data between steps")
