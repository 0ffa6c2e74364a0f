"""Python code steps inside workflows: pd.steps, inputs, exports, flow control, stores."""

from __future__ import annotations

import json

import httpx

CODE = """\
name: coded
trigger: {http: {path: coded}}
steps:
  - name: shape
    uses: util.echo
    with: {value: {email: "{{ steps.trigger.event.body.email }}"}}
  - name: score
    with:
      bonus: "{{ steps.trigger.event.body.bonus }}"
      counter: {data_store: counters}
    code: |
      def handler(pd):
          email = pd.steps["shape"]["$return_value"]["email"]
          print("scoring", email)
          pd.export("domain", email.split("@")[1])
          visits = pd.inputs["counter"].incr(email)
          if email.endswith("@example.com"):
              return pd.flow.exit("test account")
          return {"score": 40 + pd.inputs["bonus"], "visits": visits}
  - name: after
    uses: util.echo
    with: {value: "{{ steps.score.domain }} {{ steps.score.$return_value.score }}"}
"""


def run(rf, body):
    run_id = httpx.post(f"{rf.url}/hooks/coded", json=body).json()["run_id"]
    return run_id


def test_code_steps_see_earlier_steps_and_can_export_exit_and_count(relayflow):
    relayflow.deploy_text("coded", CODE)
    relayflow.start()
    first = run(relayflow, {"email": "ann@acme.io", "bonus": 2})
    second = run(relayflow, {"email": "ann@acme.io", "bonus": 2})
    test_account = run(relayflow, {"email": "bot@example.com", "bonus": 0})
    relayflow.wait_runs(2, timeout=60)
    relayflow.wait_runs(1, status="exited", timeout=60)
    shown = relayflow.inspect(second)
    score = shown["steps"][1]
    assert score["return_value"]["score"] == 42
    assert score["exports"] == {"domain": "acme.io"}
    assert score["logs"] == ["scoring ann@acme.io"]
    assert shown["steps"][2]["return_value"] == "acme.io 42"
    other = relayflow.inspect(first)["steps"][1]
    # The two runs ran concurrently: the atomic counter gave each its own number.
    assert sorted([score["return_value"]["visits"], other["return_value"]["visits"]]) == [1, 2]
    exited = relayflow.inspect(test_account)
    assert exited["status"] == "exited" and exited["error"] == "test account"
    assert (
        json.loads(relayflow.cli("stores", "get", "counters", "ann@acme.io", "--json").stdout)[
            "value"
        ]
        == 2
    )


FAILING = """\
name: failing
trigger: {http: {path: failing}}
steps:
  - name: boom
    code: |
      def helper(x):
          return 1 / x

      def handler(pd):
          return helper(pd.steps["trigger"]["event"]["body"]["x"])
"""


