"""Expressions: native types, Pipedream paths, and errors that name the missing path."""

from __future__ import annotations

import re

import pytest

from relayflow.expressions import ExpressionError, NotJson, compile_value, json_with_expressions

SCOPE = {
    "steps": {
        "trigger": {
            "event": {
                "body": {"email": "ann@example.com", "items": [{"sku": "A1"}], "n": 3},
                "newRow": ["2024-01-01", "Ann", "ann@example.com", "x", "C-42"],
            },
            "context": {"id": "ev1"},
        },
        "shape": {"$return_value": {"score": 42}, "domain": "example.com"},
    },
    "env": {"REGION": "eu1"},
}


def evaluate(value, scope=SCOPE):
    return compile_value(value, "steps.s.with.x")(scope)


def test_a_single_expression_keeps_the_value_type():
    assert evaluate("{{ steps.trigger.event.body.n }}") == 3
    assert evaluate("{{ steps.trigger.event.body.items }}") == [{"sku": "A1"}]
    assert evaluate("{{ steps.trigger.event.body.n > 2 }}") is True


def test_mixed_text_renders_to_a_string():
    assert evaluate("Hi {{ steps.trigger.event.body.email }}!") == "Hi ann@example.com!"
    assert evaluate("{{ steps.trigger.event.body.n }}{{ steps.trigger.event.body.n }}") == "33"


def test_pipedream_paths_work_unchanged():
    assert evaluate("{{steps.trigger.event.newRow[4]}}") == "C-42"
    assert evaluate("{{ steps.shape.$return_value.score }}") == 42
    assert evaluate("{{ steps.shape.domain }}") == "example.com"


def test_dict_keys_win_over_dict_methods():
    assert evaluate("{{ steps.trigger.event.body.items[0].sku }}") == "A1"


def test_nested_structures_are_evaluated_and_literals_kept():
    value = {"d": [{"Email": "{{ steps.trigger.event.newRow[2] }}", "type": "profile", "n": 1}]}
    assert evaluate(value) == {"d": [{"Email": "ann@example.com", "type": "profile", "n": 1}]}


def test_env_is_available():
    assert evaluate("{{ env.REGION }}") == "eu1"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{{ steps.trigger.event.body.emial }}",
            "steps.trigger.event.body.emial does not exist (steps.trigger.event.body has: "
            "email, items, n)",
        ),
        ("x {{ steps.trigger.event.body.emial }}", "steps.trigger.event.body.emial does not"),
        (
            "{{ steps.trigger.event.newRow[9] }}",
            "newRow[9] does not exist (steps.trigger.event.newRow has 5 items)",
        ),
        ("{{ steps.nope.$return_value }}", "steps.nope does not exist (steps has: trigger, shape)"),
        ("{{ steps.trigger.event.body.email.user }}", "is str, not an object"),
        ("{{ nothing }}", "nothing is not defined"),
    ],
)
def test_a_missing_path_is_an_error_naming_it(source, message):
    with pytest.raises(ExpressionError) as caught:
        evaluate(source)
    assert message in str(caught.value)
    assert str(caught.value).startswith("steps.s.with.x: ")


def test_default_filter_gives_a_fallback_for_missing_paths():
    assert evaluate("{{ steps.trigger.event.body.plan | default('free') }}") == "free"


@pytest.mark.parametrize(
    "source",
    [
        "steps.trigger.event.body.plan | default('free')",
        'steps.trigger.event.body.email | default("none given")',
        "steps.trigger.event.body.items[0].sku | default('?')",
        "steps.trigger.event.body.items[5] | default('?')",
        "steps.trigger.event.body.items[-1].sku | default('?')",
        "steps.trigger.event.body.email.domain | default('x')",  # an attribute of a string
        "steps.trigger.event.body.nothing | default(none)",
        "steps.trigger.event.body.nothing | default(0)",
        "steps.trigger.event.body.nothing | default(-2.5)",
        "steps.trigger.event.body.nothing | default(true)",
        "steps.trigger.event.body.missing | default('')",
        "steps.trigger.event.body.none | default('x')",  # null is kept, as Jinja keeps it
        "steps.shape['$return_value'].score | default(1)",
    ],
)
def test_path_with_a_default_is_what_jinja_makes_of_it(source):
    scope = {**SCOPE, "steps": {**SCOPE["steps"]}}
    scope["steps"]["trigger"] = {
        "event": {"body": {**SCOPE["steps"]["trigger"]["event"]["body"], "none": None}}
    }
    fast = compile_value("{{ " + source + " }}", "w")
    assert fast.__name__ == "path"  # taken without Jinja
    spelled_for_jinja = "{{ (" + source.replace("|", ") |", 1) + " }}"
    assert fast(scope) == compile_value(spelled_for_jinja, "w")(scope)


def test_a_default_does_not_hide_a_missing_key_further_up_as_jinja_does_not():
    source = "steps.trigger.event.body.nothing.deeper"
    for spelled in (f"{{{{ {source} | default('x') }}}}", f"{{{{ ({source}) | default('x') }}}}"):
        with pytest.raises(ExpressionError, match="nothing"):
            evaluate(spelled)


def test_internals_are_not_reachable():
    with pytest.raises(ExpressionError):
        evaluate("{{ steps.__class__.__mro__ }}")
    with pytest.raises(ExpressionError):
        evaluate("{{ ''.__class__.__mro__[1].__subclasses__() }}")


