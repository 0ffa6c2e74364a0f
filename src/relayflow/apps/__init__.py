"""Integrations, one folder per app, found by `relayflow.sdk.discover()`.

An app's package defines `APP = App(...)` and declares its actions (and sources) with the
SDK's decorators, in `__init__.py` or in `actions/` and `sources/` modules. Apps import
only `relayflow.sdk`. Adding an app means adding a folder (docs/writing-an-app.md).
"""