def test_a_code_step_error_shows_the_users_traceback(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.deploy_text("failing", FAILING)
    result = rf.cli("test", "failing", "--event", "-", input='{"x": 0}', check=False)
    assert result.returncode == 1
    shown = json.loads(rf.cli("runs", "--json").stdout)[0]
    assert "ZeroDivisionError" in shown["error"] or "division by zero" in shown["error"]
    run = rf.inspect(shown["id"])
    trace = run["steps"][0]["error"]["traceback"]
    assert "return 1 / x" in trace and "relayflow" not in trace


def test_code_steps_are_checked_at_deploy(sqlite_relayflow):
    rf = sqlite_relayflow
    bad = rf.home / "bad.yaml"
    bad.write_text(
        "name: bad\ntrigger: {manual: {}}\nsteps:\n  - name: s\n    code: |\n"
        "      def handle(pd):\n          return 1\n"
        "  - name: t\n    code: 'def handler(pd) return'\n"
    )
    result = rf.cli("deploy", str(bad), check=False)
    assert result.returncode == 1
    assert "bad.yaml:5: steps[0].code: code steps define `def handler(pd):`" in result.stderr
    assert "steps[1].code: Python syntax error at line 1" in result.stderr


def test_code_file_is_read_relative_to_the_workflow(sqlite_relayflow, tmp_path):
    rf = sqlite_relayflow
    folder = tmp_path / "flow"
    (folder / "steps").mkdir(parents=True)
    (folder / "steps" / "double.py").write_text("def handler(pd):\n    return pd.inputs['n'] * 2\n")
    (folder / "flow.yaml").write_text(
        "name: filed\ntrigger: {manual: {}}\nsteps:\n"
        "  - {name: double, code_file: steps/double.py, with: {n: 21}}\n"
    )
    rf.cli("deploy", str(folder))
    out = json.loads(rf.cli("test", "filed", "--json").stdout)
    assert out["steps"][0]["return_value"] == 42


RESPONDING = """\
name: quoting
trigger: {http: {path: quote, respond: from_workflow}}
steps:
  - name: answer
    code: |
      def handler(pd):
          qty = pd.steps["trigger"]["event"]["body"]["qty"]
          pd.respond({"status": 202, "headers": {"x-by": "code"}, "body": {"total": qty * 3}})
          return qty
  - name: poll
    code: |
      def handler(pd):
          runs = pd.context["run"]["runs"]
          if runs < 3:
              pd.flow.rerun(100, None, 5)
          return runs
"""


def test_code_steps_respond_to_the_caller_and_rerun(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.deploy_text("quoting", RESPONDING)
    rf.start()
    answer = httpx.post(f"{rf.url}/hooks/quote", json={"qty": 5}, timeout=10)
    assert answer.status_code == 202 and answer.headers["x-by"] == "code"
    assert answer.json() == {"total": 15}
    (run,) = rf.wait_runs(1, timeout=30)
    shown = rf.inspect(run["id"])
    poll = shown["steps"][1]
    assert poll["return_value"] == 3 and poll["attempts"] == 3


def test_code_steps_get_account_fields_and_secrets_stay_out_of_records(sqlite_relayflow):
    rf = sqlite_relayflow
    rf.cli(
        "accounts",
        "add",
        "clevertap",
        "ct",
        "--account-id",
        "ACC-1",
        "--passcode",
        "very-secret-passcode",
        "--endpoint",
        "http://127.0.0.1:9",
        "--no-test",  # the step reads its fields; nothing calls CleverTap
    )
    rf.deploy_text(
        "authed",
        """\
name: authed
trigger: {manual: {}}
steps:
  - name: use
    accounts: {clevertap: ct}
    code: |
      def handler(pd):
          auth = pd.inputs["clevertap"]["$auth"]
          print("passcode is", auth["passcode"])
          return {"account": auth["account_id"], "echo": auth["passcode"]}
""",
    )
    out = rf.cli("test", "authed", "--json").stdout
    run = json.loads(out)
    step = run["steps"][0]
    assert step["return_value"]["account"] == "ACC-1"
    assert "very-secret-passcode" not in out
    assert step["logs"] == ["passcode is ••••••"]
    assert step["inputs"]["clevertap"]["$auth"] == "••••••"


def test_workflow_requirements_are_installed_once_or_fail_clearly(sqlite_relayflow):
    rf = sqlite_relayflow
    step = (
        "steps:\n  - name: ver\n    code: |\n      def handler(pd):\n"
        "          import six\n          return six.__version__\n"
    )
    rf.deploy_text("needs", "name: needs\ntrigger: {manual: {}}\nrequirements: [six]\n" + step)
    ok = json.loads(rf.cli("test", "needs", "--json").stdout)
    assert ok["status"] == "succeeded" and ok["steps"][0]["return_value"].count(".") >= 1
    assert any((rf.home / "code-envs").iterdir())
    rf.deploy_text(
        "broken", "name: broken\ntrigger: {manual: {}}\nrequirements: ['six==999.0']\n" + step
    )
    bad = rf.cli("test", "broken", "--json", check=False)
    assert bad.returncode == 1
    error = json.loads(bad.stdout)["steps"][0]["error"]
    assert "six==999.0" in error["message"]
