"""The `store.*` actions, run the way the engine runs them, with `ctx.stores`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from relayflow.sdk import StepContext, StepError, discover

from .conftest import Stores


def run_action(ds: Stores, action_key: str, stores: Any = "default", **inputs: Any) -> tuple:
    action = discover().action(action_key)
    assert action is not None, action_key

    async def work() -> tuple:
        async with httpx.AsyncClient() as http:
            ctx = StepContext(
                run_id="r", event_id="e", workflow="wf", version=1, step="s",
                attempt=1, test=False, http=http,
            )  # fmt: skip
            ctx.stores = ds.stores if stores == "default" else stores  # type: ignore[attr-defined]
            value = await action.run(ctx, action.inputs.model_validate(inputs))
            return value, ctx.exports.get("$summary")

    return ds.run(work())


def test_set_get_delete_and_keys(ds: Stores) -> None:
    assert run_action(ds, "store.set", store="s", key="u1", value={"a": 1}, ttl="1h")[0] == {"a": 1}
    value, summary = run_action(ds, "store.get", store="s", key="u1")
    assert value == {"a": 1} and summary == "s/u1 found"
    assert run_action(ds, "store.get", store="s", key="nope", default=0)[0] == 0
    saved = run_action(ds, "store.get", store="s", key="cfg", default={"on": True},
                       save_default=True)  # fmt: skip
    assert saved[0] == {"on": True}
    assert run_action(ds, "store.keys", store="s")[0] == ["cfg", "u1"]
    assert run_action(ds, "store.keys", store="s", prefix="u", values=True)[0] == {"u1": {"a": 1}}
    assert run_action(ds, "store.delete", store="s", key="u1")[0] is True
    assert run_action(ds, "store.delete", store="s", key="u1")[0] is False


def test_atomic_actions(ds: Stores) -> None:
    assert run_action(ds, "store.incr", store="c", key="n")[0] == 1
    assert run_action(ds, "store.incr", store="c", key="n", amount=4)[0] == 5
    assert run_action(ds, "store.set_if_absent", store="c", key="evt-1")[0] is True
    assert run_action(ds, "store.set_if_absent", store="c", key="evt-1")[0] is False
    args = {"store": "c", "key": "n", "value": 50}
    assert run_action(ds, "store.compare_and_set", expected=5, **args)[0] is True
    assert run_action(ds, "store.compare_and_set", expected=5, **args)[0] is False


def test_refusals_fail_the_step_without_retries(ds: Stores) -> None:
    run_action(ds, "store.set", store="c", key="name", value="Ada")
    with pytest.raises(StepError, match="holds a string") as caught:
        run_action(ds, "store.incr", store="c", key="name")
    assert caught.value.retryable is False
    with pytest.raises(StepError, match="not available"):
        run_action(ds, "store.get", stores=None, store="c", key="name")
