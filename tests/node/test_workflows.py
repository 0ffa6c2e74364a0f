"""Node.js code steps inside workflows on a real `relayflow up`: Pipedream components pasted
unchanged, checked at deploy, run in the sandbox (which hides relayflow's home), with npm
`packages:` installed once per set."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import Relayflow, platform_with_secrets


def workflow(name: str, steps: str, extra: str = "", trigger: str = "") -> str:
    trigger = trigger or f"{{http: {{path: {name}}}}}"
    return f"name: {name}\ntrigger: {trigger}\n{extra}steps:\n{textwrap.dedent(steps)}"


SCORE = workflow(
    "node-score",
    """\
    - name: score
      runtime: nodejs
      with: {bonus: "{{ steps.trigger.event.body.bonus }}", counter: {data_store: visits}}
      code: |
        export default defineComponent({
          async run({ steps, $ }) {
            const email = steps.trigger.event.body.email;
            console.log("scoring", email);
            $.export("domain", email.split("@")[1]);
            const visits = await this.counter.incr(email);
            if (email.endsWith("@example.com")) {
              return $.flow.exit("test account");
            }
            return { score: 40 + this.bonus, visits };
          },
        });
    - name: after
      uses: util.echo
      with: {value: "{{ steps.score.domain }} {{ steps.score.$return_value.score }}"}
    """,
)

QUOTE = workflow(
    "node-quote",
    """\
    - name: answer
      runtime: nodejs
      code: |
        export default defineComponent({
          async run({ steps, $ }) {
            const qty = steps.trigger.event.body.qty;
            await $.respond({ status: 202, headers: { "x-by": "node" }, body: { total: qty * 3 } });
            return qty;
          },
        });
    """,
    trigger="{http: {path: node-quote, respond: from_workflow}}",
)

DELAY = workflow(
    "node-delay",
    """\
    - name: wait
      runtime: nodejs
      code: |
        export default defineComponent({
          async run({ steps, $ }) {
            const { resume_url } = $.flow.delay(300);
            return { resumable: resume_url.includes("/resume") };
          },
        });
    - name: after
      uses: util.echo
      with: {value: "{{ steps.wait.$return_value.resumable }}"}
    """,
)

BOOM = workflow(
    "node-boom",
    """\
    - name: boom
      runtime: nodejs
      code: |
        function total(order) {
          return order.items.reduce((sum, item) => sum + item.price, 0);
        }
        export default defineComponent({
          async run({ steps }) {
            return total(steps.trigger.event.body);
          },
        });
    """,
)

STEAL = workflow(
    "node-steal",
    """\
    - name: steal
      runtime: nodejs
      with: {home: "{{ steps.trigger.event.body.home }}"}
      code: |
        import fs from "node:fs";
        const attempt = (what) => {
          try { return ["read", String(what())]; } catch (e) { return [e.code]; }
        };
        export default defineComponent({
          async run() {
            return {
              key: attempt(() => fs.readFileSync(`${this.home}/secret.key`, "utf8")),
              token: attempt(() => fs.readFileSync(`${this.home}/api-token`, "utf8")),
              home: attempt(() => fs.readdirSync(this.home)),
              environ: Object.keys(process.env).filter((name) => name.startsWith("RELAYFLOW")),
            };
          },
        });
    """,
)

LODASH = workflow(
    "node-lodash",
    """\
    - name: chunks
      runtime: nodejs
      code: |
        import _ from "lodash";
        export default defineComponent({
          async run({ steps }) {
            return _.chunk(steps.trigger.event.body.items, 2);
          },
        });
    """,
    extra="packages: [lodash@4]\n",
)


@pytest.fixture(scope="module")
def platform() -> Iterator[Relayflow]:
    double = (
        "export default defineComponent({\n"
        "  async run({ steps }) { return steps.trigger.event.body.n * 2; },\n});\n"
    )
    filed = workflow("node-filed", "- {name: double, code_file: steps/double.mjs}\n")
    files = {"steps/double.mjs": double, "filed.yaml": filed, "score.yaml": SCORE}
    files |= {"quote.yaml": QUOTE, "boom.yaml": BOOM, "steal.yaml": STEAL, "lodash.yaml": LODASH}
    files["delay.yaml"] = DELAY
    with platform_with_secrets("relayflow-node-", lambda home: files) as rf:
        yield rf


def send(rf: Relayflow, path: str, body: dict) -> str:
    answer = httpx.post(f"{rf.url}/hooks/{path}", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["run_id"]


def test_a_pipedream_component_exports_returns_exits_and_counts(platform: Relayflow) -> None:
    first = platform.wait_finished(send(platform, "node-score", {"email": "a@acme.io", "bonus": 2}))
    assert first["status"] == "succeeded", first
    score = first["steps"][0]
    assert score["return_value"] == {"score": 42, "visits": 1}
    assert score["exports"] == {"domain": "acme.io"}
    assert score["logs"] == ["scoring a@acme.io"]
    assert first["steps"][1]["return_value"] == "acme.io 42"
    again = platform.wait_finished(send(platform, "node-score", {"email": "a@acme.io", "bonus": 2}))
    assert again["steps"][0]["return_value"]["visits"] == 2
    bot = {"email": "b@example.com", "bonus": 0}
    test = platform.wait_finished(send(platform, "node-score", bot))
    assert test["status"] == "exited" and test["error"] == "test account"
    assert [s["step_name"] for s in test["steps"]] == ["score"]


def test_a_component_responds_to_the_caller(platform: Relayflow) -> None:
    answer = httpx.post(f"{platform.url}/hooks/node-quote", json={"qty": 5}, timeout=30)
    assert answer.status_code == 202 and answer.headers["x-by"] == "node"
    assert answer.json() == {"total": 15}


def test_a_delay_pauses_the_run_durably_and_it_goes_on(platform: Relayflow) -> None:
    run_id = send(platform, "node-delay", {})
    platform.wait_runs(1, workflow="node-delay")
    run = platform.inspect(run_id)
    assert run["status"] == "succeeded", run
    wait, after = run["steps"]
    assert wait["return_value"] == {"resumable": True}
    assert after["return_value"] is True
    assert after["started_at"] - wait["finished_at"] >= 0.3


def test_an_error_shows_the_line_of_the_users_code(platform: Relayflow) -> None:
    run = platform.wait_finished(send(platform, "node-boom", {"order": "no items"}))
    assert run["status"] == "failed"
    error = run["steps"][0]["error"]
    assert error["name"] == "TypeError"
    assert "reading 'reduce'" in error["message"]
    trace = error["traceback"].splitlines()
    assert trace[1].strip() == "at total (node-boom/boom.mjs:2:22)"
    assert "node-boom/boom.mjs:6:" in trace[2]
    assert "runner.mjs" not in error["traceback"]


def test_a_component_cannot_read_relayflows_home(platform: Relayflow) -> None:
    home = str(platform.home)
    assert (platform.home / "secret.key").exists()  # there to be stolen
    run = platform.wait_finished(send(platform, "node-steal", {"home": home}))
    assert run["status"] == "succeeded", run
    tried = run["steps"][0]["return_value"]
    assert tried["key"] == ["ENOENT"] and tried["token"] == ["ENOENT"] and tried["home"] == [
        "ENOENT"
    ]
    assert tried["environ"] == []


def test_a_code_file_ending_in_mjs_is_a_node_step(platform: Relayflow) -> None:
    run = platform.wait_finished(send(platform, "node-filed", {"n": 21}))
    assert run["status"] == "succeeded", run
    assert run["steps"][0]["return_value"] == 42


def test_javascript_is_checked_at_deploy(platform: Relayflow, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\ntrigger: {manual: {}}\npackages: ['git+https://example.com/x.git']\n"
        "steps:\n"
        "  - name: s\n    runtime: nodejs\n    code: |\n"
        "      export default defineComponent({\n        async run() { return 1 + }\n      })\n"
        "  - name: t\n    runtime: nodejs\n    code: 'export const run = () => 1'\n"
        "  - {name: u, runtime: python, code_file: steps/x.mjs}\n"
    )
    result = platform.cli("deploy", str(bad), check=False)
    assert result.returncode == 1
    assert "steps[0].code: JavaScript syntax error at line 2: SyntaxError:" in result.stderr
    assert "steps[1].code: Node.js code steps export a component" in result.stderr
    assert "is not an npm registry package" in result.stderr
    assert "does not match runtime: python" in result.stderr


@pytest.mark.npm
def test_npm_packages_are_installed_once_per_set(platform: Relayflow) -> None:
    run = platform.wait_finished(
        send(platform, "node-lodash", {"items": [1, 2, 3, 4, 5]}), timeout=240
    )
    assert run["status"] == "succeeded", run
    assert run["steps"][0]["return_value"] == [[1, 2], [3, 4], [5]]
    (folder,) = installed(platform)
    assert json.loads((folder / "package.json").read_text())["dependencies"]["lodash"]
    again = platform.wait_finished(send(platform, "node-lodash", {"items": [6]}))
    assert again["steps"][0]["return_value"] == [[6]]
    assert installed(platform) == [folder]


def installed(rf: Relayflow) -> list[Path]:
    return [p for p in (rf.home / "code-envs").glob("npm-*") if p.is_dir()]
