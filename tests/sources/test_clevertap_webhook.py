"""CleverTap as a trigger: a campaign or journey's webhook call becomes one run per
profile, authenticated by the key set on the webhook, and CleverTap's retry runs once."""

from __future__ import annotations

import base64

from conftest import Relayflow

from .helpers import SECRETS, encode, post, sample


def call(*profiles: dict, target: int = 1764750100) -> bytes:
    return encode({"targetId": target, "profiles": list(profiles)})


def profile(identity: str, coupon: str) -> dict:
    found = sample("clevertap.webhook")["profiles"][0]
    return {
        **found,
        "identity": identity,
        "objectId": f"__{identity}",
        "key_values": {"coupon": coupon},
    }


def test_each_profile_of_a_call_runs_once(installation: Relayflow) -> None:
    url = f"{installation.url}/hooks/clevertap"
    body = call(profile("u-2001", "A10"), profile("u-2002", "B20"))
    key = {"x-relayflow-key": SECRETS["clevertap"]}
    first = post(url, body, key)
    assert first.status_code == 200 and first.json()["accepted"] == 2, first.text
    retried = post(url, body, key)  # CleverTap retries a call once after ~3 s
    assert retried.json()["accepted"] == 0 and retried.json()["duplicates"] == 2
    results = sorted(
        installation.inspect(run_id)["steps"][0]["return_value"]
        for run_id in first.json()["run_ids"]
        if installation.wait_finished(run_id)
    )
    assert results == ["u-2001 A10", "u-2002 B20"]
    context = installation.inspect(first.json()["run_ids"][0])["event_context"]
    assert context["target_id"] == 1764750100


def test_the_key_is_checked_in_the_header_or_as_basic_auth(installation: Relayflow) -> None:
    url = f"{installation.url}/hooks/clevertap"
    body = call(profile("u-2003", "C30"), target=1764750101)
    missing = post(url, body, {})
    assert missing.status_code == 401 and "X-Relayflow-Key header" in missing.json()["error"]
    wrong = post(url, body, {"x-relayflow-key": "guess"})
    assert wrong.status_code == 401 and "is not the account's webhook key" in wrong.json()["error"]
    basic = base64.b64encode(f"clevertap:{SECRETS['clevertap']}".encode()).decode()
    accepted = post(url, body, {"authorization": f"Basic {basic}"})
    assert accepted.status_code == 200 and accepted.json()["accepted"] == 1