def test_syntax_errors_are_reported_at_compile_time():
    with pytest.raises(ExpressionError, match="is not valid"):
        compile_value("{{ (1 }}", "steps.s.with.x")


def test_json_text_holding_expressions_reads_as_the_object_it_spells():
    text = '{"Email": "{{ steps.trigger.event.body.email }}", "Items": {{ steps.trigger.event.body.items }}, "Who": {{ steps.trigger.event.body["n"] }}}'  # noqa: E501
    assert evaluate(json_with_expressions(text)) == {
        "Email": "ann@example.com",
        "Items": [{"sku": "A1"}],
        "Who": 3,
    }
    with pytest.raises(NotJson, match="line 1"):
        json_with_expressions('{"Email": {{ steps.trigger.event.body.email }}')


def test_evaluation_stops_at_the_time_limit_even_when_a_loop_outputs_nothing():
    loops = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(ExpressionError, match=r"longer than the 1 s an expression may run"):
        evaluate("x" + loops)


def test_a_template_stops_at_the_output_limit():
    with pytest.raises(ExpressionError, match=r"the output would be 10,000,010 long"):
        evaluate("{% for i in range(100000) %}{{ 'x' * 101 }}{% endfor %}")


def test_repetition_power_and_widths_are_refused_before_allocating():
    for source, limit in [
        ("{{ 'a' * 10**10 }}", "the repetition would be 10,000,000,000 long"),
        ("{{ 10 ** (10 ** 10) }}", "over the 16,384 an expression may compute"),
        ("{{ '%999999999s' % 'x' }}", "the width 999999999"),
        ("{{ '{:999999999}'.format(1) }}", "the format spec '999999999'"),
        ("{{ 'a'|center(10**10) }}", "center(width=10000000000)"),
        ("{{ ('a' * 9999999) ~ 'bc' }}", "'~' would be 10,000,001 long"),
    ]:
        with pytest.raises(ExpressionError, match=re.escape(limit)):
            evaluate(source)


def test_step_results_cannot_be_changed_by_an_expression():
    with pytest.raises(ExpressionError, match="'append' of 'list' object is unsafe"):
        evaluate("{{ steps.trigger.event.body.items.append(1) }}")
    assert SCOPE["steps"]["trigger"]["event"]["body"]["items"] == [{"sku": "A1"}]


def test_a_blocked_attribute_of_a_global_is_not_reported_as_undefined():
    message = str(pytest.raises(ExpressionError, evaluate, "{{ cycler.__init__ }}").value)
    assert "may not be used in an expression" in message


def test_an_expression_nested_too_deeply_to_compile_is_an_error_naming_the_input():
    for source in ["{{ " + "(" * 300 + "1" + ")" * 300 + " }}", "{% if 1 %}" * 500 + "x"]:
        with pytest.raises(ExpressionError, match=r"^steps\.s\.with\.x: .*nested too deeply"):
            evaluate(source)


def test_output_captured_by_set_blocks_and_macros_is_held_to_the_output_limit():
    blocks = (
        "{% set x %}{% for i in range(10000) %}{{ 'x' * 100 }}{% endfor %}{% endset %}"
        "{% set y %}{% for i in range(100000) %}{{ x }}{% endfor %}{% endset %}{{ y|length }}"
    )
    with pytest.raises(ExpressionError, match=r"the output would be 100,000,000,000 long"):
        evaluate(blocks)
    assert evaluate("{% set x %}ab{% endset %}{{ x }}") == "ab"


def test_shared_references_are_measured_as_the_text_they_would_make():
    # A small list of references to one list, whose text is two billion characters.
    shared = "[[0] * 1000] * 1000000"
    sources = ["{{ " + shared + " }}", "x{{ " + shared + " }}", "{{ (" + shared + ")|string }}"]
    for source in sources:
        with pytest.raises(ExpressionError, match="longer than 10,000,000"):
            evaluate(source)
    with pytest.raises(ExpressionError, match=r"sum\(\) would be 10,001,000 long"):
        evaluate("{{ (" + shared + ")|sum(start=[]) }}")
    assert evaluate("{{ [[1], [2]]|sum(start=[]) }}") == [1, 2]


def test_a_value_as_big_as_a_webhook_body_passes_through_the_limits():
    body = {"rows": [{"email": f"user{i}@example.com", "n": i} for i in range(30_000)]}
    scope = {"steps": {"trigger": {"event": {"body": body}}}}
    text = evaluate("{{ steps.trigger.event.body|tojson }}", scope)
    assert len(text) > 1_048_576
    assert evaluate("{{ steps.trigger.event.body.rows|length }}", scope) == 30_000


def test_a_result_is_data_a_step_can_take_never_a_function_or_an_object():
    assert evaluate("{{ range(3) }}") == [0, 1, 2]
    assert evaluate("{{ steps.trigger.event.body.items|map(attribute='sku') }}") == ["A1"]
    for source, kind in [("{{ 'ab'.upper }}", "a function"), ("{{ cycler(1, 2) }}", "a Cycler")]:
        with pytest.raises(ExpressionError, match=f"it is {kind}, not a value a step can take"):
            evaluate(source)
