"""Node.js code steps in their process pool: Pipedream's component shape, `$`, `this`,
errors with the user's stack lines, limits, data stores and what a step leaves behind."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

from codestep.conftest import LoopThread
from process_table import wait_until_gone
from relayflow.codestep import NODE, CodePool, Isolation
from relayflow.datastores import DataStores

from .conftest import NodePool


def component(body: str, extra: str = "") -> str:
    """A Pipedream component whose run() is `body`."""
    run = textwrap.indent(textwrap.dedent(body).strip(), " " * 4)
    return f"{textwrap.dedent(extra).strip()}\nexport default defineComponent({{\n  async run({{ steps, $ }}) {{\n{run}\n  }},\n}});\n"  # noqa: E501


def test_return_exports_logs_and_inputs_come_back(node_pool: NodePool) -> None:
    result = node_pool.run(
        component(
            """
            console.log("hello from", steps.trigger.event.name);
            console.error("a warning");
            $.export("domain", "example.com");
            return { score: this.bonus + 40, tags: ["a"], when: new Date(0), none: null };
            """
        ),
        steps={"trigger": {"event": {"name": "Ada"}, "context": {}}},
        inputs={"bonus": 2},
    )
    assert result.error is None, result.error
    assert result.return_value == {
        "score": 42,
        "tags": ["a"],
        "when": "1970-01-01T00:00:00.000Z",
        "none": None,
    }
    assert result.exports == {"domain": "example.com"}
    assert result.logs == ["hello from Ada", "a warning"]


def test_an_account_and_methods_are_on_this_as_in_pipedream(node_pool: NodePool) -> None:
    source = """
    export default defineComponent({
      props: { clevertap: { type: "app", app: "clevertap" } },
      methods: { region() { return this.clevertap.$auth.region.toUpperCase(); } },
      async run({ steps, $ }) {
        return { id: this.clevertap.$auth.account_id, region: this.region() };
      },
    });
    """
    result = node_pool.run(
        textwrap.dedent(source),
        inputs={"clevertap": {"$auth": {"account_id": "ACC-1", "region": "eu1"}}},
    )
    assert result.error is None, result.error
    assert result.return_value == {"id": "ACC-1", "region": "EU1"}


def test_flow_exit_delay_rerun_and_respond(node_pool: NodePool) -> None:
    context = {"resume_url": "https://r", "cancel_url": "https://c"}
    exited = node_pool.run(component('return $.flow.exit("test account");'))
    assert exited.error is None and exited.exit_reason == "test account"
    delayed = node_pool.run(component("return $.flow.delay(1500);"), context=context)
    assert delayed.delay_ms == 1500
    assert delayed.return_value == {"resume_url": "https://r", "cancel_url": "https://c"}
    rerun = node_pool.run(component("return $.flow.rerun(2000, { n: 1 }, 3);"))
    assert rerun.rerun == {"delay_ms": 2000, "max_retries": 3, "context": {"n": 1}}
    responded = node_pool.run(
        component(
            """
            await $.respond({ status: 201, headers: { "x-id": "7" }, body: { ok: true } });
            return "answered";
            """
        )
    )
    assert responded.error is None, responded.error
    assert responded.response == {"status": 201, "headers": {"x-id": "7"}, "body": {"ok": True}}
    bad = node_pool.run(component("await $.respond({ status: 42 });"))
    assert bad.error["name"] == "RangeError" and "HTTP status code" in bad.error["message"]


def test_an_error_shows_the_users_stack_lines_only(node_pool: NodePool) -> None:
    result = node_pool.run(
        component(
            "return helper(steps.trigger.event);",
            extra="function helper(event) {\n  return event.customer.id;\n}",
        ),
        filename="signup/score.mjs",
    )
    assert result.error["name"] == "TypeError"
    assert "reading 'id'" in result.error["message"]
    trace = result.error["traceback"].splitlines()
    assert trace[0].startswith("TypeError: ")
    assert trace[1].strip() == "at helper (signup/score.mjs:2:25)"
    assert trace[2].strip() == "at Object.run (signup/score.mjs:6:12)"
    assert "runner.mjs" not in result.error["traceback"]
    assert "/tmp/" not in result.error["traceback"]


def test_a_syntax_error_and_a_missing_component_say_what_to_fix(node_pool: NodePool) -> None:
    broken = node_pool.run("export default defineComponent({\n  async run() { return 1 + }\n})\n")
    assert broken.error["name"] == "SyntaxError"
    assert "(wf/step.mjs, line 2)" in broken.error["message"]
    empty = node_pool.run("export const x = 1;\n")
    assert empty.error["name"] == "CodeStepError"
    assert "export default defineComponent" in empty.error["message"]


def test_a_value_that_is_not_json_is_refused(node_pool: NodePool) -> None:
    result = node_pool.run(component("return { big: 10n };"))
    assert result.error["name"] == "TypeError"
    assert "the return value.big is a BigInt" in result.error["message"]
    export = node_pool.run(component('$.export("m", new Map()); return 1;'))
    assert "Object.fromEntries" in export.error["message"]


def test_an_uncaught_error_of_a_timer_fails_its_step(node_pool: NodePool) -> None:
    result = node_pool.run(
        component(
            """
            setTimeout(() => { throw new Error("late"); }, 5);
            await new Promise((resolve) => setTimeout(resolve, 10_000));
            """
        )
    )
    assert result.error["name"] == "Error" and result.error["message"] == "late"
    assert node_pool.run(component("return 2;")).return_value == 2


def test_a_step_is_killed_at_its_time_limit_and_the_pool_goes_on(node_pool: NodePool) -> None:
    started = time.monotonic()
    result = node_pool.run(component("while (true) {}"), timeout=1.0)
    assert result.error["name"] == "TimeoutError"
    assert "killed after 1s" in result.error["message"]
    assert time.monotonic() - started < 10
    assert node_pool.run(component("return 3;")).return_value == 3


def test_running_out_of_memory_crashes_only_that_step(node_pool: NodePool) -> None:
    result = node_pool.run(
        component("const kept = []; for (;;) kept.push(new Array(1e6).fill(1.5));"),
        timeout=30.0,
    )
    assert result.error["name"] == "CrashError"
    assert "out of memory (limit 256 MB)" in result.error["message"]
    assert node_pool.run(component("return 4;")).return_value == 4


def test_data_stores_are_this_props_with_async_methods(node_pool: NodePool) -> None:
    source = component(
        """
        await this.data.set("plan", { name: "pro" });
        const visits = await this.data.incr("visits");
        const again = await this.data.incr("visits", 2);
        const missing = await this.data.get("nope", "fallback");
        const added = await this.data.setIfAbsent("plan", "other");
        const [plan, keys] = await Promise.all([this.data.get("plan"), this.data.keys()]);
        let refused = null;
        try { await this.data.incr("plan"); } catch (e) { refused = e.name; }
        return { visits, again, missing, added, plan, keys: keys.sort(), refused };
        """
    )
    result = node_pool.run(source, inputs={"data": {"$data_store": f"node-{time.time_ns()}"}})
    assert result.error is None, result.error
    assert result.return_value == {
        "visits": 1,
        "again": 3,
        "missing": "fallback",
        "added": False,
        "plan": {"name": "pro"},
        "keys": ["plan", "visits"],
        "refused": "DataStoreError",
    }


def test_env_is_clean_and_a_started_process_ends_with_the_step(node_pool: NodePool) -> None:
    mark = f"{time.time_ns() % 10**6 + 10**6}.25"
    result = node_pool.run(
        component(
            f"""
            const {{ spawn }} = await import("node:child_process");
            spawn("sleep", ["{mark}"], {{ detached: true, stdio: "ignore" }}).unref();
            return Object.keys(process.env).sort();
            """
        ),
        env={"CUSTOM": "exposed"},
    )
    assert result.error is None, result.error
    assert "CUSTOM" in result.return_value
    assert not [n for n in result.return_value if n.startswith("RELAYFLOW")]
    assert wait_until_gone(f"sleep\0{mark}") == []


def test_a_default_function_and_require_work_and_a_missing_package_says_where_to_list_it(
    node_pool: NodePool,
) -> None:
    plain = node_pool.run(
        "export default async function ({ steps }) {\n"
        '  const path = require("node:path");\n'
        '  return path.join("a", steps.trigger.event.name);\n'
        "}\n",
        steps={"trigger": {"event": {"name": "b"}, "context": {}}},
    )
    assert plain.error is None, plain.error
    assert plain.return_value == "a/b"
    missing = node_pool.run('import _ from "lodash";\nexport default () => _.chunk([1], 1);\n')
    assert missing.error["name"] == "Error"
    assert "Cannot find package 'lodash'" in missing.error["message"]
    assert "the workflow's `packages:`" in missing.error["message"]


def test_without_a_sandbox_a_step_runs_in_a_folder_of_its_own_and_is_still_timed(
    loop: LoopThread, stores: DataStores
) -> None:
    """The operator's opt-in (RELAYFLOW_UNSAFE_CODE_STEPS=1) where no sandbox can be had."""

    async def make() -> CodePool:
        started = CodePool(
            size=0,
            data_stores=stores.handle,
            runtime=NODE,
            isolation=Isolation(None, "no bubblewrap in this test"),
            allow_unisolated=True,
        )
        await started.start()
        return started

    pool = NodePool(loop, loop.run(make()))
    try:
        seen = pool.run(component("return { home: process.env.HOME, cwd: process.cwd() };"))
        assert seen.error is None, seen.error
        assert seen.return_value["home"] == seen.return_value["cwd"]
        assert Path(seen.return_value["home"]).name.startswith(f"relayflow-code-{os.getpid()}-")
        hung = pool.run(component("while (true) {}"), timeout=1.0)
        assert hung.error["name"] == "TimeoutError"
        assert pool.run(component("return 5;")).return_value == 5
    finally:
        loop.run(pool.pool.close())


