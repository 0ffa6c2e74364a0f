"""The egress policy's rules on their own: what each kind matches, which wins, and a rule
that does not parse stopping relayflow at start with a message that says how to write it."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from relayflow.egress import EgressPolicy, EgressRefused

PUBLIC = ip_address("93.184.215.14")


def policy(monkeypatch, deny: str = "", allow: str = "", listen: str | None = None):
    monkeypatch.setenv("RELAYFLOW_EGRESS_DENY", deny)
    monkeypatch.setenv("RELAYFLOW_EGRESS_ALLOW", allow)
    return EgressPolicy.from_env(listen)


def test_defaults_refuse_metadata_and_the_own_port_only(monkeypatch):
    rules = policy(monkeypatch, listen="127.0.0.1:8787")
    assert rules.refusal(None, ip_address("169.254.169.254"), 80).text == "169.254.0.0/16"
    assert rules.refusal(None, ip_address("::ffff:169.254.169.254"), 80) is not None
    assert rules.refusal(None, ip_address("fd00:ec2::254"), 80).text == "fd00:ec2::254"
    assert rules.refusal(None, ip_address("127.0.0.1"), 8787).text == "127.0.0.1:8787"
    for open_ip, port in (("127.0.0.1", 8788), ("10.0.0.5", 80), ("::1", 8787), (PUBLIC, 443)):
        assert rules.refusal(None, ip_address(open_ip), port) is None, open_ip


def test_a_wildcard_listen_address_denies_that_port_on_loopback(monkeypatch):
    rules = policy(monkeypatch, listen="0.0.0.0:9000")
    assert rules.refusal(None, ip_address("127.0.0.2"), 9000) is not None
    assert rules.refusal(None, ip_address("::1"), 9000) is not None
    assert rules.refusal(None, ip_address("127.0.0.2"), 9001) is None


def test_an_allow_list_with_deny_everything(monkeypatch):
    rules = policy(monkeypatch, deny="*", allow="*.clevertap.com, 10.1.0.0/16")
    assert rules.refusal("in1.api.clevertap.com", PUBLIC, 443) is None
    assert rules.refusal("clevertap.com", PUBLIC, 443) is None
    assert rules.refusal(None, ip_address("10.1.2.3"), 5432) is None
    assert rules.refusal("example.com", PUBLIC, 443).text == "*"
    with pytest.raises(EgressRefused, match=r"example.com \(93.184.215.14\) port 443"):
        rules.allowed_addresses("example.com", 443, [str(PUBLIC)])
    # Only the addresses the policy allows are connected to.
    assert rules.allowed_addresses("db", 5432, ["10.1.2.3", "10.2.0.1"]) == ["10.1.2.3"]


def test_an_allow_rule_wins_over_the_defaults(monkeypatch):
    rules = policy(monkeypatch, allow="169.254.170.2:80")  # e.g. ECS task credentials
    assert rules.refusal(None, ip_address("169.254.170.2"), 80) is None
    assert rules.refusal(None, ip_address("169.254.169.254"), 80) is not None


def test_host_name_rules_refuse_before_resolving(monkeypatch):
    rules = policy(monkeypatch, deny="internal.example, *.corp.example:443")
    with pytest.raises(EgressRefused, match="deny rule internal.example"):
        rules.check_name("INTERNAL.example.", 80)
    with pytest.raises(EgressRefused, match=r"\*\.corp\.example:443"):
        rules.check_name("git.corp.example", 443)
    rules.check_name("git.corp.example", 80)  # another port
    rules.check_name("notinternal.example", 80)


def test_the_policy_reaches_code_steps_unchanged(monkeypatch):
    rules = policy(monkeypatch, deny="10.0.0.0/8,*.x.test", allow="10.9.9.9", listen="[::1]:80")
    assert EgressPolicy.from_json(rules.to_json()) == rules


def test_a_rule_that_does_not_parse_stops_relayflow_at_start(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.env["RELAYFLOW_EGRESS_DENY"] = "10.0.0.0/8, not a host!"
    refused = rf.cli("up", "--port", "1", check=False)
    assert refused.returncode == 1
    said = " ".join(refused.stderr.split())
    assert "RELAYFLOW_EGRESS_DENY: 'not a host!' is not a CIDR, an address or a host name" in said


def test_httpx_transports_check_each_connection_after_resolving(monkeypatch):
    """The transports SDK clients use (polling sources, Google sign-in, CleverTap)."""
    import asyncio

    import httpx

    from relayflow.egress import async_transport, sync_transport

    from .web import Web

    allowed, denied = Web(), Web()
    try:
        rules = policy(monkeypatch, deny=f"127.0.0.1:{denied.port}")
        with httpx.Client(transport=sync_transport(rules)) as client:
            assert client.get(f"http://localhost:{allowed.port}/x").json() == {"reached": True}
            resolved = f"localhost \\(127.0.0.1\\) port {denied.port}"
            with pytest.raises(EgressRefused, match=resolved):
                client.get(f"http://localhost:{denied.port}/x")
            redirect = f"{allowed.url}/redirect?to={denied.url}/x"
            with pytest.raises(EgressRefused, match=f"127.0.0.1:{denied.port}"):
                client.get(redirect, follow_redirects=True)

        async def fetch(url: str) -> int:
            async with httpx.AsyncClient(transport=async_transport(rules)) as client:
                return (await client.get(url)).status_code

        assert asyncio.run(fetch(f"{allowed.url}/x")) == 200
        with pytest.raises(EgressRefused, match="169.254.0.0/16"):
            asyncio.run(fetch("http://169.254.169.254/latest/meta-data"))
    finally:
        allowed.close()
        denied.close()
