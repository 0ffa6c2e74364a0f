"""Workflow files: every problem as file:line: path: message; nothing deployed on error."""

from __future__ import annotations

import json
from pathlib import Path

from relayflow.model.loader import WorkflowFileError, parse_workflow

BROKEN = """\
name: Bad Name
trigger:
  schedule:
    cron: "every monday"
steps:
  - name: first
    uses: util.echo
    with:
      value: "{{ steps.trigger.event.body.x "
  - name: first
    uses: http.request
    with:
      url: https://example.com
      colour: red
  - name: third
    uses: clevertap.nothing_like_this
settings:
  concurrency: 0
"""


def problems(text: str) -> list[str]:
    try:
        parse_workflow(text, "wf.yaml")
    except WorkflowFileError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_every_model_problem_is_listed_with_its_line():
    found = problems(BROKEN)
    joined = "\n".join(found)
    assert "wf.yaml:1: name: " in joined and "must be lower-case" in joined
    assert "wf.yaml:4: trigger.schedule.cron: 'every monday' is not a cron expression" in joined
    assert "wf.yaml:18: settings.concurrency: " in joined
    assert "two steps are named 'first'" in joined


def test_step_problems_name_the_step_field_and_the_fix():
    text = BROKEN.replace("name: Bad Name", "name: ok").replace("every monday", "0 9 * * 1")
    text = text.replace("concurrency: 0", "concurrency: 5").replace(
        "  - name: first\n    uses: http", "  - name: second\n    uses: http"
    )
    found = problems(text)
    assert any(
        p.startswith("wf.yaml:9: steps[0].with.value: ") and "is not a valid template" in p
        for p in found
    ), found
    assert any(
        p.startswith("wf.yaml:14: steps[1].with.colour: http.request has no input 'colour'")
        for p in found
    ), found
    assert any(
        p.startswith("wf.yaml:16: steps[2].uses: no action named 'clevertap.nothing_like_this'")
        for p in found
    ), found


def test_missing_required_inputs_and_bad_literals_are_reported():
    text = """\
name: ok
trigger: {http: {path: ok}}
steps:
  - name: call
    uses: http.request
    with:
      method: FETCH
      query: 5
      headers: {Accept: [json]}
"""
    found = problems(text)
    assert any("steps[0].with.method: " in p and "'GET'" in p for p in found), found
    assert any("needs the input 'url'" in p for p in found), found
    # A wrong type names the input, what it got and what it needs.
    assert "wf.yaml:8: steps[0].with.query: expected an object, got the number 5" in found
    assert "wf.yaml:9: steps[0].with.headers.Accept: expected text, got a list of 1 item" in found


def test_yaml_syntax_errors_point_at_the_line():
    found = problems("name: x\ntrigger: {http: {path: x}\nsteps: []\n")
    assert len(found) == 1 and found[0].startswith("wf.yaml:") and "not valid YAML" in found[0]


def test_a_trigger_needs_exactly_one_kind():
    found = problems("name: x\ntrigger: {}\n")
    assert any("exactly one trigger" in p for p in found), found


def test_cli_deploy_refuses_a_folder_with_any_bad_file(sqlite_relayflow, tmp_path: Path):
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "good.yaml").write_text(
        "name: good\ntrigger: {http: {path: good}}\nsteps:\n"
        "  - {name: a, uses: util.echo, with: {value: 1}}\n"
    )
    (folder / "bad.yaml").write_text(
        "name: bad\ntrigger: {http: {path: bad}}\nsteps:\n  - {name: a, uses: util.nope}\n"
    )
    result = sqlite_relayflow.cli("deploy", str(folder), check=False)
    assert result.returncode == 1
    assert f"{folder / 'bad.yaml'}:4: steps[0].uses: no action named 'util.nope'" in result.stderr
    assert "nothing was deployed" in result.stderr
    listed = json.loads(sqlite_relayflow.cli("workflows", "list", "--json").stdout)
    assert listed == []


def test_deploy_creates_versions_only_when_something_changed(sqlite_relayflow):
    flow = (
        "name: v\ntrigger: {http: {path: v}}\nsteps:\n"
        "  - {name: a, uses: util.echo, with: {value: %d}}\n"
    )
    sqlite_relayflow.deploy_text("v", flow % 1)
    sqlite_relayflow.deploy_text("v", flow % 1)
    out = sqlite_relayflow.deploy_text("v", flow % 2).stdout
    assert "v2" in out
    shown = json.loads(sqlite_relayflow.cli("workflows", "show", "v", "--json").stdout)
    assert shown["version"] == 2
    assert [v["version"] for v in shown["versions"]] == [2, 1]
    assert shown["definition"]["steps"][0]["with"] == {"value": 2}


def test_two_workflows_cannot_share_a_path(sqlite_relayflow):
    sqlite_relayflow.deploy_text("a", "name: a\ntrigger: {http: {path: same}}\n")
    result = sqlite_relayflow.cli(
        "deploy",
        str(_write(sqlite_relayflow.home / "b.yaml", "name: b\ntrigger: {http: {path: same}}\n")),
        check=False,
    )
    assert result.returncode == 1
    assert "'same' is already used by workflow 'a'" in result.stderr


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_every_problem_of_a_file_comes_in_one_pass():
    # The model's problems (name, cron, duplicate step, concurrency) do not hide those of
    # the steps that read on their own: a broken template, an unknown input and action.
    found = problems(BROKEN)
    expected = [
        "wf.yaml:1: name: ",
        "wf.yaml:4: trigger.schedule.cron: ",
        "wf.yaml:9: steps[0].with.value: ",
        "wf.yaml:14: steps[1].with.colour: http.request has no input 'colour'",
        "wf.yaml:16: steps[2].uses: no action named 'clevertap.nothing_like_this'",
        "wf.yaml:18: settings.concurrency: ",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in found), (start, found)
    assert [int(p.split(":")[1]) for p in found] == sorted(int(p.split(":")[1]) for p in found)


ACCOUNTS = """\
name: Signup Flow
trigger: {http: {path: signup-accounts}}
steps:
  - name: upsert
    uses: clevertap.upload_profile
    account: clevertap-prod
    with: {identity: "{{ steps.trigger.event.body.id }}"}
  - name: charged
    uses: clevertap.upload_event
    account: shop
    with: {identity: "{{ steps.trigger.event.body.id }}", event_name: Charged}
"""


def test_deploy_refuses_accounts_that_are_missing_or_of_another_app_with_the_rest(
    sqlite_relayflow, tmp_path: Path
):
    rf = sqlite_relayflow
    rf.cli("accounts", "add", "shopify", "shop", "--shop", "x.myshopify.com",
           "--webhook-secret", "s3cret")  # fmt: skip
    file = tmp_path / "signup.yaml"
    file.write_text(ACCOUNTS)
    result = rf.cli("deploy", str(file), check=False)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{file}:1: name: workflow name 'Signup Flow'")
    assert lines[1] == (
        f"{file}:6: steps[0].account: no account named 'clevertap-prod'; connect it with"
        " `relayflow accounts add clevertap clevertap-prod ...`"
    )
    assert lines[2] == (
        f"{file}:10: steps[1].account: account 'shop' is a Shopify account (shopify), but"
        " clevertap.upload_event needs a CleverTap account: connect one with"
        " `relayflow accounts add clevertap NAME ...`"
    )
    assert "3 problems found; nothing was deployed" in result.stderr
    assert json.loads(rf.cli("workflows", "list", "--json").stdout) == []
