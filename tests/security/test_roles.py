"""Roles on users and API tokens: a viewer reads, an editor changes workflows but not
accounts or users, an owner does everything; tokens are created, capped by their user's
role, and stop working when revoked."""

from __future__ import annotations

import json

import httpx

WORKFLOW = """
name: roles-wf
trigger: {http: {path: roles-wf}}
steps:
  - name: gate
    filter:
      continue_if: "{{ steps.trigger.event.method == 'POST' }}"
"""
YAML = {"content-type": "text/yaml"}


def bearer(rf, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{rf.url}/api/v1", headers={"authorization": f"Bearer {token}"}, timeout=30
    )


def test_roles_limit_what_tokens_and_sessions_may_change(relayflow):
    rf = relayflow
    rf.start()
    with rf.api() as owner:  # the installation's own token is an owner's
        for name, role in (("vera", "viewer"), ("ed", "editor")):
            body = {"name": name, "password": "long-enough-pass", "role": role}
            assert owner.post("/users", json=body).status_code == 201
        viewer = owner.post("/tokens", json={"user": "vera", "label": "grafana"}).json()
        editor = owner.post("/tokens", json={"user": "ed"}).json()
        too_high = owner.post("/tokens", json={"user": "vera", "role": "owner"})
    assert viewer["role"] == "viewer" and viewer["token"].startswith("rft_")
    assert too_high.status_code == 422 and "vera is a viewer" in too_high.json()["detail"]

    account = {"app": "stripe", "name": "st", "fields": {"webhook_secret": "whsec_x"}}
    with bearer(rf, viewer["token"]) as api:
        assert api.get("/workflows").status_code == 200
        refused = api.post("/workflows", content=WORKFLOW, headers=YAML)
        own = api.post("/tokens", json={"label": "mine"})
    assert refused.status_code == 403
    assert "needs the editor role; this is a viewer's" in refused.json()["detail"]
    assert own.status_code == 201 and own.json()["user"] == "vera"

    with bearer(rf, editor["token"]) as api:
        assert api.post("/workflows", content=WORKFLOW, headers=YAML).status_code == 200
        assert api.post("/workflows/roles-wf/pause").status_code == 200
        no_account = api.post("/accounts", json={**account, "test": False})
        no_user = api.post("/users", json={"name": "x", "password": "long-enough-pass"})
        others = api.post("/tokens", json={"user": "vera"})
        listed = api.get("/tokens").json()
    assert no_account.status_code == 403 and "needs the owner role" in no_account.text
    assert no_user.status_code == 403
    assert others.status_code == 403
    assert [t["user"] for t in listed] == ["ed"]  # an editor sees only their own tokens

    # Demoting a user caps their tokens at once; revoking one ends it.
    with rf.api() as owner:
        assert owner.post("/users/ed/role", json={"role": "viewer"}).status_code == 200
    with bearer(rf, editor["token"]) as api:
        assert api.post("/workflows/roles-wf/activate").status_code == 403
    revoked = json.loads(rf.cli("tokens", "list", "vera", "--json").stdout)
    assert {t["label"] for t in revoked} == {"grafana", "mine"}
    rf.cli("tokens", "revoke", viewer["id"])
    with bearer(rf, viewer["token"]) as api:
        assert api.get("/workflows").status_code == 401

    # A viewer's web UI session reads pages but cannot change anything through the API.
    with httpx.Client(base_url=rf.url, follow_redirects=False) as web:
        signed = web.post("/login", data={"username": "vera", "password": "long-enough-pass"})
        assert signed.status_code == 303
        page = web.get("/workflows")
        assert page.status_code == 200
        csrf = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        paused = web.post("/api/v1/workflows/roles-wf/pause", headers={"X-Relayflow-CSRF": csrf})
    assert paused.status_code == 403

    with rf.api() as owner:
        actions = [(e["action"], e["target"]) for e in owner.get("/audit").json()]
    assert ("token.revoke", "vera") in actions and ("user.role", "ed") in actions


def test_viewers_see_no_payloads_when_the_operator_hides_them(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.env["RELAYFLOW_MASK_FOR_VIEWERS"] = "1"
    rf.start()
    with rf.api() as owner:
        assert owner.post("/workflows", content=WORKFLOW, headers=YAML).status_code == 200
        body = {"name": "vera", "password": "long-enough-pass", "role": "viewer"}
        assert owner.post("/users", json=body).status_code == 201
        token = owner.post("/tokens", json={"user": "vera"}).json()["token"]
    sent = httpx.post(f"{rf.url}/hooks/roles-wf", json={"email": "private@example.com"})
    run = rf.wait_finished(sent.json()["run_id"])
    assert "private@example.com" in json.dumps(run)  # the owner sees it all

    with bearer(rf, token) as api:
        shown = api.get(f"/runs/{run['id']}").json()
        event = api.get(f"/events/{run['event_id']}").json()
        search = api.get("/runs", params={"q": "private"})
        listed = api.get("/runs").json()
    assert shown["status"] == "succeeded" and shown["steps"][0]["step_name"] == "gate"
    assert "private@example.com" not in json.dumps(shown) + json.dumps(event)
    assert "RELAYFLOW_MASK_FOR_VIEWERS" in shown["event"]
    assert search.status_code == 403
    assert [r["id"] for r in listed] == [run["id"]]

    with httpx.Client(base_url=rf.url) as web:
        web.post("/login", data={"username": "vera", "password": "long-enough-pass"})
        page = web.get(f"/runs/{run['id']}").text
    assert "hidden from viewers" in page and "private@example.com" not in page


def test_the_tokens_page_creates_shows_once_and_revokes(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.start()
    with rf.api() as owner:
        body = {"name": "vera", "password": "long-enough-pass", "role": "viewer"}
        assert owner.post("/users", json=body).status_code == 201
    with httpx.Client(base_url=rf.url, follow_redirects=True) as web:
        web.post("/login", data={"username": "vera", "password": "long-enough-pass"})
        page = web.get("/tokens").text
        csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        assert '<option value="editor">' not in page  # a viewer's tokens are viewers'
        created = web.post("/tokens", data={"csrf": csrf, "label": "grafana", "role": "viewer"})
        secret = created.text.split('<pre class="token-secret"><code>', 1)[1].split("<", 1)[0]
        assert secret.startswith("rft_") and secret not in web.get("/tokens").text
        with bearer(rf, secret) as api:
            assert api.get("/workflows").status_code == 200
        (token,) = json.loads(rf.cli("tokens", "list", "--json").stdout)
        revoked = web.post(f"/tokens/{token['id']}/revoke", data={"csrf": csrf})
        assert revoked.status_code == 200 and "Revoke" not in revoked.text.split("<tbody>")[1]
    with bearer(rf, secret) as api:
        assert api.get("/workflows").status_code == 401
