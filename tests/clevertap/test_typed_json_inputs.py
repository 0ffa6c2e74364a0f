"""JSON text in an object input keeps each `{{ }}` value's type, in YAML as in the UI's
JSON boxes, and a value of the wrong type names the input, what it got and what it needs."""

from __future__ import annotations

from relayflow.sandbox import SandboxServer

from .helpers import Installation, events

# What the builder's JSON boxes used to store: the object as one quoted string.
CHARGED_AS_JSON_TEXT = """
name: charged-json-text
trigger:
  http: {path: charged-json-text}
steps:
  - name: charged
    uses: clevertap.upload_event
    account: clevertap-demo
    with:
      identity: "{{ steps.trigger.event.body.user_id }}"
      event_name: Charged
      event_data: '{"Amount": "{{ steps.trigger.event.body.total }}",
        "Items": {{ steps.trigger.event.body.items }}}'
  - name: lookup
    uses: clevertap.api_request
    account: clevertap-demo
    with:
      method: GET
      path: /1/profile.json
      query: '{"identity": "{{ steps.trigger.event.body.user_id }}"}'
"""


def test_json_text_with_expressions_keeps_each_values_type(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.deploy(CHARGED_AS_JSON_TEXT)
    items = [{"Category": "books", "Book name": "SICP", "Quantity": 1}]
    body = {"user_id": "u-json-1", "total": 42.5, "items": items}
    installation.post("charged-json-text", body)
    (run,) = installation.wait_finished("charged-json-text", 1)

    assert run["status"] == "succeeded", run["error"]
    charged, lookup = installation.run(run["id"])["steps"]
    assert charged["inputs"]["event_data"] == {"Amount": 42.5, "Items": items}
    assert lookup["inputs"]["query"] == {"identity": "u-json-1"}
    (stored,) = [e for e in events(sandbox, "Charged") if e["profile"]["identity"] == "u-json-1"]
    assert stored["event_props"]["Items"] == items and stored["event_props"]["Amount"] == 42.5


WRONG_TYPE = """
name: wrong-query
trigger:
  http: {path: wrong-query}
steps:
  - name: lookup
    uses: clevertap.api_request
    account: clevertap-demo
    with:
      method: GET
      path: /1/profile.json
      query: "{{ steps.trigger.event.body.user_id }}"
"""


def test_a_value_of_the_wrong_type_names_the_input_what_it_got_and_what_it_needs(
    installation: Installation, sandbox: SandboxServer
) -> None:
    installation.deploy(WRONG_TYPE)
    installation.post("wrong-query", {"user_id": "u-json-2"})
    (run,) = installation.wait_finished("wrong-query", 1)

    assert run["status"] == "failed"
    (step,) = installation.run(run["id"])["steps"]
    assert step["error"] == {
        "name": "InputError",
        "message": "steps.lookup.with.query: expected an object, got text 'u-json-2'",
    }
    assert step["attempts"] == 1  # the same data would fail again: no retry


def test_broken_json_text_for_an_object_input_is_refused_at_deploy(
    installation: Installation,
) -> None:
    broken = WRONG_TYPE.replace(
        'query: "{{ steps.trigger.event.body.user_id }}"',
        "query: '{\"identity\": {{ steps.trigger.event.body.user_id }}'",
    )
    with installation.api() as api:
        answer = api.post("/workflows", content=broken, headers={"content-type": "text/yaml"})
    assert answer.status_code == 422
    (problem,) = answer.json()["detail"]["problems"]
    assert "steps[0].with.query: is text that is not JSON" in problem
    assert 'write an object, e.g. {"Plan":' in problem
