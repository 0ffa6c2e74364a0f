"""The first run: `relayflow up --demo` sends a sign-up through to a sandbox profile."""

from __future__ import annotations

import time

import httpx

from conftest import ROOT, free_port


def test_up_demo_sends_a_signup_to_a_sandbox_profile(sqlite_relayflow):
    rf = sqlite_relayflow
    sandbox_port = free_port()
    rf.port = free_port()
    proc = rf.spawn("up", "--demo", "--port", str(rf.port), "--sandbox-port", str(sandbox_port))
    rf.wait_healthy(proc)
    banner = rf.output()
    assert f"curl -X POST http://127.0.0.1:{rf.port}/hooks/signup" in banner
    assert f"dashboard http://127.0.0.1:{sandbox_port}/" in banner.replace("\n", "")
    assert str(ROOT / "examples") in banner.replace("\n", "")
    body = {
        "user_id": "u-1001",
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "phone": "+14155550100",
        "plan": "pro",
        "utm_source": "newsletter",
    }
    assert httpx.post(f"{rf.url}/hooks/signup", json=body).status_code == 200
    (run,) = rf.wait_runs(1, timeout=30)
    assert run["workflow"] == "signup-to-clevertap"
    headers = {
        "X-CleverTap-Account-Id": "TEST-RELAYFLOW",
        "X-CleverTap-Passcode": "sandbox-passcode",
    }
    deadline = time.monotonic() + 10
    while True:
        found = httpx.get(
            f"http://127.0.0.1:{sandbox_port}/1/profile.json",
            params={"identity": "u-1001"},
            headers=headers,
        ).json()
        if found.get("status") == "success" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert found["record"]["profileData"]["Email"] == "ada@example.com"
    assert found["record"]["events"]["Signed Up"]["count"] == 1
    page = httpx.get(f"http://127.0.0.1:{sandbox_port}/", params={"q": "u-1001"}).text
    assert "u-1001" in page
    # The welcome message shows on the profile's dashboard page.
    object_id = found["record"]["platformInfo"][0]["objectId"]
    while time.monotonic() < deadline:
        shown = httpx.get(f"http://127.0.0.1:{sandbox_port}/profiles/{object_id}").text
        if 'class="message"' in shown:
            break
        time.sleep(0.2)
    assert 'class="message"' in shown and "Ada Lovelace" in shown and "1000001" in shown
    # The demo account has the sandbox's token: personalised messages share /2 requests.
    with rf.api() as api:
        listed = api.get("/accounts").json()
    demo = next(a for a in listed if a["name"] == "clevertap-demo")
    assert demo["secrets"] == {"passcode": "set", "token": "set"}