def test_the_process_has_the_memory_and_process_limits(node_pool: NodePool) -> None:
    result = node_pool.run(
        component(
            """
            const fs = await import("node:fs");
            const v8 = await import("node:v8");
            const limits = fs.readFileSync("/proc/self/limits", "utf8").split("\\n");
            const soft = (name) =>
              limits.find((l) => l.startsWith(name)).slice(26).trim().split(/\\s+/)[0];
            return {
              processes: soft("Max processes"),
              address_space: soft("Max address space"),
              heap_mb: Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20),
            };
            """
        )
    )
    assert result.error is None, result.error
    assert result.return_value["processes"] == "256"
    assert result.return_value["address_space"] == str((256 + 1024) * 2**20)
    # The old space is the step's memory limit; V8 adds its young generation to the figure.
    assert 256 <= result.return_value["heap_mb"] <= 256 + 64


def test_a_store_operation_left_running_does_not_swallow_the_next_step(
    node_pool: NodePool,
) -> None:
    store = {"data": {"$data_store": f"node-floating-{time.time_ns()}"}}
    late = 'setTimeout(() => this.data.set("late", 1), 0); return "done";'
    floating = node_pool.run(component(late), inputs=store)
    assert floating.return_value == "done"
    after = node_pool.run(component('return await this.data.get("late", "none");'), inputs=store)
    assert after.error is None, after.error
    # The late write is answered during this call, before or after its read.
    assert after.return_value in (1, "none")


def test_a_step_that_exits_the_process_fails_as_a_crash_and_the_pool_goes_on(
    node_pool: NodePool,
) -> None:
    result = node_pool.run(component('console.log("bye"); process.exit(3);'))
    assert result.error["name"] == "CrashError"
    assert "exit code 3" in result.error["message"]
    assert result.logs == ["bye"]
    assert node_pool.run(component("return 6;")).return_value == 6
