"""The ASGI application: webhooks, the JSON API, health, metrics and the start page."""
