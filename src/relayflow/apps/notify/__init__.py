"""Notify: send a message by Apprise URL (email, Slack, Teams, Discord, Telegram, webhooks…)."""

from relayflow.sdk import App

APP = App(
    key="notify",
    title="Notify",
    description="Send a message to email, Slack, Teams, Discord, Telegram or a webhook",
)
