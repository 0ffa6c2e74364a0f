"""CleverTap's official node client (npm clevertap@1.3.0) talks to the sandbox unchanged.

The client builds `https://<region>.api.clevertap.com/1` from its region and keeps it in
`instance.api.apiEndpoint` (lib/clevertap-api.js); the script points that field at the
sandbox after `init`, so the installed package files stay as published.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from relayflow.sandbox import SandboxServer

pytestmark = pytest.mark.npm

SCRIPT = r"""
const path = require("path");
const [prefix, baseUrl, accountId, passcode] = process.argv.slice(2);
const CleverTap = require(path.join(prefix, "node_modules", "clevertap"));

async function main() {
  const clevertap = CleverTap.init(accountId, passcode, CleverTap.REGIONS.EUROPE);
  clevertap.api.apiEndpoint = `${baseUrl}/1`;
  const upload = await clevertap.upload([
    {type: "profile", identity: "node-user-1", ts: 1714564800,
     profileData: {Name: "Node User", Email: "node@example.com", Phone: "+14155551234",
                   Plan: "Gold"}},
    {type: "event", identity: "node-user-1", ts: 1714568400, evtName: "Signed Up",
     evtData: {Source: "npm"}},
    {type: "event", identity: "node-user-1", ts: 1714568400, evtName: "App Launched",
     evtData: {}},
  ]);
  const profile = await clevertap.profile({identity: "node-user-1"});
  const events = await clevertap.events(
    {event_name: "Signed Up", from: 20240501, to: 20240501}, {batchSize: 1});
  const count = await clevertap.getEventsCount(
    {event_name: "Signed Up", from: 20240501, to: 20240501});
  // Guests: an anonymous user by CleverTap ID, a guest checkout by email as identity.
  const guests = await clevertap.upload([
    {type: "event", objectId: "__g5b4f8a2c9d3e41f7a", ts: 1714568400, evtName: "Viewed",
     evtData: {Page: "pricing"}},
    {type: "profile", identity: "guest@example.com", ts: 1714568400,
     profileData: {Email: "guest@example.com", Name: "Gus"}},
  ]);
  const byEmail = await clevertap.profile({email: "guest@example.com"});
  const byObjectId = await clevertap.profile({objectId: "__g5b4f8a2c9d3e41f7a"});
  const campaign = {name: "Order update", segment: "all", when: "now", devices: ["android"],
                    content: {title: "Shipped", body: "Your order is on its way"}};
  const sms = await clevertap.targets(clevertap.TARGET_CREATE, {...campaign, target_mode: "sms"});
  const fax = await clevertap.targets(clevertap.TARGET_CREATE, {...campaign, target_mode: "fax"});
  console.log(JSON.stringify({upload, profile, events, count, guests, byEmail, byObjectId, sms,
                              fax}));
}

main().catch((error) => { console.error(error); process.exit(1); });
"""


@pytest.fixture(scope="module")
def node_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with clevertap@1.3.0 installed from the npm registry."""
    npm = shutil.which("npm")
    node = shutil.which("node")
    if npm is None or node is None:
        pytest.skip("npm and node are not on PATH; install Node.js to run the node client test")
    prefix = tmp_path_factory.mktemp("clevertap-node")
    result = subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "clevertap@1.3.0"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"npm install clevertap@1.3.0 failed:\n{result.stderr}"
    return prefix


def test_official_node_client_uploads_and_reads_back(node_client: Path) -> None:
    script = node_client / "roundtrip.js"
    script.write_text(SCRIPT)
    with SandboxServer(accounts={"NODE-ACC": "node-pass"}) as sandbox:
        result = subprocess.run(
            ["node", str(script), str(node_client), sandbox.url, "NODE-ACC", "node-pass"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        output = json.loads(result.stdout.strip().splitlines()[-1])
        stats = sandbox.stats()

    upload = output["upload"]
    assert upload["status"] == "partial"
    assert upload["processed"] == 2
    [skipped] = upload["unprocessed"]
    assert skipped["code"] == 513
    assert skipped["error"].endswith("Skipped record number : 3")

    record = output["profile"]["record"]
    assert output["profile"]["status"] == "success"
    assert record["identity"] == "node-user-1"
    assert record["profileData"]["Plan"] == "Gold"
    assert record["events"]["Signed Up"]["count"] == 1
    assert "App Launched" not in record["events"]

    [event] = output["events"]
    assert event["event_props"] == {"Source": "npm"}
    assert event["ts"] == 20240501130000
    assert output["count"] == {"status": "success", "count": 1}
    # The client's GET ?query= form creates the cursor, then it follows it with GETs.
    assert stats["requests"]["by_path"]["/1/events.json"] == 2

    assert output["guests"] == {"status": "success", "processed": 2, "unprocessed": []}
    assert output["byEmail"]["record"]["identity"] == "guest@example.com"
    assert output["byEmail"]["record"]["profileData"]["Name"] == "Gus"
    assert output["byObjectId"]["record"]["events"]["Viewed"]["count"] == 1
    assert output["sms"]["status"] == "success" and isinstance(output["sms"]["id"], int)
    assert output["fax"]["status"] == "fail"
    assert "target_mode is 'fax'; use one of push, webpush, email, sms" in output["fax"]["error"]
    assert stats["requests"]["by_status"] == {"200": 9, "400": 1}
