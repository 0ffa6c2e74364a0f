"""The other CleverTap actions in real workflows: profiles read and deleted, campaigns run."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from relayflow.sandbox import SandboxServer

from .helpers import Installation, profile

PROFILE_ROUND_TRIP = """
name: profile-round-trip
trigger:
  http: {path: profile-round-trip}
steps:
  - name: upsert
    uses: clevertap.upload_profile
    account: clevertap-demo
    with:
      identity: "{{ steps.trigger.event.body.user_id }}"
      email: "{{ steps.trigger.event.body.email }}"
      properties: {Points: {$incr: 5}, DOB: "1990-04-01"}
  - name: read
    uses: clevertap.get_profile
    account: clevertap-demo
    with: {identity: "{{ steps.trigger.event.body.user_id }}"}
  - name: remove
    uses: clevertap.delete_profiles
    account: clevertap-demo
    with: {identities: ["{{ steps.trigger.event.body.user_id }}"]}
  - name: read_again
    uses: clevertap.get_profile
    account: clevertap-demo
    with: {email: "{{ steps.trigger.event.body.email }}"}
"""


def test_a_profile_is_written_read_and_deleted(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.deploy(PROFILE_ROUND_TRIP)
    installation.post("profile-round-trip", {"user_id": "u-77", "email": "u77@example.com"})
    (run,) = installation.wait_finished("profile-round-trip", 1)

    assert run["status"] == "succeeded", run["error"]
    upsert, read, remove, read_again = installation.run(run["id"])["steps"]
    props = read["return_value"]["profile"]["profileData"]
    assert read["return_value"]["found"] is True
    assert props["Points"] == 5 and props["DOB"] == "$D_638928000"
    assert remove["return_value"] == {"deleted": 1, "by": "identity", "requests": 1}
    assert read_again["return_value"] == {"found": False, "profile": None}
    assert read_again["exports"]["$summary"] == "No profile with email u77@example.com"
    assert profile(sandbox, "u-77") is None


CAMPAIGN = """
name: campaign-lifecycle
trigger:
  http: {path: campaign-lifecycle}
steps:
  - name: reach
    uses: clevertap.create_campaign
    account: clevertap-demo
    with: {name: Spring sale, target_mode: push, all_users: true, estimate_only: true}
  - name: create
    uses: clevertap.create_campaign
    account: clevertap-demo
    with:
      name: Spring sale
      target_mode: push
      when: "20991231 10:00"
      where: {event_name: Charged, from: 20240101, to: 20991231}
      content: '{"title": "Hi!", "body": "Spring sale today"}'
  - name: listed
    uses: clevertap.get_campaigns
    account: clevertap-demo
    with: {from: "{{ steps.trigger.event.body.today }}", to: "{{ steps.trigger.event.body.today }}"}
  - name: stop
    uses: clevertap.stop_campaign
    account: clevertap-demo
    with: {campaign_id: "{{ steps.create.$return_value.id }}"}
  - name: report
    uses: clevertap.get_campaign_report
    account: clevertap-demo
    with: {campaign_id: "{{ steps.create.$return_value.id }}"}
"""


def test_a_campaign_is_estimated_created_listed_stopped_and_reported(
    installation: Installation, sandbox: SandboxServer
) -> None:
    httpx.post(
        f"{sandbox.url}/1/upload",
        headers=sandbox.headers(),
        json={"d": [{"type": "profile", "identity": f"p{i}", "profileData": {}} for i in range(3)]},
    ).raise_for_status()
    installation.deploy(CAMPAIGN)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    installation.post("campaign-lifecycle", {"today": today})
    (run,) = installation.wait_finished("campaign-lifecycle", 1)

    assert run["status"] == "succeeded", run["error"]
    reach, create, listed, stop, report = installation.run(run["id"])["steps"]
    assert reach["return_value"]["estimates"] == {"android": 3, "ios": 3}
    campaign_id = create["return_value"]["id"]
    assert create["exports"]["$summary"] == f"Created campaign Spring sale (id {campaign_id})"
    assert [t["id"] for t in listed["return_value"]["targets"]] == [campaign_id]
    assert stop["return_value"] == {"status": "success"}
    assert report["return_value"]["result"]["status"] == "stopped"


def test_a_campaign_without_an_audience_is_refused_before_sending(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.deploy(
        CAMPAIGN.replace("campaign-lifecycle", "no-audience").replace(
            "all_users: true, estimate_only: true", "when: now"
        )
    )
    installation.post("no-audience", {"today": "20240101"})
    (run,) = installation.wait_finished("no-audience", 1)

    assert run["status"] == "failed"
    assert "give one of where, all_users: true, or the users (identities" in run["error"]
    assert sandbox.stats()["requests"]["total"] == 0


USER_CAMPAIGNS = """
name: user-campaigns
trigger:
  http: {path: user-campaigns}
steps:
  - name: sms
    uses: clevertap.create_campaign
    account: clevertap-demo
    with:
      name: Order shipped
      target_mode: sms
      identities: "{{ steps.trigger.event.body.user_id }}"
      content: {body: "Your order is on its way"}
  - name: whatsapp_everyone
    uses: clevertap.create_campaign
    account: clevertap-demo
    with:
      name: Weekly digest
      target_mode: whatsapp
      all_users: true
      content: {template_name: digest, locale: en}
"""


def test_sms_and_whatsapp_campaigns_reach_listed_users_or_a_segment(
    installation: Installation, sandbox: SandboxServer
) -> None:
    httpx.post(
        f"{sandbox.url}/1/upload",
        headers=sandbox.headers(),
        json={"d": [{"type": "profile", "identity": "c-1", "profileData": {}}]},
    ).raise_for_status()
    installation.deploy(USER_CAMPAIGNS)
    installation.post("user-campaigns", {"user_id": "c-1"})
    (run,) = installation.wait_finished("user-campaigns", 1)

    assert run["status"] == "succeeded", run["error"]
    sms, everyone = installation.run(run["id"])["steps"]
    assert sms["return_value"]["processed"] == 1
    assert sms["exports"]["$summary"] == "Sent sms campaign Order shipped to 1"
    [message] = sandbox.messages(identity="c-1")
    assert message["channel"] == "sms" and message["content"]["body"] == "Your order is on its way"
    assert isinstance(everyone["return_value"]["id"], int)
    assert sandbox.stats()["requests"]["by_path"]["/1/send/sms.json"] == 1


def test_a_user_campaign_without_what_its_channel_needs_is_refused_before_sending(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.deploy(
        USER_CAMPAIGNS.replace("user-campaigns", "bad-push").replace(
            "target_mode: sms", "target_mode: push"
        )
    )
    installation.post("bad-push", {"user_id": "c-1"})
    (run,) = installation.wait_finished("bad-push", 1)

    assert run["status"] == "failed"
    assert "content: a push message needs content.title, e.g. {" in run["error"]
    assert sandbox.stats()["requests"]["total"] == 0
